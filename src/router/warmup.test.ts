/** The start-up warm-up: traffic crosses its throw-away Figure 11 and comes back, and a broken path says so. */
import { describe, it, expect, vi, afterEach } from 'vitest';
import { warmUp } from './warmup.js';
import { EsPic } from '../../pics/es/es-pic.js';
import { IpsecCore } from '../../pics/es/core.js';
import { join } from 'node:path';
import { figure11 } from '../lab/memlab.js';
import { Pfe } from '../pfe/pfe.js';

afterEach(() => { vi.restoreAllMocks(); });

describe('the PFE warm-up', () => {
  it('sends bursts through two PFEs, TapPorts on stand-in devices and ES PICs running their turn in this thread, sealed and opened both ways, until its packet count', async () => {
    const seal = vi.spyOn(IpsecCore.prototype, 'encrypt'), open = vi.spyOn(IpsecCore.prototype, 'decrypt');
    const r = await warmUp({ packets: 100, budgetMs: 60_000 });
    expect(r).toMatchObject({ ok: true, packets: 100 });   // five bursts of 20
    // each burst: 8 segments and 4 pings to host-b, 4 ACKs and 4 echo replies back, each sealed once and opened once
    expect(seal).toHaveBeenCalledTimes(100);
    expect(open).toHaveBeenCalledTimes(100);
    expect(seal.mock.results.every(x => x.value.ok)).toBe(true);
  });

  it('stops at its time budget', async () => {
    let t = 0;
    const r = await warmUp({ packets: 1e9, budgetMs: 100, now: () => (t += 10) });
    expect(r.ok).toBe(true);
    expect(r.packets).toBeGreaterThan(0);
    expect(r.packets).toBeLessThan(200);
  });

  it('nothing to do with packets: 0', async () => {
    const seal = vi.spyOn(IpsecCore.prototype, 'encrypt');
    expect(await warmUp({ packets: 0 })).toMatchObject({ ok: true, packets: 0 });
    expect(seal).not.toHaveBeenCalled();
  });

  it('a path that loses packets is reported, not waited for', async () => {
    let n = 0;
    const real = EsPic.prototype.decrypt;
    vi.spyOn(EsPic.prototype, 'decrypt').mockImplementation(function (this: EsPic, ifl: string, pkt: Buffer, trace?: number) { if (++n !== 30) real.call(this, ifl, pkt, trace); });
    const r = await warmUp({ packets: 1000, budgetMs: 60_000 });
    expect(r.ok).toBe(false);
    expect(r.failure).toMatch(/^a burst did not come through: \d+ of 12 packets reached host-b, \d+ of 8 host-a$/);
    expect(r.packets).toBe(20);
  });

  it("leaves a router of the same process alone: its interfaces, SAs and PIC count nothing of it", async () => {
    const t = await figure11(join(import.meta.dirname, '../../topologies'));
    try {
      const counts = async () => ({
        pic: await t.gwA.picSnapshot(),
        ifds: [t.gwA, t.gwB].flatMap(r => [...r.pfe.ifds.values()].map(d => [d.name, d.counters.inPackets, d.counters.outPackets, [...d.counters.drops]])),
        drops: [t.gwA, t.gwB].map(r => [...r.pfe.drops]),
      });
      const before = await counts();
      expect(await warmUp({ packets: 200, budgetMs: 60_000 })).toMatchObject({ ok: true });
      expect(await counts()).toEqual(before);
      expect(before.pic.encrypted + before.pic.decrypted).toBe(0);
      // and the router still forwards, its counters then moving
      expect(await t.hostA.ping('10.2.2.2')).toHaveLength(1);
      expect((await t.gwA.picSnapshot()).encrypted).toBe(1);
      expect(t.gwA.pfe.ifds.get('fe-0/0/1')!.counters.inPackets).toBeGreaterThan(before.ifds.find(x => x[0] === 'fe-0/0/1')![1] as number);
    } finally { await t.lab.close(); }
  });

  it('a callback that throws ends it with the reason, never the process; an abort ends it at once', async () => {
    vi.spyOn(Pfe.prototype as unknown as { receiveFrames: () => void }, 'receiveFrames').mockImplementationOnce(() => { throw new Error('boom'); });
    expect(await warmUp({ packets: 1000, budgetMs: 60_000 })).toMatchObject({ ok: false, failure: 'threw: boom', packets: 0 });
    vi.restoreAllMocks();
    const stop = new AbortController();
    stop.abort();
    expect(await warmUp({ packets: 1000, budgetMs: 60_000, signal: stop.signal })).toMatchObject({ ok: true, packets: 0 });
  });
});
