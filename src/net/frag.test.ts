/** Reassembly under attack: oversize trains, overlaps, duplicates, floods; every refusal has a reason. */
import { describe, it, expect } from 'vitest';
import { Reassembler, fragment, ReasmResult } from './frag.js';
import { buildIpv4, writeIpv4Header, PROTO_ICMP, PROTO_UDP } from './ipv4.js';
import { ipToInt } from './ip.js';

const SRC = ipToInt('10.1.1.1'), DST = ipToInt('10.6.6.6');
/** One fragment: `len` data bytes at byte offset `off`. */
function frag(off: number, len: number, mf: boolean, o: { id?: number; fill?: number; src?: number } = {}): Buffer {
  const b = Buffer.alloc(20 + len, o.fill ?? 0x5a);
  writeIpv4Header(b, 0, { protocol: PROTO_ICMP, src: o.src ?? SRC, dst: DST, id: o.id ?? 7, mf, fragOffset: off }, b.length);
  return b;
}
const kinds = (rs: ReasmResult[]) => rs.map(r => (r.kind === 'drop' ? r.reason : r.kind));

describe('reassembly', () => {
  it('rebuilds what fragment() cut, whatever the order', () => {
    const pkt = buildIpv4({ protocol: PROTO_UDP, src: SRC, dst: DST, id: 99 }, Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 255)));
    const parts = fragment(pkt, 576)!;
    expect(parts.length).toBeGreaterThan(5);
    const r = new Reassembler();
    const out = [...parts].reverse().map(p => r.add(p, 0));
    const whole = out.find(x => x.kind === 'whole') as { pkt: Buffer };
    expect(whole.pkt.equals(pkt)).toBe(true);
    expect(r.size).toBe(0);
    expect(r.heldBytes).toBe(0);
  });

  it('a train whose data ends at 65535 is dropped as too big instead of throwing (the remote crash)', () => {
    const r = new Reassembler();
    const out: ReasmResult[] = [];
    // 45 fragments of 1480 bytes: the last one ends at 65,120 + 415 = 65,535 bytes of data
    for (let i = 0; i < 44; i++) out.push(r.add(frag(i * 1480, 1480, true), 0));
    expect(() => out.push(r.add(frag(44 * 1480, 415, false), 0))).not.toThrow();
    expect(out.at(-1)).toMatchObject({ kind: 'drop', reason: 'frag-too-big', fragments: 45 });
    expect(r.size).toBe(0);
    expect(r.heldBytes).toBe(0);
  });

  it('exact duplicates are dropped alone; the datagram still completes', () => {
    const r = new Reassembler();
    expect(kinds([r.add(frag(0, 80, true), 0), r.add(frag(0, 80, true), 0), r.add(frag(0, 80, true), 0), r.add(frag(80, 16, false), 0)]))
      .toEqual(['held', 'frag-duplicate', 'frag-duplicate', 'whole']);
  });

  it('an overlapping fragment abandons the whole datagram (RFC 5722)', () => {
    const r = new Reassembler();
    r.add(frag(0, 80, true), 0);
    r.add(frag(160, 80, true), 0);
    expect(r.add(frag(72, 16, true), 0)).toMatchObject({ kind: 'drop', reason: 'frag-overlap', fragments: 3 });
    // same offset, different bytes: an overlap too
    r.add(frag(0, 80, true, { id: 8 }), 0);
    expect(r.add(frag(0, 80, true, { id: 8, fill: 1 }), 0)).toMatchObject({ reason: 'frag-overlap' });
    expect(r.size).toBe(0);
  });

  it('refuses inconsistent lengths and bad sizes', () => {
    const r = new Reassembler();
    r.add(frag(0, 80, true), 0);
    r.add(frag(120, 40, false), 0);                // total 160 now known, 80..120 still missing
    expect(r.add(frag(200, 8, true), 0)).toMatchObject({ reason: 'frag-inconsistent' });
    expect(r.add(frag(0, 12, true, { id: 3 }), 0)).toMatchObject({ reason: 'frag-bad-length' });   // not a multiple of 8
  });

  it('is bounded: fragments per datagram, datagrams, bytes; and it times out', () => {
    const r = new Reassembler({ maxFragments: 16, maxDatagrams: 4, maxBytes: 64 * 1024 });
    const out: ReasmResult[] = [];
    for (let i = 0; i < 20; i++) out.push(r.add(frag(i * 8, 8, true), 0));
    expect(out.filter(x => x.kind === 'drop').map(x => (x as { reason: string }).reason)[0]).toBe('frag-too-many');
    const evicted: string[] = [];
    r.onDrop = reason => evicted.push(reason);
    for (let id = 100; id < 110; id++) r.add(frag(0, 8, true, { id }), 0);
    expect(r.size).toBe(4);
    expect(evicted.filter(x => x === 'frag-evicted')).toHaveLength(7);   // the rest of id 7's train, then 6 of the 10
    for (let id = 200; id < 300; id++) r.add(frag(0, 1480, true, { id }), 0);
    expect(r.heldBytes).toBeLessThanOrEqual(64 * 1024);
    r.expire(30001);
    expect(r.size).toBe(0);
    expect(evicted).toContain('frag-timeout');
    expect(r.heldBytes).toBe(0);
  });

  it('200,000 copies of one fragment keep one copy and cost little', () => {
    const r = new Reassembler();
    const f = frag(0, 1480, true);
    const rss0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    let dups = 0;
    for (let i = 0; i < 200_000; i++) if (r.add(f, 0).kind === 'drop') dups++;
    expect(dups).toBe(199_999);
    expect(r.heldBytes).toBe(1480);
    expect(process.memoryUsage().heapUsed - rss0).toBeLessThan(64 << 20);
    expect(performance.now() - t0).toBeLessThan(20_000);   // a bound against hanging, not a benchmark
  });
});
