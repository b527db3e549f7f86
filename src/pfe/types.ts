/** The PFE's narrow interfaces to the outside: ports (frames) and the ES PIC (IPsec). */
import type { SaModel } from '../config/model.js';

/** A physical port: an in-memory wire end, or later a TAP device. */
export interface Port {
  send(frame: Buffer): void;
  onReceive(fn: (frame: Buffer) => void): void;
  close?(): void;
}

/** An es- logical interface as the ES PIC sees it. */
export interface EsTunnelConfig { ifl: string; pic: string; sa: SaModel; source: number; destination: number }

/** Where the ES PIC returns its results. */
export interface IpsecSink {
  /** an outbound packet, now protected (outer IPv4 packet), to route out */
  outer(ifl: string, pkt: Buffer): void;
  /** an inbound packet, now decrypted and verified, entering the PFE on `ifl` */
  inner(ifl: string, pkt: Buffer): void;
}

/** The ES PIC as the PFE uses it. Calls never block; results arrive at the sink. */
export interface IpsecEngine {
  setSink(s: IpsecSink): void;
  configure(tunnels: EsTunnelConfig[]): void;
  encrypt(ifl: string, pkt: Buffer): void;
  decrypt(ifl: string, pkt: Buffer): void;
  /** bytes the ifl's outbound SA adds to a packet of `len` bytes */
  overhead(ifl: string, len: number): number;
}
