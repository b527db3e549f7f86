/**
 * Routing policy as JUNOS evaluates it: the policies of a chain in order, the terms of each in
 * order; a term matches when every condition of its `from` does; its modifiers apply and its
 * `accept` or `reject` ends the evaluation; without one, evaluation goes on with the next term, then
 * the next policy; when the chain has not decided, the protocol's default policy does.
 */
import { maskOf, Prefix } from '../net/ip.js';
import type { PolicyFrom, PolicyModel, RouteFilter, RouteProto } from './config.js';

export interface PolicyRoute { prefix: Prefix; protocol: RouteProto; neighbor?: number }
export interface PolicyResult { accept: boolean; localPreference?: number; metric?: number; nextHop?: 'self' | number; by: string }
export interface PolicyDefs { policies: Map<string, PolicyModel>; prefixLists: Map<string, Prefix[]> }

const under = (p: Prefix, outer: Prefix) => outer.len <= p.len && ((p.addr & maskOf(outer.len)) >>> 0) === outer.addr;

/** JUNOS's route-filter rule: the longest filter prefixes that hold the route decide, by their match type. */
export function routeFiltersMatch(rfs: RouteFilter[], p: Prefix): boolean {
  let best = -1;
  for (const rf of rfs) if (under(p, rf.prefix) && rf.prefix.len > best) best = rf.prefix.len;
  if (best < 0) return false;
  return rfs.some(rf => rf.prefix.len === best && under(p, rf.prefix) && p.len >= rf.lo && p.len <= rf.hi);
}

function fromMatches(f: PolicyFrom | undefined, r: PolicyRoute, defs: PolicyDefs): boolean {
  if (!f) return true;
  if (f.protocol.length && !f.protocol.includes(r.protocol)) return false;
  if (f.neighbor.length && (r.neighbor === undefined || !f.neighbor.includes(r.neighbor))) return false;
  // route-filters and prefix-lists are alternatives of one condition (either may match)
  if (f.routeFilters.length || f.prefixLists.length) {
    const rf = f.routeFilters.length > 0 && routeFiltersMatch(f.routeFilters, r.prefix);
    const pl = f.prefixLists.some(n => (defs.prefixLists.get(n) ?? []).some(x => x.addr === r.prefix.addr && x.len === r.prefix.len));
    if (!rf && !pl) return false;
  }
  return true;
}

/** Evaluate `chain` for `r`; `dflt` is the protocol's default policy. */
export function evaluate(chain: string[], r: PolicyRoute, defs: PolicyDefs, dflt: (r: PolicyRoute) => boolean): PolicyResult {
  const out: Omit<PolicyResult, 'accept' | 'by'> = {};
  for (const name of chain) {
    const pol = defs.policies.get(name);
    if (!pol) continue;
    for (const t of pol.terms) {
      if (!fromMatches(t.from, r, defs)) continue;
      const th = t.then;
      if (th.localPreference !== undefined) out.localPreference = th.localPreference;
      if (th.metric !== undefined) out.metric = th.metric;
      if (th.nextHop !== undefined) out.nextHop = th.nextHop;
      const by = t.name ? `${name} term ${t.name}` : name;
      if (th.accept) return { ...out, accept: true, by };
      if (th.reject) return { ...out, accept: false, by };
    }
  }
  return { ...out, accept: dflt(r), by: 'default' };
}

/** BGP's default import policy: everything. */
export const bgpImportDefault = () => true;
/** BGP's default export policy: active BGP routes (the iBGP rule is the protocol's, in the speaker). */
export const bgpExportDefault = (r: PolicyRoute) => r.protocol === 'bgp';
