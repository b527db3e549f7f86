/**
 * The ES PIC's express path (es-pic.ts): a packet that finds the PIC idle is sealed or opened on the
 * caller's thread, on the worker's own SAs (shared state, sa.ts SaStateTable). One SA's sequence
 * numbers, counters and replay window run on across both paths; nothing is reordered; an SA change
 * waits for the worker to take it first; a busy or hung worker, or a spent credit, sends packets to
 * the worker.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { EsPic } from './es-pic.js';
import { SaStateTable, SecurityAssociation, type SaSpec } from './sa.js';
import { IpsecCore } from './core.js';
import { buildIpv4, PROTO_ICMP } from '../../src/net/ipv4.js';
import { ipToInt } from '../../src/net/ip.js';
import { until } from '../../test/helpers/settle.js';
import type { EsTunnelConfig } from '../../src/pfe/types.js';

const tunnel = { source: ipToInt('10.5.5.5'), destination: ipToInt('10.6.6.6') };
const IFL = 'es-0/1/0.0';
const inner = (id: number) => buildIpv4({ protocol: PROTO_ICMP, src: ipToInt('10.1.1.1'), dst: ipToInt('10.2.2.2'), id, ttl: 63 }, Buffer.alloc(56, 0xab));
const spec = (spi: number, direction: 'inbound' | 'outbound' = 'outbound'): SaSpec => ({
  name: 'dyn', direction, protocol: 'esp', mode: 'tunnel', spi, manual: false, tunnel, replayWindow: 64,
  enc: { algorithm: '3des-cbc', key: Buffer.from('123456789009876543211234') }, auth: { algorithm: 'hmac-sha1-96', key: Buffer.from('12345678901234567890') },
});
const dynTunnel: EsTunnelConfig[] = [{ ifl: IFL, pic: '0/1', sa: { name: 'dyn', mode: 'tunnel', dynamic: { ipsecPolicy: 'p' } }, ...tunnel }];
const manualTunnel = (spi: number): EsTunnelConfig[] => [{
  ifl: IFL, pic: '0/1', ...tunnel,
  sa: {
    name: 'man', mode: 'tunnel', manual: {
      outbound: { protocol: 'esp', spi, enc: { algorithm: '3des-cbc', key: Buffer.from('123456789009876543211234') }, auth: { algorithm: 'hmac-md5-96', key: Buffer.from('1234567890123456') } },
      inbound: { protocol: 'esp', spi: spi + 1, enc: { algorithm: '3des-cbc', key: Buffer.from('123456789009876543211234') }, auth: { algorithm: 'hmac-md5-96', key: Buffer.from('1234567890123456') } },
    },
  },
} as EsTunnelConfig];

/** What a PIC handed back, in order: the packet without the worker's Ethernet headroom, and which path made it. */
interface Out { pkt: Buffer; express: boolean }
function collect(pic: EsPic): { outer: Out[]; inner: Out[] } {
  const got = { outer: [] as Out[], inner: [] as Out[] };
  pic.setSink({
    outer: (_ifl, pkt, _t, headroom) => { got.outer.push({ pkt: Buffer.from(headroom ? pkt.subarray(14) : pkt), express: !headroom }); },
    inner: (_ifl, pkt, _t, headroom) => { got.inner.push({ pkt: Buffer.from(headroom ? pkt.subarray(14) : pkt), express: !headroom }); },
  });
  return got;
}
const seqOf = (o: Out) => o.pkt.readUInt32BE(24);
const spiOf = (o: Out) => o.pkt.readUInt32BE(20);

const pics: EsPic[] = [];
afterEach(async () => { await Promise.all(pics.splice(0).map(p => p.close())); });
async function newPic(): Promise<EsPic> {
  const p = new EsPic('0/1');
  pics.push(p);
  await p.ready;
  await p.selfTested;
  return p;
}
/** A PIC with one negotiated outbound SA, that has sealed a lone packet on the express path already. */
async function sealing(spi: number): Promise<{ pic: EsPic; got: { outer: Out[]; inner: Out[] } }> {
  const pic = await newPic();
  const got = collect(pic);
  pic.configure(dynTunnel);
  pic.installDynamic(IFL, { outbound: spec(spi) });
  await lone(pic, got.outer, i => pic.encrypt(IFL, inner(i)), 1);
  return { pic, got };
}
/** Nothing waits on the ring into the worker (it has taken everything queued). */
const taken = (pic: EsPic) => (pic as unknown as { toRing: { empty: boolean } }).toRing.empty;
/** Lone packets, each sent only once the one before it came out, until `n` went the express path (at most `max` tries). */
async function lone(pic: EsPic, got: Out[], send: (i: number) => void, n: number, max = 200): Promise<number> {
  const before = pic.expressed;
  let sent = 0;
  while (pic.expressed - before < n && sent < max) {
    const had = got.length;
    send(sent++);
    await until(() => got.length > had, 'a lone packet handed back');
  }
  return sent;
}

describe('ES PIC express path', () => {
  it('lone packets go the express path, a burst the worker; one SA numbers them 1, 2, 3 ... across both, in order', async () => {
    const pic = await newPic();
    const got = collect(pic);
    pic.configure(dynTunnel);
    pic.installDynamic(IFL, { outbound: spec(0x1001) });
    const first = await lone(pic, got.outer, i => pic.encrypt(IFL, inner(i)), 3);
    expect(pic.expressed).toBeGreaterThanOrEqual(3);
    // a burst in one turn: the credit (EXPRESS_BURST_MS) runs out, the rest goes to the worker
    const b = pic.expressed;
    for (let i = 0; i < 3000; i++) pic.encrypt(IFL, inner(1000 + i));
    expect(pic.expressed - b).toBeLessThan(3000);
    const burst = got.outer.length;
    await until(() => got.outer.length === first + 3000, 'the burst sealed');
    expect(got.outer.slice(burst).every(o => !o.express)).toBe(true);
    await lone(pic, got.outer, i => pic.encrypt(IFL, inner(5000 + i)), 2);
    const n = got.outer.length;
    expect(got.outer.some(o => o.express)).toBe(true);
    expect(got.outer.some(o => !o.express)).toBe(true);
    // one sequence, in the order the packets were given: nothing reordered, nothing numbered twice
    expect(got.outer.map(seqOf)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(got.outer.every(o => spiOf(o) === 0x1001)).toBe(true);
    const snap = await pic.snapshot();
    expect(snap.encrypted).toBe(n);
    expect(snap.sas.find(s => s.direction === 'outbound')).toMatchObject({ packets: n, sequence: n + 1 });
  });

  it('opens on both paths share the replay window: a packet opened on one is a replay on the other', async () => {
    const sealer = new SecurityAssociation(spec(0x2002));
    const wire = Array.from({ length: 40 }, (_, i) => { const r = sealer.encapsulate(inner(i)); if (!r.ok) throw new Error(r.reason); return r.packet; });
    const pic = await newPic();
    const got = collect(pic);
    pic.configure(dynTunnel);
    pic.installDynamic(IFL, { inbound: spec(0x2002, 'inbound') });
    // the first ten alone (the express path, mostly)
    for (let i = 0; i < 10; i++) { const had = got.inner.length; pic.decrypt(IFL, wire[i]!); await until(() => got.inner.length > had, 'opened'); }
    expect(pic.expressed).toBeGreaterThan(0);
    // all forty behind a worker that is busy for a moment: the worker opens them, and finds the first ten replays
    let before = pic.expressed;
    pic.hangForTest(200);
    await until(() => taken(pic), 'the hang taken');
    for (const w of wire) pic.decrypt(IFL, w);
    await until(async () => { const s = await pic.snapshot(); return s.sas[0]!.packets === 40 && s.drops.replay === 10; }, 'the thirty new ones opened, ten replays');
    expect(pic.expressed).toBe(before);
    // ten the worker opened, alone again: the express path finds them replays
    before = pic.expressed;
    for (let i = 10; i < 20; i++) { pic.decrypt(IFL, wire[i]!); await until(() => pic.expressed > before || taken(pic), 'taken'); await new Promise<void>(r => setImmediate(r)); }
    const snap = await until(async () => { const s = await pic.snapshot(); return s.drops.replay === 20 && s; }, 'twenty replays counted');
    expect(pic.expressed).toBeGreaterThan(before);
    // each packet opened exactly once, whichever path took it
    expect(got.inner).toHaveLength(40);
    expect(new Set(got.inner.map(o => o.pkt.readUInt16BE(4))).size).toBe(40);
    expect(snap.sas[0]).toMatchObject({ packets: 40, drops: expect.objectContaining({ replay: 20 }) });
  });

  it('an SA change is the worker\'s first: a packet right after it is not expressed on the old SA, and the express path then uses the new one', async () => {
    const pic = await newPic();
    const got = collect(pic);
    pic.configure(manualTunnel(0x3000));
    await lone(pic, got.outer, i => pic.encrypt(IFL, inner(i)), 1);
    expect(spiOf(got.outer.at(-1)!)).toBe(0x3000);
    for (let round = 1; round <= 20; round++) {
      const spi = 0x3000 + round * 2;
      pic.configure(manualTunnel(spi));
      const had = got.outer.length;
      pic.encrypt(IFL, inner(round));                          // same turn as the change: behind it on the ring
      await until(() => got.outer.length > had, 'sealed');
      expect(got.outer.at(-1)).toMatchObject({ express: false });
      expect(spiOf(got.outer.at(-1)!)).toBe(spi);
      // a microtask later (the wake-up sent): the change may still be on the ring, and the packet waits behind it
      pic.configure(manualTunnel(spi + 0x100));
      await Promise.resolve();
      pic.encrypt(IFL, inner(round + 50));
      await until(() => got.outer.length > had + 1, 'sealed');
      expect(spiOf(got.outer.at(-1)!)).toBe(spi + 0x100);
      expect(seqOf(got.outer.at(-1)!)).toBe(1);
      pic.configure(manualTunnel(spi));
      await lone(pic, got.outer, i => pic.encrypt(IFL, inner(100 + i)), 1);
      // a new SA: its own sequence numbers from 1, whichever path sealed
      const again = got.outer.slice(had + 2);
      expect(again.map(o => [spiOf(o), seqOf(o)])).toEqual(again.map((_, i) => [spi, i + 1]));
    }
  });

  it('a hung worker holds its lock: nothing is expressed meanwhile, and its packets wait on the ring in order', async () => {
    const { pic, got } = await sealing(0x4004);
    const had = got.outer.length, expressed = pic.expressed;
    pic.hangForTest(1500);
    // the worker has taken the hang off the ring: the ring is empty, and only the lock keeps packets off the express path
    await until(() => taken(pic), 'the hang taken');
    for (let i = 0; i < 5; i++) { pic.encrypt(IFL, inner(100 + i)); await new Promise<void>(r => setImmediate(r)); }
    await until(() => got.outer.length === had + 5, 'sealed after the hang');
    expect(pic.expressed).toBe(expressed);
    expect(got.outer.slice(had).map(seqOf)).toEqual([had + 1, had + 2, had + 3, had + 4, had + 5]);
  }, 15000);

  it('a result not yet handed back, or a packet over 2,048 bytes, keeps a packet off the express path', async () => {
    const { pic, got } = await sealing(0x6006);
    let had = got.outer.length, expressed = pic.expressed;
    // a result the worker handed back that this thread has not drained yet (pushed here by hand, no wake-up)
    const fromRing = (pic as unknown as { fromRing: { push(op: number, idx: number, pkt: Buffer): boolean } }).fromRing;
    expect(fromRing.push(99, 0, Buffer.alloc(20))).toBe(true);
    pic.encrypt(IFL, inner(500));
    expect(pic.expressed).toBe(expressed);
    await until(() => got.outer.length > had, 'sealed by the worker');
    expect(got.outer.at(-1)).toMatchObject({ express: false });
    // over EXPRESS_MAX: the worker's, however idle the PIC
    await lone(pic, got.outer, i => pic.encrypt(IFL, inner(600 + i)), 1);
    had = got.outer.length; expressed = pic.expressed;
    const big = buildIpv4({ protocol: PROTO_ICMP, src: ipToInt('10.1.1.1'), dst: ipToInt('10.2.2.2'), id: 7, ttl: 63 }, Buffer.alloc(2100, 1));
    for (let i = 0; i < 5; i++) { const n = got.outer.length; pic.encrypt(IFL, big); await until(() => got.outer.length > n, 'sealed'); }
    expect(pic.expressed).toBe(expressed);
    expect(got.outer.slice(had).every(o => !o.express)).toBe(true);
    expect(got.outer.map(seqOf)).toEqual(got.outer.map((_, i) => i + 1));
  });

  it('a restarted worker gets a new table, and the express path its SAs again', async () => {
    const pic = await newPic();
    const got = collect(pic);
    pic.configure(manualTunnel(0x5000));
    await lone(pic, got.outer, i => pic.encrypt(IFL, inner(i)), 2);
    pic.crashForTest();
    await until(() => pic.restarts === 1, 'restarted');
    await pic.selfTested;
    const had = got.outer.length;
    await lone(pic, got.outer, i => pic.encrypt(IFL, inner(200 + i)), 2);
    // the new worker's SA starts afresh (manual SAs are reinstalled from the configuration)
    expect(got.outer.slice(had).map(seqOf)).toEqual(got.outer.slice(had).map((_, i) => i + 1));
    expect((await pic.snapshot()).sas.find(s => s.direction === 'outbound')!.packets).toBe(got.outer.length - had);
  });
});

describe('SA state table', () => {
  it('gives two cores that apply the same changes the same slots, frees what they drop, and a full table gives private state', () => {
    const t = SaStateTable.create(4);
    const mine = new IpsecCore({ table: t, init: true });
    const view = new IpsecCore({ table: new SaStateTable(t.sab), init: false });
    for (const c of [mine, view]) { c.configure(dynTunnel); c.installDynamic(IFL, { outbound: spec(1), inbound: spec(2, 'inbound') }); }
    const slots = (c: IpsecCore) => { const x = c.tunnels.get(IFL)!; return [x.outbound!.slot, x.inbound!.slot]; };
    expect(slots(mine)).toEqual([1, 0]);
    expect(slots(view)).toEqual(slots(mine));
    // state written through one is read through the other
    expect(mine.encrypt(IFL, inner(1)).ok).toBe(true);
    expect(view.tunnels.get(IFL)!.outbound!.sequence).toBe(2);
    expect(view.encrypt(IFL, inner(2)).ok).toBe(true);
    expect(mine.tunnels.get(IFL)!.outbound!.counters.packets).toBe(2);
    // a rekey: the new pair takes free slots, the replaced outbound gives its own back
    for (const c of [mine, view]) c.installDynamic(IFL, { outbound: spec(3), inbound: spec(4, 'inbound') });
    expect(slots(mine)).toEqual([3, 2]);
    expect(slots(view)).toEqual(slots(mine));
    for (const c of [mine, view]) c.installDynamic(IFL, { outbound: spec(5) });
    expect(mine.tunnels.get(IFL)!.outbound!.slot).toBe(1);
    // slot 3 is free again; then the table is full, and the next SA keeps private state, on both sides alike
    for (const c of [mine, view]) c.installDynamic(IFL, { inbound: spec(6, 'inbound') });
    expect(mine.tunnels.get(IFL)!.inbound!.slot).toBe(3);
    for (const c of [mine, view]) c.installDynamic(IFL, { inbound: spec(7, 'inbound') });
    expect(mine.tunnels.get(IFL)!.inbound!.slot).toBe(-1);
    expect(view.tunnels.get(IFL)!.inbound!.slot).toBe(-1);
    expect(t.inUse).toBe(4);
    for (const c of [mine, view]) c.removeDynamic(IFL, [2, 4, 6, 7], [5]);
    expect(t.inUse).toBe(0);
    for (const c of [mine, view]) c.configure([]);
    expect(t.inUse).toBe(0);
  });
});
