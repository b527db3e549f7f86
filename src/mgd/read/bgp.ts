/**
 * The read model of `show bgp summary` (`<get-bgp-summary-information>`) and `show bgp neighbor [A]`
 * (`<get-bgp-neighbor-information>`): rpd's peers as plain values, with each peer's prefix counts
 * worked out once. The one place that reads rpd's BGP state for them; the CLI's text
 * (src/rpd/show.ts) and the XML API's reply (src/rpd/xml.ts) render this value.
 */
import type { Rpd } from '../../rpd/rpd.js';
import type { Peer } from '../../rpd/bgp.js';
import { NOTIFY_NAMES } from '../../rpd/codec.js';
import { intToIp, ipToInt, isIpv4 } from '../../net/ip.js';

export interface BgpPrefixCounts { received: number; accepted: number; active: number }
export interface BgpPeerView {
  address: string; peerAs: number; group: string; type: 'internal' | 'external'; description?: string;
  state: string; lastState: string; flaps: number; upDownMs: number;
  localAddress?: string; localAs?: number;
  lastError?: { name: string; code: number; subcode: number; sent: boolean };
  export: string[]; import: string[];
  localAddressConfigured: boolean; ipsecSa?: string; holdTime: number; prefixLimit?: { maximum: number; teardown: boolean };
  open?: { peerId: string; localId: string; activeHoldTime: number; caps: string[] };
  counts: BgpPrefixCounts; advertised: number; looped: number;
  messages: { inTotal: number; inUpdates: number; inRefresh: number; outTotal: number; outUpdates: number; outRefresh: number };
}
export interface BgpInfo { running: boolean; groups: number; peers: BgpPeerView[]; down: number; total: BgpPrefixCounts }

function counts(rpd: Rpd, p: Peer): BgpPrefixCounts {
  let accepted = 0, active = 0;
  for (const r of p.adjIn.values()) if (r.accepted) { accepted++; const a = rpd.rib.active(r.prefix); if (a?.protocol === 'BGP' && a.source === p.n.address) active++; }
  return { received: p.adjIn.size, accepted, active };
}

function peerView(rpd: Rpd, p: Peer): BgpPeerView {
  const s = p.s, local = rpd.bgp.localAddressOf(p.n);
  const caps = s.peerOpen ? [s.peerOpen.caps.mpIpv4Unicast ? 'inet-unicast' : '', s.peerOpen.caps.routeRefresh ? 'refresh' : '', s.peerOpen.caps.as4 !== undefined ? '4-byte-AS' : ''].filter(Boolean) : [];
  return {
    address: p.n.text, peerAs: p.n.peerAs, group: p.n.group, type: p.n.type === 'internal' ? 'internal' : 'external',
    ...(p.n.description ? { description: p.n.description } : {}),
    state: s.state, lastState: s.lastState, flaps: s.flaps, upDownMs: rpd.rib.now() - s.since,
    ...(local !== undefined ? { localAddress: intToIp(local) } : {}),
    ...(rpd.bgp.model?.autonomousSystem !== undefined ? { localAs: rpd.bgp.model.autonomousSystem } : {}),
    ...(s.lastError ? { lastError: { name: NOTIFY_NAMES[s.lastError.n.code] ?? String(s.lastError.n.code), code: s.lastError.n.code, subcode: s.lastError.n.subcode, sent: s.lastError.sent } } : {}),
    export: [...p.n.export], import: [...p.n.import],
    localAddressConfigured: p.n.localAddress !== undefined, ...(p.n.ipsecSa ? { ipsecSa: p.n.ipsecSa } : {}), holdTime: p.n.holdTime,
    ...(p.n.prefixLimit ? { prefixLimit: { maximum: p.n.prefixLimit.maximum, teardown: !!p.n.prefixLimit.teardown } } : {}),
    ...(s.peerOpen ? { open: { peerId: intToIp(s.peerOpen.bgpId), localId: intToIp(s.cfg.routerId), activeHoldTime: s.holdTime, caps } } : {}),
    counts: counts(rpd, p), advertised: p.adjOut.size, looped: p.looped ?? 0,
    messages: { inTotal: s.counters.inMessages, inUpdates: s.counters.inUpdates, inRefresh: s.counters.inRefresh, outTotal: s.counters.outMessages, outUpdates: s.counters.outUpdates, outRefresh: s.counters.outRefresh },
  };
}

/** rpd's BGP peers (one with `addr`): undefined when `addr` is no configured neighbor. */
export function readBgp(rpd: Rpd, addr?: string): BgpInfo | undefined {
  if (addr !== undefined && (!isIpv4(addr) || !rpd.bgp.peers.has(ipToInt(addr)))) return undefined;
  const all = [...rpd.bgp.peers.values()];
  const peers = all.filter(p => addr === undefined || p.n.address === ipToInt(addr)).map(p => peerView(rpd, p));
  const total = { received: 0, accepted: 0, active: 0 };
  for (const p of peers) { total.received += p.counts.received; total.accepted += p.counts.accepted; total.active += p.counts.active; }
  return { running: !!rpd.bgp.model?.neighbors.length, groups: new Set(all.map(p => p.n.group)).size, peers, down: peers.filter(p => p.state !== 'Established').length, total };
}
