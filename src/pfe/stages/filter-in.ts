/** ip4-filter-in: the input filter of the interface a packet came in on (ESP and AH for the router too). */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { Pfe } from '../pfe.js';
import { ICMP_UNREACH, UNREACH_ADMIN } from '../../net/l4.js';
import { isIpsecForUs } from './ip4-input.js';
import { ipDst } from './util.js';

export class FilterIn extends GraphNode {
  readonly name = 'ip4-filter-in';
  readonly reasons = ['filter-missing', 'filter-discard', 'filter-reject', 'ipsec-sa-not-on-es'] as const;
  constructor(g: Graph, private pfe: Pfe) { super(g); }
  run(v: Pkt[], n: number): void {
    const pfe = this.pfe, st = pfe.stages;
    for (let i = 0; i < n; i++) {
      const p = v[i]!, b = p.buf, o = p.l3, l = p.rx!;
      const f = pfe.filters.get(l.inFilter!);
      if (!f) { this.drop(p, 'filter-missing'); continue; }
      const verdict = f.evaluatePacket(b, o);
      if (p.trace) this.g.traceLine(p, this.name, `filter ${f.name}, term ${termOf(f, b, o) ?? '(implicit discard)'}: ${verdict.action === 'ipsec-sa' ? `ipsec-sa ${verdict.sa}` : verdict.action}`);
      if (verdict.action === 'discard') { this.drop(p, 'filter-discard'); continue; }
      if (verdict.action === 'reject') { st.icmpError.send(p, ICMP_UNREACH, UNREACH_ADMIN); this.drop(p, 'filter-reject'); continue; }
      const forUs = isIpsecForUs(pfe, p);
      if (verdict.action === 'ipsec-sa' && !forUs) {
        const es = pfe.ifls.get(pfe.saToIfl.get(verdict.sa) ?? '');
        if (!es) { this.drop(p, 'ipsec-sa-not-on-es'); continue; }
        if (pfe.localAddrs.has(ipDst(b, o))) { this.g.enqueue(st.local, p); continue; }
        if (!st.lookup.decrementTtl(p)) continue;
        p.out = es;
        this.g.enqueue(st.ipsecOut, p);
        continue;
      }
      this.g.enqueue(forUs ? st.ipsecIn : st.lookup, p);
    }
  }
}

export function termOf(f: import('../filter.js').CompiledFilter, b: Buffer, o: number): string | undefined {
  const k = (b[o]! & 15) * 4, proto = b[o + 9]!;
  const ports = (proto === 6 || proto === 17) && (b.readUInt16BE(o + 6) & 0x1fff) === 0;
  return f.decidingTerm(b.readUInt32BE(o + 12), b.readUInt32BE(o + 16), proto, ports ? b.readUInt16BE(o + k) : -1, ports ? b.readUInt16BE(o + k + 2) : -1);
}
