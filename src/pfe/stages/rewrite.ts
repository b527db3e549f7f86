/**
 * ip4-rewrite: the output interface's filter, the MTU (fragmenting, or fragmentation-needed with DF),
 * and the next hop's MAC address (ARP, with a bounded queue while it resolves); the Ethernet header is
 * written in place in front of the packet.
 */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { Pfe, IflState } from '../pfe.js';
import { ICMP_UNREACH, UNREACH_ADMIN, UNREACH_NEEDFRAG, UNREACH_HOST } from '../../net/l4.js';
import { BROADCAST } from '../../net/ethernet.js';
import { fragment } from '../../net/frag.js';
import { onSubnet, intToIp } from '../../net/ip.js';
import { ARP_QUEUE, ARP_RETRY_MS, DEFAULT_MTU } from '../pfe.js';
import { ipLen, macText } from './util.js';
import { termOf } from './filter-in.js';

export class Rewrite extends GraphNode {
  readonly name = 'ip4-rewrite';
  readonly reasons = ['interface-down', 'filter-discard', 'filter-reject', 'ipsec-sa-not-on-es', 'df-mtu-exceeded', 'arp-queue-full', 'arp-unresolved'] as const;
  constructor(g: Graph, private pfe: Pfe) { super(g); }
  run(v: Pkt[], n: number): void {
    const pfe = this.pfe, st = pfe.stages;
    for (let i = 0; i < n; i++) {
      const p = v[i]!, b = p.buf, o = p.l3;
      const out = p.out;
      if (!out || !out.up || !out.ifd.adminUp) { this.drop(p, 'interface-down'); continue; }
      if (out.outFilter) {
        const f = pfe.filters.get(out.outFilter);
        const verdict = f ? f.evaluatePacket(b, o) : { action: 'discard' as const };
        if (p.trace) this.g.traceLine(p, this.name, `output filter ${out.outFilter}${f ? `, term ${termOf(f, b, o) ?? '(implicit discard)'}` : ' (missing)'}: ${verdict.action}`);
        if (verdict.action === 'discard') { this.drop(p, 'filter-discard'); continue; }
        if (verdict.action === 'reject') { st.icmpError.send(p, ICMP_UNREACH, UNREACH_ADMIN); this.drop(p, 'filter-reject'); continue; }
        if (verdict.action === 'ipsec-sa') {
          const es = pfe.ifls.get(pfe.saToIfl.get(verdict.sa) ?? '');
          if (!es) { this.drop(p, 'ipsec-sa-not-on-es'); continue; }
          p.out = es;
          this.g.enqueue(st.ipsecOut, p);
          continue;
        }
      }
      if (out.ifd.kind === 'es') { this.g.enqueue(st.ipsecOut, p); continue; }
      const tl = ipLen(b, o);
      const mtu = out.mtu ?? DEFAULT_MTU;
      if (tl > mtu) {
        const frags = fragment(b.subarray(o, o + tl), mtu);
        if (!frags) { st.icmpError.send(p, ICMP_UNREACH, UNREACH_NEEDFRAG, mtu); this.drop(p, 'df-mtu-exceeded'); continue; }
        if (p.trace) this.g.traceLine(p, this.name, `fragmented into ${frags.length} for MTU ${mtu}`);
        for (const f of frags) { const q = pfe.packetOf(f, p.rx); q.out = out; q.nh = p.nh; q.local = p.local; this.l2(q); }
        this.g.release(p);
        continue;
      }
      this.l2(p);
    }
  }

  /** Resolve the next hop: an Ethernet header in front of the packet, or a wait for ARP. */
  private l2(p: Pkt): void {
    const out = p.out!, d = out.ifd, b = p.buf, o = p.l3;
    const tl = ipLen(b, o);
    out.counters.tx(tl);
    const e = d.arp.get(p.nh);
    if (e) {
      let q = p;
      if (o < 14) {   // no room in front: one copy (packets the router made)
        const f = Buffer.allocUnsafe(14 + tl);
        b.copy(f, 14, o, o + tl);
        q = this.pfe.packetOf(f, p.rx, true); q.out = p.out; q.trace = p.trace; p.trace = null; this.g.release(p);
      }
      const fb = q.buf, s = q.l3 - 14;
      e.mac.copy(fb, s); d.mac.copy(fb, s + 6); fb[s + 12] = 0x08; fb[s + 13] = 0x00;
      if (q.trace) this.g.traceLine(q, this.name, `to ${macText(e.mac, 0)} (${intToIp(p.nh)}) on ${out.name}`);
      this.g.enqueue(this.pfe.stages.output, q);
      return;
    }
    let w = d.pending.get(p.nh);
    if (!w) { w = { pkts: [], tries: 0, next: 0 }; d.pending.set(p.nh, w); }
    if (w.pkts.length >= ARP_QUEUE) { this.drop(p, 'arp-queue-full'); return; }
    w.pkts.push(Buffer.from(b.subarray(o, o + tl)));
    if (p.trace) this.g.traceLine(p, this.name, `waits for ARP of ${intToIp(p.nh)} on ${out.name}`);
    if (w.tries === 0) {
      w.tries = 1; w.next = this.pfe.now() + ARP_RETRY_MS;
      const src = onSubnet(out.addresses, p.nh)?.local ?? out.addresses[0]?.local ?? 0;
      this.pfe.sendArp(d, 1, src, BROADCAST, p.nh);
    }
    this.g.release(p);
  }

  /** A queued packet whose next hop never answered ARP: host unreachable. */
  unresolved(pkt: Buffer, l: IflState | undefined): void {
    const p = this.pfe.packetOf(pkt, l);
    this.pfe.stages.icmpError.send(p, ICMP_UNREACH, UNREACH_HOST);
    this.drop(p, 'arp-unresolved');
    this.g.dispatch();
  }
}
