/** The RIB, policy evaluation and best path, against tables of JUNOS examples. */
import { describe, it, expect } from 'vitest';
import { Rib, RESOLVE_BUDGET } from './rib.js';
import { compareBgp, bestOf, BgpPath, Step } from './bestpath.js';
import { evaluate, bgpImportDefault, bgpExportDefault, routeFiltersMatch } from './policy.js';
import { compileRouting } from './config.js';
import { loadText } from '../config/load.js';
import { intToIp, ipToInt, parsePrefix as P, prefixStr } from '../net/ip.js';
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

describe('recursive next-hop resolution (JUNOS: the longest active match, through BGP routes too)', () => {
  const FE = 'fe-0/0/0.0';
  type Op = ['direct', string] | ['static', string, string, number?] | ['bgp', string, string, string?] | ['del-static', string] | ['del-bgp', string, string?];
  const peerOf = (p?: string) => ipToInt(p ?? '10.7.7.2');
  const build = (ops: Op[], changes: string[] = []) => {
    const rib = new Rib({ onChange: (p, a) => changes.push(`${prefixStr(p)} ${a?.protocol ?? '-'}`) });
    for (const op of ops) {
      if (op[0] === 'direct') rib.add({ prefix: P(op[1]), protocol: 'Direct', source: 0, ifl: FE });
      else if (op[0] === 'static') rib.add({ prefix: P(op[1]), protocol: 'Static', source: 0, nextHop: ipToInt(op[2]), ifl: FE, ...(op[3] !== undefined ? { metric: op[3] } : {}) });
      else if (op[0] === 'bgp') {
        const b = path({ ebgp: false, peer: peerOf(op[3]), attrs: { nextHop: ipToInt(op[2]) } });
        rib.add({ prefix: P(op[1]), protocol: 'BGP', source: b.peer, nextHop: ipToInt(op[2]), bgp: b });
      } else if (op[0] === 'del-static') rib.remove(P(op[1]), 'Static');
      else rib.remove(P(op[1]), 'BGP', peerOf(op[2]));
    }
    return rib;
  };
  const LAN: Op = ['direct', '10.7.7.0/24'];
  // what a prefix's BGP route resolves to: gateway, IGP cost (Metric2), routes crossed, the first one; or why it is unusable
  type Want = { gw: string; cost: number; depth: number; via: string } | { unusable: string; at?: string };
  const ROWS: Array<[string, Op[], Record<string, Want>]> = [
    ['a next hop on a connected subnet: cost 0', [LAN, ['bgp', '10.1.0.0/16', '10.7.7.2']], { '10.1.0.0/16': { gw: '10.7.7.2', cost: 0, depth: 1, via: '10.7.7.0/24' } }],
    ["through a static route: the static route's metric is the IGP cost", [LAN, ['static', '172.16.0.0/16', '10.7.7.9', 20], ['bgp', '10.9.0.0/16', '172.16.0.1']], { '10.9.0.0/16': { gw: '10.7.7.9', cost: 20, depth: 1, via: '172.16.0.0/16' } }],
    ['a static route without metric costs 0', [LAN, ['static', '172.16.0.0/16', '10.7.7.9'], ['bgp', '10.9.0.0/16', '172.16.0.1']], { '10.9.0.0/16': { gw: '10.7.7.9', cost: 0, depth: 1, via: '172.16.0.0/16' } }],
    ['a chain of two: through a BGP route to a connected subnet', [LAN, ['bgp', '10.50.0.0/16', '10.7.7.2'], ['bgp', '10.60.0.0/16', '10.50.0.1']], {
      '10.50.0.0/16': { gw: '10.7.7.2', cost: 0, depth: 1, via: '10.7.7.0/24' }, '10.60.0.0/16': { gw: '10.7.7.2', cost: 0, depth: 2, via: '10.50.0.0/16' } }],
    ['a chain of two ending at a static route: its metric', [LAN, ['static', '172.16.0.0/16', '10.7.7.9', 7], ['bgp', '10.50.0.0/16', '172.16.0.1'], ['bgp', '10.60.0.0/16', '10.50.0.1']], {
      '10.60.0.0/16': { gw: '10.7.7.9', cost: 7, depth: 2, via: '10.50.0.0/16' } }],
    ['a chain of three, learned in reverse order: resolves when the last link comes', [LAN, ['bgp', '10.70.0.0/16', '10.60.0.1'], ['bgp', '10.60.0.0/16', '10.50.0.1'], ['bgp', '10.50.0.0/16', '10.7.7.2']], {
      '10.70.0.0/16': { gw: '10.7.7.2', cost: 0, depth: 3, via: '10.60.0.0/16' } }],
    ['the longest match decides: a BGP /24 over a static /16', [LAN, ['static', '10.50.0.0/16', '10.7.7.9', 5], ['bgp', '10.50.1.0/24', '10.7.7.2'], ['bgp', '10.60.0.0/16', '10.50.1.1']], {
      '10.60.0.0/16': { gw: '10.7.7.2', cost: 0, depth: 2, via: '10.50.1.0/24' } }],
    ['a route never resolves through itself: the shorter match', [LAN, ['static', '10.0.0.0/8', '10.7.7.9', 3], ['bgp', '10.80.0.0/16', '10.80.0.1']], { '10.80.0.0/16': { gw: '10.7.7.9', cost: 3, depth: 1, via: '10.0.0.0/8' } }],
    ['no route to the next hop: unusable', [LAN, ['bgp', '10.9.0.0/16', '172.16.0.1']], { '10.9.0.0/16': { unusable: 'no-route' } }],
    ['a loop of two: both unusable, and they stay so', [LAN, ['static', '10.0.0.0/8', '10.7.7.9'], ['bgp', '10.80.0.0/16', '10.90.0.1'], ['bgp', '10.90.0.0/16', '10.80.0.1']], {
      '10.80.0.0/16': { unusable: 'loop' }, '10.90.0.0/16': { unusable: 'loop' } }],
    ['a loop of three', [LAN, ['static', '10.0.0.0/8', '10.7.7.9'], ['bgp', '10.80.0.0/16', '10.90.0.1'], ['bgp', '10.90.0.0/16', '10.100.0.1'], ['bgp', '10.100.0.0/16', '10.80.0.1']], {
      '10.80.0.0/16': { unusable: 'loop' }, '10.90.0.0/16': { unusable: 'loop' }, '10.100.0.0/16': { unusable: 'loop' } }],
    ['a loop broken by a withdrawal: the other resolves again', [LAN, ['static', '10.0.0.0/8', '10.7.7.9', 2], ['bgp', '10.80.0.0/16', '10.90.0.1'], ['bgp', '10.90.0.0/16', '10.80.0.1'], ['del-bgp', '10.90.0.0/16']], {
      '10.80.0.0/16': { gw: '10.7.7.9', cost: 2, depth: 1, via: '10.0.0.0/8' } }],
    ['deeper than the bound: unusable', [LAN, ...Array.from({ length: 10 }, (_, i): Op => ['bgp', `10.${100 + i}.0.0/16`, i ? `10.${99 + i}.0.1` : '10.7.7.2'])], {
      '10.107.0.0/16': { gw: '10.7.7.2', cost: 0, depth: 8, via: '10.106.0.0/16' }, '10.108.0.0/16': { unusable: 'depth' } }],
    ['the resolving static route removed: the chain falls with it', [LAN, ['static', '172.16.0.0/16', '10.7.7.9'], ['bgp', '10.50.0.0/16', '172.16.0.1'], ['bgp', '10.60.0.0/16', '10.50.0.1'], ['del-static', '172.16.0.0/16']], {
      '10.50.0.0/16': { unusable: 'no-route' }, '10.60.0.0/16': { unusable: 'no-route' } }],
    ['a more specific static route added: the next hop resolves through it now', [LAN, ['static', '172.16.0.0/16', '10.7.7.9', 50], ['bgp', '10.50.0.0/16', '172.16.1.1'], ['bgp', '10.60.0.0/16', '10.50.0.1'], ['static', '172.16.1.0/24', '10.7.7.8', 4]], {
      '10.60.0.0/16': { gw: '10.7.7.8', cost: 4, depth: 2, via: '10.50.0.0/16' } }],
    ['the middle BGP route withdrawn: the chain falls to a shorter match', [LAN, ['static', '10.0.0.0/8', '10.7.7.9', 9], ['bgp', '10.50.0.0/16', '10.7.7.2'], ['bgp', '10.60.0.0/16', '10.50.0.1'], ['del-bgp', '10.50.0.0/16']], {
      '10.60.0.0/16': { gw: '10.7.7.9', cost: 9, depth: 1, via: '10.0.0.0/8' } }],
  ];
  for (const [name, ops, want] of ROWS) it(name, () => {
    const rib = build(ops);
    for (const [p, w] of Object.entries(want)) {
      const r = rib.routes(P(p)).find(x => x.protocol === 'BGP')!;
      expect(r, p).toBeDefined();
      if ('unusable' in w) {
        expect(rib.unusable(r), p).toMatchObject({ unusable: w.unusable });
        expect(rib.isHidden(r)).toBe(true);
        expect(rib.active(P(p)), p).toBeUndefined();
      } else {
        const f = rib.forwarding(r)!;
        expect({ gw: intToIp(f.gateway!), cost: f.cost, depth: f.depth, via: prefixStr(f.via!.prefix) }, p).toEqual(w);
        expect(rib.active(P(p)), p).toBe(r);
      }
    }
    expect(rib.unstable).toBe(0);
  });
  it("the IGP cost decides best path after eBGP over iBGP, before the router ID", () => {
    // 10.7.7.2 has the lower router ID and address, but its next hop costs 20 (static metric) against 10
    const rib = build([LAN, ['static', '172.16.0.0/16', '10.7.7.9', 20], ['static', '172.17.0.0/16', '10.7.7.8', 10]]);
    const add = (peer: string, nh: string, id: string, ebgp = false) => {
      const b = path({ ebgp, peer: ipToInt(peer), peerId: ipToInt(id), attrs: { nextHop: ipToInt(nh) } });
      rib.add({ prefix: P('10.9.0.0/16'), protocol: 'BGP', source: b.peer, nextHop: ipToInt(nh), bgp: b });
    };
    add('10.7.7.2', '172.16.0.1', '1.1.1.1');
    add('10.7.7.3', '172.17.0.1', '3.3.3.3');
    expect(rib.active(P('10.9.0.0/16'))!.source).toBe(ipToInt('10.7.7.3'));
    const [a, b] = rib.routes(P('10.9.0.0/16'));
    expect(compareBgp(rib.path(a!), rib.path(b!))).toMatchObject({ step: 'igp-cost' });
    // the static route's metric changes: best path follows
    rib.add({ prefix: P('172.16.0.0/16'), protocol: 'Static', source: 0, nextHop: ipToInt('10.7.7.9'), ifl: FE, metric: 5 });
    expect(rib.active(P('10.9.0.0/16'))!.source).toBe(ipToInt('10.7.7.2'));
    // an eBGP path wins before the IGP cost is looked at
    add('10.7.7.4', '172.16.0.1', '4.4.4.4', true);
    rib.add({ prefix: P('172.16.0.0/16'), protocol: 'Static', source: 0, nextHop: ipToInt('10.7.7.9'), ifl: FE, metric: 500 });
    expect(rib.active(P('10.9.0.0/16'))!.source).toBe(ipToInt('10.7.7.4'));
  });
  it('where a resolving route forwards changes: the routes over it are announced again (the forwarding table follows)', () => {
    const changes: string[] = [];
    const rib = build([LAN, ['static', '172.16.0.0/16', '10.7.7.9'], ['bgp', '10.50.0.0/16', '172.16.0.1'], ['bgp', '10.60.0.0/16', '10.50.0.1']], changes);
    changes.length = 0;
    rib.add({ prefix: P('172.16.0.0/16'), protocol: 'Static', source: 0, nextHop: ipToInt('10.7.7.7'), ifl: FE });
    expect(changes).toEqual(['172.16.0.0/16 Static', '10.50.0.0/16 BGP', '10.60.0.0/16 BGP']);
    expect(rib.forwarding(rib.active(P('10.60.0.0/16'))!)!.gateway).toBe(ipToInt('10.7.7.7'));
    expect(rib.resolving(rib.active(P('10.50.0.0/16'))!).map(r => prefixStr(r.prefix))).toEqual(['10.60.0.0/16']);
  });
});

describe('re-resolution after a BGP route changes is deferred and budgeted (a flapping peer cannot stall the thread)', () => {
  const FE = 'fe-0/0/0.0';
  it('a route covering 5000 next hops flaps 100 times in one turn: each dependent is selected again once per pass, RESOLVE_BUDGET per pass', () => {
    const jobs: Array<() => void> = [];
    let changes = 0;
    const rib = new Rib({ defer: fn => jobs.push(fn), onChange: () => changes++ });
    rib.add({ prefix: P('10.7.7.0/24'), protocol: 'Direct', source: 0, ifl: FE });
    rib.add({ prefix: P('172.16.0.0/12'), protocol: 'Static', source: 0, nextHop: ipToInt('10.7.7.9'), ifl: FE, metric: 50 });
    const ibgp = (prefix: string, nh: string, peer: string) => {
      const b = path({ ebgp: false, peer: ipToInt(peer), attrs: { nextHop: ipToInt(nh) } });
      return { prefix: P(prefix), protocol: 'BGP' as const, source: b.peer, nextHop: ipToInt(nh), bgp: b };
    };
    // 5000 routes from one peer, their next hops spread over 172.16.0.0/16
    for (let i = 0; i < 5000; i++) rib.add(ibgp(`${20 + (i >> 8)}.${i & 255}.0.0/16`, `172.16.${i >> 8}.${(i & 255) || 1}`, '10.7.7.2'));
    expect(jobs.length).toBe(0);
    // the other peer's 172.16.0.0/16 (over the shared subnet) takes their resolution, then goes, 100 times
    changes = 0;
    for (let i = 0; i < 100; i++) {
      rib.add(ibgp('172.16.0.0/16', '10.7.7.3', '10.7.7.3'));
      rib.remove(P('172.16.0.0/16'), 'BGP', ipToInt('10.7.7.3'));
    }
    rib.add(ibgp('172.16.0.0/16', '10.7.7.3', '10.7.7.3'));
    // nothing of the 5000 was touched in that turn: one deferred pass is waiting, all of them once
    expect(changes).toBe(201);
    expect(jobs.length).toBe(1);
    expect(rib.pendingResolution).toBe(5000);
    let passes = 0;
    while (jobs.length) {
      const before = rib.pendingResolution;
      jobs.shift()!();
      passes++;
      expect(before - rib.pendingResolution).toBeLessThanOrEqual(RESOLVE_BUDGET);
    }
    expect(passes).toBe(Math.ceil(5000 / RESOLVE_BUDGET));
    const f = rib.forwarding(rib.active(P('20.7.0.0/16'))!)!;
    expect([intToIp(f.gateway!), f.cost, prefixStr(f.via!.prefix)]).toEqual(['10.7.7.3', 0, '172.16.0.0/16']);
    expect(changes).toBe(201 + 5000);
    // withdrawn for good: settle() does the deferred work at once; back to the static route's metric
    rib.remove(P('172.16.0.0/16'), 'BGP', ipToInt('10.7.7.3'));
    rib.settle();
    expect(rib.forwarding(rib.active(P('20.7.0.0/16'))!)).toMatchObject({ gateway: ipToInt('10.7.7.9'), cost: 50 });
    expect(rib.unstable).toBe(0);
  });
});
