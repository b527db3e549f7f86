/**
 * Anti-replay window (RFC 4303 section 3.4.3 and appendix A) for 32 or 64 packets. `check` is
 * done before the ICV (cheap reject); `update` only after the ICV verified. Its state is `1 + size`
 * doubles (the highest sequence number accepted, then one slot per position) in a store the caller
 * may give: an SA's slot of its PIC's shared state table (sa.ts), read by the ES PIC's express path.
 */
export type ReplayVerdict = 'ok' | 'replay' | 'too-old';

export class ReplayWindow {
  // [0]: highest sequence number accepted so far; [1 + seq % size]: the last seq accepted there
  private readonly s: Float64Array;
  /** `init` false: the store's contents are another thread's, and kept (an express-path view) */
  constructor(readonly size: 32 | 64, store?: Float64Array, init = true) {
    this.s = store ?? new Float64Array(1 + size);
    if (init) { this.s[0] = 0; this.s.fill(-1, 1, 1 + size); }
  }

  check(seq: number): ReplayVerdict {
    const top = this.s[0]!;
    if (seq === 0) return 'replay';                 // 0 is never sent (RFC 4303 3.3.3)
    if (seq > top) return 'ok';
    if (top - seq >= this.size) return 'too-old';
    return this.s[1 + seq % this.size] === seq ? 'replay' : 'ok';
  }
  update(seq: number): void {
    if (seq > this.s[0]!) this.s[0] = seq;
    this.s[1 + seq % this.size] = seq;
  }
  get highest(): number { return this.s[0]!; }
}
