/**
 * rpd's operational output in JUNOS's layout: `show bgp summary`, `show bgp neighbor [A]`, the BGP
 * lines of `show route`, `show route protocol bgp`, `show route receive-protocol bgp A` and
 * `show route advertising-protocol bgp A`.
 */
import type { Rpd } from './rpd.js';
import type { RibRoute } from './rib.js';
import { asPathText, PathAttrs } from './attributes.js';
import { intToIp, ipToInt, isIpv4, maskOf, Prefix, prefixStr } from '../net/ip.js';
import { compareBgp } from './bestpath.js';
import { UNUSABLE_TEXT } from './rib.js';
import type { BgpInfo } from '../mgd/read/bgp.js';

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);
const ORIGIN = ['I', 'E', '?'];

/** JUNOS's duration: 59, 1:02, 1:02:03, 2d 3:04:05 */
export function upDown(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60, sec = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (d) return `${d}d ${h}:${two(m)}:${two(sec)}`;
  if (h) return `${h}:${two(m)}:${two(sec)}`;
  return m ? `${m}:${two(sec)}` : `${sec}`;
}
const hms = (ms: number) => { const s = Math.floor(ms / 1000); const two = (n: number) => String(n).padStart(2, '0'); return `${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`; };

/** `show bgp summary`, from the read model (src/mgd/read/bgp.ts). */
export function bgpSummary(v: BgpInfo): string {
  if (!v.running) return 'BGP is not running\n';
  const out = [`Groups: ${v.groups} Peers: ${v.peers.length} Down peers: ${v.down}`,
    'Table          Tot Paths  Act Paths Suppressed    History Damp State    Pending',
    `${pad('inet.0', 15)}${lpad(v.total.received, 9)}${lpad(v.total.active, 11)}${lpad(0, 11)}${lpad(0, 11)}${lpad(0, 11)}${lpad(0, 11)}`,
    'Peer                     AS      InPkt     OutPkt    OutQ   Flaps Last Up/Dwn State|#Active/Received/Accepted/Damped...'];
  for (const p of v.peers) {
    const c = p.counts;
    const state = p.state === 'Established' ? `${c.active}/${c.received}/${c.accepted}/0              0/0/0/0` : p.state;
    out.push(`${pad(p.address, 20)}${lpad(p.peerAs, 7)}${lpad(p.messages.inTotal, 11)}${lpad(p.messages.outTotal, 11)}${lpad(0, 8)}${lpad(p.flaps, 8)}${lpad(upDown(p.upDownMs), 12)} ${state}`);
  }
  return out.join('\n') + '\n';
}

/** `show bgp neighbor [A]`, from the read model; `v` undefined: A is no neighbor. */
export function bgpNeighbor(v: BgpInfo | undefined, addr?: string): string {
  if (!v) return `error: peer ${addr} not found\n`;
  const out: string[] = [];
  for (const p of v.peers) {
    const c = p.counts, m = p.messages;
    out.push(`Peer: ${p.address}+179 AS ${p.peerAs}    Local: ${p.localAddress ?? 'unspecified'} AS ${p.localAs}`);
    if (p.description) out.push(`  Description: ${p.description}`);
    out.push(`  Type: ${p.type === 'internal' ? 'Internal' : 'External'}    State: ${p.state}    Flags: <>`);
    out.push(`  Last State: ${p.lastState === 'Established' ? 'OpenConfirm' : 'Idle'}    Last Event: ${p.state === 'Established' ? 'RecvKeepAlive' : 'Start'}`);
    if (p.lastError) out.push(`  Last Error: ${p.lastError.name} (subcode ${p.lastError.subcode}) ${p.lastError.sent ? 'Sent' : 'Received'}`);
    const list = (x: string[]) => `[ ${x.length ? x.join(' ') + ' ' : ''}]`;
    out.push(`  Export: ${list(p.export)} Import: ${list(p.import)}`);
    out.push(`  Options: <Preference HoldTime PeerAS${p.localAddressConfigured ? ' LocalAddress' : ''}${p.ipsecSa ? ' IpsecSA' : ''}>`);
    if (p.ipsecSa) out.push(`  IPsec SA: ${p.ipsecSa}`);
    out.push(`  Holdtime: ${p.holdTime} Preference: 170`);
    if (p.prefixLimit) out.push(`  Prefix limit: ${p.prefixLimit.maximum}${p.prefixLimit.teardown ? ' teardown' : ''}`);
    out.push(`  Number of flaps: ${p.flaps}`);
    if (p.open) {
      out.push(`  Peer ID: ${p.open.peerId}    Local ID: ${p.open.localId}    Active Holdtime: ${p.open.activeHoldTime}`);
      out.push(`  Keepalive Interval: ${Math.floor(p.open.activeHoldTime / 3)}`);
      out.push(`  NLRI advertised by peer: ${p.open.caps.join(' ')}`);
    }
    if (p.state === 'Established') {
      out.push('  Table inet.0', `    Active prefixes:              ${c.active}`, `    Received prefixes:            ${c.received}`, `    Accepted prefixes:            ${c.accepted}`, `    Advertised prefixes:          ${p.advertised}`);
    }
    out.push(`  Input messages:  Total ${m.inTotal}\tUpdates ${m.inUpdates}\tRefreshes ${m.inRefresh}`, `  Output messages: Total ${m.outTotal}\tUpdates ${m.outUpdates}\tRefreshes ${m.outRefresh}`);
    if (p.looped) out.push(`  Routes dropped by AS path loop detection: ${p.looped}`);
    out.push('');
  }
  return out.join('\n') + '\n';
}

/** The lines of a BGP route in `show route` (after the prefix column). */
export function bgpRouteLines(rpd: Rpd, r: RibRoute, star: boolean): string[] {
  const a = r.bgp!.attrs;
  const f = rpd.rib.forwarding(r);
  // into an es- interface (route-based tunnel) as JUNOS shows a route through it: `> via es-0/1/0.0`
  const via = f?.ifl?.startsWith('es-') ? `> via ${f.ifl}` : f?.ifl ? `> to ${intToIp(f.gateway ?? r.nextHop!)} via ${f.ifl}` : `> to ${intToIp(r.nextHop!)}`;
  return [`${star ? '*' : ' '}[BGP/${r.preference}] ${hms(rpd.rib.now() - r.since)}, ${a.med !== undefined ? `MED ${a.med}, ` : ''}localpref ${a.localPref ?? 100}${r.bgp!.ebgp ? '' : `, from ${intToIp(r.source)}`}`,
    `                      AS path: ${asPathText(a.asPath) ? asPathText(a.asPath) + ' ' : ''}${ORIGIN[a.origin]}`, `                    ${via}`];
}

/** `show route protocol bgp`: the usable BGP routes (hidden ones: `show route protocol bgp hidden`), in the brief layout */
export function routesProtocolBgp(rpd: Rpd): string {
  return showRoutes(rpd, { protocol: 'bgp', detail: false, hidden: false });
}

function table(rows: Array<{ prefix: Prefix; attrs: PathAttrs }>, nexthop: (a: PathAttrs) => string): string {
  const out = ['', 'inet.0: ', '  Prefix                  Nexthop              MED     Lclpref    AS path'];
  for (const { prefix, attrs: a } of rows) {
    out.push(`  ${pad(prefixStr(prefix), 24)}${pad(nexthop(a), 21)}${pad(a.med ?? '', 8)}${pad(a.localPref ?? '', 11)}${asPathText(a.asPath) ? asPathText(a.asPath) + ' ' : ''}${ORIGIN[a.origin]}`);
  }
  return out.join('\n') + '\n';
}
/** `show route receive-protocol bgp A`: what A sent (accepted or not). */
export function receiveProtocol(rpd: Rpd, addr: string): string {
  const p = isIpv4(addr) ? rpd.bgp.peers.get(ipToInt(addr)) : undefined;
  if (!p) return `error: peer ${addr} not found\n`;
  return table([...p.adjIn.values()].sort((x, y) => (x.prefix.addr >>> 0) - (y.prefix.addr >>> 0)), a => intToIp(a.nextHop));
}
/** `show route advertising-protocol bgp A`: what we sent A. */
export function advertisingProtocol(rpd: Rpd, addr: string): string {
  const p = isIpv4(addr) ? rpd.bgp.peers.get(ipToInt(addr)) : undefined;
  if (!p) return `error: peer ${addr} not found\n`;
  return table([...p.adjOut.values()].sort((x, y) => (x.prefix.addr >>> 0) - (y.prefix.addr >>> 0)), () => 'Self');
}

/** `show route protocol P | receive-protocol bgp A | advertising-protocol bgp A | detail | hidden`; undefined: plain `show route`. */
export function routeCommand(r: { rpd: Rpd }, opts: Map<string, string>, arg?: string, flags: Set<string> = new Set()): string | undefined {
  const proto = opts.get('protocol'), recv = opts.get('receive-protocol'), adv = opts.get('advertising-protocol');
  if ((flags.has('detail') || flags.has('hidden')) && recv === undefined && adv === undefined) {
    return showRoutes(r.rpd, { ...(arg !== undefined ? { destination: arg } : {}), ...(proto !== undefined ? { protocol: proto } : {}), detail: flags.has('detail'), hidden: flags.has('hidden') });
  }
  if (recv !== undefined || adv !== undefined) {
    if ((recv ?? adv) !== 'bgp') return `error: protocol ${recv ?? adv} not supported\n`;
    if (!arg) return 'error: peer address required\n';
    return recv !== undefined ? receiveProtocol(r.rpd, arg) : advertisingProtocol(r.rpd, arg);
  }
  if (proto === 'bgp') return routesProtocolBgp(r.rpd);
  return undefined;
}
/** `clear bgp neighbor [A] [soft | soft-inbound]` */
export function clearNeighbor(rpd: Rpd, addr?: string, flags: Set<string> = new Set()): string | undefined {
  if (addr !== undefined && (!isIpv4(addr) || !rpd.bgp.peers.has(ipToInt(addr)))) return `error: peer ${addr} not found\n`;
  const a = addr === undefined ? undefined : ipToInt(addr);
  if (flags.has('soft') || flags.has('soft-inbound')) { rpd.bgp.soft(a, flags.has('soft-inbound')); return undefined; }
  rpd.bgp.clear(a);
  return undefined;
}

/* ---- show route detail / hidden (text here, XML in xml.ts from the same entries) ---- */

/** the flags `show route` takes for rpd's views */
export const ROUTE_FLAGS = [{ name: 'detail', help: 'Display detailed output' }, { name: 'hidden', help: 'Hidden routes' }];
export const CLEAR_FLAGS = [{ name: 'soft', help: 'Send the routes again (export policy evaluated anew)' }, { name: 'soft-inbound', help: 'Evaluate import policy anew; ask the peer to refresh' }];

/** JUNOS's inactive reasons, by the best-path step that decided */
const REASON: Record<string, string> = {
  'local-preference': 'Local Preference', 'as-path': 'AS path', origin: 'Origin', med: 'Route Metric or MED comparison',
  ebgp: 'Interior > Exterior > Exterior via Interior', 'igp-cost': 'IGP metric', 'router-id': 'Router ID', 'peer-address': 'Update source', equal: 'No difference',
};

export interface RouteEntry {
  prefix: Prefix; protocol: string; preference: number; preference2?: number;
  active: boolean; hidden: boolean;
  nhType: 'Router' | 'Interface' | 'Local' | 'Discard' | 'Reject' | 'Unusable';
  /** forwarding next hop: gateway address and/or interface */
  to?: number; via?: string;
  /** a BGP route's protocol next hop, when it is not the forwarding one (iBGP, resolved through a route) */
  protocolNh?: number; indirect: boolean;
  source?: number; state: string; inactiveReason?: string;
  localAs?: number; peerAs?: number; ageMs: number; med?: number; metric2?: number;
  /** a static route's `metric` */
  metric?: number;
  task: string; announce: string[]; asPath: string; localPref?: number; routerId?: number;
  /**
   * JUNOS's `Next-hop reference count`: the routes of inet.0 that share this route's forwarding next
   * hop (the same gateway and interface, the same local interface, discard or reject), and for an
   * indirect one the BGP routes that share its protocol next hop (one indirect next hop per address)
   */
  nhRefs?: number; indirectRefs?: number;
}

/** Every route of inet.0 (the RIB's, and the static routes the PFE hides) as `show route detail` shows them. */
export function routeEntries(rpd: Rpd): RouteEntry[] {
  const out: RouteEntry[] = [];
  const m = rpd.bgp.model;
  const now = rpd.rib.now();
  const advertised = new Set<string>();
  for (const p of rpd.bgp.peers.values()) for (const o of p.adjOut.values()) advertised.add(prefixStr(o.prefix));
  for (const prefix of rpd.rib.prefixes()) {
    const act = rpd.rib.active(prefix);
    for (const r of rpd.rib.routes(prefix)) {
      const active = r === act, hidden = rpd.rib.isHidden(r);
      const e: RouteEntry = { prefix, protocol: r.protocol, preference: r.preference, active, hidden, nhType: 'Router', indirect: false, state: '', ageMs: now - r.since, task: '', announce: [], asPath: 'I' };
      const f = hidden ? undefined : rpd.rib.forwarding(r);
      if (r.protocol === 'BGP') {
        const b = r.bgp!, a = b.attrs;
        const peer = rpd.bgp.peers.get(r.source);
        e.preference2 = -((a.localPref ?? 100) + 1);
        e.source = r.source;
        e.localAs = m?.autonomousSystem;
        e.peerAs = peer?.n.peerAs;
        e.task = `BGP_${peer?.n.peerAs ?? ''}.${intToIp(r.source)}+179`;
        e.asPath = `${asPathText(a.asPath) ? asPathText(a.asPath) + ' ' : ''}${ORIGIN[a.origin]}`;
        e.localPref = a.localPref ?? 100;
        if (a.med !== undefined) e.med = a.med;
        e.routerId = b.peerId;
        if (!f) {
          e.nhType = 'Unusable'; e.protocolNh = r.nextHop;
          const u = rpd.rib.unusable(r);
          e.inactiveReason = `Unusable path${u ? ` (${UNUSABLE_TEXT[u.unusable]}${u.at ? ` through ${prefixStr(u.at)}` : ''})` : ''}`;
        } else {
          e.indirect = !b.ebgp || f.via?.protocol !== 'Direct';
          // Metric2: the IGP cost to the protocol next hop, the metric of the route its resolution ended at
          if (e.indirect) { e.protocolNh = r.nextHop; e.metric2 = f.cost; }
          if (f.ifl?.startsWith('es-')) { e.nhType = 'Interface'; e.via = f.ifl; }
          else { e.to = f.gateway ?? r.nextHop; e.via = f.ifl; }
        }
        const flags = [hidden ? 'Hidden' : active ? 'Active' : '', b.ebgp ? '' : 'Int', 'Ext'].filter(Boolean);
        e.state = `<${flags.join(' ')}>`;
        if (!active && !hidden && act) {
          e.inactiveReason = act.preference !== r.preference ? 'Route Preference'
            : act.bgp ? REASON[compareBgp(rpd.rib.path(act), rpd.rib.path(r)).step] : 'Route Preference';
        }
      } else {
        const pr = rpd.pfe.routes.exact(prefix);
        const nh = pr?.protocol === r.protocol ? pr.nh : undefined;
        e.task = r.protocol === 'Static' ? 'RT' : 'IF';
        if (r.metric !== undefined) e.metric = r.metric;
        if (r.protocol === 'Local') { e.nhType = 'Local'; e.via = r.ifl; }
        else if (nh?.kind === 'discard') e.nhType = 'Discard';
        else if (nh?.kind === 'reject') e.nhType = 'Reject';
        else if (r.nextHop !== undefined) { e.nhType = 'Router'; e.to = r.nextHop; e.via = r.ifl; }
        else { e.nhType = 'Interface'; e.via = r.ifl; }
        e.state = `<${[active ? 'Active' : '', r.protocol === 'Local' ? 'NoReadvrt' : '', 'Int', r.protocol === 'Static' ? 'Ext' : ''].filter(Boolean).join(' ')}>`;
        if (!active && act) e.inactiveReason = 'Route Preference';
      }
      if (active) {
        e.announce.push('0-KRT');
        if (advertised.has(prefixStr(prefix))) e.announce.push('1-BGP RT Background');
        // a route BGP next hops resolve through is announced to the resolver
        if (rpd.rib.resolving(r).length) e.announce.push('2-Resolve tree 1');
      }
      out.push(e);
    }
  }
  // static routes whose next hop resolves nowhere: the PFE keeps them hidden
  for (const s of rpd.pfe.hiddenRoutes) {
    out.push({ prefix: s.prefix, protocol: s.protocol, preference: s.preference, active: false, hidden: true, nhType: 'Unusable', indirect: false, state: '<Hidden Int Ext>', ageMs: now - rpd.appliedAt, task: 'RT', announce: [], asPath: 'I', ...(s.nextHopText && isIpv4(s.nextHopText.split(' ')[0]!) ? { protocolNh: ipToInt(s.nextHopText.split(' ')[0]!) } : {}) });
  }
  referenceCounts(out);
  return out.sort((x, y) => (x.prefix.addr >>> 0) - (y.prefix.addr >>> 0) || x.prefix.len - y.prefix.len);
}
/** JUNOS's `Next-hop reference count` of each usable entry: how many entries share its next hop. */
function referenceCounts(es: RouteEntry[]): void {
  const fwd = (e: RouteEntry) => `${e.nhType} ${e.to ?? ''} ${e.via ?? ''}`;
  const count = (keys: string[]) => { const m = new Map<string, number>(); for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1); return m; };
  const usable = es.filter(e => !e.hidden);
  const byFwd = count(usable.map(fwd));
  const byInh = count(usable.filter(e => e.indirect).map(e => String(e.protocolNh)));
  for (const e of usable) {
    e.nhRefs = byFwd.get(fwd(e))!;
    if (e.indirect) e.indirectRefs = byInh.get(String(e.protocolNh))!;
  }
}

export interface RouteQuery { destination?: string; protocol?: string; detail: boolean; hidden: boolean }
/** The entries a query selects (a destination: that prefix exactly, or an address's longest match), or an error. */
export function selectRoutes(rpd: Rpd, q: RouteQuery): { all: RouteEntry[]; list: RouteEntry[] } | { error: string } {
  const all = routeEntries(rpd);
  let list = all.filter(e => (q.hidden ? e.hidden : !e.hidden));
  if (q.protocol) {
    const want = { bgp: 'BGP', static: 'Static', direct: 'Direct', local: 'Local' }[q.protocol];
    if (!want) return { error: `protocol ${q.protocol} not supported` };
    list = list.filter(e => e.protocol === want);
  }
  if (q.destination !== undefined) {
    const d = q.destination;
    const [a, l] = d.split('/');
    if (!isIpv4(a!) || (l !== undefined && !/^\d+$/.test(l)) || Number(l ?? 32) > 32) return { error: `invalid prefix ${d}` };
    const ip = ipToInt(a!);
    if (l !== undefined) list = list.filter(e => e.prefix.addr === ((ip & maskOf(Number(l))) >>> 0) && e.prefix.len === Number(l));
    else {
      const holds = list.filter(e => ((ip & maskOf(e.prefix.len)) >>> 0) === e.prefix.addr);
      const best = Math.max(-1, ...holds.map(e => e.prefix.len));
      list = holds.filter(e => e.prefix.len === best);
    }
  }
  return { all, list };
}
export const tableCounts = (all: RouteEntry[]) => ({
  destinations: new Set(all.map(e => prefixStr(e.prefix))).size, routes: all.length,
  active: all.filter(e => e.active).length, hidden: all.filter(e => e.hidden).length,
});

const ind = ' '.repeat(16);
function detailLines(e: RouteEntry): string[] {
  const head = `${e.active ? '*' : ' '}${pad(e.protocol, 7)}Preference: ${e.preference}${e.preference2 !== undefined ? `/${e.preference2}` : ''}`;
  const out = [`        ${head}`];
  const nhLine = () => {
    if (e.nhType === 'Local') return [`${ind}Interface: ${e.via}`];
    if (e.nhType === 'Discard' || e.nhType === 'Reject' || e.nhType === 'Unusable') return [];
    return [`${ind}Next hop: ${e.to !== undefined ? intToIp(e.to) + ' ' : ''}via ${e.via}, selected`];
  };
  const refs = (n?: number) => (n !== undefined ? [`${ind}Next-hop reference count: ${n}`] : []);
  if (e.indirect) out.push(`${ind}Next hop type: Indirect`, ...refs(e.indirectRefs));
  else out.push(`${ind}Next hop type: ${e.nhType}`, ...refs(e.nhRefs));
  if (e.source !== undefined) out.push(`${ind}Source: ${intToIp(e.source)}`);
  if (e.indirect) out.push(`${ind}Next hop type: ${e.nhType}`, ...refs(e.nhRefs));
  out.push(...nhLine());
  if (e.protocolNh !== undefined) out.push(`${ind}Protocol next hop: ${intToIp(e.protocolNh)}`);
  out.push(`${ind}State: ${e.state}`);
  if (e.inactiveReason) out.push(`${ind}Inactive reason: ${e.inactiveReason}`);
  if (e.localAs !== undefined) out.push(`${ind}Local AS: ${lpad(e.localAs, 5)} Peer AS: ${lpad(e.peerAs ?? '', 5)}`);
  out.push(`${ind}Age: ${upDown(e.ageMs)}${(e.med ?? e.metric) !== undefined ? ` \tMetric: ${e.med ?? e.metric}` : ''}${e.metric2 !== undefined ? ` \tMetric2: ${e.metric2}` : ''}`);
  out.push(`${ind}Task: ${e.task}`);
  if (e.announce.length) out.push(`${ind}Announcement bits (${e.announce.length}): ${e.announce.join(' ')}`);
  out.push(`${ind}AS path: ${e.asPath}`);
  if (e.localPref !== undefined) out.push(`${ind}Localpref: ${e.localPref}`);
  if (e.routerId !== undefined) out.push(`${ind}Router ID: ${intToIp(e.routerId)}`);
  return out;
}
function briefLines(rpd: Rpd, e: RouteEntry, first: boolean): string[] {
  const col = first ? pad(prefixStr(e.prefix), 19) : ' '.repeat(19);
  const tag = e.active ? '*' : ' ';
  const age = hms(e.ageMs);
  if (e.protocol === 'BGP') {
    const lines = [`${col}${tag}[BGP/${e.preference}] ${age}, ${e.med !== undefined ? `MED ${e.med}, ` : ''}localpref ${e.localPref}${e.indirect || !e.active ? `, from ${intToIp(e.source!)}` : ''}`, `                      AS path: ${e.asPath}`];
    if (e.hidden) lines.push('                      Unusable');
    else lines.push(`                    ${e.active ? '>' : ' '} ${e.to !== undefined ? `to ${intToIp(e.to)} ` : ''}via ${e.via}`);
    return lines;
  }
  const nh = e.nhType === 'Unusable' ? '  Unusable' : e.nhType === 'Local' ? `  Local via ${e.via}` : e.nhType === 'Discard' ? '  Discard' : e.nhType === 'Reject' ? '  Reject' : `${e.active ? '>' : ' '} ${e.to !== undefined ? `to ${intToIp(e.to)} ` : ''}via ${e.via}`;
  void rpd;
  return [`${col}${tag}[${e.protocol}/${e.preference}] ${age}`, `                    ${nh}`];
}

/** `show route [A] [protocol P] (detail | hidden)`, in JUNOS's layout. */
export function showRoutes(rpd: Rpd, q: RouteQuery): string {
  const sel = selectRoutes(rpd, q);
  if ('error' in sel) return `error: ${sel.error}\n`;
  const c = tableCounts(sel.all);
  const out = ['', `inet.0: ${c.destinations} destinations, ${c.routes} routes (${c.active} active, 0 holddown, ${c.hidden} hidden)`];
  if (!q.detail) out.push('+ = Active Route, - = Last Active, * = Both');
  const byPrefix = new Map<string, RouteEntry[]>();
  for (const e of sel.list) { const k = prefixStr(e.prefix); byPrefix.set(k, [...(byPrefix.get(k) ?? []), e]); }
  for (const [k, es] of byPrefix) {
    if (q.detail) out.push(''); // the brief layout has no blank line between destinations
    if (q.detail) {
      const announced = es.filter(e => e.active).length;
      out.push(`${k} (${es.length} ${es.length === 1 ? 'entry' : 'entries'}, ${announced} announced)`);
      for (const e of es) out.push(...detailLines(e));
    } else es.forEach((e, i) => out.push(...briefLines(rpd, e, i === 0)));
  }
  if (!q.detail) out.splice(3, 0, '');
  return out.join('\n').replace(/\n\n\n/g, '\n\n') + '\n';
}
