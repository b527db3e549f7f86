/**
 * The routing table (inet.0) that direct, local, static and BGP routes share. Per prefix, the route
 * with the lowest preference (Direct 0, Local 0, Static 5, BGP 170) is active; among BGP routes the
 * best path decides. A BGP route's next hop is resolved recursively through the active non-BGP
 * routes (longest match); a route whose next hop does not resolve is hidden. Active routes go to
 * the forwarding table through `onChange`. The table is bounded: beyond `maxRoutes` a route is
 * refused and counted.
 */
import { maskOf, Prefix, prefixStr } from '../net/ip.js';
import { compareBgp, BgpPath } from './bestpath.js';

export type Protocol = 'Direct' | 'Local' | 'Static' | 'BGP';
export const PREFERENCE: Record<Protocol, number> = { Direct: 0, Local: 0, Static: 5, BGP: 170 };

export interface RibRoute {
  prefix: Prefix; protocol: Protocol; preference: number;
  /** who gave it: the peer's address for BGP, 0 otherwise */
  source: number;
  /** the next hop: a gateway address (static, BGP's protocol next hop) */
  nextHop?: number;
  /** the interface (direct, local, a static route's resolved interface) */
  ifl?: string;
  bgp?: BgpPath;
  since: number;
}
/** Where an active route forwards: the interface and the gateway (none for a connected subnet). */
export interface Forwarding { ifl?: string; gateway?: number; via?: RibRoute }

const key = (p: Prefix) => p.addr * 64 + p.len;
const holds = (p: Prefix, ip: number) => ((ip & maskOf(p.len)) >>> 0) === p.addr;

export class Rib {
  private table = new Map<number, RibRoute[]>();
  private activeOf = new Map<number, RibRoute>();
  /** active non-BGP routes, for next-hop resolution, longest first */
  private igp = new Set<RibRoute>();
  private igpSorted?: RibRoute[];
  /** prefixes that have (or had) a BGP route: the ones an IGP change can make reselect */
  private bgpKeys = new Set<number>();
  count = 0;
  refused = 0;
  constructor(private opts: { maxRoutes?: number; now?: () => number; onChange?: (prefix: Prefix, active: RibRoute | undefined) => void } = {}) {}
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
    const same = prev && r.protocol !== 'BGP' && prev.nextHop === r.nextHop && prev.ifl === r.ifl;
    const route: RibRoute = { ...r, preference: r.preference ?? PREFERENCE[r.protocol], since: r.since ?? (same ? prev.since : this.now()) };
    if (!list) this.table.set(k, (list = []));
    if (i >= 0) list[i] = route; else { list.push(route); this.count++; }
    if (r.protocol === 'BGP') this.bgpKeys.add(k);
    this.select(r.prefix);
    return true;
  }
  remove(prefix: Prefix, protocol: Protocol, source = 0): boolean {
    const k = key(prefix);
    const list = this.table.get(k);
    const i = list?.findIndex(x => x.protocol === protocol && x.source === source) ?? -1;
    if (i < 0) return false;
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
  /** Longest-match among active non-BGP routes: what a BGP next hop resolves through. */
  resolve(ip: number): RibRoute | undefined {
    this.igpSorted ??= [...this.igp].sort((a, b) => b.prefix.len - a.prefix.len);
    for (const r of this.igpSorted) if (holds(r.prefix, ip) && r.protocol !== 'Local') return r;
    return undefined;
  }
  /** Where an active route forwards (a BGP route through its resolving route). */
  forwarding(r: RibRoute): Forwarding | undefined {
    if (r.protocol !== 'BGP') return { ifl: r.ifl, gateway: r.nextHop };
    const via = r.nextHop === undefined ? undefined : this.resolve(r.nextHop);
    if (!via) return undefined;
    return { ifl: via.ifl, gateway: via.protocol === 'Direct' ? r.nextHop : via.nextHop, via };
  }
  /** a BGP route whose next hop resolves nowhere: kept, never active (`show route hidden`) */
  isHidden(r: RibRoute): boolean { return r.protocol === 'BGP' && !this.forwarding(r); }

  private better(a: RibRoute, b: RibRoute): boolean {
    if (a.preference !== b.preference) return a.preference < b.preference;
    if (a.bgp && b.bgp) {
      const cost = (x: RibRoute) => (this.forwarding(x)?.via?.protocol === 'Static' ? 1 : 0);
      return compareBgp({ ...a.bgp, igpCost: cost(a) }, { ...b.bgp, igpCost: cost(b) }).d < 0;
    }
    return false;
  }
  private select(prefix: Prefix): void {
    const k = key(prefix);
    let best: RibRoute | undefined;
    for (const r of this.table.get(k) ?? []) if (!this.isHidden(r) && (!best || this.better(r, best))) best = r;
    const old = this.activeOf.get(k);
    if (best === old) return;
    if (best) this.activeOf.set(k, best); else this.activeOf.delete(k);
    const wasIgp = !!old && old.protocol !== 'BGP', isIgp = !!best && best.protocol !== 'BGP';
    if (wasIgp || isIgp) {
      if (old) this.igp.delete(old);
      if (isIgp) this.igp.add(best!);
      this.igpSorted = undefined;
    }
    this.opts.onChange?.(prefix, best);
    // a change of the routes next hops resolve through changes which BGP routes can be active
    if (wasIgp || isIgp) for (const bk of [...this.bgpKeys]) {
      const list = this.table.get(bk);
      if (!list?.some(x => x.protocol === 'BGP')) { this.bgpKeys.delete(bk); continue; }
      this.select(list[0]!.prefix);
    }
  }
  toString(): string { return this.prefixes().map(p => `${prefixStr(p)} ${this.active(p)?.protocol ?? 'hidden'}`).join('\n'); }
}
