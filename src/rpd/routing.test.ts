/** The RIB, policy evaluation and best path, against tables of JUNOS examples. */
import { describe, it, expect } from 'vitest';
import { Rib } from './rib.js';
import { compareBgp, bestOf, BgpPath, Step } from './bestpath.js';
import { evaluate, bgpImportDefault, bgpExportDefault, routeFiltersMatch } from './policy.js';
import { compileRouting } from './config.js';
import { loadText } from '../config/load.js';
import { ipToInt, parsePrefix as P, prefixStr } from '../net/ip.js';
import { AS_SEQUENCE, AS_SET, PathAttrs } from './attributes.js';

const A = (over: Partial<PathAttrs> = {}): PathAttrs => ({ origin: 0, asPath: [{ type: AS_SEQUENCE, asns: [65002] }], nextHop: ipToInt('10.7.7.2'), unknown: [], ...over });
type Over = Omit<Partial<BgpPath>, 'attrs'> & { attrs?: Partial<PathAttrs> };
const path = (over: Over = {}): BgpPath => ({ peer: ipToInt('10.7.7.2'), peerId: ipToInt('2.2.2.2'), ebgp: true, igpCost: 0, ...over, attrs: A(over.attrs) });

describe('best path', () => {
  const ROWS: Array<[string, BgpPath, BgpPath, Step]> = [
    ['higher local-preference wins', path({ attrs: { localPref: 200, asPath: [{ type: AS_SEQUENCE, asns: [1, 2, 3] }] } }), path({ attrs: { localPref: 100 } }), 'local-preference'],
    ['missing local-preference is 100', path({ attrs: { localPref: 101 } }), path(), 'local-preference'],
    ['shorter AS path wins', path(), path({ attrs: { asPath: [{ type: AS_SEQUENCE, asns: [65002, 65003] }] } }), 'as-path'],
    ['an AS set counts once', path({ attrs: { asPath: [{ type: AS_SEQUENCE, asns: [65002] }, { type: AS_SET, asns: [1, 2, 3] }] } }), path({ attrs: { asPath: [{ type: AS_SEQUENCE, asns: [65002, 1, 2] }] } }), 'as-path'],
    ['IGP origin over EGP over incomplete', path({ attrs: { origin: 1 } }), path({ attrs: { origin: 2 } }), 'origin'],
    ['lower MED from the same AS', path({ attrs: { med: 5 }, peer: ipToInt('10.9.9.9') }), path({ attrs: { med: 10 } }), 'med'],
    ['MED ignored between ASes', path({ attrs: { med: 50, asPath: [{ type: AS_SEQUENCE, asns: [65003] }] }, ebgp: true }), path({ attrs: { med: 10 }, ebgp: false }), 'ebgp'],
    ['eBGP over iBGP', path({ ebgp: true, peerId: ipToInt('9.9.9.9') }), path({ ebgp: false }), 'ebgp'],
    ['lower IGP cost', path({ igpCost: 0, peerId: ipToInt('9.9.9.9') }), path({ igpCost: 10 }), 'igp-cost'],
    ['lower router ID', path({ peerId: ipToInt('1.1.1.1'), peer: ipToInt('10.9.9.9') }), path({ peerId: ipToInt('2.2.2.2') }), 'router-id'],
    ['lower peer address', path({ peer: ipToInt('10.7.7.1') }), path({ peer: ipToInt('10.7.7.2') }), 'peer-address'],
  ];
  for (const [name, a, b, step] of ROWS) it(name, () => {
    expect(compareBgp(a, b)).toMatchObject({ step });
    expect(compareBgp(a, b).d).toBeLessThan(0);
    expect(compareBgp(b, a).d).toBeGreaterThan(0);
  });
  it('bestOf picks the best of several', () => {
    expect(bestOf([path({ attrs: { localPref: 90 } }), path({ attrs: { localPref: 300 } }), path()])).toBe(1);
    expect(bestOf([])).toBe(-1);
  });
});

const POLICY = `
policy-options {
    prefix-list customers { 192.168.0.0/16; 172.16.1.0/24; }
    policy-statement filters {
        term exact { from route-filter 10.1.0.0/16 exact; then accept; }
        term orlonger { from route-filter 10.2.0.0/16 orlonger; then { local-preference 300; accept; } }
        term longer { from route-filter 10.3.0.0/16 longer; then accept; }
        term upto { from route-filter 10.4.0.0/16 upto /20; then accept; }
        term range { from route-filter 10.5.0.0/16 prefix-length-range /18-/24; then accept; }
        term longest { from { route-filter 10.6.0.0/16 orlonger; route-filter 10.6.0.0/20 exact; } then accept; }
        term list { from prefix-list customers; then { metric 7; accept; } }
        then reject;
    }
    policy-statement mark { term m { from protocol static; then { local-preference 50; next-hop self; } } }
    policy-statement from-peer { term p { from neighbor 10.7.7.2; then reject; } }
    policy-statement direct-only { term d { from protocol direct; then accept; } }
}`;
describe('policy', () => {
  const m = compileRouting(loadText(POLICY));
  const r = (p: string, protocol: 'bgp' | 'static' | 'direct' | 'local' = 'bgp', neighbor?: string) => ({ prefix: P(p), protocol, ...(neighbor ? { neighbor: ipToInt(neighbor) } : {}) });
  const ROWS: Array<[string, string[], ReturnType<typeof r>, boolean, string, object?]> = [
    ['exact matches the prefix', ['filters'], r('10.1.0.0/16'), true, 'filters term exact'],
    ['exact refuses a longer one', ['filters'], r('10.1.1.0/24'), false, 'filters'],
    ['orlonger: the prefix itself', ['filters'], r('10.2.0.0/16'), true, 'filters term orlonger', { localPreference: 300 }],
    ['orlonger: a longer one', ['filters'], r('10.2.3.0/24'), true, 'filters term orlonger'],
    ['longer refuses the prefix itself', ['filters'], r('10.3.0.0/16'), false, 'filters'],
    ['longer: /17', ['filters'], r('10.3.128.0/17'), true, 'filters term longer'],
    ['upto /20: /20', ['filters'], r('10.4.16.0/20'), true, 'filters term upto'],
    ['upto /20 refuses /21', ['filters'], r('10.4.16.0/21'), false, 'filters'],
    ['prefix-length-range /18-/24: /16 refused', ['filters'], r('10.5.0.0/16'), false, 'filters'],
    ['prefix-length-range /18-/24: /24', ['filters'], r('10.5.9.0/24'), true, 'filters term range'],
    ['the longest route-filter decides: 10.6.0.0/20 exact refuses /24', ['filters'], r('10.6.1.0/24'), false, 'filters'],
    ['the longest route-filter decides: /20 exact', ['filters'], r('10.6.0.0/20'), true, 'filters term longest'],
    ['prefix-list matches its prefixes exactly', ['filters'], r('172.16.1.0/24'), true, 'filters term list', { metric: 7 }],
    ['prefix-list: not a longer one', ['filters'], r('172.16.1.0/25'), false, 'filters'],
    ['modifiers without accept go on to the next policy', ['mark', 'direct-only'], r('10.9.0.0/16', 'static'), true, 'default', { localPreference: 50, nextHop: 'self' }],
    ['a chain: the second policy accepts', ['from-peer', 'direct-only'], r('10.8.0.0/24', 'direct'), true, 'direct-only term d'],
    ['from neighbor', ['from-peer'], r('10.8.0.0/24', 'bgp', '10.7.7.2'), false, 'from-peer term p'],
    ['from neighbor: another peer falls to the default', ['from-peer'], r('10.8.0.0/24', 'bgp', '10.7.7.3'), true, 'default'],
    ['an undefined name is skipped', ['nope'], r('10.8.0.0/24'), true, 'default'],
  ];
  for (const [name, chain, route, accept, by, mods] of ROWS) it(name, () => {
    const res = evaluate(chain, route, m, bgpImportDefault);
    expect(res).toMatchObject({ accept, by, ...(mods ?? {}) });
  });
  it("BGP's default export: BGP routes only", () => {
    expect(evaluate([], r('10.0.0.0/8', 'bgp'), m, bgpExportDefault).accept).toBe(true);
    expect(evaluate([], r('10.0.0.0/8', 'static'), m, bgpExportDefault).accept).toBe(false);
    expect(evaluate([], r('10.0.0.0/8', 'direct'), m, bgpExportDefault).accept).toBe(false);
  });
  it('route-filter 0.0.0.0/0 exact matches only the default route', () => {
    const rf = [{ prefix: P('0.0.0.0/0'), type: 'exact' as const, lo: 0, hi: 0 }];
    expect(routeFiltersMatch(rf, P('0.0.0.0/0'))).toBe(true);
    expect(routeFiltersMatch(rf, P('10.0.0.0/8'))).toBe(false);
  });
});

describe('RIB', () => {
  const bgp = (p: string, nh: string, over: Over = {}) => {
    const b = path({ ...over, attrs: { nextHop: ipToInt(nh), ...over.attrs } });
    return { prefix: P(p), protocol: 'BGP' as const, source: b.peer, nextHop: ipToInt(nh), bgp: b };
  };
  it('preferences: direct 0 over static 5 over BGP 170', () => {
    const changes: string[] = [];
    const rib = new Rib({ onChange: (p, a) => changes.push(`${prefixStr(p)} ${a?.protocol ?? '-'}`) });
    rib.add({ prefix: P('10.7.7.0/24'), protocol: 'Direct', source: 0, ifl: 'fe-0/0/0.0' });
    rib.add(bgp('10.1.0.0/16', '10.7.7.2'));
    rib.add({ prefix: P('10.1.0.0/16'), protocol: 'Static', source: 0, nextHop: ipToInt('10.7.7.9'), ifl: 'fe-0/0/0.0' });
    expect(rib.active(P('10.1.0.0/16'))!.protocol).toBe('Static');
    rib.remove(P('10.1.0.0/16'), 'Static');
    expect(rib.active(P('10.1.0.0/16'))!.protocol).toBe('BGP');
    expect(changes).toEqual(['10.7.7.0/24 Direct', '10.1.0.0/16 BGP', '10.1.0.0/16 Static', '10.1.0.0/16 BGP']);
    expect(rib.routes(P('10.1.0.0/16')).map(r => r.preference)).toEqual([170]);
  });
  it('a BGP next hop resolves recursively; unresolved it is hidden, and comes back with the route', () => {
    const rib = new Rib();
    rib.add(bgp('10.9.0.0/16', '10.50.0.1'));
    expect(rib.active(P('10.9.0.0/16'))).toBeUndefined();
    expect(rib.isHidden(rib.routes(P('10.9.0.0/16'))[0]!)).toBe(true);
    rib.add({ prefix: P('10.7.7.0/24'), protocol: 'Direct', source: 0, ifl: 'fe-0/0/0.0' });
    rib.add({ prefix: P('10.50.0.0/16'), protocol: 'Static', source: 0, nextHop: ipToInt('10.7.7.2'), ifl: 'fe-0/0/0.0' });
    const a = rib.active(P('10.9.0.0/16'))!;
    expect(rib.forwarding(a)).toMatchObject({ ifl: 'fe-0/0/0.0', gateway: ipToInt('10.7.7.2') });
    rib.add(bgp('10.8.0.0/16', '10.7.7.5'));
    expect(rib.forwarding(rib.active(P('10.8.0.0/16'))!)).toMatchObject({ gateway: ipToInt('10.7.7.5') });
    rib.remove(P('10.50.0.0/16'), 'Static');
    expect(rib.active(P('10.9.0.0/16'))).toBeUndefined();
  });
  it('best path among BGP routes of two peers; a peer going down leaves the other', () => {
    const rib = new Rib();
    rib.add({ prefix: P('10.7.7.0/24'), protocol: 'Direct', source: 0, ifl: 'fe-0/0/0.0' });
    rib.add(bgp('10.1.0.0/16', '10.7.7.2', { attrs: { asPath: [{ type: AS_SEQUENCE, asns: [65002, 65009] }] } }));
    rib.add(bgp('10.1.0.0/16', '10.7.7.3', { peer: ipToInt('10.7.7.3') }));
    expect(rib.active(P('10.1.0.0/16'))!.source).toBe(ipToInt('10.7.7.3'));
    expect(rib.removeAll('BGP', ipToInt('10.7.7.3'))).toBe(1);
    expect(rib.active(P('10.1.0.0/16'))!.source).toBe(ipToInt('10.7.7.2'));
  });
  it('is bounded: beyond maxRoutes a route is refused and counted', () => {
    const rib = new Rib({ maxRoutes: 10 });
    for (let i = 0; i < 12; i++) rib.add({ prefix: { addr: (0x0a000000 + (i << 8)) >>> 0, len: 24 }, protocol: 'Static', source: 0, nextHop: 1 });
    expect([rib.count, rib.refused]).toEqual([10, 2]);
    expect(rib.add({ prefix: { addr: 0x0a000000, len: 24 }, protocol: 'Static', source: 0, nextHop: 2 })).toBe(true); // a replacement fits
  });
});
