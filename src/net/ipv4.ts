/**
 * IPv4 header codec (RFC 791). Pure: Buffer in, typed value or error out; nothing throws on
 * malformed input.
 */
import { checksum } from './checksum.js';

export interface Ipv4Header {
  ihl: number;        // header length in bytes
  tos: number;
  totalLength: number;
  id: number;
  df: boolean;
  mf: boolean;
  fragOffset: number; // in bytes
  ttl: number;
  protocol: number;
  checksum: number;
  src: number;
  dst: number;
}
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export const PROTO_ICMP = 1, PROTO_IPIP = 4, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_ESP = 50, PROTO_AH = 51;

export function parseIpv4(buf: Buffer, off = 0): Parsed<Ipv4Header> {
  if (buf.length - off < 20) return { ok: false, error: 'short-packet' };
  const vihl = buf[off]!;
  if (vihl >> 4 !== 4) return { ok: false, error: 'bad-version' };
  const ihl = (vihl & 15) * 4;
  if (ihl < 20 || buf.length - off < ihl) return { ok: false, error: 'bad-header-length' };
  const totalLength = buf.readUInt16BE(off + 2);
  if (totalLength < ihl || totalLength > buf.length - off) return { ok: false, error: 'bad-total-length' };
  const ff = buf.readUInt16BE(off + 6);
  return {
    ok: true,
    value: {
      ihl, tos: buf[off + 1]!, totalLength, id: buf.readUInt16BE(off + 4),
      df: (ff & 0x4000) !== 0, mf: (ff & 0x2000) !== 0, fragOffset: (ff & 0x1fff) * 8,
      ttl: buf[off + 8]!, protocol: buf[off + 9]!, checksum: buf.readUInt16BE(off + 10),
      src: buf.readUInt32BE(off + 12), dst: buf.readUInt32BE(off + 16),
    },
  };
}

export function ipv4ChecksumOk(buf: Buffer, off = 0): boolean {
  const ihl = (buf[off]! & 15) * 4;
  return checksum(buf, off, off + ihl) === 0;
}

export interface Ipv4Fields { tos?: number; id?: number; df?: boolean; mf?: boolean; fragOffset?: number; ttl?: number; protocol: number; src: number; dst: number }

/**
 * Ipv4Fields in its one full shape, every property present. writeIpv4Header's property loads are
 * shared by every caller: objects of many partial shapes (spreads, missing df/mf/fragOffset) made
 * them megamorphic, and each load of a missing property a slow lookup (about 1 us a header,
 * docs/performance.md 2026-12-08). The per-packet paths (ESP and AH seals and opens, fragmentation,
 * reassembly) build their headers with this.
 */
export function ipv4Fields(protocol: number, src: number, dst: number, tos = 0, id = 0, ttl = 64, df = false, mf = false, fragOffset = 0): Required<Ipv4Fields> {
  return { tos, id, df, mf, fragOffset, ttl, protocol, src, dst };
}

/** Write a 20-byte header at `off` for a packet of `totalLength` bytes, checksum included. */
export function writeIpv4Header(buf: Buffer, off: number, f: Ipv4Fields, totalLength: number): void {
  buf[off] = 0x45;
  buf[off + 1] = f.tos ?? 0;
  buf.writeUInt16BE(totalLength, off + 2);
  buf.writeUInt16BE(f.id ?? 0, off + 4);
  buf.writeUInt16BE((f.df ? 0x4000 : 0) | (f.mf ? 0x2000 : 0) | ((f.fragOffset ?? 0) >> 3), off + 6);
  buf[off + 8] = f.ttl ?? 64;
  buf[off + 9] = f.protocol;
  buf.writeUInt16BE(0, off + 10);
  buf.writeUInt32BE(f.src >>> 0, off + 12);
  buf.writeUInt32BE(f.dst >>> 0, off + 16);
  buf.writeUInt16BE(checksum(buf, off, off + 20), off + 10);
}

/** Build header + payload as a new packet. */
export function buildIpv4(f: Ipv4Fields, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(20 + payload.length);
  writeIpv4Header(out, 0, f, out.length);
  payload.copy(out, 20);
  return out;
}

/** Recompute the header checksum in place. */
export function fixIpv4Checksum(buf: Buffer, off = 0): void {
  const ihl = (buf[off]! & 15) * 4;
  buf.writeUInt16BE(0, off + 10);
  buf.writeUInt16BE(checksum(buf, off, off + ihl), off + 10);
}
