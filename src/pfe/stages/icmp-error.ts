/**
 * icmp-error: the ICMP error a dropped packet deserves (RFC 1812 4.3.2.7: never about an ICMP error,
 * a fragment other than the first, a broadcast or our own packet), rate-limited as routers do.
 */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { Pfe, IflState } from '../pfe.js';
import { buildIpv4, PROTO_ICMP } from '../../net/ipv4.js';
import { buildIcmp, ICMP_ECHO, ICMP_ECHO_REPLY, ICMP_UNREACH, UNREACH_NEEDFRAG } from '../../net/l4.js';

/** At most this many errors a second (a token bucket): a flood of bad packets cannot make the router flood. */
export const ICMP_ERRORS_PER_SECOND = 1000;

export class IcmpError extends GraphNode {
  readonly name = 'icmp-error';
  readonly reasons = ['icmp-rate-limit'] as const;
  private tokens = ICMP_ERRORS_PER_SECOND;
  private refilled = 0;
  constructor(g: Graph, private pfe: Pfe) { super(g); }
  run(): void { /* errors are made synchronously by `send`, while the offending packet is still at hand */ }

  /** An error about the packet `p` (before it is dropped). */
  send(p: Pkt, type: number, code: number, mtu = 0): void {
    if (p.trace) this.g.traceLine(p, this.name, `ICMP type ${type} code ${code} to the sender`);
    this.make(p.buf, p.l3, p.rx, type, code, mtu);
  }
  /** An error about a whole packet the router holds. */
  sendFor(pkt: Buffer, rx: IflState | undefined, type: number, code: number): void { this.make(pkt, 0, rx, type, code, 0); }

  private make(b: Buffer, o: number, rx: IflState | undefined, type: number, code: number, mtu: number): void {
    const ihl = (b[o]! & 15) * 4, src = b.readUInt32BE(o + 12), protocol = b[o + 9]!;
    const fragOffset = b.readUInt16BE(o + 6) & 0x1fff;
    if (fragOffset !== 0 || src === 0 || src >>> 28 >= 14 || this.pfe.localAddrs.has(src)) return;
    if (protocol === PROTO_ICMP && b.length > o + ihl && b[o + ihl] !== ICMP_ECHO && b[o + ihl] !== ICMP_ECHO_REPLY) return;
    const from = rx?.addresses[0]?.local ?? this.pfe.sourceFor(src);
    if (from === undefined) return;
    const now = this.pfe.now();
    this.tokens = Math.min(ICMP_ERRORS_PER_SECOND, this.tokens + (now - this.refilled) * ICMP_ERRORS_PER_SECOND / 1000);
    this.refilled = now;
    if (this.tokens < 1) { this.drops.set('icmp-rate-limit', (this.drops.get('icmp-rate-limit') ?? 0) + 1); this.pfe.countDrop('icmp-rate-limit'); return; }
    this.tokens--;
    const tl = (b[o + 2]! << 8) | b[o + 3]!;
    const data = b.subarray(o, o + Math.min(tl, ihl + 8));
    const icmp = buildIcmp(type, code, code === UNREACH_NEEDFRAG && type === ICMP_UNREACH ? mtu & 0xffff : 0, data);
    this.pfe.stages.local.originate(buildIpv4({ protocol: PROTO_ICMP, src: from, dst: src, id: this.pfe.nextId(), ttl: 64 }, icmp));
  }
}
