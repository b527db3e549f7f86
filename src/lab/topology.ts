/**
 * Topology files in containerlab's shape:
 *   name: gw-a-b
 *   topology:
 *     nodes:   { NAME: { kind: juniper_m10 | ... | linux, startup-config: FILE, exec: [..], pics: [..] } }
 *     links:   [ { endpoints: ["gw-a:fe-0/0/1", "host-a:eth1"] } ]
 * A wrong file is refused with the line and field of the mistake, before anything is created.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument, LineCounter, isMap, isSeq, isScalar, YAMLMap, Node as YNode } from 'yaml';
import { Chassis, PicPlacement, DEFAULT_PICS } from '../../chassis/chassis.js';
import { modelByName } from '../../chassis/models.js';
import { PIC_CATALOG } from '../../pics/catalog.js';

export interface NodeSpec { name: string; kind: string; model?: string; startupConfig?: string; exec: string[]; pics: PicPlacement[]; line: number; clockRate?: number; swanctl?: string }
export interface Endpoint { node: string; ifname: string }
export interface LinkSpec { endpoints: [Endpoint, Endpoint]; line: number }
export interface Topology { name: string; file: string; dir: string; nodes: Map<string, NodeSpec>; links: LinkSpec[] }

export class TopologyError extends Error {}

const ROUTER_KINDS = ['juniper_m5', 'juniper_m10', 'juniper_m20', 'juniper_m40'];
const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const LINUX_IF_RE = /^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/;

/** What every reader of the file needs: where a node is, and how to refuse it (file:line: field: why). */
interface Reader {
  file: string; dir: string;
  at(n: YNode | null | undefined): number;
  fail(n: YNode | null | undefined, field: string, msg: string): never;
}
const get = (m: YAMLMap, k: string) => m.get(k, true) as YNode | undefined;
const keyOf = (it: { key: unknown }) => String((it.key as { value?: unknown })?.value);
const str = (n: YNode) => String((n as { value: unknown }).value);

export function loadTopology(file: string): Topology {
  const path = resolve(file);
  if (!existsSync(path)) throw new TopologyError(`${file}: no such file`);
  const text = readFileSync(path, 'utf8');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const at = (n: YNode | null | undefined) => (n?.range ? lc.linePos(n.range[0]).line : 1);
  const r: Reader = { file, dir: dirname(path), at, fail: (n, field, msg) => { throw new TopologyError(`${file}:${at(n)}: ${field}: ${msg}`); } };
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new TopologyError(`${file}:${e.linePos?.[0]?.line ?? 1}: ${e.message.split('\n')[0]}`);
  }
  const { name, tm } = readRoot(r, doc.contents as YNode | null);
  const nodesN = get(tm, 'nodes');
  if (!nodesN || !isMap(nodesN)) r.fail(nodesN ?? tm, 'topology.nodes', 'is required (a mapping of node names)');
  const nodes = new Map<string, NodeSpec>();
  for (const it of (nodesN as YAMLMap).items) { const spec = readNode(r, name, it as { key: unknown; value: unknown }); nodes.set(spec.name, spec); }
  return { name, file: path, dir: r.dir, nodes, links: readLinks(r, get(tm, 'links'), nodes) };
}

/** The file's top: its fields, the lab's name and the topology mapping. */
function readRoot(r: Reader, root: YNode | null): { name: string; tm: YAMLMap } {
  if (!isMap(root)) r.fail(root, 'file', 'expected a mapping with name and topology');
  const rm = root as YAMLMap;
  for (const it of rm.items) { const k = keyOf(it); if (!['name', 'topology', 'prefix', 'mgmt'].includes(k)) r.fail(it.key as YNode, k, 'unknown field'); }
  const nameN = get(rm, 'name');
  if (!nameN || !isScalar(nameN)) r.fail(rm, 'name', 'is required');
  const name = str(nameN!);
  if (!NAME_RE.test(name) || name.length > 20) r.fail(nameN, 'name', `'${name}' must be lowercase letters, digits and '-', at most 20 characters`);
  const topo = get(rm, 'topology');
  if (!topo || !isMap(topo)) r.fail(topo ?? rm, 'topology', 'is required (a mapping with nodes and links)');
  const tm = topo as YAMLMap;
  for (const it of tm.items) { const k = keyOf(it); if (!['nodes', 'links', 'kinds', 'defaults'].includes(k)) r.fail(it.key as YNode, `topology.${k}`, 'unknown field'); }
  return { name, tm };
}

/** A file beside the topology that a field names (paths are relative to the topology file). */
function besideFile(r: Reader, n: YNode, field: string): string {
  const p = resolve(r.dir, str(n));
  if (!existsSync(p)) r.fail(n, field, `${str(n)}: no such file (paths are relative to the topology file)`);
  return p;
}

/** One node: its kind and the fields its kind may have. */
function readNode(r: Reader, lab: string, it: { key: unknown; value: unknown }): NodeSpec {
  const nn = keyOf(it);
  const field = `topology.nodes.${nn}`;
  if (!NAME_RE.test(nn)) r.fail(it.key as YNode, field, `node name '${nn}' must be lowercase letters, digits and '-'`);
  if (`${lab}-${nn}`.length > 15 + 16) r.fail(it.key as YNode, field, 'lab and node names are too long together');
  const v = it.value as YNode;
  if (!isMap(v)) r.fail(v ?? (it.key as YNode), field, 'expected a mapping with kind');
  const m = v as YAMLMap;
  for (const f of m.items) { const k = keyOf(f); if (!['kind', 'startup-config', 'exec', 'pics', 'image', 'clock-rate', 'swanctl'].includes(k)) r.fail(f.key as YNode, `${field}.${k}`, 'unknown field'); }
  const kindN = get(m, 'kind');
  const kind = kindN && isScalar(kindN) ? String(kindN.value) : r.fail(m, `${field}.kind`, 'is required');
  if (kind !== 'linux' && !ROUTER_KINDS.includes(kind)) r.fail(kindN, `${field}.kind`, `'${kind}' is not one of ${[...ROUTER_KINDS, 'linux'].join(', ')}`);
  const spec: NodeSpec = { name: nn, kind, exec: [], pics: [], line: r.at(it.key as YNode) };
  const sc = get(m, 'startup-config');
  if (sc) {
    if (kind === 'linux') r.fail(sc, `${field}.startup-config`, 'only routers have a startup configuration');
    spec.startupConfig = besideFile(r, sc, `${field}.startup-config`);
  }
  const ex = get(m, 'exec');
  if (ex) {
    if (!isSeq(ex)) r.fail(ex, `${field}.exec`, 'expected a list of commands');
    if (kind !== 'linux') r.fail(ex, `${field}.exec`, 'only linux nodes run exec lines');
    for (const e of (ex as { items: YNode[] }).items) {
      if (!isScalar(e) || typeof e.value !== 'string') r.fail(e, `${field}.exec`, 'each command must be a string');
      spec.exec.push(str(e));
    }
  }
  const sw = get(m, 'swanctl');
  if (sw) {
    // a strongSwan peer: charon runs in this node's namespace with this swanctl configuration
    if (kind !== 'linux') r.fail(sw, `${field}.swanctl`, 'only linux nodes run strongSwan');
    spec.swanctl = besideFile(r, sw, `${field}.swanctl`);
  }
  const cr = get(m, 'clock-rate');
  if (cr) {
    // SA lifetimes run this many times faster: rekeys and expiries in seconds (docs/topology.md)
    const n = isScalar(cr) ? Number(cr.value) : NaN;
    if (kind === 'linux') r.fail(cr, `${field}.clock-rate`, 'only routers have SA lifetimes');
    if (!Number.isInteger(n) || n < 1 || n > 1000) r.fail(cr, `${field}.clock-rate`, 'expected an integer from 1 to 1000');
    spec.clockRate = n;
  }
  if (kind !== 'linux') readChassis(r, m, spec, field, kindN!);
  return spec;
}

/** A router's model and PICs (the model's defaults without `pics`), checked by building its chassis. */
function readChassis(r: Reader, m: YAMLMap, spec: NodeSpec, field: string, kindN: YNode): void {
  spec.model = spec.kind.replace('juniper_', '');
  const pics = get(m, 'pics');
  if (pics) {
    if (!isSeq(pics)) r.fail(pics, `${field}.pics`, 'expected a list like ["0/0:4x-fe", "0/1:es"]');
    for (const p of (pics as { items: YNode[] }).items) {
      const s = isScalar(p) ? String(p.value) : '';
      const mm = /^(\d+)\/(\d+):([a-z0-9-]+)$/.exec(s);
      if (!mm) r.fail(p, `${field}.pics`, `'${s}' is not FPC/PIC:TYPE (types: ${Object.keys(PIC_CATALOG).join(', ')})`);
      spec.pics.push({ fpc: Number(mm![1]), pic: Number(mm![2]), type: mm![3]! });
    }
  } else spec.pics = DEFAULT_PICS;
  try { new Chassis(spec.model, spec.pics); } catch (e) { r.fail(pics ?? kindN, `${field}.pics`, (e as Error).message); }
  if (!modelByName(spec.model)) r.fail(kindN, `${field}.kind`, 'unknown model');
}

/** The links: two endpoints each, every endpoint a port the node has and no port used twice. */
function readLinks(r: Reader, linksN: YNode | undefined, nodes: Map<string, NodeSpec>): LinkSpec[] {
  const links: LinkSpec[] = [];
  if (!linksN) return links;
  const used = new Set<string>();
  if (!isSeq(linksN)) r.fail(linksN, 'topology.links', 'expected a list of { endpoints: [a, b] }');
  (linksN as { items: YNode[] }).items.forEach((l, i) => {
    const field = `topology.links[${i}]`;
    if (!isMap(l)) r.fail(l, field, 'expected { endpoints: ["node:if", "node:if"] }');
    const eps = get(l as YAMLMap, 'endpoints');
    if (!eps || !isSeq(eps) || (eps as { items: YNode[] }).items.length !== 2) r.fail(eps ?? l, `${field}.endpoints`, 'expected exactly two "node:interface" endpoints');
    const parsed = (eps as { items: YNode[] }).items.map(e => readEndpoint(r, e, `${field}.endpoints`, nodes, used));
    links.push({ endpoints: [parsed[0]!, parsed[1]!], line: r.at(l) });
  });
  return links;
}

function readEndpoint(r: Reader, e: YNode, field: string, nodes: Map<string, NodeSpec>, used: Set<string>): Endpoint {
  const s = isScalar(e) ? String(e.value) : '';
  const mm = /^([^:]+):(.+)$/.exec(s);
  if (!mm) r.fail(e, field, `'${s}' is not node:interface`);
  const node = nodes.get(mm![1]!);
  if (!node) r.fail(e, field, `no node named '${mm![1]}'`);
  const ifname = mm![2]!;
  if (node!.kind === 'linux') { if (!LINUX_IF_RE.test(ifname)) r.fail(e, field, `'${ifname}' is not a valid Linux interface name`); }
  else {
    const ch = new Chassis(node!.model, node!.pics);
    if (!ch.interfaceNames().includes(ifname) || !ifname.startsWith('fe-')) r.fail(e, field, `${node!.name} has no Ethernet port ${ifname} (it has ${ch.interfaceNames().filter(x => x.startsWith('fe-')).join(', ')})`);
  }
  if (used.has(s)) r.fail(e, field, `${s} is already used by another link`);
  used.add(s);
  return { node: node!.name, ifname };
}
