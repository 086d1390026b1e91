// Which addresses may be allowlisted: public unicast only, every special-purpose range refused by name.
import { describe, expect, it } from 'vitest';
import { ipProblem } from '../../src/access/ips.js';

describe('ipProblem', () => {
  it.each(['52.95.110.1', '8.8.8.8', '2a05:d018:1::7', '2a00:1450:4001:81b::200e', '::ffff:8.8.8.8', '172.15.255.255', '172.32.0.0', '11.0.0.0'])(
    'accepts the public address %s',
    (ip) => {
      expect(ipProblem(ip)).toBeUndefined();
    },
  );

  it.each([
    // IPv4 special-purpose registry
    ['10.1.2.3', 'is private (10.0.0.0/8)'],
    ['172.31.255.255', 'is private (172.16.0.0/12)'],
    ['192.168.1.10', 'is private (192.168.0.0/16)'],
    ['127.0.0.1', 'is loopback (127.0.0.0/8)'],
    ['169.254.1.1', 'is link-local (169.254.0.0/16)'],
    ['100.64.0.1', 'is carrier-grade NAT, not a static public address (100.64.0.0/10)'],
    ['0.0.0.0', '(0.0.0.0/8)'],
    ['224.0.0.1', 'is multicast (224.0.0.0/4)'],
    ['255.255.255.255', 'is the broadcast address'],
    ['240.0.0.1', '(240.0.0.0/4)'],
    ['203.0.113.7', 'is reserved (documentation, benchmarking or other special use) (203.0.113.0/24)'],
    ['198.51.100.1', '(198.51.100.0/24)'],
    ['192.0.2.1', '(192.0.2.0/24)'],
    ['192.0.0.8', '(192.0.0.0/24)'],
    ['198.18.0.1', '(198.18.0.0/15)'],
    // IPv6 special-purpose registry
    ['::1', 'is loopback (::1/128)'],
    ['::', 'is unspecified'],
    ['fd12:3456::1', 'is unique-local, i.e. private (fc00::/7)'],
    ['fe80::1', 'is link-local (fe80::/10)'],
    ['ff02::1', 'is multicast (ff00::/8)'],
    ['2001:db8::1', '(2001:db8::/32)'],
    ['2001::1', 'is a Teredo tunnel address, not a static public address (2001::/32)'],
    ['100::1', 'is a discard-only prefix (100::/64)'],
    // IPv4 inside IPv6
    ['::ffff:192.168.0.1', 'is an IPv4-mapped address that is private (192.168.0.0/16)'],
    ['::ffff:c0a8:1', 'is an IPv4-mapped address that is private (192.168.0.0/16)'],
    ['64:ff9b::10.0.0.1', 'is a NAT64 address that embeds an IPv4 address (64:ff9b::/96), and the IPv4 address in it, 10.0.0.1, is private'],
    ['64:ff9b::8.8.8.8', 'is a NAT64 address that embeds an IPv4 address (64:ff9b::/96): allowlist the IPv4 address 8.8.8.8 itself'],
    ['2002:0a00:0001::1', 'is a 6to4 address that embeds an IPv4 address (2002::/16), and the IPv4 address in it, 10.0.0.1, is private'],
    ['2002:0808:0808::1', '(2002::/16): allowlist the IPv4 address 8.8.8.8 itself'],
    ['::10.0.0.1', 'is an IPv4-compatible address (::/96, deprecated), and the IPv4 address in it, 10.0.0.1, is private'],
    ['::8.8.8.8', 'is an IPv4-compatible address (::/96, deprecated): allowlist the IPv4 address 8.8.8.8 itself'],
    ['::ffff:0:1.2.3.4', 'is an IPv4-translated address'],
    // Not an address
    ['10.0.0.0/8', 'is a range'],
    ['256.1.1.1', 'not an IPv4 or IPv6 address'],
    ['1.2.3', 'not an IPv4 or IPv6 address'],
    ['127.1', 'not an IPv4 or IPv6 address'],
    ['0x7f.0.0.1', 'not an IPv4 or IPv6 address'],
    ['fe80::1%eth0', 'not an IPv4 or IPv6 address'],
    ['example.com', 'not an IPv4 or IPv6 address'],
    ['', 'not an IPv4 or IPv6 address'],
    ['1.2.3.4; DROP', 'not an IPv4 or IPv6 address'],
  ])('refuses %s: %s', (ip, why) => {
    expect(ipProblem(ip)).toContain(why);
  });
});
