/**
 * ipsec-in: ESP or AH for the router: reassembled, matched to its SA by protocol, SPI and destination,
 * then to the ES PIC. It runs after ip4-local in each round (stages/index.ts), so an SA kmd installs
 * from a message earlier in the same batch is in place; the ES PIC gets the SA and the packets in the
 * order they were sent, through its ring.
 */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import { PROTO_ESP } from '../../net/ipv4.js';
import { FRAG_DROPS } from '../../net/frag.js';
import { reassemble } from './reassemble.js';

const REASONS = ['ipsec-short-packet', 'ipsec-no-sa', ...FRAG_DROPS] as const;
type Ctx = Pick<PfeContext, 'reasm' | 'now' | 'inboundSa' | 'ipsec' | 'reIpsec' | 'onBadSpi' | 'traces'>;

export class IpsecIn extends GraphNode<typeof REASONS[number], never> {
  readonly name = 'ipsec-in';
  readonly reasons = REASONS;
  readonly nexts = [] as const;
  constructor(g: Graph, private pfe: Ctx) { super(g); }
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
