/** interface-output: the frame goes out of its port (taps see it first). */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import { ipLen } from './util.js';

const REASONS = ['no-link'] as const;

export class InterfaceOutput extends GraphNode<typeof REASONS[number], never> {
  readonly name = 'interface-output';
  readonly reasons = REASONS;
  readonly nexts = [] as const;
  constructor(g: Graph, private pfe: Pick<PfeContext, 'taps'>) { super(g); }
  run(v: Pkt[], n: number): void {
    const pfe = this.pfe;
    for (let i = 0; i < n; i++) {
      const p = v[i]!, b = p.buf, d = p.out!.ifd;
      if (!d.port || !d.adminUp) { d.counters.drop('no-link'); this.drop(p, 'no-link'); continue; }
      const start = p.l3 - 14, len = 14 + ipLen(b, p.l3);
      d.counters.tx(len);
      const frame = start === 0 ? b : b.subarray(start, start + len);
      if (pfe.taps.size) { const f = frame.length === len ? frame : frame.subarray(0, len); for (const t of pfe.taps) t(d.name, 'out', f, 'eth'); }
      d.port.send(frame, len);
      if (p.trace) this.g.traceLine(p, this.name, `sent on ${d.name}, ${len} bytes`);
      this.g.release(p);
    }
  }
}
