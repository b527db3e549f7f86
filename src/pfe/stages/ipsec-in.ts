/** ipsec-in: ESP or AH for the router: reassembled, matched to its SA by protocol, SPI and destination, then to the ES PIC. */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import { PROTO_ESP } from '../../net/ipv4.js';
import { FRAG_DROPS } from '../../net/frag.js';
import { reassemble } from './reassemble.js';

const REASONS = ['ipsec-short-packet', 'ipsec-no-sa', ...FRAG_DROPS] as const;
type Ctx = Pick<PfeContext, 'reasm' | 'now' | 'inboundSa' | 'ipsec' | 'reIpsec' | 'onBadSpi' | 'traces' | 'packetOf'> & { guard(fn: () => void): void };

export class IpsecIn extends GraphNode<typeof REASONS[number], never> {
  readonly name = 'ipsec-in';
  readonly reasons = REASONS;
  readonly nexts = [] as const;
  constructor(g: Graph, private pfe: Ctx) { super(g); }
  static readonly HOLD = 64;
  private held: Array<{ pkt: Buffer; rx: Pkt['rx'] }> = [];
  private retrying = false;
  private retry(): void {
    const h = this.held;
    this.held = [];
    this.pfe.guard(() => {
      this.retrying = true;
      try {
        for (const x of h) this.g.enqueue(this, this.pfe.packetOf(x.pkt, x.rx));
        this.g.dispatch();
      } finally { this.retrying = false; }
    });
  }
  run(v: Pkt[], n: number): void {
    const pfe = this.pfe;
    for (let i = 0; i < n; i++) {
      const p = v[i]!;
      const whole = reassemble(this.g, pfe, p, this);
      if (!whole) continue;
      const proto = whole[9]!, ihl = (whole[0]! & 15) * 4, dst = whole.readUInt32BE(16);
      const off = proto === PROTO_ESP ? 0 : 4;
      if (whole.length < ihl + off + 4) { this.drop(p, 'ipsec-short-packet'); continue; }
      const spi = whole.readUInt32BE(ihl + off);
      const ifl = pfe.inboundSa.get(`${proto}/${spi}/${dst}`);
      if (ifl?.startsWith('re:') && pfe.reIpsec) { pfe.reIpsec.decrypt(ifl, whole); this.g.release(p); continue; }
      if ((!ifl || !pfe.ipsec) && !this.retrying && this.held.length < IpsecIn.HOLD) {
        // an SA may be on its way in this very batch: the quick mode message that installs it can
        // sit behind this packet in the vector (the stages run in their order, not the wire's).
        // Held, and looked up once more when the batch is done.
        this.held.push({ pkt: Buffer.from(whole), rx: p.rx });
        if (this.held.length === 1) queueMicrotask(() => this.retry());
        this.g.release(p);
        continue;
      }
      if (!ifl || !pfe.ipsec) {
        if (p.trace) this.g.traceLine(p, this.name, `no SA for ${proto === PROTO_ESP ? 'ESP' : 'AH'} SPI ${spi}`);
        this.drop(p, 'ipsec-no-sa');
        pfe.onBadSpi?.(proto, spi, whole.readUInt32BE(12), dst);   // kmd tells the peer (rate-limited)
        continue;
      }
      if (p.trace) this.g.traceLine(p, this.name, `${proto === PROTO_ESP ? 'ESP' : 'AH'} SPI ${spi}: SA of ${ifl}, to the ES PIC`);
      pfe.ipsec.decrypt(ifl, whole, pfe.traces.park(p));
      this.g.release(p);
    }
  }
}
