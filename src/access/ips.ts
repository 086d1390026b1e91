// Public static IP addresses for allowlisting: anything private, loopback, link-local or otherwise not
// routable on the internet is refused by name. seeds/outsystems-cloud-database-access.md#request-the-permanent-user
import { isIPv4, isIPv6 } from 'node:net';

/** Why `ip` cannot be allowlisted, or undefined when it can. Documentation ranges (203.0.113.0/24…) are accepted. */
export function ipProblem(ip: string): string | undefined {
  if (isIPv4(ip)) return ipv4Problem(ip);
  if (isIPv6(ip)) return ipv6Problem(ip);
  if (/\/\d+$/.test(ip)) return 'is a range; give single addresses';
  return 'is not an IPv4 or IPv6 address';
}

const V4_REFUSED: Array<[number, number, number, string]> = [
  // [first address as number, prefix length, _, name]
  [ip4(0, 0, 0, 0), 8, 0, '"this network" (0.0.0.0/8)'],
  [ip4(10, 0, 0, 0), 8, 0, 'private (10.0.0.0/8)'],
  [ip4(100, 64, 0, 0), 10, 0, 'carrier-grade NAT (100.64.0.0/10), not a static public address'],
  [ip4(127, 0, 0, 0), 8, 0, 'loopback (127.0.0.0/8)'],
  [ip4(169, 254, 0, 0), 16, 0, 'link-local (169.254.0.0/16)'],
  [ip4(172, 16, 0, 0), 12, 0, 'private (172.16.0.0/12)'],
  [ip4(192, 168, 0, 0), 16, 0, 'private (192.168.0.0/16)'],
  [ip4(198, 18, 0, 0), 15, 0, 'benchmarking (198.18.0.0/15)'],
  [ip4(224, 0, 0, 0), 4, 0, 'multicast (224.0.0.0/4)'],
  [ip4(240, 0, 0, 0), 4, 0, 'reserved (240.0.0.0/4)'],
];

function ip4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function ipv4Problem(ip: string): string | undefined {
  const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
  const value = ip4(a, b, c, d);
  for (const [base, prefix, , name] of V4_REFUSED) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if ((value & mask) >>> 0 === base) return `is ${name}`;
  }
  return undefined;
}

function ipv6Problem(ip: string): string | undefined {
  const groups = expandIPv6(ip);
  const first = groups[0]!;
  if (groups.every((g) => g === 0)) return 'is unspecified (::)';
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return 'is loopback (::1)';
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const v4 = `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
    const problem = ipv4Problem(v4);
    return problem ? `is an IPv4-mapped address that ${problem}` : undefined;
  }
  if ((first & 0xfe00) === 0xfc00) return 'is unique-local, i.e. private (fc00::/7)';
  if ((first & 0xffc0) === 0xfe80) return 'is link-local (fe80::/10)';
  if ((first & 0xff00) === 0xff00) return 'is multicast (ff00::/8)';
  return undefined;
}

/** Eight 16-bit groups of an address node:net already accepted. */
function expandIPv6(ip: string): number[] {
  let text = ip.split('%')[0]!;
  // A trailing dotted IPv4 part becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.replace(v4[1]!, `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`);
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}
