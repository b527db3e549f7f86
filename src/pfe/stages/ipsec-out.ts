/** ipsec-out: into an es- interface's tunnel: its MTU first, then to the ES PIC, which seals it. */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import { ICMP_UNREACH, UNREACH_NEEDFRAG } from '../../net/l4.js';
import { fragment } from '../../net/frag.js';
import { ipLen } from './util.js';

const REASONS = ['tunnel-not-ready', 'df-mtu-exceeded', 'ipsec-sa-pending-queue-full'] as const;

export class IpsecOut extends GraphNode<typeof REASONS[number], 'icmp-error'> {
  readonly name = 'ipsec-out';
  readonly reasons = REASONS;
  readonly nexts = ['icmp-error'] as const;
  /** packets kept per dynamic SA while kmd negotiates it */
  static readonly QUEUE = 32;
  constructor(g: Graph, private pfe: Pick<PfeContext, 'ipsec' | 'dynamic' | 'onAcquire' | 'esMtu' | 'taps' | 'traces'>) { super(g); }
  run(v: Pkt[], n: number): void {
    const pfe = this.pfe;
    for (let i = 0; i < n; i++) {
      const p = v[i]!, b = p.buf, o = p.l3, es = p.out!;
      if (!pfe.ipsec || !es.ipsecSa || !es.tunnel) { this.drop(p, 'tunnel-not-ready'); continue; }
      const dyn = pfe.dynamic.get(es.name);
      if (dyn && !dyn.ready) {
        // a dynamic SA without keys yet: wait (bounded) while kmd negotiates
        if (dyn.queue.length >= IpsecOut.QUEUE) { this.drop(p, 'ipsec-sa-pending-queue-full'); continue; }
        dyn.queue.push(Buffer.from(b.subarray(o, o + ipLen(b, o))));
        if (p.trace) this.g.traceLine(p, this.name, `${es.name}: dynamic SA ${es.ipsecSa} not negotiated yet: waits while IKE runs`);
        if (!dyn.asked) { dyn.asked = true; pfe.onAcquire?.(es.name); }
        this.g.release(p);
        continue;
      }
      const mtu = pfe.esMtu(es), tl = ipLen(b, o);
      const bytes = b.subarray(o, o + tl);
      const frags = tl <= mtu ? [bytes] : fragment(bytes, mtu);
      if (!frags) { this.dropWithError(p, 'df-mtu-exceeded', ICMP_UNREACH, UNREACH_NEEDFRAG, mtu); continue; }
      if (p.trace) this.g.traceLine(p, this.name, `${es.name}, SA ${es.ipsecSa}${frags.length > 1 ? `, fragmented into ${frags.length} for the es- MTU ${mtu}` : ''}: to the ES PIC`);
      const trace = pfe.traces.park(p);
      for (const f of frags) {
        es.counters.tx(f.length); es.ifd.counters.tx(f.length);
        if (pfe.taps.size) for (const t of pfe.taps) t(es.ifd.name, 'out', f, 'ip');
        pfe.ipsec.encrypt(es.name, f, trace);
      }
      this.g.release(p);
    }
  }
}
