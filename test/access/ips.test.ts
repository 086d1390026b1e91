// Which addresses may be allowlisted.
import { describe, expect, it } from 'vitest';
import { ipProblem } from '../../src/access/ips.js';

describe('ipProblem', () => {
  it.each(['203.0.113.7', '8.8.8.8', '52.95.110.1', '2001:db8::1', '2a00:1450:4001:81b::200e', '::ffff:8.8.8.8'])('accepts %s', (ip) => {
    expect(ipProblem(ip)).toBeUndefined();
  });

  it.each([
    ['10.1.2.3', 'private (10.0.0.0/8)'],
    ['172.16.0.1', 'private (172.16.0.0/12)'],
    ['172.31.255.255', 'private (172.16.0.0/12)'],
    ['192.168.1.10', 'private (192.168.0.0/16)'],
    ['127.0.0.1', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', '"this network"'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback (::1)'],
    ['::', 'unspecified'],
    ['fd12:3456::1', 'unique-local'],
    ['fe80::1', 'link-local (fe80::/10)'],
    ['ff02::1', 'multicast'],
    ['::ffff:192.168.0.1', 'IPv4-mapped address that is private'],
    ['10.0.0.0/8', 'is a range'],
    ['256.1.1.1', 'not an IPv4 or IPv6 address'],
    ['1.2.3', 'not an IPv4 or IPv6 address'],
    ['example.com', 'not an IPv4 or IPv6 address'],
    ['', 'not an IPv4 or IPv6 address'],
    ['1.2.3.4; DROP', 'not an IPv4 or IPv6 address'],
  ])('refuses %s as %s', (ip, why) => {
    expect(ipProblem(ip)).toContain(why);
  });

  it('accepts the edges of private ranges that are public', () => {
    expect(ipProblem('172.15.255.255')).toBeUndefined();
    expect(ipProblem('172.32.0.0')).toBeUndefined();
    expect(ipProblem('11.0.0.0')).toBeUndefined();
  });
});
