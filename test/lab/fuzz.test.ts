/**
 * Bad input never crashes a router: random frames and mutations of real ones (ARP, ICMP, ESP, with
 * bit flips and truncations) into both Figure 11 gateways; nothing throws, and pings still cross.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { figure11 } from '../../src/lab/memlab.js';
import { delivered } from '../helpers/settle.js';
import type { Port } from '../../src/pfe/types.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => { await close?.(); close = undefined; });

describe('fuzzing the gateways', () => {
  it('survives 20,000 hostile frames and keeps forwarding', async () => {
    const t = await figure11(join(import.meta.dirname, '../../topologies'), { ipsec: 'inline' });
    close = () => t.lab.close();
    // record real frames from every wire to mutate
    const seen: Buffer[] = [];
    for (const w of t.lab.wires.values()) w.watch((_f, frame) => { if (seen.length < 200) seen.push(Buffer.from(frame)); });
    expect(await t.hostA.ping('10.2.2.2', { count: 3 })).toHaveLength(3);
    expect(seen.length).toBeGreaterThan(10);
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    const errors: unknown[] = [];
    const onErr = (e: unknown) => errors.push(e);
    process.on('uncaughtException', onErr);
    try {
      const ends = [...t.lab.wires.values()].flatMap(w => [w.a, w.b]) as Port[];
      for (let i = 0; i < 20000; i++) {
        let f: Buffer;
        const base = seen[rnd() % seen.length]!;
        switch (rnd() % 4) {
          case 0: f = Buffer.from(Array.from({ length: rnd() % 200 }, () => rnd() & 255)); break;
          case 1: f = Buffer.from(base.subarray(0, rnd() % (base.length + 1))); break;
          default: {
            f = Buffer.from(base);
            for (let k = 0, n = 1 + (rnd() % 4); k < n; k++) f[14 + (rnd() % Math.max(1, f.length - 14))]! ^= 1 << (rnd() % 8);
          }
        }
        // keep the destination MAC of a real frame half the time, so the routers really parse it
        if (rnd() % 2 && f.length >= 6) base.copy(f, 0, 0, 6);
        ends[rnd() % ends.length]!.send(f);
        if (i % 500 === 0) await new Promise(r => setImmediate(r));
      }
      await delivered(t.lab);
    } finally { process.off('uncaughtException', onErr); }
    expect(errors).toEqual([]);
    // Pfe.guard turns what throws into internal-error drops: none may have happened
    expect([t.gwA.pfe.drops.get('internal-error') ?? 0, t.gwB.pfe.drops.get('internal-error') ?? 0]).toEqual([0, 0]);
    const drops = [...t.gwA.pfe.drops.values(), ...t.gwB.pfe.drops.values()].reduce((a, b) => a + b, 0);
    expect(drops).toBeGreaterThan(100);
    expect(await t.hostA.ping('10.2.2.2', { count: 3 })).toHaveLength(3);
  }, 60000);
});
