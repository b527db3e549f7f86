/** Small helpers the stages share: reading IPv4 fields in place, and trace text. */
import { intToIp } from '../../net/ip.js';
import { PROTOCOL_NAMES } from '../../net/names.js';

export const ipLen = (b: Buffer, o: number) => (b[o + 2]! << 8) | b[o + 3]!;
export const ipSrc = (b: Buffer, o: number) => b.readUInt32BE(o + 12);
export const ipDst = (b: Buffer, o: number) => b.readUInt32BE(o + 16);
/** One line about an IPv4 packet, for traces. */
export function describeIp(b: Buffer, o: number): string {
  const proto = b[o + 9]!;
  return `${intToIp(ipSrc(b, o))} > ${intToIp(ipDst(b, o))} ${PROTOCOL_NAMES[proto] ?? `proto ${proto}`}, ttl ${b[o + 8]}, length ${ipLen(b, o)}`;
}
export const macText = (b: Buffer, at: number) => Array.from(b.subarray(at, at + 6), x => x.toString(16).padStart(2, '0')).join(':');

/**
 * Decrement a forwarded packet's TTL in place (every buffer in the PFE is its own), with the
 * incremental checksum update of RFC 1624; false (nothing changed) when it expires here.
 */
export function decrementTtl(p: { buf: Buffer; l3: number }): boolean {
  const b = p.buf, o = p.l3, ttl = b[o + 8]!;
  if (ttl <= 1) return false;
  b[o + 8] = ttl - 1;
  // TTL is the high byte of its 16-bit word
  let sum = (~((b[o + 10]! << 8) | b[o + 11]!) & 0xffff) + (~(ttl << 8) & 0xffff) + ((ttl - 1) << 8);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  b[o + 10] = c >> 8; b[o + 11] = c & 255;
  return true;
}
