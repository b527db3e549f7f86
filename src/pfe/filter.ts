/**
 * Firewall filter evaluation: terms in order, the configured `from` matches, actions accept,
 * discard, reject, count, next term and ipsec-sa, and the implicit discard after the last term.
 * Per-term and named counters for `show firewall`.
 */
import type { FilterModel, TermModel } from '../config/model.js';
import { maskOf } from '../net/ip.js';
import { PROTO_TCP, PROTO_UDP } from '../net/ipv4.js';

export type FilterVerdict = { action: 'accept' } | { action: 'discard' } | { action: 'reject' } | { action: 'ipsec-sa'; sa: string };

export interface CounterValue { packets: number; bytes: number }

/** What the filter reads of a packet (parsed once by the PFE). */
export interface PacketKey { src: number; dst: number; protocol: number; srcPort: number; dstPort: number; hasPorts: boolean; length: number }

export function packetKey(pkt: Buffer): PacketKey {
  const ihl = (pkt[0]! & 15) * 4;
  const protocol = pkt[9]!;
  const first = (pkt.readUInt16BE(6) & 0x1fff) === 0;
  const hasPorts = first && (protocol === PROTO_TCP || protocol === PROTO_UDP) && pkt.length >= ihl + 4;
  return {
    src: pkt.readUInt32BE(12), dst: pkt.readUInt32BE(16), protocol,
    srcPort: hasPorts ? pkt.readUInt16BE(ihl) : -1, dstPort: hasPorts ? pkt.readUInt16BE(ihl + 2) : -1,
    hasPorts, length: pkt.length,
  };
}

interface CompiledTerm {
  name: string;
  src: Array<[number, number]>; dst: Array<[number, number]>;   // [addr, mask]
  protocols: number[]; srcPorts: Array<[number, number]>; dstPorts: Array<[number, number]>;
  verdict: FilterVerdict | null;     // null: next term
  count?: CounterValue;
  hits: CounterValue;
}

function inPrefixes(list: Array<[number, number]>, ip: number): boolean {
  for (const [a, m] of list) if (((ip & m) >>> 0) === a) return true;
  return false;
}
function inPorts(list: Array<[number, number]>, p: number): boolean {
  for (const [lo, hi] of list) if (p >= lo && p <= hi) return true;
  return false;
}

export class CompiledFilter {
  readonly terms: CompiledTerm[];
  readonly counters = new Map<string, CounterValue>();
  constructor(readonly model: FilterModel, previous?: CompiledFilter) {
    this.terms = model.terms.map((t: TermModel) => {
      let count: CounterValue | undefined;
      if (t.count) {
        count = previous?.counters.get(t.count) ?? this.counters.get(t.count) ?? { packets: 0, bytes: 0 };
        this.counters.set(t.count, count);
      }
      return {
        name: t.name,
        src: t.sourceAddress.map(p => [p.addr, maskOf(p.len)] as [number, number]),
        dst: t.destinationAddress.map(p => [p.addr, maskOf(p.len)] as [number, number]),
        protocols: t.protocol, srcPorts: t.sourcePort, dstPorts: t.destinationPort,
        verdict: t.action.kind === 'next' ? null : t.action.kind === 'ipsec-sa' ? { action: 'ipsec-sa', sa: t.action.sa } : { action: t.action.kind } as FilterVerdict,
        ...(count ? { count } : {}),
        hits: previous?.terms.find(x => x.name === t.name)?.hits ?? { packets: 0, bytes: 0 },
      };
    });
  }
  get name() { return this.model.name; }

  evaluate(k: PacketKey): FilterVerdict {
    for (const t of this.terms) {
      if (t.src.length && !inPrefixes(t.src, k.src)) continue;
      if (t.dst.length && !inPrefixes(t.dst, k.dst)) continue;
      if (t.protocols.length && !t.protocols.includes(k.protocol)) continue;
      if (t.srcPorts.length && !(k.hasPorts && inPorts(t.srcPorts, k.srcPort))) continue;
      if (t.dstPorts.length && !(k.hasPorts && inPorts(t.dstPorts, k.dstPort))) continue;
      t.hits.packets++; t.hits.bytes += k.length;
      if (t.count) { t.count.packets++; t.count.bytes += k.length; }
      if (t.verdict) return t.verdict;
    }
    return { action: 'discard' };   // the implicit discard after the last term
  }
  clear(): void {
    for (const t of this.terms) { t.hits.packets = t.hits.bytes = 0; }
    for (const c of this.counters.values()) { c.packets = c.bytes = 0; }
  }
}
