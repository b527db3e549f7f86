/** Reassembly for the stages that need whole datagrams (ip4-local, ipsec-in): bounded, in src/net/frag.ts. */
import type { FragDrop } from '../../net/frag.js';
import type { Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import { ipLen } from './util.js';

/**
 * The whole packet (a copy of its bytes), or null: held until its other fragments come, or dropped
 * by `by` (which declares the reassembly reasons; the datagram's other fragments count router-wide).
 */
/** A stage that declares every reassembly reason (a function property, so the check is strict). */
export interface Reassembling { readonly name: string; drop: (p: Pkt, reason: FragDrop) => void }

export function reassemble(g: Graph, ctx: Pick<PfeContext, 'reasm' | 'now'>, p: Pkt, by: Reassembling): Buffer | null {
  const b = p.buf, o = p.l3;
  const r = ctx.reasm.add(b.subarray(o, o + ipLen(b, o)), ctx.now());
  if (r.kind === 'whole') return r.pkt;
  if (r.kind === 'held') { if (p.trace) g.traceLine(p, by.name, 'a fragment: held for reassembly'); g.release(p); return null; }
  for (let i = 1; i < r.fragments; i++) g.countDrop(r.reason, p.rx);
  by.drop(p, r.reason);
  return null;
}
