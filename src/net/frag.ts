/**
 * IPv4 fragmentation and reassembly (RFC 791), hardened: every fragment is checked against the
 * 65,535-byte limit, overlaps abandon the datagram (the rule RFC 5722 and RFC 8200 4.5 give, applied
 * to IPv4 as Linux does), exact duplicates are dropped alone, and the state is bounded per datagram
 * (fragments) and in total (datagrams, bytes). Every refusal has a reason the PFE counts.
 */
import { parseIpv4, writeIpv4Header, ipv4Fields } from './ipv4.js';

/** Split `pkt` so that every fragment fits `mtu`. Returns null if DF is set and it does not fit. */
export function fragment(pkt: Buffer, mtu: number): Buffer[] | null {
  const r = parseIpv4(pkt);
  if (!r.ok) return null;
  const h = r.value;
  if (h.totalLength <= mtu) return [pkt.subarray(0, h.totalLength)];
  if (h.df) return null;
  const maxData = ((mtu - 20) >> 3) << 3;
  if (maxData < 8) return null;
  const data = pkt.subarray(h.ihl, h.totalLength);
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += maxData) {
    const chunk = data.subarray(off, Math.min(off + maxData, data.length));
    const last = off + chunk.length >= data.length;
    const f = Buffer.allocUnsafe(20 + chunk.length);
    writeIpv4Header(f, 0, ipv4Fields(h.protocol, h.src, h.dst, h.tos, h.id, h.ttl, false, !last || h.mf, h.fragOffset + off), f.length);
    chunk.copy(f, 20);
    out.push(f);
  }
  return out;
}

/** Why a fragment (or the datagram it belonged to) was dropped. */
export const FRAG_DROPS = ['frag-malformed', 'frag-too-big', 'frag-bad-length', 'frag-overlap', 'frag-duplicate', 'frag-inconsistent', 'frag-too-many', 'frag-evicted', 'frag-timeout'] as const;
export type FragDrop = typeof FRAG_DROPS[number];

export type ReasmResult = { kind: 'whole'; pkt: Buffer } | { kind: 'held' } | { kind: 'drop'; reason: FragDrop; fragments: number };

/** The reassembled datagram gets a 20-byte header, so its data can be 65,535 - 20 bytes at most. */
const MAX_DATA = 65535 - 20;

interface Part { off: number; data: Buffer }
interface Pending { parts: Part[]; total: number; header: Buffer; expires: number; bytes: number }

export interface ReassemblerLimits {
  timeoutMs: number;      // a datagram not complete in this time is dropped (RFC 791 suggests 15 s; Linux uses 30 s)
  maxDatagrams: number;   // datagrams being reassembled at once
  maxFragments: number;   // fragments kept for one datagram
  maxBytes: number;       // fragment data kept in all
}
export const REASSEMBLY_LIMITS: ReassemblerLimits = { timeoutMs: 30000, maxDatagrams: 256, maxFragments: 128, maxBytes: 4 << 20 };

/**
 * Reassembles fragments addressed to this router. `add` never throws; it returns the whole packet,
 * `held`, or a drop with its reason and the number of fragments it discarded.
 */
export class Reassembler {
  private pending = new Map<string, Pending>();
  private bytes = 0;
  readonly limits: ReassemblerLimits;
  /** Drops that happen outside `add` (timeouts, evictions), for the PFE's counters. */
  onDrop?: (reason: FragDrop, fragments: number) => void;
  constructor(limits: Partial<ReassemblerLimits> = {}) { this.limits = { ...REASSEMBLY_LIMITS, ...limits }; }

  /** Feed a packet; unfragmented ones pass straight through. */
  add(pkt: Buffer, now: number): ReasmResult {
    const r = parseIpv4(pkt);
    if (!r.ok) return { kind: 'drop', reason: 'frag-malformed', fragments: 1 };
    const h = r.value;
    if (!h.mf && h.fragOffset === 0) return { kind: 'whole', pkt };
    const len = h.totalLength - h.ihl;
    const end = h.fragOffset + len;
    if (end > MAX_DATA) return this.dropDatagramOf(h, 'frag-too-big');
    if (h.mf && (len === 0 || len % 8 !== 0)) return { kind: 'drop', reason: 'frag-bad-length', fragments: 1 };
    const key = `${h.src}/${h.dst}/${h.id}/${h.protocol}`;
    let p = this.pending.get(key);
    if (!p) {
      while (this.pending.size >= this.limits.maxDatagrams) this.evictOldest();
      p = { parts: [], total: -1, header: Buffer.from(pkt.subarray(0, h.ihl)), expires: now + this.limits.timeoutMs, bytes: 0 };
      this.pending.set(key, p);
    }
    // the last fragment fixes the length; a second, different one, or data beyond it, is inconsistent
    if (!h.mf) {
      if ((p.total >= 0 && p.total !== end) || (p.parts.length && p.parts[p.parts.length - 1]!.off + p.parts[p.parts.length - 1]!.data.length > end)) return this.abandon(key, p, 'frag-inconsistent', 1);
      p.total = end;
    } else if (p.total >= 0 && end > p.total) return this.abandon(key, p, 'frag-inconsistent', 1);
    // find the insertion point (parts are kept sorted by offset and never overlap)
    let lo = 0, hi = p.parts.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (p.parts[mid]!.off < h.fragOffset) lo = mid + 1; else hi = mid; }
    const data = pkt.subarray(h.ihl, h.totalLength);
    const at = p.parts[lo];
    if (at && at.off === h.fragOffset && at.data.length === len && at.data.equals(data)) return { kind: 'drop', reason: 'frag-duplicate', fragments: 1 };
    const prev = p.parts[lo - 1];
    if ((prev && prev.off + prev.data.length > h.fragOffset) || (at && end > at.off)) return this.abandon(key, p, 'frag-overlap', 1);
    if (p.parts.length >= this.limits.maxFragments) return this.abandon(key, p, 'frag-too-many', 1);
    while (this.bytes + len > this.limits.maxBytes && this.pending.size > 1) { if (!this.evictOldest(key)) break; }
    if (this.bytes + len > this.limits.maxBytes) return this.abandon(key, p, 'frag-evicted', 1);
    if (h.fragOffset === 0) p.header = Buffer.from(pkt.subarray(0, h.ihl));
    p.parts.splice(lo, 0, { off: h.fragOffset, data: Buffer.from(data) });
    p.bytes += len;
    this.bytes += len;
    if (p.total < 0 || p.bytes !== p.total) return { kind: 'held' };
    // complete: no overlaps and as many bytes as the total means no holes
    this.pending.delete(key);
    this.bytes -= p.bytes;
    const out = Buffer.allocUnsafe(20 + p.total);
    for (const part of p.parts) part.data.copy(out, 20 + part.off);
    const hd = p.header;
    writeIpv4Header(out, 0, ipv4Fields(hd[9]!, hd.readUInt32BE(12), hd.readUInt32BE(16), hd[1]!, hd.readUInt16BE(4), hd[8]!), out.length);
    return { kind: 'whole', pkt: out };
  }

  private dropDatagramOf(h: { src: number; dst: number; id: number; protocol: number }, reason: FragDrop): ReasmResult {
    const key = `${h.src}/${h.dst}/${h.id}/${h.protocol}`;
    const p = this.pending.get(key);
    return p ? this.abandon(key, p, reason, 1) : { kind: 'drop', reason, fragments: 1 };
  }

  /** Drop a whole datagram: its held fragments and the one that arrived (`extra`). */
  private abandon(key: string, p: Pending, reason: FragDrop, extra: number): ReasmResult {
    this.pending.delete(key);
    this.bytes -= p.bytes;
    return { kind: 'drop', reason, fragments: p.parts.length + extra };
  }

  /** Evict the oldest datagram (not `keep`); false when there is none to evict. */
  private evictOldest(keep?: string): boolean {
    for (const [k, p] of this.pending) {
      if (k === keep) continue;
      this.pending.delete(k);
      this.bytes -= p.bytes;
      this.onDrop?.('frag-evicted', p.parts.length);
      return true;
    }
    return false;
  }

  /** Drop datagrams whose time is up (insertion order is expiry order: stop at the first live one). */
  expire(now: number): void {
    for (const [k, p] of this.pending) {
      if (p.expires > now) break;
      this.pending.delete(k);
      this.bytes -= p.bytes;
      this.onDrop?.('frag-timeout', p.parts.length);
    }
  }
  get size() { return this.pending.size; }
  get heldBytes() { return this.bytes; }
}
