/** ip4-input: a well-formed IPv4 header, or a drop that says what is wrong with it. */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import { checksum } from '../../net/checksum.js';
import { PROTO_AH, PROTO_ESP } from '../../net/ipv4.js';
import { describeIp, ipDst } from './util.js';

const REASONS = ['ip-short-packet', 'ip-bad-version', 'ip-bad-header-length', 'ip-bad-total-length', 'ip-bad-checksum'] as const;

export class Ip4Input extends GraphNode<typeof REASONS[number], 'ip4-filter-in' | 'ipsec-in' | 'ip4-lookup'> {
  readonly name = 'ip4-input';
  readonly reasons = REASONS;
  readonly nexts = ['ip4-filter-in', 'ipsec-in', 'ip4-lookup'] as const;
  constructor(g: Graph, private pfe: Pick<PfeContext, 'localAddrs'>) { super(g); }
  run(v: Pkt[], n: number): void {
    const pfe = this.pfe, next = this.next;
    for (let i = 0; i < n; i++) {
      const p = v[i]!, b = p.buf, o = p.l3, l = p.rx!;
      const avail = b.length - o;
      if (avail < 20) { this.drop(p, 'ip-short-packet'); continue; }
      const vihl = b[o]!;
      if (vihl >> 4 !== 4) { this.drop(p, 'ip-bad-version'); continue; }
      const ihl = (vihl & 15) * 4;
      if (ihl < 20 || avail < ihl) { this.drop(p, 'ip-bad-header-length'); continue; }
      const tl = (b[o + 2]! << 8) | b[o + 3]!;
      if (tl < ihl || tl > avail) { this.drop(p, 'ip-bad-total-length'); continue; }
      if (checksum(b, o, o + ihl) !== 0) { this.drop(p, 'ip-bad-checksum'); continue; }
      l.counters.rx(tl);
      if (p.trace) this.g.traceLine(p, this.name, describeIp(b, o));
      if (l.inFilter) { this.g.enqueue(next['ip4-filter-in'], p); continue; }
      this.g.enqueue(isIpsecForUs(pfe, p) ? next['ipsec-in'] : next['ip4-lookup'], p);
    }
  }
}

/** ESP or AH for one of the router's addresses, from the wire (not out of a tunnel): for the ES PIC. */
export function isIpsecForUs(pfe: Pick<PfeContext, 'localAddrs'>, p: Pkt): boolean {
  const proto = p.buf[p.l3 + 9];
  return (proto === PROTO_ESP || proto === PROTO_AH) && p.rx?.ifd.kind !== 'es' && pfe.localAddrs.has(ipDst(p.buf, p.l3));
}
