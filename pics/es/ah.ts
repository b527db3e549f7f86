/**
 * AH (RFC 4302; RFC 2402 wire format) on IPv4. The ICV covers the IP header with its mutable
 * fields zeroed (RFC 4302 3.3.3.1.1.1: TOS, flags and fragment offset, TTL, checksum), the AH
 * header with the ICV field zeroed, and the payload.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AuthSpec } from './algorithms.js';
import { writeIpv4Header, ipv4Fields, Ipv4Fields, PROTO_AH } from '../../src/net/ipv4.js';

export interface AhKeys { spi: number; auth: { spec: AuthSpec; key: Buffer } }
export type AhOpenResult = { ok: true; payload: Buffer; nextHeader: number; seq: number; ahEnd: number } | { ok: false; reason: 'short-packet' | 'bad-icv' | 'malformed' };

export const ahLength = (k: AhKeys) => 12 + k.auth.spec.icvLen;

function mutableZeroed(hdr: Buffer): Buffer {
  const z = Buffer.from(hdr);
  z[1] = 0;                 // TOS
  z.writeUInt16BE(0, 6);    // flags + fragment offset
  z[8] = 0;                 // TTL
  z.writeUInt16BE(0, 10);   // checksum
  return z;
}

/** Build an IPv4 packet: header `ip` (protocol becomes AH) + AH + payload. */
export function ahSeal(k: AhKeys, seq: number, ip: Omit<Ipv4Fields, 'protocol'>, payload: Buffer, nextHeader: number): Buffer {
  const ahLen = ahLength(k);
  const icvLen = k.auth.spec.icvLen;
  const out = Buffer.allocUnsafe(20 + ahLen + payload.length);
  writeIpv4Header(out, 0, ipv4Fields(PROTO_AH, ip.src, ip.dst, ip.tos, ip.id, ip.ttl, ip.df, ip.mf, ip.fragOffset), out.length);
  out[20] = nextHeader;
  out[21] = ahLen / 4 - 2;
  out.writeUInt16BE(0, 22);
  out.writeUInt32BE(k.spi >>> 0, 24);
  out.writeUInt32BE(seq >>> 0, 28);
  out.fill(0, 32, 32 + icvLen);
  payload.copy(out, 20 + ahLen);
  const h = createHmac(k.auth.spec.digest, k.auth.key);
  h.update(mutableZeroed(out.subarray(0, 20)));
  h.update(out.subarray(20));
  h.digest().copy(out, 32, 0, icvLen);
  return out;
}

/** Verify the AH of an IPv4 packet (header at 0, AH right after it). */
export function ahOpen(k: AhKeys, pkt: Buffer): AhOpenResult {
  const ihl = (pkt[0]! & 15) * 4;
  const icvLen = k.auth.spec.icvLen;
  if (pkt.length < ihl + 12) return { ok: false, reason: 'short-packet' };
  const ahLen = (pkt[ihl + 1]! + 2) * 4;
  if (ahLen !== 12 + icvLen) return { ok: false, reason: 'malformed' };
  if (pkt.length < ihl + ahLen) return { ok: false, reason: 'short-packet' };
  const h = createHmac(k.auth.spec.digest, k.auth.key);
  h.update(mutableZeroed(pkt.subarray(0, ihl)));
  h.update(pkt.subarray(ihl, ihl + 12));
  h.update(Buffer.alloc(icvLen));
  h.update(pkt.subarray(ihl + ahLen));
  const icv = h.digest().subarray(0, icvLen);
  if (!timingSafeEqual(icv, pkt.subarray(ihl + 12, ihl + 12 + icvLen))) return { ok: false, reason: 'bad-icv' };
  return { ok: true, payload: pkt.subarray(ihl + ahLen), nextHeader: pkt[ihl]!, seq: pkt.readUInt32BE(ihl + 8), ahEnd: ihl + ahLen };
}
