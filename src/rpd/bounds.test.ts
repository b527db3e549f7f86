/**
 * What a configured peer can make rpd hold or do: the Adj-RIB-In's bounds, a full RIB, the cost of
 * an UPDATE batch (trie compiles), of an unchanged commit, of ROUTE-REFRESHes, and UPDATEs that
 * would not fit in 4096 bytes. A router with in-memory stream peers (standalone speakers).
 */
import { it, expect, afterEach } from 'vitest';
import { Duplex, PassThrough } from 'node:stream';
import { Router } from '../router/router.js';
import { Bgp, streamWire, READ_SLICE } from './bgp.js';
import { Rib } from './rib.js';
import { realTimers } from './rpd.js';
import { compileRouting } from './config.js';
import { loadText } from '../config/load.js';
import { decodeMessage, encodeUpdates, encodeRouteRefresh, MAX_MESSAGE } from './codec.js';
import { AS_SEQUENCE, PathAttrs } from './attributes.js';
import { ipToInt, Prefix } from '../net/ip.js';

const CONF = `system { host-name gw; }
interfaces { fe-0/0/0 { unit 0 { family inet { address 10.7.7.1/24; } } } }
routing-options { autonomous-system 65001; router-id 10.7.7.1; }
protocols { bgp { group up { type external; neighbor 10.7.7.2 { peer-as 65002; } neighbor 10.7.7.3 { peer-as 65003; } } } }`;
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const f of cleanup.splice(0)) await f(); });
const until = async (f: () => boolean) => { while (!f()) await new Promise(res => setTimeout(res, 5)); };

interface Speaker { bgp: Bgp; rib: Rib; s: () => ReturnType<Bgp['session']> & object; updates: number[]; notifications: string[] }
function speaker(r: Router, addr: string, as: number): Speaker {
  const ab = new PassThrough(), ba = new PassThrough();
  const mine = Duplex.from({ readable: ba, writable: ab }), theirs = Duplex.from({ readable: ab, writable: ba });
  const updates: number[] = [], notifications: string[] = [];
  // what the router writes to this peer, message by message
  let buf = Buffer.alloc(0);
  ab.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 19 && buf.length >= buf.readUInt16BE(16)) {
      const len = buf.readUInt16BE(16), m = buf.subarray(0, len);
      if (m[18] === 2) updates.push(len);
      if (m[18] === 3) notifications.push(`${m[19]}/${m[20]}`);
      buf = buf.subarray(len);
    }
  });
  let bgp!: Bgp;
  const rib = new Rib({ onChange: p => bgp.ribChanged(p) });
  bgp = new Bgp({ timers: realTimers, rib, localAddress: () => ipToInt(addr), log: () => {}, connect: (_n, s) => s.outgoing(streamWire(theirs, s)) });
  const s = r.rpd.bgp.session(ipToInt(addr))!;
  s.incoming(streamWire(mine, s));
  bgp.configure(compileRouting(loadText(`routing-options { autonomous-system ${as}; router-id ${addr}; } protocols { bgp { group g { type external; peer-as 65001; neighbor 10.7.7.1; } } }`)));
  cleanup.push(() => { bgp.shutdown(); mine.destroy(); theirs.destroy(); });
  return { bgp, rib, s: () => bgp.peers.get(ipToInt('10.7.7.1'))!.s, updates, notifications };
}
async function router(peers: Array<[string, number]> = [['10.7.7.2', 65002]]) {
  const r = new Router({ name: 'gw', ipsec: 'inline' });
  cleanup.push(() => r.stop());
  expect(r.commitText(CONF).ok).toBe(true);
  const sp = peers.map(([a, as]) => speaker(r, a, as));
  await until(() => peers.every(([a]) => r.rpd.bgp.session(ipToInt(a))!.state === 'Established'));
  return { r, sp };
}
const many = (n: number, base = '100.0.0.0'): Prefix[] => Array.from({ length: n }, (_, i) => ({ addr: (ipToInt(base) + i * 256) >>> 0, len: 24 }));
const ATTRS: PathAttrs = { origin: 0, asPath: [{ type: AS_SEQUENCE, asns: [65002] }], nextHop: ipToInt('10.7.7.2'), unknown: [] };
const announce = (sp: Speaker, ps: Prefix[], attrs = ATTRS) => { for (const m of encodeUpdates([], ps, attrs, 4)) sp.s().sendEstablished(m); };
const messages = (r: Router) => (r.log.read('messages') ?? []) as string[];

it('the Adj-RIB-In is bounded: at the bound the session is torn down with Cease 6/1 and logged; a full RIB is logged once, with a count', async () => {
  const { r, sp: [a] } = await router();
  const bgp = r.rpd.bgp, peer = bgp.peers.get(ipToInt('10.7.7.2'))!;
  (r.rpd.rib as unknown as { opts: { maxRoutes: number } }).opts.maxRoutes = 300;
  // beyond the RIB's bound: refused and counted, one line for the episode, not one a prefix
  announce(a!, many(800));
  await until(() => peer.adjIn.size === 800);
  await until(() => messages(r).some(l => l.includes('routing table full')));
  expect(r.rpd.rib.count).toBe(300);
  expect(messages(r).filter(l => l.includes('routing table full'))).toHaveLength(1);
  expect(messages(r).find(l => l.includes('routing table full'))).toMatch(/\d+ prefixes not added/);
  // beyond the Adj-RIB-In's bound (made small here): Cease, maximum number of prefixes reached
  bgp.limits.adjIn = 1000;
  announce(a!, many(400, '120.0.0.0'));
  await until(() => a!.notifications.includes('6/1'));
  expect(peer.adjIn.size).toBe(0);
  expect(bgp.adjInTotal).toBe(0);
  expect(bgp.attrBytesTotal).toBe(0);
  expect(messages(r).join('\n')).toMatch(/maximum number of prefixes reached \(Adj-RIB-In bound of 1000 prefixes from the peer\)/);
});

it('the bounds count path attribute bytes once per attribute set, and in all peers', async () => {
  const { r, sp: [a, b] } = await router([['10.7.7.2', 65002], ['10.7.7.3', 65003]]);
  const bgp = r.rpd.bgp;
  bgp.limits.adjInTotal = 500;
  announce(a!, many(400));
  await until(() => bgp.adjInTotal === 400);
  const oneSet = bgp.attrBytesTotal;
  expect(oneSet).toBeGreaterThan(0);
  expect(oneSet).toBeLessThan(1000); // 400 prefixes share one attribute set
  announce(b!, many(200, '130.0.0.0'), { ...ATTRS, asPath: [{ type: AS_SEQUENCE, asns: [65003] }], nextHop: ipToInt('10.7.7.3') });
  await until(() => b!.notifications.includes('6/1'));
  expect(bgp.peers.get(ipToInt('10.7.7.3'))!.adjIn.size).toBe(0);
  expect(bgp.adjInTotal).toBe(400);
  expect(messages(r).join('\n')).toMatch(/Adj-RIB-In bound of 500 prefixes from all peers/);
});

it('an UPDATE batch compiles the forwarding trie once, not once a prefix; an unchanged commit re-installs and re-imports nothing', async () => {
  const { r, sp: [a] } = await router();
  const N = 3000;
  const b0 = r.pfe.routes.builds;
  announce(a!, many(N));
  await until(() => r.rpd.rib.count >= N + 2 && r.rpd.kernelRoutes().length === N);
  const builds = r.pfe.routes.builds - b0;
  expect(builds).toBeLessThanOrEqual(10); // a few UPDATEs, a few reads: one compile each at most
  const p = many(1)[0]!;
  const ribBefore = r.rpd.rib.active(p), fwdBefore = r.pfe.routes.exact(p);
  expect(fwdBefore?.protocol).toBe('BGP');
  expect(r.commitText(CONF).ok).toBe(true);
  const t = r.pfe.routes, tb = t.builds;
  await new Promise(res => setTimeout(res, 20));
  expect(r.rpd.kernelRoutes()).toHaveLength(N);
  expect(t.builds - tb).toBeLessThanOrEqual(1);
  expect(r.rpd.rib.active(p)).toBe(ribBefore);   // not imported anew
  expect(r.pfe.routes.exact(p)).toBe(fwdBefore); // not installed anew
});

it('ROUTE-REFRESH: the export pass takes a bounded number of prefixes a turn; refreshes during a resend are coalesced', async () => {
  const { r, sp: [a, b] } = await router([['10.7.7.2', 65002], ['10.7.7.3', 65003]]);
  const bgp = r.rpd.bgp, pB = bgp.peers.get(ipToInt('10.7.7.3'))!;
  bgp.limits.flush = 1000;
  const per: number[] = [];
  const flush = (bgp as unknown as { flush(): void; advertise(p: unknown, ps: Prefix[]): void });
  const adv = flush.advertise.bind(bgp), fl = flush.flush.bind(bgp);
  let n = 0;
  flush.advertise = (p, ps) => { n += ps.length; adv(p, ps); };
  flush.flush = () => { n = 0; fl(); per.push(n); };
  announce(a!, many(5000));
  await until(() => pB.adjOut.size === 5000);
  expect(Math.max(...per)).toBeLessThanOrEqual(1000);
  const u0 = b!.updates.length;
  per.length = 0;
  for (let i = 0; i < 5; i++) b!.s().sendEstablished(encodeRouteRefresh());
  await until(() => (pB.refreshCoalesced ?? 0) >= 4 && !pB.resending && !(pB.refreshAgain ?? false));
  await until(() => per.length > 0 && !pB.resending);
  expect(Math.max(...per)).toBeLessThanOrEqual(1000);
  // at most two full resends (the one asked for, and one for the refreshes that came during it)
  const resent = b!.updates.length - u0;
  expect(resent).toBeGreaterThan(0);
  expect(resent).toBeLessThanOrEqual(2 * Math.ceil(5000 / 800) * 2);
  expect(pB.s.state).toBe('Established');
});

it('an UPDATE that would pass 4096 bytes toward a peer is not sent (withdrawn toward it, logged once); unknown attributes are capped', async () => {
  const { r, sp: [a, b] } = await router([['10.7.7.2', 65002], ['10.7.7.3', 65003]]);
  const sB = r.rpd.bgp.session(ipToInt('10.7.7.3'))!;
  // 3 full segments and one of 246 ASes: a 4094-byte UPDATE; with our AS prepended it would be 4100
  const asPath = [{ type: AS_SEQUENCE as 2, asns: [65002, ...Array.from({ length: 254 }, (_, i) => 64600 + i)] },
    ...[0, 1].map(() => ({ type: AS_SEQUENCE as 2, asns: Array.from({ length: 255 }, (_, i) => 64000 + i) })), { type: AS_SEQUENCE as 2, asns: Array.from({ length: 246 }, (_, i) => 63000 + i) }];
  const big = encodeUpdates([], [{ addr: ipToInt('198.51.100.0'), len: 24 }], { ...ATTRS, asPath }, 4);
  expect(big).toHaveLength(1);
  expect(big[0]!.length).toBeGreaterThan(MAX_MESSAGE - 6); // fits; 6 more (our AS in a segment of its own) do not
  a!.s().sendEstablished(big[0]!);
  announce(a!, [{ addr: ipToInt('203.0.113.0'), len: 24 }], { ...ATTRS, unknown: [{ flags: 0xc0, type: 99, value: Buffer.alloc(2000, 1) }, { flags: 0xc0, type: 98, value: Buffer.alloc(500, 2) }] });
  await until(() => b!.rib.routes({ addr: ipToInt('203.0.113.0'), len: 24 }).length > 0);
  await until(() => messages(r).some(l => l.includes('not advertised')));
  expect(r.rpd.rib.active({ addr: ipToInt('198.51.100.0'), len: 24 })?.protocol).toBe('BGP');
  expect(b!.rib.routes({ addr: ipToInt('198.51.100.0'), len: 24 })).toEqual([]);
  expect(Math.max(...b!.updates)).toBeLessThanOrEqual(MAX_MESSAGE);
  expect(sB.state).toBe('Established');
  expect(b!.notifications).toEqual([]);
  expect(messages(r).filter(l => l.includes('not advertised'))).toHaveLength(1);
  // the 2000-byte unknown attribute does not fit in the 1024 bytes kept; the 500-byte one does
  const kept = r.rpd.rib.active({ addr: ipToInt('203.0.113.0'), len: 24 })!.bgp!.attrs.unknown;
  expect(kept.map(u => u.type)).toEqual([98]);
  expect(messages(r).join('\n')).toMatch(/unknown optional transitive attributes beyond 1024 bytes discarded \(type 99\)/);
});

it('encodeUpdates never makes an UPDATE over 4096 bytes, whatever the attributes', () => {
  for (const size of [3000, 4000, 4050, 4060, 4100]) {
    const msgs = encodeUpdates([], [{ addr: 0, len: 0 }, { addr: ipToInt('10.0.0.0'), len: 8 }, { addr: ipToInt('10.1.2.3'), len: 32 }], { ...ATTRS, unknown: [{ flags: 0xc0, type: 99, value: Buffer.alloc(size) }] }, 4);
    for (const m of msgs) { expect(m.length).toBeLessThanOrEqual(MAX_MESSAGE); expect(decodeMessage(m).msg?.type).toBe('update'); }
  }
});

it('a big read (many UPDATEs at once) reaches the session in slices, one a turn, the socket paused meanwhile', async () => {
  const { r, sp: [a] } = await router();
  const s = r.rpd.bgp.session(ipToInt('10.7.7.2'))!;
  const sizes: number[] = [];
  const data = s.data.bind(s);
  s.data = (w, d) => { sizes.push(d.length); data(w, d); };
  const msgs = encodeUpdates([], many(20000), ATTRS, 4);
  // one write of all of them (some 80 KB): one read on the router's side
  (a!.s() as unknown as { sendEstablished(b: Buffer): boolean }).sendEstablished(Buffer.concat(msgs));
  await until(() => r.rpd.rib.count >= 20002);
  expect(sizes.reduce((x, y) => x + y, 0)).toBeGreaterThan(80000);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(READ_SLICE);
  expect(r.rpd.bgp.peers.get(ipToInt('10.7.7.2'))!.adjIn.size).toBe(20000);
});
