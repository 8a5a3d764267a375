/**
 * Allow-lists: addresses and CIDR blocks, IPv4 and IPv6. An IPv4-mapped IPv6
 * address (`::ffff:127.0.0.1`, as a dual-stack listener reports IPv4 peers)
 * is matched as its IPv4 address, and a mapped entry as its IPv4 block.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { CairnError } from '../plugin-api/index.js';

interface Block {
  v4: boolean;
  bits: bigint;
  prefix: number;
}

function v4Bits(a: string): bigint {
  return a.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}

function v6Bits(a: string): bigint {
  let s = a;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted IPv4 part (::ffff:1.2.3.4) becomes two hex groups.
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) {
    const v = v4Bits(m[2]);
    s = `${m[1]}${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** An address as bits, IPv4-mapped IPv6 folded to IPv4; null if not an IP address. */
function addressBits(addr: string): { v4: boolean; bits: bigint } | null {
  if (isIPv4(addr)) return { v4: true, bits: v4Bits(addr) };
  if (!isIPv6(addr)) return null;
  const bits = v6Bits(addr);
  if (bits >> 32n === 0xffffn) return { v4: true, bits: bits & 0xffffffffn };
  return { v4: false, bits };
}

export function parseBlock(entry: string): Block {
  const [addr, len, extra] = entry.trim().split('/');
  const a = addressBits(addr);
  if (!a || extra !== undefined) throw new CairnError('CAIRN_E_NET_CONFIG', `"${entry}" is not an IP address or CIDR block.`, { entry });
  const mappedV6 = !isIPv4(addr) && a.v4; // ::ffff:10.0.0.0/104 is 10.0.0.0/8
  const width = a.v4 ? 32 : 128;
  let prefix = width;
  if (len !== undefined) {
    if (!/^\d{1,3}$/.test(len)) throw new CairnError('CAIRN_E_NET_CONFIG', `"${entry}": the prefix length is not a number.`, { entry });
    prefix = Number(len) - (mappedV6 ? 96 : 0);
    if (prefix < 0 || prefix > width) throw new CairnError('CAIRN_E_NET_CONFIG', `"${entry}": prefix length out of range.`, { entry });
  }
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(width - prefix);
  return { v4: a.v4, bits: a.bits & mask, prefix };
}

function inBlock(b: Block, a: { v4: boolean; bits: bigint }): boolean {
  if (b.v4 !== a.v4) return false;
  const width = b.v4 ? 32 : 128;
  const mask = b.prefix === 0 ? 0n : ((1n << BigInt(b.prefix)) - 1n) << BigInt(width - b.prefix);
  return (a.bits & mask) === b.bits;
}

/** Compiles an allow-list; throws CAIRN_E_NET_CONFIG naming a malformed entry. */
export function allowList(entries: readonly string[]): (address: string) => boolean {
  const blocks = entries.map(parseBlock);
  return (address) => {
    const a = addressBits(address);
    return a !== null && blocks.some((b) => inBlock(b, a));
  };
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = addressBits(address);
  if (!a) return false;
  return a.v4 ? a.bits >> 24n === 127n : a.bits === 1n;
}
