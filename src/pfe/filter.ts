/**
 * Firewall filter evaluation: terms in order, the configured `from` matches, actions accept,
 * discard, reject, count, next term and ipsec-sa, and the implicit discard after the last term.
 * Per-term and named counters for `show firewall`.
 *
 * Each filter is compiled once per commit into a JavaScript function of the packet's fields (only
 * numbers from the compiled model go into its source), so a packet crosses a 100-term filter as
 * straight-line comparisons, without building anything per packet.
 */
import type { FilterModel, TermModel } from '../config/model.js';
import { maskOf } from '../net/ip.js';
import { PROTO_TCP, PROTO_UDP } from '../net/ipv4.js';

export type FilterVerdict = { action: 'accept' } | { action: 'discard' } | { action: 'reject' } | { action: 'ipsec-sa'; sa: string };

export interface CounterValue { packets: number; bytes: number }

/** What the filter reads of a packet. */
export interface PacketKey { src: number; dst: number; protocol: number; srcPort: number; dstPort: number; hasPorts: boolean; length: number }

/** The filter fields of the IPv4 packet at `off` in `buf` (ports only on a first fragment of TCP/UDP). */
export function packetKey(buf: Buffer, off = 0): PacketKey {
  const ihl = (buf[off]! & 15) * 4;
  const protocol = buf[off + 9]!;
  const first = (buf.readUInt16BE(off + 6) & 0x1fff) === 0;
  const length = buf.readUInt16BE(off + 2);
  const hasPorts = first && (protocol === PROTO_TCP || protocol === PROTO_UDP) && length >= ihl + 4;
  return {
    src: buf.readUInt32BE(off + 12), dst: buf.readUInt32BE(off + 16), protocol,
    srcPort: hasPorts ? buf.readUInt16BE(off + ihl) : -1, dstPort: hasPorts ? buf.readUInt16BE(off + ihl + 2) : -1,
    hasPorts, length,
  };
}

interface CompiledTerm {
  name: string;
  verdict: FilterVerdict | null;     // null: next term
  count?: CounterValue;
  hits: CounterValue;
}

/** (start, src, dst, proto, sport, dport) -> index of the first term from `start` whose `from` matches, or -1. Ports are -1 when absent. */
type Matcher = (start: number, src: number, dst: number, proto: number, sport: number, dport: number) => number;

const ACCEPT: FilterVerdict = { action: 'accept' };
const DISCARD: FilterVerdict = { action: 'discard' };
const REJECT: FilterVerdict = { action: 'reject' };

const int = (n: number) => { if (!Number.isInteger(n)) throw new Error(`filter compiler: ${n} is not an integer`); return String(n); };
/** A 32-bit unsigned value from the model, as the signed literal the generated code compares with. */
const u32 = (n: number) => { if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`filter compiler: ${n} is not an integer address`); return String(n | 0); };

/** The source of one term's condition, from numbers only. */
function condition(t: TermModel): string {
  const parts: string[] = [];
  const prefixes = (v: string, list: TermModel['sourceAddress']) =>
    '(' + list.map(p => p.len === 0 ? 'true' : `((${v} & ${u32(maskOf(p.len))}) === ${u32(p.addr)})`).join(' || ') + ')';
  // all fields must match, so the cheapest tests go first: protocol, ports, then address prefixes
  if (t.protocol.length) parts.push('(' + t.protocol.map(p => `p === ${int(p)}`).join(' || ') + ')');
  const ports = (v: string, list: Array<[number, number]>) =>
    `(${v} >= 0 && (` + list.map(([lo, hi]) => (lo === hi ? `${v} === ${int(lo)}` : `(${v} >= ${int(lo)} && ${v} <= ${int(hi)})`)).join(' || ') + '))';
  if (t.destinationPort.length) parts.push(ports('dp', t.destinationPort));
  if (t.sourcePort.length) parts.push(ports('sp', t.sourcePort));
  if (t.destinationAddress.length) parts.push(prefixes('d', t.destinationAddress));
  if (t.sourceAddress.length) parts.push(prefixes('s', t.sourceAddress));
  return parts.length ? parts.join(' && ') : 'true';
}

function compileMatcher(terms: TermModel[]): Matcher {
  // addresses are compared as signed 32-bit values (`x & mask` is signed in JavaScript): both sides agree
  const body = ['s |= 0; d |= 0;', 'switch (start) {'];
  terms.forEach((t, i) => body.push(`case ${i}: if (${condition(t)}) return ${i};`));
  body.push('}', 'return -1;');
  return new Function('start', 's', 'd', 'p', 'sp', 'dp', body.join('\n')) as Matcher;
}

export class CompiledFilter {
  readonly terms: CompiledTerm[];
  readonly counters = new Map<string, CounterValue>();
  private readonly match: Matcher;
  constructor(readonly model: FilterModel, previous?: CompiledFilter) {
    this.terms = model.terms.map((t: TermModel) => {
      let count: CounterValue | undefined;
      if (t.count) {
        count = previous?.counters.get(t.count) ?? this.counters.get(t.count) ?? { packets: 0, bytes: 0 };
        this.counters.set(t.count, count);
      }
      return {
        name: t.name,
        verdict: t.action.kind === 'next' ? null : t.action.kind === 'ipsec-sa' ? { action: 'ipsec-sa', sa: t.action.sa }
          : t.action.kind === 'accept' ? ACCEPT : t.action.kind === 'discard' ? DISCARD : REJECT,
        ...(count ? { count } : {}),
        hits: previous?.terms.find(x => x.name === t.name)?.hits ?? { packets: 0, bytes: 0 },
      };
    });
    this.match = compileMatcher(model.terms);
  }
  get name() { return this.model.name; }

  /** The verdict for a packet's fields; counts the terms that matched (`next term` goes on). */
  evaluateFields(src: number, dst: number, proto: number, sport: number, dport: number, length: number): FilterVerdict {
    let i = this.match(0, src, dst, proto, sport, dport);
    while (i >= 0) {
      const t = this.terms[i]!;
      t.hits.packets++; t.hits.bytes += length;
      if (t.count) { t.count.packets++; t.count.bytes += length; }
      if (t.verdict) return t.verdict;
      i = this.match(i + 1, src, dst, proto, sport, dport);
    }
    return DISCARD;   // the implicit discard after the last term
  }
  /** The term that decides, for `monitor packet-trace`: the name of the last term that matched. */
  decidingTerm(src: number, dst: number, proto: number, sport: number, dport: number): string | undefined {
    let i = this.match(0, src, dst, proto, sport, dport), last: string | undefined;
    while (i >= 0) { const t = this.terms[i]!; last = t.name; if (t.verdict) return last; i = this.match(i + 1, src, dst, proto, sport, dport); }
    return last;
  }
  /** The verdict for the IPv4 packet at `off` in `buf`. */
  evaluatePacket(buf: Buffer, off: number): FilterVerdict {
    const ihl = (buf[off]! & 15) * 4;
    const proto = buf[off + 9]!;
    const length = buf.readUInt16BE(off + 2);
    let sp = -1, dp = -1;
    if ((proto === PROTO_TCP || proto === PROTO_UDP) && (buf.readUInt16BE(off + 6) & 0x1fff) === 0 && length >= ihl + 4) {
      sp = buf.readUInt16BE(off + ihl); dp = buf.readUInt16BE(off + ihl + 2);
    }
    return this.evaluateFields(buf.readUInt32BE(off + 12), buf.readUInt32BE(off + 16), proto, sp, dp, length);
  }
  evaluate(k: PacketKey): FilterVerdict { return this.evaluateFields(k.src, k.dst, k.protocol, k.srcPort, k.dstPort, k.length); }
  clear(): void {
    for (const t of this.terms) { t.hits.packets = t.hits.bytes = 0; }
    for (const c of this.counters.values()) { c.packets = c.bytes = 0; }
  }
}
