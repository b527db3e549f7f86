/**
 * icmp-error: the ICMP error a dropped packet deserves (RFC 1812 4.3.2.7: never about an ICMP error,
 * a fragment other than the first, a broadcast or our own packet), rate-limited as routers do. The
 * stage that drops a packet counts the drop under its own reason and hands the packet here with the
 * error it deserves (GraphNode.dropWithError); the error goes out as a packet the router made.
 */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import { buildIpv4, PROTO_ICMP } from '../../net/ipv4.js';
import { buildIcmp, ICMP_ECHO, ICMP_ECHO_REPLY, ICMP_UNREACH, UNREACH_NEEDFRAG } from '../../net/l4.js';

/** At most this many errors a second (a token bucket): a flood of bad packets cannot make the router flood. */
export const ICMP_ERRORS_PER_SECOND = 1000;
const REASONS = ['icmp-rate-limit'] as const;

export class IcmpError extends GraphNode<typeof REASONS[number], never> {
  readonly name = 'icmp-error';
  readonly reasons = REASONS;
  readonly nexts = [] as const;
  private tokens = ICMP_ERRORS_PER_SECOND;
  private refilled = 0;
  constructor(g: Graph, private pfe: Pick<PfeContext, 'localAddrs' | 'sourceFor' | 'now' | 'originate' | 'nextId'>) { super(g); }
  run(v: Pkt[], n: number): void {
    for (let i = 0; i < n; i++) {
      const p = v[i]!;
      if (p.icmp >= 0) this.make(p.buf, p.l3, p.rx, p.icmp >> 8, p.icmp & 255, p.icmpMtu);
      this.g.release(p);
    }
  }

  private make(b: Buffer, o: number, rx: Pkt['rx'], type: number, code: number, mtu: number): void {
    const ihl = (b[o]! & 15) * 4, src = b.readUInt32BE(o + 12), protocol = b[o + 9]!;
    const fragOffset = b.readUInt16BE(o + 6) & 0x1fff;
    if (fragOffset !== 0 || src === 0 || src >>> 28 >= 14 || this.pfe.localAddrs.has(src)) return;
    if (protocol === PROTO_ICMP && b.length > o + ihl && b[o + ihl] !== ICMP_ECHO && b[o + ihl] !== ICMP_ECHO_REPLY) return;
    const from = rx?.addresses[0]?.local ?? this.pfe.sourceFor(src);
    if (from === undefined) return;
    const now = this.pfe.now();
    this.tokens = Math.min(ICMP_ERRORS_PER_SECOND, this.tokens + (now - this.refilled) * ICMP_ERRORS_PER_SECOND / 1000);
    this.refilled = now;
    if (this.tokens < 1) { this.countOnly('icmp-rate-limit'); return; }
    this.tokens--;
    const tl = (b[o + 2]! << 8) | b[o + 3]!;
    const data = b.subarray(o, o + Math.min(tl, ihl + 8));
    const icmp = buildIcmp(type, code, code === UNREACH_NEEDFRAG && type === ICMP_UNREACH ? mtu & 0xffff : 0, data);
    this.pfe.originate(buildIpv4({ protocol: PROTO_ICMP, src: from, dst: src, id: this.pfe.nextId(), ttl: 64 }, icmp));
  }
}
