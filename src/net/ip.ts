/** IPv4 address helpers on uint32 numbers (the hot paths never touch strings). */
import ipaddr from 'ipaddr.js';

/** Is `s` an IPv4 address in dotted-quad form? Leading zeros are refused (`010.1.1.1` is not 8.1.1.1), as JUNOS does. */
export function isIpv4(s: string): boolean { return ipaddr.IPv4.isValidFourPartDecimal(s); }

/** An IPv4 address as a uint32; throws on anything but a dotted quad (validate user input with isIpv4 first). */
export function ipToInt(s: string): number {
  if (!isIpv4(s)) throw new Error(`invalid IPv4 address '${s}'`);
  const b = ipaddr.IPv4.parse(s).octets;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}
export function intToIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
export function maskOf(len: number): number { return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0; }

export interface Prefix { addr: number; len: number }
export function parsePrefix(s: string): Prefix {
  const [a, l] = s.includes('/') ? s.split('/') : [s, '32'];
  const len = Number(l);
  return { addr: (ipToInt(a!) & maskOf(len)) >>> 0, len };
}
export function prefixContains(p: Prefix, ip: number): boolean {
  return ((ip & maskOf(p.len)) >>> 0) === p.addr;
}
/** The first of `addrs` whose subnet holds `ip` (an interface's address toward a neighbour). */
export function onSubnet<T extends { prefix: Prefix }>(addrs: readonly T[], ip: number): T | undefined {
  for (const a of addrs) if (prefixContains(a.prefix, ip)) return a;
  return undefined;
}
export const prefixStr = (p: Prefix) => `${intToIp(p.addr)}/${p.len}`;
