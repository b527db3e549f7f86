/** netem in the port's output stage: a fixed seed gives the expected loss, delay, rate, bounds and drops. */
import { describe, it, expect, vi, afterEach } from 'vitest';
import { NetemQueue, NetemPort, Rng, validateNetem, netemRequest, withNetem, NetemDropReason } from './netem.js';
import type { Port } from './types.js';

const frame = (i: number, len = 100) => { const b = Buffer.alloc(len); b.writeUInt32BE(i, 14); return b; };
const idOf = (b: Buffer) => b.readUInt32BE(14);

describe('netem queue (pure)', () => {
  it('the random source is seedable: the same seed, the same sequence; another seed, another', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const sa = Array.from({ length: 5 }, () => a.next()), sb = Array.from({ length: 5 }, () => b.next()), sc = Array.from({ length: 5 }, () => c.next());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    for (const x of sa) { expect(x).toBeGreaterThanOrEqual(0); expect(x).toBeLessThan(1); }
  });

  it('loss 25% with a fixed seed: the same frames lost each run, about a quarter of them, each counted with its reason', () => {
    const run = () => {
      const drops: NetemDropReason[] = [];
      const q = new NetemQueue({ lossPct: 25, seed: 7 }, r => drops.push(r));
      const passed: number[] = [];
      for (let i = 0; i < 10000; i++) for (const f of q.enqueue(frame(i), 0)) passed.push(idOf(f));
      return { passed, drops, c: q.counters };
    };
    const r1 = run(), r2 = run();
    expect(r1.passed).toEqual(r2.passed);
    expect(r1.c.lost).toBe(10000 - r1.passed.length);
    expect(r1.drops).toHaveLength(r1.c.lost);
    expect(new Set(r1.drops)).toEqual(new Set(['netem-loss']));
    // binomial(10000, 0.25): sd 43; 4.6 sd either way
    expect(r1.c.lost).toBeGreaterThan(2300);
    expect(r1.c.lost).toBeLessThan(2700);
    const other = new NetemQueue({ lossPct: 25, seed: 8 });
    const p3: number[] = [];
    for (let i = 0; i < 10000; i++) for (const f of other.enqueue(frame(i), 0)) p3.push(idOf(f));
    expect(p3).not.toEqual(r1.passed);
  });

  it('delay 100 ms jitter 10 ms: every frame due within 90..110 ms of being sent, 100 ms on average; none before', () => {
    const q = new NetemQueue({ delayMs: 100, jitterMs: 10, seed: 1 });
    const sentAt = new Map<number, number>();
    for (let i = 0; i < 1000; i++) { sentAt.set(i, i); expect(q.enqueue(frame(i), i)).toEqual([]); }
    expect(q.counters.delayed).toBe(1000);
    let total = 0, n = 0;
    for (let t = 0; t <= 1200; t++) for (const f of q.due(t)) {
      const d = t - sentAt.get(idOf(f))!;
      expect(d).toBeGreaterThanOrEqual(90); expect(d).toBeLessThanOrEqual(111);
      total += d; n++;
    }
    expect(n).toBe(1000);
    expect(Math.abs(total / n - 100.5)).toBeLessThan(1.5);
    expect(q.length).toBe(0);
  });

  it('rate 1000 kbit/s: 1250-byte frames leave 10 ms apart, in order', () => {
    const q = new NetemQueue({ rateKbit: 1000 });
    for (let i = 0; i < 10; i++) q.enqueue(frame(i, 1250), 0);
    const times: number[] = [];
    for (let t = 0; t <= 200; t++) for (const f of q.due(t)) times.push(t), expect(idOf(f)).toBe(times.length - 1);
    expect(times).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });

  it('the queue is bounded: beyond the limit a frame is dropped and counted (netem-queue-full)', () => {
    const drops: string[] = [];
    const q = new NetemQueue({ delayMs: 50, limit: 5 }, r => drops.push(r));
    for (let i = 0; i < 12; i++) q.enqueue(frame(i), 0);
    expect(q.length).toBe(5);
    expect(q.counters.queueFull).toBe(7);
    expect(drops).toEqual(Array(7).fill('netem-queue-full'));
    expect(q.due(50).map(idOf)).toEqual([0, 1, 2, 3, 4]);
    // the default limit is netem's 1000
    const d = new NetemQueue({ delayMs: 50 });
    for (let i = 0; i < 1500; i++) d.enqueue(frame(i), 0);
    expect(d.length).toBe(1000);
  });

  it('duplicate, corrupt (one bit of the IP packet, on a copy), reorder (that share sent at once)', () => {
    const dup = new NetemQueue({ duplicatePct: 100 });
    expect(dup.enqueue(frame(1), 0).map(idOf)).toEqual([1, 1]);
    const orig = frame(5, 200), before = Buffer.from(orig);
    const cor = new NetemQueue({ corruptPct: 100, seed: 3 });
    const [out] = cor.enqueue(orig, 0);
    expect(orig.equals(before)).toBe(true);
    let bits = 0;
    for (let i = 0; i < 200; i++) { const x = out![i]! ^ orig[i]!; if (x) { expect(i).toBeGreaterThanOrEqual(14); bits += x.toString(2).replace(/0/g, '').length; } }
    expect(bits).toBe(1);
    const re = new NetemQueue({ delayMs: 10, reorderPct: 50, seed: 9 });
    const now: number[] = [];
    for (let i = 0; i < 100; i++) now.push(...re.enqueue(frame(i), 0).map(idOf));
    expect(re.counters.reordered).toBe(now.length);
    expect(now.length).toBeGreaterThan(30); expect(now.length).toBeLessThan(70);
    expect(re.due(10)).toHaveLength(100 - now.length);
  });

  it('parameters are checked', () => {
    expect(validateNetem({ delayMs: 10, jitterMs: 2, lossPct: 1.5, seed: 4 })).toEqual({ delayMs: 10, jitterMs: 2, lossPct: 1.5, seed: 4 });
    expect(validateNetem({ lossPct: 101 })).toMatch(/lossPct: expected a percentage/);
    expect(validateNetem({ rateKbit: 0 })).toMatch(/rateKbit/);
    expect(validateNetem({ seed: 1.5 })).toMatch(/seed/);
    expect(validateNetem({ jitterMs: 5 })).toMatch(/needs a delayMs/);
    expect(validateNetem({ reorderPct: 5 })).toMatch(/needs a delayMs/);
    expect(validateNetem({ bogus: 1 })).toMatch(/unknown netem parameter 'bogus'/);
    expect(validateNetem('x')).toMatch(/object/);
  });
});

describe('netem port', () => {
  afterEach(() => vi.useRealTimers());
  it('without an impairment the port is the port; with one, frames wait for their time; clear restores it', () => {
    vi.useFakeTimers();
    const sent: Array<[number, number]> = [];
    const inner: Port = { send: (f: Buffer) => sent.push([idOf(f), Date.now()]), onReceive: () => {} };
    const pfe = { ifds: new Map([['fe-0/0/0', { counters: { drops: new Map<string, number>(), drop(r: string) { this.drops.set(r, (this.drops.get(r) ?? 0) + 1); } } }]]) };
    const port = withNetem(pfe, 'fe-0/0/0', inner) as NetemPort;
    const t0 = Date.now();
    port.send(frame(1)); expect(sent).toEqual([[1, t0]]);
    expect(netemRequest(pfe, { ifname: 'fe-0/0/0', set: { delayMs: 30, lossPct: 0 } })).toMatchObject({ netem: [{ ifname: 'fe-0/0/0', params: { delayMs: 30 } }] });
    const buf = frame(2);
    port.send(buf, 100);
    buf.fill(0);   // the PFE reuses its buffer: the waiting frame is a copy
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(29); expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(2); expect(sent[1]![0]).toBe(2);
    netemRequest(pfe, { ifname: 'fe-0/0/0', set: { lossPct: 100 } });
    port.send(frame(3));
    expect(pfe.ifds.get('fe-0/0/0')!.counters.drops.get('netem-loss')).toBe(1);
    expect(netemRequest(pfe, {})).toMatchObject({ netem: [{ counters: { packets: 1, lost: 1 } }] });
    expect(netemRequest(pfe, { ifname: 'fe-0/0/0', clear: true })).toEqual({ netem: [] });
    port.send(frame(4)); expect(sent.at(-1)![0]).toBe(4);
  });

  it('requests: a port that does not exist, bad parameters, both set and clear', () => {
    const pfe = { ifds: new Map() };
    withNetem(pfe, 'fe-0/0/1', { send() {}, onReceive() {} });
    expect(netemRequest(pfe, { ifname: 'fe-0/0/3', set: {} })).toEqual({ error: 'netem: fe-0/0/3 is not a port of this router with a link (ports: fe-0/0/1)' });
    expect(netemRequest(pfe, { ifname: 'fe-0/0/1', set: { lossPct: -1 } })).toMatchObject({ error: expect.stringMatching(/lossPct/) });
    expect(netemRequest(pfe, { ifname: 'fe-0/0/1', set: {}, clear: true })).toMatchObject({ error: expect.stringMatching(/exactly one/) });
    expect(netemRequest(pfe, null)).toMatchObject({ error: expect.any(String) });
  });
});
