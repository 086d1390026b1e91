// The network part of a permanent user, which the bot cannot do: the text a person sends to whoever
// runs the environment's network. OutSystems Cloud environments get a support case for OutSystems
// (seeds/outsystems-cloud-database-access.md#request-the-permanent-user); self-managed ones a request
// to the customer's own network team saying what to open.
import type { LoadedEnvironment } from '../config.js';
import type { AccessRequest, Via } from '../store/requests.js';

export interface NetworkRequest {
  /** Where the text goes, as the end of "The bot cannot change the network: …". */
  intro: string;
  /** Ready to paste: one part per kind of hosting among the environments. */
  text: string;
}

type Ask = { access: 'readonly' | 'readwrite'; via: Via; ips: string[] };

const VIA_WORDS: Record<Via, string> = {
  vpn: 'VPN (any IP address of our private network)',
  tgw: 'AWS Transit Gateway (any IP address of our private network)',
  allowlist: 'IP allowlisting of public static IP addresses',
};

/** Where each way in starts, for a firewall rule. */
const SOURCE_WORDS: Record<Via, string> = {
  vpn: 'our private network, through the VPN',
  tgw: 'our private network, through the AWS Transit Gateway',
  allowlist: 'the public static IP addresses',
};

export function networkRequest(envs: readonly LoadedEnvironment[], ask: Ask, requests: readonly AccessRequest[]): NetworkRequest {
  const cloud = envs.filter((e) => e.hosting === 'outsystems-cloud');
  const own = envs.filter((e) => e.hosting !== 'outsystems-cloud');
  const users = (group: readonly LoadedEnvironment[]) =>
    `• Database users (created by our access bot): ${requests.filter((r) => group.some((e) => e.name === r.env)).map((r) => `${r.username} (${r.env})`).join(', ')}`;
  const access = `• Access: ${ask.access === 'readonly' ? 'read-only' : 'read and write'}`;
  const parts: string[] = [];
  if (cloud.length > 0) {
    parts.push(
      [
        'To: OutSystems Support (a support case)',
        `Subject: Direct database access (permanent user) — ${cloud.map((e) => e.name).join(', ')}`,
        '',
        'Please set up the network access for a permanent database user of these OutSystems Cloud environments:',
        ...cloud.map((e) => `• Environment: ${e.name} (database server ${e.details.host})`),
        access,
        `• How we connect: ${VIA_WORDS[ask.via]}${ask.via === 'allowlist' ? `: ${ask.ips.join(', ')}` : ''}`,
        ...(ask.via === 'allowlist' ? ['• We do not plan to request temporary database users in these environments.'] : []),
        users(cloud),
      ].join('\n'),
    );
  }
  if (own.length > 0) {
    const from = ask.via === 'allowlist' ? `${SOURCE_WORDS.allowlist} ${ask.ips.join(', ')}` : SOURCE_WORDS[ask.via];
    parts.push(
      [
        'To: our network team',
        `Subject: Database access (permanent user) — ${own.map((e) => e.name).join(', ')}`,
        '',
        'Please open the network path for a permanent database user of these self-managed OutSystems environments:',
        ...own.map((e) => `• Allow TCP from ${from} to ${e.details.host}, port ${e.details.port} (environment ${e.name})`),
        access,
        users(own),
      ].join('\n'),
    );
  }
  const intro =
    own.length === 0
      ? 'open an OutSystems support case with this text'
      : cloud.length === 0
        ? 'ask your network team with this text'
        : 'send each part of this text where its first line says (OutSystems Support, or your network team)';
  return { intro, text: parts.join('\n\n') };
}
