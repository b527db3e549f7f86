/** ICMP (RFC 792), UDP (RFC 768) and TCP (RFC 793) codecs with checksums. */
import { checksum, csumPartial, csumFinish } from './checksum.js';
import type { Parsed, Ipv4Header } from './ipv4.js';

export const ICMP_ECHO_REPLY = 0, ICMP_UNREACH = 3, ICMP_ECHO = 8, ICMP_TIME_EXCEEDED = 11;
export const UNREACH_NET = 0, UNREACH_HOST = 1, UNREACH_PROTO = 2, UNREACH_PORT = 3, UNREACH_NEEDFRAG = 4, UNREACH_ADMIN = 13;

export interface Icmp { type: number; code: number; rest: number; data: Buffer }
export function parseIcmp(p: Buffer): Parsed<Icmp> {
  if (p.length < 8) return { ok: false, error: 'short-packet' };
  if (checksum(p) !== 0) return { ok: false, error: 'bad-checksum' };
  return { ok: true, value: { type: p[0]!, code: p[1]!, rest: p.readUInt32BE(4), data: p.subarray(8) } };
}
export function buildIcmp(type: number, code: number, rest: number, data: Buffer): Buffer {
  const p = Buffer.allocUnsafe(8 + data.length);
  p[0] = type; p[1] = code; p.writeUInt16BE(0, 2); p.writeUInt32BE(rest >>> 0, 4); data.copy(p, 8);
  p.writeUInt16BE(checksum(p), 2);
  return p;
}

function pseudo(h: Pick<Ipv4Header, 'src' | 'dst'>, proto: number, len: number): number {
  return (h.src >>> 16) + (h.src & 0xffff) + (h.dst >>> 16) + (h.dst & 0xffff) + proto + len;
}

export interface Udp { srcPort: number; dstPort: number; length: number; data: Buffer }
export function parseUdp(p: Buffer, h?: Pick<Ipv4Header, 'src' | 'dst'>): Parsed<Udp> {
  if (p.length < 8) return { ok: false, error: 'short-packet' };
  const length = p.readUInt16BE(4);
  if (length < 8 || length > p.length) return { ok: false, error: 'bad-length' };
  if (h && p.readUInt16BE(6) !== 0 && csumFinish(csumPartial(p, 0, length, pseudo(h, 17, length))) !== 0) return { ok: false, error: 'bad-checksum' };
  return { ok: true, value: { srcPort: p.readUInt16BE(0), dstPort: p.readUInt16BE(2), length, data: p.subarray(8, length) } };
}
export function buildUdp(h: Pick<Ipv4Header, 'src' | 'dst'>, srcPort: number, dstPort: number, data: Buffer): Buffer {
  const p = Buffer.allocUnsafe(8 + data.length);
  p.writeUInt16BE(srcPort, 0); p.writeUInt16BE(dstPort, 2); p.writeUInt16BE(p.length, 4); p.writeUInt16BE(0, 6);
  data.copy(p, 8);
  const c = csumFinish(csumPartial(p, 0, p.length, pseudo(h, 17, p.length)));
  p.writeUInt16BE(c === 0 ? 0xffff : c, 6);
  return p;
}

export interface Tcp { srcPort: number; dstPort: number; seq: number; ack: number; dataOffset: number; flags: number; window: number; data: Buffer }
export function parseTcp(p: Buffer, h?: Pick<Ipv4Header, 'src' | 'dst'>): Parsed<Tcp> {
  if (p.length < 20) return { ok: false, error: 'short-packet' };
  const dataOffset = (p[12]! >> 4) * 4;
  if (dataOffset < 20 || dataOffset > p.length) return { ok: false, error: 'bad-offset' };
  if (h && csumFinish(csumPartial(p, 0, p.length, pseudo(h, 6, p.length))) !== 0) return { ok: false, error: 'bad-checksum' };
  return { ok: true, value: { srcPort: p.readUInt16BE(0), dstPort: p.readUInt16BE(2), seq: p.readUInt32BE(4), ack: p.readUInt32BE(8), dataOffset, flags: p[13]!, window: p.readUInt16BE(14), data: p.subarray(dataOffset) } };
}
export function buildTcp(h: Pick<Ipv4Header, 'src' | 'dst'>, t: Omit<Tcp, 'dataOffset'>): Buffer {
  const p = Buffer.alloc(20 + t.data.length);
  p.writeUInt16BE(t.srcPort, 0); p.writeUInt16BE(t.dstPort, 2); p.writeUInt32BE(t.seq >>> 0, 4); p.writeUInt32BE(t.ack >>> 0, 8);
  p[12] = 5 << 4; p[13] = t.flags; p.writeUInt16BE(t.window, 14);
  t.data.copy(p, 20);
  p.writeUInt16BE(csumFinish(csumPartial(p, 0, p.length, pseudo(h, 6, p.length))), 16);
  return p;
}
