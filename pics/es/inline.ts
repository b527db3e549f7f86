/**
 * The ES PIC run in the caller's thread: same core, same interface as the worker-thread ES PIC.
 * Used where a thread is not wanted (unit tests of the PFE, `vrouter check`-style tools).
 */
import { IpsecCore, PicSnapshot, DynamicSaPair } from './core.js';
import type { IpsecEngine, IpsecSink, EsTunnelConfig, LifetimeEvent } from '../../src/pfe/types.js';

export class InlineIpsec implements IpsecEngine {
  readonly core = new IpsecCore();
  private sink?: IpsecSink;
  setSink(s: IpsecSink) { this.sink = s; }
  configure(t: EsTunnelConfig[]) { this.core.configure(t); }
  encrypt(ifl: string, pkt: Buffer, trace = 0) { const r = this.core.encrypt(ifl, pkt); if (r.ok) this.sink?.outer(ifl, r.packet, trace); }
  decrypt(ifl: string, pkt: Buffer, trace = 0) { const r = this.core.decrypt(ifl, pkt); if (r.ok) this.sink?.inner(ifl, r.packet, trace); }
  overhead(ifl: string, len: number) { return this.core.overhead(ifl, len); }
  onLifetime?: (events: LifetimeEvent[]) => void;
  installDynamic(ifl: string, pair: DynamicSaPair) { this.core.installDynamic(ifl, pair); }
  removeDynamic(ifl: string, inb: number[], out: number[]) { this.core.removeDynamic(ifl, inb, out); }
  /** Lifetimes (the router's timer calls this: there is no worker heartbeat here). */
  tick(now = Date.now()) { const e = this.core.tick(now); if (e.length) this.onLifetime?.(e); }
  clear(saName?: string) { this.core.clear(saName); }
  async snapshot(): Promise<PicSnapshot> {
    return { pic: 'inline', drops: { ...this.core.drops }, encrypted: this.core.encrypted, decrypted: this.core.decrypted, restarts: 0, sas: this.core.snapshot() };
  }
}
