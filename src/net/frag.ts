/** IPv4 fragmentation and reassembly (RFC 791, RFC 815 hole bookkeeping simplified to ranges). */
import { parseIpv4, writeIpv4Header } from './ipv4.js';

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
    writeIpv4Header(f, 0, { tos: h.tos, id: h.id, ttl: h.ttl, protocol: h.protocol, src: h.src, dst: h.dst, mf: !last || h.mf, fragOffset: h.fragOffset + off }, f.length);
    chunk.copy(f, 20);
    out.push(f);
  }
  return out;
}

interface Pending { parts: Array<{ off: number; data: Buffer }>; total: number; header: Buffer; expires: number; bytes: number }

/** Reassembles fragments addressed to this router. Bounded in memory; stale entries time out. */
export class Reassembler {
  private pending = new Map<string, Pending>();
  timeouts = 0;
  constructor(private timeoutMs = 30000, private maxPending = 256, private maxBytes = 65535) {}

  /** Feed a packet; returns the whole packet when complete (unfragmented ones pass straight through). */
  add(pkt: Buffer, now: number): Buffer | null {
    const r = parseIpv4(pkt);
    if (!r.ok) return null;
    const h = r.value;
    if (!h.mf && h.fragOffset === 0) return pkt;
    const key = `${h.src}/${h.dst}/${h.id}/${h.protocol}`;
    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size >= this.maxPending) this.expire(now, true);
      p = { parts: [], total: -1, header: Buffer.from(pkt.subarray(0, h.ihl)), expires: now + this.timeoutMs, bytes: 0 };
      this.pending.set(key, p);
    }
    const data = pkt.subarray(h.ihl, h.totalLength);
    if (h.fragOffset + data.length > this.maxBytes) { this.pending.delete(key); return null; }
    if (h.fragOffset === 0) p.header = Buffer.from(pkt.subarray(0, h.ihl));
    if (!h.mf) p.total = h.fragOffset + data.length;
    p.parts.push({ off: h.fragOffset, data: Buffer.from(data) });
    p.bytes += data.length;
    if (p.total < 0) return null;
    p.parts.sort((a, b) => a.off - b.off);
    let covered = 0;
    for (const part of p.parts) { if (part.off > covered) return null; covered = Math.max(covered, part.off + part.data.length); }
    if (covered < p.total) return null;
    this.pending.delete(key);
    // the reassembled packet gets a plain 20-byte header (options of the first fragment are dropped)
    const out = Buffer.allocUnsafe(20 + p.total);
    for (const part of p.parts) part.data.copy(out, 20 + part.off, 0, Math.min(part.data.length, p.total - part.off));
    const hd = p.header;
    writeIpv4Header(out, 0, { tos: hd[1]!, id: hd.readUInt16BE(4), ttl: hd[8]!, protocol: hd[9]!, src: hd.readUInt32BE(12), dst: hd.readUInt32BE(16) }, out.length);
    return out;
  }
  expire(now: number, oldest = false): void {
    for (const [k, p] of this.pending) {
      if (p.expires <= now || oldest) { this.pending.delete(k); this.timeouts++; if (oldest) return; }
    }
  }
  get size() { return this.pending.size; }
}
