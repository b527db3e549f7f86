/**
 * rpd's configuration: [edit routing-options], [edit protocols bgp] and [edit policy-options], their
 * commit checks (called from the checker in src/config/check.ts) and their compiled form. BGP's
 * statements inherit as JUNOS's do: a neighbor's value, else its group's, else [edit protocols bgp]'s.
 */
import type { CNode } from '../config/tree.js';
import type { MessageCode } from '../config/messages.js';
import { ipToInt, isIpv4, parsePrefix, Prefix } from '../net/ip.js';
import { traceSize } from '../config/values.js';

export type RouteProto = 'bgp' | 'direct' | 'local' | 'static';
export type MatchType = 'exact' | 'orlonger' | 'longer' | 'upto' | 'prefix-length-range';
export interface RouteFilter { prefix: Prefix; type: MatchType; lo: number; hi: number }
export interface PolicyThen { accept?: boolean; reject?: boolean; nextHop?: 'self' | number; localPreference?: number; metric?: number }
export interface PolicyFrom { protocol: RouteProto[]; neighbor: number[]; prefixLists: string[]; routeFilters: RouteFilter[] }
export interface PolicyTerm { name: string; from?: PolicyFrom; then: PolicyThen }
export interface PolicyModel { name: string; terms: PolicyTerm[] }
export interface NeighborModel {
  address: number; text: string; group: string; type: 'internal' | 'external';
  peerAs: number; localAddress?: number; holdTime: number; import: string[]; export: string[];
  ipsecSa?: string; description?: string; prefixLimit?: { maximum: number; teardown: boolean };
}
export interface RpdModel {
  autonomousSystem?: number; routerId?: number;
  neighbors: NeighborModel[];
  policies: Map<string, PolicyModel>;
  prefixLists: Map<string, Prefix[]>;
  /** `protocols bgp traceoptions { file NAME <files N> <size S>; flag F; }` */
  traceoptions?: { file: string; files: number; size: number; flags: string[] };
}

/** The checker's side: errors, definitions and references (resolved by its final pass). */
export interface CheckCtx {
  err(code: MessageCode, path: string[], statement: string, ...args: (string | number)[]): void;
  define(type: 'policy' | 'prefix list', name: string, place: { path: string[]; statement: string }): void;
  reference(type: 'policy' | 'prefix list', name: string, place: { path: string[]; statement: string }): void;
  statementOf(n: CNode): string;
}

/** `/24` -> 24; `/16-/24` -> [16, 24]; undefined when malformed. */
export function parseLen(s: string): number | undefined {
  const m = /^\/(\d{1,2})$/.exec(s);
  return m && Number(m[1]) <= 32 ? Number(m[1]) : undefined;
}
export function parseLenRange(s: string): [number, number] | undefined {
  const m = /^(\/\d{1,2})-(\/\d{1,2})$/.exec(s);
  const a = m ? parseLen(m[1]!) : undefined, b = m ? parseLen(m[2]!) : undefined;
  return a !== undefined && b !== undefined && a <= b ? [a, b] : undefined;
}

const MATCH: MatchType[] = ['exact', 'orlonger', 'longer', 'upto', 'prefix-length-range'];

function routeFilterOf(rf: CNode): RouteFilter | string {
  const kinds = MATCH.filter(k => rf.has(k));
  if (kinds.length !== 1) return 'ROUTE_FILTER_ONE_MATCH';
  const prefix = parsePrefix(rf.key!), type = kinds[0]!;
  switch (type) {
    case 'exact': return { prefix, type, lo: prefix.len, hi: prefix.len };
    case 'orlonger': return { prefix, type, lo: prefix.len, hi: 32 };
    case 'longer': return prefix.len === 32 ? 'ROUTE_FILTER_LENGTH' : { prefix, type, lo: prefix.len + 1, hi: 32 };
    case 'upto': {
      const n = parseLen(rf.value('upto')!);
      return n === undefined || n < prefix.len ? 'ROUTE_FILTER_LENGTH' : { prefix, type, lo: prefix.len, hi: n };
    }
    case 'prefix-length-range': {
      const r = parseLenRange(rf.value('prefix-length-range')!);
      return !r || r[0] < prefix.len ? 'ROUTE_FILTER_LENGTH' : { prefix, type, lo: r[0], hi: r[1] };
    }
  }
}

function fromOf(f: CNode | undefined): PolicyFrom | undefined {
  if (!f) return undefined;
  const rfs: RouteFilter[] = [];
  for (const rf of f.entries('route-filter')) { const r = routeFilterOf(rf); if (typeof r !== 'string') rfs.push(r); }
  return {
    protocol: (f.get('protocol')?.values ?? []) as RouteProto[],
    neighbor: (f.get('neighbor')?.values ?? []).map(ipToInt),
    prefixLists: f.get('prefix-list')?.values ?? [],
    routeFilters: rfs,
  };
}
function thenOf(t: CNode | undefined): PolicyThen {
  const out: PolicyThen = {};
  if (!t) return out;
  if (t.has('accept')) out.accept = true;
  if (t.has('reject')) out.reject = true;
  const nh = t.value('next-hop');
  if (nh) out.nextHop = nh === 'self' ? 'self' : ipToInt(nh);
  const lp = t.value('local-preference'), med = t.value('metric');
  if (lp !== undefined) out.localPreference = Number(lp);
  if (med !== undefined) out.metric = Number(med);
  return out;
}

function checkPolicies(root: CNode, ctx: CheckCtx): void {
  const po = root.get('policy-options');
  const base = ['policy-options'];
  for (const pl of po?.entries('prefix-list') ?? []) ctx.define('prefix list', pl.key!, { path: base, statement: ctx.statementOf(pl) });
  for (const ps of po?.entries('policy-statement') ?? []) {
    const path = [...base, 'policy-statement', ps.key!];
    ctx.define('policy', ps.key!, { path: base, statement: ctx.statementOf(ps) });
    const parts: Array<[CNode, string[]]> = ps.entries('term').map(t => [t, [...path, 'term', t.key!]]);
    parts.push([ps, path]);
    for (const [n, p] of parts) {
      const from = n.get('from'), then = n.get('then');
      for (const rf of from?.entries('route-filter') ?? []) {
        const r = routeFilterOf(rf);
        if (typeof r === 'string') ctx.err(r as MessageCode, [...p, 'from'], ctx.statementOf(rf));
      }
      const pls = from?.get('prefix-list');
      for (const name of pls?.values ?? []) ctx.reference('prefix list', name, { path: [...p, 'from'], statement: ctx.statementOf(pls!) });
      if (then?.has('accept') && then.has('reject')) ctx.err('POLICY_ACCEPT_REJECT', [...p, 'then'], ctx.statementOf(then));
      const nh = then?.value('next-hop');
      if (nh !== undefined && nh !== 'self' && !isIpv4(nh)) ctx.err('POLICY_NEXT_HOP', [...p, 'then'], ctx.statementOf(then!.get('next-hop')!), nh);
    }
  }
}

/** One value with JUNOS's inheritance: the neighbor's, else the group's, else bgp's. */
const inherit = (key: string, ...nodes: Array<CNode | undefined>) => {
  for (const n of nodes) { const v = n?.get(key); if (v) return v; }
  return undefined;
};

function checkBgp(root: CNode, ctx: CheckCtx): void {
  const bgp = root.get('protocols')?.get('bgp');
  if (!bgp) return;
  const localAs = root.get('routing-options')?.value('autonomous-system');
  const seen = new Map<string, string>();
  const groups = bgp.entries('group');
  if (groups.some(g => g.entries('neighbor').length) && localAs === undefined) ctx.err('BGP_NEEDS_AS', ['protocols', 'bgp'], 'bgp');
  const policyRefs = (n: CNode, path: string[]) => {
    for (const k of ['import', 'export']) {
      const v = n.get(k);
      for (const name of v?.values ?? []) ctx.reference('policy', name, { path, statement: ctx.statementOf(v!) });
    }
  };
  policyRefs(bgp, ['protocols', 'bgp']);
  for (const g of groups) {
    const gpath = ['protocols', 'bgp', 'group', g.key!];
    policyRefs(g, gpath);
    const type = g.value('type');
    for (const n of g.entries('neighbor')) {
      const npath = [...gpath, 'neighbor', n.key!];
      policyRefs(n, npath);
      const other = seen.get(n.key!);
      if (other !== undefined) ctx.err('BGP_NEIGHBOR_TWICE', gpath, ctx.statementOf(n), n.key!, other);
      seen.set(n.key!, g.key!);
      const peerAs = inherit('peer-as', n, g, bgp)?.values[0];
      if (type === 'external' && peerAs === undefined) ctx.err('BGP_EXTERNAL_PEER_AS', gpath, ctx.statementOf(n), n.key!);
      if (type === 'external' && peerAs !== undefined && peerAs === localAs) ctx.err('BGP_EXTERNAL_SAME_AS', gpath, ctx.statementOf(n), n.key!, peerAs);
      if (type === 'internal' && peerAs !== undefined && localAs !== undefined && peerAs !== localAs) ctx.err('BGP_INTERNAL_OTHER_AS', gpath, ctx.statementOf(n), n.key!, peerAs, localAs);
    }
  }
}

/** The commit checks of rpd's hierarchies (the SA a BGP statement names is checked in check.ts). */
export function checkRouting(root: CNode, ctx: CheckCtx): void {
  checkPolicies(root, ctx);
  checkBgp(root, ctx);
}

/** The compiled model of a checked tree. */
export function compileRouting(root: CNode): RpdModel {
  const ro = root.get('routing-options');
  const as = ro?.value('autonomous-system'), rid = ro?.value('router-id');
  const model: RpdModel = {
    ...(as !== undefined ? { autonomousSystem: Number(as) } : {}),
    ...(rid !== undefined ? { routerId: ipToInt(rid) } : {}),
    neighbors: [], policies: new Map(), prefixLists: new Map(),
  };
  const po = root.get('policy-options');
  for (const pl of po?.entries('prefix-list') ?? []) model.prefixLists.set(pl.key!, pl.entries('*').map(x => parsePrefix(x.key!)));
  for (const ps of po?.entries('policy-statement') ?? []) {
    const terms: PolicyTerm[] = ps.entries('term').map(t => ({ name: t.key!, from: fromOf(t.get('from')), then: thenOf(t.get('then')) }));
    // statements outside any term form a final unnamed term, as JUNOS evaluates them
    if (ps.has('from') || ps.has('then')) terms.push({ name: '', from: fromOf(ps.get('from')), then: thenOf(ps.get('then')) });
    model.policies.set(ps.key!, { name: ps.key!, terms });
  }
  const bgp = root.get('protocols')?.get('bgp');
  const tr = bgp?.get('traceoptions');
  if (tr) {
    const f = tr.get('file')?.values;
    const opt = (k: string) => { const i = f?.indexOf(k) ?? -1; return i > 0 ? f![i + 1] : undefined; };
    model.traceoptions = { file: f?.[0] ?? 'bgp', files: Number(opt('files') ?? 3), size: traceSize(opt('size') ?? '128k') ?? 128 * 1024, flags: tr.entries('flag').map(x => x.key!) };
  }
  for (const g of bgp?.entries('group') ?? []) {
    for (const n of g.entries('neighbor')) {
      const v = (k: string) => inherit(k, n, g, bgp)?.values;
      // a group without `type` is internal unless its peer AS is another one
      const pa = v('peer-as')?.[0];
      const type = (g.value('type') ?? (pa !== undefined && pa !== as ? 'external' : 'internal')) as 'internal' | 'external';
      const pl = inherit('family', n, g, bgp)?.get('inet')?.get('unicast')?.get('prefix-limit');
      const max = pl?.value('maximum');
      model.neighbors.push({
        address: ipToInt(n.key!), text: n.key!, group: g.key!, type,
        peerAs: Number(v('peer-as')?.[0] ?? (type === 'internal' ? as : 0)),
        ...(v('local-address') ? { localAddress: ipToInt(v('local-address')![0]!) } : {}),
        holdTime: Number(v('hold-time')?.[0] ?? 90),
        import: v('import') ?? [], export: v('export') ?? [],
        ...(v('ipsec-sa') ? { ipsecSa: v('ipsec-sa')![0] } : {}),
        ...(v('description') ? { description: v('description')![0] } : {}),
        ...(max !== undefined ? { prefixLimit: { maximum: Number(max), teardown: pl!.has('teardown') } } : {}),
      });
    }
  }
  return model;
}
