/**
 * The responder's Diffie-Hellman budget. An Aggressive mode first message makes the responder do a
 * Diffie-Hellman exchange (its key pair and g^xy, for HASH_R) before any round trip proves where the
 * message came from, and the chapter has the responder accept the mode the initiator sends; Main mode
 * message 3 costs the same once the cookies are back. So that spoofed first messages, even from a
 * configured peer's address, cannot hold the main thread, this work is rationed: a token bucket per
 * peer and one for all peers. A message over budget is dropped (counted, `ike-dh-rate-limited`), and
 * the first drop of an episode is logged; the episode ends when the bucket is full again.
 */
export interface Bucket { rate: number; burst: number }
interface State { tokens: number; at: number; limiting: boolean; refused: number }

export class DhBudget {
  private peers = new Map<number, State>();
  private total: State;
  constructor(private now: () => number, private log: (msg: string) => void, private perPeer: Bucket, private all: Bucket, private maxPeers = 1024) {
    this.total = { tokens: all.burst, at: now(), limiting: false, refused: 0 };
  }

  private refill(s: State, b: Bucket, now: number): void {
    s.tokens = Math.min(b.burst, s.tokens + ((now - s.at) / 1000) * b.rate);
    s.at = now;
    if (s.limiting && s.tokens >= b.burst) s.limiting = false;
  }

  /** One Diffie-Hellman exchange for `peer` (named in words for the log): true if within budget. */
  take(peer: number, name: string): boolean {
    const now = this.now();
    let p = this.peers.get(peer);
    if (!p) {
      if (this.peers.size >= this.maxPeers) for (const [k, v] of this.peers) { this.refill(v, this.perPeer, now); if (v.tokens >= this.perPeer.burst) this.peers.delete(k); }
      if (this.peers.size >= this.maxPeers) this.peers.delete(this.peers.keys().next().value!);
      p = { tokens: this.perPeer.burst, at: now, limiting: false, refused: 0 };
      this.peers.set(peer, p);
    }
    this.refill(p, this.perPeer, now); this.refill(this.total, this.all, now);
    const short = p.tokens < 1 ? { s: p, what: `from ${name}: more than ${this.perPeer.rate} a second` } : this.total.tokens < 1 ? { s: this.total, what: `from all peers: more than ${this.all.rate} a second` } : undefined;
    if (short) {
      short.s.refused++;
      if (!short.s.limiting) {
        short.s.limiting = true;
        this.log(`KMD_PM_DH_RATE_LIMIT: IKE negotiations that need Diffie-Hellman work ${short.what}: the excess is dropped (ike-dh-rate-limited) until the rate falls`);
      }
      return false;
    }
    p.tokens--; this.total.tokens--;
    return true;
  }
  /** how many were refused, per peer and in all (for tests and `show`) */
  refused(peer?: number): number { return peer === undefined ? [...this.peers.values()].reduce((a, s) => a + s.refused, 0) : this.peers.get(peer)?.refused ?? 0; }
}
