/** `vrouter` subcommands. Each returns an exit code; none of them imports the console UI. */
import { readFileSync, statSync, existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadAndCheck, showConfig, showSet, loadText, LoadFailure, formatDiagnostics } from '../config/index.js';
import { Chassis } from '../../chassis/chassis.js';
import { resolveLoadKeyFilesSync } from '../mgd/keyfile.js';
import { join, dirname, resolve as resolvePath } from 'node:path';
import { loadTopology, TopologyError, Topology } from '../lab/topology.js';
import * as lab from '../lab/reallab.js';
import { save, labDir, removeLabDir } from '../lab/save.js';
import { cp } from '../lab/cp.js';
import { graph } from '../lab/graph.js';
import { listLabs, formatList } from '../lab/list.js';
import { netem, labNetem, describeNetem, describeState } from '../lab/netem.js';
import { ControlClient } from '../daemon/control.js';
import { openSync, writeSync, closeSync } from 'node:fs';
import { pcapHeader, pcapRecord, LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../net/pcap.js';

const USAGE = `usage: vrouter <command> [options]
  up TOPOLOGY [--detach] [--reconfigure] [--web]
                                          bring a lab up and open the console on its first router
                                          (routers start from vrouter-NAME/ if saved; --reconfigure:
                                          from the topology's startup-config; --web also serves its
                                          page, as vrouter web)
                                          (leaving asks whether to bring the lab down)
  console TOPOLOGY [NODE]                 the console of a running lab
  down TOPOLOGY|LAB [--cleanup]           remove everything the lab made (--cleanup: its lab directory too);
                                          a lab that is up may be named when its file is gone
  save TOPOLOGY [NODE...]                 write each router's committed configuration (juniper.conf)
                                          into the lab directory vrouter-NAME/ beside the topology
  cp TOPOLOGY SRC DST                     copy between the host and a router's disk (gw-a:/var/tmp/f)
  graph TOPOLOGY [--format dot|mermaid|svg]
                                          a picture of the lab: nodes, links, es- tunnels (dashed)
  web TOPOLOGY [--port N] [--listen ADDR] the running lab's page: the map, live tunnels, each
                                          router's CLI (prints its URL with a token first)
  netem TOPOLOGY NODE:IF [--delay MS] [--jitter MS] [--loss PCT] [--duplicate PCT] [--reorder PCT]
        [--corrupt PCT] [--rate KBIT] [--seed N] | --clear
                                          impair a link end (a router applies it in its port's output
                                          stage; a linux node's port gets tc netem); no option: show it
  list [--json]                           every lab that is up on this machine, its nodes, since when
  inspect TOPOLOGY --json                 nodes, processes, namespaces and link devices
  exec TOPOLOGY NODE 'COMMAND' ...        run CLI commands on a running router
  capture TOPOLOGY NODE:IF [-c N] -w FILE.pcap
                                          write what crosses a router port (Ctrl-C stops)
  check FILE [--chassis m5|m10|m20|m40] [--pics 0/0:4x-fe,0/1:es,...]
                                          commit-check a configuration file offline
  show-config FILE [--display set]        print the canonical form of a configuration file
`;

/** A lab known by name from the state `vrouter up` wrote (/run/vrouter/LAB/state.json), for `down`. */
function labByName(name: string): Parameters<typeof lab.down>[0] | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) return undefined;
  const s = lab.readState(name);
  if (!s) return undefined;
  return { name, nodes: new Map(Object.entries(s.nodes).map(([n, v]) => [n, { name: n, kind: v.kind }])) };
}

/** The console on a lab's routers (first router unless NODE names one). */
async function openConsole(t: Topology, node: string | undefined, foreground: boolean): Promise<'down' | 'leave'> {
  // Ink turns interactive rendering off when it sees CI=true; on a real terminal the console is
  // interactive whatever the environment says (tmux and CI runners pass CI through)
  if (process.stdout.isTTY) for (const k of Object.keys(process.env)) if (k === 'CI' || k === 'CONTINUOUS_INTEGRATION' || k.startsWith('CI_')) delete process.env[k];
  const { RemoteLink } = await import('../console/link.js');
  const { runConsole } = await import('../console/run.js');
  const routers = [...t.nodes.values()].filter(n => n.kind !== 'linux').map(n => n.name);
  if (node && !routers.includes(node)) throw new Error(`lab ${t.name} has no router ${node} (routers: ${routers.join(', ')})`);
  const links = new Map<string, import('../console/link.js').RouterLink>();
  for (const r of routers) links.set(r, await RemoteLink.open(r, join(lab.runDir(t.name), `${r}.sock`)));
  return runConsole(links, node ?? routers[0]!, { lab: t.name, foreground });
}

/** Run CLI commands on a lab's router through its control socket; exit 1 if any of them failed. */
export async function execCommands(file: string, node: string, commands: string[], out: (s: string) => void): Promise<number> {
  const t = loadTopology(file);
  const n = t.nodes.get(node);
  if (!n) { out(`vrouter: lab ${t.name} has no node ${node}\n`); return 2; }
  if (n.kind === 'linux') { out(`vrouter: ${node} is a linux node; use: ip netns exec ${lab.hostNs(t.name, node)} COMMAND\n`); return 2; }
  const c = new ControlClient(join(lab.runDir(t.name), `${node}.sock`));
  try { await c.connect(); } catch { out(`vrouter: ${node} of lab ${t.name} is not running (is the lab up?)\n`); return 1; }
  let failed = false;
  const ac = new AbortController();
  const onInt = () => ac.abort();
  process.on('SIGINT', onInt);
  try {
    for (let i = 0; i < commands.length; i++) {
      const r = await c.exec(commands[i] === '^D' ? '\x04' : commands[i]!, out, ac.signal);
      if (r.closed) { out(`vrouter: ${node} closed the connection\n`); return 1; }
      failed ||= r.error;
      if (r.exit) break;
    }
    // a `load ... terminal` left open by the last argument ends here
    return failed ? 1 : 0;
  } finally { process.off('SIGINT', onInt); c.close(); }
}

/** A configuration file's text, or a clear error (missing, a directory, unreadable). */
function readConfigFile(file: string): string {
  let st;
  try { st = statSync(file); } catch { throw new UsageError(`cannot read ${file}: no such file`); }
  if (st.isDirectory()) throw new UsageError(`cannot read ${file}: it is a directory, not a configuration file`);
  try { return readFileSync(file, 'utf8'); } catch (e) { throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (e as Error).message}`); }
}

/** A mistake in how vrouter was called: the message, then the usage (exit 2). */
class UsageError extends Error {}

type Spec = NonNullable<Parameters<typeof parseArgs>[0]>['options'];
/** Options and positionals of one subcommand, strictly: an unknown option or a missing value is an error. */
function parse(args: string[], options: Spec, min: number, max = min) {
  let r;
  try { r = parseArgs({ args, options, allowPositionals: true, strict: true }); }
  catch (e) { throw new UsageError((e as Error).message.replace(/^Option '(-\w, )?(--[\w-]+) <value>' argument missing$/, "option $2 needs a value")); }
  if (r.positionals.length < min) throw new UsageError('missing argument');
  if (r.positionals.length > max) throw new UsageError(`unexpected argument '${r.positionals[max]}'`);
  return { values: r.values as Record<string, string | boolean | undefined>, pos: r.positionals };
}

/** `vrouter check FILE`: commit-check a configuration file offline. */
async function checkCommand(args: string[], out: Out, err: Out): Promise<number> {
  const { values, pos } = parse(args, { chassis: { type: 'string' }, pics: { type: 'string' } }, 1);
  const picsOpt = values.pics as string | undefined;
  const pics = picsOpt?.split(',').map(x => { const m = /^(\d+)\/(\d+):([a-z0-9-]+)$/.exec(x.trim()); if (!m) throw new UsageError(`--pics: '${x}' is not FPC/PIC:TYPE`); return { fpc: Number(m[1]), pic: Number(m[2]), type: m[3]! }; });
  let chassis: Chassis;
  try { chassis = new Chassis((values.chassis as string | undefined) ?? 'm10', pics); } catch (e) { throw new UsageError((e as Error).message); }
  const file = pos[0]!;
  // load-key-file: a path on this host, relative to the configuration file's directory
  const r = loadAndCheck(readConfigFile(file), { file, chassis, prepare: t => resolveLoadKeyFilesSync(t, p => readFileSync(resolvePath(dirname(file), p))) });
  if (!r.ok) { out(r.output); return 1; }
  if (r.warnings.length) out(formatDiagnostics(r.warnings));
  out('configuration check succeeds');
  return 0;
}

/** `vrouter show-config FILE [--display set]`. */
async function showConfigCommand(args: string[], out: Out, err: Out): Promise<number> {
  const { values, pos } = parse(args, { display: { type: 'string' } }, 1);
  const display = values.display as string | undefined;
  if (display !== undefined && display !== 'set') throw new UsageError(`--display takes 'set' (got '${display}')`);
  const file = pos[0]!;
  try {
    const tree = loadText(readConfigFile(file), { file });
    out(display === 'set' ? showSet(tree) : showConfig(tree));
    return 0;
  } catch (e) {
    if (e instanceof LoadFailure) { out(e.message); return 1; }
    throw e;
  }
}

/** `vrouter up TOPOLOGY`: the lab up, then its console (or the foreground, or detached). */
async function upCommand(args: string[], out: Out, err: Out): Promise<number> {
  const { values, pos } = parse(args, { detach: { type: 'boolean' }, reconfigure: { type: 'boolean' }, web: { type: 'boolean' }, port: { type: 'string' }, listen: { type: 'string' } }, 1);
  const detach = !!values.detach;
  const webOpts = values.web ? (await import('../web/cmd.js')).webOptions(values) : undefined;
  if (typeof webOpts === 'string') throw new UsageError(webOpts);
  if (!values.web && (values.port !== undefined || values.listen !== undefined)) throw new UsageError('--port and --listen go with --web');
  const file = pos[0]!;
  const t = loadTopology(file);
  const t0 = Date.now();
  let state;
  try { state = await lab.up(t, s => out(s), { reconfigure: !!values.reconfigure }); }
  catch (e) { if (e instanceof lab.AlreadyUp) { out(e.message); return 0; } throw e; }
  out(`lab ${t.name} is up (${((Date.now() - t0) / 1000).toFixed(1)} s): ${Object.entries(state.nodes).map(([k, v]) => `${k} (${v.kind === 'linux' ? 'netns ' + v.netns : 'pid ' + v.pid})`).join(', ')}`);
  const web = webOpts ? await (await import('../web/cmd.js')).serveLab(t, webOpts, out) : undefined;
  if (detach && !web) return 0;
  if (detach && web) return (await import('../web/cmd.js')).holdUntilSignal(web);
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    out('running in the foreground (no terminal for the console); Ctrl-C brings the lab down');
    // signal handlers alone do not keep Node's event loop alive: hold it until Ctrl-C
    const hold = setInterval(() => {}, 1 << 30);
    await new Promise<void>(res => { process.once('SIGINT', res); process.once('SIGTERM', res); });
    clearInterval(hold);
    await web?.close();
    lab.down(t);
    out(`lab ${t.name} is down`);
    return 0;
  }
  const outcome = await openConsole(t, undefined, true);
  await web?.close();
  if (outcome === 'down') { lab.down(t); out(`lab ${t.name} is down`); }
  else out(`lab ${t.name} stays up; vrouter console ${file} attaches again, vrouter down ${file} removes it`);
  return 0;
}

/** `vrouter inspect TOPOLOGY [--json]`. */
async function inspectCommand(args: string[], out: Out, err: Out): Promise<number> {
  const { values, pos } = parse(args, { json: { type: 'boolean' } }, 1);
  const t = loadTopology(pos[0]!);
  const s = lab.inspect(t);
  const ne = await labNetem(t);
  if (values.json) out(JSON.stringify({ name: s.name, nodes: s.nodes, links: s.links, netem: ne }, null, 2));
  else {
    for (const [k, v] of Object.entries(s.nodes)) out(`${k.padEnd(12)} ${v.kind.padEnd(12)} ${v.pid ?? '-'}\t${v.netns}`);
    for (const l of s.links) out(`${l.endpoints.join(' <-> ').padEnd(40)} ip netns exec ${l.netns} tcpdump -i ${l.device}`);
    for (const [ep, n] of Object.entries(ne)) out(`netem ${ep}: ${n.tc ?? (n.params && n.counters ? describeState({ ifname: ep, params: n.params, counters: n.counters }) : describeNetem(n.params ?? {}))}`);
  }
  return 0;
}

/** `vrouter capture TOPOLOGY NODE:IF [-c N] -w FILE`: a router port's packets as pcap. */
async function captureCommand(args: string[], out: Out, err: Out): Promise<number> {
  const { values, pos } = parse(args, { count: { type: 'string', short: 'c' }, write: { type: 'string', short: 'w' } }, 2);
  const count = values.count as string | undefined, outFile = values.write as string | undefined;
  const [file, ep] = pos as [string, string];
  if (!outFile) throw new UsageError('capture needs -w FILE (or -w - for standard output)');
  if (!ep.includes(':')) throw new UsageError(`'${ep}' is not NODE:INTERFACE`);
  if (count !== undefined && !/^[1-9]\d{0,8}$/.test(count)) throw new UsageError(`-c takes a packet count (got '${count}')`);
  const [node, ifname] = ep.split(':') as [string, string];
  const t = loadTopology(file);
  if (t.nodes.get(node)?.kind === 'linux' || !t.nodes.has(node)) { err(`vrouter: ${node} is not a router of lab ${t.name}`); return 2; }
  const c = new ControlClient(join(lab.runDir(t.name), `${node}.sock`));
  try { await c.connect(); } catch { err(`vrouter: ${node} of lab ${t.name} is not running`); return 1; }
  const fd = outFile === '-' ? 1 : openSync(outFile, 'w');
  writeSync(fd, pcapHeader(ifname.startsWith('es-') ? LINKTYPE_RAW : LINKTYPE_ETHERNET));
  const ac = new AbortController();
  const onInt = () => ac.abort();
  process.on('SIGINT', onInt);
  let n = 0;
  const { error: e, dropped } = await c.capture(ifname, count ? Number(count) : undefined, (d, _k, tm) => { writeSync(fd, pcapRecord(d, tm)); n++; }, ac.signal, () => err(`capturing on ${node}:${ifname}${count ? `, ${count} packets` : ''} (Ctrl-C stops)`));
  process.off('SIGINT', onInt);
  c.close();
  if (fd !== 1) closeSync(fd);
  if (e) { err(`vrouter: ${e}`); return 1; }
  if (fd !== 1) err(`${n} packets captured on ${node}:${ifname}${dropped ? `, ${dropped} dropped by the router (the capture was read too slowly)` : ''}`);
  return 0;
}

type Out = (s: string) => void;

export async function run(argv: string[]): Promise<number> {
  const args = argv.slice();
  const cmd = args.shift();
  const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');
  const err = (s: string) => process.stderr.write(s.endsWith('\n') ? s : s + '\n');
  try {
    switch (cmd) {
      case 'check': return await checkCommand(args, out, err);
      case 'show-config': return await showConfigCommand(args, out, err);
      case 'up': return await upCommand(args, out, err);
      case 'console': {
        const { pos } = parse(args, {}, 1, 2);
        const [file, node] = pos as [string, string | undefined];
        const t = loadTopology(file);
        if (!lab.isUp(t.name)) { err(`vrouter: lab ${t.name} is not up`); return 1; }
        await openConsole(t, node, false);
        return 0;
      }
      case 'down': {
        const { values, pos } = parse(args, { cleanup: { type: 'boolean' } }, 1);
        // a lab that is up may be named instead of its file (the file may be gone: a temporary directory, say)
        const byName = !existsSync(pos[0]!) ? labByName(pos[0]!) : undefined;
        if (byName) {
          if (values.cleanup) { err('vrouter: down LAB --cleanup needs the topology file (it names the lab directory)'); return 1; }
          out(`lab ${byName.name} is down (removed ${lab.down(byName).join(', ') || 'nothing'})`);
          return 0;
        }
        const t = loadTopology(pos[0]!);
        const removed = lab.down(t);
        out(removed.length ? `lab ${t.name} is down (removed ${removed.join(', ')})` : `lab ${t.name} was not up`);
        if (values.cleanup && removeLabDir(t)) out(`removed the lab directory ${labDir(t)}`);
        return 0;
      }
      case 'save': { const { pos } = parse(args, {}, 1, 99); out(save(loadTopology(pos[0]!), pos.slice(1)).join('\n')); return 0; }
      case 'graph': { const { values, pos } = parse(args, { format: { type: 'string' } }, 1); out(graph(loadTopology(pos[0]!), (values.format as string | undefined) ?? 'dot')); return 0; }
      case 'cp': { const { pos } = parse(args, {}, 3, 3); out(cp(loadTopology(pos[0]!), pos[1]!, pos[2]!)); return 0; }
      case 'web': {
        const { values, pos } = parse(args, { port: { type: 'string' }, listen: { type: 'string' } }, 1);
        return await (await import('../web/cmd.js')).webCommand(loadTopology(pos[0]!), values, out, err);
      }
      case 'list': { const { values } = parse(args, { json: { type: 'boolean' } }, 0); const l = listLabs(); out(values.json ? JSON.stringify(l, null, 2) : formatList(l)); return 0; }
      case 'netem': {
        const o = { type: 'string' } as const;
        const { values, pos } = parse(args, { delay: o, jitter: o, loss: o, duplicate: o, reorder: o, corrupt: o, rate: o, seed: o, clear: { type: 'boolean' } }, 2);
        out(await netem(loadTopology(pos[0]!), pos[1]!, values));
        return 0;
      }
      case 'inspect': return await inspectCommand(args, out, err);
      case 'capture': return await captureCommand(args, out, err);
      case 'exec': {
        // no options: every word after TOPOLOGY NODE is a CLI command, whatever it starts with
        const [file, node, ...cmds] = args;
        if (!file || !node || !cmds.length) throw new UsageError('exec needs TOPOLOGY NODE and at least one command');
        return await execCommands(file, node, cmds, s => process.stdout.write(s));
      }
      case undefined: case 'help': case '--help': case '-h':
        out(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        err(`vrouter: unknown command '${cmd}'\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof UsageError) { err(`vrouter ${cmd}: ${e.message}\n${USAGE}`); return 2; }
    err(e instanceof TopologyError ? e.message : `vrouter: ${(e as Error).message}`);
    return 1;
  }
}
