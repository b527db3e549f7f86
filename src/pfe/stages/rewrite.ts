/**
 * ip4-rewrite: the output interface's filter, the MTU (fragmenting, or fragmentation-needed with DF),
 * and the next hop's MAC address (ARP, with a bounded queue while it resolves); the Ethernet header is
 * written in place in front of the packet.
 */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import type { IflState } from '../state.js';
import { ICMP_UNREACH, UNREACH_ADMIN, UNREACH_NEEDFRAG, UNREACH_HOST } from '../../net/l4.js';
import { BROADCAST } from '../../net/ethernet.js';
import { fragment } from '../../net/frag.js';
import { onSubnet, intToIp } from '../../net/ip.js';
import { ARP_QUEUE, ARP_RETRY_MS, DEFAULT_MTU } from '../constants.js';
import { ipLen, macText } from './util.js';
import { termOf } from './filter-in.js';

const REASONS = ['interface-down', 'filter-discard', 'filter-reject', 'ipsec-sa-not-on-es', 'df-mtu-exceeded', 'arp-queue-full', 'arp-unresolved'] as const;

export class Rewrite extends GraphNode<typeof REASONS[number], 'icmp-error' | 'ipsec-out' | 'interface-output'> {
  readonly name = 'ip4-rewrite';
  readonly reasons = REASONS;
  readonly nexts = ['icmp-error', 'ipsec-out', 'interface-output'] as const;
  constructor(g: Graph, private pfe: Pick<PfeContext, 'filters' | 'ifls' | 'saToIfl' | 'packetOf' | 'now' | 'sendArp'>) { super(g); }
  run(v: Pkt[], n: number): void {
    const pfe = this.pfe, ipsecOut = this.next['ipsec-out'];
    for (let i = 0; i < n; i++) {
      const p = v[i]!, b = p.buf, o = p.l3;
      const out = p.out;
      if (!out || !out.up || !out.ifd.adminUp) { this.drop(p, 'interface-down'); continue; }
      if (out.outFilter) {
        const f = pfe.filters.get(out.outFilter);
        const verdict = f ? f.evaluatePacket(b, o) : { action: 'discard' as const };
        if (p.trace) this.g.traceLine(p, this.name, `output filter ${out.outFilter}${f ? `, term ${termOf(f, b, o) ?? '(implicit discard)'}` : ' (missing)'}: ${verdict.action}`);
        if (verdict.action === 'discard') { this.drop(p, 'filter-discard'); continue; }
        if (verdict.action === 'reject') { this.dropWithError(p, 'filter-reject', ICMP_UNREACH, UNREACH_ADMIN); continue; }
        if (verdict.action === 'ipsec-sa') {
          const es = pfe.ifls.get(pfe.saToIfl.get(verdict.sa) ?? '');
          if (!es) { this.drop(p, 'ipsec-sa-not-on-es'); continue; }
          p.out = es;
          this.g.enqueue(ipsecOut, p);
          continue;
        }
      }
      if (out.ifd.kind === 'es') { this.g.enqueue(ipsecOut, p); continue; }
      const tl = ipLen(b, o);
      const mtu = out.mtu ?? DEFAULT_MTU;
      if (tl > mtu) {
        const frags = fragment(b.subarray(o, o + tl), mtu);
        if (!frags) { this.dropWithError(p, 'df-mtu-exceeded', ICMP_UNREACH, UNREACH_NEEDFRAG, mtu); continue; }
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
      this.g.enqueue(this.next['interface-output'], q);
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
    this.dropWithError(this.pfe.packetOf(pkt, l), 'arp-unresolved', ICMP_UNREACH, UNREACH_HOST);
    this.g.dispatch();
  }
}
