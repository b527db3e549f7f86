/** ip4-filter-in: the input filter of the interface a packet came in on (ESP and AH for the router too). */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import { ICMP_UNREACH, UNREACH_ADMIN, ICMP_TIME_EXCEEDED } from '../../net/l4.js';
import { isIpsecForUs } from './ip4-input.js';
import { ipDst, decrementTtl } from './util.js';

const REASONS = ['filter-missing', 'filter-discard', 'filter-reject', 'ipsec-sa-not-on-es', 'ttl-expired'] as const;
type Next = 'icmp-error' | 'ip4-local' | 'ipsec-out' | 'ipsec-in' | 'ip4-lookup';

export class FilterIn extends GraphNode<typeof REASONS[number], Next> {
  readonly name = 'ip4-filter-in';
  readonly reasons = REASONS;
  readonly nexts = ['icmp-error', 'ip4-local', 'ipsec-out', 'ipsec-in', 'ip4-lookup'] as const;
  constructor(g: Graph, private pfe: Pick<PfeContext, 'filters' | 'ifls' | 'saToIfl' | 'localAddrs'>) { super(g); }
  run(v: Pkt[], n: number): void {
    const pfe = this.pfe, next = this.next;
    for (let i = 0; i < n; i++) {
      const p = v[i]!, b = p.buf, o = p.l3, l = p.rx!;
      const f = pfe.filters.get(l.inFilter!);
      if (!f) { this.drop(p, 'filter-missing'); continue; }
      const verdict = f.evaluatePacket(b, o);
      if (p.trace) this.g.traceLine(p, this.name, `filter ${f.name}, term ${termOf(f, b, o) ?? '(implicit discard)'}: ${verdict.action === 'ipsec-sa' ? `ipsec-sa ${verdict.sa}` : verdict.action}`);
      if (verdict.action === 'discard') { this.drop(p, 'filter-discard'); continue; }
      if (verdict.action === 'reject') { this.dropWithError(p, 'filter-reject', ICMP_UNREACH, UNREACH_ADMIN); continue; }
      const forUs = isIpsecForUs(pfe, p);
      if (verdict.action === 'ipsec-sa' && !forUs) {
        const es = pfe.ifls.get(pfe.saToIfl.get(verdict.sa) ?? '');
        if (!es) { this.drop(p, 'ipsec-sa-not-on-es'); continue; }
        if (pfe.localAddrs.has(ipDst(b, o))) { this.g.enqueue(next['ip4-local'], p); continue; }
        if (!decrementTtl(p)) { this.dropWithError(p, 'ttl-expired', ICMP_TIME_EXCEEDED, 0); continue; }
        p.out = es;
        this.g.enqueue(next['ipsec-out'], p);
        continue;
      }
      this.g.enqueue(forUs ? next['ipsec-in'] : next['ip4-lookup'], p);
    }
  }
}

export function termOf(f: import('../filter.js').CompiledFilter, b: Buffer, o: number): string | undefined {
  const k = (b[o]! & 15) * 4, proto = b[o + 9]!;
  const ports = (proto === 6 || proto === 17) && (b.readUInt16BE(o + 6) & 0x1fff) === 0;
  return f.decidingTerm(b.readUInt32BE(o + 12), b.readUInt32BE(o + 16), proto, ports ? b.readUInt16BE(o + k) : -1, ports ? b.readUInt16BE(o + k + 2) : -1);
}
