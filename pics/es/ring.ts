/**
 * A single-producer single-consumer ring of packet records in a SharedArrayBuffer, between the PFE
 * (main thread) and an ES PIC worker. The consumer sleeps on a futex (Atomics.wait in the worker,
 * Atomics.waitAsync on the main thread) and the producer wakes it: no message per batch, no copy but
 * the one into the ring. Record: u32 length, u8 op, u16 ifl index, u8 trace number, bytes (4-byte aligned).
 */
const HEAD = 0, TAIL = 1, SEQ = 2;      // Int32 slots: consumer offset, producer offset, wake counter
const WRAP = 0xffffffff;

export interface RingBuffers { ctl: SharedArrayBuffer; data: SharedArrayBuffer }
export function newRing(bytes = 4 << 20): RingBuffers {
  return { ctl: new SharedArrayBuffer(16), data: new SharedArrayBuffer(bytes) };
}

export class Ring {
  readonly ctl: Int32Array;
  private readonly buf: Buffer;
  private readonly cap: number;
  constructor(r: RingBuffers) {
    this.ctl = new Int32Array(r.ctl);
    this.buf = Buffer.from(r.data);
    this.cap = r.data.byteLength;
  }

  /** Producer: append a record; false when the ring is full (the caller counts a drop). */
  push(op: number, ifl: number, pkt: Buffer, trace = 0): boolean {
    const need = (8 + pkt.length + 3) & ~3;
    const head = Atomics.load(this.ctl, HEAD);
    let tail = Atomics.load(this.ctl, TAIL);
    const free = tail >= head ? this.cap - tail + head : head - tail;
    if (need + 8 >= free) return false;
    if (tail + need > this.cap) {
      if (need + 8 >= head) return false;         // not enough room at the start either
      if (tail < this.cap) this.buf.writeUInt32LE(WRAP, tail);
      tail = 0;
    }
    this.buf.writeUInt32LE(pkt.length, tail);
    this.buf[tail + 4] = op;
    this.buf.writeUInt16LE(ifl, tail + 5);
    this.buf[tail + 7] = trace;
    pkt.copy(this.buf, tail + 8);
    // a record that ends exactly at the end of the buffer moves the tail back to 0 (never onto an
    // unconsumed head: the free-space check above keeps the ring from ever filling completely)
    Atomics.store(this.ctl, TAIL, tail + need >= this.cap ? 0 : tail + need);
    return true;
  }
  /** Producer: wake the consumer once after pushing a batch. */
  wake(): void {
    Atomics.add(this.ctl, SEQ, 1);
    Atomics.notify(this.ctl, SEQ);
  }
  /**
   * Consumer: read every record available; packets are copied out (the space is reused), each into a
   * buffer of its own with `headroom` free bytes in front (room for an Ethernet header).
   */
  drain(fn: (op: number, ifl: number, pkt: Buffer, trace: number) => void, headroom = 0): number {
    let head = Atomics.load(this.ctl, HEAD);
    const tail = Atomics.load(this.ctl, TAIL);
    let n = 0;
    while (head !== tail) {
      const len = this.buf.readUInt32LE(head);
      if (len === WRAP) { head = 0; Atomics.store(this.ctl, HEAD, 0); continue; }
      const op = this.buf[head + 4]!, ifl = this.buf.readUInt16LE(head + 5), trace = this.buf[head + 7]!;
      const pkt = Buffer.allocUnsafe(headroom + len);
      this.buf.copy(pkt, headroom, head + 8, head + 8 + len);
      head = this.after(head, len);
      Atomics.store(this.ctl, HEAD, head);
      fn(op, ifl, pkt, trace);
      n++;
    }
    return n;
  }
  /**
   * Consumer: whether at least `n` records wait, not counting those of op `except` (reads only their
   * headers; `n` small, and it stops there; at most `n + 64` records looked at).
   */
  holds(n: number, except = -1): boolean {
    let head = Atomics.load(this.ctl, HEAD);
    const tail = Atomics.load(this.ctl, TAIL);
    let k = 0, seen = 0;
    while (head !== tail && k < n && seen < n + 64) {
      const len = this.buf.readUInt32LE(head);
      if (len === WRAP) { head = 0; continue; }
      if (this.buf[head + 4] !== except) k++;
      seen++;
      head = this.after(head, len);
    }
    return k >= n;
  }
  /** The offset of the record after the one at `at` whose packet is `len` bytes. */
  private after(at: number, len: number): number {
    const next = at + ((8 + len + 3) & ~3);
    return next >= this.cap ? 0 : next;
  }
  get seq(): number { return Atomics.load(this.ctl, SEQ); }
  /** Nothing waits on the ring (either side may ask). */
  get empty(): boolean { return Atomics.load(this.ctl, HEAD) === Atomics.load(this.ctl, TAIL); }
  /** Consumer in a worker: sleep until woken (or `ms`). */
  waitSync(seen: number, ms: number): void { Atomics.wait(this.ctl, SEQ, seen, ms); }
  /** Consumer on the main thread: a promise that resolves when woken. */
  waitAsync(seen: number): Promise<unknown> | null {
    const r = Atomics.waitAsync(this.ctl, SEQ, seen);
    return r.async ? r.value : null;
  }
}
