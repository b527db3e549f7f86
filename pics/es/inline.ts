/**
 * The ES PIC run in the caller's thread: same core, same interface as the worker-thread ES PIC.
 * Used where a thread is not wanted (unit tests of the PFE, `vrouter check`-style tools).
 */
import { IpsecCore, PicSnapshot } from './core.js';
import type { IpsecEngine, IpsecSink, EsTunnelConfig } from '../../src/pfe/types.js';

export class InlineIpsec implements IpsecEngine {
  readonly core = new IpsecCore();
  private sink?: IpsecSink;
  setSink(s: IpsecSink) { this.sink = s; }
  configure(t: EsTunnelConfig[]) { this.core.configure(t); }
  encrypt(ifl: string, pkt: Buffer, trace = 0) { const r = this.core.encrypt(ifl, pkt); if (r.ok) this.sink?.outer(ifl, r.packet, trace); }
  decrypt(ifl: string, pkt: Buffer, trace = 0) { const r = this.core.decrypt(ifl, pkt); if (r.ok) this.sink?.inner(ifl, r.packet, trace); }
  overhead(ifl: string, len: number) { return this.core.overhead(ifl, len); }
  clear(saName?: string) { this.core.clear(saName); }
  async snapshot(): Promise<PicSnapshot> {
    return { pic: 'inline', drops: { ...this.core.drops }, encrypted: this.core.encrypted, decrypted: this.core.decrypted, restarts: 0, sas: this.core.snapshot() };
  }
}
