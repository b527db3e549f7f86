/**
 * Packet batches between the PFE and the ES PIC worker: many packets packed into one ArrayBuffer
 * that is transferred (moved, not cloned) across the thread boundary. Record: u8 op, u16 ifl index,
 * u32 length, bytes.
 */
export const OP_ENCRYPT = 0, OP_DECRYPT = 1, OP_OUTER = 2, OP_INNER = 3;

export class BatchWriter {
  private items: Array<[number, number, Buffer]> = [];
  private bytes = 0;
  push(op: number, ifl: number, pkt: Buffer): void { this.items.push([op, ifl, pkt]); this.bytes += 7 + pkt.length; }
  get length() { return this.items.length; }
  /** Pack everything queued so far into one transferable buffer and start a new batch. */
  take(): ArrayBuffer {
    const ab = new ArrayBuffer(this.bytes);
    const b = Buffer.from(ab);
    let o = 0;
    for (const [op, ifl, pkt] of this.items) {
      b[o] = op; b.writeUInt16LE(ifl, o + 1); b.writeUInt32LE(pkt.length, o + 3);
      pkt.copy(b, o + 7);
      o += 7 + pkt.length;
    }
    this.items = []; this.bytes = 0;
    return ab;
  }
}

/** Iterate the records of a batch; packets are views into the batch (no copy). */
export function* readBatch(ab: ArrayBuffer): Generator<[number, number, Buffer]> {
  const b = Buffer.from(ab);
  let o = 0;
  while (o + 7 <= b.length) {
    const len = b.readUInt32LE(o + 3);
    if (o + 7 + len > b.length) return;
    yield [b[o]!, b.readUInt16LE(o + 1), b.subarray(o + 7, o + 7 + len)];
    o += 7 + len;
  }
}
