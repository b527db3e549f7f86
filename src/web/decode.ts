/**
 * The capture list's one-line decode of a packet (the page's live list, docs/web.md): Ethernet, ARP,
 * IPv4, ICMP, UDP, TCP, ESP with its SPI and sequence number, AH, ISAKMP with its exchange type (UDP
 * 500, and 4500 behind the non-ESP marker). Pure: a buffer in, a line and the fields the page
 * filters on out; it never throws, whatever the bytes (src/web/decode.test.ts fuzzes it).
 */
export interface Decoded {
  line: string;
  /** the innermost protocol it understood: eth, arp, ipv4, icmp, udp, tcp, esp, ah, isakmp */
  proto: string;
  src?: string; dst?: string;
  spi?: number; seq?: number;
  exchange?: string;
}

const ip = (b: Buffer, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const mac = (b: Buffer, o: number) => Array.from(b.subarray(o, o + 6), x => x.toString(16).padStart(2, '0')).join(':');
const hex8 = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

const ICMP: Record<number, string> = { 0: 'echo reply', 3: 'destination unreachable', 5: 'redirect', 8: 'echo request', 11: 'time exceeded', 12: 'parameter problem' };
const UNREACH: Record<number, string> = { 0: 'net', 1: 'host', 2: 'protocol', 3: 'port', 4: 'need to frag', 13: 'administratively prohibited' };
/** ISAKMP exchange types: RFC 2408 (1-5), RFC 2409 (32 Quick Mode, 33 New Group), RFC 7296 (34-37) */
export const EXCHANGES: Record<number, string> = {
  1: 'Base', 2: 'Identity Protection (Main Mode)', 3: 'Authentication Only', 4: 'Aggressive', 5: 'Informational',
  32: 'Quick Mode', 33: 'New Group Mode', 34: 'IKE_SA_INIT', 35: 'IKE_AUTH', 36: 'CREATE_CHILD_SA', 37: 'INFORMATIONAL',
};

function isakmp(p: Buffer, head: string, d: Decoded): Decoded {
  if (p.length < 28) return { ...d, proto: 'isakmp', line: `${head}: ISAKMP truncated, length ${p.length}` };
  const ex = p[18]!, flags = p[19]!, major = p[17]! >> 4, minor = p[17]! & 15;
  const name = EXCHANGES[ex] ?? `exchange type ${ex}`;
  const icookie = p.subarray(0, 8).toString('hex'), rcookie = p.subarray(8, 16).toString('hex');
  const v2 = major === 2;
  const fl = v2 ? [flags & 8 ? 'I' : '', flags & 32 ? 'R' : ''].join('') : [flags & 1 ? 'E' : '', flags & 2 ? 'C' : '', flags & 4 ? 'A' : ''].join('');
  return {
    ...d, proto: 'isakmp', exchange: name,
    line: `${head}: ${v2 ? 'IKEv2' : 'ISAKMP'} ${major}.${minor} ${name}${fl ? ` [${fl}]` : ''}, cookies ${icookie}->${rcookie}, msgid ${hex8(p.readUInt32BE(20))}, length ${p.readUInt32BE(24)}`,
  };
}

function esp(p: Buffer, head: string, d: Decoded): Decoded {
  if (p.length < 8) return { ...d, proto: 'esp', line: `${head}: ESP truncated, length ${p.length}` };
  const spi = p.readUInt32BE(0), seq = p.readUInt32BE(4);
  return { ...d, proto: 'esp', spi, seq, line: `${head}: ESP SPI ${hex8(spi)} seq ${seq}, length ${p.length}` };
}

/** An IPv4 packet at offset `o` of `b`. */
export function decodeIpv4(b: Buffer, o = 0): Decoded {
  if (b.length - o < 20 || b[o]! >> 4 !== 4) return { proto: 'ipv4', line: `IP malformed, length ${Math.max(0, b.length - o)}` };
  const ihl = (b[o]! & 15) * 4, total = b.readUInt16BE(o + 2);
  const src = ip(b, o + 12), dst = ip(b, o + 16), proto = b[o + 9]!, ttl = b[o + 8]!, id = b.readUInt16BE(o + 4);
  if (ihl < 20 || total < ihl || o + ihl > b.length) return { proto: 'ipv4', src, dst, line: `IP ${src} > ${dst}: bad header (ihl ${ihl}, length ${total})` };
  const end = Math.min(b.length, o + total);
  const p = b.subarray(o + ihl, end);
  const fragOff = (b.readUInt16BE(o + 6) & 0x1fff) * 8, mf = (b[o + 6]! & 0x20) !== 0;
  const frag = fragOff || mf ? ` (frag ${id}:${p.length}@${fragOff}${mf ? '+' : ''})` : '';
  const d: Decoded = { proto: 'ipv4', src, dst, line: '' };
  const head = `IP ${src} > ${dst}`;
  if (fragOff) return { ...d, line: `${head}: ip-proto-${proto}, ttl ${ttl}, id ${id}${frag}` };
  switch (proto) {
    case 1: {
      if (p.length < 8) return { ...d, proto: 'icmp', line: `${head}: ICMP truncated` };
      const t = p[0]!, c = p[1]!;
      const what = ICMP[t] ?? `type ${t}`;
      const extra = t === 0 || t === 8 ? `, id ${p.readUInt16BE(4)}, seq ${p.readUInt16BE(6)}` : t === 3 ? ` (${UNREACH[c] ?? `code ${c}`})` : c ? ` code ${c}` : '';
      return { ...d, proto: 'icmp', line: `${head}: ICMP ${what}${extra}, ttl ${ttl}, length ${p.length}${frag}` };
    }
    case 17: {
      if (p.length < 8) return { ...d, proto: 'udp', line: `${head}: UDP truncated${frag}` };
      const sp = p.readUInt16BE(0), dp = p.readUInt16BE(2), body = p.subarray(8);
      const h = `IP ${src}.${sp} > ${dst}.${dp}`;
      if (!frag && (sp === 500 || dp === 500)) return isakmp(body, h, d);
      if (!frag && (sp === 4500 || dp === 4500)) {
        if (body.length === 1 && body[0] === 0xff) return { ...d, proto: 'udp', line: `${h}: NAT-keepalive` };
        if (body.length >= 4 && body.readUInt32BE(0) === 0) return isakmp(body.subarray(4), `${h} NONESP-encap`, d);
        return esp(body, `${h} UDP-encap`, d);
      }
      return { ...d, proto: 'udp', line: `${h}: UDP, length ${body.length}${frag}` };
    }
    case 6: {
      if (p.length < 14) return { ...d, proto: 'tcp', line: `${head}: TCP truncated${frag}` };
      const f = p[13]!;
      const flags = (f & 2 ? 'S' : '') + (f & 1 ? 'F' : '') + (f & 4 ? 'R' : '') + (f & 8 ? 'P' : '') + (f & 16 ? '.' : '');
      return { ...d, proto: 'tcp', line: `IP ${src}.${p.readUInt16BE(0)} > ${dst}.${p.readUInt16BE(2)}: Flags [${flags}], seq ${p.readUInt32BE(4)}, length ${Math.max(0, p.length - (p[12]! >> 4) * 4)}${frag}` };
    }
    case 50: return esp(p, head, d);
    case 51: {
      if (p.length < 12) return { ...d, proto: 'ah', line: `${head}: AH truncated` };
      const spi = p.readUInt32BE(4), seq = p.readUInt32BE(8);
      return { ...d, proto: 'ah', spi, seq, line: `${head}: AH SPI ${hex8(spi)} seq ${seq} (next ${p[0] === 50 ? 'ESP' : `proto ${p[0]}`}), length ${p.length}` };
    }
    default: return { ...d, line: `${head}: ip-proto-${proto}, ttl ${ttl}, length ${p.length}${frag}` };
  }
}

/** A packet as a port's capture gives it: an Ethernet frame (`eth`) or an IPv4 packet (`ip`, es- interfaces). */
export function decodePacket(b: Buffer, kind: 'eth' | 'ip'): Decoded {
  try {
    if (kind === 'ip') return decodeIpv4(b);
    if (b.length < 14) return { proto: 'eth', line: `Ethernet truncated, length ${b.length}` };
    const type = b.readUInt16BE(12), eth = `${mac(b, 6)} > ${mac(b, 0)}`;
    if (type === 0x0806) {
      const a = b.subarray(14);
      if (a.length < 28) return { proto: 'arp', line: `${eth}, ARP truncated` };
      const op = a.readUInt16BE(6);
      const line = op === 1 ? `ARP request who-has ${ip(a, 24)} tell ${ip(a, 14)}` : op === 2 ? `ARP reply ${ip(a, 14)} is-at ${mac(a, 8)}` : `ARP op ${op}`;
      return { proto: 'arp', src: ip(a, 14), dst: ip(a, 24), line: `${eth}, ${line}` };
    }
    if (type === 0x0800) { const d = decodeIpv4(b, 14); return { ...d, line: `${eth}, ${d.line}` }; }
    return { proto: 'eth', line: `${eth}, ethertype 0x${type.toString(16).padStart(4, '0')}, length ${b.length}` };
  } catch (e) {
    return { proto: 'eth', line: `undecodable (${(e as Error).message}), length ${b.length}` };
  }
}
