/**
 * The whole life of a dynamic tunnel, in memory: aggressive mode, rekeys under traffic (lifetimes on a
 * faster clock), DELETE on clear, the chapter's update rule on commit (live SAs kept, rekey and clear apply the change), and a restarted peer that
 * gets the tunnel back by itself (INVALID-SPI, INITIAL-CONTACT).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { MemLab, gateways } from '../../src/lab/memlab.js';
import { Interpreter } from '../../src/cli/interp.js';
import { transcript } from '../../src/cli/transcript.js';
import type { RouterOptions } from '../../src/router/router.js';
import { Xchg } from '../../src/kmd/constants.js';
import { LabClock } from '../helpers/clock.js';
import { until } from '../helpers/settle.js';

const TOPO = join(import.meta.dirname, '../../topologies');
const CONF = { a: readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8'), b: readFileSync(join(TOPO, 'gw-b-ike.conf'), 'utf8') };
let lab: MemLab | undefined;
afterEach(async () => { await lab?.close(); lab = undefined; });

async function build(edit: (side: 'a' | 'b', conf: string) => string = (_s, c) => c, opts: Partial<RouterOptions> = {}) {
  const t = await gateways(edit('a', CONF.a), edit('b', CONF.b), { ipsec: 'inline', ...opts });
  lab = t.lab;
  return t;
}
const aggressive = (_s: string, c: string) => c.replace(/mode main;/, 'mode aggressive;');
/** the ISAKMP exchange types on the transit wire (UDP 500) */
function isakmpLog(t: Awaited<ReturnType<typeof build>>) {
  const seen: Array<{ exchange: number; flags: number; payload: Buffer }> = [];
  t.transit.watch((_from, f) => {
    if (f.readUInt16BE(12) !== 0x0800 || f[23] !== 17) return;
    const ihl = (f[14]! & 15) * 4, udp = 14 + ihl;
    if (f.readUInt16BE(udp + 2) !== 500) return;
    const m = f.subarray(udp + 8);
    seen.push({ exchange: m[18]!, flags: m[19]!, payload: Buffer.from(m) });
  });
  return seen;
}
const kmdLog = (r: { log: { read(f: string): string[] | undefined } }) => (r.log.read('kmd') ?? []).join('\n');

describe('aggressive mode', () => {
  it('both policies say aggressive: three messages, identities in the clear, the tunnel comes up', async () => {
    const t = await build(aggressive);
    const seen = isakmpLog(t);
    expect(await t.hostA.ping('10.2.2.2', { count: 3, timeoutMs: 3000 })).toHaveLength(3);
    const p1 = seen.filter(x => x.exchange === Xchg.AGGRESSIVE);
    expect(p1).toHaveLength(3);
    expect(seen.some(x => x.exchange === Xchg.MAIN)).toBe(false);
    // messages 1 and 2 in the clear, each with its sender's ID (10.5.5.5, 10.6.6.6); message 3 encrypted
    expect(p1.map(x => x.flags & 1)).toEqual([0, 0, 1]);
    expect(p1[0]!.payload.includes(Buffer.from([10, 5, 5, 5]))).toBe(true);
    expect(p1[1]!.payload.includes(Buffer.from([10, 6, 6, 6]))).toBe(true);
    const out = await transcript(new Interpreter(t.gwA), ['show ike security-associations', 'show ike security-associations detail']);
    expect(out).toMatch(/10\.6\.6\.6\s+Matured\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+Aggressive/);
    expect(out).toMatch(/Exchange type: Aggressive, Authentication method: Pre-shared-keys/);
    expect(out).toMatch(/Remote identity: 10\.6\.6\.6/);
    expect(t.gwB.kmd.ikeSnapshot()[0]).toMatchObject({ role: 'responder', mode: 'aggressive', state: 'MATURED', remoteId: '10.5.5.5' });
  });

  it('a wrong pre-shared key in aggressive mode: the initiator finds it from HASH_R at once', async () => {
    const t = await build((s, c) => aggressive(s, s === 'b' ? c.replace('example-pre-shared-key', 'another-key') : c));
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 1500 })).toHaveLength(0);
    expect(kmdLog(t.gwA)).toMatch(/KMD_PM_P1_FAILED: IKE phase 1 \(Aggressive mode\) with 10\.6\.6\.6 failed: authentication failed \(HASH_R does not match; is the pre-shared key the same on both sides\?\)/);
    expect(t.gwA.kmd.failures.get(0x0a060606)?.kind).toBe('auth');
  });

  it('the initiator uses aggressive mode, the responder\'s policy says main: accepted (the chapter), and noted', async () => {
    const t = await build((s, c) => (s === 'a' ? aggressive(s, c) : c));
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
    expect(kmdLog(t.gwB)).toMatch(/KMD_PM_P1_MODE: 10\.5\.5\.5 initiates in Aggressive mode; the IKE policy says main: accepted/);
    expect(t.gwB.kmd.modeNotes.get(0x0a050505)).toMatchObject({ theirs: 'aggressive', ours: 'main' });
  });

  it('aggressive mode offers only the proposals of the first one\'s group (one KE payload)', async () => {
    const two = (c: string) => c.replace(/proposal ike-proposal \{/, 'proposal ike-g2 {\n authentication-method pre-shared-keys;\n dh-group group2;\n }\n proposal ike-proposal {').replace(/proposals ike-proposal;/, 'proposals [ ike-g2 ike-proposal ];');
    const t = await build((s, c) => aggressive(s, two(c)));
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    expect(t.gwA.kmd.ikeSnapshot()[0]!.choice!.group).toBe('group2');
  });
});

describe('the chapter\'s other IPsec choices between two vrouters (strongSwan\'s kernel-libipsec has no AH)', () => {
  const rows: Array<[string, string]> = [
    ['AH hmac-sha1-96', 'protocol ah;\n            authentication-algorithm hmac-sha1-96;'],
    ['AH hmac-md5-96', 'protocol ah;\n            authentication-algorithm hmac-md5-96;'],
    ['bundle (AH hmac-sha1-96 over ESP des-cbc)', 'protocol bundle;\n            authentication-algorithm hmac-sha1-96;\n            encryption-algorithm des-cbc;'],
    ['ESP des-cbc hmac-md5-96, no PFS, group2 in phase 1', 'protocol esp;\n            authentication-algorithm hmac-md5-96;\n            encryption-algorithm des-cbc;'],
  ];
  for (const [name, body] of rows) {
    it(name, async () => {
      const edit = (_s: string, c: string) => {
        let out = c.replace(/proposal dynamic-1 \{[^}]*\}/, `proposal dynamic-1 {\n            ${body}\n            lifetime-seconds 6000;\n        }`).replace('proposals [ dynamic-1 dynamic-2 ];', 'proposals dynamic-1;');
        if (name.includes('no PFS')) out = out.replace(/perfect-forward-secrecy \{\s*keys group1;\s*\}/, '').replace('dh-group group1;', 'dh-group group2;');
        return out;
      };
      const t = await build(edit);
      expect(await t.hostA.ping('10.2.2.2', { count: 3, timeoutMs: 3000 })).toHaveLength(3);
      const sas = (await t.gwA.ipsec.snapshot!()).sas.filter(x => !x.manual);
      const proto = name.startsWith('AH') ? 'AH' : name.startsWith('bundle') ? 'BUNDLE' : 'ESP';
      expect(sas.map(x => x.protocol)).toEqual([proto, proto]);
      expect(sas.every(x => x.packets >= 3)).toBe(true);
    });
  }
});

describe('lifetimes and rekeying', () => {
  // the shortest lifetimes the chapter allows (180 s), on a clock the test moves (test/helpers/clock.ts)
  const short = (_s: string, c: string) => c.replace(/lifetime-seconds 6000;/g, 'lifetime-seconds 180;').replace(/encryption-algorithm 3des-cbc;\n        \}\n        policy 10/, 'encryption-algorithm 3des-cbc;\n            lifetime-seconds 180;\n        }\n        policy 10');

  it('two rekeys under a ping every second of the routers\' clock: none lost; old SAs deleted on both sides', async () => {
    const clock = new LabClock();
    const t = await build(short, { now: clock.now });
    expect(t.gwA.model!.ike.proposals.get('ike-proposal')!.lifetimeSeconds).toBe(180);
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    const tun = () => t.gwA.kmd.tunnels.get('es-0/1/0.0')!;
    // 400 s: the SA (180 s) is renewed at its soft lifetime, twice; each second a ping crosses the tunnel
    let sent = 0, got = 0;
    await clock.advance(t.lab, 400_000, 1000, async () => { sent++; got += (await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 5000 })).length; });
    const rekeys = tun().rekeys;
    expect(rekeys).toBeGreaterThanOrEqual(2);
    expect(t.gwB.kmd.tunnels.get('es-0/1/0.0')!.rekeys).toBe(rekeys);
    expect(sent - got).toBe(0);
    // replaced SAs are deleted on both sides: at most the current one and one being replaced
    expect(tun().installed.length).toBeLessThanOrEqual(2);
    expect(kmdLog(t.gwA)).toMatch(/KMD_PM_SA_REKEY: IPsec SA dynamic-sa1 on es-0\/1\/0\.0 reaches its soft lifetime/);
    // the initiator of the rekey deletes the old SA a second after the new one is in and tells the
    // peer, which deletes its own then; no SA lives to its hard lifetime
    expect(kmdLog(t.gwA).match(/KMD_PM_SA_DELETED: IPsec SA dynamic-sa1 .* removed: replaced by a new SA \(rekey\)/g)!.length).toBeGreaterThanOrEqual(2);
    expect(kmdLog(t.gwB).match(/KMD_PM_SA_DELETED: IPsec SA dynamic-sa1 .* removed: 10\.5\.5\.5 deleted it/g)!.length).toBeGreaterThanOrEqual(2);
    expect(kmdLog(t.gwA) + kmdLog(t.gwB)).not.toMatch(/removed: hard lifetime expired/);
    // the IKE SA was renewed too, and the old one deleted
    expect(kmdLog(t.gwA)).toMatch(/KMD_PM_P1_REKEY: IKE SA with 10\.6\.6\.6 reaches its soft lifetime/);
    expect(kmdLog(t.gwA) + kmdLog(t.gwB)).toMatch(/KMD_PM_P1_DELETED: .*(replaced by a new IKE SA \(rekey\)|deleted the IKE SA)/);
    expect(t.gwA.kmd.ikeSnapshot().filter(s => s.matured).length).toBeLessThanOrEqual(2);
    // the ES PIC holds what kmd holds: no SA left behind
    const pic = (await t.gwB.ipsec.snapshot!()).sas.filter(s => !s.manual);
    expect(pic.filter(s => s.direction === 'inbound').length).toBe(t.gwB.kmd.tunnels.get('es-0/1/0.0')!.installed.length);
  }, 60000);

  it('the shorter lifetime wins (RESPONDER-LIFETIME): gw-b says 180 s, gw-a offered 6000 s', async () => {
    const t = await build((s, c) => (s === 'b' ? short(s, c) : c));
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    expect(t.gwA.kmd.tunnels.get('es-0/1/0.0')!.installed[0]!.lifetime).toBe(180);
    expect(t.gwB.kmd.tunnels.get('es-0/1/0.0')!.installed[0]!.lifetime).toBe(180);
    const out = await transcript(new Interpreter(t.gwA), ['show ipsec security-associations detail dynamic-sa1']);
    expect(out).toMatch(/Soft lifetime: Expires in 1[56]\d seconds\n    Hard lifetime: Expires in 1[78]\d seconds/);
  });

  it('a hard lifetime with no rekey possible: the SA goes and the peer is told (DELETE)', async () => {
    const clock = new LabClock();
    const t = await build(short, { now: clock.now });
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    // the peer stops answering IKE: the rekey cannot happen; at the hard lifetime the SA is deleted
    t.gwB.pfe.udp.delete(500);
    const tun = t.gwA.kmd.tunnels.get('es-0/1/0.0')!;
    const created = clock.t;
    await clock.advance(t.lab, 200_000, 1000, () => tun.installed.length === 0);
    expect(tun.installed).toHaveLength(0);
    // at its hard lifetime (180 s on the routers' clock), not before
    expect(clock.t - created).toBeGreaterThanOrEqual(180_000);
    expect(kmdLog(t.gwA)).toMatch(/KMD_PM_SA_REKEY: IPsec SA dynamic-sa1/);
    expect(kmdLog(t.gwA)).toMatch(/removed: hard lifetime expired/);
  });
});

describe('deletes, restarts and commits', () => {
  it('clear ike and clear ipsec on gw-a: gw-b drops its SAs too (DELETE); traffic negotiates new ones', async () => {
    const t = await build();
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
    const oldB = t.gwB.kmd.tunnels.get('es-0/1/0.0')!.installed.map(x => x.inSpi.esp);
    const cli = new Interpreter(t.gwA);
    await transcript(cli, ['clear ipsec security-associations', 'clear ike security-associations']);
    const tunB = t.gwB.kmd.tunnels.get('es-0/1/0.0')!;
    await until(() => !tunB.installed.length && !t.gwB.kmd.ikeSnapshot().length, 'gw-b to delete its SAs on the DELETEs');
    expect(tunB.installed).toHaveLength(0);
    expect(t.gwB.kmd.ikeSnapshot()).toHaveLength(0);
    expect(kmdLog(t.gwB)).toMatch(/10\.5\.5\.5 deleted the IKE SA/);
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
    expect(tunB.installed.map(x => x.inSpi.esp)).not.toEqual(oldB);
  });

  it('gw-b restarts (its SAs lost): gw-a\'s ESP draws INVALID-SPI with INITIAL-CONTACT, and the tunnel comes back by itself', async () => {
    const t = await build();
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
    const oldA = t.gwA.kmd.tunnels.get('es-0/1/0.0')!.installed.map(x => x.outSpi.esp);
    const gwB = await t.lab.restart('gw-b');
    expect(gwB.kmd.ikeSnapshot()).toHaveLength(0);
    // only host-a sends: gw-b sees ESP it cannot place, starts IKE with INITIAL-CONTACT, gw-a drops
    // its stale SAs, and the next packets negotiate new ones; no command on gw-a
    const end = Date.now() + 10000;
    let ok = false;
    while (!ok && Date.now() < end) ok = (await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 500 })).length === 1;
    expect(ok).toBe(true);
    expect(kmdLog(gwB)).toMatch(/KMD_PM_BAD_SPI: ESP from 10\.5\.5\.5 with SPI 0x[0-9a-f]+, which no SA here has/);
    expect(kmdLog(t.gwA)).toMatch(/KMD_PM_INITIAL_CONTACT: 10\.6\.6\.6 starts afresh/);
    expect(t.gwA.kmd.tunnels.get('es-0/1/0.0')!.installed.map(x => x.outSpi.esp)).not.toEqual(oldA);
    expect(t.gwA.kmd.ikeSnapshot().filter(s => s.matured)).toHaveLength(1);
  }, 15000);

  it('a restarted gw-b whose host speaks first: its IKE carries INITIAL-CONTACT and gw-a drops the stale SAs', async () => {
    const t = await build();
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    const gwB = await t.lab.restart('gw-b');
    expect(await t.hostB.ping('10.1.1.1', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
    expect(kmdLog(t.gwA)).toMatch(/KMD_PM_INITIAL_CONTACT/);
    expect(t.gwA.kmd.tunnels.get('es-0/1/0.0')!.installed).toHaveLength(1);
    expect(gwB.kmd.tunnels.get('es-0/1/0.0')!.installed).toHaveLength(1);
  });

  it('the chapter\'s update rule, IPsec: a commit that changes the IPsec policy keeps the live SAs (show says so); clear applies the change', async () => {
    const t = await build();
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    const tunA = () => t.gwA.kmd.tunnels.get('es-0/1/0.0')!, tunB = () => t.gwB.kmd.tunnels.get('es-0/1/0.0')!;
    expect(tunA().installed[0]!.choice.authentication).toBe('hmac-md5-96');
    const spis = tunA().installed.map(x => x.inSpi.esp);
    const cli = new Interpreter(t.gwA);
    expect(await transcript(cli, ['show ipsec security-associations detail dynamic-sa1'])).not.toMatch(/older configuration/);
    // both sides now prefer dynamic-2 (hmac-sha1-96)
    const swap = (c: string) => c.replace('proposals [ dynamic-1 dynamic-2 ];', 'proposals [ dynamic-2 dynamic-1 ];');
    expect(t.gwB.commitText(swap(CONF.b)).ok).toBe(true);
    expect(t.gwA.commitText(swap(CONF.a)).ok).toBe(true);
    expect(kmdLog(t.gwA)).not.toMatch(/KMD_PM_SA_DELETED/);
    expect(kmdLog(t.gwA)).toMatch(/KMD_PM_SA_KEPT: IPsec SA dynamic-sa1 on es-0\/1\/0\.0 with 10\.6\.6\.6: its configuration changed \(commit\)/);
    expect(tunA().installed.map(x => x.inSpi.esp)).toEqual(spis);
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
    expect(tunA().installed.map(x => x.choice.authentication)).toEqual(['hmac-md5-96']);
    const out = await transcript(cli, ['show ipsec security-associations detail dynamic-sa1']);
    expect(out).toMatch(/Negotiated under an older configuration: updates apply to new SAs/);
    // the chapter: "you must clear the existing ... security associations"
    await transcript(cli, ['clear ipsec security-associations dynamic-sa1']);
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
    expect(tunA().installed.map(x => x.choice.authentication)).toEqual(['hmac-sha1-96']);
    expect(tunB().installed.map(x => x.choice.authentication)).toEqual(['hmac-sha1-96']);
    expect(await transcript(cli, ['show ipsec security-associations detail dynamic-sa1'])).not.toMatch(/older configuration/);
  });

  it('the chapter\'s update rule, IPsec: the rekey uses the new configuration', async () => {
    const short = (c: string) => c.replace(/lifetime-seconds 6000;/g, 'lifetime-seconds 180;');
    const clock = new LabClock();
    const t = await build((_s, c) => short(c), { now: clock.now });
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    const tunA = () => t.gwA.kmd.tunnels.get('es-0/1/0.0')!;
    expect(tunA().installed[0]!.choice.authentication).toBe('hmac-md5-96');
    const swap = (c: string) => short(c).replace('proposals [ dynamic-1 dynamic-2 ];', 'proposals [ dynamic-2 dynamic-1 ];');
    expect(t.gwB.commitText(swap(CONF.b)).ok).toBe(true);
    expect(t.gwA.commitText(swap(CONF.a)).ok).toBe(true);
    expect(tunA().installed[0]!.choice.authentication).toBe('hmac-md5-96');
    const rekeys = tunA().rekeys;
    await clock.advance(t.lab, 200_000, 1000, () => tunA().rekeys > rekeys);
    expect(tunA().rekeys).toBe(rekeys + 1);
    expect(tunA().installed.at(-1)!.choice.authentication).toBe('hmac-sha1-96');
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 3000 })).toHaveLength(2);
  });

  it('the chapter\'s update rule, IKE: a commit that changes the IKE proposal keeps the IKE SA (show says so); clear applies it', async () => {
    const t = await build();
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    const ike = t.gwA.kmd.ikeSnapshot()[0]!;
    const life = (c: string) => c.replace(/encryption-algorithm 3des-cbc;\n        \}\n        policy 10/, 'encryption-algorithm 3des-cbc;\n            lifetime-seconds 1800;\n        }\n        policy 10');
    expect(life(CONF.a)).not.toBe(CONF.a);
    expect(t.gwA.commitText(life(CONF.a)).ok).toBe(true);
    expect(t.gwA.kmd.ikeSnapshot()).toEqual([ike]);
    expect(kmdLog(t.gwA)).toMatch(/KMD_PM_P1_KEPT: IKE SA with 10\.6\.6\.6: its IKE policy changed \(commit\)/);
    expect(kmdLog(t.gwA)).not.toMatch(/KMD_PM_P1_DELETED|KMD_PM_SA_DELETED/);
    const cli = new Interpreter(t.gwA);
    expect(await transcript(cli, ['show ike security-associations detail'])).toMatch(/Negotiated under an older configuration/);
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    await transcript(cli, ['clear ike security-associations']);
    await transcript(cli, ['clear ipsec security-associations']);
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    const now = t.gwA.kmd.ikeSnapshot().filter(s => s.matured);
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(ike);
    expect(now[0]!.choice!.lifetimeSeconds).toBe(1800);
    expect(await transcript(cli, ['show ike security-associations detail'])).not.toMatch(/older configuration/);
  });

  it('an SA that cannot go on goes at the commit: its IKE policy removed', async () => {
    const t = await build();
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    const noPolicy = CONF.a.replace(/policy 10\.6\.6\.6 \{[^}]*\}/, '');
    expect(noPolicy).not.toBe(CONF.a);
    const c = t.gwA.commitText(noPolicy);
    expect(c.ok, c.output).toBe(true);
    expect(kmdLog(t.gwA)).toMatch(/KMD_PM_P1_DELETED: IKE SA with 10\.6\.6\.6 deleted: its IKE policy was removed \(commit\)/);
    expect(kmdLog(t.gwA)).toMatch(/KMD_PM_SA_DELETED: IPsec SA dynamic-sa1 .* removed: its IKE policy 10\.6\.6\.6 is gone \(commit\)/);
    expect(t.gwA.kmd.tunnels.get('es-0/1/0.0')!.installed).toHaveLength(0);
  });

  it('a quick mode the peer refuses (no proposal chosen) gives its reserved SPIs back; nothing is installed', async () => {
    const t = await build((s, c) => (s === 'b' ? c.replace(/proposal dynamic-1 \{[^}]*\}/, 'proposal dynamic-1 {\n            protocol ah;\n            authentication-algorithm hmac-sha1-96;\n        }').replace(/proposal dynamic-2 \{[^}]*\}/, 'proposal dynamic-2 {\n            protocol ah;\n            authentication-algorithm hmac-sha1-96;\n        }') : c));
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 1500 })).toHaveLength(0);
    await until(() => /KMD_PM_SA_ESTABLISH_FAILED/.test(kmdLog(t.gwA)), 'gw-a to log the refused quick mode');
    expect(kmdLog(t.gwA)).toMatch(/KMD_PM_SA_ESTABLISH_FAILED: IPsec SA dynamic-sa1 .*NO-PROPOSAL-CHOSEN/);
    expect(t.gwA.kmd.tunnels.get('es-0/1/0.0')!.installed).toHaveLength(0);
    expect(t.gwA.kmd.reservedSpis()).toBe(0);
    expect(t.gwB.kmd.reservedSpis()).toBe(0);
    expect((await t.gwA.ipsec.snapshot!()).sas.filter(x => !x.manual)).toEqual([]);
  });

  it('an authenticated INVALID-SPI for an SA in use removes it; a forged clear one is dropped', async () => {
    const t = await build();
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    // gw-b forgets its SAs without telling (as after a crash of its ES PIC state) but keeps its IKE SA
    const tunB = t.gwB.kmd.tunnels.get('es-0/1/0.0')!;
    const inbound = tunB.installed[0]!.inSpi.esp!;
    t.gwB.pfe.removeInboundSpi(50, inbound, 0x0a060606);
    const end = Date.now() + 5000;
    let ok = false;
    while (!ok && Date.now() < end) ok = (await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 500 })).length === 1;
    expect(ok).toBe(true);
    expect(kmdLog(t.gwA)).toMatch(/removed: 10\.6\.6\.6 does not know SPI 0x[0-9a-f]+ \(INVALID-SPI\)/);
  }, 10000);
});
