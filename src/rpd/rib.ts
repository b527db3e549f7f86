/**
 * The routing table (inet.0) that direct, local, static and BGP routes share. Per prefix, the route
 * with the lowest preference (Direct 0, Local 0, Static 5, BGP 170) is active; among BGP routes the
 * best path decides. A BGP route's protocol next hop resolves as JUNOS resolves it: through the
 * active route that is the longest match for it in inet.0, which may itself be a BGP route, whose
 * next hop resolves the same way (recursion, at most MAX_RESOLVE_DEPTH routes deep); the walk ends
 * at a direct or static route, whose metric is the IGP cost best path compares (Metric2). A route
 * whose walk finds nothing, comes back to a prefix it already crossed (a loop, the route's own
 * prefix included) or goes too deep is unusable: kept, hidden, never active, with the reason.
 * When the active route of a prefix, or where it forwards, changes, the BGP routes whose next hop
 * lies in that prefix are resolved again (and those resolving through them, in turn), so the
 * forwarding table follows through `onChange`. The table is bounded: beyond `maxRoutes` a route is
 * refused and counted.
 */
import { maskOf, Prefix, prefixStr } from '../net/ip.js';
import { compareBgp, BgpPath } from './bestpath.js';

export type Protocol = 'Direct' | 'Local' | 'Static' | 'BGP';
export const PREFERENCE: Record<Protocol, number> = { Direct: 0, Local: 0, Static: 5, BGP: 170 };
/** how many routes deep a protocol next hop may resolve (the BGP route itself not counted) */
export const MAX_RESOLVE_DEPTH = 8;
/** how often one prefix may be selected again in one change before the RIB stops (an oscillating loop) */
const MAX_RESELECT = 8;
/** re-selections one deferred pass does before it yields (a peer's flapping route cannot stall the thread) */
export const RESOLVE_BUDGET = 2000;

export interface RibRoute {
  prefix: Prefix; protocol: Protocol; preference: number;
  /** who gave it: the peer's address for BGP, 0 otherwise */
  source: number;
  /** the next hop: a gateway address (static, BGP's protocol next hop) */
  nextHop?: number;
  /** the interface (direct, local, a static route's resolved interface) */
  ifl?: string;
  /** a static route's `metric` (the IGP cost of BGP next hops resolved through it; 0 if not given) */
  metric?: number;
  bgp?: BgpPath;
  since: number;
}
/**
 * Where a usable route forwards: the interface and the gateway (none for a connected subnet). For a
 * BGP route also the route its protocol next hop resolves through (`via`, maybe a BGP route), the
 * non-BGP route the walk ended at (`igp`), its metric (`cost`, Metric2) and the routes crossed
 * (`depth`, 1 when `via` is `igp`).
 */
export interface Forwarding { ifl?: string; gateway?: number; via?: RibRoute; igp?: RibRoute; cost: number; depth: number }
/** why a BGP route is unusable (hidden) */
export type Unusable = { unusable: 'no-route' | 'loop' | 'depth' | 'no-next-hop'; at?: Prefix };
export type Resolution = Forwarding | Unusable;
export const UNUSABLE_TEXT: Record<Unusable['unusable'], string> = {
  'no-route': 'no route to the protocol next hop', loop: 'protocol next hop resolution loop', depth: `protocol next hop resolves more than ${MAX_RESOLVE_DEPTH} routes deep`, 'no-next-hop': 'no protocol next hop',
};

const key = (p: Prefix) => p.addr * 64 + p.len;
const prefixOf = (k: number): Prefix => ({ addr: Math.floor(k / 64), len: k % 64 });
const holds = (p: Prefix, ip: number) => ((ip & maskOf(p.len)) >>> 0) === p.addr;
const isUnusable = (r: Resolution | undefined): r is Unusable => !!r && 'unusable' in r;

export class Rib {
  private table = new Map<number, RibRoute[]>();
  private activeOf = new Map<number, RibRoute>();
  /** the active routes by prefix length (index) and address: the longest-match lookup of next hops */
  private byLen: Array<Map<number, RibRoute>> = Array.from({ length: 33 }, () => new Map());
  /** prefixes without an active route whose BGP routes are in a resolution loop, by length and address */
  private loopLen: Array<Set<number>> = Array.from({ length: 33 }, () => new Set());
  /** each BGP route's resolution, computed when its prefix is selected */
  private res = new WeakMap<RibRoute, Resolution>();
  /** what the active route of a prefix forwards to, to see a change where the route stays */
  private sig = new Map<number, string>();
  /** protocol next hops of the table's BGP routes: address -> prefix key -> how many routes */
  private nhs = new Map<number, Map<number, number>>();
  /** the same addresses by their /16, to find those a prefix holds */
  private nhBuckets = new Map<number, Set<number>>();
  private queue = new Set<number>();
  private draining = false;
  /** prefixes to select again because a BGP route their next hops resolve through changed (deferred) */
  private later = new Set<number>();
  private laterVisits = new Map<number, number>();
  private laterScheduled = false;
  private laterPasses = 0;
  count = 0;
  refused = 0;
  /** selections stopped because a prefix kept changing within one change (a resolution loop that oscillates) */
  unstable = 0;
  /**
   * `defer`: where re-resolution after a BGP route's change runs (rpd: a timer of 0). Given, the
   * routes resolving through a BGP route that changed are selected again later, RESOLVE_BUDGET per
   * pass, the same prefix once per pass however often it changed: a peer that floods or flaps a
   * route covering many next hops costs bounded work per turn of the event loop. Without it (unit
   * tests) the cascade runs at once. A direct or static route's change is followed at once.
   */
  constructor(private opts: { maxRoutes?: number; now?: () => number; onChange?: (prefix: Prefix, active: RibRoute | undefined) => void; defer?: (fn: () => void) => void } = {}) {}
  /** Run the deferred re-resolution now, to the end (tests; a commit's resync). */
  settle(): void { while (this.later.size) this.runLater(Infinity); }
  /** re-selections waiting for a deferred pass */
  get pendingResolution(): number { return this.later.size; }
  private runLater(budget = RESOLVE_BUDGET): void {
    // (laterScheduled stays set during the pass: what it defers again waits for the next one)
    // an oscillation's guard, renewed when the work is done or every 16 passes (so it never starves a prefix)
    if (++this.laterPasses >= 16) { this.laterPasses = 0; this.laterVisits.clear(); }
    let n = 0;
    for (const k of this.later) {
      if (n++ >= budget) break;
      this.later.delete(k);
      const v = (this.laterVisits.get(k) ?? 0) + 1;
      if (v > MAX_RESELECT) { this.unstable++; continue; }
      this.laterVisits.set(k, v);
      this.select(prefixOf(k));
    }
    this.laterScheduled = false;
    if (!this.later.size) { this.laterVisits.clear(); this.laterPasses = 0; }
    else this.scheduleLater();
  }
  private scheduleLater(): void {
    if (this.laterScheduled || !this.opts.defer) return;
    this.laterScheduled = true;
    this.opts.defer(() => this.runLater());
  }
  get maxRoutes() { return this.opts.maxRoutes ?? 100_000; }
  now() { return (this.opts.now ?? Date.now)(); }

  /** Add or replace the route of (prefix, protocol, source); false when the table is full. */
  add(r: Omit<RibRoute, 'preference' | 'since'> & { preference?: number; since?: number }): boolean {
    const k = key(r.prefix);
    let list = this.table.get(k);
    const i = list?.findIndex(x => x.protocol === r.protocol && x.source === r.source) ?? -1;
    if (i < 0 && this.count >= this.maxRoutes) { this.refused++; return false; }
    // a commit that leaves a direct, local or static route as it was leaves its age too
    const prev = i >= 0 ? list![i]! : undefined;
    const same = prev && r.protocol !== 'BGP' && prev.nextHop === r.nextHop && prev.ifl === r.ifl && prev.metric === r.metric;
    const route: RibRoute = { ...r, preference: r.preference ?? PREFERENCE[r.protocol], since: r.since ?? (same ? prev.since : this.now()) };
    if (!list) this.table.set(k, (list = []));
    if (prev) this.indexNh(prev, -1);
    if (i >= 0) list[i] = route; else { list.push(route); this.count++; }
    this.indexNh(route, 1);
    this.select(r.prefix);
    return true;
  }
  remove(prefix: Prefix, protocol: Protocol, source = 0): boolean {
    const k = key(prefix);
    const list = this.table.get(k);
    const i = list?.findIndex(x => x.protocol === protocol && x.source === source) ?? -1;
    if (i < 0) return false;
    this.indexNh(list![i]!, -1);
    list!.splice(i, 1);
    this.count--;
    if (!list!.length) this.table.delete(k);
    this.select(prefix);
    return true;
  }
  /** Remove every route of a protocol (and source): a session going down, a commit replacing statics. */
  removeAll(protocol: Protocol, source?: number): number {
    let n = 0;
    for (const list of [...this.table.values()]) {
      for (const r of list.filter(x => x.protocol === protocol && (source === undefined || x.source === source))) if (this.remove(r.prefix, protocol, r.source)) n++;
    }
    return n;
  }
  active(prefix: Prefix): RibRoute | undefined { return this.activeOf.get(key(prefix)); }
  /** Routes of a prefix, the active one first. */
  routes(prefix: Prefix): RibRoute[] {
    const a = this.active(prefix);
    const list = this.table.get(key(prefix)) ?? [];
    return a ? [a, ...list.filter(x => x !== a)] : list.slice();
  }
  prefixes(): Prefix[] {
    return [...this.table.values()].map(l => l[0]!.prefix).sort((a, b) => (a.addr >>> 0) - (b.addr >>> 0) || a.len - b.len);
  }
  /**
   * The active route that is the longest match for `ip` (a Local route, our own address, aside, and
   * the prefix `skip`: a route never resolves through its own prefix). 'loop' when the longest match
   * is a prefix whose BGP routes are unusable because of a resolution loop: they keep their place,
   * so the routes of a loop stay hidden together instead of taking turns.
   */
  lookup(ip: number, skip = -1): RibRoute | { loop: Prefix } | undefined {
    for (let len = 32; len >= 0; len--) {
      const a = (ip & maskOf(len)) >>> 0;
      if (a * 64 + len === skip) continue;
      const r = this.byLen[len]!.get(a);
      if (r && r.protocol !== 'Local') return r;
      if (this.loopLen[len]!.has(a)) return { loop: { addr: a, len } };
    }
    return undefined;
  }
  /** How a route's next hop resolves: where it forwards, or why it is unusable. */
  resolution(r: RibRoute): Resolution {
    if (r.protocol !== 'BGP') return { ifl: r.ifl, gateway: r.nextHop, cost: r.metric ?? 0, depth: 0 };
    return this.res.get(r) ?? this.walk(r);
  }
  /** Where a usable route forwards (a BGP route through the routes its next hop resolves through). */
  forwarding(r: RibRoute): Forwarding | undefined {
    const res = this.resolution(r);
    return isUnusable(res) ? undefined : res;
  }
  /** a BGP route whose next hop does not resolve: kept, never active (`show route hidden`) */
  isHidden(r: RibRoute): boolean { return r.protocol === 'BGP' && isUnusable(this.resolution(r)); }
  /** Why a hidden route is unusable (undefined for a usable one). */
  unusable(r: RibRoute): Unusable | undefined { const res = this.resolution(r); return isUnusable(res) ? res : undefined; }
  /** Routes whose protocol next hop resolves through `r` (the first route of their walk): JUNOS's reference count of a resolving route. */
  resolving(r: RibRoute): RibRoute[] {
    const out: RibRoute[] = [];
    for (const k of this.dependents(r.prefix)) for (const x of this.table.get(k) ?? []) if (x.protocol === 'BGP' && this.forwarding(x)?.via === r) out.push(x);
    return out;
  }

  /**
   * JUNOS's resolution of a BGP route's protocol next hop: the longest active match, and while that
   * is a BGP route, the longest match for its protocol next hop, until a direct or static route.
   */
  private walk(r: RibRoute): Resolution {
    if (r.nextHop === undefined) return { unusable: 'no-next-hop' };
    let skip = key(r.prefix);
    const seen = new Set([skip]);
    let nh = r.nextHop, via: RibRoute | undefined;
    for (let depth = 1; depth <= MAX_RESOLVE_DEPTH; depth++) {
      // each route's next hop is looked up past that route's own prefix, as it resolved itself
      const m = this.lookup(nh, skip);
      if (!m) return { unusable: 'no-route' };
      if ('loop' in m) return { unusable: 'loop', at: m.loop };
      if (seen.has(key(m.prefix))) return { unusable: 'loop', at: m.prefix };
      via ??= m;
      if (m.protocol !== 'BGP') return { ifl: m.ifl, gateway: m.protocol === 'Direct' ? nh : m.nextHop, via, igp: m, cost: m.metric ?? 0, depth };
      if (m.nextHop === undefined) return { unusable: 'no-next-hop' };
      skip = key(m.prefix);
      seen.add(skip);
      nh = m.nextHop;
    }
    return { unusable: 'depth' };
  }
  private indexNh(r: RibRoute, d: 1 | -1): void {
    if (r.protocol !== 'BGP' || r.nextHop === undefined) return;
    const nh = r.nextHop, k = key(r.prefix);
    let m = this.nhs.get(nh);
    if (!m) {
      if (d < 0) return;
      this.nhs.set(nh, (m = new Map()));
      let b = this.nhBuckets.get(nh >>> 16);
      if (!b) this.nhBuckets.set(nh >>> 16, (b = new Set()));
      b.add(nh);
    }
    const n = (m.get(k) ?? 0) + d;
    if (n > 0) m.set(k, n); else m.delete(k);
    if (!m.size) { this.nhs.delete(nh); const b = this.nhBuckets.get(nh >>> 16)!; b.delete(nh); if (!b.size) this.nhBuckets.delete(nh >>> 16); }
  }
  /** Prefixes with a BGP route whose protocol next hop lies in `p`. */
  private dependents(p: Prefix): number[] {
    const out: number[] = [];
    const buckets = p.len >= 16 ? [p.addr >>> 16] : [...this.nhBuckets.keys()];
    for (const b of buckets) for (const nh of this.nhBuckets.get(b) ?? []) if (holds(p, nh)) out.push(...this.nhs.get(nh)!.keys());
    return out;
  }

  private better(a: RibRoute, b: RibRoute): boolean {
    if (a.preference !== b.preference) return a.preference < b.preference;
    if (a.bgp && b.bgp) return compareBgp(this.path(a), this.path(b)).d < 0;
    return false;
  }
  /** a BGP route's path with the IGP cost of its next hop's resolution (Metric2) */
  path(r: RibRoute): BgpPath { return { ...r.bgp!, igpCost: this.forwarding(r)?.cost ?? 0 }; }
  private signature(r: RibRoute | undefined): string {
    if (!r) return '';
    const f = this.forwarding(r);
    return f ? `${f.ifl ?? ''} ${f.gateway ?? ''} ${f.cost} ${f.via ? key(f.via.prefix) : ''}` : 'unusable';
  }
  /** Select the active route of `prefix` again, and then of the prefixes that resolve through it if that changed. */
  private select(prefix: Prefix): void {
    this.queue.add(key(prefix));
    if (this.draining) return;
    this.draining = true;
    const visits = new Map<number, number>();
    try {
      for (const k of this.queue) {
        this.queue.delete(k);
        const n = (visits.get(k) ?? 0) + 1;
        if (n > MAX_RESELECT) { this.unstable++; continue; }
        visits.set(k, n);
        this.reselect(k);
      }
    } finally { this.draining = false; }
  }
  private reselect(k: number): void {
    const list = this.table.get(k) ?? [];
    for (const r of list) if (r.protocol === 'BGP') this.res.set(r, this.walk(r));
    let best: RibRoute | undefined;
    for (const r of list) if (!this.isHidden(r) && (!best || this.better(r, best))) best = r;
    const old = this.activeOf.get(k);
    const looped = !best && list.some(r => this.unusable(r)?.unusable === 'loop');
    const sig = best ? this.signature(best) : looped ? 'loop' : '';
    if (best === old && sig === (this.sig.get(k) ?? '')) return;
    const prefix = best?.prefix ?? old?.prefix ?? prefixOf(k);
    if (best) { this.activeOf.set(k, best); this.byLen[prefix.len]!.set(prefix.addr, best); }
    else { this.activeOf.delete(k); this.byLen[prefix.len]!.delete(prefix.addr); }
    if (looped) this.loopLen[prefix.len]!.add(prefix.addr); else this.loopLen[prefix.len]!.delete(prefix.addr);
    if (sig) this.sig.set(k, sig); else this.sig.delete(k);
    if (best !== old) this.opts.onChange?.(prefix, best);
    else if (best) this.opts.onChange?.(prefix, best); // the same route, forwarding elsewhere now
    // next hops in this prefix may resolve elsewhere now: at once after a direct or static route's
    // change, in a deferred pass after a BGP route's (when the RIB has one)
    const deferred = !!this.opts.defer && (old?.protocol === 'BGP' || best?.protocol === 'BGP' || (!old && !best));
    for (const d of this.dependents(prefix)) if (d !== k) (deferred ? this.later : this.queue).add(d);
    if (deferred && this.later.size) this.scheduleLater();
  }
  toString(): string { return this.prefixes().map(p => `${prefixStr(p)} ${this.active(p)?.protocol ?? 'hidden'}`).join('\n'); }
}
