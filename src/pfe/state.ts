/** The PFE's interface state: physical ports (IFDs) and logical units (IFLs), as the stages see them. */
import type { AddressModel } from '../config/model.js';
import type { IfCounters } from './counters.js';
import type { Port } from './types.js';

export interface IfdState {
  name: string; kind: 'fe' | 'es' | 'lo'; mac: Buffer; port?: Port; counters: IfCounters; adminUp: boolean; present: boolean;
  arp: Map<number, { mac: Buffer; expires: number }>;
  pending: Map<number, { pkts: Buffer[]; tries: number; next: number }>;
  description?: string; mtu?: number;
  /** unit 0, the only unit of an Ethernet port that carries traffic (set at each commit) */
  unit0?: IflState;
}
export interface IflState {
  name: string; ifd: IfdState; unit: number; up: boolean; addresses: AddressModel[];
  inFilter?: string; outFilter?: string; ipsecSa?: string; tunnel?: { source: number; destination: number };
  counters: IfCounters; mtu?: number; description?: string;
}
