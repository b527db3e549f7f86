/** ip4-lookup: longest-prefix match; TTL for forwarded packets; on to the rewrite, the router itself, or a drop. */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { Pfe } from '../pfe.js';
import { ICMP_UNREACH, ICMP_TIME_EXCEEDED, UNREACH_NET, UNREACH_HOST } from '../../net/l4.js';
import { intToIp, prefixStr } from '../../net/ip.js';
import { ipDst } from './util.js';

export class Lookup extends GraphNode {
  readonly name = 'ip4-lookup';
  readonly reasons = ['no-route', 'no-route-to-tunnel-end', 'tunnel-loop', 'discard-route', 'reject-route', 'ttl-expired'] as const;
  constructor(g: Graph, private pfe: Pfe) { super(g); }
  run(v: Pkt[], n: number): void {
    const pfe = this.pfe, st = pfe.stages, ifls = pfe.ifls;
    for (let i = 0; i < n; i++) {
      const p = v[i]!, b = p.buf, o = p.l3;
      const dst = ipDst(b, o);
      const r = pfe.routes.lookup(dst);
      if (!r) {
        if (p.via) { this.drop(p, 'no-route-to-tunnel-end'); continue; }
        st.icmpError.send(p, ICMP_UNREACH, UNREACH_NET); this.drop(p, 'no-route'); continue;
      }
      const nh = r.nh;
      if (p.trace) this.g.traceLine(p, this.name, `${intToIp(dst)} matches ${prefixStr(r.prefix)} (${r.protocol}): ${nh.kind === 'gateway' ? `via ${intToIp(nh.gateway)} on ${nh.ifl}` : 'ifl' in nh ? `${nh.kind} ${nh.ifl}` : nh.kind}`);
      switch (nh.kind) {
        case 'local': this.g.enqueue(st.local, p); continue;
        case 'discard': this.drop(p, 'discard-route'); continue;
        case 'reject': st.icmpError.send(p, ICMP_UNREACH, UNREACH_HOST); this.drop(p, 'reject-route'); continue;
      }
      if (p.via && nh.ifl === p.via.name) { this.drop(p, 'tunnel-loop'); continue; }
      if (!p.local && !this.decrementTtl(p)) continue;
      p.out = ifls.get(nh.ifl);
      p.nh = nh.kind === 'gateway' ? nh.gateway : dst;
      this.g.enqueue(st.rewrite, p);
    }
  }

  /**
   * Decrement a forwarded packet's TTL in place (every buffer in the PFE is its own), with the
   * incremental checksum update of RFC 1624; an expiring packet gets time-exceeded and is dropped.
   */
  decrementTtl(p: Pkt): boolean {
    const b = p.buf, o = p.l3, ttl = b[o + 8]!;
    if (ttl <= 1) { this.pfe.stages.icmpError.send(p, ICMP_TIME_EXCEEDED, 0); this.drop(p, 'ttl-expired'); return false; }
    b[o + 8] = ttl - 1;
    // TTL is the high byte of its 16-bit word
    let sum = (~((b[o + 10]! << 8) | b[o + 11]!) & 0xffff) + (~(ttl << 8) & 0xffff) + ((ttl - 1) << 8);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const c = ~sum & 0xffff;
    b[o + 10] = c >> 8; b[o + 11] = c & 255;
    return true;
  }
}
