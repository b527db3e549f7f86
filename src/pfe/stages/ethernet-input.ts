/** ethernet-input: a frame from a port; ours (or broadcast) goes on by ethertype. */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import { ETH_ARP, ETH_IPV4 } from '../../net/ethernet.js';
import { macText } from './util.js';

const REASONS = ['runt', 'unknown-ethertype', 'no-logical-interface'] as const;

export class EthernetInput extends GraphNode<typeof REASONS[number], 'arp-input' | 'ip4-input'> {
  readonly name = 'ethernet-input';
  readonly reasons = REASONS;
  readonly nexts = ['arp-input', 'ip4-input'] as const;
  constructor(g: Graph, private pfe: Pick<PfeContext, 'taps' | 'traces'>) { super(g); }
  run(v: Pkt[], n: number): void {
    const pfe = this.pfe, arp = this.next['arp-input'], ip4 = this.next['ip4-input'];
    for (let i = 0; i < n; i++) {
      const p = v[i]!, b = p.buf, d = p.rxIfd!;
      if (b.length < 14) { d.counters.drop('runt'); this.drop(p, 'runt'); continue; }
      // not for us (a shared segment): ignored, as a NIC's address filter ignores it
      const m = d.mac;
      const ours = b[0] === m[0] && b[1] === m[1] && b[2] === m[2] && b[3] === m[3] && b[4] === m[4] && b[5] === m[5];
      if (!ours && !(b[0] === 0xff && b[1] === 0xff && b[2] === 0xff && b[3] === 0xff && b[4] === 0xff && b[5] === 0xff)) { this.g.release(p); continue; }
      d.counters.rx(b.length);
      if (pfe.taps.size) for (const t of pfe.taps) t(d.name, 'in', b, 'eth');
      if (pfe.traces.active) pfe.traces.maybeStart(p, d.name);
      const type = (b[12]! << 8) | b[13]!;
      if (type === ETH_ARP) { if (p.trace) this.g.traceLine(p, this.name, `ARP from ${macText(b, 6)}`); this.g.enqueue(arp, p); continue; }
      if (type !== ETH_IPV4) { d.counters.drop('unknown-ethertype'); this.drop(p, 'unknown-ethertype'); continue; }
      const l = d.unit0;
      if (!l || !l.up) { d.counters.drop('no-logical-interface'); this.drop(p, 'no-logical-interface'); continue; }
      p.rx = l;
      if (p.trace) this.g.traceLine(p, this.name, `IPv4 from ${macText(b, 6)} on ${l.name}`);
      this.g.enqueue(ip4, p);
    }
  }
}
