/**
 * BGP's best path as JUNOS selects it among routes of the same preference: highest local
 * preference, shortest AS path, lowest origin, lowest MED among routes from the same neighboring AS,
 * eBGP over iBGP, lowest IGP cost to the next hop, lowest router ID, lowest peer address.
 */
import { asPathLength, firstAs, PathAttrs } from './attributes.js';

export interface BgpPath {
  attrs: PathAttrs;
  peer: number; peerId: number; ebgp: boolean;
  /** the IGP cost of the route the next hop resolves through (0 for a connected one) */
  igpCost: number;
}
export type Step = 'local-preference' | 'as-path' | 'origin' | 'med' | 'ebgp' | 'igp-cost' | 'router-id' | 'peer-address' | 'equal';

/** Negative when a is better, positive when b is, with the step that decided. */
export function compareBgp(a: BgpPath, b: BgpPath): { d: number; step: Step } {
  const lp = (b.attrs.localPref ?? 100) - (a.attrs.localPref ?? 100);
  if (lp) return { d: lp, step: 'local-preference' };
  const al = asPathLength(a.attrs.asPath) - asPathLength(b.attrs.asPath);
  if (al) return { d: al, step: 'as-path' };
  const o = a.attrs.origin - b.attrs.origin;
  if (o) return { d: o, step: 'origin' };
  const fa = firstAs(a.attrs.asPath), fb = firstAs(b.attrs.asPath);
  if (fa === fb) { const m = (a.attrs.med ?? 0) - (b.attrs.med ?? 0); if (m) return { d: m, step: 'med' }; }
  if (a.ebgp !== b.ebgp) return { d: a.ebgp ? -1 : 1, step: 'ebgp' };
  const c = a.igpCost - b.igpCost;
  if (c) return { d: c, step: 'igp-cost' };
  if (a.peerId !== b.peerId) return { d: (a.peerId >>> 0) < (b.peerId >>> 0) ? -1 : 1, step: 'router-id' };
  if (a.peer !== b.peer) return { d: (a.peer >>> 0) < (b.peer >>> 0) ? -1 : 1, step: 'peer-address' };
  return { d: 0, step: 'equal' };
}

/** The best of `paths` (index), or -1 when there is none. */
export function bestOf(paths: BgpPath[]): number {
  let best = -1;
  for (let i = 0; i < paths.length; i++) if (best < 0 || compareBgp(paths[i]!, paths[best]!).d < 0) best = i;
  return best;
}
