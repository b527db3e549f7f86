/**
 * rpd's operational RPCs in JUNOS's XML: get-bgp-summary-information (`show bgp summary`) and
 * get-bgp-neighbor-information (`show bgp neighbor [A]`), with JUNOS's element names.
 */
import type { Rpd } from './rpd.js';
import type { Peer } from './bgp.js';
import { NOTIFY_NAMES } from './codec.js';
import { el, tx } from '../api/xml.js';
import { intToIp, ipToInt, isIpv4 } from '../net/ip.js';

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
      tx('input-messages', s.counters.inMessages), tx('input-updates', s.counters.inUpdates), tx('output-messages', s.counters.outMessages), tx('output-updates', s.counters.outUpdates),
    ]);
  }));
}
