/**
 * `show ipsec diagnosis`: each verdict, from a fault created in a lab (two gateways in memory, the
 * chapter's Figure 11 with its manual SA or with the dynamic SA of the IKE lab).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { MemLab, gateways } from '../../src/lab/memlab.js';
import { Interpreter } from '../../src/cli/interp.js';
import { transcript } from '../../src/cli/transcript.js';
import { diagnose, VerdictId } from '../../src/router/diagnose.js';
import type { Router } from '../../src/router/router.js';
import { expectGolden } from '../helpers/golden.js';
import { delivered } from '../helpers/settle.js';

const TOPO = join(import.meta.dirname, '../../topologies');
const read = (f: string) => readFileSync(join(TOPO, f), 'utf8');
const CONF = { ikeA: read('gw-a-ike.conf'), ikeB: read('gw-b-ike.conf'), manA: read('gw-a.conf'), manB: read('gw-b.conf') };
let lab: MemLab | undefined;
afterEach(async () => { await lab?.close(); lab = undefined; });

type Edit = (c: string) => string;
const same: Edit = c => c;
async function build(kind: 'ike' | 'manual', editA: Edit = same, editB: Edit = same) {
  let skew = 0;
  const now = () => Date.now() + skew;
  const t = await gateways(editA(kind === 'ike' ? CONF.ikeA : CONF.manA), editB(kind === 'ike' ? CONF.ikeB : CONF.manB), { ipsec: 'inline', now }, { ipsec: 'inline' });
  lab = t.lab;
  return { ...t, skew: (ms: number) => { skew += ms; } };
}
async function verdicts(r: Router): Promise<VerdictId[]> {
  return diagnose(r, await r.ipsec.snapshot!()).flatMap(d => d.verdicts.map(v => v.id));
}
async function text(r: Router, sa = ''): Promise<string> {
  return transcript(new Interpreter(r), [`show ipsec diagnosis${sa ? ` ${sa}` : ''}`]);
}

describe('show ipsec diagnosis', () => {
  it('a working tunnel: no problem found (golden)', async () => {
    const t = await build('manual');
    expect(await t.hostA.ping('10.2.2.2', { count: 2 })).toHaveLength(2);
    expect(await verdicts(t.gwA)).toEqual(['ok']);
    expectGolden(join(import.meta.dirname, '../cli/golden/ipsec-diagnosis-ok.golden'), await text(t.gwA));
  });

  it('no route to the peer', async () => {
    const t = await build('manual', c => c.replace('route 10.6.6.6/32 next-hop 10.0.0.2;', ''));
    expect(await verdicts(t.gwA)).toContain('no-route');
    expect(await text(t.gwA)).toMatch(/no route to the peer 10\.6\.6\.6: neither IKE nor ESP can reach it\. Change: add a route to 10\.6\.6\.6/);
  });

  it('the peer does not answer UDP 500 (a filter on the way drops it)', async () => {
    const blockIke = (c: string) => c
      .replace(/(fe-0\/0\/0 \{\n\s+description[^\n]*\n\s+unit 0 \{\n\s+family inet \{\n)/, '$1                filter {\n                    input block-ike;\n                }\n')
      .replace(/firewall \{\n/, 'firewall {\n    filter block-ike {\n        term ike {\n            from {\n                protocol udp;\n                destination-port 500;\n            }\n            then discard;\n        }\n        term rest {\n            then accept;\n        }\n    }\n');
    const t = await build('ike', same, blockIke);
    expect(t.gwB.pfe.ifls.get('fe-0/0/0.0')!.inFilter).toBe('block-ike');
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 300 })).toHaveLength(0);
    // the retransmissions (2, 4, 8, 16 s) on gw-a's clock, run forward
    for (let i = 0; i < 6; i++) { t.skew(16_000); t.gwA.kmd.tick(); }
    expect(await verdicts(t.gwA)).toContain('no-answer');
    expect(await text(t.gwA)).toMatch(/the peer 10\.6\.6\.6 does not answer IKE \(UDP 500\), \d+ s ago: .*Change: check that 10\.6\.6\.6 runs IKE with an IKE policy for 10\.5\.5\.5/);
  });

  it('no proposal chosen in phase 1: both offers on the responder, the refusal on the initiator', async () => {
    const t = await build('ike', same, c => c.replace('dh-group group1;', 'dh-group group2;'));
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 500 })).toHaveLength(0);
    expect(await verdicts(t.gwA)).toContain('no-proposal');
    expect(await verdicts(t.gwB)).toContain('no-proposal');
    expect(await text(t.gwB)).toMatch(/no IKE \(phase 1\) proposal chosen, \d+ s ago: the peer offered pre-shared-keys 3des-cbc sha1 group1; ours: pre-shared-keys 3des-cbc sha1 group2\. Change: make one IKE proposal/);
    expect(await text(t.gwA)).toMatch(/no proposal chosen, \d+ s ago: .*the peer chose none of our proposals/);
  });

  it('no proposal chosen in phase 2 (PFS differs)', async () => {
    const t = await build('ike', same, c => c.replace('keys group1;', 'keys group2;'));
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 500 })).toHaveLength(0);
    expect(await verdicts(t.gwB)).toContain('no-proposal');
    expect(await text(t.gwB)).toMatch(/no IPsec \(phase 2\) proposal chosen, \d+ s ago: the peer offered .*; ours: .*PFS group2/);
    expect(await verdicts(t.gwA)).toContain('no-proposal');
  });

  it('pre-shared key mismatch', async () => {
    const t = await build('ike', same, c => c.replace('example-pre-shared-key', 'another-key'));
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 500 })).toHaveLength(0);
    expect(await verdicts(t.gwB)).toContain('psk-mismatch');
    expect(await verdicts(t.gwA)).toContain('psk-mismatch');
    const out = await text(t.gwB);
    expect(out).toMatch(/pre-shared key mismatch: authentication failed \(.*\), \d+ s ago\. Change: the same key on both gateways/);
    expect(out).not.toMatch(/another-key|example-pre-shared-key/);
  });

  it('proxy identities that do not match the peer\'s', async () => {
    const t = await build('ike', same, c => c.replace(/(filter ipsec-decrypt-policy-filter \{\n\s+term term1 \{\n\s+from \{\n\s+source-address \{\n\s+)10\.1\.1\.0\/24;/, '$110.1.1.0/25;'));
    expect(t.gwB.kmd.tunnels.get('es-0/1/0.0')!.proxy.remote.prefix.len).toBe(25);
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 500 })).toHaveLength(0);
    expect(await verdicts(t.gwA)).toContain('proxy-mismatch');
    expect(await verdicts(t.gwB)).toContain('proxy-mismatch');
    const out = await text(t.gwB);
    expect(out).toMatch(/proxy identities do not match, \d+ s ago: .*ours are 10\.2\.2\.0\/24 <-> 10\.1\.1\.0\/25/);
    expect(out).toMatch(/the peer wants 10\.2\.2\.0\/24 <-> 10\.1\.1\.0\/24/);
  });

  it('the peer uses the other mode', async () => {
    const t = await build('ike', c => c.replace('mode main;', 'mode aggressive;'));
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    expect(await verdicts(t.gwB)).toContain('other-mode');
    expect(await text(t.gwB)).toMatch(/the peer 10\.5\.5\.5 initiates in Aggressive mode while this IKE policy says main .*accepted here.*identities go in the clear/);
  });

  it('SA up, but the encrypt filter sends nothing into it', async () => {
    // gw-a's encrypt term matches another LAN, and no route sends 10.2.2.0/24 into the tunnel
    const t = await build('ike', c => c.replace(/(destination-address \{\n\s+)10\.2\.2\.0\/24;(\n\s+\}\n\s+\}\n\s+then ipsec-sa)/, '$110.9.9.0/24;$2').replace('route 10.2.2.0/24 next-hop 10.1.1.9;', ''));
    // host-b's traffic brings the SA up from gw-b's side; host-a's replies go nowhere near the tunnel
    expect(await t.hostB.ping('10.1.1.1', { count: 3, timeoutMs: 1000 })).toHaveLength(0);
    expect(t.gwA.kmd.tunnels.get('es-0/1/0.0')!.installed).toHaveLength(1);
    expect(await verdicts(t.gwA)).toContain('nothing-sent');
    expect(await text(t.gwA)).toMatch(/traffic comes in through the tunnel \(\d+ packets\) but nothing goes into it: term term1 of filter ipsec-encrypt-policy-filter \(input of fe-0\/0\/1\.0\) matched 0 packets/);
  });

  it('decrypted packets dropped by the inbound filter', async () => {
    const t = await build('manual', c => c.replace(/(filter ipsec-decrypt-policy-filter \{\n\s+term term1 \{\n\s+from \{\n\s+source-address \{\n\s+)10\.2\.2\.0\/24;/, '$110.9.9.0/24;'));
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 300 })).toHaveLength(0);
    expect(await verdicts(t.gwA)).toContain('inbound-filter-drops');
    expect(await text(t.gwA)).toMatch(/2 packets decrypted on es-0\/1\/0\.0 were discarded by its input filter ipsec-decrypt-policy-filter( \(.*?\))?: .*\(it accepts term1: from 10\.9\.9\.0\/24 to 10\.1\.1\.0\/24\)/);
  });

  it('ICV failures (manual keys differ), climbing from one diagnosis to the next', async () => {
    const t = await build('manual', same, c => c.replace('key ascii-text 1234123412341234;', 'key ascii-text 4321432143214321;'));
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 300 })).toHaveLength(0);
    expect(await verdicts(t.gwB)).toContain('icv-failures');
    expect(await text(t.gwB)).toMatch(/1 packet failed the integrity check \(ICV\) on the inbound SA \(none since the last diagnosis\)|1 packet failed the integrity check \(ICV\) on the inbound SA: the authentication keys/);
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 300 })).toHaveLength(0);
    expect(await text(t.gwB)).toMatch(/3 packets failed the integrity check \(ICV\) on the inbound SA \(\+2 since the last diagnosis\): the authentication keys or algorithms differ/);
  });

  it('replayed packets (dynamic SA, replay window 64)', async () => {
    const t = await build('ike');
    const esp: Buffer[] = [];
    t.transit.watch((from, f) => { if (from.startsWith('gw-b') && f.readUInt16BE(12) === 0x0800 && f[23] === 50) esp.push(Buffer.from(f)); });
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
    expect(esp.length).toBeGreaterThan(0);
    t.transit.b.send(esp[0]!); t.transit.b.send(esp[0]!);
    await delivered(t.lab);   // the inline ES PIC checks them as they are delivered
    expect(await verdicts(t.gwA)).toContain('replays');
    expect(await text(t.gwA)).toMatch(/2 packets dropped as replays on the inbound SA( \(.*?\))?: someone replays/);
  });

  it('packets with DF too big for the tunnel', async () => {
    const t = await build('manual');
    expect(await t.hostA.ping('10.2.2.2', { count: 1, size: 1472, df: true, timeoutMs: 300 })).toHaveLength(0);
    expect(await verdicts(t.gwA)).toContain('df-drops');
    expect(await text(t.gwA)).toMatch(/1 packet with DF set was larger than es-0\/1\/0\.0's MTU of 1446 bytes .*dropped with an ICMP fragmentation-needed/);
  });

  it('an unknown SA name is an error; no tunnel says so', async () => {
    const t = await build('manual');
    expect(await text(t.gwA, 'nope')).toMatch(/error: security association nope not found/);
    expect(await text(t.gwA, 'manual-sa1')).toMatch(/Tunnel es-0\/1\/0\.0: manual-sa1 \(manual\), 10\.5\.5\.5 -> 10\.6\.6\.6, Up/);
  });
});
