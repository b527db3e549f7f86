/** End-to-end helpers: a uniquely named copy of a lab, the vrouter command, and cleanup checks. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../helpers/settle.js';

export const ROOT = join(import.meta.dirname, '../..');
export const canRun = process.getuid?.() === 0 && existsSync('/dev/net/tun');
export const skipReason = canRun ? '' : 'end-to-end tests need root and /dev/net/tun';

let built = false;
const STAMP = join(ROOT, 'dist/.built-from-sources');
/** The newest modification time of what dist/ is built from. */
function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|tsx|js|mjs|json|css|html)$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['src', 'pics', 'chassis', 'bin', 'test']) if (existsSync(join(ROOT, d))) walk(join(ROOT, d));
  for (const f of ['tsconfig.json', 'package.json', 'scripts/bundle.mjs']) newest = Math.max(newest, statSync(join(ROOT, f)).mtimeMs);
  return newest;
}
/**
 * The daemon runs compiled code: make sure dist/ is current. Each test file runs in its own worker,
 * so "once" is kept on disk: dist/ is built again only when a source is newer than the last build
 * (a build costs 18 s here, and the e2e files run one after another).
 */
export function buildOnce(): void {
  if (built) return;
  if (existsSync(STAMP) && statSync(STAMP).mtimeMs > newestSource()) { built = true; return; }
  const started = Date.now();
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT], { stdio: 'inherit' });
  execFileSync(process.execPath, [join(ROOT, 'scripts/bundle.mjs')], { stdio: 'inherit' });
  // stamped with the time the build started: a source edited during the build is newer than it
  writeFileSync(STAMP, `${new Date(started).toISOString()}\n`);
  utimesSync(STAMP, new Date(started), new Date(started));
  built = true;
}

export interface Lab { name: string; dir: string; file: string }
/** Copy topologies/<base>.yaml and its configs to a temp dir under a unique lab name. */
export function labCopy(base: string, tag: string): Lab {
  const dir = mkdtempSync(join(tmpdir(), 'vrouter-e2e-'));
  // files only: `vrouter up topologies/...` (the README's first line) leaves the lab's saved state
  // beside its file (topologies/vrouter-NAME/), which is not the tests' to copy
  for (const f of readdirSync(join(ROOT, 'topologies'), { withFileTypes: true })) if (f.isFile()) cpSync(join(ROOT, 'topologies', f.name), join(dir, f.name));
  const name = `e2e${tag}${process.pid % 1000}`;
  const file = join(dir, `${base}.yaml`);
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^name: .*$/m, `name: ${name}`));
  return { name, dir, file };
}

/**
 * A command's exit code and output, without blocking this test worker's event loop: a synchronous
 * child (spawnSync) held the worker for as long as `vrouter up` took, and under load past vitest's
 * 60 s RPC timeout ("Timeout calling onTaskUpdate"), failing a run whose tests all passed.
 */
export function runAsync(cmd: string, args: string[], timeout: number): Promise<{ code: number; out: string; err: string }> {
  return new Promise(res => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    c.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const t = setTimeout(() => c.kill('SIGKILL'), timeout);
    c.on('error', e => { clearTimeout(t); res({ code: -1, out, err: err + String(e) }); });
    c.on('close', code => { clearTimeout(t); res({ code: code ?? -1, out, err }); });
  });
}

export function vrouter(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return runAsync(process.execPath, [join(ROOT, 'bin/vrouter.js'), ...args], 120000);
}

export async function sh(cmd: string, args: string[], timeout = 60000): Promise<{ code: number; out: string }> {
  const r = await runAsync(cmd, args, timeout);
  return { code: r.code, out: r.out + r.err };
}
export const inNs = async (ns: string, ...cmd: string[]) => await sh('ip', ['netns', 'exec', ns, ...cmd]);

/** What a lab may have left behind: namespaces, TAP/TUN devices, router processes. */
export async function leftovers(name: string): Promise<string[]> {
  const out: string[] = [];
  const ns = (await sh('ip', ['netns', 'list'])).out.split('\n').map(l => l.split(' ')[0]!).filter(n => n && (n === `vr-${name}` || n.startsWith(`vr-${name}-`) || n.startsWith(`${name}-`)));
  out.push(...ns.map(n => `netns ${n}`));
  const procs = (await sh('pgrep', ['-af', 'router-main'])).out.split('\n').filter(l => l.includes(`/${name}/`));
  out.push(...procs.map(p => `process ${p}`));
  if (existsSync(`/run/vrouter/${name}`)) out.push(`dir /run/vrouter/${name}`);
  return out;
}

export async function cleanup(l: Lab): Promise<void> {
  await vrouter('down', l.file);
  rmSync(l.dir, { recursive: true, force: true });
}

/** test/helpers/settle.ts `until`, checking every 50 ms (other processes are asked), 20 s unless told. */
export const waitUntil = <T>(cond: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 20000): Promise<T> => until(cond, what, ms, 50);

/**
 * Capture on a lab link while `act` runs: tcpdump is known to listen before `act` starts (it says so),
 * and the capture ends once `expected` IP lines arrived (or `ms` passed: the caller's assertion then
 * shows what was seen).
 */
export async function capture(netns: string, device: string, act: () => void | Promise<void>, expected: number, ms = 15000): Promise<string[]> {
  const { spawn } = await import('node:child_process');
  const cap = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '-n', '-l', '-i', device], { stdio: ['ignore', 'pipe', 'pipe'] });
  let lines = '', err = '';
  cap.stdout.on('data', d => { lines += d; });
  cap.stderr.on('data', d => { err += d; });
  const exited = new Promise(r => cap.on('exit', r));
  const ipLines = () => lines.split('\n').filter(l => / IP /.test(l));
  try {
    await waitUntil(() => /listening on/.test(err), 'tcpdump to listen', ms);
    await act();
    await waitUntil(() => ipLines().length >= expected, `${expected} packets on ${device}`, ms).catch(() => undefined);
  } finally {
    cap.kill('SIGINT');
    await exited;
  }
  return ipLines();
}

/** Is this process gone (or a zombie)? */
export function processGone(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return true; }
  try { return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return true; }
}

export async function linkOf(file: string, a: string, b: string): Promise<{ netns: string; device: string }> {
  const s = JSON.parse((await vrouter('inspect', file, '--json')).out);
  return s.links.find((l: { endpoints: string[] }) => l.endpoints.join() === `${a},${b}`);
}
