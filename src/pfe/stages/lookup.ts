/** ip4-lookup: longest-prefix match; TTL for forwarded packets; on to the rewrite, the router itself, or a drop. */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import { ICMP_UNREACH, ICMP_TIME_EXCEEDED, UNREACH_NET, UNREACH_HOST } from '../../net/l4.js';
import { intToIp, prefixStr } from '../../net/ip.js';
import { ipDst, decrementTtl } from './util.js';

const REASONS = ['no-route', 'no-route-to-tunnel-end', 'tunnel-loop', 'discard-route', 'reject-route', 'ttl-expired'] as const;

export class Lookup extends GraphNode<typeof REASONS[number], 'icmp-error' | 'ip4-local' | 'ip4-rewrite'> {
  readonly name = 'ip4-lookup';
  readonly reasons = REASONS;
  readonly nexts = ['icmp-error', 'ip4-local', 'ip4-rewrite'] as const;
  constructor(g: Graph, private pfe: Pick<PfeContext, 'routes' | 'ifls'>) { super(g); }
  run(v: Pkt[], n: number): void {
    const pfe = this.pfe, ifls = pfe.ifls, local = this.next['ip4-local'], rewrite = this.next['ip4-rewrite'];
    for (let i = 0; i < n; i++) {
      const p = v[i]!, b = p.buf, o = p.l3;
      const dst = ipDst(b, o);
      const r = pfe.routes.lookup(dst);
      if (!r) {
        if (p.via) { this.drop(p, 'no-route-to-tunnel-end'); continue; }
        this.dropWithError(p, 'no-route', ICMP_UNREACH, UNREACH_NET); continue;
      }
      const nh = r.nh;
      if (p.trace) this.g.traceLine(p, this.name, `${intToIp(dst)} matches ${prefixStr(r.prefix)} (${r.protocol}): ${nh.kind === 'gateway' ? `via ${intToIp(nh.gateway)} on ${nh.ifl}` : 'ifl' in nh ? `${nh.kind} ${nh.ifl}` : nh.kind}`);
      switch (nh.kind) {
        case 'local': this.g.enqueue(local, p); continue;
        case 'discard': this.drop(p, 'discard-route'); continue;
        case 'reject': this.dropWithError(p, 'reject-route', ICMP_UNREACH, UNREACH_HOST); continue;
      }
      if (p.via && nh.ifl === p.via.name) { this.drop(p, 'tunnel-loop'); continue; }
      if (!p.local && !decrementTtl(p)) { this.dropWithError(p, 'ttl-expired', ICMP_TIME_EXCEEDED, 0); continue; }
      p.out = ifls.get(nh.ifl);
      p.nh = nh.kind === 'gateway' ? nh.gateway : dst;
      this.g.enqueue(rewrite, p);
    }
  }
}
