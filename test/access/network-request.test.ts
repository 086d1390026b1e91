// Who gets the network text of a permanent user: OutSystems for OutSystems Cloud, the customer's own network team otherwise.
import { describe, expect, it } from 'vitest';
import { networkRequest } from '../../src/access/network-request.js';
import type { LoadedEnvironment } from '../../src/config.js';
import type { AccessRequest } from '../../src/store/requests.js';

function env(name: string, hosting: 'outsystems-cloud' | 'self-managed'): LoadedEnvironment {
  return { name, hosting, details: { host: `${name}-db.example.com`, port: 1433, database: 'outsystems' } } as unknown as LoadedEnvironment;
}
const requests = [{ env: 'a', username: 'dbx_ro_a_1' }, { env: 'b', username: 'dbx_ro_b_1' }] as AccessRequest[];

describe('networkRequest', () => {
  it.each([
    [[env('a', 'outsystems-cloud')], 'open an OutSystems support case with this text', ['OutSystems Cloud environments', '• Environment: a'], ['network team']],
    [[env('a', 'self-managed')], 'ask your network team with this text', ['To: our network team', '• Allow TCP from our private network, through the VPN to a-db.example.com, port 1433 (environment a)'], ['OutSystems Cloud', 'support case']],
    [[env('a', 'outsystems-cloud'), env('b', 'self-managed')], 'send each part of this text where its first line says', ['To: OutSystems Support', 'To: our network team'], []],
  ])('%#: %s', (envs, intro, present, absent) => {
    const { intro: said, text } = networkRequest(envs, { access: 'readonly', via: 'vpn', ips: [] }, requests);
    expect(said).toContain(intro);
    for (const words of present) expect(text).toContain(words);
    for (const words of absent) expect(text).not.toContain(words);
  });

  it('a self-managed allowlist names the addresses to open from', () => {
    const { text } = networkRequest([env('b', 'self-managed')], { access: 'readwrite', via: 'allowlist', ips: ['52.95.110.1'] }, requests);
    expect(text).toContain('• Allow TCP from the public static IP addresses 52.95.110.1 to b-db.example.com, port 1433 (environment b)');
    expect(text).toContain('• Database users (created by our access bot): dbx_ro_b_1 (b)');
  });
});
