/**
 * An ES PIC worker that dies or hangs under traffic loses the SAs kmd negotiated on it: kmd is told,
 * deletes them with the peer (DELETE) and negotiates new ones at once, so traffic resumes with a new
 * SA pair after one quick mode, and both kmd logs say why.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { MemLab, gateways } from '../../src/lab/memlab.js';
import type { EsPicSet } from '../../pics/es/es-pic.js';

const TOPO = join(import.meta.dirname, '../../topologies');
let lab: MemLab | undefined;
afterEach(async () => { await lab?.close(); lab = undefined; });

async function until<T>(f: () => T | false | undefined | Promise<T | false | undefined>, what: string, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setImmediate(r));
  }
}

for (const fault of ['dies', 'hangs'] as const) {
  describe(`an ES PIC worker that ${fault} under traffic`, () => {
    it('kmd deletes its negotiated SAs with the peer and negotiates new ones at once; traffic resumes', async () => {
      const t = await gateways(readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8'), readFileSync(join(TOPO, 'gw-b-ike.conf'), 'utf8'), { ipsec: 'worker' });
      lab = t.lab;
      expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 5000 })).toHaveLength(1);
      const spi = () => t.gwA.kmd.tunnels.get('es-0/1/0.0')!.installed.map(x => x.outSpi.esp).at(-1);
      const before = spi();
      expect(before).toBeDefined();
      // steady traffic across the fault: one ping after another until one crosses on the new SA
      let stop = false, sent = 0, got = 0, gotAfter = 0, r0 = Number.MAX_SAFE_INTEGER;
      const pic = (t.gwA.ipsec as EsPicSet).pics.get('0/1')!;
      const traffic = (async () => {
        while (!stop) {
          sent++;
          const r = await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 300 });
          got += r.length;
          if (r.length && pic.restarts > r0 && spi() !== before) gotAfter++;
        }
      })();
      await until(() => got >= 3, 'pings across the first SA');
      // a busy machine may already have restarted a starved worker (its heartbeat): count from here
      r0 = pic.restarts;
      if (fault === 'dies') pic.crashForTest(); else pic.hangForTest(60_000);
      await until(() => pic.restarts > r0, 'the worker to be replaced');
      await until(() => gotAfter >= 3, 'pings across a new SA');
      stop = true;
      await traffic;
      expect(spi()).not.toBe(before);
      const logA = t.gwA.log.read('kmd')!.join('\n'), logB = t.gwB.log.read('kmd')!.join('\n');
      const why = fault === 'dies' ? 'died' : 'hung';
      expect(logA).toMatch(new RegExp(`KMD_PM_PIC_RESTART: IPsec SA dynamic-sa1 on es-0/1/0.0 with 10.6.6.6: ES PIC 0/1 worker ${why}; deleted and negotiated again`));
      // the peer was told (DELETE), not left to find out from INVALID-SPI
      expect(logB).toMatch(/KMD_PM_SA_DELETED: IPsec SA dynamic-sa1 on es-0\/1\/0.0 with 10.5.5.5 removed: 10.5.5.5 deleted it/);
      expect(logB).not.toContain('INVALID-SPI');
      expect(t.gwA.pfe.drops.get('internal-error') ?? 0).toBe(0);
      expect(t.gwB.pfe.drops.get('internal-error') ?? 0).toBe(0);
      // one SA pair on each side, and the new one carries traffic
      expect(t.gwA.kmd.tunnels.get('es-0/1/0.0')!.installed).toHaveLength(1);
      expect(t.gwB.kmd.tunnels.get('es-0/1/0.0')!.installed).toHaveLength(1);
      expect(await t.hostA.ping('10.2.2.2', { count: 3 })).toHaveLength(3);
    }, 60000);
  });
}
