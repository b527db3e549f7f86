/**
 * Issue 21 item 2: Aggressive mode first messages spoofed from a configured peer's address make the
 * responder do Diffie-Hellman work before any round trip. The work is cheap (key objects) and
 * rationed per peer and in all; the router keeps answering pings meanwhile, half-open state stays
 * bounded, and a negotiation past message 3 is never evicted to make room for the flood's.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { MemLab, gateways } from '../../src/lab/memlab.js';
import { buildIpv4, PROTO_UDP } from '../../src/net/ipv4.js';
import { buildUdp } from '../../src/net/l4.js';
import { buildEth, ETH_IPV4 } from '../../src/net/ethernet.js';
import { ipToInt } from '../../src/net/ip.js';
import { encodeMessage, encodeId } from '../../src/kmd/codec.js';
import { ikeSaBody } from '../../src/kmd/proposals.js';
import { Pt, Xchg, IdType } from '../../src/kmd/constants.js';
import { DhKey } from '../../src/kmd/dh.js';
import { KMD_LIMITS } from '../../src/kmd/kmd.js';
import { maxLag, LAG_BOUND_MS } from '../helpers/lag.js';

const TOPO = join(import.meta.dirname, '../../topologies');
let lab: MemLab | undefined;
afterEach(async () => { await lab?.close(); lab = undefined; });

async function build() {
  const t = await gateways(readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8'), readFileSync(join(TOPO, 'gw-b-ike.conf'), 'utf8'), { ipsec: 'inline' });
  lab = t.lab;
  const mac = t.gwB.pfe.ifds.get('fe-0/0/0')!.mac;
  const peer = ipToInt('10.5.5.5'), gwB = ipToInt('10.6.6.6');
  /** an ISAKMP message to gw-b's UDP 500, from 10.5.5.5 (gw-a's address: spoofed) */
  const send = (m: Buffer, id = 0) => t.transit.a.send(buildEth(mac, Buffer.from('020000000001', 'hex'), ETH_IPV4, buildIpv4({ protocol: PROTO_UDP, src: peer, dst: gwB, id, ttl: 64 }, buildUdp({ src: peer, dst: gwB }, 500, 500, m))));
  const props = [...t.gwB.model!.ike.proposals.values()];
  const ke = new DhKey(1).pub;
  const idii = encodeId({ type: IdType.IPV4_ADDR, protocol: 0, port: 0, data: Buffer.from([10, 5, 5, 5]) });
  const aggressive1 = () => encodeMessage({ icookie: randomBytes(8), rcookie: Buffer.alloc(8), exchange: Xchg.AGGRESSIVE, flags: 0, mid: 0 },
    [{ type: Pt.SA, body: ikeSaBody(props) }, { type: Pt.KE, body: ke }, { type: Pt.NONCE, body: randomBytes(32) }, { type: Pt.ID, body: idii }]);
  const main1 = (icookie = randomBytes(8)) => encodeMessage({ icookie, rcookie: Buffer.alloc(8), exchange: Xchg.MAIN, flags: 0, mid: 0 }, [{ type: Pt.SA, body: ikeSaBody(props) }]);
  return { ...t, send, aggressive1, main1 };
}
const halfOpen = (t: Awaited<ReturnType<typeof build>>) => t.gwB.kmd.ikeSnapshot().filter(s => !s.matured && s.role === 'responder');

describe('an Aggressive mode first-message flood from a configured peer\'s address', () => {
  it('costs little: pings to the router are answered in time, DH work is rationed (counted, logged once), half-open state is bounded', async () => {
    const t = await build();
    expect(await t.hostB.ping('10.2.2.254', { count: 1 })).toHaveLength(1);   // ARP done before the clock starts
    // and the responder's code compiled: one first message, answered, before the flood
    t.send(t.aggressive1());
    const warm = Date.now() + 3000;
    while (t.gwB.kmd.ikeSnapshot().length === 0 && Date.now() < warm) await new Promise(r => setTimeout(r, 5));
    expect(t.gwB.kmd.ikeSnapshot()).toHaveLength(1);
    let sent = 0, flooding = true;
    const flood = (async () => {
      // 20 messages every 10 ms (about 2,000 a second), each a new negotiation
      while (flooding) {
        for (let i = 0; i < 20; i++) t.send(t.aggressive1(), sent++);
        await new Promise(r => setTimeout(r, 10));
      }
    })();
    const { value: replies, lagMs } = await maxLag(async () => {
      const r = await t.hostB.ping('10.2.2.254', { count: 40, intervalMs: 20, timeoutMs: 1000 });
      flooding = false; await flood;
      return r;
    });
    expect(sent).toBeGreaterThan(500);
    expect(replies).toHaveLength(40);
    expect(Math.max(...replies.map(r => r.rttMs))).toBeLessThan(LAG_BOUND_MS);
    expect(lagMs).toBeLessThan(LAG_BOUND_MS);
    const kmd = t.gwB.kmd;
    // most were refused before any Diffie-Hellman work; those let through are within the budget
    const limited = kmd.drops.get('ike-dh-rate-limited') ?? 0;
    expect(limited).toBeGreaterThan(sent / 2);
    expect(kmd.dhBudget.refused(ipToInt('10.5.5.5'))).toBe(limited);
    expect(halfOpen(t).length).toBeLessThanOrEqual(KMD_LIMITS.halfOpen);
    const lines = (t.gwB.log.read('kmd') ?? []).filter(l => l.includes('KMD_PM_DH_RATE_LIMIT'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`from 10\\.5\\.5\\.5: more than ${KMD_LIMITS.dhPerPeer.rate} a second`));
    // once the flood is over, the real peer negotiates (its budget refills)
    const end = Date.now() + 10_000;
    let ok = false;
    while (!ok && Date.now() < end) ok = (await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 1000 })).length === 1;
    expect(ok).toBe(true);
  }, 30_000);

  it('a negotiation past message 3 is never evicted by a flood of first messages', async () => {
    const t = await build();
    // play the initiator of one Main mode as far as message 3 (we see gw-b's answers on the wire)
    const replies = new Map<string, Buffer>();
    t.transit.watch((_from, f) => {
      if (f.readUInt16BE(12) !== 0x0800 || f[23] !== 17 || f.readUInt32BE(26) !== ipToInt('10.6.6.6')) return;
      const udp = 14 + (f[14]! & 15) * 4;
      if (f.readUInt16BE(udp) !== 500) return;
      const m = f.subarray(udp + 8);
      replies.set(m.subarray(0, 8).toString('hex'), Buffer.from(m));
    });
    const icookie = randomBytes(8);
    t.send(t.main1(icookie));
    const until = async (f: () => boolean) => { const end = Date.now() + 3000; while (!f() && Date.now() < end) await new Promise(r => setTimeout(r, 5)); };
    await until(() => replies.has(icookie.toString('hex')));
    const rcookie = replies.get(icookie.toString('hex'))!.subarray(8, 16);
    const mine = () => t.gwB.kmd.ikeSnapshot().find(s => s.icookie.equals(icookie));
    expect(mine()?.state).toBe('MM3');
    t.send(encodeMessage({ icookie, rcookie, exchange: Xchg.MAIN, flags: 0, mid: 0 }, [{ type: Pt.KE, body: new DhKey(1).pub }, { type: Pt.NONCE, body: randomBytes(32) }]));
    await until(() => mine()?.state === 'MM5');
    expect(mine()?.state).toBe('MM5');
    // now 500 Main mode first messages (no Diffie-Hellman work: they all get in, evicting each other)
    for (let i = 0; i < 500; i++) { t.send(t.main1(), i); if (i % 50 === 0) await new Promise(r => setImmediate(r)); }
    await until(() => (t.gwB.kmd.drops.get('ike-half-open-evicted') ?? 0) >= 500 - KMD_LIMITS.halfOpen);
    expect(t.gwB.kmd.drops.get('ike-half-open-evicted')).toBe(500 + 1 - KMD_LIMITS.halfOpen);
    expect(halfOpen(t)).toHaveLength(KMD_LIMITS.halfOpen);
    expect(mine()?.state).toBe('MM5');
  }, 20_000);
});
