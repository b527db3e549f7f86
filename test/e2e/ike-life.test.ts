/**
 * The whole life of a dynamic tunnel between real router processes (topologies/gw-a-b-ike.yaml, its
 * routers' SA lifetimes on a clock 60 times faster): aggressive mode, two rekeys under a ping of 10
 * per second, commits that keep the live SAs until they are cleared (the chapter), DELETE on clear, and gw-b killed and brought back by `vrouter up --detach` getting the
 * tunnel back by itself.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, waitUntil, sh, Lab } from './helpers.js';

describe.skipIf(!canRun)(`the life of a dynamic tunnel ${skipReason}`, () => {
  let lab: Lab;
  const exec = async (node: string, ...cmds: string[]) => await vrouter('exec', lab.file, node, ...cmds);
  /** the same change on both gateways; PEER in a command is the other side's address */
  const both = async (...cmds: string[]) => {
    for (const [n, peer] of [['gw-a', '10.6.6.6'], ['gw-b', '10.5.5.5']] as const) {
      const r = await exec(n, ...cmds.map(c => c.replace('PEER', peer)));
      expect(r.out, r.out + r.err).toContain('commit complete');
      expect(r.out).not.toMatch(/error/i);
    }
  };
  /** the chapter: updates apply to new SAs; to apply them at once, clear the existing ones (gw-a's DELETEs clear gw-b's) */
  const clearSas = async () => { for (const n of ['gw-a', 'gw-b']) await exec(n, 'clear ipsec security-associations', 'clear ike security-associations'); };
  const ping = async (n: number, interval = '0.2') => (await inNs(`${lab.name}-host-a`, 'ping', '-n', '-c', String(n), '-i', interval, '-W', '1', '10.2.2.2')).out;
  const received = (out: string) => Number(/(\d+) received/.exec(out)?.[1] ?? -1);
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('gw-a-b-ike', 'l');
    // lifetimes on a faster clock: the chapter's shortest, 180 s, is 3 s here
    writeFileSync(lab.file, readFileSync(lab.file, 'utf8').replace(/startup-config: (gw-[ab]-ike\.conf) \}/g, 'startup-config: $1, clock-rate: 60 }'));
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
  });
  afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

  it('aggressive mode: the IKE lab passes pings, gw-a shows the IKE SA in Aggressive mode', async () => {
    await both('configure', 'set security ike policy PEER mode aggressive', 'commit and-quit');
    expect(received(await ping(3))).toBe(3);
    expect((await exec('gw-a', 'show ike security-associations')).out).toMatch(/10\.6\.6\.6\s+Matured\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+Aggressive/);
    expect((await exec('gw-b', 'show ike security-associations detail')).out).toMatch(/Role: Responder, State: Matured[\s\S]*Exchange type: Aggressive/);
    await both('configure', 'set security ike policy PEER mode main', 'commit and-quit');
    // the live Aggressive mode SA is kept (negotiated under an older configuration) until cleared
    expect((await exec('gw-a', 'show ike security-associations detail')).out).toMatch(/Exchange type: Aggressive[\s\S]*Negotiated under an older configuration/);
    await clearSas();
    expect(received(await ping(2))).toBe(2);
    expect((await exec('gw-a', 'show ike security-associations')).out).toMatch(/Matured\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+Main/);
  });

  it('two rekeys under a continuous ping (10 per second): at most one packet lost per rekey, the old SAs deleted on both sides', async () => {
    // the shortest lifetimes the chapter allows; the SAs of the old configuration cleared, as the chapter says
    await both('configure', 'set security ike proposal ike-proposal lifetime-seconds 180', 'set security ipsec proposal dynamic-1 lifetime-seconds 180', 'set security ipsec proposal dynamic-2 lifetime-seconds 180', 'commit and-quit');
    await clearSas();
    expect(received(await ping(2))).toBe(2);
    const count = async (node: string, re: RegExp) => ((await exec(node, 'show log kmd')).out.match(re) ?? []).length;
    const rekeyRe = /KMD_PM_SA_ESTABLISHED: IPsec SA dynamic-sa1 .*rekey/g, goneRe = /KMD_PM_SA_DELETED: IPsec SA dynamic-sa1 .* removed: (replaced by a new SA \(rekey\)|hard lifetime expired|10\.\d\.\d\.\d deleted it)/g;
    const before = await count('gw-a', rekeyRe) + await count('gw-b', rekeyRe), goneA = await count('gw-a', goneRe), goneB = await count('gw-b', goneRe);
    const badSpi = /KMD_PM_BAD_SPI/g, badBefore = await count('gw-a', badSpi) + await count('gw-b', badSpi);
    const out = await ping(80, '0.1');   // 8 s: the 3 s SAs are renewed at 2.7 s, 5.4 s, ...
    const rekeys = await count('gw-a', rekeyRe) + await count('gw-b', rekeyRe) - before;
    expect(rekeys).toBeGreaterThanOrEqual(2);
    const logs = async () => `${out}\n--- gw-a\n${(await exec('gw-a', 'show log kmd | last 60')).out}\n--- gw-b\n${(await exec('gw-b', 'show log kmd | last 60')).out}`;
    if (process.env.VROUTER_DEBUG_REKEY) writeFileSync(process.env.VROUTER_DEBUG_REKEY, await logs());
    expect(80 - received(out), await logs()).toBeLessThanOrEqual(rekeys);
    // the new SA is in before its first packet arrives: no side ever sees an SPI it does not know
    expect(await count('gw-a', badSpi) + await count('gw-b', badSpi)).toBe(badBefore);
    expect(await count('gw-a', goneRe) - goneA).toBeGreaterThanOrEqual(2);
    expect(await count('gw-b', goneRe) - goneB).toBeGreaterThanOrEqual(2);
    // what is installed is the current pair and at most one on its way out
    for (const n of ['gw-a', 'gw-b']) expect(((await exec(n, 'show ipsec security-associations brief')).out.match(/dynamic-sa1\s+es-0\/1\/0\.0\s+inbound/g) ?? []).length).toBeLessThanOrEqual(2);
    expect((await exec('gw-a', 'show log kmd')).out).toMatch(/KMD_PM_P1_REKEY: IKE SA with 10\.6\.6\.6 reaches its soft lifetime/);
  });

  it('clear on gw-a: gw-b drops its SAs too (DELETE), and traffic brings new ones', async () => {
    // long lifetimes again (6000 s: 100 s here): from now on no rekey or expiry renews the SAs by itself
    await both('configure', 'delete security ike proposal ike-proposal lifetime-seconds', 'set security ipsec proposal dynamic-1 lifetime-seconds 6000', 'set security ipsec proposal dynamic-2 lifetime-seconds 6000', 'commit and-quit');
    await clearSas();
    expect(received(await ping(2))).toBe(2);
    await exec('gw-a', 'clear ipsec security-associations', 'clear ike security-associations');
    // gw-b's next rekey may bring new SAs at once; what matters is that the old ones are gone there
    await waitUntil(async () => /removed: 10\.5\.5\.5 deleted it/.test((await exec('gw-b', 'show log kmd | last 40')).out) && /10\.5\.5\.5 deleted the IKE SA/.test((await exec('gw-b', 'show log kmd | last 40')).out), 'gw-b to take the DELETEs');
    expect(received(await ping(3))).toBe(3);
  });

  it('gw-b killed and brought back by vrouter up --detach: the tunnel comes back without touching gw-a', async () => {
    expect(received(await ping(2))).toBe(2);
    const st = JSON.parse((await vrouter('inspect', lab.file, '--json')).out) as { nodes: Record<string, { pid: number | null }> };
    const pid = st.nodes['gw-b']!.pid!;
    expect(pid).toBeGreaterThan(0);
    await sh('kill', ['-9', String(pid)]);
    await waitUntil(async () => (await sh('kill', ['-0', String(pid)])).code !== 0, 'gw-b to die');
    const up = await vrouter('up', lab.file, '--detach');
    expect(up.out).toMatch(/restarting gw-b with its last committed configuration/);
    // only host-a sends: gw-b answers ESP it cannot place with IKE (INITIAL-CONTACT, INVALID-SPI)
    const t0 = Date.now();
    await waitUntil(async () => received(await ping(1, '0.2')) === 1, 'the tunnel to come back', 20000);
    const took = Date.now() - t0;
    expect(took).toBeLessThan(15000);
    expect(received(await ping(3))).toBe(3);
    expect((await exec('gw-b', 'show log kmd')).out).toMatch(/KMD_PM_BAD_SPI: ESP from 10\.5\.5\.5/);
    expect((await exec('gw-a', 'show log kmd')).out).toMatch(/KMD_PM_INITIAL_CONTACT: 10\.6\.6\.6 starts afresh/);
    expect((await exec('gw-a', 'show ipsec diagnosis')).out).toMatch(/Tunnel es-0\/1\/0\.0: dynamic-sa1 \(dynamic\), 10\.5\.5\.5 -> 10\.6\.6\.6, Up/);
  });
});
