/** IPv4 address helpers on uint32 numbers (the hot paths never touch strings). */
import ipaddr from 'ipaddr.js';

export function ipToInt(s: string): number {
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
export const prefixStr = (p: Prefix) => `${intToIp(p.addr)}/${p.len}`;
