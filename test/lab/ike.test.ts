/** kmd in memory: two Figure 11 gateways with a dynamic SA; the first packets start IKE, pings cross. */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { MemLab, gateways } from '../../src/lab/memlab.js';
import { Interpreter } from '../../src/cli/interp.js';
import { transcript } from '../../src/cli/transcript.js';
import { until } from '../helpers/settle.js';
import { LabClock } from '../helpers/clock.js';
import { KMD_LIMITS } from '../../src/kmd/kmd.js';

const TOPO = join(import.meta.dirname, '../../topologies');
let lab: MemLab | undefined;
afterEach(async () => { await lab?.close(); lab = undefined; });

async function build(ipsec: 'inline' | 'worker' = 'inline', edit: (side: 'a' | 'b', conf: string) => string = (_s, c) => c, now?: () => number) {
  const t = await gateways(edit('a', readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8')), edit('b', readFileSync(join(TOPO, 'gw-b-ike.conf'), 'utf8')), { ipsec, ...(now ? { now } : {}) });
  lab = t.lab;
  return t;
}

describe('IKE main mode and quick mode between two vrouters', () => {
  for (const mode of ['inline', 'worker'] as const) {
    it(`traffic starts IKE; the SAs come up and pings cross (ES PIC ${mode})`, async () => {
      const t = await build(mode);
      const seen: string[] = [];
      t.transit.watch((_from, f) => { if (f.readUInt16BE(12) === 0x0800) seen.push(f[23] === 17 ? `udp:${f.readUInt16BE(36)}` : f[23] === 50 ? 'esp' : `proto:${f[23]}`); });
      const first = await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 });
      expect(first).toHaveLength(1);
      expect(await t.hostA.ping('10.2.2.2', { count: 3 })).toHaveLength(3);
      const ikeA = t.gwA.kmd.ikeSnapshot(), ikeB = t.gwB.kmd.ikeSnapshot();
      expect(ikeA.map(s => [s.role, s.state])).toEqual([['initiator', 'MATURED']]);
      expect(ikeB.map(s => [s.role, s.state])).toEqual([['responder', 'MATURED']]);
      expect(new Set(seen)).toEqual(new Set(['udp:500', 'esp']));
      const sas = (await t.gwA.ipsec.snapshot!()).sas.filter(s => s.name === 'dynamic-sa1');
      expect(sas.map(s => s.direction).sort()).toEqual(['inbound', 'outbound']);
      expect(sas.every(s => !s.manual && s.replayWindow === 64 && s.encryption === '3des-cbc' && s.authentication === 'hmac-md5-96')).toBe(true);
      expect(t.gwA.log.read('kmd')!.join('\n')).toMatch(/KMD_PM_SA_ESTABLISHED: IPsec SA dynamic-sa1 on es-0\/1\/0.0 with 10.6.6.6 established \(initiator, esp 3des-cbc hmac-md5-96 PFS group1/);
      expect(t.gwA.log.read('kmd')!.join('\n')).not.toContain('example-pre-shared-key');
    });
  }

  it('a wrong pre-shared key: the tunnel stays down, nothing installed, both sides say why; fixed, it comes up', async () => {
    const clock = new LabClock();
    const t = await build('inline', (side, c) => (side === 'b' ? c.replace('example-pre-shared-key', 'another-key') : c), clock.now);
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 1500 })).toHaveLength(0);
    const logA = t.gwA.log.read('kmd')!.join('\n'), logB = t.gwB.log.read('kmd')!.join('\n');
    expect(logB).toMatch(/authentication failed .*pre-shared key/);
    expect(logA).toMatch(/pre-shared key/);
    expect((await t.gwA.ipsec.snapshot!()).sas.filter(s => !s.manual)).toEqual([]);
    expect((await t.gwB.ipsec.snapshot!()).sas.filter(s => !s.manual)).toEqual([]);
    // fix gw-b and commit: the next traffic brings the tunnel up, no restart needed
    const c = t.gwB.commitText(readFileSync(join(TOPO, 'gw-b-ike.conf'), 'utf8'));
    expect(c.ok).toBe(true);
    // within its back-off (5 s after a failure, on the routers' clock) traffic starts no negotiation
    await clock.advance(t.lab, KMD_LIMITS.retryBackoffMs - 1000);
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 300 })).toHaveLength(0);
    expect(t.gwB.kmd.ikeSnapshot().some(s => s.matured)).toBe(false);
    // once it is over, the next packet does
    await clock.advance(t.lab, 1000);
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    expect(t.gwB.kmd.ikeSnapshot().some(s => s.matured)).toBe(true);
  });

  it('show and clear: IKE SAs with the JUNOS fields, dynamic IPsec SAs with lifetimes; clearing renegotiates', async () => {
    const t = await build('inline');
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
    const cli = new Interpreter(t.gwA);
    const out = await transcript(cli, ['show ike security-associations', 'show ike security-associations detail 10.6.6.6', 'show ipsec security-associations detail dynamic-sa1']);
    expect(out).toMatch(/Remote Address\s+State\s+Initiator cookie\s+Responder cookie\s+Mode\n10\.6\.6\.6\s+Matured\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+Main/);
    expect(out).toMatch(/IKE peer 10\.6\.6\.6\n  Role: Initiator, State: Matured\n  Initiator cookie: [0-9a-f]{16}, Responder cookie: [0-9a-f]{16}\n  Exchange type: Main, Authentication method: Pre-shared-keys\n  Local: 10\.5\.5\.5:500, Remote: 10\.6\.6\.6:500\n  NAT traversal: no NAT\n  Lifetime: Expires in 3[56]\d\d seconds/);
    expect(out).toMatch(/Authentication\s+: sha1\n\s+Encryption\s+: 3des-cbc\n\s+Pseudo random function: hmac-sha1/);
    expect(out).toMatch(/IPSec security associations: 2 created, 0 deleted/);
    expect(out).toMatch(/Local identity: 10\.5\.5\.5\n  Remote identity: 10\.6\.6\.6/);
    // the dynamic SA's proxy identities (issue 24), as JUNOS prints them: our side, then the peer's
    expect(out).toMatch(/Anti-replay[\s\S]*?    Local identity: ipv4_subnet\(any:0,\[0\.\.7\]=10\.1\.1\.0\/24\)\n    Remote identity: ipv4_subnet\(any:0,\[0\.\.7\]=10\.2\.2\.0\/24\)\n/);
    expect(out).toMatch(/Mode: tunnel, Type: dynamic, State: Installed\n    Protocol: ESP, Authentication: hmac-md5-96, Encryption: 3des-cbc[\s\S]*Soft lifetime: Expires in \d+ seconds\n    Hard lifetime: Expires in (59\d\d|6000) seconds\n    Anti-replay service: Enabled, Replay window size: 64/);
    // clear on one side: the other side is told (DELETE) and drops its SAs too; traffic negotiates new ones
    const before = (await t.gwB.ipsec.snapshot!()).sas.filter(s => !s.manual).map(s => s.spi).sort();
    await transcript(cli, ['clear ipsec security-associations dynamic-sa1']);
    await until(async () => (await t.gwB.ipsec.snapshot!()).sas.every(s => s.manual), 'gw-b to delete its SAs on the DELETE');
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
    const after = (await t.gwB.ipsec.snapshot!()).sas.filter(s => !s.manual).map(s => s.spi).sort();
    expect(after).toHaveLength(2);
    expect(after).not.toEqual(before);
    await transcript(cli, ['clear ike security-associations']);
    await until(() => t.gwB.kmd.ikeSnapshot().length === 0, 'gw-b to delete its IKE SA on the DELETE');
  });

  it('hostile IKE: 5,000 random and mutated datagrams to UDP 500 are dropped with reasons; half-open state stays bounded; the tunnel still comes up', async () => {
    const t = await build('inline');
    const { buildIpv4, PROTO_UDP } = await import('../../src/net/ipv4.js');
    const { buildUdp } = await import('../../src/net/l4.js');
    const { buildEth, ETH_IPV4 } = await import('../../src/net/ethernet.js');
    const { ipToInt } = await import('../../src/net/ip.js');
    const { encodeMessage } = await import('../../src/kmd/codec.js');
    const { ikeSaBody } = await import('../../src/kmd/proposals.js');
    const { randomBytes } = await import('node:crypto');
    const mac = t.gwB.pfe.ifds.get('fe-0/0/0')!.mac;
    const props = [...t.gwB.model!.ike.proposals.values()];
    const seed = encodeMessage({ icookie: randomBytes(8), rcookie: Buffer.alloc(8), exchange: 2, flags: 0, mid: 0 }, [{ type: 1, body: ikeSaBody(props) }]);
    let x = 5;
    const rnd = () => (x = (x * 1103515245 + 12345) >>> 0);
    for (let i = 0; i < 5000; i++) {
      let m: Buffer;
      if (i % 4 === 0) m = randomBytes(rnd() % 200);
      else if (i % 4 === 1) { m = Buffer.from(seed); randomBytes(8).copy(m, 0); }   // a new main mode each time: half-open flood
      else { m = Buffer.from(seed); for (let k = 0; k < 3; k++) m[rnd() % m.length] = rnd() & 255; }
      // from the real peer's address (spoofed): the worst case for half-open state
      const src = ipToInt(i % 2 ? '10.5.5.5' : '10.0.0.1'), dst = ipToInt('10.6.6.6');
      t.transit.a.send(buildEth(mac, Buffer.from('020000000001', 'hex'), ETH_IPV4, buildIpv4({ protocol: PROTO_UDP, src, dst, id: i, ttl: 64 }, buildUdp({ src, dst }, 500, 500, m))));
      if (i % 200 === 0) await new Promise(r => setImmediate(r));
    }
    const drops = await until(() => { const d = [...t.gwB.kmd.drops.entries()]; return d.reduce((a, [, n]) => a + n, 0) > 1000 && ['ike-half-open-evicted', 'ike-no-policy'].every(k => d.some(([x]) => x === k)) && d; }, 'kmd to drop the flood with reasons');
    expect(t.gwB.kmd.ikeSnapshot().filter(s => !s.matured).length).toBeLessThanOrEqual(64);
    expect(drops.map(([k]) => k)).toEqual(expect.arrayContaining(['ike-half-open-evicted', 'ike-no-policy']));
    expect(t.gwB.pfe.drops.get('internal-error') ?? 0, 'internal-error drops').toBe(0);
    // the real peer is not locked out: its negotiation from 10.5.5.5 is not the flood's
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
  });

  it('hostile NAT traversal: 5,000 random datagrams to UDP 4500 (IKE behind the marker, keepalives, ESP in UDP) are dropped with reasons; the tunnel lives on', async () => {
    const t = await build('inline');
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    const { buildIpv4, PROTO_UDP } = await import('../../src/net/ipv4.js');
    const { buildUdp } = await import('../../src/net/l4.js');
    const { buildEth, ETH_IPV4 } = await import('../../src/net/ethernet.js');
    const { ipToInt } = await import('../../src/net/ip.js');
    const { randomBytes } = await import('node:crypto');
    const mac = t.gwB.pfe.ifds.get('fe-0/0/0')!.mac;
    const ike = t.gwB.kmd.ikeSnapshot()[0]!;
    const spi = t.gwB.kmd.tunnels.get('es-0/1/0.0')!.installed[0]!.inSpi.esp!;
    const before = (t.gwB.pfe.drops.get('ipsec-no-sa') ?? 0) + (t.gwB.pfe.drops.get('natt-short-packet') ?? 0);
    for (let i = 0; i < 5000; i++) {
      let m: Buffer;
      const k = i % 5;
      if (k === 0) m = randomBytes(i % 40);                                                            // anything, short ones too
      else if (k === 1) m = Buffer.concat([Buffer.alloc(4), randomBytes(i % 300)]);                   // marker, then garbage for kmd
      else if (k === 2) m = Buffer.concat([Buffer.alloc(4), ike.icookie, ike.rcookie, randomBytes(i % 100)]);   // the live IKE SA's cookies
      else if (k === 3) { m = randomBytes(8 + (i % 200)); m.writeUInt32BE(spi, 0); }                  // ESP in UDP on the live SPI: bad ICV
      else m = Buffer.from([0xff]);                                                                     // keepalives
      const src = ipToInt('10.5.5.5'), dst = ipToInt('10.6.6.6');
      t.transit.a.send(buildEth(mac, Buffer.from('020000000001', 'hex'), ETH_IPV4, buildIpv4({ protocol: PROTO_UDP, src, dst, id: i, ttl: 64 }, buildUdp({ src, dst }, 4500, 4500, m))));
      if (i % 200 === 0) await new Promise(r => setImmediate(r));
    }
    // the last datagram of the 5,000 is the 1,000th keepalive: once it is counted, all were handled
    await until(() => t.gwB.kmd.counters.get('nat-keepalive-received') === 1000, 'the 1,000 keepalives to be counted');
    const kmdDrops = [...t.gwB.kmd.drops.values()].reduce((a, n) => a + n, 0);
    expect(kmdDrops).toBeGreaterThan(1000);
    expect(t.gwB.pfe.drops.get('internal-error') ?? 0, 'internal-error drops').toBe(0);
    const pic = await t.gwB.ipsec.snapshot!();
    expect(pic.drops['bad-icv'] + (t.gwB.pfe.drops.get('natt-short-packet') ?? 0) - before).toBeGreaterThan(500);
    // nothing moved the live SAs (forged messages with the live cookies did not move IKE to 4500)
    expect(t.gwB.kmd.ikeSnapshot().filter(s => s.matured)).toHaveLength(1);
    expect(t.gwB.kmd.ikeSnapshot()[0]!.natt.floated).toBe(false);
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
  });
});
