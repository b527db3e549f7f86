/** The compiled filter agrees with a plain reading of the terms, on random filters and packets. */
import { describe, it, expect } from 'vitest';
import { CompiledFilter } from './filter.js';
import type { FilterModel, TermModel } from '../config/model.js';
import { maskOf } from '../net/ip.js';

function rng(seed: number) { return () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; }; }

/** The meaning of a filter, written the obvious way. */
function reference(f: FilterModel, k: { src: number; dst: number; proto: number; sp: number; dp: number }): { verdict: string; hits: string[] } {
  const hits: string[] = [];
  const inP = (l: TermModel['sourceAddress'], ip: number) => l.some(p => ((ip & maskOf(p.len)) >>> 0) === p.addr);
  const inR = (l: Array<[number, number]>, x: number) => x >= 0 && l.some(([a, b]) => x >= a && x <= b);
  for (const t of f.terms) {
    if (t.sourceAddress.length && !inP(t.sourceAddress, k.src)) continue;
    if (t.destinationAddress.length && !inP(t.destinationAddress, k.dst)) continue;
    if (t.protocol.length && !t.protocol.includes(k.proto)) continue;
    if (t.sourcePort.length && !inR(t.sourcePort, k.sp)) continue;
    if (t.destinationPort.length && !inR(t.destinationPort, k.dp)) continue;
    hits.push(t.name);
    if (t.action.kind !== 'next') return { verdict: t.action.kind === 'ipsec-sa' ? `ipsec-sa ${t.action.sa}` : t.action.kind, hits };
  }
  return { verdict: 'discard', hits };
}

describe('compiled filters', () => {
  it('agree with the reference on 100 random filters and 400 packets each', () => {
    const r = rng(7);
    const pick = <T>(a: T[]) => a[r() % a.length]!;
    const addrs = [0x0a000000, 0x0a010100, 0xc0a80000, 0xac100000, 0xfffffff0, 0];
    for (let fi = 0; fi < 100; fi++) {
      const terms: TermModel[] = Array.from({ length: 1 + (r() % 12) }, (_, i) => {
        const pfx = () => Array.from({ length: r() % 3 }, () => { const len = pick([0, 8, 16, 24, 28, 32]); return { addr: (pick(addrs) & maskOf(len)) >>> 0, len }; });
        const ports = () => Array.from({ length: r() % 3 }, () => { const a = r() % 2000; return [a, a + (r() % 3 ? 0 : r() % 500)] as [number, number]; });
        const kinds = ['accept', 'discard', 'reject', 'next', 'ipsec-sa'] as const;
        const k = pick([...kinds]);
        return { name: `t${i}`, sourceAddress: pfx(), destinationAddress: pfx(), protocol: r() % 2 ? [] : [pick([1, 6, 17, 50])], sourcePort: r() % 3 ? [] : ports(), destinationPort: r() % 3 ? [] : ports(),
          action: k === 'ipsec-sa' ? { kind: k, sa: 'sa1' } : { kind: k }, ...(r() % 4 === 0 ? { count: `c${i % 3}` } : {}) };
      });
      const model: FilterModel = { name: `f${fi}`, terms };
      const f = new CompiledFilter(model);
      for (let k = 0; k < 400; k++) {
        const proto = pick([1, 6, 17, 50]);
        const key = { src: (pick(addrs) | (r() & 0xff)) >>> 0, dst: r() % 2 ? (pick(addrs) | (r() & 0xffff)) >>> 0 : r(), proto, sp: proto === 6 || proto === 17 ? r() % 2100 : -1, dp: proto === 6 || proto === 17 ? r() % 2100 : -1 };
        const before = f.terms.map(t => t.hits.packets);
        const v = f.evaluateFields(key.src, key.dst, key.proto, key.sp, key.dp, 100);
        const ref = reference(model, key);
        expect(v.action === 'ipsec-sa' ? `ipsec-sa ${v.sa}` : v.action).toBe(ref.verdict);
        expect(f.terms.filter((t, i) => t.hits.packets !== before[i]).map(t => t.name)).toEqual(ref.hits);
      }
    }
  });
  it('only numbers from the model reach the generated code', () => {
    const evil = { name: 'x', sourceAddress: [{ addr: 1.5, len: 32 }], destinationAddress: [], protocol: [], sourcePort: [], destinationPort: [], action: { kind: 'accept' as const } };
    expect(() => new CompiledFilter({ name: 'f', terms: [evil] })).toThrow(/not an integer/);
  });
});
