/**
 * The read model of `show interfaces [NAME]` (`<get-interface-information>`): each physical
 * interface the PFE has (fe- first, then es-, then the rest, by name) with its logical units, their
 * addresses and counters, and an ES PIC's own statistics. The CLI's terse and detailed text and the
 * XML API's reply render this value; it is the one place that reads the PFE's interface state.
 */
import type { Router } from '../../router/router.js';
import type { IfdState, IflState } from '../../pfe/pfe.js';
import type { PicSnapshot } from '../../../pics/es/core.js';
import type { AddressModel } from '../../config/model.js';

export interface IfCountersView { inPackets: number; outPackets: number; inBytes: number; outBytes: number; dropTotal: number; drops: Array<[string, number]> }
export interface LogicalView {
  name: string; unit: number; up: boolean; description?: string;
  tunnel?: { source: number; destination: number }; ipsecSa?: string;
  inFilter?: string; outFilter?: string;
  /** the inet MTU: an es- unit's is what fits in the tunnel */
  ipMtu: number | 'Unlimited';
  addresses: AddressModel[];
  counters: IfCountersView;
}
export interface PhysicalView {
  name: string; kind: 'fe' | 'es' | 'lo'; adminUp: boolean; linkUp: boolean; description?: string;
  mtu?: number; mac: Buffer; counters: IfCountersView;
  /** an es- interface's PIC: its encrypted, decrypted and dropped packets */
  pic?: { encrypted: number; decrypted: number; restarts: number; drops: Array<[string, number]> };
  logical: LogicalView[];
}
export interface InterfaceList {
  /** the interface asked for (physical or logical), if one was */
  only?: string;
  /** a name that is no interface of this router */
  error?: string;
  interfaces: PhysicalView[];
}

const counters = (c: IfdState['counters']): IfCountersView => ({ inPackets: c.inPackets, outPackets: c.outPackets, inBytes: c.inBytes, outBytes: c.outBytes, dropTotal: c.dropTotal, drops: [...c.drops] });

/** Is the name an interface (physical, or logical with its unit) of this router? */
export function knownInterface(r: Router, name: string): boolean {
  return r.pfe.ifds.has(name.replace(/\.\d+$/, '')) && (!name.includes('.') || r.pfe.ifls.has(name));
}

/** Each ES PIC's own snapshot, by FPC/PIC. */
export async function picsByName(r: Router): Promise<Map<string, PicSnapshot>> {
  const m = new Map<string, PicSnapshot>();
  for (const p of r.chassis.esPics()) {
    const name = `${p.fpc}/${p.pic}`;
    const s = r.ipsec.snapshotPic ? await r.ipsec.snapshotPic(name) : await r.picSnapshot();
    if (s) m.set(name, s);
  }
  return m;
}

function logical(r: Router, d: IfdState, l: IflState): LogicalView {
  return {
    name: l.name, unit: l.unit, up: l.up, ...(l.description ? { description: l.description } : {}),
    ...(l.tunnel ? { tunnel: l.tunnel } : {}), ...(l.ipsecSa ? { ipsecSa: l.ipsecSa } : {}),
    ...(l.inFilter ? { inFilter: l.inFilter } : {}), ...(l.outFilter ? { outFilter: l.outFilter } : {}),
    ipMtu: d.kind === 'es' ? r.pfe.esMtu(l) : l.mtu ?? (d.kind === 'lo' ? 'Unlimited' : 1500),
    addresses: l.addresses, counters: counters(l.counters),
  };
}

/** The interfaces (one, or all); `pics` (picsByName) adds the ES PICs' statistics. */
export function readInterfaces(r: Router, only?: string, pics: Map<string, PicSnapshot> = new Map()): InterfaceList {
  if (only !== undefined && !knownInterface(r, only)) return { only, error: `device ${only} not found`, interfaces: [] };
  const order = (n: string) => (n.startsWith('fe-') ? 0 : n.startsWith('es-') ? 1 : 2);
  const ifds = [...r.pfe.ifds.values()].sort((a, b) => order(a.name) - order(b.name) || a.name.localeCompare(b.name, 'en', { numeric: true }));
  const out: PhysicalView[] = [];
  for (const d of ifds) {
    if (only && d.name !== only.replace(/\.\d+$/, '')) continue;
    const ifls = [...r.pfe.ifls.values()].filter(l => l.ifd === d && !(only?.includes('.') && only !== l.name)).sort((a, b) => a.unit - b.unit);
    const pic = d.kind === 'es' ? pics.get(d.name.replace(/^es-(\d+)\/(\d+)\/\d+$/, '$1/$2')) : undefined;
    out.push({
      name: d.name, kind: d.kind, adminUp: d.adminUp, linkUp: d.kind !== 'fe' || !!d.port,
      ...(d.description ? { description: d.description } : {}), ...(d.mtu !== undefined ? { mtu: d.mtu } : {}),
      mac: d.mac, counters: counters(d.counters),
      ...(pic ? { pic: { encrypted: pic.encrypted, decrypted: pic.decrypted, restarts: pic.restarts, drops: Object.entries(pic.drops).filter(([, v]) => v > 0) } } : {}),
      logical: ifls.map(l => logical(r, d, l)),
    });
  }
  return { ...(only !== undefined ? { only } : {}), interfaces: out };
}
