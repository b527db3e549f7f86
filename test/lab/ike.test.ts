/** kmd in memory: two Figure 11 gateways with a dynamic SA; the first packets start IKE, pings cross. */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { MemLab } from '../../src/lab/memlab.js';

const TOPO = join(import.meta.dirname, '../../topologies');
let lab: MemLab | undefined;
afterEach(async () => { await lab?.close(); lab = undefined; });

async function build(ipsec: 'inline' | 'worker' = 'inline', edit: (side: 'a' | 'b', conf: string) => string = (_s, c) => c) {
  lab = new MemLab();
  const gwA = lab.router('gw-a', edit('a', readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8')), { ipsec });
  const gwB = lab.router('gw-b', edit('b', readFileSync(join(TOPO, 'gw-b-ike.conf'), 'utf8')), { ipsec });
  const hostA = lab.host('host-a', '10.1.1.1', 24, '10.1.1.254');
  const hostB = lab.host('host-b', '10.2.2.2', 24, '10.2.2.254');
  lab.link('gw-a:fe-0/0/1', 'host-a');
  const transit = lab.link('gw-a:fe-0/0/0', 'gw-b:fe-0/0/0');
  lab.link('gw-b:fe-0/0/1', 'host-b');
  await lab.ready();
  return { gwA, gwB, hostA, hostB, transit };
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
    const t = await build('inline', (side, c) => (side === 'b' ? c.replace('example-pre-shared-key', 'another-key') : c));
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 1500 })).toHaveLength(0);
    const logA = t.gwA.log.read('kmd')!.join('\n'), logB = t.gwB.log.read('kmd')!.join('\n');
    expect(logB).toMatch(/authentication failed .*pre-shared key/);
    expect(logA).toMatch(/pre-shared key/);
    expect((await t.gwA.ipsec.snapshot!()).sas.filter(s => !s.manual)).toEqual([]);
    expect((await t.gwB.ipsec.snapshot!()).sas.filter(s => !s.manual)).toEqual([]);
    // fix gw-b and commit: the next traffic brings the tunnel up, no restart needed
    const c = t.gwB.commitText(readFileSync(join(TOPO, 'gw-b-ike.conf'), 'utf8'));
    expect(c.ok).toBe(true);
    // gw-a retries once its back-off (5 s after a failure) is over: ping until a reply comes
    const end = Date.now() + 15000;
    let ok = false;
    while (!ok && Date.now() < end) ok = (await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 1000 })).length === 1;
    expect(ok).toBe(true);
    expect(t.gwB.kmd.ikeSnapshot().some(s => s.matured)).toBe(true);
  }, 20000);
});
