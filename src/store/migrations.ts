// The state database's schema, one migration per entry (src/store/store.ts applies them at open).
/**
 * The schema, one migration per entry, applied in order and never edited once released: version N
 * is MIGRATIONS[N - 1]. Tables are STRICT (types enforced) and every enumerated column has a CHECK;
 * SQLite cannot alter a CHECK, so extending one (a new request kind) is a table rebuild in a new
 * migration — create requests_new, copy, drop, rename, recreate the indexes — which
 * applyMigrations allows by turning foreign keys off around it (https://sqlite.org/lang_altertable.html#otheralter).
 */
export const MIGRATIONS: readonly string[] = Object.freeze([
  `
  CREATE TABLE requests (
    id TEXT PRIMARY KEY CHECK (id GLOB 'r_*'),
    kind TEXT NOT NULL CHECK (kind IN ('temporary')),
    env TEXT NOT NULL CHECK (env <> ''),
    requester TEXT NOT NULL CHECK (requester <> ''),
    requester_name TEXT NOT NULL,
    access TEXT NOT NULL CHECK (access IN ('readwrite', 'readonly', 'interop')),
    duration_ms INTEGER NOT NULL CHECK (duration_ms > 0),
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'provisioning', 'active', 'revoking', 'revoked', 'denied', 'expired', 'failed')),
    username TEXT,
    requester_chose_credential INTEGER NOT NULL CHECK (requester_chose_credential IN (0, 1)),
    break_glass INTEGER NOT NULL CHECK (break_glass IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER,
    decision_reason TEXT,
    activated_at INTEGER,
    expires_at INTEGER,
    approval_channel TEXT,
    approval_ts TEXT,
    error TEXT,
    -- The username is recorded before the CREATE, so after a crash reconciliation knows whom to look for.
    CHECK (state NOT IN ('provisioning', 'active', 'revoking') OR username IS NOT NULL),
    -- An active user without an expiry would never be revoked.
    CHECK (state <> 'active' OR expires_at IS NOT NULL)
  ) STRICT;

  -- One open request per person, environment and kind, even with two writers racing. Keep the list equal to OPEN_STATES.
  CREATE UNIQUE INDEX requests_one_open ON requests (env, requester, kind)
    WHERE state IN ('pending', 'approved', 'provisioning', 'active', 'revoking');
  CREATE INDEX requests_expiry ON requests (state, expires_at);
  CREATE INDEX requests_by_requester ON requests (requester, created_at);
  CREATE INDEX requests_by_state ON requests (state, created_at);

  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL CHECK (actor <> ''),
    action TEXT NOT NULL CHECK (action <> ''),
    request_id TEXT REFERENCES requests (id),
    env TEXT,
    detail TEXT CHECK (detail IS NULL OR json_valid(detail))
  ) STRICT;
  CREATE INDEX audit_log_by_request ON audit_log (request_id);
  CREATE INDEX audit_log_by_env ON audit_log (env);
  CREATE INDEX audit_log_by_at ON audit_log (at);

  -- An audit log that can be edited proves nothing.
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
  `,
  // 2: revoke_failed, revocation retry bookkeeping and the extension count on requests (a rebuild: the state CHECK
  // changes); the reminders claimed or sent, so a restart neither repeats nor loses one.
  `
  CREATE TABLE requests_new (
    id TEXT PRIMARY KEY CHECK (id GLOB 'r_*'),
    kind TEXT NOT NULL CHECK (kind IN ('temporary')),
    env TEXT NOT NULL CHECK (env <> ''),
    requester TEXT NOT NULL CHECK (requester <> ''),
    requester_name TEXT NOT NULL,
    access TEXT NOT NULL CHECK (access IN ('readwrite', 'readonly', 'interop')),
    duration_ms INTEGER NOT NULL CHECK (duration_ms > 0),
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'provisioning', 'active', 'revoking', 'revoke_failed', 'revoked', 'denied', 'expired', 'failed')),
    username TEXT,
    requester_chose_credential INTEGER NOT NULL CHECK (requester_chose_credential IN (0, 1)),
    break_glass INTEGER NOT NULL CHECK (break_glass IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER,
    decision_reason TEXT,
    activated_at INTEGER,
    expires_at INTEGER,
    approval_channel TEXT,
    approval_ts TEXT,
    error TEXT,
    revoke_attempts INTEGER NOT NULL DEFAULT 0 CHECK (revoke_attempts >= 0),
    -- NULL: no retry scheduled (not revoking, or waiting for a person to resolve it).
    next_attempt_at INTEGER,
    extensions INTEGER NOT NULL DEFAULT 0 CHECK (extensions >= 0),
    -- The username is recorded before the CREATE, so after a crash reconciliation knows whom to look for;
    -- a failed revocation may have left the user behind, so it keeps the name too.
    CHECK (state NOT IN ('provisioning', 'active', 'revoking', 'revoke_failed') OR username IS NOT NULL),
    -- An active user without an expiry would never be revoked.
    CHECK (state <> 'active' OR expires_at IS NOT NULL)
  ) STRICT;

  INSERT INTO requests_new (id, kind, env, requester, requester_name, access, duration_ms, reason, state, username,
    requester_chose_credential, break_glass, created_at, updated_at, decided_by, decided_at, decision_reason,
    activated_at, expires_at, approval_channel, approval_ts, error)
  SELECT id, kind, env, requester, requester_name, access, duration_ms, reason, state, username,
    requester_chose_credential, break_glass, created_at, updated_at, decided_by, decided_at, decision_reason,
    activated_at, expires_at, approval_channel, approval_ts, error
  FROM requests;
  DROP TABLE requests;
  ALTER TABLE requests_new RENAME TO requests;

  -- revoke_failed is open: its user may still exist, so the person waits until it is resolved. Keep the list equal to OPEN_STATES.
  CREATE UNIQUE INDEX requests_one_open ON requests (env, requester, kind)
    WHERE state IN ('pending', 'approved', 'provisioning', 'active', 'revoking', 'revoke_failed');
  CREATE INDEX requests_expiry ON requests (state, expires_at);
  CREATE INDEX requests_by_requester ON requests (requester, created_at);
  CREATE INDEX requests_by_state ON requests (state, created_at);
  CREATE INDEX requests_retry ON requests (state, next_attempt_at);

  -- One row per reminder: inserted (claimed) before sending, marked sent after. The primary key makes the claim atomic.
  CREATE TABLE reminders (
    request_id TEXT NOT NULL REFERENCES requests (id),
    kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64 AND kind NOT GLOB '*[^a-z0-9:_-]*'),
    claimed_at INTEGER NOT NULL,
    sent_at INTEGER,
    PRIMARY KEY (request_id, kind)
  ) STRICT;
  CREATE INDEX reminders_unsent ON reminders (claimed_at) WHERE sent_at IS NULL;
  `,
  // 3: permanent users (a rebuild: the kind CHECK changes). A permanent user has no lifetime and no expiry,
  // records how it connects (and from which IPs), and may carry a pending password rotation. At most one
  // open permanent user per environment and access (the seed's "one read-only and one read and write").
  `
  CREATE TABLE requests_new (
    id TEXT PRIMARY KEY CHECK (id GLOB 'r_*'),
    kind TEXT NOT NULL CHECK (kind IN ('temporary', 'permanent')),
    env TEXT NOT NULL CHECK (env <> ''),
    requester TEXT NOT NULL CHECK (requester <> ''),
    requester_name TEXT NOT NULL,
    access TEXT NOT NULL CHECK (access IN ('readwrite', 'readonly', 'interop')),
    duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'provisioning', 'active', 'revoking', 'revoke_failed', 'revoked', 'denied', 'expired', 'failed')),
    username TEXT,
    requester_chose_credential INTEGER NOT NULL CHECK (requester_chose_credential IN (0, 1)),
    break_glass INTEGER NOT NULL CHECK (break_glass IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER,
    decision_reason TEXT,
    activated_at INTEGER,
    expires_at INTEGER,
    approval_channel TEXT,
    approval_ts TEXT,
    error TEXT,
    revoke_attempts INTEGER NOT NULL DEFAULT 0 CHECK (revoke_attempts >= 0),
    next_attempt_at INTEGER,
    extensions INTEGER NOT NULL DEFAULT 0 CHECK (extensions >= 0),
    via TEXT CHECK (via IS NULL OR via IN ('vpn', 'tgw', 'allowlist')),
    ips TEXT CHECK (ips IS NULL OR json_valid(ips)),
    rotation_requested_by TEXT,
    rotation_requested_at INTEGER,
    rotation_approval_ts TEXT,
    CHECK (state NOT IN ('provisioning', 'active', 'revoking', 'revoke_failed') OR username IS NOT NULL),
    -- A temporary user without an expiry would never be revoked; a permanent one has none.
    CHECK (kind <> 'temporary' OR state <> 'active' OR expires_at IS NOT NULL),
    CHECK (kind <> 'temporary' OR duration_ms > 0),
    CHECK (kind <> 'permanent' OR via IS NOT NULL)
  ) STRICT;

  INSERT INTO requests_new (id, kind, env, requester, requester_name, access, duration_ms, reason, state, username,
    requester_chose_credential, break_glass, created_at, updated_at, decided_by, decided_at, decision_reason,
    activated_at, expires_at, approval_channel, approval_ts, error, revoke_attempts, next_attempt_at, extensions)
  SELECT id, kind, env, requester, requester_name, access, duration_ms, reason, state, username,
    requester_chose_credential, break_glass, created_at, updated_at, decided_by, decided_at, decision_reason,
    activated_at, expires_at, approval_channel, approval_ts, error, revoke_attempts, next_attempt_at, extensions
  FROM requests;
  DROP TABLE requests;
  ALTER TABLE requests_new RENAME TO requests;

  -- Keep the state lists equal to OPEN_STATES. Temporary users: one per person and environment;
  -- permanent users: one per environment and access, whoever asked.
  CREATE UNIQUE INDEX requests_one_open ON requests (env, requester, kind)
    WHERE kind = 'temporary' AND state IN ('pending', 'approved', 'provisioning', 'active', 'revoking', 'revoke_failed');
  CREATE UNIQUE INDEX requests_one_permanent ON requests (env, access)
    WHERE kind = 'permanent' AND state IN ('pending', 'approved', 'provisioning', 'active', 'revoking', 'revoke_failed');
  CREATE INDEX requests_expiry ON requests (state, expires_at);
  CREATE INDEX requests_by_requester ON requests (requester, created_at);
  CREATE INDEX requests_by_state ON requests (state, created_at);
  CREATE INDEX requests_retry ON requests (state, next_attempt_at);
  `,
  // 4: data interoperability. An interop action (set up the user, or grant objects) waits for an approver
  // and is done once; interop_grants records what the bot granted, per environment and object.
  `
  CREATE TABLE interop_actions (
    id TEXT PRIMARY KEY CHECK (id GLOB 'i_*'),
    env TEXT NOT NULL CHECK (env <> ''),
    action TEXT NOT NULL CHECK (action IN ('setup', 'grant')),
    requester TEXT NOT NULL CHECK (requester <> ''),
    -- What to do: for 'grant', { objects: [{ object, privileges, entity? }] }. Never a secret.
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    summary TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'denied', 'failed')),
    decided_by TEXT,
    decided_at INTEGER,
    approval_channel TEXT,
    approval_ts TEXT,
    result TEXT,
    error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX interop_actions_by_state ON interop_actions (state, created_at);

  CREATE TABLE interop_grants (
    env TEXT NOT NULL,
    object TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('view', 'table', 'setup')),
    privileges TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    action_id TEXT NOT NULL REFERENCES interop_actions (id),
    PRIMARY KEY (env, object)
  ) STRICT;
  `,
  // 5: the outbox. Every Slack notification is a row before it is sent, delivered by its own dispatcher
  // with retries and a lease, so a second replica could take over (src/store/outbox.ts).
  `
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    -- Made by code ('revoked.requester'), never typed by a person.
    topic TEXT NOT NULL CHECK (length(topic) BETWEEN 1 AND 64 AND topic NOT GLOB '*[^a-z0-9._-]*'),
    -- A request ('r_…') or an interop action ('i_…'): plain text, so no foreign key.
    request_id TEXT CHECK (request_id IS NULL OR request_id <> ''),
    env TEXT CHECK (env IS NULL OR env <> ''),
    order_key TEXT CHECK (order_key IS NULL OR order_key <> ''),
    -- What the handler needs to send. Never a secret.
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    lease_owner TEXT CHECK (lease_owner IS NULL OR lease_owner <> ''),
    lease_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sent_at INTEGER,
    CHECK ((lease_owner IS NULL) = (lease_until IS NULL)),
    CHECK ((state = 'sent') = (sent_at IS NOT NULL))
  ) STRICT;
  -- The due lookup, and the first pending row of a key.
  CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
  CREATE INDEX outbox_by_key ON outbox (order_key, id) WHERE state = 'pending';
  CREATE INDEX outbox_sent ON outbox (sent_at) WHERE state = 'sent';
  CREATE INDEX outbox_by_request ON outbox (request_id);
  `,
  // 6: approvals, for quorums (policy.approvals): each approver once per subject (src/store/approvals.ts).
  `
  CREATE TABLE approvals (
    -- A request ('r_…'), an interop action ('i_…') or a rotation ('rotation:r_…:<asked at>').
    subject TEXT NOT NULL CHECK (subject <> ''),
    approver TEXT NOT NULL CHECK (approver <> ''),
    at INTEGER NOT NULL,
    PRIMARY KEY (subject, approver)
  ) STRICT;
  `,
  // 7: the audit stream (issue 17). The audit log is append-only with increasing ids, so it is its own
  // outbox: each sink keeps the last id it accepted, and its retry state (src/store/audit-stream.ts).
  `
  CREATE TABLE audit_stream (
    sink TEXT PRIMARY KEY CHECK (sink IN ('stdout', 'webhook')),
    last_id INTEGER NOT NULL CHECK (last_id >= 0),
    -- Failed deliveries in a row: drives the back-off; 0 once one is accepted.
    failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    failing_since INTEGER,
    updated_at INTEGER NOT NULL,
    CHECK ((failures = 0) = (failing_since IS NULL))
  ) STRICT;
  -- Names this state database in idempotency ids, so two bots streaming to one receiver never collide.
  CREATE TABLE audit_stream_source (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    source TEXT NOT NULL CHECK (length(source) = 16)
  ) STRICT;
  INSERT INTO audit_stream_source (only_row, source) VALUES (1, lower(hex(randomblob(8))));
  `,
  // 8: the reminder messages posted (channel and DM), so an extension or a revocation can rewrite them
  // and no old reminder keeps offering buttons that no longer apply (src/store/reminders.ts).
  `
  CREATE TABLE reminder_messages (
    request_id TEXT NOT NULL REFERENCES requests (id),
    channel TEXT NOT NULL CHECK (channel <> ''),
    ts TEXT NOT NULL CHECK (ts <> ''),
    posted_at INTEGER NOT NULL,
    PRIMARY KEY (channel, ts)
  ) STRICT;
  CREATE INDEX reminder_messages_by_request ON reminder_messages (request_id);
  `,
  // 9: governance on requests (issue 17 items 1, 5): the ticket reference, and what the change window
  // asked when the request was made: how many approvals it needs (NULL: the policy's, as before) and the
  // window it fell outside of, so neither changes while it waits (src/access/core/governance.ts).
  `
  ALTER TABLE requests ADD COLUMN ticket TEXT CHECK (ticket IS NULL OR length(ticket) BETWEEN 1 AND 64);
  ALTER TABLE requests ADD COLUMN required_approvals INTEGER CHECK (required_approvals IS NULL OR required_approvals BETWEEN 1 AND 6);
  ALTER TABLE requests ADD COLUMN outside_window TEXT CHECK (outside_window IS NULL OR outside_window <> '');
  `,
  // 10: issue 17 items 3 and 4. escalations: a request or interop action escalated, once (the row is the
  // "once", across restarts; src/store/escalations.ts). reviews: per permanent user, when its next access
  // review is due and the open review's progress and message (src/store/reviews.ts).
  `
  CREATE TABLE escalations (
    -- A request ('r_…') or an interop action ('i_…').
    subject TEXT PRIMARY KEY CHECK (subject <> ''),
    at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE reviews (
    request_id TEXT PRIMARY KEY REFERENCES requests (id),
    -- When the next review falls due: creation or the last review, plus policy.reviewEvery.
    due_at INTEGER NOT NULL,
    -- The open review: when it was asked, reminded and expired (policy.reviewGrace); null when none is open.
    asked_at INTEGER,
    reminded_at INTEGER,
    expired_at INTEGER,
    -- The review message, rewritten after a decision.
    channel TEXT,
    ts TEXT,
    last_reviewed_at INTEGER,
    last_reviewed_by TEXT,
    CHECK ((channel IS NULL) = (ts IS NULL))
  ) STRICT;
  CREATE INDEX reviews_by_due ON reviews (due_at);
  `,
  // 11: rows under lease, so the outbox finds the next lease to run out without reading every pending
  // row (src/store/outbox.ts nextDueAt).
  `
  CREATE INDEX outbox_leased ON outbox (lease_until) WHERE state = 'pending' AND lease_until IS NOT NULL;
  `,
]);
