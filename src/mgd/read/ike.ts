/**
 * The read model of `show ike security-associations [brief|detail] [PEER]`
 * (`<get-ike-security-associations-information>`): kmd's IKE SAs (failed ones too) as plain values,
 * and the last failure with each peer that no newer matured SA answered. The one place that reads
 * kmd for it; the CLI's text and the XML API's reply render this value.
 */
import type { Router } from '../../router/router.js';
import type { IkeChoice } from '../../kmd/proposals.js';
import { intToIp } from '../../net/ip.js';

export interface IkeSaView {
  peer: number; local: number; port: number;
  role: 'initiator' | 'responder'; mode: 'main' | 'aggressive'; matured: boolean;
  icookie: Buffer; rcookie: Buffer;
  choice?: Pick<IkeChoice, 'method' | 'encryption' | 'hash' | 'group'>;
  natt: { peerSupports: boolean; detected: boolean; here: boolean; there: boolean; floated: boolean };
  behindNat: boolean;
  /** seconds until the hard lifetime (once matured) */
  remaining?: number;
  stats: { inBytes: number; outBytes: number; inPackets: number; outPackets: number };
  ipsecCreated: number; ipsecDeleted: number;
  /** quick modes under way with this peer */
  phase2InProgress: number;
  localId?: string; remoteId?: string;
  /** with detail: what kmd adds (an older configuration) */
  detail: string[];
}
export interface IkeFailureView { peer: number; secondsAgo: number; role: string; why: string }
export interface IkeSaList { sas: IkeSaView[]; failures: IkeFailureView[] }

export function readIkeSas(r: Router, opts: { peer?: string; detail?: boolean } = {}): IkeSaList {
  const now = Date.now();
  const live = r.kmd.ikeSnapshot().filter(s => !opts.peer || intToIp(s.peer) === opts.peer);
  const sas = live.map((s): IkeSaView => {
    const remaining = s.expiresAt !== undefined ? r.kmd.ikeRemaining(s) : undefined;
    return {
      peer: s.peer, local: s.local, port: s.port, role: s.role, mode: s.mode, matured: s.matured,
      icookie: s.icookie, rcookie: s.rcookie,
      ...(s.choice ? { choice: { method: s.choice.method, encryption: s.choice.encryption, hash: s.choice.hash, group: s.choice.group } } : {}),
      natt: { ...s.natt }, behindNat: s.behindNat,
      ...(remaining !== undefined ? { remaining } : {}),
      stats: { ...s.stats }, ipsecCreated: s.ipsecCreated, ipsecDeleted: s.ipsecDeleted,
      phase2InProgress: [...r.kmd.tunnels.values()].filter(t => t.peer === s.peer && (t.negotiating ?? 0) > 0).length,
      ...(s.localId ? { localId: s.localId } : {}), ...(s.remoteId ? { remoteId: s.remoteId } : {}),
      detail: opts.detail ? r.kmd.ikeDetailLines(s) : [],
    };
  });
  // what a learner needs when nothing is there: why the last attempt with a peer failed
  const failures: IkeFailureView[] = [];
  for (const [p, f] of r.kmd.failures) {
    if (opts.peer && intToIp(p) !== opts.peer) continue;
    if (live.some(s => s.peer === p && s.matured && (s.maturedAt ?? 0) > f.at)) continue;
    failures.push({ peer: p, secondsAgo: Math.round((now - f.at) / 1000), role: f.role, why: f.why });
  }
  return { sas, failures };
}
