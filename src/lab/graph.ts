/**
 * `vrouter graph TOPOLOGY [--format dot | mermaid | svg]`: a picture of the lab. Nodes are the routers
 * (with their chassis: model and PIC placements) and the linux hosts; solid edges are the links, with
 * the interface name at each end; dashed edges are the es- tunnels, drawn between the gateways whose
 * addresses their tunnel source and destination are (read from each router's configuration: its saved
 * commit in the lab directory if there is one, else its startup-config). SVG is Graphviz's `dot -Tsvg`.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadAndCheck } from '../config/index.js';
import { Chassis } from '../../chassis/chassis.js';
import { intToIp, ipToInt } from '../net/ip.js';
import { startConfigOf } from './save.js';
import type { Topology } from './topology.js';

export interface GraphNode { name: string; kind: string; label: string[] }
export interface GraphLink { a: string; aIf: string; b: string; bIf: string }
/** A tunnel end is a node of the lab, or an address no node of the lab has (drawn as that address). */
export interface GraphTunnel { a: string; aIf: string; b: string; bIf?: string; sa?: string; source: string; destination: string }
export interface LabGraph { name: string; nodes: GraphNode[]; links: GraphLink[]; tunnels: GraphTunnel[] }

interface EsEnd { node: string; ifl: string; source: number; destination: number; sa?: string }

/** The lab as a graph: nodes, links and es- tunnels (pure apart from reading the configuration files). */
export function labGraph(t: Topology): LabGraph {
  const nodes: GraphNode[] = [];
  const owner = new Map<number, string>();   // address -> node that has it
  const ends: EsEnd[] = [];
  for (const n of t.nodes.values()) {
    if (n.kind === 'linux') {
      const addrs: string[] = [];
      for (const line of n.exec) for (const m of line.matchAll(/\baddr(?:ess)? add (\d+\.\d+\.\d+\.\d+)(\/\d+)?/g)) { addrs.push(m[1]! + (m[2] ?? '')); owner.set(ipToInt(m[1]!), n.name); }
      nodes.push({ name: n.name, kind: 'linux', label: [n.name, n.swanctl ? 'linux (strongSwan)' : 'linux', ...addrs] });
      continue;
    }
    const chassis = `${n.model!.toUpperCase()}: ${n.pics.map(p => `${p.fpc}/${p.pic} ${p.type}`).join(', ')}`;
    nodes.push({ name: n.name, kind: n.kind, label: [n.name, chassis] });
    const { file } = startConfigOf(t, n.name);
    if (!file) continue;
    const r = loadAndCheck(readFileSync(file, 'utf8'), { file, chassis: new Chassis(n.model, n.pics) });
    if (!r.ok) continue;   // `up` says why; the picture still shows the node and its links
    for (const i of r.model.interfaces) for (const u of i.units) {
      for (const a of u.inet?.addresses ?? []) if (i.type !== 'es') owner.set(a.local, n.name);
      if (i.type === 'es' && u.tunnel && !u.disabled && !i.disabled) ends.push({ node: n.name, ifl: `${i.name}.${u.unit}`, source: u.tunnel.source, destination: u.tunnel.destination, ...(u.inet?.ipsecSa ? { sa: u.inet.ipsecSa } : {}) });
    }
  }
  const links = t.links.map(l => ({ a: l.endpoints[0].node, aIf: l.endpoints[0].ifname, b: l.endpoints[1].node, bIf: l.endpoints[1].ifname }));
  const tunnels: GraphTunnel[] = [];
  const used = new Set<EsEnd>();
  for (const e of ends) {
    if (used.has(e)) continue;
    used.add(e);
    // the other end: a tunnel of another router with the mirrored source and destination
    const peer = ends.find(o => !used.has(o) && o.node !== e.node && o.source === e.destination && o.destination === e.source);
    if (peer) used.add(peer);
    const b = peer?.node ?? owner.get(e.destination) ?? intToIp(e.destination);
    tunnels.push({ a: e.node, aIf: e.ifl, b, ...(peer ? { bIf: peer.ifl } : {}), ...(e.sa ?? peer?.sa ? { sa: e.sa ?? peer!.sa } : {}), source: intToIp(e.source), destination: intToIp(e.destination) });
  }
  return { name: t.name, nodes, links, tunnels };
}

const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Graphviz dot (an undirected graph). */
export function toDot(g: LabGraph): string {
  const known = new Set(g.nodes.map(n => n.name));
  const out = [`graph ${q(g.name)} {`, '  graph [overlap=false, splines=true, fontname="Helvetica"];', '  node [fontname="Helvetica", fontsize=11];', '  edge [fontname="Helvetica", fontsize=9];'];
  for (const n of g.nodes) out.push(`  ${q(n.name)} [label=${q(n.label.join('\n'))}, shape=${n.kind === 'linux' ? 'ellipse' : 'box'}, style=${n.kind === 'linux' ? 'solid' : '"rounded,filled"'}, fillcolor="#dde8f5"];`);
  for (const t of g.tunnels) if (!known.has(t.b)) out.push(`  ${q(t.b)} [label=${q(t.b)}, shape=plaintext];`);
  for (const l of g.links) out.push(`  ${q(l.a)} -- ${q(l.b)} [taillabel=${q(l.aIf)}, headlabel=${q(l.bIf)}];`);
  for (const t of g.tunnels) out.push(`  ${q(t.a)} -- ${q(t.b)} [style=dashed, color="#b03030", label=${q(tunnelLabel(t))}, taillabel=${q(t.aIf)}${t.bIf ? `, headlabel=${q(t.bIf)}` : ''}];`);
  out.push('}');
  return out.join('\n') + '\n';
}

function tunnelLabel(t: GraphTunnel): string { return `${t.sa ? t.sa + ' ' : ''}${t.source} - ${t.destination}`; }

/** Mermaid flowchart (GitHub renders it in Markdown). */
export function toMermaid(g: LabGraph): string {
  const ids = new Map<string, string>();
  const id = (name: string) => { let v = ids.get(name); if (!v) { v = `n${ids.size}_${name.replace(/[^A-Za-z0-9]/g, '_')}`; ids.set(name, v); } return v; };
  const txt = (s: string) => s.replace(/"/g, '#quot;');
  const out = ['flowchart LR'];
  for (const n of g.nodes) out.push(n.kind === 'linux' ? `  ${id(n.name)}(["${txt(n.label.join('<br/>'))}"])` : `  ${id(n.name)}["${txt(n.label.join('<br/>'))}"]`);
  const known = new Set(g.nodes.map(n => n.name));
  for (const t of g.tunnels) if (!known.has(t.b) && !ids.has(t.b)) out.push(`  ${id(t.b)}["${txt(t.b)}"]`);
  for (const l of g.links) out.push(`  ${id(l.a)} ---|"${txt(`${l.aIf} - ${l.bIf}`)}"| ${id(l.b)}`);
  for (const t of g.tunnels) out.push(`  ${id(t.a)} -. "${txt(`${t.aIf}${t.bIf ? ' - ' + t.bIf : ''}: ${tunnelLabel(t)}`)}" .- ${id(t.b)}`);
  return out.join('\n') + '\n';
}

/** SVG through Graphviz's dot. */
export function toSvg(g: LabGraph): string {
  const r = spawnSync('dot', ['-Tsvg'], { input: toDot(g), encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error("Graphviz's dot is not installed (Debian's graphviz): run scripts/deps.sh");
  if (r.status !== 0) throw new Error(`dot -Tsvg failed: ${(r.stderr || String(r.error)).trim()}`);
  return r.stdout;
}

export function graph(t: Topology, format = 'dot'): string {
  const g = labGraph(t);
  switch (format) {
    case 'dot': return toDot(g);
    case 'mermaid': return toMermaid(g);
    case 'svg': return toSvg(g);
    default: throw new Error(`--format takes dot, mermaid or svg (got '${format}')`);
  }
}
