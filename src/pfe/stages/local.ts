/**
 * ip4-local: packets for the router itself. Fragments are reassembled (bounded: src/net/frag.ts),
 * then the router's listeners get them: CLI tools first (a ping waiting for its reply), then the
 * service on the UDP port (kmd on 500), then ICMP echo; anything else is answered or dropped as a
 * host would. lo0.0's input filter, where there is one, comes first (it guards the Routing Engine).
 */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import { FRAG_DROPS } from '../../net/frag.js';
import { buildIpv4, PROTO_ICMP, PROTO_UDP, PROTO_TCP } from '../../net/ipv4.js';
import { buildIcmp, parseIcmp, ICMP_ECHO, ICMP_ECHO_REPLY, ICMP_UNREACH, UNREACH_PORT, UNREACH_PROTO, UNREACH_ADMIN } from '../../net/l4.js';
import { reassemble } from './reassemble.js';

const REASONS = ['no-listener', 'unknown-protocol', 'icmp-short-packet', 'icmp-bad-checksum', 'udp-bad-length', 'lo0-filter-missing', 'lo0-filter-discard', 'lo0-filter-reject', ...FRAG_DROPS] as const;
type Ctx = Pick<PfeContext, 'reasm' | 'now' | 'ifls' | 'filters' | 'local' | 'listeners' | 'udp' | 'hostStack' | 'originate' | 'nextId'>;

export class Local extends GraphNode<typeof REASONS[number], 'icmp-error'> {
  readonly name = 'ip4-local';
  readonly reasons = REASONS;
  readonly nexts = ['icmp-error'] as const;
  constructor(g: Graph, private pfe: Ctx) { super(g); }

  run(v: Pkt[], n: number): void {
    const pfe = this.pfe;
    for (let i = 0; i < n; i++) {
      const p = v[i]!;
      const whole = reassemble(this.g, pfe, p, this);
      if (!whole) continue;
      // the input filter of lo0.0 guards the Routing Engine: every packet for the router passes it (JUNOS)
      const lo = pfe.ifls.get('lo0.0');
      if (lo?.inFilter) {
        const f = pfe.filters.get(lo.inFilter);
        if (!f) { this.drop(p, 'lo0-filter-missing'); continue; }
        const verdict = f.evaluatePacket(whole, 0);
        if (p.trace) this.g.traceLine(p, this.name, `lo0.0 input filter ${f.name}: ${verdict.action}`);
        if (verdict.action === 'discard') { this.drop(p, 'lo0-filter-discard'); continue; }
        if (verdict.action === 'reject') { this.dropAbout(p, whole, 'lo0-filter-reject', UNREACH_ADMIN); continue; }
      }
      pfe.local.in++;
      let taken = false;
      for (const l of pfe.listeners) if (l(whole)) { taken = true; break; }
      if (taken) { if (p.trace) this.g.traceLine(p, this.name, 'taken by a command of the router (ping, traceroute)'); this.g.release(p); continue; }
      const ihl = (whole[0]! & 15) * 4, proto = whole[9]!, src = whole.readUInt32BE(12), dst = whole.readUInt32BE(16);
      if (proto === PROTO_ICMP) {
        const ic = parseIcmp(whole.subarray(ihl));
        if (!ic.ok) { this.drop(p, ic.error === 'short-packet' ? 'icmp-short-packet' : 'icmp-bad-checksum'); continue; }
        if (ic.value.type === ICMP_ECHO) {
          if (p.trace) this.g.traceLine(p, this.name, 'ICMP echo request for the router: answered');
          const reply = buildIcmp(ICMP_ECHO_REPLY, 0, ic.value.rest, ic.value.data);
          pfe.originate(buildIpv4({ protocol: PROTO_ICMP, src: dst, dst: src, id: pfe.nextId(), ttl: 64, tos: whole[1]! }, reply));
        } else if (pfe.hostStack) {
          // an error or reply for a connection of the Routing Engine's own stack
          if (p.trace) this.g.traceLine(p, this.name, `ICMP type ${ic.value.type} for the router: to the Routing Engine's stack`);
          pfe.hostStack(whole);
        } else if (p.trace) this.g.traceLine(p, this.name, `ICMP type ${ic.value.type} for the router`);
        this.g.release(p);
        continue;
      }
      if (proto === PROTO_UDP) {
        if (whole.length < ihl + 8 || whole.readUInt16BE(ihl + 4) < 8 || whole.readUInt16BE(ihl + 4) > whole.length - ihl) { this.drop(p, 'udp-bad-length'); continue; }
        const dstPort = whole.readUInt16BE(ihl + 2);
        const svc = pfe.udp.get(dstPort);
        if (svc) {
          if (p.trace) this.g.traceLine(p, this.name, `UDP to port ${dstPort}: to the router's service`);
          const ulen = whole.readUInt16BE(ihl + 4);
          svc(whole, { src, dst, srcPort: whole.readUInt16BE(ihl), dstPort, payload: whole.subarray(ihl + 8, ihl + ulen), ifl: p.rx });
          this.g.release(p);
          continue;
        }
        if (pfe.hostStack) { this.toHostStack(p, whole); continue; }
        this.dropAbout(p, whole, 'no-listener', UNREACH_PORT);
        continue;
      }
      if (proto === PROTO_TCP) {
        if (pfe.hostStack) { this.toHostStack(p, whole); continue; }
        this.drop(p, 'no-listener');
        continue;
      }
      this.dropAbout(p, whole, 'unknown-protocol', UNREACH_PROTO);
    }
  }

  /** TCP, and UDP for no service of the PFE's own: the Routing Engine's IP stack (SCEP, NETCONF, ...) answers. */
  private toHostStack(p: Pkt, whole: Buffer): void {
    if (p.trace) this.g.traceLine(p, this.name, `${whole[9] === PROTO_TCP ? 'TCP' : 'UDP'} for the router: to the Routing Engine's stack`);
    this.pfe.hostStack!(whole);
    this.g.release(p);
  }

  /** Drop a packet for the router, and let icmp-error answer the whole (reassembled) datagram with unreachable `code`. */
  private dropAbout(p: Pkt, whole: Buffer, reason: typeof REASONS[number], code: number): void {
    p.buf = whole; p.l3 = 0;
    this.dropWithError(p, reason, ICMP_UNREACH, code, 0, false);
  }
}
