/** Ethernet II and ARP (RFC 826) codecs. */
import type { Parsed } from './ipv4.js';

export const ETH_IPV4 = 0x0800, ETH_ARP = 0x0806;
export const BROADCAST = Buffer.from('ffffffffffff', 'hex');
export interface EthFrame { dst: Buffer; src: Buffer; type: number; payload: Buffer }

export function parseEth(f: Buffer): Parsed<EthFrame> {
  if (f.length < 14) return { ok: false, error: 'short-frame' };
  return { ok: true, value: { dst: f.subarray(0, 6), src: f.subarray(6, 12), type: f.readUInt16BE(12), payload: f.subarray(14) } };
}
export function buildEth(dst: Buffer, src: Buffer, type: number, payload: Buffer): Buffer {
  const f = Buffer.allocUnsafe(14 + payload.length);
  dst.copy(f, 0); src.copy(f, 6); f.writeUInt16BE(type, 12); payload.copy(f, 14);
  return f;
}
export const macStr = (m: Buffer) => [...m].map(b => b.toString(16).padStart(2, '0')).join(':');
export const macFrom = (s: string) => Buffer.from(s.replace(/:/g, ''), 'hex');

export interface Arp { op: 1 | 2; sha: Buffer; spa: number; tha: Buffer; tpa: number }
export function parseArp(p: Buffer): Parsed<Arp> {
  if (p.length < 28) return { ok: false, error: 'short-packet' };
  if (p.readUInt16BE(0) !== 1 || p.readUInt16BE(2) !== ETH_IPV4 || p[4] !== 6 || p[5] !== 4) return { ok: false, error: 'unsupported' };
  const op = p.readUInt16BE(6);
  if (op !== 1 && op !== 2) return { ok: false, error: 'bad-op' };
  return { ok: true, value: { op, sha: p.subarray(8, 14), spa: p.readUInt32BE(14), tha: p.subarray(18, 24), tpa: p.readUInt32BE(24) } };
}
export function buildArp(a: Arp): Buffer {
  const p = Buffer.alloc(28);
  p.writeUInt16BE(1, 0); p.writeUInt16BE(ETH_IPV4, 2); p[4] = 6; p[5] = 4; p.writeUInt16BE(a.op, 6);
  a.sha.copy(p, 8); p.writeUInt32BE(a.spa >>> 0, 14); a.tha.copy(p, 18); p.writeUInt32BE(a.tpa >>> 0, 24);
  return p;
}
