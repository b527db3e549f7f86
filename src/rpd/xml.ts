/**
 * rpd's operational RPCs in JUNOS's XML: get-bgp-summary-information (`show bgp summary`) and
 * get-bgp-neighbor-information (`show bgp neighbor [A]`), with JUNOS's element names.
 */
import type { Rpd } from './rpd.js';
import type { Peer } from './bgp.js';
import { NOTIFY_NAMES } from './codec.js';
import { el, tx } from '../api/xml.js';
import { intToIp, ipToInt, isIpv4, prefixStr } from '../net/ip.js';
import { selectRoutes, tableCounts, upDown, RouteEntry } from './show.js';

function counts(rpd: Rpd, p: Peer) {
  let accepted = 0, active = 0;
  for (const r of p.adjIn.values()) if (r.accepted) { accepted++; const a = rpd.rib.active(r.prefix); if (a?.protocol === 'BGP' && a.source === p.n.address) active++; }
  return { received: p.adjIn.size, accepted, active };
}
const rib = (c: ReturnType<typeof counts>) => el('bgp-rib', [tx('name', 'inet.0'), tx('active-prefix-count', c.active), tx('received-prefix-count', c.received), tx('accepted-prefix-count', c.accepted), tx('suppressed-prefix-count', 0)]);

export function bgpSummaryXml(rpd: Rpd): string {
  const peers = [...rpd.bgp.peers.values()];
  const all = peers.map(p => counts(rpd, p));
  const sum = (k: 'received' | 'accepted' | 'active') => all.reduce((n, c) => n + c[k], 0);
  return el('bgp-information', [
    tx('group-count', new Set(peers.map(p => p.n.group)).size), tx('peer-count', peers.length), tx('down-peer-count', peers.filter(p => p.s.state !== 'Established').length),
    el('bgp-rib', [tx('name', 'inet.0'), tx('total-prefix-count', sum('received')), tx('received-prefix-count', sum('received')), tx('accepted-prefix-count', sum('accepted')), tx('active-prefix-count', sum('active')), tx('suppressed-prefix-count', 0)]),
    ...peers.map((p, i) => {
      const secs = Math.floor((rpd.rib.now() - p.s.since) / 1000);
      return el('bgp-peer', [tx('peer-address', p.n.text), tx('peer-as', p.n.peerAs), tx('input-messages', p.s.counters.inMessages), tx('output-messages', p.s.counters.outMessages),
        tx('route-queue-count', 0), tx('flap-count', p.s.flaps), el('elapsed-time', String(secs), { 'junos:seconds': String(secs) }), tx('peer-state', p.s.state),
        ...(p.s.state === 'Established' ? [rib(all[i]!)] : [])]);
    }),
  ]);
}

export function bgpNeighborXml(rpd: Rpd, addr?: string): string {
  if (addr !== undefined && (!isIpv4(addr) || !rpd.bgp.peers.has(ipToInt(addr)))) return el('bgp-information', el('xnm:error', tx('message', `peer ${addr} not found`)));
  const as = rpd.bgp.model?.autonomousSystem;
  const peers = [...rpd.bgp.peers.values()].filter(p => addr === undefined || p.n.address === ipToInt(addr));
  return el('bgp-information', peers.map(p => {
    const s = p.s, local = rpd.bgp.localAddressOf(p.n);
    return el('bgp-peer', [
      tx('peer-address', `${p.n.text}+179`), tx('peer-as', p.n.peerAs), ...(local !== undefined ? [tx('local-address', intToIp(local))] : []), tx('local-as', as ?? 0),
      ...(p.n.description ? [tx('description', p.n.description)] : []), tx('peer-group', p.n.group), tx('peer-type', p.n.type === 'internal' ? 'Internal' : 'External'), tx('peer-state', s.state),
      ...(s.lastError ? [tx('last-error', `${NOTIFY_NAMES[s.lastError.n.code] ?? s.lastError.n.code} (subcode ${s.lastError.n.subcode})`)] : []),
      tx('peer-holdtime', p.n.holdTime), tx('preference', 170), tx('flap-count', s.flaps),
      ...(p.n.ipsecSa ? [tx('ipsec-sa', p.n.ipsecSa)] : []),
      ...(s.peerOpen ? [tx('peer-id', intToIp(s.peerOpen.bgpId)), tx('local-id', intToIp(s.cfg.routerId)), tx('active-holdtime', s.holdTime), tx('keepalive-interval', Math.floor(s.holdTime / 3))] : []),
      ...(s.state === 'Established' ? [rib(counts(rpd, p)), tx('advertised-prefix-count', p.adjOut.size)] : []),
      tx('input-messages', s.counters.inMessages), tx('input-updates', s.counters.inUpdates), tx('input-refreshes', s.counters.inRefresh), tx('output-messages', s.counters.outMessages), tx('output-updates', s.counters.outUpdates), tx('output-refreshes', s.counters.outRefresh),
    ]);
  }));
}

/** `show route ...` words (after `show route`) as get-route-information's arguments: destination, protocol, detail, hidden. */
export function routeArgs(words: string[]): Record<string, string | true> {
  const a: Record<string, string | true> = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'detail' || w === 'hidden' || w === 'extensive' || w === 'brief' || w === 'terse') a[w] = true;
    else if ((w === 'protocol' || w === 'receive-protocol' || w === 'advertising-protocol') && words[i + 1]) a[w] = words[++i]!;
    else a.destination = w;
  }
  return a;
}

/**
 * get-route-information with `detail`, `hidden` or `protocol`: the routes of inet.0 from the RIB in
 * JUNOS's elements (rt, rt-entry, nh, protocol-nh, rt-entry-state, as-path, ...); undefined for the
 * plain form (the forwarding table's view, src/api/op-xml.ts).
 */
export function routeXml(rpd: Rpd, a: Record<string, string | true>): string | undefined {
  const detail = a.detail === true || a.extensive === true, hidden = a.hidden === true;
  const protocol = typeof a.protocol === 'string' ? a.protocol : undefined;
  if (!detail && !hidden && !protocol) return undefined;
  const sel = selectRoutes(rpd, { ...(typeof a.destination === 'string' ? { destination: a.destination } : {}), ...(protocol ? { protocol } : {}), detail, hidden });
  if ('error' in sel) return el('route-information', el('xnm:error', tx('message', sel.error)));
  const c = tableCounts(sel.all);
  const byPrefix = new Map<string, RouteEntry[]>();
  for (const e of sel.list) { const k = prefixStr(e.prefix); byPrefix.set(k, [...(byPrefix.get(k) ?? []), e]); }
  const style = detail ? 'detail' : 'brief';
  return el('route-information', el('route-table', [
    tx('table-name', 'inet.0'), tx('destination-count', c.destinations), tx('total-route-count', c.routes), tx('active-route-count', c.active), tx('holddown-route-count', 0), tx('hidden-route-count', c.hidden),
    ...[...byPrefix.values()].map(es => el('rt', [
      tx('rt-destination', intToIp(es[0]!.prefix.addr)), tx('rt-prefix-length', es[0]!.prefix.len),
      el('rt-entry-count', String(es.length), { 'junos:format': `${es.length} ${es.length === 1 ? 'entry' : 'entries'}` }), tx('rt-announced-count', es.filter(e => e.active).length),
      ...es.map(e => el('rt-entry', [
        ...(e.active ? [tx('active-tag', '*'), el('current-active'), el('last-active')] : []),
        tx('protocol-name', e.protocol), tx('preference', e.preference), ...(e.preference2 !== undefined ? [tx('preference2', e.preference2)] : []),
        ...(e.source !== undefined ? [tx('source', intToIp(e.source))] : []),
        tx('nh-type', e.indirect ? 'Indirect' : e.nhType), ...((e.indirect ? e.indirectRefs : e.nhRefs) !== undefined ? [tx('nh-reference-count', (e.indirect ? e.indirectRefs : e.nhRefs)!)] : []),
        ...(e.via !== undefined || e.to !== undefined ? [el('nh', [...(e.active ? [el('selected-next-hop')] : []), ...(e.to !== undefined ? [tx('to', intToIp(e.to))] : []), ...(e.via !== undefined ? [tx(e.nhType === 'Local' ? 'nh-local-interface' : 'via', e.via)] : [])])] : []),
        ...(e.protocolNh !== undefined ? [el('protocol-nh', tx('to', intToIp(e.protocolNh)))] : []),
        tx('rt-entry-state', e.state.replace(/[<>]/g, '')),
        ...(e.inactiveReason ? [tx('inactive-reason', e.inactiveReason)] : []),
        ...(e.localAs !== undefined ? [tx('local-as', e.localAs)] : []), ...(e.peerAs !== undefined ? [tx('peer-as', e.peerAs)] : []),
        el('age', upDown(e.ageMs), { 'junos:seconds': String(Math.floor(e.ageMs / 1000)) }),
        ...(e.med !== undefined ? [tx('med', e.med)] : []), ...(e.metric !== undefined ? [tx('metric', e.metric)] : []), ...(e.metric2 !== undefined ? [tx('metric2', e.metric2)] : []),
        tx('task-name', e.task), ...(e.announce.length ? [tx('announce-bits', e.announce.length), tx('announce-tasks', e.announce.join(' '))] : []),
        tx('as-path', e.asPath), ...(e.localPref !== undefined ? [tx('local-preference', e.localPref)] : []), ...(e.routerId !== undefined ? [tx('peer-id', intToIp(e.routerId))] : []),
      ], { 'junos:style': style })),
    ])),
  ]));
}
