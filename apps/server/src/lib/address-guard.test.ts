import { describe, expect, it } from 'vitest';
import { classifyAddress, isForbiddenAddress } from './address-guard';

// [address, forbidden]: first/last address of every range plus the neighbours just outside it.
const IPV4: ReadonlyArray<readonly [string, boolean]> = [
  // 0.0.0.0/8 "this network"
  ['0.0.0.0', true],
  ['0.255.255.255', true],
  ['1.0.0.0', false],
  // 10/8
  ['9.255.255.255', false],
  ['10.0.0.0', true],
  ['10.0.0.1', true],
  ['10.255.255.255', true],
  ['11.0.0.0', false],
  // 100.64/10 CGNAT
  ['100.63.255.255', false],
  ['100.64.0.0', true],
  ['100.127.255.255', true],
  ['100.128.0.0', false],
  // 127/8
  ['126.255.255.255', false],
  ['127.0.0.1', true],
  ['127.0.0.2', true],
  ['127.255.255.255', true],
  ['128.0.0.0', false],
  // 169.254/16 link-local and metadata
  ['169.253.255.255', false],
  ['169.254.0.0', true],
  ['169.254.169.254', true],
  ['169.254.255.255', true],
  ['169.255.0.0', false],
  // 172.16/12
  ['172.15.255.255', false],
  ['172.16.0.0', true],
  ['172.31.255.255', true],
  ['172.32.0.0', false],
  // 192.0.0/24 and 192.0.2/24
  ['191.255.255.255', false],
  ['192.0.0.0', true],
  ['192.0.0.255', true],
  ['192.0.1.0', false],
  ['192.0.2.0', true],
  ['192.0.2.255', true],
  ['192.0.3.0', false],
  // 192.168/16
  ['192.167.255.255', false],
  ['192.168.0.0', true],
  ['192.168.1.1', true],
  ['192.168.255.255', true],
  ['192.169.0.0', false],
  // 198.18/15
  ['198.17.255.255', false],
  ['198.18.0.0', true],
  ['198.19.255.255', true],
  ['198.20.0.0', false],
  // 198.51.100/24
  ['198.51.99.255', false],
  ['198.51.100.0', true],
  ['198.51.100.255', true],
  ['198.51.101.0', false],
  // 203.0.113/24
  ['203.0.112.255', false],
  ['203.0.113.0', true],
  ['203.0.113.255', true],
  ['203.0.114.0', false],
  // 224/4 multicast, 240/4 reserved, broadcast
  ['223.255.255.255', false],
  ['224.0.0.0', true],
  ['224.0.0.251', true],
  ['239.255.255.255', true],
  ['240.0.0.0', true],
  ['255.255.255.254', true],
  ['255.255.255.255', true],
  // public
  ['8.8.8.8', false],
  ['1.1.1.1', false],
  ['93.184.216.34', false],
  ['151.101.1.69', false],
];

const IPV6: ReadonlyArray<readonly [string, boolean]> = [
  // unspecified, loopback (several spellings)
  ['::', true],
  ['::1', true],
  ['0:0:0:0:0:0:0:1', true],
  ['0000:0000:0000:0000:0000:0000:0000:0001', true],
  // deprecated IPv4-compatible ::a.b.c.d
  ['::8.8.8.8', true],
  ['::2', true],
  // IPv4-mapped ::ffff:0:0/96: judged by the embedded IPv4
  ['::ffff:127.0.0.1', true],
  ['::ffff:7f00:1', true],
  ['0:0:0:0:0:ffff:7f00:1', true],
  ['::ffff:10.0.0.1', true],
  ['::ffff:169.254.169.254', true],
  ['::ffff:a9fe:a9fe', true],
  ['::ffff:0.0.0.0', true],
  ['::ffff:100.64.0.1', true],
  ['::ffff:255.255.255.255', true],
  ['::ffff:8.8.8.8', false],
  ['::FFFF:8.8.8.8', false],
  ['::ffff:808:808', false],
  // NAT64 64:ff9b::/96: judged by the embedded IPv4
  ['64:ff9b::127.0.0.1', true],
  ['64:ff9b::7f00:1', true],
  ['64:ff9b::10.0.0.1', true],
  ['64:ff9b::a9fe:a9fe', true],
  ['64:ff9b::192.168.0.1', true],
  ['64:ff9b::8.8.8.8', false],
  ['64:ff9b::808:808', false],
  // local-use NAT64 64:ff9b:1::/48
  ['64:ff9b:1::8.8.8.8', true],
  // 6to4 2002::/16: judged by the embedded IPv4
  ['2002:7f00:1::1', true],
  ['2002:a00:1::', true],
  ['2002:808:808::1', false],
  // 2001:db8::/32 documentation
  ['2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', false],
  ['2001:db8::', true],
  ['2001:db8::1', true],
  ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
  ['2001:db9::', false],
  // Teredo 2001::/32
  ['2001::1', true],
  // fc00::/7 ULA, incl. AWS metadata fd00:ec2::254
  ['fc00::', true],
  ['fc00::1', true],
  ['fd12:3456:789a::1', true],
  ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
  ['fd00:ec2::254', true],
  // fe80::/10 link-local (with and without zone), fec0::/10 site-local
  ['fe80::', true],
  ['fe80::1', true],
  ['fe80::1%eth0', true],
  ['febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
  ['fec0::1', true],
  // ff00::/8 multicast
  ['ff00::', true],
  ['ff02::1', true],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
  // discard-only, outside global unicast (reserved)
  ['100::1', true],
  ['1000::1', true],
  ['4000::1', true],
  // public
  ['2606:4700:4700::1111', false],
  ['2001:4860:4860::8888', false],
  ['2a00:1450:4001:80b::200e', false],
  ['2000::1', false],
  ['3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', false],
];

const NOT_IPS = [
  '',
  'localhost',
  'example.com',
  '[::1]',
  '127.1',
  '1.2.3',
  '256.1.1.1',
  '01.2.3.4',
  ':::1',
  'fe80::1%',
];

describe('isForbiddenAddress', () => {
  it.each(IPV4)('IPv4 %s → forbidden=%s', (ip, expected) => {
    expect(isForbiddenAddress(ip)).toBe(expected);
  });

  it.each(IPV6)('IPv6 %s → forbidden=%s', (ip, expected) => {
    expect(isForbiddenAddress(ip)).toBe(expected);
  });

  it.each(NOT_IPS)('fails closed on %j (not an IP address)', (value) => {
    expect(isForbiddenAddress(value)).toBe(true);
  });
});

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['10.0.0.1', 'a private address'],
    ['100.64.1.1', 'a carrier-grade NAT (shared) address'],
    ['169.254.169.254', 'the cloud metadata service address'],
    ['169.254.1.1', 'a link-local address'],
    ['224.0.0.1', 'a multicast address'],
    ['255.255.255.255', 'the broadcast address'],
    ['::1', 'a loopback address'],
    ['::ffff:7f00:1', 'the IPv4-mapped form of 127.0.0.1, a loopback address'],
    ['64:ff9b::a9fe:a9fe', 'the NAT64 form of 169.254.169.254, the cloud metadata service address'],
    ['fd00:ec2::254', 'the cloud metadata service address'],
    ['fd00::1', 'a private (unique local) address'],
    ['fe80::1%eth0', 'a link-local address'],
  ])('names the range of %s', (ip, reason) => {
    expect(classifyAddress(ip)).toEqual({ forbidden: true, address: ip.split('%')[0], reason });
  });

  it('reports public addresses as allowed', () => {
    expect(classifyAddress('8.8.8.8')).toEqual({ forbidden: false, address: '8.8.8.8' });
    expect(classifyAddress('::ffff:8.8.8.8')).toEqual({ forbidden: false, address: '::ffff:8.8.8.8' });
  });
});
