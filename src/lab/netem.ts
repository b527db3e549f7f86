/**
 * `vrouter netem TOPOLOGY NODE:IF [--delay MS] [--jitter MS] [--loss PCT] [--duplicate PCT] [--reorder PCT]
 * [--corrupt PCT] [--rate KBIT] [--seed N] | --clear` (containerlab's `tools netem set`): a router's port
 * is impaired by the router itself, in its output stage (src/pfe/netem.ts, through its control
 * socket); a linux node's port gets tc's netem qdisc, where the kernel has one (this one has not: the
 * command says so). `vrouter inspect` shows what is set, with the counters.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ControlClient } from '../daemon/control.js';
import { validateNetem, NetemParams, NetemState } from '../pfe/netem.js';
import { runDir, hostNs, isUp } from './reallab.js';
import type { Topology } from './topology.js';

export interface NetemOptions { delay?: string; jitter?: string; loss?: string; duplicate?: string; reorder?: string; corrupt?: string; rate?: string; seed?: string; clear?: boolean }

const OPTS: Array<[keyof NetemOptions, keyof NetemParams, RegExp]> = [
  ['delay', 'delayMs', /^(\d+(?:\.\d+)?)(?:ms)?$/], ['jitter', 'jitterMs', /^(\d+(?:\.\d+)?)(?:ms)?$/],
  ['loss', 'lossPct', /^(\d+(?:\.\d+)?)%?$/], ['duplicate', 'duplicatePct', /^(\d+(?:\.\d+)?)%?$/],
  ['reorder', 'reorderPct', /^(\d+(?:\.\d+)?)%?$/], ['corrupt', 'corruptPct', /^(\d+(?:\.\d+)?)%?$/],
  ['rate', 'rateKbit', /^(\d+(?:\.\d+)?)(?:kbit)?$/], ['seed', 'seed', /^(\d+)$/],
];

/** The command line's options as impairment parameters (checked as the router checks them). */
export function netemParams(o: NetemOptions): NetemParams {
  const p: Record<string, number> = {};
  for (const [opt, key, re] of OPTS) {
    const v = o[opt];
    if (v === undefined) continue;
    const m = re.exec(String(v));
    if (!m) throw new Error(`--${opt}: '${v}' is not ${opt === 'seed' ? 'an integer' : opt === 'delay' || opt === 'jitter' ? 'a time in ms' : opt === 'rate' ? 'a rate in kbit/s' : 'a percentage'}`);
    p[key] = Number(m[1]);
  }
  const r = validateNetem(p);
  if (typeof r === 'string') throw new Error(r.replace(/\b(delay|jitter)Ms\b/g, '--$1').replace(/\b(loss|duplicate|reorder|corrupt)Pct\b/g, '--$1').replace(/\brateKbit\b/g, '--rate').replace(/\bseed\b/, '--seed'));
  return r;
}

export function describeNetem(p: NetemParams): string {
  const parts: string[] = [];
  if (p.delayMs) parts.push(`delay ${p.delayMs} ms${p.jitterMs ? ` jitter ${p.jitterMs} ms` : ''}`);
  if (p.lossPct) parts.push(`loss ${p.lossPct}%`);
  if (p.duplicatePct) parts.push(`duplicate ${p.duplicatePct}%`);
  if (p.reorderPct) parts.push(`reorder ${p.reorderPct}%`);
  if (p.corruptPct) parts.push(`corrupt ${p.corruptPct}%`);
  if (p.rateKbit) parts.push(`rate ${p.rateKbit} kbit/s`);
  if (p.seed !== undefined) parts.push(`seed ${p.seed}`);
  return parts.join(', ') || 'no impairment';
}

function endpoint(t: Topology, ep: string): { node: string; ifname: string; linux: boolean } {
  const m = /^([^:]+):(.+)$/.exec(ep);
  if (!m) throw new Error(`'${ep}' is not NODE:INTERFACE`);
  const n = t.nodes.get(m[1]!);
  if (!n) throw new Error(`lab ${t.name} has no node ${m[1]}`);
  const ifs = t.links.flatMap(l => l.endpoints).filter(e => e.node === n.name).map(e => e.ifname);
  if (!ifs.includes(m[2]!)) throw new Error(`${m[1]} has no link on ${m[2]} (its links: ${ifs.map(i => `${n.name}:${i}`).join(', ') || 'none'})`);
  return { node: n.name, ifname: m[2]!, linux: n.kind === 'linux' };
}

async function routerNetem(t: Topology, node: string, body: object): Promise<NetemState[]> {
  const c = new ControlClient(join(runDir(t.name), `${node}.sock`));
  try { await c.connect(); } catch { throw new Error(`${node} of lab ${t.name} is not running (is the lab up?)`); }
  try {
    const r = await c.netem(body);
    if (typeof r.error === 'string') throw new Error(`${node}: ${r.error}`);
    return (r.netem as NetemState[]) ?? [];
  } finally { c.close(); }
}

/** The router's end of the link on NODE:IF, if the other end is a router's port. */
function routerEnd(t: Topology, node: string, ifname: string): string | undefined {
  const l = t.links.find(x => x.endpoints.some(e => e.node === node && e.ifname === ifname));
  const o = l?.endpoints.find(e => !(e.node === node && e.ifname === ifname));
  return o && t.nodes.get(o.node)?.kind !== 'linux' ? `${o.node}:${o.ifname}` : undefined;
}

function tc(ns: string, args: string[]): string {
  try { return execFileSync('ip', ['netns', 'exec', ns, 'tc', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); }
  catch (e) { throw new Error(String((e as { stderr?: string }).stderr || (e as Error).message).trim()); }
}

/** tc netem's words for the parameters. */
function tcArgs(p: NetemParams): string[] {
  const a: string[] = [];
  if (p.delayMs) a.push('delay', `${p.delayMs}ms`, ...(p.jitterMs ? [`${p.jitterMs}ms`] : []));
  if (p.lossPct) a.push('loss', `${p.lossPct}%`);
  if (p.duplicatePct) a.push('duplicate', `${p.duplicatePct}%`);
  if (p.reorderPct) a.push('reorder', `${p.reorderPct}%`);
  if (p.corruptPct) a.push('corrupt', `${p.corruptPct}%`);
  if (p.rateKbit) a.push('rate', `${p.rateKbit}kbit`);
  if (p.seed !== undefined) a.push('seed', String(p.seed));
  if (p.limit) a.push('limit', String(p.limit));
  return a;
}

/** Set, clear or show one port's impairment; the line to print. */
export async function netem(t: Topology, ep: string, o: NetemOptions): Promise<string> {
  const e = endpoint(t, ep);
  const given = OPTS.some(([k]) => o[k] !== undefined);
  if (o.clear && given) throw new Error('--clear takes no other option');
  const p = o.clear || !given ? undefined : netemParams(o);
  if (!isUp(t.name)) throw new Error(`lab ${t.name} is not up`);
  if (e.linux) {
    const ns = hostNs(t.name, e.node);
    if (o.clear) { try { tc(ns, ['qdisc', 'del', 'dev', e.ifname, 'root']); } catch { /* none set */ } return `${ep}: impairment cleared`; }
    if (!p) return `${ep}: ${linuxNetem(ns, e.ifname) ?? 'no impairment'}`;
    try { tc(ns, ['qdisc', 'replace', 'dev', e.ifname, 'root', 'netem', ...tcArgs(p)]); }
    catch (err) {
      const msg = (err as Error).message;
      const peer = routerEnd(t, e.node, e.ifname);
      if (/unknown|not supported|No such file/i.test(msg)) throw new Error(`${ep}: this kernel has no netem qdisc (sch_netem), so a linux node's port cannot be impaired here (tc: ${msg.split('\n')[0]}); ${peer ? `impair the router's end of the link instead (vrouter netem ${t.file} ${peer} ...)` : "impair a router's port instead"}`);
      throw new Error(`${ep}: tc qdisc replace dev ${e.ifname} root netem ${tcArgs(p).join(' ')}: ${msg}`);
    }
    return `${ep}: ${describeNetem(p)} (tc netem)`;
  }
  if (o.clear) { await routerNetem(t, e.node, { ifname: e.ifname, clear: true }); return `${ep}: impairment cleared`; }
  if (!p) { const s = (await routerNetem(t, e.node, {})).find(x => x.ifname === e.ifname); return `${ep}: ${s ? describeState(s) : 'no impairment'}`; }
  const s = (await routerNetem(t, e.node, { ifname: e.ifname, set: p })).find(x => x.ifname === e.ifname)!;
  return `${ep}: ${describeNetem(s.params)}`;
}

export function describeState(s: NetemState): string {
  const c = s.counters;
  return `${describeNetem(s.params)}: ${c.packets} packets, ${c.sent} sent, ${c.lost} lost, ${c.duplicated} duplicated, ${c.corrupted} corrupted, ${c.reordered} reordered, ${c.delayed} delayed, ${c.queued} queued, ${c.queueFull} dropped (queue full)`;
}

function linuxNetem(ns: string, ifname: string): string | undefined {
  try { return /qdisc netem \S+ root .*/.exec(tc(ns, ['qdisc', 'show', 'dev', ifname]))?.[0]; } catch { return undefined; }
}

export interface NetemShown { params?: NetemParams & { seed: number }; counters?: NetemState['counters']; tc?: string }

/** Every impaired port of a lab that is up, by NODE:IF (for `vrouter inspect`). */
export async function labNetem(t: Topology): Promise<Record<string, NetemShown>> {
  const out: Record<string, NetemShown> = {};
  for (const n of t.nodes.values()) {
    if (n.kind === 'linux') {
      for (const l of t.links) for (const e of l.endpoints) if (e.node === n.name) { const s = linuxNetem(hostNs(t.name, n.name), e.ifname); if (s) out[`${n.name}:${e.ifname}`] = { tc: s }; }
      continue;
    }
    let states: NetemState[];
    try { states = await routerNetem(t, n.name, {}); } catch { continue; }   // not running: inspect says so
    for (const s of states) out[`${n.name}:${s.ifname}`] = { params: s.params, counters: s.counters };
  }
  return out;
}
