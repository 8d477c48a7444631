/**
 * Classification of IP addresses for outbound requests to user-given URLs (SSRF guard): the URL import
 * fetcher (modules/imports/fetcher.ts) and webhook sending (modules/webhooks/sender.ts).
 *
 * Policy:
 * - IPv4: everything is allowed except the special-purpose ranges in `V4_RULES`.
 * - IPv6: addresses that embed an IPv4 address (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96,
 *   6to4 2002::/16) are judged by the embedded IPv4 address. Then the special ranges in `V6_RULES` are
 *   refused, and anything outside global unicast 2000::/3 (unallocated or reserved space) is refused too.
 * - A string that is not an IP address is refused (fail closed).
 *
 * Each family has its own `net.BlockList`: a BlockList holding IPv6 rules also matches IPv4 addresses
 * through the IPv4-mapped form (and vice versa), so the two are never mixed, and embedded IPv4 addresses are
 * extracted explicitly instead of relying on that behaviour.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export type AddressVerdict =
  | { forbidden: false; address: string }
  | {
      forbidden: true;
      /** The address as given (without an IPv6 zone). */
      address: string;
      /** Phrase completing "<address> is …", e.g. "a loopback address", "the IPv4-mapped form of 127.0.0.1, a loopback address". */
      reason: string;
    };

type Rule = readonly [network: string, prefix: number, reason: string];

const PRIVATE = 'a private address';
const DOCUMENTATION = 'a documentation address';
const METADATA = 'the cloud metadata service address';

/** Order matters only for the reason given: the first matching rule names the range. */
const V4_RULES: readonly Rule[] = [
  ['169.254.169.254', 32, METADATA],
  ['255.255.255.255', 32, 'the broadcast address'],
  ['0.0.0.0', 8, 'a "this network" address'],
  ['10.0.0.0', 8, PRIVATE],
  ['100.64.0.0', 10, 'a carrier-grade NAT (shared) address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local address'],
  ['172.16.0.0', 12, PRIVATE],
  ['192.0.0.0', 24, 'an IETF protocol assignment address'],
  ['192.0.2.0', 24, DOCUMENTATION],
  ['192.168.0.0', 16, PRIVATE],
  ['198.18.0.0', 15, 'a benchmarking address'],
  ['198.51.100.0', 24, DOCUMENTATION],
  ['203.0.113.0', 24, DOCUMENTATION],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved address'],
];

const V6_RULES: readonly Rule[] = [
  ['fd00:ec2::254', 128, METADATA],
  ['::', 128, 'the unspecified address'],
  ['::1', 128, 'a loopback address'],
  // Deprecated IPv4-compatible addresses (::a.b.c.d); ::ffff:0:0/96 is handled before the rules.
  ['::', 96, 'a deprecated IPv4-compatible address'],
  ['64:ff9b:1::', 48, 'a local-use NAT64 address'],
  ['100::', 64, 'a discard-only address'],
  ['2001::', 32, 'a Teredo tunnel address'],
  ['2001:db8::', 32, DOCUMENTATION],
  ['fc00::', 7, 'a private (unique local) address'],
  ['fe80::', 10, 'a link-local address'],
  ['fec0::', 10, 'a site-local address'],
  ['ff00::', 8, 'a multicast address'],
];

interface CompiledRule {
  list: BlockList;
  reason: string;
}

function compile(rules: readonly Rule[], type: 'ipv4' | 'ipv6'): CompiledRule[] {
  return rules.map(([network, prefix, reason]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, type);
    return { list, reason };
  });
}

const V4 = compile(V4_RULES, 'ipv4');
const V6 = compile(V6_RULES, 'ipv6');
const GLOBAL_UNICAST = new BlockList();
GLOBAL_UNICAST.addSubnet('2000::', 3, 'ipv6');

/** Parses a valid IPv6 address (as accepted by `net.isIPv6`, zone already removed) into 8 16-bit groups. */
function parseIPv6(address: string): number[] {
  let text = address;
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups: rewrite it as hex.
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const [a, b, c, d] = last.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const toGroups = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const gap = text.indexOf('::');
  if (gap === -1) return toGroups(text);
  const head = toGroups(text.slice(0, gap));
  const rest = toGroups(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

function v4FromGroups(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

function classifyV4(address: string): string | null {
  for (const rule of V4) if (rule.list.check(address, 'ipv4')) return rule.reason;
  return null;
}

function classifyV6(address: string): string | null {
  const g = parseIPv6(address);
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);

  // Embedded IPv4: judge the IPv4 address actually reached.
  let embedded: { v4: string; kind: string } | null = null;
  if (zeros(0, 5) && g[5] === 0xffff) embedded = { v4: v4FromGroups(g[6]!, g[7]!), kind: 'IPv4-mapped' };
  else if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6))
    embedded = { v4: v4FromGroups(g[6]!, g[7]!), kind: 'NAT64' };
  else if (g[0] === 0x2002) embedded = { v4: v4FromGroups(g[1]!, g[2]!), kind: '6to4' };
  if (embedded) {
    const reason = classifyV4(embedded.v4);
    return reason === null ? null : `the ${embedded.kind} form of ${embedded.v4}, ${reason}`;
  }

  for (const rule of V6) if (rule.list.check(address, 'ipv6')) return rule.reason;
  if (!GLOBAL_UNICAST.check(address, 'ipv6')) return 'a reserved IPv6 address';
  return null;
}

/** Classifies one IP address (IPv4 or IPv6, optionally with a `%zone`, without brackets). */
export function classifyAddress(ip: string): AddressVerdict {
  const address = ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip;
  let reason: string | null;
  if (isIPv4(address)) reason = classifyV4(address);
  else if (isIPv6(address)) reason = classifyV6(address);
  else reason = 'not an IP address';
  return reason === null ? { forbidden: false, address } : { forbidden: true, address, reason };
}

/**
 * True when the fetcher must not connect to `ip`: loopback, private, link-local (incl. cloud metadata),
 * CGNAT, multicast, documentation, benchmarking, reserved and similar special-purpose ranges, IPv6
 * addresses embedding such an IPv4 address, and anything that is not a valid IP address.
 */
export function isForbiddenAddress(ip: string): boolean {
  return classifyAddress(ip).forbidden;
}
