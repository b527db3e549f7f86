/**
 * The replay window for real (topologies/gw-a-b-ike.yaml: an IKE-negotiated SA, whose anti-replay is on;
 * a manual SA has none): `vrouter netem` duplicates, delays and reorders what leaves the gateways' ports
 * on their link, with fixed seeds. IKE converges over a link that duplicates every frame (without the
 * storm of resends a copy used to start), every ping is answered once, the receiving gateway counts
 * each copy of an ESP packet as a replay, and packets that overtake others inside the window are
 * accepted. Then the impairment outlives a killed router process (kill, `vrouter up --detach`) and
 * `vrouter inspect` shows it; `vrouter down` ends it, as containerlab's destroy ends a node's netem.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, waitUntil, processGone, capture, linkOf, Lab } from './helpers.js';

interface Shown { params: Record<string, number>; counters: Record<string, number> }

describe.skipIf(!canRun)(`the replay window over duplicated and reordered ESP ${skipReason}`, () => {
  let lab: Lab;
  let oldSpi = -1;   // gw-a's outbound SPI before it is killed
  const netem = async (...a: string[]) => await vrouter('netem', lab.file, ...a);
  const exec = async (node: string, cmd: string) => (await vrouter('exec', lab.file, node, cmd)).out;
  const inspect = async () => JSON.parse((await vrouter('inspect', lab.file, '--json')).out) as { nodes: Record<string, { pid: number }>; netem: Record<string, Shown> };
  const hostA = async (...cmd: string[]) => await inNs(`${lab.name}-host-a`, ...cmd);
  /**
   * One direction of dynamic-sa1 on a gateway (show ipsec security-associations detail): its SPI, packets
   * and replay drops; `spi` picks the one SA with that SPI (the peer's outbound is this one's inbound).
   */
  const sa = async (node: string, dir: 'inbound' | 'outbound', spi?: number) => {
    const out = await exec(node, 'show ipsec security-associations detail');
    const blocks = out.split(/\n\s*\n/).filter(b => b.includes(`Direction: ${dir}, SPI: ${spi ?? ''}`));
    expect(blocks, out).toHaveLength(1);
    const b = blocks[0]!;
    return { spi: Number(/SPI: (\d+)/.exec(b)![1]), packets: Number(/Packets: (\d+)/.exec(b)![1]), replay: Number(/Drops by reason:.*\breplay (\d+)/.exec(b)?.[1] ?? 0), badIcv: Number(/Drops by reason:.*\bbad-icv (\d+)/.exec(b)?.[1] ?? 0) };
  };
  const answered = (out: string, n: number) => {
    expect(out).toContain(`${n} packets transmitted, ${n} received`);
    expect(out).not.toContain('DUP!');                           // no copy got through the tunnel
  };

  beforeAll(async () => {
    buildOnce();
    lab = labCopy('gw-a-b-ike', 'rp');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
  }, 300000);
  afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

  it('a link that duplicates every frame both ways: IKE converges, each ping answered once, each copy a replay', async () => {
    expect((await netem('gw-a:fe-0/0/0', '--duplicate', '100', '--seed', '11')).code).toBe(0);
    expect((await netem('gw-b:fe-0/0/0', '--duplicate', '100', '--seed', '12')).code).toBe(0);
    await waitUntil(async () => /1 received/.test((await hostA('ping', '-c', '1', '-W', '2', '10.2.2.2')).out), 'a ping through the tunnel over the duplicating link', 60000);
    expect(await exec('gw-a', 'show ike security-associations')).toMatch(/10\.6\.6\.6\s+Matured/);
    answered((await hostA('ping', '-c', '20', '-i', '0.05', '-W', '2', '10.2.2.2')).out, 20);
    // every ESP packet gw-a sealed came twice to gw-b: once decrypted, once counted as a replay; and back
    const aOut = await sa('gw-a', 'outbound'), bOut = await sa('gw-b', 'outbound');
    const bIn = await sa('gw-b', 'inbound', aOut.spi), aIn = await sa('gw-a', 'inbound', bOut.spi);
    expect(aOut.packets).toBeGreaterThanOrEqual(20);
    expect(bIn).toEqual({ spi: aOut.spi, packets: aOut.packets, replay: aOut.packets, badIcv: 0 });
    expect(aIn).toEqual({ spi: bOut.spi, packets: bOut.packets, replay: bOut.packets, badIcv: 0 });
    // what else crossed: ARP and IKE's few messages (each copy of a request answered once, copies of
    // answers by nothing), not the endless exchange of resends a copy once set off
    const n = (await inspect()).netem;
    expect(n['gw-a:fe-0/0/0']!.counters.packets - aOut.packets).toBeLessThan(30);
    expect(n['gw-b:fe-0/0/0']!.counters.packets - bOut.packets).toBeLessThan(30);
    expect((await netem('gw-b:fe-0/0/0', '--clear')).code).toBe(0);
  }, 120000);

  it('delayed, reordered and duplicated ESP: the packets that overtook others are accepted, the copies counted as replays', async () => {
    expect((await netem('gw-a:fe-0/0/0', '--delay', '30', '--reorder', '25', '--duplicate', '25', '--seed', '3')).code).toBe(0);
    const out0 = await sa('gw-a', 'outbound'), sealed = out0.packets, before = await sa('gw-b', 'inbound', out0.spi);
    oldSpi = out0.spi;
    const link = await linkOf(lab.file, 'gw-a:fe-0/0/0', 'gw-b:fe-0/0/0');
    const N = 60;
    let ping = '';
    // a ping every 10 ms over a 30 ms delay: a few in flight at once, so the reordered share overtakes
    const lines = await capture(link.netns, link.device, async () => {
      ping = (await hostA('ping', '-c', String(N), '-i', '0.01', '-W', '2', '10.2.2.2')).out;
      await waitUntil(async () => (await inspect()).netem['gw-a:fe-0/0/0']!.counters.queued === 0, 'the impairment to send what it holds');
    }, 2 * N);
    answered(ping, N);
    const s = (await inspect()).netem['gw-a:fe-0/0/0']!;
    const esp = (await sa('gw-a', 'outbound')).packets - sealed;
    expect(esp).toBe(N);
    expect(s.counters.packets).toBe(N);                           // nothing but the N ESP packets crossed it
    expect(s.counters.reordered).toBeGreaterThan(0);
    expect(s.counters.duplicated).toBeGreaterThan(0);
    const after = await sa('gw-b', 'inbound', out0.spi);
    expect(after.packets - before.packets).toBe(N);               // each one accepted once, overtaken or not
    expect(after.replay - before.replay).toBe(s.counters.duplicated);
    expect(after.badIcv).toBe(0);
    // on the wire: sequence numbers that came after a higher one (accepted: the window is 64)
    const seqs = lines.filter(l => /10\.5\.5\.5 > 10\.6\.6\.6: ESP/.test(l)).map(l => parseInt(/seq=0x([0-9a-f]+)/.exec(l)![1]!, 16));
    let top = 0, late = 0;
    const got = new Set<number>();
    for (const q of seqs) { if (!got.has(q) && q < top) late++; got.add(q); top = Math.max(top, q); }
    expect(late).toBeGreaterThan(0);
  }, 120000);

  it('the impairment outlives a killed router: up --detach brings it back, inspect shows it, it acts; down ends it', async () => {
    const pid = (await inspect()).nodes['gw-a']!.pid;
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => processGone(pid), 'gw-a to die');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
    const n = (await inspect()).netem['gw-a:fe-0/0/0'];
    expect(n?.params).toEqual({ delayMs: 30, reorderPct: 25, duplicatePct: 25, seed: 3 });
    expect((await vrouter('inspect', lab.file)).out).toMatch(/netem gw-a:fe-0\/0\/0: delay 30 ms, duplicate 25%, reorder 25%, seed 3: \d+ packets/);
    // the new gw-a negotiates again over the impaired link; its copies are replays at gw-b again
    await waitUntil(async () => /1 received/.test((await hostA('ping', '-c', '1', '-W', '2', '10.2.2.2')).out), 'the tunnel back after the restart', 90000);
    answered((await hostA('ping', '-c', '20', '-i', '0.05', '-W', '2', '10.2.2.2')).out, 20);
    const s = (await inspect()).netem['gw-a:fe-0/0/0']!;
    expect(s.counters.delayed).toBeGreaterThan(0);
    // the new gw-a's SA (gw-b dropped the old ones on its INITIAL-CONTACT): its copies are replays too
    const fresh = await sa('gw-a', 'outbound');
    expect(fresh.spi).not.toBe(oldSpi);
    const got = await waitUntil(async () => { const x = await exec('gw-b', 'show ipsec security-associations detail'); return !x.includes(`SPI: ${oldSpi}`) && x; }, "gw-b to drop the old gw-a's SAs");
    expect(got).toContain(`Direction: inbound, SPI: ${fresh.spi}`);
    const b = await sa('gw-b', 'inbound', fresh.spi);
    expect(b.packets).toBe(fresh.packets);
    expect(b.replay).toBeGreaterThan(0);
    expect(b.replay).toBeLessThanOrEqual((await inspect()).netem['gw-a:fe-0/0/0']!.counters.duplicated);   // its copies, not IKE's or ARP's
    expect((await vrouter('down', lab.file)).code).toBe(0);
    expect((await vrouter('up', lab.file, '--detach')).code).toBe(0);
    expect((await inspect()).netem).toEqual({});
  }, 200000);
});
