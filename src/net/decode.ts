/** One-line packet summaries in the style of tcpdump (for `monitor traffic` and captures). */
import { parseEth, parseArp, ETH_ARP, ETH_IPV4, macStr } from './ethernet.js';
import { parseIpv4, PROTO_AH, PROTO_ESP, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './ipv4.js';
import { intToIp } from './ip.js';

const ICMP_NAMES: Record<number, string> = { 0: 'echo reply', 3: 'unreachable', 8: 'echo request', 11: 'time exceeded' };

export function decodeIp(pkt: Buffer): string {
  const r = parseIpv4(pkt);
  if (!r.ok) return `IP malformed (${r.error}), length ${pkt.length}`;
  const h = r.value;
  const s = intToIp(h.src), d = intToIp(h.dst), p = pkt.subarray(h.ihl, h.totalLength);
  const frag = h.mf || h.fragOffset ? ` (frag ${h.id}:${p.length}@${h.fragOffset}${h.mf ? '+' : ''})` : '';
  if (h.fragOffset) return `IP ${s} > ${d}: ip-proto-${h.protocol}${frag}`;
  switch (h.protocol) {
    case PROTO_ICMP: {
      if (p.length < 8) return `IP ${s} > ${d}: ICMP truncated`;
      const t = p[0]!, name = ICMP_NAMES[t] ?? `type ${t}`;
      const extra = t === 0 || t === 8 ? `, id ${p.readUInt16BE(4)}, seq ${p.readUInt16BE(6)}` : t === 3 ? ` code ${p[1]}` : '';
      return `IP ${s} > ${d}: ICMP ${name}${extra}, length ${p.length}${frag}`;
    }
    case PROTO_UDP: return p.length >= 4 ? `IP ${s}.${p.readUInt16BE(0)} > ${d}.${p.readUInt16BE(2)}: UDP, length ${p.length - 8}${frag}` : `IP ${s} > ${d}: UDP truncated`;
    case PROTO_TCP: {
      if (p.length < 14) return `IP ${s} > ${d}: TCP truncated`;
      const f = p[13]!;
      const flags = (f & 2 ? 'S' : '') + (f & 1 ? 'F' : '') + (f & 4 ? 'R' : '') + (f & 8 ? 'P' : '') + (f & 16 ? '.' : '');
      return `IP ${s}.${p.readUInt16BE(0)} > ${d}.${p.readUInt16BE(2)}: Flags [${flags}], seq ${p.readUInt32BE(4)}, length ${Math.max(0, p.length - (p[12]! >> 4) * 4)}${frag}`;
    }
    case PROTO_ESP: return p.length >= 8 ? `IP ${s} > ${d}: ESP(spi=0x${p.readUInt32BE(0).toString(16).padStart(8, '0')},seq=0x${p.readUInt32BE(4).toString(16)}), length ${p.length}${frag}` : `IP ${s} > ${d}: ESP truncated`;
    case PROTO_AH: return p.length >= 12 ? `IP ${s} > ${d}: AH(spi=0x${p.readUInt32BE(4).toString(16).padStart(8, '0')},seq=0x${p.readUInt32BE(8).toString(16)}): ${p[0] === PROTO_ESP ? 'ESP' : `ip-proto-${p[0]}`}, length ${p.length}${frag}` : `IP ${s} > ${d}: AH truncated`;
    default: return `IP ${s} > ${d}: ip-proto-${h.protocol}, length ${p.length}${frag}`;
  }
}

export function decodeFrame(f: Buffer): string {
  const e = parseEth(f);
  if (!e.ok) return `truncated frame, length ${f.length}`;
  if (e.value.type === ETH_ARP) {
    const a = parseArp(e.value.payload);
    if (!a.ok) return 'ARP malformed';
    return a.value.op === 1 ? `ARP, Request who-has ${intToIp(a.value.tpa)} tell ${intToIp(a.value.spa)}, length 28`
      : `ARP, Reply ${intToIp(a.value.spa)} is-at ${macStr(a.value.sha)}, length 28`;
  }
  if (e.value.type === ETH_IPV4) return decodeIp(e.value.payload);
  return `ethertype 0x${e.value.type.toString(16).padStart(4, '0')}, length ${f.length}`;
}
