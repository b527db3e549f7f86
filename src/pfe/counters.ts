/** Interface counters for `show interfaces`: packets and bytes each way, drops by reason. */
export class IfCounters {
  inPackets = 0; inBytes = 0; outPackets = 0; outBytes = 0;
  drops = new Map<string, number>();
  rx(bytes: number) { this.inPackets++; this.inBytes += bytes; }
  tx(bytes: number) { this.outPackets++; this.outBytes += bytes; }
  drop(reason: string) { this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1); }
  get dropTotal() { let n = 0; for (const v of this.drops.values()) n += v; return n; }
  clear() { this.inPackets = this.inBytes = this.outPackets = this.outBytes = 0; this.drops.clear(); }
}
