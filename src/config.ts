// Configuration: zod schemas for the environment variables and the environments file, loaded once at start-up; the only reader of process.env.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import cron from 'node-cron';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { governancePolicyFields } from './config-governance.js';
import { Duration, formatDuration } from './duration.js';
import { AppError } from './errors.js';

type RawIssue = z.core.$ZodRawIssue;

// ---------------------------------------------------------------------------------------------
// Messages. Every rule carries its own sentence, so an operator reads what to write instead of
// zod's "Invalid input".

/** Error option for a field: what it expects, with an example, and a different verb when it is missing. */
function expecting(what: string, example: string): { error: (issue: RawIssue) => string } {
  return {
    error: (issue) =>
      issue.input === undefined ? `missing: add ${what}, e.g. ${example}` : `expected ${what}, e.g. ${example}`,
  };
}

// Schemas of fields that exist only for another dialect: they are refused with their reason, and a
// misspelt field is never told "did you mean" one of them.
const notForThisDialect = new WeakSet<object>();

function notFor(reason: string) {
  const schema = z.undefined({ error: `${reason}; remove it` }).optional();
  notForThisDialect.add(schema);
  return schema;
}

/** A strict object: unknown fields are errors that name the closest known field. */
function strictObject<const Shape extends z.core.$ZodLooseShape>(shape: Shape, what: string) {
  const known = Object.entries(shape)
    .filter(([, schema]) => !notForThisDialect.has(schema))
    .map(([key]) => key);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => unknownField(key, known)).join('; ');
      }
      return issue.input === undefined ? `missing: add ${what}` : `expected ${what}`;
    },
  });
}

function unknownField(key: string, known: readonly string[]): string {
  const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  const suggestion = closestField(key, known);
  return suggestion === undefined
    ? `unknown field '${shown}': remove it (the fields here are ${known.join(', ')})`
    : `unknown field '${shown}' — did you mean '${suggestion}'?`;
}

/** The known field an unknown one was probably meant to be: same letters ignoring case and _/-, a typo, or a longer spelling. */
function closestField(key: string, known: readonly string[]): string | undefined {
  const normalize = (text: string) => text.toLowerCase().replace(/[_-]/g, '');
  const wanted = normalize(key);
  let best: { field: string; score: number } | undefined;
  for (const field of known) {
    const candidate = normalize(field);
    const distance = editDistance(wanted, candidate);
    // 'hostname' → 'host', 'databaseName' → 'database': one spelling starts with the other.
    const prefixed = candidate.length >= 4 && (wanted.startsWith(candidate) || candidate.startsWith(wanted));
    const score = distance <= 2 ? distance : prefixed ? 3 : Number.POSITIVE_INFINITY;
    if (score < (best?.score ?? Number.POSITIVE_INFINITY)) {
      best = { field, score };
    }
  }
  return best?.field;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

// ---------------------------------------------------------------------------------------------
// Environment variables

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Host names a plain-http audit webhook may use: the receiver runs on this machine (a log shipper beside the bot, a test). */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

function isSafeWebhookProtocol(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname));
}

/**
 * The audit stream (src/access/audit, docs/configuration.md "Audit stream"). Every one optional, and
 * absent when unset: without them nothing is streamed. The secret becomes a function, so printing the
 * variables (a log line, an inspect) never shows it.
 */
const AuditStreamVars = {
  AUDIT_STREAM: z.enum(['stdout'], expecting('stdout, or nothing (the webhook is turned on by AUDIT_WEBHOOK_URL)', 'AUDIT_STREAM=stdout')).optional(),
  AUDIT_WEBHOOK_URL: z
    .url(expecting('the https URL that receives audit entries', 'AUDIT_WEBHOOK_URL=https://siem.example.com/dbaccess'))
    // zod runs these after a failed url check too: a text that is no URL passes them (the url check said it).
    .refine((text) => !URL.canParse(text) || (new URL(text).username === '' && new URL(text).password === ''), {
      message: 'remove the user:password@ part: the receiver authenticates the bot by the signature made with AUDIT_WEBHOOK_SECRET',
    })
    .refine((text) => !URL.canParse(text) || isSafeWebhookProtocol(new URL(text)), {
      message: 'use https (plain http only to localhost, 127.0.0.1 or [::1], a receiver on this machine)',
    })
    .optional(),
  AUDIT_WEBHOOK_SECRET: z
    .string(expecting('a shared secret of at least 32 characters', 'AUDIT_WEBHOOK_SECRET=$(openssl rand -hex 32)'))
    .min(32, { error: 'too short: use at least 32 characters, e.g. the output of openssl rand -hex 32' })
    .transform((secret) => () => secret)
    .optional(),
  AUDIT_WEBHOOK_TIMEOUT: Duration.optional(),
  AUDIT_STREAM_FROM: z.enum(['beginning', 'now'], expecting('beginning or now', 'AUDIT_STREAM_FROM=now')).optional(),
};

/** The variables the bot reads; anything else in the process environment is dropped. */
export const EnvVars = z.object({
  ...AuditStreamVars,
  DBACCESS_CONFIG: z.string().default('./config/environments.yml'),
  DBACCESS_DB: z.string().default('./data/dbaccess.sqlite'),
  LOG_LEVEL: z.enum(LOG_LEVELS, expecting(`one of ${LOG_LEVELS.join(', ')}`, 'LOG_LEVEL=info')).default('info'),
  // When to look for database users the bot does not know (cron syntax, the server's time zone).
  ORPHAN_CHECK_CRON: z
    .string(expecting('a cron expression', "ORPHAN_CHECK_CRON='17 6 * * *'"))
    .refine((expr) => cron.validate(expr), { message: "expected a cron expression such as '17 6 * * *' (minute hour day month weekday)" })
    .default('17 6 * * *'),
  // Crash tests only: failpoints where the process kills itself (src/failpoints.ts). Never in production.
  DBACCESS_FAILPOINTS: z
    .string()
    .default('')
    .transform((text) => text.split(',').map((n) => n.trim()).filter(Boolean)),
  // When to look for newly exposed ODC views that lack grants.
  INTEROP_CHECK_CRON: z
    .string(expecting('a cron expression', "INTEROP_CHECK_CRON='41 * * * *'"))
    .refine((expr) => cron.validate(expr), { message: "expected a cron expression such as '41 * * * *' (minute hour day month weekday)" })
    .default('41 * * * *'),
  // When to grant read & write users the OSUSR_ tables added by publishes since the last run.
  GRANT_SYNC_CRON: z
    .string(expecting('a cron expression', "GRANT_SYNC_CRON='23 * * * *'"))
    .refine((expr) => cron.validate(expr), { message: "expected a cron expression such as '23 * * * *' (minute hour day month weekday)" })
    .default('23 * * * *'),
  // The operations server: /healthz, /readyz, /metrics (docs/deployment.md).
  OPS_PORT: z.coerce.number(expecting('a port number from 1 to 65535', 'OPS_PORT=9090')).int().min(1).max(65535).default(9090),
  // Where it listens; every interface when unset (a container must be reachable from outside).
  OPS_HOST: z.string().optional(),
  // How long /readyz reuses a database's answer, and how long it waits for one.
  READINESS_CACHE: Duration.prefault('30s'),
  READINESS_TIMEOUT: Duration.prefault('5s'),
}).superRefine((vars, ctx) => {
  // A webhook nobody can authenticate, or a secret for no webhook, is a mistake to point out at start.
  if (vars.AUDIT_WEBHOOK_URL !== undefined && vars.AUDIT_WEBHOOK_SECRET === undefined) {
    ctx.addIssue({ code: 'custom', path: ['AUDIT_WEBHOOK_SECRET'], message: 'missing: the webhook needs it to sign what it sends; set it, e.g. AUDIT_WEBHOOK_SECRET=$(openssl rand -hex 32), and give the receiver the same value' });
  }
  if (vars.AUDIT_WEBHOOK_URL === undefined) {
    for (const name of ['AUDIT_WEBHOOK_SECRET', 'AUDIT_WEBHOOK_TIMEOUT'] as const) {
      if (vars[name] !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'set, but AUDIT_WEBHOOK_URL is not: set the URL too, or remove it' });
    }
  }
  if (vars.AUDIT_STREAM_FROM !== undefined && vars.AUDIT_STREAM === undefined && vars.AUDIT_WEBHOOK_URL === undefined) {
    ctx.addIssue({ code: 'custom', path: ['AUDIT_STREAM_FROM'], message: 'set, but no audit stream is on: set AUDIT_STREAM=stdout or AUDIT_WEBHOOK_URL, or remove it' });
  }
});
export type EnvVars = z.infer<typeof EnvVars>;

/** How the bot talks to Slack. Secrets stay behind `secrets()` so logging the settings shows none. */
export interface SlackSettings {
  /** HTTP mode: the port of the receiver (requests at /slack/events). Ignored in Socket Mode. */
  port: number;
  /** Base URL of the Web API (a proxy, or the console's and tests' fake); Slack's own when unset. */
  apiUrl: string | undefined;
  /** Socket Mode when SLACK_APP_TOKEN is set. */
  socketMode: boolean;
  /**
   * The workspace the bot serves (SLACK_TEAM_ID). When set, every request is checked against it at
   * once; when unset, the workspace is learned from auth.test in the background and requests are
   * refused until it is known.
   */
  teamId?: string | undefined;
  /** Longest wait for one Web API call (SLACK_API_TIMEOUT_MS); the WebClient's default is none. */
  apiTimeoutMs?: number | undefined;
  /** Waits between attempts to reach Slack (identity check, Socket Mode connection); tests shorten them. */
  backoff?: { firstMs: number; maxMs: number } | undefined;
  secrets(): { botToken: string; signingSecret: string; appToken: string | undefined };
}

const SlackVars = z.object({
  SLACK_BOT_TOKEN: z.string(expecting('the bot token from the Slack app (OAuth & Permissions)', 'SLACK_BOT_TOKEN=xoxb-…')).regex(/^xoxb-/),
  SLACK_SIGNING_SECRET: z.string(expecting('the signing secret from the Slack app (Basic Information)', 'SLACK_SIGNING_SECRET=8f14e45f…')).min(8),
  SLACK_APP_TOKEN: z.string(expecting('an app-level token with connections:write, for Socket Mode', 'SLACK_APP_TOKEN=xapp-…')).regex(/^xapp-/).optional(),
  SLACK_API_URL: z.url(expecting('a URL ending in /api/', 'SLACK_API_URL=https://slack.com/api/')).optional(),
  PORT: z.coerce.number(expecting('a port number from 1 to 65535', 'PORT=3000')).int().min(1).max(65535).default(3000),
  SLACK_TEAM_ID: z.string(expecting('the workspace ID (in Slack: workspace menu → Settings, or the T… in auth.test)', 'SLACK_TEAM_ID=T0123ABCD')).regex(/^[TE][A-Z0-9]{2,}$/).optional(),
  SLACK_API_TIMEOUT_MS: z.coerce.number(expecting('milliseconds, from 1000 to 120000', 'SLACK_API_TIMEOUT_MS=10000')).int().min(1000).max(120_000).default(10_000),
});

/** Reads the Slack variables; a missing or malformed one stops start-up with a message naming it (never its value). */
export function loadSlackSettings(env: NodeJS.ProcessEnv = process.env): SlackSettings {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k in SlackVars.shape && v !== undefined && v !== ''));
  const parsed = SlackVars.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new AppError('config_invalid', `Slack settings are invalid:\n${lines.join('\n')}`);
  }
  const v = parsed.data;
  return {
    port: v.PORT,
    apiUrl: v.SLACK_API_URL,
    socketMode: v.SLACK_APP_TOKEN !== undefined,
    teamId: v.SLACK_TEAM_ID,
    apiTimeoutMs: v.SLACK_API_TIMEOUT_MS,
    secrets: () => ({ botToken: v.SLACK_BOT_TOKEN, signingSecret: v.SLACK_SIGNING_SECRET, appToken: v.SLACK_APP_TOKEN }),
  };
}

// ---------------------------------------------------------------------------------------------
// One OutSystems 11 environment

/** Database engines the bot can administer. */
export const Dialect = z.enum(['sqlserver', 'azuresql', 'oracle']);
export type Dialect = z.infer<typeof Dialect>;

/** How the customer's network reaches the environment; temporary users need a tunnel (vpn or tgw). */
export const Network = z.enum(['vpn', 'tgw', 'allowlist', 'none'], expecting('vpn, tgw, allowlist or none', 'vpn'));
export type Network = z.infer<typeof Network>;

const VERSION_PATTERN = /^\d+(?:\.\d+){1,3}$/;

const LifetimeVersion = z.string({
  error: (issue) =>
    typeof issue.input === 'number'
      ? // YAML reads 11.10 as the number 11.1: only quotes keep every digit.
        `is a number to YAML, which drops digits (11.10 becomes 11.1): write it in quotes, e.g. '11.10'`
      : issue.input === undefined
        ? 'missing: add the LifeTime version, e.g. 11.10.3'
        : 'expected a LifeTime version of 2 to 4 numbers separated by dots, e.g. 11.10.3',
}).regex(VERSION_PATTERN, expecting('a LifeTime version of 2 to 4 numbers separated by dots', '11.10.3'));

function port(example: number) {
  return z.int(expecting('a whole number from 1 to 65535', String(example))).min(1).max(65535);
}

const Host = z
  .string(expecting('a host name or IP address, without port or instance', 'sql-dev.internal'))
  .max(253)
  .regex(/^[A-Za-z0-9._:-]+$/);

const InstanceName = z
  .string(expecting('a SQL Server instance name of 1 to 16 letters, digits, _, $ or #', 'OUTSYSTEMS'))
  .regex(/^[A-Za-z0-9_$#]{1,16}$/);

const DatabaseName = z.string(expecting('the name of the OutSystems platform database', 'outsystems')).min(1).max(128);

const ServiceName = z
  .string(expecting('an Oracle service name', 'FREEPDB1'))
  .max(128)
  .regex(/^[A-Za-z][A-Za-z0-9._$#-]*$/);

function schemaName(example: string) {
  return z
    .string(expecting('a schema name: a letter, then up to 127 letters, digits or _', example))
    .regex(/^[A-Za-z][A-Za-z0-9_]{0,127}$/);
}

const AdminUser = z.string(expecting("the bot's admin login name", 'dbaccess_admin')).min(1).max(128);

const Bool = z.boolean(expecting('true or false', 'true'));

const PASSWORD_FORM = 'write password: { env: NAME } (an environment variable) or password: { file: PATH } (e.g. a mounted secret)';

/**
 * Where the admin password is: the name of an environment variable or the path of a file, never the
 * password itself, so the file can be committed and shown in reviews.
 */
export const PasswordRef = z
  .strictObject(
    {
      env: z
        .string(expecting('the name of an environment variable', 'DEV_DB_ADMIN_PASSWORD'))
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
        .optional(),
      file: z.string(expecting('the path of a file holding the password', '/run/secrets/dev-db-admin')).min(1).optional(),
    },
    {
      // Never quote the input here: an inline value is the password.
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `only env or file are allowed; ${PASSWORD_FORM}`
          : issue.input === undefined
            ? `missing: ${PASSWORD_FORM}`
            : `must say where the password is, not hold it: ${PASSWORD_FORM}`,
    },
  )
  .transform((ref, ctx): { env: string; file?: undefined } | { file: string; env?: undefined } => {
    if (ref.env !== undefined && ref.file === undefined) {
      return { env: ref.env };
    }
    if (ref.file !== undefined && ref.env === undefined) {
      return { file: ref.file };
    }
    ctx.issues.push({
      code: 'custom',
      message:
        ref.env === undefined
          ? `names neither env nor file: ${PASSWORD_FORM}`
          : `names both env and file: ${PASSWORD_FORM}, not both`,
      input: ref,
    });
    return z.NEVER;
  });
export type PasswordRef = z.infer<typeof PasswordRef>;

const connectionCommon = {
  host: Host,
  user: AdminUser,
  password: PasswordRef,
  connectTimeout: Duration.prefault('15s'),
  requestTimeout: Duration.prefault('30s'),
};

const CONNECTION = "the bot's admin connection: host, user, password and the dialect's database fields";

const SqlServerConnection = strictObject(
  {
    ...connectionCommon,
    // No default here: with both instance and port the bot connects by port (SQL Browser is rarely
    // reachable through a tunnel), so it must know whether a port was written. 1433 when neither is.
    port: port(1433).optional(),
    instance: InstanceName.optional(),
    database: DatabaseName,
    serviceName: notFor('serviceName is for oracle; SQL Server connects to a database'),
    schema: schemaName('dbo').default('dbo'),
    encrypt: Bool.default(true),
    trustServerCertificate: Bool.default(false),
    identifierMaxBytes: notFor('identifierMaxBytes is for oracle only'),
  },
  CONNECTION,
);

const AzureSqlConnection = strictObject(
  {
    ...connectionCommon,
    port: port(1433).default(1433),
    instance: notFor('Azure SQL Database has no named instances'),
    database: DatabaseName,
    serviceName: notFor('serviceName is for oracle; Azure SQL connects to a database'),
    schema: schemaName('dbo').default('dbo'),
    // Azure SQL Database refuses unencrypted connections, so false could only fail later.
    encrypt: z
      .literal(true, { error: 'Azure SQL Database always encrypts connections: set it to true or remove it' })
      .default(true),
    trustServerCertificate: Bool.default(false),
    identifierMaxBytes: notFor('identifierMaxBytes is for oracle only'),
  },
  CONNECTION,
);

const OracleConnection = strictObject(
  {
    ...connectionCommon,
    port: port(1521).default(1521),
    instance: notFor('only SQL Server has named instances; Oracle connects to a serviceName'),
    database: notFor('Oracle connects to a serviceName, not a database'),
    serviceName: ServiceName,
    // No default: the owner of the OutSystems tables differs per installation (OSADMIN, OUTSYSTEMS...).
    // Upper case: Oracle stores unquoted names so, and the bot quotes the name as written, so
    // 'osadmin' would match no table and read & write users would get no write grant.
    schema: schemaName('OSADMIN').refine((name) => name === name.toUpperCase(), {
      error: (issue) => `Oracle stores the owner in upper case: write ${typeof issue.input === 'string' ? issue.input.toUpperCase() : 'it in upper case'}`,
    }),
    encrypt: notFor('encrypt is for sqlserver and azuresql; Oracle encryption is set up on the network (sqlnet)'),
    trustServerCertificate: notFor('trustServerCertificate is for sqlserver and azuresql'),
    // 30 bytes before Oracle 12.2 (or with COMPATIBLE below it); generated user names must fit.
    identifierMaxBytes: z
      .literal([128, 30], {
        error: 'expected 128 (Oracle 12.2 and later, the default) or 30 (COMPATIBLE below 12.2), e.g. 128',
      })
      .default(128),
  },
  CONNECTION,
).superRefine((connection, ctx) => {
  if (connection.schema.length > connection.identifierMaxBytes) {
    ctx.addIssue({
      code: 'custom',
      path: ['schema'],
      message: `is ${connection.schema.length} bytes, longer than identifierMaxBytes (${connection.identifierMaxBytes})`,
    });
  }
});

const DETAILS = 'what users are shown by /dbuser details: host, and optionally port, instance, database';

const detailsCommon = {
  host: Host,
  port: port(1433).optional(),
  database: DatabaseName.optional(),
};

const SqlServerDetails = strictObject({ ...detailsCommon, instance: InstanceName.optional() }, DETAILS);

const Details = strictObject(
  { ...detailsCommon, instance: notFor('only SQL Server has named instances') },
  DETAILS,
);

/** Details not given are the admin connection's: usually the same port and database behind another host name. */
function detailsWithDefaults<D extends { port?: number | undefined; database?: string | undefined }>(
  details: D,
  port: number,
  database: string,
): D & { port: number; database: string } {
  return { ...details, port: details.port ?? port, database: details.database ?? database };
}

const SlackUserId = z
  .string(expecting('a Slack user ID (not a name; in Slack: profile → ⋮ → Copy member ID)', 'U0123ABCD'))
  .regex(/^[UW][A-Z0-9]{2,}$/);

const SlackGroupId = z
  .string(expecting('a Slack user-group ID (not a @handle)', 'S0123ABCD'))
  .regex(/^S[A-Z0-9]{2,}$/);

const SlackChannelId = z
  .string(expecting('a Slack channel ID (not a #name; in Slack: channel details, at the bottom)', 'C0123ABCD'))
  .regex(/^[CG][A-Z0-9]{2,}$/);

const Approvers = strictObject(
  {
    users: z.array(SlackUserId, expecting('a list of Slack user IDs', '[U0123ABCD]')).default([]),
    groups: z.array(SlackGroupId, expecting('a list of Slack user-group IDs', '[S0123ABCD]')).default([]),
  },
  'who may approve requests: users (Slack user IDs) and/or groups (user-group IDs), e.g. { users: [U0123ABCD] }',
).superRefine((approvers, ctx) => {
  if (approvers.users.length === 0 && approvers.groups.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: 'names nobody: add at least one Slack user ID under users or user-group ID under groups',
    });
  }
});

const Channels = strictObject(
  { approvals: SlackChannelId, reminders: SlackChannelId },
  'the Slack channel IDs for approvals and reminders, e.g. { approvals: C0123ABCD, reminders: C0456EFGH }',
);

const ApprovalCount = z.int(expecting('a whole number of approvers from 1 to 5', '2')).min(1).max(5);

const Policy = strictObject(
  {
    ttl: Duration.prefault('12h'),
    maxTtl: Duration.prefault('12h'),
    // The shortest lifetime a user may ask for: below it a user expires before anyone can use it.
    minTtl: Duration.prefault('5m'),
    maxExtensions: z.int(expecting('a whole number from 0 to 10', '1')).min(0).max(10).default(1),
    allowSelfApproval: Bool.default(false),
    pendingTimeout: Duration.prefault('8h'),
    reminders: z.array(Duration, expecting('a list of durations before expiry', '[60m, 10m]')).prefault(['60m', '10m']),
    // Undecided requests: approvers are nudged at these ages (gaps doubling), until pendingTimeout.
    approverReminders: z
      .array(Duration, expecting('a list of request ages at which approvers are reminded', '[15m, 45m, 1h45m]'))
      .prefault(['15m', '45m', '1h45m', '3h45m']),
    extensionNeedsApproval: Bool.default(false),
    // Each database call of this environment gets this long; then it counts as failed and is retried later.
    dbTimeout: Duration.prefault('30s'),
    // Quorum: how many different approvers each kind of request needs (the requester never counts).
    approvals: strictObject(
      {
        temporary: ApprovalCount.default(1),
        permanent: ApprovalCount.default(1),
        interop: ApprovalCount.default(1),
      },
      'how many approvers each kind needs, e.g. { temporary: 1, permanent: 2, interop: 1 }',
    ).prefault({}),
    // Issue 17 item 3, access reviews of permanent users (src/access/review/): due every reviewEvery
    // since creation or the last review; unanswered, a reminder after reviewGrace, and after another
    // reviewGrace the expired action. notify by default: dropping a permanent user cuts off every
    // integration that connects with it and cannot be undone, so nobody's silence does it unless the
    // operators chose so.
    reviewEvery: Duration.prefault('90d'),
    reviewGrace: Duration.prefault('14d'),
    reviewExpiredAction: z.enum(['revoke', 'notify'], expecting('revoke or notify', 'notify')).default('notify'),
    // Issue 17 item 4, escalation (src/access/escalation/): undecided this long, a request is also sent
    // to the environment's escalationApprovers, once. Off when absent.
    escalateAfter: Duration.optional(),
    // Governance (issue 17 items 1, 5): ticket reference, reason rules, change window (src/config-governance.ts).
    ...governancePolicyFields,
  },
  'a map of policy fields: ttl, maxTtl, minTtl, maxExtensions, allowSelfApproval, pendingTimeout, reminders, approverReminders, extensionNeedsApproval, dbTimeout, approvals, reviewEvery, reviewGrace, reviewExpiredAction, escalateAfter, ticket, reason, window',
).superRefine(
  (policy, ctx) => {
    // Also runs when another policy field is wrong (`when`), so values may still be raw: check each.
    const { ttl, maxTtl, minTtl, reminders, pendingTimeout, escalateAfter } = policy;
    // Issue 17 item 4: an escalation after the request expired undecided would never be sent.
    if (typeof escalateAfter === 'number' && typeof pendingTimeout === 'number' && escalateAfter >= pendingTimeout) {
      ctx.addIssue({
        code: 'custom',
        path: ['escalateAfter'],
        message: `${formatDuration(escalateAfter)} is not shorter than pendingTimeout (${formatDuration(pendingTimeout)}), so requests expire before they are escalated: lower escalateAfter or raise pendingTimeout`,
      });
    }
    if (typeof minTtl === 'number' && typeof ttl === 'number' && minTtl > ttl) {
      ctx.addIssue({
        code: 'custom',
        path: ['minTtl'],
        message: `${formatDuration(minTtl)} is longer than ttl (${formatDuration(ttl)}), so the default could never be asked for: lower minTtl or raise ttl`,
      });
    } else if (typeof minTtl === 'number' && typeof maxTtl === 'number' && minTtl > maxTtl) {
      ctx.addIssue({
        code: 'custom',
        path: ['minTtl'],
        message: `${formatDuration(minTtl)} is longer than maxTtl (${formatDuration(maxTtl)}): lower minTtl or raise maxTtl`,
      });
    }
    if (typeof maxTtl !== 'number') {
      return;
    }
    if (typeof ttl === 'number' && ttl > maxTtl) {
      ctx.addIssue({
        code: 'custom',
        path: ['ttl'],
        message: `${formatDuration(ttl)} is longer than maxTtl (${formatDuration(maxTtl)}): lower ttl or raise maxTtl`,
      });
    }
    if (!Array.isArray(reminders)) {
      return;
    }
    reminders.forEach((before: unknown, index) => {
      if (typeof before === 'number' && before >= maxTtl) {
        ctx.addIssue({
          code: 'custom',
          path: ['reminders', index],
          message: `${formatDuration(before)} before expiry is not shorter than maxTtl (${formatDuration(maxTtl)}): use a shorter reminder`,
        });
      }
    });
  },
  { when: (payload) => isRecord(payload.value) },
);

const Interop = strictObject(
  {
    // The dedicated interoperability user; default: the bot's prefix + "interop" (upper case on Oracle).
    username: z.string(expecting('a database username: a letter, then letters, digits or _', 'dbx_interop')).regex(/^[A-Za-z][A-Za-z0-9_]{0,29}$/).optional(),
    // Off by default: read on the User and Tenant views exposes end users' names, usernames and e-mail
    // (docs/configuration.md says what); only the views are granted, never OSSYS_USER itself (password hashes).
    userAndTenant: Bool.default(false),
    // Oracle: interop writes are not supported yet (seed), so exposed objects get read only unless this is set.
    oracleWrite: Bool.default(false),
  },
  'interoperability settings: username, userAndTenant, oracleWrite',
);

const ENVIRONMENT =
  'an environment: name, dialect, connection, details, lifetimeVersion, network, approvers, channels and optionally hosting, permanentApprovers, selfService, breakGlass, escalationApprovers, policy, interop';

const EnvironmentName = z
  .string(expecting('a name users type: a lowercase letter, then up to 31 lowercase letters, digits or -', 'dev'))
  .regex(/^[a-z][a-z0-9-]{0,31}$/);

const ORACLE_PROFILE = z
  .string(expecting('an Oracle profile name in upper case: a letter, then letters, digits or _', 'DBX_TEMPORARY'))
  .regex(/^[A-Z][A-Z0-9_]{0,127}$/);

/** Oracle: the profile each kind of user is created with; a kind left out gets DEFAULT (passwords expire after 180 days). */
const OracleProfiles = strictObject(
  { temporary: ORACLE_PROFILE.optional(), readonly: ORACLE_PROFILE.optional(), readwrite: ORACLE_PROFILE.optional(), interop: ORACLE_PROFILE.optional() },
  'a map from user kind (temporary, readonly, readwrite, interop) to an Oracle profile name, e.g. { readonly: DBX_INTEGRATION }',
);

/** Where the database runs, where that changes the statements the bot sends (src/dialects/dialect.ts Platform). */
const SqlServerPlatform = z.enum(['self-managed', 'rds', 'azure-mi'], expecting('self-managed, rds or azure-mi', 'self-managed')).default('self-managed');
const AzureSqlPlatform = z
  .literal('azure-sql-database', { error: 'azuresql is always azure-sql-database (use dialect: sqlserver with platform: azure-mi for a Managed Instance)' })
  .default('azure-sql-database');
const OraclePlatform = z.enum(['self-managed', 'rds'], expecting('self-managed or rds', 'rds')).default('self-managed');

// Who runs the environment, and so its network: OutSystems (OutSystems Cloud, the seed's case, where
// network access is a support case) or the customer (self-managed: their own network team opens it).
// OutSystems Cloud by default, as the seed and every file written before this field describe.
const Hosting = z
  .enum(['outsystems-cloud', 'self-managed'], expecting('outsystems-cloud or self-managed', 'self-managed'))
  .default('outsystems-cloud');

// Fields every dialect shares, after name, dialect, connection and details.
const environmentCommon = {
  lifetimeVersion: LifetimeVersion,
  hosting: Hosting,
  network: Network,
  approvers: Approvers,
  // Permanent users need a company or infrastructure administrator (the seed): by default, the approvers.
  permanentApprovers: Approvers.optional(),
  selfService: z.array(SlackUserId, expecting('a list of Slack user IDs', '[U0456EFGH]')).default([]),
  // Break-glass: these people may create a temporary user at once, with a mandatory reason; every approver is alerted.
  breakGlass: z.array(SlackUserId, expecting('a list of Slack user IDs', '[U0789IJKL]')).default([]),
  // Issue 17 item 4: who is also asked when a request stays undecided for policy.escalateAfter; they may then decide it.
  escalationApprovers: Approvers.optional(),
  channels: Channels,
  policy: Policy.prefault({}),
  interop: Interop.prefault({}),
};

const SqlServerEnvironment = strictObject(
  {
    name: EnvironmentName,
    dialect: z.literal('sqlserver'),
    connection: SqlServerConnection,
    details: SqlServerDetails,
    platform: SqlServerPlatform,
    profiles: notFor('profiles are for oracle only'),
    schemaPrivileges: notFor('schemaPrivileges are for oracle (23ai) only'),
    ...environmentCommon,
  },
  ENVIRONMENT,
).transform((env) => ({
  ...env,
  details: detailsWithDefaults(env.details, env.connection.port ?? 1433, env.connection.database),
}));

const AzureSqlEnvironment = strictObject(
  {
    name: EnvironmentName,
    dialect: z.literal('azuresql'),
    connection: AzureSqlConnection,
    details: Details,
    platform: AzureSqlPlatform,
    profiles: notFor('profiles are for oracle only'),
    schemaPrivileges: notFor('schemaPrivileges are for oracle (23ai) only'),
    ...environmentCommon,
  },
  ENVIRONMENT,
).transform((env) => ({
  ...env,
  details: detailsWithDefaults(env.details, env.connection.port, env.connection.database),
}));

const OracleEnvironment = strictObject(
  {
    name: EnvironmentName,
    dialect: z.literal('oracle'),
    connection: OracleConnection,
    details: Details,
    platform: OraclePlatform,
    profiles: OracleProfiles.optional(),
    // Oracle 23ai and later: read rights on the OutSystems schema only (GRANT … ANY TABLE ON SCHEMA).
    schemaPrivileges: Bool.default(false),
    ...environmentCommon,
  },
  ENVIRONMENT,
).transform((env) => ({
  ...env,
  details: detailsWithDefaults(env.details, env.connection.port, env.connection.serviceName),
}));

/**
 * One O11 environment. The type is a union on `dialect`, so `connection.database` is a string for
 * sqlserver/azuresql and `connection.serviceName` one for oracle; details have port and database filled in.
 */
export const Environment = z.discriminatedUnion('dialect', [SqlServerEnvironment, AzureSqlEnvironment, OracleEnvironment], {
  error: (issue) => {
    if (!isRecord(issue.input)) {
      return `expected ${ENVIRONMENT}`;
    }
    const dialect = issue.input.dialect;
    if (dialect === undefined) {
      return 'missing: add dialect: sqlserver, azuresql or oracle';
    }
    const shown = typeof dialect === 'string' && dialect.length <= 30 ? `'${dialect}' is not a dialect: ` : '';
    return `${shown}expected sqlserver, azuresql or oracle, e.g. sqlserver`;
  },
});
export type Environment = z.infer<typeof Environment>;

// With an unknown dialect zod cannot pick a schema, so the fields every dialect shares are checked
// with this one: the operator still sees all their mistakes in one run.
const EnvironmentOfUnknownDialect = strictObject(
  {
    name: EnvironmentName,
    dialect: z.unknown().optional(), // already reported by Environment
    platform: z.unknown().optional(),
    profiles: z.unknown().optional(),
    schemaPrivileges: z.unknown().optional(),
    connection: z.custom((value) => value !== undefined, { error: `missing: add ${CONNECTION}` }),
    details: z.custom((value) => value !== undefined, { error: `missing: add ${DETAILS}` }),
    ...environmentCommon,
  },
  ENVIRONMENT,
);

const Environments = z
  .array(Environment, {
    error: (issue) =>
      issue.input === undefined
        ? 'missing: add the list of environments (config/environments.example.yml shows one per dialect)'
        : Array.isArray(issue.input)
          ? 'is empty: add at least one environment (config/environments.example.yml shows one per dialect)'
          : 'expected a list of environments, each starting with "- name:"',
  })
  .min(1)
  .superRefine(
    (environments, ctx) => {
      // Runs even when single environments failed (`when`), on the raw items in that case.
      if (!Array.isArray(environments)) {
        return;
      }
      const firstIndexByName = new Map<string, number>();
      environments.forEach((item: unknown, index) => {
        if (!isRecord(item)) {
          return;
        }
        if (!Dialect.safeParse(item.dialect).success) {
          for (const issue of EnvironmentOfUnknownDialect.safeParse(item).error?.issues ?? []) {
            ctx.addIssue({ code: 'custom', path: [index, ...issue.path], message: issue.message });
          }
        }
        // Issue 17 item 4: escalating to nobody would be a silent no-op.
        if (isRecord(item.policy) && item.policy.escalateAfter !== undefined && item.escalationApprovers === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'escalationApprovers'],
            message: 'missing: policy.escalateAfter is set, so add escalationApprovers (users and/or groups) to escalate to, or remove escalateAfter',
          });
        }
        if (typeof item.name !== 'string') {
          return;
        }
        // Slack users type names in any case, so 'Dev' and 'dev' would be the same environment.
        const key = item.name.toLowerCase();
        const first = firstIndexByName.get(key);
        if (first === undefined) {
          firstIndexByName.set(key, index);
        } else {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: `duplicate: environments[${first}] is also named '${item.name}'; give each environment its own name`,
          });
        }
      });
    },
    { when: () => true },
  );

/** The whole environments file. */
export const EnvironmentsFile = strictObject(
  {
    // The bot owns every database user starting with this: unknown ones are reported as orphans. At
    // least 3 characters ending in _, so it can never match the server's own accounts (OSADMIN, DBSNMP).
    usernamePrefix: z
      .string(expecting('3 to 10 characters ending in _: a lowercase letter, then lowercase letters, digits or _', 'dbx_'))
      .regex(/^[a-z][a-z0-9_]{0,8}_$/)
      .default('dbx_'),
    environments: Environments,
  },
  'a map with usernamePrefix (optional) and environments',
);
export type EnvironmentsFile = z.infer<typeof EnvironmentsFile>;

// ---------------------------------------------------------------------------------------------
// Loading

/** An environment with its admin password resolved. */
export type LoadedEnvironment = Environment & {
  /** The admin password, read at start-up. A function, so JSON, util.inspect and loggers never print it. */
  adminPassword(): string;
};

export type Config = {
  vars: EnvVars;
  usernamePrefix: string;
  environments: LoadedEnvironment[];
};

export type LoadConfigOptions = {
  env?: NodeJS.ProcessEnv;
  /** Reads a UTF-8 text file; throws a Node error with `code` (ENOENT...) when it cannot. */
  readFile?: (path: string) => string;
};

/**
 * Reads the variables, the environments file they point to, and every admin password it refers to.
 * Throws one AppError('config_invalid') that lists every problem found.
 */
export function loadConfig({ env = process.env, readFile = readTextFile }: LoadConfigOptions = {}): Config {
  const { config, problems } = collectConfig(env, readFile);
  if (config === undefined) throw startupInvalid(problems);
  return config;
}

/**
 * Everything start-up reads: the variables, the environments file, its admin passwords and the Slack
 * settings, each stage checked even when another failed, so one message names every problem (README:
 * "a bad configuration stops the bot with one message naming every problem").
 */
export function loadStartup({ env = process.env, readFile = readTextFile }: LoadConfigOptions = {}): { config: Config; slack: SlackSettings } {
  const { config, problems } = collectConfig(env, readFile);
  let slack: SlackSettings | undefined;
  try {
    // Slack's variables depend on nothing else: always checked.
    slack = loadSlackSettings(env);
  } catch (err) {
    problems.push(sectionOf(err));
  }
  if (config === undefined || slack === undefined) throw startupInvalid(problems);
  return { config, slack };
}

/** One section per failed stage (a header line, then one line per problem). */
function collectConfig(env: NodeJS.ProcessEnv, readFile: (path: string) => string): { config: Config | undefined; problems: string[] } {
  const problems: string[] = [];
  let vars: EnvVars | undefined;
  try {
    vars = parseEnvVars(env);
  } catch (err) {
    problems.push(sectionOf(err));
  }
  // The file is read whatever the other variables say: its path (DBACCESS_CONFIG) has a default and
  // takes any text, so no variable problem can hide a problem of the file.
  const source = vars?.DBACCESS_CONFIG ?? (env.DBACCESS_CONFIG || EnvVars.shape.DBACCESS_CONFIG.parse(undefined));
  let data: unknown;
  try {
    data = readYaml(readEnvironmentsFile(source, env, readFile), source);
  } catch (err) {
    // No file or no YAML: nothing below can run, since the password references are in the file.
    problems.push(sectionOf(err));
    return { config: undefined, problems };
  }
  let file: EnvironmentsFile | undefined;
  try {
    file = validateEnvironmentsFile(data, source);
  } catch (err) {
    problems.push(sectionOf(err));
  }
  // Passwords are resolved from the file as written, so a wrong field elsewhere does not hide an unset
  // variable; only a malformed password reference is skipped (the file's problems name it already).
  const passwords: Array<string | undefined> = [];
  const passwordProblems: string[] = [];
  rawEnvironments(data).forEach((item, index) => {
    const ref = PasswordRef.safeParse(isRecord(item) && isRecord(item.connection) ? item.connection.password : undefined);
    if (!ref.success) return;
    const password = resolvePassword(ref.data, dirname(source), env, readFile);
    if ('problem' in password) {
      const name = isRecord(item) && typeof item.name === 'string' ? item.name : '?';
      passwordProblems.push(`${environmentPath(index, name)}.connection.password: ${password.problem}`);
      return;
    }
    passwords[index] = password.value;
  });
  if (passwordProblems.length > 0) problems.push(sectionOf(configInvalid(`Environments file ${source}: admin passwords cannot be read`, passwordProblems)));
  if (vars === undefined || file === undefined || problems.length > 0) return { config: undefined, problems };
  const environments = file.environments.map((environment, index): LoadedEnvironment => {
    const value = passwords[index] ?? '';
    // A closure, not a field: nothing that walks the object (JSON, inspect, pino) can reach the value.
    return { ...environment, adminPassword: () => value };
  });
  return { config: { vars, usernamePrefix: file.usernamePrefix, environments }, problems };
}

function readEnvironmentsFile(source: string, env: NodeJS.ProcessEnv, readFile: (path: string) => string): string {
  try {
    return readFile(source);
  } catch (err) {
    const origin =
      env.DBACCESS_CONFIG === undefined || env.DBACCESS_CONFIG === ''
        ? 'the default path, as DBACCESS_CONFIG is not set'
        : 'set by DBACCESS_CONFIG';
    throw new AppError(
      'config_invalid',
      errorCode(err) === 'ENOENT'
        ? `Environments file ${source} (${origin}) does not exist: create it (config/environments.example.yml shows the format) or set DBACCESS_CONFIG to its path.`
        : `Environments file ${source} (${origin}) cannot be read (${errorCode(err) ?? 'unknown error'}): check the path and its permissions.`,
      { cause: err },
    );
  }
}

function rawEnvironments(data: unknown): unknown[] {
  return isRecord(data) && Array.isArray(data.environments) ? data.environments : [];
}

/** The text of a stage's AppError('config_invalid'); anything else is a bug and is thrown on. */
function sectionOf(err: unknown): string {
  if (err instanceof AppError && err.code === 'config_invalid') return err.message;
  throw err;
}

function startupInvalid(problems: readonly string[]): AppError {
  if (problems.length === 1) return new AppError('config_invalid', problems[0] ?? '');
  return new AppError('config_invalid', [`The bot cannot start: ${problems.length} parts of its configuration are wrong, all listed below.`, ...problems].join('\n\n'));
}

function readTextFile(path: string): string {
  return readFileSync(path, 'utf8');
}

function parseEnvVars(env: NodeJS.ProcessEnv): EnvVars {
  // An empty variable (FOO= in a compose file) means "not set", so the default applies.
  const ours = Object.fromEntries(
    Object.keys(EnvVars.shape)
      .map((name) => [name, env[name]])
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = EnvVars.safeParse(ours);
  if (!result.success) {
    throw configInvalid(
      'Environment variables are invalid',
      result.error.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`),
    );
  }
  return result.data;
}

function resolvePassword(
  ref: PasswordRef,
  baseDirectory: string,
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string,
): { value: string } | { problem: string } {
  if (ref.env !== undefined) {
    const value = env[ref.env];
    if (value === undefined) {
      return { problem: `environment variable ${ref.env} is not set: set it to the admin login's password` };
    }
    if (value === '') {
      return { problem: `environment variable ${ref.env} is empty: set it to the admin login's password` };
    }
    return { value };
  }
  // Relative to the environments file, like paths in other config files, not to the working directory.
  const path = resolve(baseDirectory, ref.file);
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const code = errorCode(err);
    return {
      problem:
        code === 'ENOENT'
          ? `file ${path} does not exist: create it with the admin login's password or correct the path`
          : `file ${path} cannot be read (${code ?? 'unknown error'}): check its permissions`,
    };
  }
  // Secret files are usually written by `echo`, which adds a newline that is not part of the password.
  const value = text.replace(/\r?\n$/, '');
  return value === '' ? { problem: `file ${path} is empty: write the admin login's password in it` } : { value };
}

/**
 * Parses and validates an environments file. `source` names it in messages (a path, or e.g. 'console.yml').
 * Throws one AppError('config_invalid') listing every problem, one per line, each with its path in the file.
 */
export function parseEnvironmentsFile(yamlText: string, source: string): EnvironmentsFile {
  return validateEnvironmentsFile(readYaml(yamlText, source), source);
}

function validateEnvironmentsFile(data: unknown, source: string): EnvironmentsFile {
  if (data === null || data === undefined) {
    throw configInvalid(`Environments file ${source} is empty`, [
      'add usernamePrefix (optional) and a list of environments: config/environments.example.yml shows the format',
    ]);
  }
  const result = EnvironmentsFile.safeParse(data, { error: fallbackMessage });
  if (result.success) {
    return result.data;
  }
  return throwInvalid(source, data, result.error.issues);
}

function throwInvalid(source: string, data: unknown, issues: readonly z.core.$ZodIssue[]): never {
  // In file order, environment by environment (sort is stable: within one, zod's field order).
  const environmentIndex = (path: readonly PropertyKey[]) =>
    path[0] === 'environments' && typeof path[1] === 'number' ? path[1] : -1;
  const lines = [...issues]
    .sort((a, b) => environmentIndex(a.path) - environmentIndex(b.path))
    .map((issue) => `${formatPath(issue.path, data)}: ${issue.message}`);
  const unique = [...new Set(lines)];
  throw configInvalid(
    `Environments file ${source} is invalid (${unique.length} ${unique.length === 1 ? 'problem' : 'problems'})`,
    unique,
  );
}

function readYaml(text: string, source: string): unknown {
  const lineCounter = new LineCounter();
  // prettyErrors would quote the offending lines, which may hold a secret someone pasted.
  const doc = parseDocument(text, { prettyErrors: false, lineCounter, merge: true });
  if (doc.errors.length > 0) {
    throw configInvalid(
      `Environments file ${source} is not valid YAML`,
      doc.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return `line ${line}, column ${col}: ${error.message}`;
      }),
    );
  }
  try {
    return doc.toJS();
  } catch (err) {
    // e.g. too many aliases; yaml's message names the rule, not the content.
    throw configInvalid(`Environments file ${source} is not valid YAML`, [
      err instanceof Error ? err.message : String(err),
    ]);
  }
}

function configInvalid(header: string, problems: readonly string[]): AppError {
  return new AppError('config_invalid', [`${header}:`, ...problems].join('\n'));
}

/** For any rule that has no sentence of its own; the schemas above should leave nothing to it. */
function fallbackMessage(issue: RawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    return issue.input === undefined ? 'missing' : `expected ${issue.expected}`;
  }
  return undefined;
}

/** `environments[1] (prod).connection.port`: the path as the operator sees the file. */
function formatPath(path: readonly PropertyKey[], data: unknown): string {
  let text = '';
  let node: unknown = data;
  for (const key of path) {
    node = Array.isArray(node) && typeof key === 'number' ? node[key] : isRecord(node) && typeof key === 'string' ? node[key] : undefined;
    if (typeof key === 'number') {
      text += `[${key}]`;
      if (text === `environments[${key}]` && isRecord(node) && typeof node.name === 'string') {
        text = environmentPath(key, node.name);
      }
    } else {
      text += text === '' ? String(key) : `.${String(key)}`;
    }
  }
  return text === '' ? '(top level)' : text;
}

function environmentPath(index: number, name: string): string {
  const shown = name.length > 40 ? `${name.slice(0, 40)}…` : name;
  return `environments[${index}] (${shown})`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorCode(err: unknown): string | undefined {
  return isRecord(err) && typeof err.code === 'string' ? err.code : undefined;
}

// ---------------------------------------------------------------------------------------------
// LifeTime versions

function versionParts(version: string): number[] {
  if (!VERSION_PATTERN.test(version)) {
    throw new AppError('internal', `'${version}' is not a version of 2 to 4 numbers separated by dots`);
  }
  return version.split('.').map(Number);
}

/**
 * True when `version` is `minimum` or later, comparing numbers part by part ('11.10.0' is after
 * '11.7.5'); missing parts count as 0. Temporary users need LifeTime 11.7.5
 * (seeds/outsystems-cloud-database-access.md#temporary-database-user).
 */
export function lifetimeAtLeast(version: string, minimum: string): boolean {
  const have = versionParts(version);
  const need = versionParts(minimum);
  for (let i = 0; i < Math.max(have.length, need.length); i += 1) {
    const difference = (have[i] ?? 0) - (need[i] ?? 0);
    if (difference !== 0) {
      return difference > 0;
    }
  }
  return true;
}
