/**
 * The read models of the smaller operational commands: `show firewall [filter NAME]`
 * (`<get-firewall-information>`), `show pfe statistics traffic` (`<get-pfe-statistics>`),
 * `show system uptime` (`<get-system-uptime-information>`) and `show chassis hardware`
 * (`<get-chassis-inventory>`). Each returns a plain value the CLI's text and the XML API's reply
 * both render; these functions are where the PFE's filters and counters are read for them.
 */
import type { Router } from '../../router/router.js';

export interface Hits { packets: number; bytes: number }
export interface FilterView { name: string; counters: Array<{ name: string } & Hits>; terms: Array<{ name: string } & Hits> }
export interface FirewallList { error?: string; filters: FilterView[] }

export function readFirewall(r: Router, only?: string): FirewallList {
  const filters: FilterView[] = [];
  for (const [name, f] of r.pfe.filters) {
    if (only && name !== only) continue;
    filters.push({ name, counters: [...f.counters].map(([cn, v]) => ({ name: cn, packets: v.packets, bytes: v.bytes })), terms: f.terms.map(t => ({ name: t.name, packets: t.hits.packets, bytes: t.hits.bytes })) });
  }
  if (only && !filters.length) return { error: `filter ${only} not found`, filters };
  return { filters };
}

export interface PfeStatistics {
  inPackets: number; outPackets: number; localIn: number; localOut: number;
  /** every discard reason and its count, by reason */
  discards: Array<[string, number]>;
  totalDiscards: number;
  /** where they happened: each stage of the forwarding path and its own reasons */
  byStage: Array<{ stage: string; reason: string; count: number }>;
}

export function readPfeStatistics(r: Router): PfeStatistics {
  let inP = 0, outP = 0;
  for (const d of r.pfe.ifds.values()) { inP += d.counters.inPackets; outP += d.counters.outPackets; }
  const discards = [...r.pfe.drops].sort((a, b) => a[0].localeCompare(b[0]));
  return {
    inPackets: inP, outPackets: outP, localIn: r.pfe.local.in, localOut: r.pfe.local.out,
    discards, totalDiscards: discards.reduce((a, [, v]) => a + v, 0),
    byStage: r.pfe.graph.nodes().flatMap(n => [...n.drops].filter(([, c]) => c > 0).map(([reason, count]) => ({ stage: n.name, reason, count }))),
  };
}

export interface Uptime { now: Date; booted: Date; lastCommit?: { at: Date; user: string } }

export function readUptime(r: Router): Uptime {
  return { now: new Date(), booted: new Date(r.booted), ...(r.lastCommit ? { lastCommit: { at: r.lastCommit, user: 'root' } } : {}) };
}

export interface ChassisInventory {
  model: string;
  /** the hardware inventory's rows (chassis, FPCs, PICs) */
  hardware: Array<{ item: string; version: string; part: string; serial: string; description: string }>;
  /** the PICs by FPC and slot */
  modules: Array<{ name: string; part: string; description: string }>;
}

export function readChassis(r: Router): ChassisInventory {
  const c = r.chassis;
  return { model: c.model, hardware: c.hardware(), modules: c.pics.map(p => ({ name: `FPC ${p.fpc} PIC ${p.pic}`, part: p.spec.partNumber, description: p.spec.description })) };
}

/** `show chassis fpc pic-status` (`<get-pic-information>`): each FPC with a PIC, and its PICs' states. */
export interface PicStatus {
  fpcs: Array<{ slot: number; state: 'Online'; description: string; pics: Array<{ slot: number; state: 'Online' | 'Offline'; type: string }> }>;
}
export function readPicStatus(r: Router): PicStatus {
  const c = r.chassis;
  const slots = [...new Set(c.pics.map(p => p.fpc))].sort((a, b) => a - b);
  return {
    fpcs: slots.map(f => ({
      slot: f, state: 'Online' as const, description: c.fpcDescription,
      pics: c.pics.filter(p => p.fpc === f).sort((a, b) => a.pic - b.pic).map(p => ({ slot: p.pic, state: r.picState(f, p.pic), type: p.spec.description })),
    })),
  };
}
