/**
 * One router process of a lab: its chassis, PFE and ES PIC worker(s), attached to the lab's TAP
 * devices, with a commit database on disk and a control socket. Started by `vrouter up` inside the
 * lab's network namespace; restarted with its last committed configuration if it dies.
 */
import { readFileSync, writeFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Router } from '../router/router.js';
import { CommitDb } from '../cli/commitdb.js';
import { TapPort } from '../host/tap.js';
import { withNetem, keepNetem } from '../pfe/netem.js';
import { serveControl } from './control.js';
import { ReStack } from '../host/re-stack.js';
import { ApiServices } from '../api/services.js';
import { warmUp } from '../router/warmup.js';
import type { PicPlacement } from '../../chassis/chassis.js';

export interface RouterSpec { lab: string; node: string; model: string; pics: PicPlacement[]; ports: Record<string, string>; startupConfig?: string; runDir: string; /** the router's directory in the lab directory (commits, rollbacks, disk) */ stateDir?: string; clockRate?: number; reNetns?: string }

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as RouterSpec;
  const stateDir = spec.stateDir ?? join(spec.runDir, spec.node);
  mkdirSync(stateDir, { recursive: true });
  const errFile = join(spec.runDir, `${spec.node}.error`);
  rmSync(errFile, { force: true });
  const fail = (msg: string) => { writeFileSync(errFile, msg + '\n'); process.stderr.write(msg + '\n'); process.exit(1); };
  // VROUTER_ES_INLINE=1 (diagnostics): run the ES PIC in the router's main thread instead of a worker
  const router = new Router({ name: spec.node, model: spec.model, pics: spec.pics, ipsec: process.env.VROUTER_ES_INLINE === '1' ? 'inline' : 'worker', ...(spec.clockRate ? { clockRate: spec.clockRate } : {}), filesDir: join(stateDir, 'fs'), onEvent: e => process.stderr.write(`${new Date().toISOString()} ${e}\n`) });
  // a restarted router comes back with its last committed configuration
  const last = join(stateDir, 'juniper.conf.0');
  const text = existsSync(last) ? readFileSync(last, 'utf8') : spec.startupConfig ? readFileSync(spec.startupConfig, 'utf8') : '';
  const c = router.commitText(text, existsSync(last) ? 'rollback 0' : spec.startupConfig ?? 'empty');
  if (!c.ok) fail(`${spec.node}: startup configuration does not commit:\n${c.output}`);
  const db = new CommitDb(router, stateDir);
  const ports: TapPort[] = [];
  for (const [ifd, dev] of Object.entries(spec.ports)) {
    try { const p = new TapPort(dev); ports.push(p); router.pfe.attach(ifd, withNetem(router.pfe, ifd, p)); }   // vrouter netem impairs the port here
    catch (e) { fail(`${spec.node}: ${ifd}: ${(e as Error).message}`); }
  }
  for (const e of keepNetem(router.pfe, join(spec.runDir, `${spec.node}.netem.json`))) process.stderr.write(`${spec.node}: netem: ${e}\n`);   // a restart keeps the lab's impairments
  // the Routing Engine's own stack: from here on this thread's sockets live in the router's namespace
  let re: ReStack | undefined;
  if (spec.reNetns) {
    try { re = new ReStack(router, `/run/netns/${spec.reNetns}`); }
    catch (e) { fail(`${spec.node}: the Routing Engine's stack: ${(e as Error).message}`); }
  }
  // the XML API (JUNOScript over TLS, NETCONF over SSH) listens there, as [edit system services] says
  const api = re ? new ApiServices(router, db) : undefined;
  // rpd's BGP sessions: TCP 179 in the same stack
  if (re) router.rpd.listen();
  router.onCommit = () => { re?.sync(); api?.apply(); };
  router.start();
  api?.apply();
  // a stop (vrouter down) is honoured from here on, the start-up's waits included
  let server: ReturnType<typeof serveControl> | undefined;
  const stop = async () => {
    server?.close();
    for (const p of ports) p.close();
    api?.close();
    re?.close();
    await router.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  await router.ready();   // `vrouter up` returns once the ES PICs are online, not just started
  // ... and once the packet path is warm: the router's, on throw-away PFEs (src/router/warmup.ts), and
  // each ES PIC worker's, in its self-test (pics/es/selftest.ts); both are bounded, the wait too (5 s,
  // after which the router's warm-up is told to stop)
  const warmN = process.env.VROUTER_WARMUP ? Number(process.env.VROUTER_WARMUP) : undefined;   // packets (0: off)
  const cap = new AbortController();
  const warm = warmN === 0 ? undefined : warmUp({ signal: cap.signal, ...(warmN && warmN > 0 ? { packets: warmN } : {}), ...(process.env.VROUTER_WARMUP_MS ? { budgetMs: Number(process.env.VROUTER_WARMUP_MS) } : {}) });
  let capTimer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all([warm, router.selfTested()]), new Promise(res => { capTimer = setTimeout(res, 5000); capTimer.unref(); })]);
  clearTimeout(capTimer);
  cap.abort();
  void warm?.then(w => { if (!w.ok) router.log.write('messages', 'pfe', `PFE warm-up stopped: ${w.failure}`); });
  server = serveControl(join(spec.runDir, `${spec.node}.sock`), router, db);
  await new Promise<void>(res => server!.once('listening', () => res()));
  writeFileSync(join(spec.runDir, `${spec.node}.pid`), String(process.pid));
  writeFileSync(join(spec.runDir, `${spec.node}.ready`), new Date().toISOString());
  // SIGUSR2 (tests, soak): a full collection, then what the process holds, in NODE.mem (src/lab/v8-limits.ts)
  let gcs = 0;
  process.on('SIGUSR2', () => { (globalThis as { gc?: () => void }).gc?.(); writeFileSync(join(spec.runDir, `${spec.node}.mem`), JSON.stringify({ seq: ++gcs, ...process.memoryUsage() })); });
}

main().catch(e => { process.stderr.write(`router: ${(e as Error).stack}\n`); process.exit(1); });
