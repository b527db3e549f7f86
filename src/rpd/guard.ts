/**
 * TCP 179 for the Routing Engine: a SYN from an address that is no configured neighbor is answered
 * with a reset at once (RFC 9293 3.10.7.1: RST+ACK, seq 0, ack = SYN's seq + 1), before the Routing
 * Engine's kernel would complete a handshake for it. Pure: the packet in, the reset out (or undefined
 * when the packet is not such a SYN).
 */
import { parseTcp, buildTcp } from '../net/l4.js';
import { buildIpv4, PROTO_TCP } from '../net/ipv4.js';
/** BGP's TCP port (RFC 4271). */
export const BGP_PORT = 179;

const SYN = 0x02, RST = 0x04, ACK = 0x10;

/** The reset for `pkt` (a whole IPv4 packet) when it is a SYN to port 179 from no neighbor. */
export function refuseSyn(pkt: Buffer, isNeighbor: (src: number) => boolean, id: () => number): Buffer | undefined {
  if (pkt.length < 20 || pkt[0]! >> 4 !== 4 || pkt[9] !== PROTO_TCP) return undefined;
  const ihl = (pkt[0]! & 15) * 4;
  const total = Math.min(pkt.readUInt16BE(2), pkt.length);
  if (ihl < 20 || total < ihl + 20) return undefined;
  if ((pkt.readUInt16BE(6) & 0x1fff) !== 0) return undefined; // a later fragment: no TCP header
  const src = pkt.readUInt32BE(12), dst = pkt.readUInt32BE(16);
  const t = parseTcp(pkt.subarray(ihl, total), { src, dst });
  if (!t.ok) return undefined;
  const { srcPort, dstPort, seq, flags, data } = t.value;
  if (dstPort !== BGP_PORT || (flags & (SYN | ACK | RST)) !== SYN || isNeighbor(src)) return undefined;
  const tcp = buildTcp({ src: dst, dst: src }, { srcPort: dstPort, dstPort: srcPort, seq: 0, ack: (seq + 1 + data.length) >>> 0, flags: RST | ACK, window: 0, data: Buffer.alloc(0) });
  return buildIpv4({ protocol: PROTO_TCP, src: dst, dst: src, id: id(), ttl: 64, tos: 0 }, tcp);
}
