/**
 * rpd's operational output in JUNOS's layout: `show bgp summary`, `show bgp neighbor [A]`, the BGP
 * lines of `show route`, `show route protocol bgp`, `show route receive-protocol bgp A` and
 * `show route advertising-protocol bgp A`.
 */
import type { Rpd } from './rpd.js';
import type { Peer } from './bgp.js';
import type { RibRoute } from './rib.js';
import { asPathText, PathAttrs } from './attributes.js';
import { NOTIFY_NAMES } from './codec.js';
import { intToIp, ipToInt, isIpv4, Prefix, prefixStr } from '../net/ip.js';

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
const counts = (rpd: Rpd, p: Peer) => {
  const received = p.adjIn.size;
  let accepted = 0, active = 0;
  for (const r of p.adjIn.values()) if (r.accepted) { accepted++; if (rpd.rib.active(r.prefix)?.source === p.n.address && rpd.rib.active(r.prefix)?.protocol === 'BGP') active++; }
  return { received, accepted, active };
};

export function bgpSummary(rpd: Rpd): string {
  const peers = [...rpd.bgp.peers.values()];
  if (!rpd.bgp.model?.neighbors.length) return 'BGP is not running\n';
  const groups = new Set(peers.map(p => p.n.group)).size;
  const down = peers.filter(p => p.s.state !== 'Established').length;
  let tot = 0, act = 0;
  for (const p of peers) { const c = counts(rpd, p); tot += c.received; act += c.active; }
  const out = [`Groups: ${groups} Peers: ${peers.length} Down peers: ${down}`,
    'Table          Tot Paths  Act Paths Suppressed    History Damp State    Pending',
    `${pad('inet.0', 15)}${lpad(tot, 9)}${lpad(act, 11)}${lpad(0, 11)}${lpad(0, 11)}${lpad(0, 11)}${lpad(0, 11)}`,
    'Peer                     AS      InPkt     OutPkt    OutQ   Flaps Last Up/Dwn State|#Active/Received/Accepted/Damped...'];
  for (const p of peers) {
    const c = counts(rpd, p), s = p.s;
    const state = s.state === 'Established' ? `${c.active}/${c.received}/${c.accepted}/0              0/0/0/0` : s.state;
    out.push(`${pad(p.n.text, 20)}${lpad(p.n.peerAs, 7)}${lpad(s.counters.inMessages, 11)}${lpad(s.counters.outMessages, 11)}${lpad(0, 8)}${lpad(s.flaps, 8)}${lpad(upDown(rpd.rib.now() - s.since), 12)} ${state}`);
  }
  return out.join('\n') + '\n';
}

export function bgpNeighbor(rpd: Rpd, addr?: string): string {
  if (addr !== undefined && (!isIpv4(addr) || !rpd.bgp.peers.has(ipToInt(addr)))) return `error: peer ${addr} not found\n`;
  const out: string[] = [];
  const as = rpd.bgp.model?.autonomousSystem;
  for (const p of rpd.bgp.peers.values()) {
    if (addr !== undefined && p.n.address !== ipToInt(addr)) continue;
    const s = p.s, c = counts(rpd, p);
    const local = rpd.bgp.localAddressOf(p.n);
    out.push(`Peer: ${p.n.text}+179 AS ${p.n.peerAs}    Local: ${local !== undefined ? intToIp(local) : 'unspecified'} AS ${as}`);
    if (p.n.description) out.push(`  Description: ${p.n.description}`);
    out.push(`  Type: ${p.n.type === 'internal' ? 'Internal' : 'External'}    State: ${s.state}    Flags: <>`);
    out.push(`  Last State: ${s.lastState === 'Established' ? 'OpenConfirm' : 'Idle'}    Last Event: ${s.state === 'Established' ? 'RecvKeepAlive' : 'Start'}`);
    if (s.lastError) out.push(`  Last Error: ${NOTIFY_NAMES[s.lastError.n.code] ?? s.lastError.n.code} (subcode ${s.lastError.n.subcode}) ${s.lastError.sent ? 'Sent' : 'Received'}`);
    const list = (x: string[]) => `[ ${x.length ? x.join(' ') + ' ' : ''}]`;
    out.push(`  Export: ${list(p.n.export)} Import: ${list(p.n.import)}`);
    out.push(`  Options: <Preference HoldTime PeerAS${p.n.localAddress !== undefined ? ' LocalAddress' : ''}${p.n.ipsecSa ? ' IpsecSA' : ''}>`);
    if (p.n.ipsecSa) out.push(`  IPsec SA: ${p.n.ipsecSa}`);
    out.push(`  Holdtime: ${p.n.holdTime} Preference: 170`);
    if (p.n.prefixLimit) out.push(`  Prefix limit: ${p.n.prefixLimit.maximum}${p.n.prefixLimit.teardown ? ' teardown' : ''}`);
    out.push(`  Number of flaps: ${s.flaps}`);
    if (s.peerOpen) {
      out.push(`  Peer ID: ${intToIp(s.peerOpen.bgpId)}    Local ID: ${intToIp(s.cfg.routerId)}    Active Holdtime: ${s.holdTime}`);
      out.push(`  Keepalive Interval: ${Math.floor(s.holdTime / 3)}`);
      const caps = [s.peerOpen.caps.mpIpv4Unicast ? 'inet-unicast' : '', s.peerOpen.caps.routeRefresh ? 'refresh' : '', s.peerOpen.caps.as4 !== undefined ? '4-byte-AS' : ''].filter(Boolean);
      out.push(`  NLRI advertised by peer: ${caps.join(' ')}`);
    }
    if (s.state === 'Established') {
      out.push('  Table inet.0', `    Active prefixes:              ${c.active}`, `    Received prefixes:            ${c.received}`, `    Accepted prefixes:            ${c.accepted}`, `    Advertised prefixes:          ${p.adjOut.size}`);
    }
    out.push(`  Input messages:  Total ${s.counters.inMessages}\tUpdates ${s.counters.inUpdates}`, `  Output messages: Total ${s.counters.outMessages}\tUpdates ${s.counters.outUpdates}`);
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
  return [`${star ? '*' : ' '}[BGP/${r.preference}] ${hms(rpd.rib.now() - r.since)}, ${a.med !== undefined ? `MED ${a.med}, ` : ''}localpref ${a.localPref ?? 100}`,
    `                      AS path: ${asPathText(a.asPath) ? asPathText(a.asPath) + ' ' : ''}${ORIGIN[a.origin]}`, `                    ${via}`];
}

/** `show route protocol bgp` */
export function routesProtocolBgp(rpd: Rpd): string {
  const out = ['', `inet.0: ${rpd.rib.prefixes().length} destinations, ${rpd.rib.count} routes`, '+ = Active Route, - = Last Active, * = Both', ''];
  for (const p of rpd.rib.prefixes()) {
    const a = rpd.rib.active(p);
    for (const r of rpd.rib.routes(p)) {
      if (r.protocol !== 'BGP') continue;
      const [first, ...rest] = bgpRouteLines(rpd, r, r === a);
      out.push(`${pad(prefixStr(p), 18)} ${first}`, ...rest);
    }
  }
  return out.join('\n') + '\n';
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

/** `show route protocol P | receive-protocol bgp A | advertising-protocol bgp A`; undefined: plain `show route`. */
export function routeCommand(r: { rpd: Rpd }, opts: Map<string, string>, arg?: string): string | undefined {
  const proto = opts.get('protocol'), recv = opts.get('receive-protocol'), adv = opts.get('advertising-protocol');
  if (recv !== undefined || adv !== undefined) {
    if ((recv ?? adv) !== 'bgp') return `error: protocol ${recv ?? adv} not supported\n`;
    if (!arg) return 'error: peer address required\n';
    return recv !== undefined ? receiveProtocol(r.rpd, arg) : advertisingProtocol(r.rpd, arg);
  }
  if (proto === 'bgp') return routesProtocolBgp(r.rpd);
  return undefined;
}
/** `clear bgp neighbor [A]` */
export function clearNeighbor(rpd: Rpd, addr?: string): string | undefined {
  if (addr !== undefined && (!isIpv4(addr) || !rpd.bgp.peers.has(ipToInt(addr)))) return `error: peer ${addr} not found\n`;
  rpd.bgp.clear(addr === undefined ? undefined : ipToInt(addr));
  return undefined;
}
