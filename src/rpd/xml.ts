/**
 * rpd's operational RPCs in JUNOS's XML: get-bgp-summary-information (`show bgp summary`) and
 * get-bgp-neighbor-information (`show bgp neighbor [A]`), with JUNOS's element names.
 */
import type { Rpd } from './rpd.js';
import type { BgpInfo, BgpPrefixCounts } from '../mgd/read/bgp.js';
import { el, tx, XNM_NS } from '../api/xml.js';
import { intToIp, prefixStr } from '../net/ip.js';
import { selectRoutes, tableCounts, upDown, RouteEntry } from './show.js';

const rib = (c: BgpPrefixCounts) => el('bgp-rib', [tx('name', 'inet.0'), tx('active-prefix-count', c.active), tx('received-prefix-count', c.received), tx('accepted-prefix-count', c.accepted), tx('suppressed-prefix-count', 0)]);

/** `<get-bgp-summary-information>`, from the read model (src/mgd/read/bgp.ts). */
export function bgpSummaryXml(v: BgpInfo): string {
  return el('bgp-information', [
    tx('group-count', v.groups), tx('peer-count', v.peers.length), tx('down-peer-count', v.down),
    el('bgp-rib', [tx('name', 'inet.0'), tx('total-prefix-count', v.total.received), tx('received-prefix-count', v.total.received), tx('accepted-prefix-count', v.total.accepted), tx('active-prefix-count', v.total.active), tx('suppressed-prefix-count', 0)]),
    ...v.peers.map(p => {
      const secs = Math.floor(p.upDownMs / 1000);
      return el('bgp-peer', [tx('peer-address', p.address), tx('peer-as', p.peerAs), tx('input-messages', p.messages.inTotal), tx('output-messages', p.messages.outTotal),
        tx('route-queue-count', 0), tx('flap-count', p.flaps), el('elapsed-time', String(secs), { 'junos:seconds': String(secs) }), tx('peer-state', p.state),
        ...(p.state === 'Established' ? [rib(p.counts)] : [])]);
    }),
  ]);
}

/** `<get-bgp-neighbor-information>`, from the read model; `v` undefined: `addr` is no neighbor. */
export function bgpNeighborXml(v: BgpInfo | undefined, addr?: string): string {
  if (!v) return el('bgp-information', el('xnm:error', tx('message', `peer ${addr} not found`), { 'xmlns:xnm': XNM_NS }));
  return el('bgp-information', v.peers.map(p => {
    const m = p.messages;
    return el('bgp-peer', [
      tx('peer-address', `${p.address}+179`), tx('peer-as', p.peerAs), ...(p.localAddress !== undefined ? [tx('local-address', p.localAddress)] : []), tx('local-as', p.localAs ?? 0),
      ...(p.description ? [tx('description', p.description)] : []), tx('peer-group', p.group), tx('peer-type', p.type === 'internal' ? 'Internal' : 'External'), tx('peer-state', p.state),
      ...(p.lastError ? [tx('last-error', `${p.lastError.name} (subcode ${p.lastError.subcode})`)] : []),
      tx('peer-holdtime', p.holdTime), tx('preference', 170), tx('flap-count', p.flaps),
      ...(p.ipsecSa ? [tx('ipsec-sa', p.ipsecSa)] : []),
      ...(p.open ? [tx('peer-id', p.open.peerId), tx('local-id', p.open.localId), tx('active-holdtime', p.open.activeHoldTime), tx('keepalive-interval', Math.floor(p.open.activeHoldTime / 3))] : []),
      ...(p.state === 'Established' ? [rib(p.counts), tx('advertised-prefix-count', p.advertised)] : []),
      tx('input-messages', m.inTotal), tx('input-updates', m.inUpdates), tx('input-refreshes', m.inRefresh), tx('output-messages', m.outTotal), tx('output-updates', m.outUpdates), tx('output-refreshes', m.outRefresh),
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
  if ('error' in sel) return el('route-information', el('xnm:error', tx('message', sel.error), { 'xmlns:xnm': XNM_NS }));
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
