/**
 * In-memory Ethernet: a wire joins two ports; frames are delivered asynchronously (like a real
 * link, never re-entering the sender) and can be watched, as tcpdump would on a real link.
 */
import type { Port } from '../pfe/types.js';

export class WireEnd implements Port {
  peer?: WireEnd;
  private rx?: (f: Buffer) => void;
  constructor(private wire: Wire, readonly label: string) {}
  send(frame: Buffer, len?: number): void { this.wire.carry(this, len === undefined || len >= frame.length ? frame : frame.subarray(0, len)); }
  onReceive(fn: (f: Buffer) => void): void { this.rx = fn; }
  deliver(f: Buffer): void { this.rx?.(f); }
}

export class Wire {
  readonly a: WireEnd;
  readonly b: WireEnd;
  private queue: Array<[WireEnd, Buffer]> = [];
  private scheduled = false;
  private watchers = new Set<(from: string, frame: Buffer) => void>();
  up = true;
  constructor(labelA = 'a', labelB = 'b') {
    this.a = new WireEnd(this, labelA);
    this.b = new WireEnd(this, labelB);
    this.a.peer = this.b;
    this.b.peer = this.a;
  }
  /** Frames on the wire, not yet delivered (a test waits for none, not for a guessed time). */
  get busy(): boolean { return this.queue.length > 0; }
  watch(fn: (from: string, frame: Buffer) => void): () => void { this.watchers.add(fn); return () => this.watchers.delete(fn); }
  carry(from: WireEnd, frame: Buffer): void {
    if (!this.up) return;
    for (const w of this.watchers) w(from.label, frame);
    this.queue.push([from.peer!, Buffer.from(frame)]);
    if (!this.scheduled) { this.scheduled = true; setImmediate(() => this.flush()); }
  }
  private flush(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    for (const [to, f] of q) to.deliver(f);
  }
}
