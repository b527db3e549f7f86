/**
 * The replay window against an impaired link, in memory: the gateways' link duplicates (and delays and
 * reorders) every frame through the port output stage `vrouter netem` uses (src/pfe/netem.ts). IKE
 * still converges without a storm of resends (a copy of the peer's answer is answered by nothing), every
 * ping is answered once, the receiving ES PIC counts each duplicated ESP packet as a replay, and
 * packets that overtake others within the window are accepted.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { gateways, figure11, MemLab } from './memlab.js';
import { withNetem, netemRequest, NetemParams } from '../pfe/netem.js';
import type { Router } from '../router/router.js';
import type { Wire } from './wire.js';
import { until } from '../../test/helpers/settle.js';

const TOPO = join(import.meta.dirname, '../../topologies');
let lab: MemLab | undefined;
afterEach(async () => { await lab?.close(); lab = undefined; });

/** What crossed the gateways' link, in arrival order: IKE frames, and ESP by direction as SPI/sequence. */
function watchTransit(w: Wire) {
  const seen = { ike: 0, esp: new Map<string, number[]>() };
  w.watch((from, f) => {
    if (f.readUInt16BE(12) !== 0x0800) return;
    const ihl = (f[14]! & 15) * 4, proto = f[23];
    if (proto === 17 && f.readUInt16BE(14 + ihl + 2) === 500) seen.ike++;
    if (proto === 50) {
      const k = `${from}/${f.readUInt32BE(14 + ihl)}`;
      if (!seen.esp.has(k)) seen.esp.set(k, []);
      seen.esp.get(k)!.push(f.readUInt32BE(14 + ihl + 4));
    }
  });
  return seen;
}

/** Echo replies reaching host-a, by identifier and sequence. */
function watchReplies(w: Wire) {
  const replies = new Map<string, number>();
  w.watch((from, f) => {
    if (from === 'host-a' || f.readUInt16BE(12) !== 0x0800 || f[23] !== 1) return;
    const icmp = 14 + (f[14]! & 15) * 4;
    if (f[icmp] !== 0) return;
    const k = `${f.readUInt16BE(icmp + 4)}/${f.readUInt16BE(icmp + 6)}`;
    replies.set(k, (replies.get(k) ?? 0) + 1);
  });
  return replies;
}

function impair(r: Router, end: Wire['a'], p: NetemParams): void {
  r.pfe.attach('fe-0/0/0', withNetem(r.pfe, 'fe-0/0/0', end));
  expect(netemRequest(r.pfe, { ifname: 'fe-0/0/0', set: p })).toMatchObject({ netem: [{ ifname: 'fe-0/0/0' }] });
}

/** gw-b's inbound dynamic SA: its packets and replay drops. */
async function inbound(r: Router) {
  const sas = (await r.ipsec.snapshot!()).sas.filter(s => s.name === 'dynamic-sa1' && s.direction === 'inbound');
  expect(sas).toHaveLength(1);
  return sas[0]!;
}

/** Sequence numbers that came: how many repeated one already seen, and how many came after a higher one. */
function arrivals(seqs: number[]) {
  const got = new Set<number>();
  let dups = 0, late = 0, top = 0;
  for (const s of seqs) {
    if (got.has(s)) { dups++; continue; }
    got.add(s);
    if (s < top) late++;
    top = Math.max(top, s);
  }
  return { distinct: got.size, dups, late };
}

async function build() {
  const t = await gateways(readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8'), readFileSync(join(TOPO, 'gw-b-ike.conf'), 'utf8'), { ipsec: 'inline' });
  lab = t.lab;
  return { ...t, hostWire: t.lab.wires.get('gw-a:fe-0/0/1--host-a')! };
}

describe('the replay window over a link that duplicates and reorders', () => {
  it('100% duplicates both ways: IKE converges without a storm, each ping answered once, each copy a replay', async () => {
    const t = await build();
    impair(t.gwA, t.transit.a, { duplicatePct: 100, seed: 1 });
    impair(t.gwB, t.transit.b, { duplicatePct: 100, seed: 2 });
    const seen = watchTransit(t.transit), replies = watchReplies(t.hostWire);
    const N = 10;
    let answered = 0;
    for (let i = 0; i < N; i++) answered += (await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).length;
    expect(answered).toBe(N);
    expect([...replies.values()]).toEqual(Array(N).fill(1));   // every reply came once: the copies died at the gateways
    // main mode's 6 and quick mode's 3 messages, each sent twice, a copy of a request answered once more
    // a few dozen frames, not the endless exchange a resend per copy makes
    expect(seen.ike).toBeLessThan(40);
    const toB = [...seen.esp].filter(([k]) => k.startsWith('gw-a:')).flatMap(([, v]) => v);
    const a = arrivals(toB);
    expect(a.dups).toBe(a.distinct);                              // every ESP packet came twice
    const sa = await inbound(t.gwB);
    expect(sa.drops.replay).toBe(a.dups);
    expect(sa.drops['bad-icv']).toBe(0);
    expect(sa.packets).toBe(a.distinct);
  }, 30000);

  it('delayed, reordered and duplicated ESP: the late ones inside the window are accepted, the copies counted as replays', async () => {
    const t = await build();
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);   // the SAs up first
    impair(t.gwA, t.transit.a, { delayMs: 20, reorderPct: 30, duplicatePct: 25, seed: 7 });
    const seen = watchTransit(t.transit), replies = watchReplies(t.hostWire);
    const N = 40;
    // 40 pings at once: they are in flight together, so the reordered share overtakes the delayed ones
    const got = await Promise.all(Array.from({ length: N }, () => t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })));
    expect(got.filter(r => r.length === 1)).toHaveLength(N);
    expect([...replies.values()]).toEqual(Array(N).fill(1));
    const toB = [...seen.esp].filter(([k]) => k.startsWith('gw-a:')).flatMap(([, v]) => v);
    const a = arrivals(toB);
    expect(a.distinct).toBe(N);
    expect(a.late).toBeGreaterThan(0);                            // some came after a higher sequence number
    expect(a.dups).toBeGreaterThan(0);
    const sa = await inbound(t.gwB);
    expect(sa.drops.replay).toBe(a.dups);
    expect(sa.drops['too-old']).toBe(0);
    expect(sa.packets).toBe(1 + N);                               // the first ping's packet, then each of the 40 once
  }, 30000);

  it('a manual SA has no replay window (the chapter): its copies are decrypted and delivered, none counted', async () => {
    const t = await figure11(TOPO, { ipsec: 'inline' });
    lab = t.lab;
    impair(t.gwA, t.transit.a, { duplicatePct: 100, seed: 4 });
    const replies = watchReplies(t.lab.wires.get('gw-a:fe-0/0/1--host-a')!);
    const N = 5;
    for (let i = 0; i < N; i++) expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).toHaveLength(1);
    await until(() => [...replies.values()].every(n => n === 2) && replies.size === N, 'each copy answered');
    const sas = (await t.gwB.ipsec.snapshot!()).sas.filter(s => s.direction === 'inbound');
    expect(sas.length).toBeGreaterThan(0);
    expect(sas.every(s => s.manual && s.replayWindow === undefined && s.drops.replay === 0)).toBe(true);
    expect(sas.reduce((n, s) => n + s.packets, 0)).toBe(2 * N);
  }, 30000);
});
