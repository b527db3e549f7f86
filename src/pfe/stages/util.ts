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
