/**
 * Configuration for the PFE, compiled from a committed model before it reaches the PFE: the logical
 * interfaces, the filters, the forwarding table (connected, static and rpd's routes), the SA maps and
 * the tunnels for the ES PICs. Pure but for the interface objects it reuses (their ARP caches and
 * counters outlive commits); Pfe.install puts the result in place.
 */
import type { RouterModel } from '../config/model.js';
import { PROTO_AH, PROTO_ESP } from '../net/ipv4.js';
import { ipToInt } from '../net/ip.js';
import { RouteTable, Route, NextHop, mkRoute } from './routes.js';
import { CompiledFilter } from './filter.js';
import { IfCounters } from './counters.js';
import type { IfdState, IflState } from './state.js';
import type { EsTunnelConfig } from './types.js';

/** What a commit sets on a physical interface. */
export interface IfdSettings { adminUp: boolean; description?: string; mtu?: number; unit0?: IflState }

export interface CompiledPfe {
  ifds: Map<IfdState, IfdSettings>;
  ifls: Map<string, IflState>;
  filters: Map<string, CompiledFilter>;
  localAddrs: Map<number, string>;
  routes: RouteTable;
  hiddenRoutes: Route[];
  saToIfl: Map<string, string>;
  /** statically configured inbound SAs (`proto/spi/dst` -> ifl); kmd's come on top */
  inboundSa: Map<string, string>;
  tunnels: EsTunnelConfig[];
  transport: EsTunnelConfig[];
  transportByPeer: Map<number, string>;
  /** inbound SAs of the transport SAs (they win over kmd's on the same key) */
  transportInbound: Map<string, string>;
}

/** What compilation reads of the PFE as it stands: interfaces to reuse, counters to carry over, rpd's routes. */
export interface CompileInput {
  ifd(name: string): IfdState;
  allIfds: Iterable<IfdState>;
  oldIfls: ReadonlyMap<string, IflState>;
  oldFilters: ReadonlyMap<string, CompiledFilter>;
  rpdRoutes: Iterable<Route>;
}

const usable = (l: IflState, ifds: Map<IfdState, IfdSettings>) => l.up && (ifds.get(l.ifd)?.adminUp ?? true);
const saKey = (protocol: string, spi: number, dst: number) => `${protocol === 'esp' ? PROTO_ESP : PROTO_AH}/${spi}/${dst}`;

export function compilePfe(model: RouterModel, input: CompileInput): CompiledPfe {
  const { ifds, ifls } = compileInterfaces(model, input);
  const filters = new Map<string, CompiledFilter>();
  for (const [name, f] of model.filters) filters.set(name, new CompiledFilter(f, input.oldFilters.get(name)));
  const { routes, hiddenRoutes, localAddrs } = compileRoutes(model, ifls, ifds, input.rpdRoutes);
  const { tunnels, saToIfl, inboundSa } = compileTunnels(model, ifls);
  const { transport, transportByPeer, transportInbound } = compileTransport(model, routes, ifls, localAddrs);
  return { ifds, ifls, filters, localAddrs, routes, hiddenRoutes, saToIfl, inboundSa, tunnels, transport, transportByPeer, transportInbound };
}

function compileInterfaces(model: RouterModel, input: CompileInput): { ifds: Map<IfdState, IfdSettings>; ifls: Map<string, IflState> } {
  const ifds = new Map<IfdState, IfdSettings>();
  for (const d of input.allIfds) ifds.set(d, { adminUp: true });
  const ifls = new Map<string, IflState>();
  for (const im of model.interfaces) {
    const d = input.ifd(im.name);
    const set: IfdSettings = { adminUp: !im.disabled, description: im.description, mtu: im.mtu };
    ifds.set(d, set);
    for (const u of im.units) {
      const name = `${im.name}.${u.unit}`;
      const prev = input.oldIfls.get(name);
      const l: IflState = {
        name, ifd: d, unit: u.unit, up: !u.disabled && !im.disabled, addresses: u.inet?.addresses ?? [],
        inFilter: u.inet?.inputFilter, outFilter: u.inet?.outputFilter, ipsecSa: u.inet?.ipsecSa, tunnel: u.tunnel,
        counters: prev?.counters ?? new IfCounters(), mtu: u.inet?.mtu ?? (im.mtu ? im.mtu - 14 : undefined), description: u.description,
      };
      ifls.set(name, l);
      if (u.unit === 0) set.unit0 = l;
    }
  }
  return { ifds, ifls };
}

function compileRoutes(model: RouterModel, ifls: Map<string, IflState>, ifds: Map<IfdState, IfdSettings>, rpdRoutes: Iterable<Route>) {
  const localAddrs = new Map<number, string>();
  // connected routes first: static next hops resolve against them alone
  const connected = new RouteTable();
  const routes = new RouteTable();
  const both = (r: Route) => { connected.add(r); routes.add(r); };
  for (const l of ifls.values()) {
    const tunnelIfl = l.ifd.kind === 'es';
    for (const a of l.addresses) {
      localAddrs.set(a.local, l.name);
      both(mkRoute({ addr: a.local, len: 32 }, 'Local', 0, { kind: 'local', ifl: l.name }));
      if (!usable(l, ifds)) continue;
      const nh: NextHop = tunnelIfl ? { kind: 'tunnel', ifl: l.name } : { kind: 'direct', ifl: l.name };
      if (a.destination !== undefined) both(mkRoute({ addr: a.destination, len: 32 }, 'Direct', 0, nh));
      else if (a.len < 32 && l.ifd.kind !== 'lo') both(mkRoute(a.prefix, 'Direct', 0, nh));
    }
  }
  const hiddenRoutes: Route[] = [];
  for (const sr of model.staticRoutes) {
    if (sr.discard) { routes.add(mkRoute(sr.prefix, 'Static', 5, { kind: 'discard' })); continue; }
    if (sr.reject) { routes.add(mkRoute(sr.prefix, 'Static', 5, { kind: 'reject' })); continue; }
    let nh: NextHop | undefined;
    for (const hop of sr.nextHops) {
      nh = staticNextHop(hop, ifls, ifds, connected);
      if (nh) { routes.add(mkRoute(sr.prefix, 'Static', 5, nh, hop)); break; }
    }
    if (!nh) hiddenRoutes.push(mkRoute(sr.prefix, 'Static', 5, { kind: 'discard' }, sr.nextHops.join(' ')));
  }
  for (const r of rpdRoutes) routes.add(r);
  return { routes, hiddenRoutes, localAddrs };
}

/** A static route's next hop (an interface, or a gateway on a connected subnet), when it resolves. */
function staticNextHop(hop: string, ifls: Map<string, IflState>, ifds: Map<IfdState, IfdSettings>, connected: RouteTable): NextHop | undefined {
  if (/^(fe|es)-/.test(hop)) {
    const ifl = ifls.get(hop.includes('.') ? hop : `${hop}.0`);
    if (ifl && usable(ifl, ifds)) return ifl.ifd.kind === 'es' ? { kind: 'tunnel', ifl: ifl.name } : { kind: 'direct', ifl: ifl.name };
    return undefined;
  }
  const gw = ipToInt(hop);
  const r = connected.lookup(gw);
  if (r && r.protocol === 'Direct' && r.nh.kind === 'direct') return { kind: 'gateway', ifl: r.nh.ifl, gateway: gw };
  if (r && r.protocol === 'Direct' && r.nh.kind === 'tunnel') return { kind: 'tunnel', ifl: r.nh.ifl };
  return undefined;
}

function compileTunnels(model: RouterModel, ifls: Map<string, IflState>) {
  const saToIfl = new Map<string, string>();
  const inboundSa = new Map<string, string>();
  const tunnels: EsTunnelConfig[] = [];
  for (const l of ifls.values()) {
    if (l.ifd.kind !== 'es' || !l.ipsecSa || !l.tunnel) continue;
    const sa = model.sas.get(l.ipsecSa);
    if (!sa) continue;
    if (!saToIfl.has(sa.name)) saToIfl.set(sa.name, l.name);
    const m = /^es-(\d+)\/(\d+)\//.exec(l.name)!;
    tunnels.push({ ifl: l.name, pic: `${m[1]}/${m[2]}`, sa, source: l.tunnel.source, destination: l.tunnel.destination });
    const inb = sa.manual?.inbound;
    if (inb) inboundSa.set(saKey(inb.protocol, inb.spi, l.tunnel.source), l.name);
  }
  return { tunnels, saToIfl, inboundSa };
}

/** Transport-mode SAs named by BGP neighbors: the router's own traffic with that peer (the Routing Engine's, not an ES PIC's). */
function compileTransport(model: RouterModel, routes: RouteTable, ifls: Map<string, IflState>, localAddrs: Map<number, string>) {
  const transportByPeer = new Map<number, string>(), transportInbound = new Map<string, string>();
  const transport: EsTunnelConfig[] = [];
  for (const b of model.bgp) {
    if (!b.neighbor || !b.ipsecSa) continue;
    const sa = model.sas.get(b.ipsecSa);
    if (!sa || sa.mode !== 'transport' || !sa.manual) continue;
    const peer = ipToInt(b.neighbor);
    const local = sourceFor(peer, routes, ifls, localAddrs);
    if (local === undefined) continue;
    const ifl = `re:bgp-${b.neighbor}`;
    transportByPeer.set(peer, ifl);
    transport.push({ ifl, pic: 're', sa, source: local, destination: peer });
    const inb = sa.manual.inbound;
    if (inb) transportInbound.set(saKey(inb.protocol, inb.spi, local), ifl);
  }
  return { transport, transportByPeer, transportInbound };
}

/** The address the router uses as source toward `dst`: the outgoing interface's first address (else lo0.0's, else any of its own). */
export function sourceFor(dst: number, routes: RouteTable, ifls: ReadonlyMap<string, IflState>, localAddrs: ReadonlyMap<number, string>): number | undefined {
  const r = routes.lookup(dst);
  const l = r && 'ifl' in r.nh ? ifls.get(r.nh.ifl) : undefined;
  return l?.addresses[0]?.local ?? ifls.get('lo0.0')?.addresses[0]?.local ?? [...localAddrs.keys()][0];
}
