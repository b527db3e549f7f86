/**
 * The read model of `show ipsec security-associations [brief|detail] [NAME]`
 * (`<get-security-associations-information>`): each configured security association with its
 * interface, gateways and the SAs the ES PIC (or the Routing Engine, for BGP's transport SAs) has
 * installed, with kmd's lifetime books where kmd negotiated them. The one place that reads the
 * PIC's snapshot, the PFE's interfaces and kmd's tunnels for it; the CLI's text and the XML API's
 * reply render this value.
 */
import type { Router } from '../../router/router.js';
import type { PicSnapshot, SaSnapshot } from '../../../pics/es/core.js';

export interface SaView {
  sa: SaSnapshot;
  /** kmd's books of a negotiated SA: its lifetime clock and the soft lifetime of this side's role */
  kmd?: { remaining: number; soft: number; role: string };
  /** with detail: what kmd adds (proxy identities, an older configuration) */
  detail: string[];
}
export interface SaBlockView {
  name: string; mode: 'tunnel' | 'transport'; dynamic: boolean;
  /** the es- unit that names the SA: its name, whether its family is up, its tunnel's gateways */
  ifl?: { name: string; familyUp: boolean; tunnel?: { source: number; destination: number } };
  /** a transport SA the Routing Engine processes (BGP): the gateways and the neighbor */
  re?: { local: number; remote: number };
  /** why the last negotiation failed (nothing installed) */
  lastError?: string;
  sas: SaView[];
}
export interface IpsecSaList {
  /** a name that is no security association of the configuration */
  error?: string;
  /** SAs with at least one installed SA, over the whole PIC */
  activeTunnels: number;
  blocks: SaBlockView[];
  /** the installed SAs of the selected names, in the PIC's order (`brief`) */
  installed: SaSnapshot[];
}

export function readIpsecSas(r: Router, pic: PicSnapshot, opts: { name?: string; detail?: boolean } = {}): IpsecSaList {
  const only = opts.name;
  const names = [...(r.model?.sas.keys() ?? [])].filter(n => !only || n === only);
  const activeTunnels = new Set(pic.sas.map(s => s.name)).size;
  if (only && names.length === 0) return { error: `security association ${only} not found`, activeTunnels, blocks: [], installed: [] };
  const blocks = names.map(name => block(r, pic, name, !!opts.detail));
  return { activeTunnels, blocks, installed: pic.sas.filter(x => names.includes(x.name)) };
}

function block(r: Router, pic: PicSnapshot, name: string, detail: boolean): SaBlockView {
  const sa = r.model!.sas.get(name)!;
  const ifl = [...r.pfe.ifls.values()].find(l => l.ipsecSa === name);
  const installed = pic.sas.filter(s => s.name === name);
  const re = installed.find(x => x.ifl.startsWith('re:'));
  const t = ifl ? r.kmd.tunnels.get(ifl.name) : undefined;
  const books = ifl ? r.kmd.installedOf(ifl.name) : [];
  return {
    name, mode: sa.mode, dynamic: !!sa.dynamic,
    ...(ifl ? { ifl: { name: ifl.name, familyUp: ifl.up && ifl.ifd.adminUp, ...(ifl.tunnel ? { tunnel: ifl.tunnel } : {}) } } : {}),
    ...(re ? { re: {
      local: re.tunnel.destination === re.tunnel.source || re.direction === 'outbound' ? re.tunnel.source : re.tunnel.destination,
      remote: re.direction === 'outbound' ? re.tunnel.destination : re.tunnel.source,
    } } : {}),
    ...(installed.length === 0 && t?.lastError ? { lastError: t.lastError } : {}),
    sas: installed.map(s => {
      const x = books.find(b => [...Object.values(b.inSpi), ...Object.values(b.outSpi)].includes(s.spi));
      return { sa: s, ...(x ? { kmd: { ...r.kmd.lifeSeconds(x), role: x.role } } : {}), detail: detail && x && ifl ? r.kmd.saDetailLines(ifl.name, x) : [] };
    }),
  };
}
