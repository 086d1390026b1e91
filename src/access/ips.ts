// Public static IP addresses for allowlisting: every address of a special-purpose range of the IANA
// registries (private, loopback, documentation, NAT64, 6to4, Teredo…) is refused by name. The ranges
// come from ipaddr.js, which tracks the registries, instead of a list kept here by hand:
// https://www.iana.org/assignments/iana-ipv4-special-registry and …/iana-ipv6-special-registry.
// seeds/outsystems-cloud-database-access.md#request-the-permanent-user
import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

/** ipaddr.js's range names in words a user understands; a range it adds later is still refused, by its own name. */
const RANGE_WORDS: Readonly<Record<string, string>> = {
  unspecified: 'unspecified ("this network")',
  broadcast: 'the broadcast address',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT, not a static public address',
  private: 'private',
  reserved: 'reserved (documentation, benchmarking or other special use)',
  benchmarking: 'reserved for benchmarking',
  as112: 'reserved for AS112 DNS servers',
  as112v6: 'reserved for AS112 DNS servers',
  amt: 'reserved for AMT multicast tunnelling',
  uniqueLocal: 'unique-local, i.e. private',
  deprecatedSiteLocal: 'site-local (deprecated), i.e. private',
  discard: 'a discard-only prefix',
  rfc6145: 'an IPv4-translated address (SIIT)',
  rfc6052: 'a NAT64 address that embeds an IPv4 address',
  '6to4': 'a 6to4 address that embeds an IPv4 address',
  teredo: 'a Teredo tunnel address, not a static public address',
  deprecatedOrchid: 'an ORCHID identifier, not routable',
  orchid2: 'an ORCHID identifier, not routable',
  droneRemoteIdProtocolEntityTags: 'a drone remote ID tag, not routable',
  segmentRouting: 'a segment-routing identifier, not routable',
};

/** Why `ip` cannot be allowlisted, or undefined when it can. */
export function ipProblem(ip: string): string | undefined {
  // node:net first: ipaddr.js also reads '127.1' or '0x7f.0.0.1', which no firewall form takes.
  if (isIPv4(ip)) return v4Problem(ipaddr.IPv4.parse(ip));
  if (isIPv6(ip) && !ip.includes('%')) return v6Problem(ipaddr.IPv6.parse(withHexTail(ip)));
  if (/\/\d+$/.test(ip)) return 'is a range; give single addresses';
  return 'is not an IPv4 or IPv6 address';
}

/**
 * '::10.0.0.1' with its dotted part as two hex groups ('::a00:1'): ipaddr.js reads the dotted form
 * '::a.b.c.d' as '::ffff:a.b.c.d', which would judge an IPv4-compatible address as a mapped one.
 */
function withHexTail(ip: string): string {
  return ip.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`,
  );
}

function v4Problem(address: ipaddr.IPv4): string | undefined {
  const range = address.range();
  return range === 'unicast' ? undefined : `is ${RANGE_WORDS[range] ?? range} (${cidrOf(address, range)})`;
}

function v6Problem(address: ipaddr.IPv6): string | undefined {
  const range = address.range();
  if (range === 'ipv4Mapped') {
    // ::ffff:a.b.c.d is the IPv4 address itself on a dual-stack socket: judged as that address.
    const problem = v4Problem(address.toIPv4Address());
    return problem === undefined ? undefined : `is an IPv4-mapped address that ${problem}`;
  }
  if (range === 'unicast' && address.parts.slice(0, 6).every((part) => part === 0)) {
    // ::a.b.c.d, deprecated by RFC 4291 section 2.5.5.1 and absent from ipaddr's ranges.
    return `is an IPv4-compatible address (::/96, deprecated)${insteadOf(lastIPv4(address))}`;
  }
  if (range === 'unicast') return undefined;
  const words = `is ${RANGE_WORDS[range] ?? range} (${cidrOf(address, range)})`;
  const embedded = embeddedIPv4(address, range);
  return embedded === undefined ? words : `${words}${insteadOf(embedded)}`;
}

/** What to do about the IPv4 address an IPv6 form carries: allowlist it itself, unless it is not public either. */
function insteadOf(v4: string): string {
  const problem = v4Problem(ipaddr.IPv4.parse(v4));
  return problem === undefined ? `: allowlist the IPv4 address ${v4} itself` : `, and the IPv4 address in it, ${v4}, ${problem}`;
}

/** The IPv4 address a NAT64 or 6to4 address carries (RFC 6052 section 2.2, RFC 3056 section 2). */
function embeddedIPv4(address: ipaddr.IPv6, range: string): string | undefined {
  if (range === 'rfc6052' && address.parts[0] === 0x64 && address.parts[1] === 0xff9b) return lastIPv4(address);
  if (range === '6to4') return dotted(address.parts[1] ?? 0, address.parts[2] ?? 0);
  return undefined;
}

/** The last 32 bits as a dotted IPv4 address. */
function lastIPv4(address: ipaddr.IPv6): string {
  return dotted(address.parts[6] ?? 0, address.parts[7] ?? 0);
}

function dotted(high: number, low: number): string {
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** The registry block that matched, e.g. 10.0.0.0/8, so the user can look it up in the IANA registry. */
function cidrOf(address: ipaddr.IPv4 | ipaddr.IPv6, range: string): string {
  // SpecialRanges is ipaddr.js's own table (on the prototype, not in its typings).
  const table: unknown = Reflect.get(address, 'SpecialRanges');
  const entry: unknown = isRecord(table) ? table[range] : undefined;
  const blocks = isBlock(entry) ? [entry] : Array.isArray(entry) ? entry.filter(isBlock) : [];
  const hit = blocks.find((block) => block[0].kind() === address.kind() && address.match(block));
  return hit ? `${hit[0].toString()}/${hit[1]}` : range;
}

function isBlock(value: unknown): value is [ipaddr.IPv4 | ipaddr.IPv6, number] {
  return Array.isArray(value) && value.length === 2 && (value[0] instanceof ipaddr.IPv4 || value[0] instanceof ipaddr.IPv6) && typeof value[1] === 'number';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
