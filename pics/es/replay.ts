/**
 * Anti-replay window (RFC 4303 section 3.4.3 and appendix A) for 32 or 64 packets. `check` is
 * done before the ICV (cheap reject); `update` only after the ICV verified.
 */
export type ReplayVerdict = 'ok' | 'replay' | 'too-old';

export class ReplayWindow {
  private top = 0;                  // highest sequence number accepted so far
  private readonly seen: Float64Array; // slot seq % size holds the last seq accepted there
  constructor(readonly size: 32 | 64) { this.seen = new Float64Array(size).fill(-1); }

  check(seq: number): ReplayVerdict {
    if (seq === 0) return 'replay';                 // 0 is never sent (RFC 4303 3.3.3)
    if (seq > this.top) return 'ok';
    if (this.top - seq >= this.size) return 'too-old';
    return this.seen[seq % this.size] === seq ? 'replay' : 'ok';
  }
  update(seq: number): void {
    if (seq > this.top) this.top = seq;
    this.seen[seq % this.size] = seq;
  }
  get highest(): number { return this.top; }
}
