/** The PFE's narrow interfaces to the outside: ports (frames) and the ES PIC (IPsec). */
import type { SaModel } from '../config/model.js';

/** A physical port: an in-memory wire end, or a TAP device. */
export interface Port {
  /** Send the first `len` bytes of `frame` (all of it when `len` is absent). */
  send(frame: Buffer, len?: number): void;
  onReceive(fn: (frame: Buffer) => void): void;
  /** Frames in batches (everything readable at once), when the port can: the PFE then runs them through its stages together. */
  onReceiveBatch?(fn: (frames: Buffer[]) => void): void;
  close?(): void;
}

/** An es- logical interface as the ES PIC sees it. */
export interface EsTunnelConfig { ifl: string; pic: string; sa: SaModel; source: number; destination: number }

/**
 * Where the ES PIC returns its results. `trace` is the packet-trace number the packet carried in (0:
 * not traced); `headroom`: the packet starts at byte 14 of the buffer, leaving room for an Ethernet header.
 */
export interface IpsecSink {
  /** an outbound packet, now protected (outer IPv4 packet), to route out */
  outer(ifl: string, pkt: Buffer, trace?: number, headroom?: boolean): void;
  /** an inbound packet, now decrypted and verified, entering the PFE on `ifl` */
  inner(ifl: string, pkt: Buffer, trace?: number, headroom?: boolean): void;
  /**
   * Results of one drain of the ES PIC's ring: `fn` hands them over (outer/inner), and the PFE runs
   * them through its stages together once it returns, one vector per stage instead of one graph run
   * per packet.
   */
  batch?(fn: () => void): void;
}

/** Lifetime events of negotiated SAs, for kmd: `soft` (rekey now) and `hard` (the SA is gone). */
export interface LifetimeEvent { ifl: string; direction: string; event: 'soft' | 'hard'; spi: number }

/** The ES PIC as the PFE uses it. Calls never block; results arrive at the sink. */
export interface IpsecEngine {
  setSink(s: IpsecSink): void;
  configure(tunnels: EsTunnelConfig[]): void;
  encrypt(ifl: string, pkt: Buffer, trace?: number): void;
  decrypt(ifl: string, pkt: Buffer, trace?: number): void;
  /** bytes the ifl's outbound SA adds to a packet of `len` bytes */
  overhead(ifl: string, len: number): number;
  /** kmd's negotiated SAs (dynamic SAs): install a pair, remove by SPI */
  installDynamic?(ifl: string, pair: import('../../pics/es/core.js').DynamicSaPair): void;
  removeDynamic?(ifl: string, inboundSpis: number[], outboundSpis: number[]): void;
  /** where lifetime events of negotiated SAs go */
  onLifetime?: (events: LifetimeEvent[]) => void;
  /** an ES PIC lost its state (worker replaced): the dynamic SAs of these es- interfaces are gone */
  onRestart?: (ifls: string[], why: string) => void;
}
