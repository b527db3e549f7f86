/**
 * The forwarding path as a graph of stages, after VPP's node graph: each stage (a GraphNode) takes a
 * vector of packets, does one job, and hands each packet to a next stage or drops it with a reason
 * of its own. The dispatcher runs the stages that have packets until none has any. Packet contexts
 * come from a pool, so forwarding allocates nothing per packet.
 *
 * Each stage declares its next nodes (`nexts`: it can hand a packet only to those, through `next`,
 * which the graph wires by name in `link`) and its drop reasons (`reasons`: `drop` takes only those,
 * by type). Stages see the PFE's state through a narrow context (context.ts), never the Pfe itself.
 *
 * Tracing costs nothing for untraced packets: a packet marked for tracing carries a list, and each
 * stage it crosses appends one line (what it saw, where the packet went).
 */
import type { IfdState, IflState } from './state.js';

/** A packet on its way through the graph: the buffer and offsets into it, never copies. */
export interface Pkt {
  buf: Buffer;
  /** offset of the IPv4 header in `buf` (14 for a frame read from an Ethernet port) */
  l3: number;
  /** the physical port it was received on (Ethernet input) */
  rxIfd: IfdState | undefined;
  /** the logical interface it entered on (an es- interface for a decrypted packet) */
  rx: IflState | undefined;
  /** chosen output logical interface and next hop (rewrite) */
  out: IflState | undefined;
  nh: number;
  /** the es- interface whose SA sealed this packet (a route back into the same tunnel is a loop) */
  via: IflState | undefined;
  /** made by the router itself (no TTL decrement, may use any source) */
  local: boolean;
  /** the packet's trace lines when it is traced, else null */
  trace: string[] | null;
  /** for icmp-error: the error this dropped packet deserves (type << 8 | code; -1: none) and the MTU to report */
  icmp: number;
  icmpMtu: number;
}

export abstract class GraphNode<R extends string = string, N extends string = string> {
  abstract readonly name: string;
  /** Drop reasons this stage can give: `drop` counts only these (`show pfe statistics` lists them by stage). */
  abstract readonly reasons: readonly R[];
  /** The stages this one hands packets to, by name; `next` holds them once the graph is linked. */
  abstract readonly nexts: readonly N[];
  readonly next = {} as Record<N, GraphNode>;
  readonly drops = new Map<R, number>();
  vec: Pkt[] = pktArray();
  n = 0;
  constructor(protected g: Graph) {}
  /** Process v[0..n): enqueue each packet to its next stage, or drop it. */
  abstract run(v: Pkt[], n: number): void;
  /**
   * Drop `p` for `reason`: counted here, router-wide, and on its interface (the output interface once
   * one is chosen, as an MTU or ARP failure is the output's; else the one it came in on).
   */
  drop(p: Pkt, reason: R): void {
    this.count(p, reason);
    this.g.release(p);
  }
  /**
   * Drop `p` for `reason` and let icmp-error tell its sender (`traced`: the trace says so). Only a
   * stage that declares icmp-error as a next node can.
   */
  dropWithError(this: GraphNode<R, N | 'icmp-error'>, p: Pkt, reason: R, type: number, code: number, mtu = 0, traced = true): void {
    if (traced && p.trace) this.g.traceLine(p, 'icmp-error', `ICMP type ${type} code ${code} to the sender`);
    this.count(p, reason);
    p.icmp = (type << 8) | code; p.icmpMtu = mtu;
    this.g.enqueue(this.next['icmp-error'], p);
  }
  /** Count a drop with no packet to release (a limit reached), here and router-wide. */
  countOnly(reason: R): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.g.countDrop(reason);
  }
  private count(p: Pkt, reason: R): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.g.countDrop(reason, p.out ?? p.rx);
    if (p.trace) this.g.traceLine(p, this.name, `drop: ${reason}`);
  }
}

export class Graph {
  private order: GraphNode[] = [];
  /** the order stages run in (the order they were added in, unless `runAfter` moved one) */
  private runOrder: GraphNode[] = [];
  private pool: Pkt[] = pktArray();
  private running = false;
  /** Router-wide drop counter (reason -> count), shared with the PFE's `drops`. */
  countDrop: (reason: string, ifl?: IflState) => void = () => {};
  /** Where finished traces go. */
  onTrace?: (lines: string[]) => void;

  add<T extends GraphNode>(node: T): T { this.order.push(node); this.runOrder.push(node); return node; }
  /** Run `node` right after `after` in each round (nodes() keeps the order they were added in). */
  runAfter(node: GraphNode, after: GraphNode): void {
    this.runOrder.splice(this.runOrder.indexOf(node), 1);
    this.runOrder.splice(this.runOrder.indexOf(after) + 1, 0, node);
  }
  nodes(): readonly GraphNode[] { return this.order; }
  /** Wire every stage's declared next nodes by name; a name no stage has is a bug in the graph. */
  link(): void {
    const byName = new Map(this.order.map(n => [n.name, n]));
    for (const n of this.order) {
      const next = n.next as Record<string, GraphNode>;
      for (const name of n.nexts) {
        const to = byName.get(name);
        if (!to) throw new Error(`PFE graph: ${n.name} declares next node ${name}, which the graph does not have`);
        next[name] = to;
      }
    }
  }

  /** A packet context from the pool (its fields reset). */
  packet(buf: Buffer, l3: number, rxIfd?: IfdState, rx?: IflState): Pkt {
    const p = this.pool.pop();
    if (!p) return { buf, l3, rxIfd, rx, out: undefined, nh: 0, via: undefined, local: false, trace: null, icmp: -1, icmpMtu: 0 };
    p.buf = buf; p.l3 = l3; p.rxIfd = rxIfd; p.rx = rx; p.out = undefined; p.nh = 0; p.via = undefined; p.local = false; p.trace = null; p.icmp = -1;
    return p;
  }
  /** A packet leaves the graph (sent, dropped, handed to the ES PIC or to a listener). */
  release(p: Pkt): void {
    if (p.trace) { this.onTrace?.(p.trace); p.trace = null; }
    p.buf = EMPTY;
    p.rx = p.out = p.via = p.rxIfd = undefined;
    if (this.pool.length < 1024) this.pool.push(p);
  }
  /** Hand `p` to `node` (it runs when the dispatcher reaches it). */
  enqueue(node: GraphNode, p: Pkt): void {
    if (node.n === node.vec.length) node.vec.push(p); else node.vec[node.n] = p;
    node.n++;
  }
  traceLine(p: Pkt, stage: string, text: string): void { p.trace?.push(`  ${stage.padEnd(16)} ${text}`); }

  /** Run every stage that has packets, in order, until none has any. Re-entrant calls only enqueue. */
  dispatch(): void {
    if (this.running) return;
    this.running = true;
    try {
      let busy = true;
      while (busy) {
        busy = false;
        for (const node of this.runOrder) {
          const n = node.n;
          if (n === 0) continue;
          busy = true;
          // swap the vector out, so packets the stage sends to itself (or earlier) wait for the next round
          const v = node.vec;
          node.vec = this.spare.pop() ?? pktArray();
          node.n = 0;
          try { node.run(v, n); }
          finally { v.fill(DONE, 0, n); this.spare.push(v); }
        }
      }
    } finally { this.running = false; }
  }
  private spare: Pkt[][] = [pktArray()].slice(1);
}

/**
 * An empty array of packets whose elements are objects from the start. An empty `[]` starts as an
 * array of small integers and changes kind at its first packet; code V8 optimised on arrays that had
 * already changed (the warm-up's graphs: src/router/warmup.ts) is thrown away when it meets one that
 * has not (the router's own graph, made before the warm-up ran): the first real packet deoptimised a
 * dozen functions that way (docs/performance.md, 2026-12-08).
 */
function pktArray(): Pkt[] { const a: Pkt[] = [DONE]; a.pop(); return a; }

const EMPTY = Buffer.alloc(0);
const DONE: Pkt = { buf: EMPTY, l3: 0, rxIfd: undefined, rx: undefined, out: undefined, nh: 0, via: undefined, local: false, trace: null, icmp: -1, icmpMtu: 0 };
