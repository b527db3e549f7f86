/**
 * The forwarding table: longest-prefix match over one hash map per prefix length, probing only the
 * lengths that exist (a handful in practice), so lookups stay fast with 100,000 routes.
 */
import { maskOf, Prefix, prefixStr } from '../net/ip.js';

export type NextHop =
  | { kind: 'local'; ifl: string }                  // one of the router's own addresses
  | { kind: 'direct'; ifl: string }                 // on a connected subnet: ARP for the destination
  | { kind: 'gateway'; ifl: string; gateway: number }
  | { kind: 'tunnel'; ifl: string }                 // an es- logical interface: into the ES PIC
  | { kind: 'discard' }
  | { kind: 'reject' };

export interface Route { prefix: Prefix; protocol: 'Direct' | 'Local' | 'Static'; preference: number; nh: NextHop; nextHopText?: string }

export class RouteTable {
  private byLen: Array<Map<number, Route>> = Array.from({ length: 33 }, () => new Map());
  private lengths: number[] = [];
  private count = 0;

  add(r: Route): void {
    const m = this.byLen[r.prefix.len]!;
    const cur = m.get(r.prefix.addr);
    if (cur && cur.preference <= r.preference) return;   // lower preference wins; Direct/Local (0) over Static (5)
    if (!cur) this.count++;
    m.set(r.prefix.addr, r);
    if (!this.lengths.includes(r.prefix.len)) this.lengths = [...this.lengths, r.prefix.len].sort((a, b) => b - a);
  }
  lookup(ip: number): Route | undefined {
    for (const len of this.lengths) {
      const r = this.byLen[len]!.get((ip & maskOf(len)) >>> 0);
      if (r) return r;
    }
    return undefined;
  }
  exact(p: Prefix): Route | undefined { return this.byLen[p.len]!.get(p.addr); }
  get size() { return this.count; }
  /** All routes, sorted as `show route` lists them. */
  all(): Route[] {
    const out: Route[] = [];
    for (const m of this.byLen) out.push(...m.values());
    return out.sort((a, b) => (a.prefix.addr - b.prefix.addr) || (a.prefix.len - b.prefix.len));
  }
  static describe(r: Route): string { return `${prefixStr(r.prefix)} ${r.protocol}`; }
}
