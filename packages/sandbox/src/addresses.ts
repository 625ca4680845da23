/**
 * What kind of address an egress connection would reach (docs/sandbox.md#egress): the public
 * internet, or somewhere a sandboxed agent must not wander into by a wildcard entry or a
 * rebinding name (this machine, the local network, a cloud's metadata service at 169.254.169.254).
 * IPv4-mapped IPv6 (`::ffff:127.0.0.1`) and NAT64 (`64:ff9b::7f00:1`) addresses are judged by the
 * IPv4 address they carry.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved';

const RANGES: Array<[AddressClass, string, number, 'ipv4' | 'ipv6']> = [
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '100.64.0.0', 10, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['reserved', '192.0.2.0', 24, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['private', '198.18.0.0', 15, 'ipv4'],
  ['reserved', '198.51.100.0', 24, 'ipv4'],
  ['reserved', '203.0.113.0', 24, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  // IPv4-compatible (deprecated) addresses and the discard prefix.
  ['reserved', '::', 96, 'ipv6'],
  ['reserved', '100::', 64, 'ipv6'],
  ['reserved', '2001:db8::', 32, 'ipv6'],
  ['private', 'fc00::', 7, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
];

// Made at the first use, not at load: a BlockList is a native handle, which the daemon's start-up snapshot cannot hold.
let LISTS: Map<AddressClass, BlockList> | undefined;
function lists(): Map<AddressClass, BlockList> {
  if (LISTS) return LISTS;
  LISTS = new Map();
  for (const [kind, net, prefix, type] of RANGES) {
    const list = LISTS.get(kind) ?? new BlockList();
    LISTS.set(kind, list);
    list.addSubnet(net, prefix, type);
  }
  return LISTS;
}
// Most specific first: `::1` and `::` before the IPv4-compatible `::/96`.
const ORDER: AddressClass[] = ['loopback', 'unspecified', 'link-local', 'private', 'multicast', 'reserved'];

/** An IPv6 address's eight 16-bit groups (a dotted IPv4 tail read as two), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The IPv4 address an IPv6 one carries (mapped `::ffff:a.b.c.d`, or NAT64 `64:ff9b::/96`), else undefined. */
function embeddedIPv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (!g) return undefined;
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (!mapped && !nat64) return undefined;
  return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
}

/** `public` for an address on the internet; otherwise what it is. Anything that is not an IP address is `reserved`. */
export function addressClass(address: string): AddressClass {
  const v4 = isIPv4(address) ? address : isIPv6(address) ? embeddedIPv4(address) : undefined;
  const [ip, type] = v4 !== undefined ? [v4, 'ipv4' as const] : isIPv6(address) ? [address, 'ipv6' as const] : [undefined, undefined];
  if (ip === undefined || type === undefined) return 'reserved';
  const all = lists();
  for (const kind of ORDER) if (all.get(kind)!.check(ip, type)) return kind;
  return 'public';
}

const WORDS: Record<Exclude<AddressClass, 'public'>, string> = {
  loopback: 'a loopback address: this machine',
  unspecified: 'an unspecified address: this machine',
  'link-local': 'a link-local address (the local link, a cloud metadata service)',
  private: 'a private address: the local network',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
};

/** `127.0.0.1 (a loopback address: this machine)`, for a refusal or a person's request. */
export function describeAddress(address: string): string {
  const kind = addressClass(address);
  return kind === 'public' ? address : `${address} (${WORDS[kind]})`;
}

/** True for an address of this machine: loopback, unspecified, or one of its interfaces' addresses. */
export function isThisMachine(address: string): boolean {
  const kind = addressClass(address);
  if (kind === 'loopback' || kind === 'unspecified') return true;
  const v4 = isIPv6(address) ? embeddedIPv4(address) : undefined;
  const wanted = (v4 ?? address).toLowerCase().replace(/%.*$/, '');
  for (const list of Object.values(networkInterfaces())) {
    for (const nic of list ?? []) if (nic.address.toLowerCase().replace(/%.*$/, '') === wanted) return true;
  }
  return false;
}
