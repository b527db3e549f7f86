/**
 * What the stages of the forwarding path see of the PFE: its state and the few services they call.
 * Each stage takes a Pick of this (only what it uses), so no stage depends on the Pfe class and the
 * PFE's modules import each other in one direction only (pfe.ts -> stages -> context, graph, state).
 */
import type { Reassembler } from '../net/frag.js';
import type { RouteTable } from './routes.js';
import type { CompiledFilter } from './filter.js';
import type { IfdState, IflState } from './state.js';
import type { IpsecEngine } from './types.js';
import type { TraceRequests } from './trace.js';
import type { Pkt } from './graph.js';

/** A packet watcher: Ethernet frames of physical ports, IP packets of es- interfaces (which have no frames). */
export type Tap = (ifd: string, dir: 'in' | 'out', data: Buffer, kind: 'eth' | 'ip') => void;
/** Returns true when it consumed the packet (e.g. a CLI ping waiting for its reply). */
export type LocalListener = (pkt: Buffer) => boolean;
/** A service of the router on a UDP port (kmd on 500, say): the whole IPv4 packet, and where it came in. */
export type UdpListener = (pkt: Buffer, info: { src: number; dst: number; srcPort: number; dstPort: number; payload: Buffer; ifl?: IflState }) => void;
/** A dynamic SA's tunnel: whether kmd has installed an outbound SA, and the packets that wait (bounded) meanwhile. */
export interface DynamicTunnel { ready: boolean; queue: Buffer[]; asked: boolean }

export interface PfeContext {
  readonly ifls: ReadonlyMap<string, IflState>;
  readonly routes: RouteTable;
  readonly filters: ReadonlyMap<string, CompiledFilter>;
  readonly localAddrs: ReadonlyMap<number, string>;
  readonly saToIfl: ReadonlyMap<string, string>;
  readonly inboundSa: ReadonlyMap<string, string>;
  readonly dynamic: ReadonlyMap<string, DynamicTunnel>;
  readonly taps: ReadonlySet<Tap>;
  readonly listeners: ReadonlySet<LocalListener>;
  readonly udp: ReadonlyMap<number, UdpListener>;
  readonly traces: TraceRequests;
  readonly reasm: Reassembler;
  readonly local: { in: number; out: number };
  readonly ipsec?: IpsecEngine;
  readonly reIpsec?: IpsecEngine;
  readonly hostStack?: (pkt: Buffer) => void;
  readonly onAcquire?: (ifl: string) => void;
  readonly onBadSpi?: (proto: number, spi: number, src: number, dst: number) => void;
  now(): number;
  nextId(): number;
  /** a packet the router made, into the graph (or a transport SA) */
  originate(pkt: Buffer): void;
  /** a frame the router built (ARP): straight to the port */
  sendFrame(d: IfdState, frame: Buffer): void;
  sendArp(d: IfdState, op: 1 | 2, spa: number, dstMac: Buffer, tpa: number, tha?: Buffer): void;
  /** a packet context for an IPv4 packet (copied behind 14 bytes of headroom unless it has them) */
  packetOf(pkt: Buffer, rx: IflState | undefined, headroom?: boolean): Pkt;
  esMtu(es: IflState): number;
  sourceFor(dst: number): number | undefined;
}
