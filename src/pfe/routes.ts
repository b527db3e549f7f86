/**
 * The forwarding table. Routes are kept per prefix length (for `show route` and exact lookups) and
 * compiled into a 16-8-8 multibit trie (VPP's ip4 mtrie shape): a lookup is at most three array
 * reads, whatever the number of routes and the mix of prefix lengths.
 */
import { Prefix, prefixStr } from '../net/ip.js';

export type NextHop =
  | { kind: 'local'; ifl: string }                  // one of the router's own addresses
  | { kind: 'direct'; ifl: string }                 // on a connected subnet: ARP for the destination
  | { kind: 'gateway'; ifl: string; gateway: number }
  | { kind: 'tunnel'; ifl: string }                 // an es- logical interface: into the ES PIC
  | { kind: 'discard' }
  | { kind: 'reject' };

export interface Route { prefix: Prefix; protocol: 'Direct' | 'Local' | 'Static' | 'BGP'; preference: number; nh: NextHop; nextHopText?: string }
/**
 * A route, always made here: one object shape for every route, whatever its protocol. The lookup
 * stage's code then fits every route it meets (a Direct route without `nextHopText` beside Static ones
 * with it were two shapes, and the warm-up's code was thrown away at a real router's first packet).
 */
export function mkRoute(prefix: Prefix, protocol: Route['protocol'], preference: number, nh: NextHop, nextHopText?: string): Route {
  return { prefix, protocol, preference, nh, nextHopText };
}
/** Same prefix, protocol, preference and next hop (rpd setting a route again as it was: nothing to do). */
export function sameRoute(a: Route, b: Route): boolean {
  const x = a.nh as { kind: string; ifl?: string; gateway?: number }, y = b.nh as typeof x;
  return a.prefix.addr === b.prefix.addr && a.prefix.len === b.prefix.len && a.protocol === b.protocol && a.preference === b.preference
    && a.nextHopText === b.nextHopText && x.kind === y.kind && x.ifl === y.ifl && x.gateway === y.gateway;
}

/**
 * A 16-8-8 trie of route indexes. Slots hold 0 (no route), i + 1 (leaf: route i) or ~p (a child ply
 * p of 256 slots). Prefixes must be inserted shortest first: a longer prefix then simply overwrites
 * the slots it covers, and plies are created only under prefixes longer than /16 or /24.
 */
export class Mtrie {
  readonly root = new Int32Array(65536);
  private plies = new Int32Array(256 * 64);
  private nPlies = 0;
  private newPly(fill: number): number {
    if ((this.nPlies + 1) * 256 > this.plies.length) {
      const bigger = new Int32Array(this.plies.length * 2);
      bigger.set(this.plies);
      this.plies = bigger;
    }
    const p = this.nPlies++;
    this.plies.fill(fill, p * 256, p * 256 + 256);
    return p;
  }
  /** Insert prefix addr/len with value v (> 0); callers insert in order of increasing length. */
  insert(addr: number, len: number, v: number): void {
    if (len <= 16) { const s = addr >>> 16; this.root.fill(v, s, s + (1 << (16 - len))); return; }
    const r = addr >>> 16;
    let x = this.root[r]!;
    if (x >= 0) { const p = this.newPly(x); this.root[r] = ~p; x = ~p; }
    const p1 = ~x;
    const s1 = (addr >>> 8) & 255;
    if (len <= 24) { const base = p1 * 256 + s1; this.plies.fill(v, base, base + (1 << (24 - len))); return; }
    let y = this.plies[p1 * 256 + s1]!;
    if (y >= 0) { const p = this.newPly(y); this.plies[p1 * 256 + s1] = ~p; y = ~p; }
    const base = ~y * 256 + (addr & 255);
    this.plies.fill(v, base, base + (1 << (32 - len)));
  }
  /** 0, or the value of the longest prefix that holds ip. */
  lookup(ip: number): number {
    let v = this.root[ip >>> 16]!;
    if (v < 0) {
      v = this.plies[(~v << 8) | ((ip >>> 8) & 255)]!;
      if (v < 0) v = this.plies[(~v << 8) | (ip & 255)]!;
    }
    return v;
  }
  get bytes(): number { return this.root.byteLength + this.nPlies * 1024; }
}

export class RouteTable {
  private byLen: Array<Map<number, Route>> = Array.from({ length: 33 }, () => new Map());
  private count = 0;
  private trie?: Mtrie;
  private list: Route[] = [];
  /** trie compiles so far (what a batch of route changes costs: one, not one per route) */
  builds = 0;

  add(r: Route): void {
    const m = this.byLen[r.prefix.len]!;
    const cur = m.get(r.prefix.addr);
    if (cur && cur.preference <= r.preference) return;   // lower preference wins; Direct/Local (0) over Static (5)
    if (!cur) this.count++;
    m.set(r.prefix.addr, r);
    this.trie = undefined;
  }
  /** Compile the trie (done on the first lookup after a change: once per commit). */
  private build(): Mtrie {
    const t = new Mtrie();
    this.builds++;
    this.list = [];
    for (let len = 0; len <= 32; len++) {
      for (const r of this.byLen[len]!.values()) { this.list.push(r); t.insert(r.prefix.addr, len, this.list.length); }
    }
    this.trie = t;
    return t;
  }
  lookup(ip: number): Route | undefined {
    const v = (this.trie ?? this.build()).lookup(ip >>> 0);
    return v > 0 ? this.list[v - 1] : undefined;
  }
  exact(p: Prefix): Route | undefined { return this.byLen[p.len]!.get(p.addr); }
  /** Remove the route of `p` if it is of `protocol` (rpd's routes leave this way). */
  remove(p: Prefix, protocol: Route['protocol']): boolean {
    const m = this.byLen[p.len]!;
    if (m.get(p.addr)?.protocol !== protocol) return false;
    m.delete(p.addr); this.count--; this.trie = undefined;
    return true;
  }
  get size() { return this.count; }
  /** Bytes the compiled trie takes. */
  get trieBytes(): number { return (this.trie ?? this.build()).bytes; }
  /** All routes, sorted as `show route` lists them. */
  all(): Route[] {
    const out: Route[] = [];
    for (const m of this.byLen) out.push(...m.values());
    return out.sort((a, b) => (a.prefix.addr - b.prefix.addr) || (a.prefix.len - b.prefix.len));
  }
  static describe(r: Route): string { return `${prefixStr(r.prefix)} ${r.protocol}`; }
}
