/**
 * SA changes reach the ES PIC worker in order with the packets (on the same ring): a packet queued
 * right after an install is sealed with the new SA, one queued right after a remove finds none.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { EsPic } from './es-pic.js';
import type { SaSpec } from './sa.js';
import { buildIpv4, PROTO_ICMP } from '../../src/net/ipv4.js';
import { ipToInt } from '../../src/net/ip.js';
import { until } from '../../test/helpers/settle.js';

const tunnel = { source: ipToInt('10.5.5.5'), destination: ipToInt('10.6.6.6') };
const inner = (id: number) => buildIpv4({ protocol: PROTO_ICMP, src: ipToInt('10.1.1.1'), dst: ipToInt('10.2.2.2'), id, ttl: 63 }, Buffer.alloc(56, 0xab));
const spec = (spi: number): SaSpec => ({
  name: 'dyn', direction: 'outbound', protocol: 'esp', mode: 'tunnel', spi, manual: false, tunnel,
  enc: { algorithm: '3des-cbc', key: Buffer.from('123456789009876543211234') }, auth: { algorithm: 'hmac-sha1-96', key: Buffer.from('12345678901234567890') },
});

let pic: EsPic | undefined;
afterEach(async () => { await pic?.close(); pic = undefined; });

describe('ES PIC ordering', () => {
  it('install, packets, remove, packets, install, packets: each packet sees the SA state queued before it', async () => {
    pic = new EsPic('0/1');
    await pic.ready;
    const sealed: number[] = [];
    let done!: () => void;
    const all = new Promise<void>(r => { done = r; });
    pic.setSink({ outer: (_ifl, pkt) => { sealed.push(pkt.readUInt32BE(14 + 20)); if (sealed.length === 20) done(); }, inner: () => {} });
    pic.configure([{ ifl: 'es-0/1/0.0', pic: '0/1', sa: { name: 'dyn', mode: 'tunnel', dynamic: { ipsecPolicy: 'p' } }, ...tunnel }]);
    // all in one tick: nothing waits for the worker between the steps
    pic.installDynamic('es-0/1/0.0', { outbound: spec(0x1001) });
    for (let i = 0; i < 10; i++) pic.encrypt('es-0/1/0.0', inner(i));
    pic.removeDynamic('es-0/1/0.0', [], [0x1001]);
    for (let i = 0; i < 5; i++) pic.encrypt('es-0/1/0.0', inner(100 + i));
    pic.installDynamic('es-0/1/0.0', { outbound: spec(0x2002) });
    for (let i = 0; i < 10; i++) pic.encrypt('es-0/1/0.0', inner(200 + i));
    await all;
    expect(sealed).toEqual([...Array(10).fill(0x1001), ...Array(10).fill(0x2002)]);
    expect((await pic.snapshot()).drops['no-sa']).toBe(5);
  });

  it('a snapshot asked right after an SA change shows it (the port may be read before the ring)', async () => {
    pic = new EsPic('0/1');
    await pic.ready;
    pic.configure([{ ifl: 'es-0/1/0.0', pic: '0/1', sa: { name: 'dyn', mode: 'tunnel', dynamic: { ipsecPolicy: 'p' } }, ...tunnel }]);
    for (let n = 1; n <= 50; n++) {
      pic.installDynamic('es-0/1/0.0', { outbound: spec(0x3000 + n) });
      expect((await pic.snapshot()).sas.map(s => s.spi)).toContain(0x3000 + n);
      pic.removeDynamic('es-0/1/0.0', [], [0x3000 + n]);
      expect((await pic.snapshot()).sas.map(s => s.spi)).not.toContain(0x3000 + n);
    }
  });

  it('an SA change that finds the ring full waits, and neither an older change nor a newer packet overtakes it', async () => {
    pic = new EsPic('0/1');
    await pic.ready;
    let sealed = 0;
    pic.setSink({ outer: () => { sealed++; }, inner: () => {} });
    pic.configure([{ ifl: 'es-0/1/0.0', pic: '0/1', sa: { name: 'dyn', mode: 'tunnel', dynamic: { ipsecPolicy: 'p' } }, ...tunnel }]);
    pic.installDynamic('es-0/1/0.0', { outbound: spec(0x4001) });
    pic.hangForTest(300);                                               // the worker stops draining here, so the ring fills
    const big = buildIpv4({ protocol: 17, src: 1, dst: 2 }, Buffer.alloc(60000));
    const small = buildIpv4({ protocol: 17, src: 1, dst: 2 }, Buffer.alloc(10));
    let sent = 0;
    for (; sent < 80; sent++) pic.encrypt('es-0/1/0.0', big);         // 4.8 MB at once into a 4 MiB ring
    while (pic.drops['pic-busy'] < 40) { pic.encrypt('es-0/1/0.0', small); sent++; }  // and the last bytes of room
    const accepted = sent - pic.drops['pic-busy'];
    pic.removeDynamic('es-0/1/0.0', [], [0x4001]);                      // no room: it waits
    expect(pic.saStateWaited).toBe(1);
    const busy = pic.drops['pic-busy'];
    for (let i = 0; i < 5; i++) pic.encrypt('es-0/1/0.0', big);       // behind the remove: refused, never sealed with 0x4001
    expect(pic.drops['pic-busy'] - busy).toBe(5);
    await until(async () => (await pic!.snapshot()).sas.length === 0 || undefined, 'the remove to reach the worker', 20_000, 20);
    pic.encrypt('es-0/1/0.0', big);
    await until(async () => (await pic!.snapshot()).drops['no-sa'] >= 1 || undefined, 'a packet after the remove to find no SA', 20_000, 20);
    // every packet accepted before the remove was sealed, or counted where the results ring was full;
    // the snapshot's answer may come before the last results reach the sink (two paths): wait for them
    const accounted = async () => { const s = await pic!.snapshot(); return sealed + (s.drops['pic-busy'] - pic!.drops['pic-busy']); };
    await until(async () => (await accounted()) >= accepted || undefined, 'every accepted packet sealed or counted', 20_000, 20);
    expect(await accounted()).toBe(accepted);
  });

  it('a snapshot the worker answers late is its last answer, marked stale, not a PIC without SAs', async () => {
    pic = new EsPic('0/1', { hangMs: 60_000 });
    await pic.ready;
    pic.configure([{ ifl: 'es-0/1/0.0', pic: '0/1', sa: { name: 'dyn', mode: 'tunnel', dynamic: { ipsecPolicy: 'p' } }, ...tunnel }]);
    pic.installDynamic('es-0/1/0.0', { outbound: spec(0x5001) });
    const fresh = await pic.snapshot();
    expect(fresh.stale).toBeUndefined();
    expect(fresh.sas.map(s => s.spi)).toEqual([0x5001]);
    pic.hangForTest(1500);
    const late = await pic.snapshot(100);
    expect(late.stale).toBe(true);
    expect(late.sas.map(s => s.spi)).toEqual([0x5001]);
  });
});
