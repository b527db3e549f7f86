import { describe, it, expect } from 'vitest';
import { Ring, newRing } from './ring.js';

describe('shared-memory packet ring', () => {
  it('carries every record in order across many wrap-arounds, whatever the sizes', () => {
    const r = newRing(4096);
    const prod = new Ring(r), cons = new Ring(r);
    let seed = 7, sent = 0, got = 0, full = 0;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    for (let round = 0; round < 2000; round++) {
      const burst = rnd() % 9;
      for (let k = 0; k < burst; k++) {
        const len = rnd() % 700;
        const pkt = Buffer.alloc(len, (sent + 1) & 0xff);
        if (prod.push(1, sent & 0xffff, pkt)) sent++; else full++;
      }
      // holds(n) agrees with what a drain then finds, across the wrap-arounds
      let waiting = 0;
      if (rnd() % 3 === 0) { for (let n = 1; n <= 3; n++) if (cons.holds(n)) waiting = n; }
      else waiting = -1;
      const before = got;
      if (waiting >= 0) cons.drain((op, ifl, pkt) => {
        expect(op).toBe(1);
        expect(ifl).toBe(got & 0xffff);
        expect(pkt.every(b => b === ((got + 1) & 0xff))).toBe(true);
        got++;
      });
      if (waiting >= 0) { expect(Math.min(got - before, 3)).toBe(waiting); expect(cons.holds(1)).toBe(false); }
    }
    cons.drain(() => { got++; });
    expect(got).toBe(sent);
    expect(full).toBeGreaterThan(0);   // the small ring did fill up, and nothing was corrupted
  });
  it('a record ending exactly at the end of the buffer wraps cleanly', () => {
    const r = newRing(64);
    const p = new Ring(r), c = new Ring(r);
    const out: number[] = [];
    for (let i = 0; i < 50; i++) {
      expect(p.push(0, i, Buffer.alloc(8))).toBe(true);   // 16-byte records: exactly 4 per ring
      c.drain((_o, ifl) => out.push(ifl));
    }
    expect(out).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
  it('holds(n, except) does not count records of that op (SA changes: a lone packet after one is still lone)', () => {
    const r = newRing(1 << 12);
    const p = new Ring(r), c = new Ring(r);
    p.push(9, 0, Buffer.alloc(4)); p.push(1, 0, Buffer.alloc(40));
    expect(c.holds(2)).toBe(true);
    expect(c.holds(2, 9)).toBe(false);
    p.push(9, 0, Buffer.alloc(4)); p.push(1, 0, Buffer.alloc(40));
    expect(c.holds(2, 9)).toBe(true);
    expect(c.holds(3, 9)).toBe(false);
    let n = 0; c.drain(() => { n++; });
    expect(n).toBe(4);
    expect(c.holds(1, 9)).toBe(false);
  });
});
