/**
 * Packet traces (`monitor packet-trace`): the next N packets received (on one interface, or any) are
 * marked, and each stage they cross adds a line. A packet handed to the ES PIC ends that part of its
 * trace there; when the PIC gives it back (sealed or decrypted), a continuation picks up under the
 * same number.
 */
import type { Pkt } from './graph.js';

type Sink = (lines: string[]) => void;
/** A trace request: stop it, and see how many of its traces are started and still open (in the graph or in the ES PIC). */
export interface TraceHandle { stop(): void; readonly started: number; readonly open: number }
interface Request extends TraceHandle { ifd?: string; match?: Match; remaining: number; sink: Sink; started: number; open: number }
/** Which packets a request wants (the web page's source/destination): a tag for its first line, or undefined for not this one. */
export type Match = (p: Pkt) => string | undefined;

export class TraceRequests {
  private reqs = new Set<Request>();
  private owners = new WeakMap<string[], Request>();
  private parked = new Map<number, { num: number; r: Request }>();
  private nextPark = 1;
  private num = 0;

  /** Trace the next `count` packets received on `ifd` (any interface when absent). */
  add(count: number, sink: Sink, ifd?: string, match?: Match): TraceHandle {
    const r: Request = { ifd, match, remaining: count, sink, started: 0, open: 0, stop: () => { this.reqs.delete(r); } };
    this.reqs.add(r);
    return r;
  }
  get active(): boolean { return this.reqs.size > 0; }

  private start(p: Pkt, r: Request, head: string): true {
    if (--r.remaining <= 0) this.reqs.delete(r);
    p.trace = [`Packet ${++this.num}: ${head}`];
    this.owners.set(p.trace, r);
    r.started++; r.open++;
    return true;
  }
  /** A packet entering on `ifd`: traced if a request wants it. */
  maybeStart(p: Pkt, ifd: string): boolean {
    for (const r of this.reqs) if (r.ifd === undefined || r.ifd === ifd) { const tag = r.match ? r.match(p) : ''; if (tag !== undefined) return this.start(p, r, `received on ${ifd}, ${p.buf.length - (p.rxIfd ? 0 : p.l3)} bytes${tag}`); }
    return false;
  }
  /** A packet the router made: traced by a request for any interface. */
  maybeStartLocal(p: Pkt): boolean {
    for (const r of this.reqs) if (r.ifd === undefined) { const tag = r.match ? r.match(p) : ''; if (tag !== undefined) return this.start(p, r, `made by the router, ${p.buf.length - p.l3} bytes${tag}`); }
    return false;
  }
  /** The trace of a packet that leaves the graph. */
  finish(lines: string[]): void {
    const r = this.owners.get(lines);
    if (!r) return;
    this.owners.delete(lines);
    r.open--;
    r.sink(lines);
  }
  /** A traced packet goes into the ES PIC: returns the number it carries there (0: not traced). */
  park(p: Pkt): number {
    const r = p.trace && this.owners.get(p.trace);
    if (!r) return 0;
    const id = this.nextPark;
    this.nextPark = this.nextPark >= 255 ? 1 : this.nextPark + 1;
    const old = this.parked.get(id);
    if (old) old.r.open--;                      // a continuation that never came (the PIC dropped it)
    this.parked.set(id, { num: Number(/^Packet (\d+)/.exec(p.trace![0]!)?.[1] ?? 0), r });
    r.open++;                                   // the continuation is open until it comes back
    return id;
  }
  /** A packet back from the ES PIC carrying trace number `id`: its trace goes on. */
  resume(p: Pkt, id: number, line: string): boolean {
    const x = id ? this.parked.get(id) : undefined;
    if (!x) return false;
    this.parked.delete(id);
    p.trace = [`Packet ${x.num} (continued): ${line}`];
    this.owners.set(p.trace, x.r);
    return true;
  }
}
