/**
 * Real labs: Linux network namespaces for hosts, one lab namespace holding a bridge per link, a
 * persistent TAP per router port and a veth per host port, and one router process per router. The
 * lab owns every device, so a router process that dies takes no host interface or address with it.
 * Every name derives from the lab name, so `down` cleans up even after a crash or a killed `up`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, copyFileSync, statSync, symlinkSync, readdirSync, lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from '../host/paths.js';
import type { Topology, NodeSpec } from './topology.js';
import type { RouterSpec } from '../daemon/router-main.js';
import { loadAndCheck } from '../config/index.js';
import { Chassis } from '../../chassis/chassis.js';
import { routerDir, checkStartConfigs, startLines, removeLabDir, labDir } from './save.js';
import { ROUTER_V8_FLAGS, ROUTER_ENV } from './v8-limits.js';

export const RUN_ROOT = process.env.VROUTER_RUN ?? '/run/vrouter';
export const runDir = (lab: string) => join(RUN_ROOT, lab);
export const labNs = (lab: string) => `vr-${lab}`;
export const hostNs = (lab: string, node: string) => `${lab}-${node}`;
/** A router's Routing Engine stack: its own namespace, where the router process's sockets live. */
export const reNs = (lab: string, node: string) => `vr-${lab}-${node}`;
/**
 * A strongSwan node's charon: its strongswan.conf, vici socket and log. Not under /run: charon runs
 * with a private /run (one charon per namespace, each with its own pid file), which hides it.
 */
export const CHARON_ROOT = process.env.VROUTER_CHARON_DIR ?? '/var/lib/vrouter';
export const charonDir = (lab: string, node: string) => join(CHARON_ROOT, lab, node);
export const viciUri = (lab: string, node: string) => `unix://${join(charonDir(lab, node), 'charon.vici')}`;
const h4 = (lab: string) => createHash('sha1').update(lab).digest('hex').slice(0, 4);
export const bridgeName = (lab: string, i: number) => `vb${h4(lab)}${i}`;
const tapName = (lab: string, i: number, side: number) => `vt${h4(lab)}${i}${side ? 'b' : 'a'}`;
const vethName = (lab: string, i: number, side: number, peer: boolean) => `${peer ? 'vp' : 'vv'}${h4(lab)}${i}${side ? 'b' : 'a'}`;

export interface LabState {
  name: string; file: string; started: string;
  nodes: Record<string, { kind: string; pid: number | null; netns: string }>;
  links: Array<{ endpoints: [string, string]; netns: string; device: string }>;
}

function ip(args: string[], ns?: string): string {
  const full = ns ? ['-n', ns, ...args] : args;
  return execFileSync('ip', full, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
/** Many `ip` commands in one process (`ip -batch`): a lab of 16 routers needs hundreds of them. */
function ipBatch(lines: string[][], ns?: string): void {
  if (!lines.length) return;
  try { execFileSync('ip', [...(ns ? ['-n', ns] : []), '-batch', '-'], { input: lines.map(l => l.join(' ')).join('\n') + '\n', stdio: ['pipe', 'pipe', 'pipe'] }); }
  catch (e) { throw new Error(`ip -batch failed: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`); }
}
function tryRun(cmd: string, args: string[]): void { try { execFileSync(cmd, args, { stdio: 'ignore' }); } catch { /* already gone */ } }
const nsList = (): string[] => { try { return ip(['netns', 'list']).split('\n').map(l => l.split(' ')[0]!).filter(Boolean); } catch { return []; } };
/** Is this process running? A zombie (killed, not yet reaped by whoever adopted it) is not. */
const alive = (pid: number | null | undefined) => {
  if (!pid) return false;
  try { process.kill(pid, 0); } catch { return false; }
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
};


export function preflight(): void {
  if (process.getuid && process.getuid() !== 0) throw new Error('vrouter up needs root (it creates network namespaces and TAP devices)');
  if (!existsSync('/dev/net/tun')) throw new Error('/dev/net/tun does not exist: this machine has no TUN/TAP support');
  try { execFileSync('ip', ['-V'], { stdio: 'ignore' }); } catch { throw new Error("the 'ip' command (iproute2) is missing: run scripts/deps.sh"); }
  if (!existsSync(join(repoRoot(), 'build', 'Release', 'vrouter_tap.node'))) throw new Error('the TAP addon is not built: run `npm ci` in the checkout');
}

export function readState(lab: string): LabState | undefined {
  const f = join(runDir(lab), 'state.json');
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) as LabState : undefined;
}
const routerPid = (lab: string, node: string): number | null => {
  const f = join(runDir(lab), `${node}.pid`);
  return existsSync(f) ? Number(readFileSync(f, 'utf8')) : null;
};

/** Commit-check every router's startup configuration before anything is created. */
export function checkConfigs(t: Topology): string[] {
  const errs: string[] = [];
  for (const n of t.nodes.values()) {
    if (n.kind === 'linux' || !n.startupConfig) continue;
    const r = loadAndCheck(readFileSync(n.startupConfig, 'utf8'), { file: n.startupConfig, chassis: new Chassis(n.model, n.pics) });
    if (!r.ok) errs.push(`${n.name}: startup configuration ${n.startupConfig} does not commit:\n${r.output}`);
  }
  return errs;
}

function portsOf(t: Topology, node: string): Record<string, string> {
  const ports: Record<string, string> = {};
  t.links.forEach((l, i) => l.endpoints.forEach((e, side) => { if (e.node === node) ports[e.ifname] = tapName(t.name, i, side); }));
  return ports;
}

/** The router process's code: the one-file bundle of `npm run build`, or the compiled modules without it. */
function routerMain(): string {
  const bundle = join(repoRoot(), 'dist', 'bundle', 'router-main.js'), modules = join(repoRoot(), 'dist', 'src', 'daemon', 'router-main.js');
  // a bundle older than the compiled modules (tsc run alone) would run yesterday's code
  try { return statSync(bundle).mtimeMs >= statSync(modules).mtimeMs ? bundle : modules; } catch { return modules; }
}

/**
 * The Routing Engine stacks (SCEP, NETCONF, ...) of these routers: a namespace each, made afresh at
 * each start, all in one `ip` process; the router process brings up its loopback and re0 there.
 */
function reNamespaces(t: Topology, routers: NodeSpec[]): void {
  const have = new Set(nsList());
  const lines: string[][] = [];
  for (const n of routers) {
    const rns = reNs(t.name, n.name);
    if (have.has(rns)) lines.push(['netns', 'del', rns]);
    lines.push(['netns', 'add', rns]);
  }
  ipBatch(lines);
}

async function startRouter(t: Topology, n: NodeSpec, log: (s: string) => void): Promise<number> {
  const dir = runDir(t.name);
  for (const f of ['ready', 'pid', 'error']) rmSync(join(dir, `${n.name}.${f}`), { force: true });
  const rns = reNs(t.name, n.name);
  const spec: RouterSpec = { lab: t.name, node: n.name, model: n.model!, pics: n.pics, ports: portsOf(t, n.name), startupConfig: n.startupConfig, runDir: dir, stateDir: routerDir(t, n.name), reNetns: rns, ...(n.clockRate ? { clockRate: n.clockRate } : {}) };
  const specFile = join(dir, `${n.name}.spec.json`);
  writeFileSync(specFile, JSON.stringify(spec, null, 2));
  const out = openSync(join(dir, `${n.name}.log`), 'a');
  // VROUTER_PROFILE=DIR: CPU profiles of each router process and its ES PIC workers (written at exit)
  const prof = process.env.VROUTER_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.VROUTER_PROFILE}`] : [];
  if (process.env.VROUTER_NODE_FLAGS) prof.push(...process.env.VROUTER_NODE_FLAGS.split(' ').filter(Boolean));
  const child = spawn('ip', ['netns', 'exec', labNs(t.name), process.execPath, ...ROUTER_V8_FLAGS, ...prof, routerMain(), specFile], { detached: true, stdio: ['ignore', out, out], env: { ...process.env, ...ROUTER_ENV } });
  child.unref();
  closeSync(out);
  const end = Date.now() + 30000;
  while (Date.now() < end) {
    if (existsSync(join(dir, `${n.name}.ready`))) return routerPid(t.name, n.name)!;
    if (existsSync(join(dir, `${n.name}.error`))) throw new Error(readFileSync(join(dir, `${n.name}.error`), 'utf8').trim());
    if (child.exitCode !== null) throw new Error(`${n.name}: router process exited (${child.exitCode}); see ${join(dir, n.name + '.log')}`);
    await new Promise(r => setTimeout(r, 25));
  }
  throw new Error(`${n.name}: router did not become ready in 30 s; see ${join(dir, n.name + '.log')}`);
  void log;
}

export function isUp(lab: string): boolean { return nsList().includes(labNs(lab)); }

export function deadRouters(t: Topology): string[] {
  return [...t.nodes.values()].filter(n => n.kind !== 'linux' && !alive(routerPid(t.name, n.name))).map(n => n.name);
}

/** Bring the lab up; resolves when every router has committed, every link is up and every exec line ran. */
export async function up(t: Topology, log: (s: string) => void = () => {}, o: { reconfigure?: boolean } = {}): Promise<LabState> {
  preflight();
  if (isUp(t.name)) {
    const dead = deadRouters(t);
    if (!dead.length) throw new AlreadyUp(`lab ${t.name} is already up`);
    reNamespaces(t, dead.map(name => t.nodes.get(name)!));
    for (const name of dead) { log(`restarting ${name} with its last committed configuration`); await startRouter(t, t.nodes.get(name)!, log); }
    return writeState(t);
  }
  if (o.reconfigure && removeLabDir(t)) log(`--reconfigure: removed the lab directory; every router starts from its startup-config`);
  const errs = checkStartConfigs(t);
  if (errs.length) throw new Error(errs.join('\n'));
  for (const l of startLines(t)) log(l);
  const dir = runDir(t.name);
  mkdirSync(RUN_ROOT, { recursive: true, mode: 0o700 });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    const lns = labNs(t.name);
    ip(['netns', 'add', lns]);
    ip(['link', 'set', 'lo', 'up'], lns);
    tryRun('ip', ['netns', 'exec', lns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    // the lab's bridges are wires: no netfilter on them (br_netfilter would drop malformed IPv4, and
    // a wire carries whatever the hosts send, broken frames included)
    tryRun('ip', ['netns', 'exec', lns, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0']);
    for (const n of t.nodes.values()) {
      if (n.kind !== 'linux') continue;
      const ns = hostNs(t.name, n.name);
      ip(['netns', 'add', ns]);
      ip(['link', 'set', 'lo', 'up'], ns);
      tryRun('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    const labCmds: string[][] = [], hostCmds = new Map<string, string[][]>();
    t.links.forEach((l, i) => {
      const br = bridgeName(t.name, i);
      // the lab's own devices stay silent (no IGMP reports, no snooping queries): a wire carries only
      // what the routers and hosts send
      labCmds.push(['link', 'add', br, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0', 'mcast_snooping', '0'], ['link', 'set', br, 'multicast', 'off']);
      l.endpoints.forEach((e, side) => {
        const n = t.nodes.get(e.node)!;
        if (n.kind === 'linux') {
          const vv = vethName(t.name, i, side, false), vp = vethName(t.name, i, side, true), ns = hostNs(t.name, n.name);
          labCmds.push(['link', 'add', vv, 'type', 'veth', 'peer', 'name', vp], ['link', 'set', vv, 'multicast', 'off', 'master', br, 'up'], ['link', 'set', vp, 'netns', ns]);
          if (!hostCmds.has(ns)) hostCmds.set(ns, []);
          hostCmds.get(ns)!.push(['link', 'set', vp, 'name', e.ifname], ['link', 'set', e.ifname, 'up']);
        } else {
          const tap = tapName(t.name, i, side);
          labCmds.push(['tuntap', 'add', 'dev', tap, 'mode', 'tap'], ['link', 'set', tap, 'multicast', 'off', 'master', br, 'up']);
        }
      });
      labCmds.push(['link', 'set', br, 'up']);
    });
    ipBatch(labCmds, lns);
    for (const [ns, cmds] of hostCmds) ipBatch(cmds, ns);
    for (const n of t.nodes.values()) if (n.kind === 'linux') linuxState(t, n.name);
    const routers = [...t.nodes.values()].filter(n => n.kind !== 'linux');
    reNamespaces(t, routers);
    await Promise.all(routers.map(n => startRouter(t, n, log)));
    for (const n of t.nodes.values()) {
      for (const line of n.exec) {
        // a line knows its lab, its node and a state directory of its own (removed by `vrouter down`)
        const state = charonDir(t.name, n.name);
        try { execFileSync('ip', ['netns', 'exec', hostNs(t.name, n.name), 'sh', '-c', line], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VROUTER_LAB: t.name, VROUTER_NODE: n.name, VROUTER_STATE: state, VROUTER_TOPOLOGY_DIR: dirname(t.file) } }); }
        catch (e) { throw new Error(`${n.name}: exec '${line}' failed: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`); }
      }
    }
    for (const n of t.nodes.values()) if (n.swanctl) await startCharon(t, n);
    return writeState(t);
  } catch (e) {
    down(t);
    throw e;
  }
}

export class AlreadyUp extends Error {}

/**
 * A linux node's state directory ($VROUTER_STATE) is its directory in the lab directory, so that what
 * its exec lines make (a CA's depot, enrolled certificates) outlives `vrouter down`; it is reached as
 * /var/lib/vrouter/LAB/NODE (a symlink: a short path for the Unix sockets made in it, as charon's vici
 * and BIRD's control socket). Sockets a previous run left there are removed: nothing listens on them.
 */
function linuxState(t: Topology, node: string): string {
  const real = join(labDir(t), node), link = charonDir(t.name, node);
  mkdirSync(real, { recursive: true, mode: 0o700 });
  for (const f of readdirSync(real)) { const p = join(real, f); try { if (lstatSync(p).isSocket()) rmSync(p); } catch { /* gone */ } }
  mkdirSync(dirname(link), { recursive: true, mode: 0o700 });
  rmSync(link, { recursive: true, force: true });
  symlinkSync(real, link);
  return link;
}

function writeState(t: Topology): LabState {
  const s: LabState = {
    name: t.name, file: t.file, started: readState(t.name)?.started ?? new Date().toISOString(),
    nodes: Object.fromEntries([...t.nodes.values()].map(n => [n.name, n.kind === 'linux'
      ? { kind: n.kind, pid: null, netns: hostNs(t.name, n.name) }
      : { kind: n.kind, pid: routerPid(t.name, n.name), netns: labNs(t.name) }])),
    links: t.links.map((l, i) => ({ endpoints: l.endpoints.map(e => `${e.node}:${e.ifname}`) as [string, string], netns: labNs(t.name), device: bridgeName(t.name, i) })),
  };
  writeFileSync(join(runDir(t.name), 'state.json'), JSON.stringify(s, null, 2));
  return s;
}

export function inspect(t: Topology): LabState {
  const s = readState(t.name);
  if (!s || !isUp(t.name)) throw new Error(`lab ${t.name} is not up (vrouter list shows the labs that are; vrouter up ${t.file} brings it up)`);
  for (const [name, n] of Object.entries(s.nodes)) if (n.kind !== 'linux') n.pid = alive(routerPid(t.name, name)) ? routerPid(t.name, name) : null;
  return s;
}

/** Remove everything the lab made: processes, namespaces (and so every device in them), state. */
export function down(t: Pick<Topology, 'name'> & { nodes: Map<string, Pick<NodeSpec, 'name' | 'kind'>> }): string[] {
  const removed: string[] = [];
  const namespaces = [labNs(t.name), ...[...t.nodes.values()].map(n => n.kind === 'linux' ? hostNs(t.name, n.name) : reNs(t.name, n.name))];
  const existing = new Set(nsList());
  const pids = new Set<number>();
  for (const n of t.nodes.values()) { const p = routerPid(t.name, n.name); if (p) pids.add(p); }
  for (const ns of namespaces) if (existing.has(ns)) {
    try { for (const p of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)) pids.add(Number(p)); } catch { /* none */ }
  }
  for (const p of pids) { try { process.kill(p, 'SIGTERM'); } catch { /* gone */ } }
  const end = Date.now() + 3000;
  while ([...pids].some(alive) && Date.now() < end) execFileSync('sleep', ['0.05']);
  for (const p of pids) if (alive(p)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  for (const ns of namespaces) if (existing.has(ns)) { tryRun('ip', ['netns', 'del', ns]); removed.push(ns); }
  rmSync(runDir(t.name), { recursive: true, force: true });
  rmSync(join(CHARON_ROOT, t.name), { recursive: true, force: true });
  return removed;
}

/**
 * strongSwan in a linux node (its `swanctl` file): charon with kernel-libipsec (userspace ESP over a
 * TUN device: the kernel here has no ESP), in the node's namespace with a private /run; then swanctl
 * loads the node's connections and secrets. `down` stops it with the namespace's other processes.
 */
async function startCharon(t: Topology, n: NodeSpec): Promise<void> {
  const dir = charonDir(t.name, n.name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const conf = join(dir, 'strongswan.conf');
  writeFileSync(conf, [
    'charon {',
    '  load = random nonce gcrypt gmp sha1 md5 hmac pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici updown',
    '  # aggressive mode with a pre-shared key, as the chapter allows it',
    '  i_dont_care_about_security_and_use_aggressive_mode_psk = yes',
    '  filelog {',
    '    log {',
    `      path = ${join(dir, 'charon.log')}`,
    '      time_format = %b %e %T',
    '      default = 1',
    '      ike = 2',
    '      append = no',
    '      flush_line = yes',
    '    }',
    '  }',
    '  plugins {',
    `    vici {\n      socket = ${viciUri(t.name, n.name)}\n    }`,
    '    kernel-libipsec {\n      load = yes\n    }',
    '  }',
    '}',
    '',
  ].join('\n'), { mode: 0o600 });
  const out = openSync(join(dir, 'charon.out'), 'a');
  const child = spawn('ip', ['netns', 'exec', hostNs(t.name, n.name), 'unshare', '-m', 'sh', '-c', 'mount -t tmpfs none /run && exec /usr/lib/ipsec/charon'],
    { detached: true, stdio: ['ignore', out, out], env: { ...process.env, STRONGSWAN_CONF: conf } });
  child.unref();
  closeSync(out);
  const sock = join(dir, 'charon.vici');
  const end = Date.now() + 15000;
  while (!existsSync(sock)) {
    if (child.exitCode !== null) throw new Error(`${n.name}: charon exited (${child.exitCode}); see ${join(dir, 'charon.out')} and charon.log`);
    if (Date.now() > end) throw new Error(`${n.name}: charon did not open its vici socket in 15 s; see ${join(dir, 'charon.log')}`);
    await new Promise(r => setTimeout(r, 25));
  }
  // swanctl reads x509/, x509ca/ and private/ beside the file it loads: a copy in the node's state
  // directory puts them there, where the node's exec lines ($VROUTER_STATE) can enroll certificates
  const swanctlConf = join(dir, 'swanctl.conf');
  copyFileSync(n.swanctl!, swanctlConf);
  try { execFileSync('swanctl', ['--load-all', '--file', swanctlConf, '--uri', viciUri(t.name, n.name)], { stdio: ['ignore', 'pipe', 'pipe'] }); }
  catch (e) { throw new Error(`${n.name}: swanctl --load-all ${n.swanctl} failed: ${String((e as { stdout?: Buffer }).stdout ?? '')}${String((e as { stderr?: Buffer }).stderr ?? e)}`.trim()); }
}
