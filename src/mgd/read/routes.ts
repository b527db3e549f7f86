/**
 * The read model of `show route [DESTINATION]` (`<get-route-information>`): inet.0's counts and the
 * routes asked for. A prefix (`10.2.2.0/24`) selects that route exactly; a bare address
 * (`10.2.2.9`) selects its longest match, as JUNOS does. The CLI and the XML API both render this value.
 */
import type { Router } from '../../router/router.js';
import type { Route } from '../../pfe/routes.js';
import { ipToInt, parsePrefix } from '../../net/ip.js';
import { isPrefix } from '../../config/schema.js';

export interface RouteList {
  table: 'inet.0';
  destinations: number; total: number; active: number; holddown: number; hidden: number;
  /** the routes selected (all of them without a destination) */
  routes: Route[];
  /** a destination that is not an address or prefix */
  error?: string;
}

export function readRoutes(r: Router, destination?: string): RouteList {
  const all = r.pfe.routes.all();
  const hidden = r.pfe.hiddenRoutes.length;
  const base = { table: 'inet.0' as const, destinations: all.length, total: all.length + hidden, active: all.length, holddown: 0, hidden };
  if (destination === undefined) return { ...base, routes: all };
  if (!isPrefix(destination, true)) return { ...base, routes: [], error: `invalid prefix ${destination}` };
  const found = destination.includes('/') ? r.pfe.routes.exact(parsePrefix(destination)) : r.pfe.routes.lookup(ipToInt(destination));
  return { ...base, routes: found ? [found] : [] };
}
