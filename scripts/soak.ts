/**
 * The IKE soak (issue 22): gw-a and gw-b of topologies/gw-a-b-ike.yaml (main mode, PFS, the chapter's
 * shortest lifetimes: 180 s for the IKE SA and for the IPsec SA) in one process, each router with its
 * ES PIC in a worker thread as in a router process, on an injected clock (RouterOptions.now) that this
 * script moves: a day of lifetimes (480 IPsec SA lifetimes, as many IKE SA ones) runs in minutes, and
 * every rekey happens while host-a pings host-b back to back in wall time.
 *
 *   bash scripts/soak.sh [--hours 24] [--step 5] [--warm 1] [--inline] [--why] [--snapshots DIR]
 *
 * It prints the packets lost per rekey, the memory at the start and at the end (after a full
 * collection: what is held, not garbage), what kmd and the ES PICs hold, the ES PIC restarts and the
 * PFE's internal errors; it exits 1 if a restart or an internal error happened or memory grew beyond noise.
 * Not part of .ci/run (it takes minutes); the figures are in docs/performance.md ("The IKE soak").
 */
import { readFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { join } from 'node:path';
import { gateways } from '../src/lab/memlab.js';
import type { Router } from '../src/router/router.js';
import { LabClock } from '../test/helpers/clock.js';

const arg = (name: string, dflt: number) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const HOURS = arg('hours', 24), WARM_H = arg('warm', 1), STEP_S = arg('step', 5), LIFETIME_S = 180;
/** `--snapshots DIR`: V8 heap snapshots at the start and at the end, to compare what is held */
const SNAPSHOTS = process.argv.includes('--snapshots') ? process.argv[process.argv.indexOf('--snapshots') + 1] : undefined;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) { console.error('run with node --expose-gc (bash scripts/soak.sh)'); process.exit(2); }

const TOPO = join(import.meta.dirname, '../topologies');
const short = (c: string) => c.replace(/lifetime-seconds 6000;/g, `lifetime-seconds ${LIFETIME_S};`)
  .replace(/encryption-algorithm 3des-cbc;\n        \}\n        policy 10/, `encryption-algorithm 3des-cbc;\n            lifetime-seconds ${LIFETIME_S};\n        }\n        policy 10`);
const confA = short(readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8')), confB = short(readFileSync(join(TOPO, 'gw-b-ike.conf'), 'utf8'));
if (!/lifetime-seconds 180;\n        \}\n        policy 10/.test(confA)) throw new Error('the IKE proposal of gw-a-ike.conf has changed shape: its lifetime was not set');

// the ES PIC workers and the routers' timers do not hold the process open (they are unref'd): this does
const alive = setInterval(() => {}, 60_000);
// the routers' clock: the wall clock until the tunnel is up, then moved by this script only
const wall0 = performance.now();
const labClock = new LabClock(), now = labClock.now, clockStart = labClock.t;
// kmd's events, counted as they happen (its log keeps the last 2,000 lines)
const events = new Map<string, number>();
// and the last of them, to say what happened around a lost packet
const recent: string[] = [];
const onEvent = (node: string) => (e: string) => {
  const k = /^(KMD_\w+)/.exec(e)?.[1];
  if (k) events.set(k, (events.get(k) ?? 0) + 1);
  if (/^ES PIC/.test(e)) console.log(`  ${((labClock.t - clockStart) / 1000).toFixed(0)} s on the routers' clock, ${((performance.now() - wall0) / 1000).toFixed(1)} s of wall time, ${node}: ${e}`);
  recent.push(`${((labClock.t - clockStart) / 1000).toFixed(0)} s ${node}: ${e}`);
  if (recent.length > 30) recent.shift();
};
const ipsec = process.argv.includes('--inline') ? 'inline' as const : 'worker' as const;
const t = await gateways(confA, confB, { ipsec, now, onEvent: onEvent('gw-a') }, { ipsec, now, onEvent: onEvent('gw-b') });
const routers: Array<[string, Router]> = [['gw-a', t.gwA], ['gw-b', t.gwB]];
const IFL = 'es-0/1/0.0';
const tun = (r: Router) => r.kmd.tunnels.get(IFL)!;
/** IPsec rekeys of the tunnel (each installs on both sides: gw-a counts each once, whichever side started it) */
const rekeys = () => tun(t.gwA).rekeys;
const p1Rekeys = () => events.get('KMD_PM_P1_REKEY') ?? 0;

// traffic: host-a pings host-b back to back (each ping waits for its reply or 1 s), all the soak long
let sent = 0, lost = 0, stop = false;
const lostAt: number[] = [];
const traffic = (async () => {
  while (!stop) {
    const r = await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 1000 });
    sent++;
    if (!r.length) {
      lost++; lostAt.push(labClock.t);
      if (process.argv.includes('--why')) console.log(`lost at ${((labClock.t - clockStart) / 1000).toFixed(0)} s; gw-a ${[...t.gwA.pfe.drops].map(x => x.join(' ')).join(', ')}; gw-b ${[...t.gwB.pfe.drops].map(x => x.join(' ')).join(', ')}; kmd before it:\n  ${recent.join('\n  ')}`);
    }
    // the simulated hosts keep what they receive (for tests): not the routers' memory
    t.hostA.received.length = 0; t.hostB.received.length = 0; t.hostA.icmp.length = 0; t.hostB.icmp.length = 0;
  }
})();

/** Resolves when host-a's ping count reached `n`: the traffic's own event, no guessed time. */
async function pings(n: number): Promise<void> { while (sent < n) await new Promise<void>(r => setImmediate(r)); }
const dropsOf = () => routers.map(([n, r]) => `${n} ${[...r.pfe.drops].filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`).join('; ');
const mb = (n: number) => (n / 2 ** 20).toFixed(1);
async function collect() { for (let i = 0; i < 3; i++) { gc!(); await new Promise<void>(r => setImmediate(r)); } }
async function held() { await collect(); const m = process.memoryUsage(); return `${mb(m.heapUsed)} MB heap held, ${mb(m.rss)} MB resident`; }
async function memory() {
  await collect();
  const m = process.memoryUsage();
  const pic = await Promise.all(routers.map(async ([, r]) => (await r.ipsec.snapshot!()).sas.filter(s => !s.manual).length));
  const state = routers.map(([n, r], i) => `${n}: ${r.kmd.ikeSnapshot().length} IKE SAs, ${tun(r).installed.length} IPsec SAs, ${r.kmd.reservedSpis()} SPIs reserved, ${pic[i]} dynamic SAs in the ES PIC, kmd log ${(r.log.read('kmd') ?? []).length} lines`).join('; ');
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, text: `rss ${mb(m.rss)} MB, heap used ${mb(m.heapUsed)} MB of ${mb(m.heapTotal)} MB, external ${mb(m.external)} MB (${state})` };
}

await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 5000 });
if (!tun(t.gwA).installed.length) throw new Error('the tunnel did not come up');
/**
 * The clock moves one step: both routers' timers run (lifetimes, rekeys) and what they started ends
 * (test/helpers/clock.ts) while the pings run through it; then the ping in flight ends too (it may have
 * been sealed with the SA the rekey replaced, which the next step deletes) and three pings at least
 * crossed the step. Packets in flight across a rekey's grace period (1 s after the new SA) would be
 * a loss the soak causes, not the routers: in wall time the grace is a million times longer than a hop.
 */
let mark = 0;
const step = () => labClock.advance(t.lab, STEP_S * 1000, STEP_S * 1000, async () => { await pings(Math.max(mark + 3, sent + 1)); mark = sent; }, { answered: true });
// warm: an hour of lifetimes (`--warm H`: the JIT; the logs fill to their bound in about 18 h), then the start figures
for (let s = 0; s < WARM_H * 3600 / STEP_S; s++) await step();
const start = await memory(), sent0 = sent, lost0 = lost, rekeys0 = rekeys(), p10 = p1Rekeys(), clock0 = labClock.t;
if (SNAPSHOTS) console.log(`heap snapshot: ${writeHeapSnapshot(join(SNAPSHOTS, 'start.heapsnapshot'))}`);
console.log(`start (after ${WARM_H} h of lifetimes): ${start.text}`);
const steps = (HOURS * 3600) / STEP_S;
for (let s = 1; s <= steps; s++) {
  await step();
  if (s % (3600 / STEP_S) === 0) console.log(`  ${(s * STEP_S / 3600).toFixed(0)} h: ${rekeys() - rekeys0} IPsec rekeys, ${p1Rekeys() - p10} IKE rekeys, ${sent - sent0} pings, ${lost - lost0} lost${s % (4 * 3600 / STEP_S) === 0 ? `, ${await held()}` : ''}`);
}
stop = true;
await traffic;
const end = await memory();
if (SNAPSHOTS) console.log(`heap snapshot: ${writeHeapSnapshot(join(SNAPSHOTS, 'end.heapsnapshot'))}`);
const restarts = (await Promise.all(routers.map(async ([, r]) => (await r.ipsec.snapshot!()).restarts))).reduce((a, b) => a + b, 0);
const internal = routers.reduce((n, [, r]) => n + (r.pfe.drops.get('internal-error') ?? 0), 0);
const lostN = lost - lost0, n = rekeys() - rekeys0;
console.log(`end (after ${HOURS} h more on the routers' clock, ${((labClock.t - clock0) / 3600e3).toFixed(1)} h): ${end.text}`);
console.log(`${n} IPsec SA rekeys and ${p1Rekeys() - p10} IKE SA rekeys under ${sent - sent0} pings: ${lostN} lost (${(lostN / Math.max(1, n)).toFixed(3)} per rekey)${lostAt.length ? `; lost at ${lostAt.filter(x => x >= clock0).map(x => `${((x - clock0) / 1000).toFixed(0)} s`).slice(0, 10).join(', ')}` : ''}`);
console.log(`PFE drops: ${dropsOf()}`);
console.log(`memory: ${mb(end.heapUsed - start.heapUsed)} MB more heap held, ${mb(end.rss - start.rss)} MB more resident; ES PIC restarts ${restarts}; PFE internal errors ${internal}; ${((performance.now() - wall0) / 1000).toFixed(0)} s of wall time`);
await t.lab.close();
clearInterval(alive);
// noise: the heap held after a collection moves by a few hundred KB between two readings
process.exit(restarts || internal || end.heapUsed - start.heapUsed > 4 * 2 ** 20 ? 1 : 0);
