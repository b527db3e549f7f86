/** The ES PIC worker in the Figure 11 lab: recovery, path MTU, and hostile packets on the wire. */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { figure11 } from '../../src/lab/memlab.js';
import type { EsPicSet } from './es-pic.js';
import { buildEth, ETH_IPV4 } from '../../src/net/ethernet.js';
import { buildIpv4, PROTO_ESP } from '../../src/net/ipv4.js';
import { ipToInt } from '../../src/net/ip.js';
import { ICMP_UNREACH, UNREACH_NEEDFRAG } from '../../src/net/l4.js';

const topo = join(import.meta.dirname, '../../topologies');
let close: (() => Promise<void>) | undefined;
afterEach(async () => { await close?.(); close = undefined; });
const until = async (f: () => Promise<boolean> | boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await f()) return true; await new Promise(r => setTimeout(r, 50)); }
  return false;
};

describe('ES PIC worker', () => {
  it('a crashed worker is restarted with its SAs and traffic resumes', async () => {
    const events: string[] = [];
    const t = await figure11(topo, { onEvent: e => events.push(e) });
    close = () => t.lab.close();
    expect(await t.hostA.ping('10.2.2.2')).toHaveLength(1);
    const pics = t.gwA.ipsec as EsPicSet;
    pics.pics.get('0/1')!.crashForTest();
    expect(await until(() => pics.pics.get('0/1')!.restarts === 1)).toBe(true);
    expect(await until(async () => (await t.hostA.ping('10.2.2.2', { timeoutMs: 300 })).length === 1)).toBe(true);
    expect(events.join('\n')).toMatch(/ES PIC 0\/1 worker exit; restarted with 1 tunnel/);
    expect((await pics.snapshot()).restarts).toBe(1);
  });

  it('a hung worker is detected and replaced; the PFE keeps working meanwhile', async () => {
    const t = await figure11(topo);
    close = () => t.lab.close();
    const pic = (t.gwA.ipsec as EsPicSet).pics.get('0/1')!;
    pic.hangForTest(60_000);
    // the router itself still answers while its ES PIC is stuck
    expect(await t.hostA.ping('10.1.1.254')).toHaveLength(1);
    expect(await until(() => pic.restarts >= 1, 8000)).toBe(true);
    expect(await until(async () => (await t.hostA.ping('10.2.2.2', { timeoutMs: 300 })).length === 1)).toBe(true);
  }, 15000);

  it('a main thread busy for longer than the hang time is not a hung PIC: no restart, nothing lost', async () => {
    const t = await figure11(topo);
    close = () => t.lab.close();
    const pic = (t.gwA.ipsec as EsPicSet).pics.get('0/1')!;
    expect(await t.hostA.ping('10.2.2.2')).toHaveLength(1);
    const end = Date.now() + 4000;
    while (Date.now() < end) { /* the router's own thread busy for 4 s (a big commit, say) */ }
    // two heartbeats answered after the busy spell, and the PIC is still the same one
    const pongs = pic.pongs;
    expect(await until(() => pic.pongs >= pongs + 2, 8000)).toBe(true);
    expect(pic.restarts).toBe(0);
    expect(await t.hostA.ping('10.2.2.2')).toHaveLength(1);
  }, 15000);

  it('path MTU: the es- MTU is the wire MTU less the SA overhead; DF gets fragmentation-needed, the rest is fragmented first', async () => {
    const t = await figure11(topo);
    close = () => t.lab.close();
    const es = t.gwA.pfe.ifls.get('es-0/1/0.0')!;
    const mtu = t.gwA.pfe.esMtu(es);
    // 3des-cbc + hmac-md5-96 tunnel: 20 outer + 8 ESP + 8 IV + padding + 2 + 12 ICV
    expect(mtu).toBe(1446);
    expect(mtu + t.gwA.ipsec.overhead('es-0/1/0.0', mtu)).toBeLessThanOrEqual(1500);
    await t.hostA.ping('10.2.2.2', { size: 1472, df: true, timeoutMs: 300 });
    expect(t.hostA.icmp).toContainEqual(expect.objectContaining({ type: ICMP_UNREACH, code: UNREACH_NEEDFRAG, rest: mtu }));
    // a full-size packet without DF crosses, fragmented before encryption, reassembled by host-b
    const r = await t.hostA.ping('10.2.2.2', { size: 1472, timeoutMs: 1000 });
    expect(r).toHaveLength(1);
    expect(r[0]!.bytes).toBe(1480);
    expect(await t.hostA.ping('10.2.2.2', { size: 1418, df: true })).toHaveLength(1); // 1446 exactly fits
  });

  it('forged, truncated, garbage and unknown-SPI ESP on the wire are dropped and counted; forwarding goes on', async () => {
    const t = await figure11(topo);
    close = () => t.lab.close();
    expect(await t.hostA.ping('10.2.2.2')).toHaveLength(1);
    const wireToB = t.transit.a;   // gw-a's end: frames sent here arrive at gw-b
    const macB = t.gwB.pfe.ifds.get('fe-0/0/0')!.mac;
    const send = (payload: Buffer) => wireToB.send(buildEth(macB, Buffer.from('020000000099', 'hex'), ETH_IPV4,
      buildIpv4({ protocol: PROTO_ESP, src: ipToInt('10.5.5.5'), dst: ipToInt('10.6.6.6'), ttl: 64 }, payload)));
    const esp = (spi: number, body: Buffer) => { const b = Buffer.alloc(8 + body.length); b.writeUInt32BE(spi, 0); b.writeUInt32BE(1, 4); body.copy(b, 8); return b; };
    send(esp(2312, Buffer.alloc(64, 7)));          // forged: wrong ICV
    send(esp(2312, Buffer.alloc(3)));              // truncated
    send(esp(9999, Buffer.alloc(64)));             // unknown SPI
    send(Buffer.alloc(2));                         // garbage
    const snapOk = await until(async () => {
      const s = await (t.gwB.ipsec as EsPicSet).snapshot();
      return s.drops['bad-icv'] >= 1 && s.drops['short-packet'] >= 1;
    });
    expect(snapOk).toBe(true);
    expect(t.gwB.pfe.drops.get('ipsec-no-sa')).toBe(1);
    expect(t.gwB.pfe.drops.get('ipsec-short-packet')).toBe(1);
    const sa = (await (t.gwB.ipsec as EsPicSet).snapshot()).sas.find(s => s.direction === 'inbound')!;
    expect(sa.drops['bad-icv']).toBe(1);
    expect(await t.hostA.ping('10.2.2.2', { count: 3 })).toHaveLength(3);
  });
});
