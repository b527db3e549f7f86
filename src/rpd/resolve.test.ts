/**
 * Recursive next-hop resolution in a router: two iBGP peers (speakers of their own over stream
 * pairs) announce routes whose next hops resolve through other BGP routes and through static routes
 * with a metric; `show route detail` and `show route hidden detail` against a golden file, the
 * forwarding table following the resolving routes through commits and withdrawals.
 */
import { it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { Router } from '../router/router.js';
import { Interpreter } from '../cli/interp.js';
import { transcript } from '../cli/transcript.js';
import { Bgp, streamWire } from './bgp.js';
import { Rib } from './rib.js';
import { realTimers } from './rpd.js';
import { compileRouting } from './config.js';
import { loadText } from '../config/load.js';
import { encodeUpdates } from './codec.js';
import { intToIp, ipToInt, parsePrefix as P } from '../net/ip.js';
import { expectGolden } from '../../test/helpers/golden.js';

const conf = (metric17: number, withDefault = true) => `
system { host-name gw; }
interfaces { fe-0/0/0 { unit 0 { family inet { address 10.7.7.1/24; } } } }
routing-options {
    autonomous-system 65001; router-id 10.7.7.1;
    static {
        route 172.16.0.0/16 { next-hop 10.7.7.9; metric 20; }
        route 172.17.0.0/16 { next-hop 10.7.7.8; metric ${metric17}; }
        ${withDefault ? 'route 10.0.0.0/8 next-hop 10.7.7.9;' : ''}
    }
}
protocols { bgp { group i { type internal; neighbor 10.7.7.2; neighbor 10.7.7.3; } } }`;
const peerConf = (me: string) => `routing-options { autonomous-system 65001; router-id ${me}; }
protocols { bgp { group i { type internal; neighbor 10.7.7.1; } } }`;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const f of cleanup.splice(0)) await f(); });
const until = async (cond: () => boolean) => { while (!cond()) await new Promise(res => setTimeout(res, 10)); };
/** ages and times vary from run to run */
const normalize = (s: string) => s.replace(/Age: \S+/g, 'Age: N').replace(/\d\d:\d\d:\d\d/g, 'HH:MM:SS');

it('BGP next hops resolve through BGP and static routes; Metric2 decides; loops hidden; the forwarding table follows', async () => {
  const r = new Router({ name: 'gw', ipsec: 'inline' });
  cleanup.push(() => r.stop());
  const c = r.commitText(conf(10));
  expect(c.ok, c.output).toBe(true);
  // a peer: its own speaker, joined to the router's session by a stream pair
  const peer = async (me: string) => {
    const ab = new PassThrough(), ba = new PassThrough();
    const [mine, theirs] = [Duplex.from({ readable: ba, writable: ab }), Duplex.from({ readable: ab, writable: ba })];
    const rib = new Rib();
    const sp: Bgp = new Bgp({ timers: realTimers, rib, localAddress: () => ipToInt(me), log: () => {}, connect: (_n, s) => s.outgoing(streamWire(theirs, s)) });
    cleanup.push(() => { sp.shutdown(); mine.destroy(); theirs.destroy(); });
    const s = r.rpd.bgp.session(ipToInt(me))!;
    s.incoming(streamWire(mine, s));
    sp.configure(compileRouting(loadText(peerConf(me))));
    await until(() => s.state === 'Established');
    const ps = sp.peers.get(ipToInt('10.7.7.1'))!.s;
    return {
      announce: (prefix: string, nh: string) => { for (const m of encodeUpdates([], [P(prefix)], { origin: 0, asPath: [], nextHop: ipToInt(nh), localPref: 100, unknown: [] }, 4)) ps.sendEstablished(m); },
      withdraw: (prefix: string) => { for (const m of encodeUpdates([P(prefix)], [], undefined, 4)) ps.sendEstablished(m); },
    };
  };
  const p2 = await peer('10.7.7.2'), p3 = await peer('10.7.7.3');
  const rib = r.rpd.rib;
  const bgpRoutes = () => rib.prefixes().reduce((n, p) => n + rib.routes(p).filter(x => x.protocol === 'BGP').length, 0);
  p2.announce('10.50.0.0/16', '10.7.7.2');  // on the shared subnet
  p2.announce('10.60.0.0/16', '10.50.0.1'); // through the BGP route above: a chain of two
  p2.announce('10.80.0.0/16', '10.90.0.1'); // these two resolve through each other: a loop
  p2.announce('10.90.0.0/16', '10.80.0.1');
  p2.announce('192.0.2.0/24', '172.16.0.1'); // through a static route of metric 20
  p3.announce('192.0.2.0/24', '172.17.0.1'); // ... of metric 10: the IGP cost decides
  await until(() => bgpRoutes() === 6);
  const fib = (ip: string) => { const x = r.pfe.routes.lookup(ipToInt(ip)); return x && x.nh.kind === 'gateway' ? `${x.protocol} ${intToIp(x.nh.gateway)} ${x.nh.ifl}` : x?.protocol; };
  await until(() => fib('10.60.0.1') === 'BGP 10.7.7.2 fe-0/0/0.0');
  expect(fib('192.0.2.1')).toBe('BGP 10.7.7.8 fe-0/0/0.0');
  expect(fib('10.80.0.1')).toBe('Static 10.7.7.9 fe-0/0/0.0'); // the loop is hidden: the static 10/8 forwards
  const it = new Interpreter(r);
  const out = normalize(await transcript(it, ['show route 10.60.0.0/16 detail', 'show route 192.0.2.0/24 detail', 'show route 10.50.0.0/16 detail', 'show route 172.17.0.0/16 detail', 'show route hidden detail', 'show route protocol bgp']));
  if (process.env.SHOW_BGP) console.log(out);
  expectGolden(join(import.meta.dirname, 'golden', 'show-route-resolve.golden'), out);
  const xml = await transcript(it, ['show route 10.60.0.0/16 detail | display xml']);
  expect(xml).toMatch(/<nh-type>Indirect<\/nh-type>\s*<nh-reference-count>1<\/nh-reference-count>[\s\S]*<protocol-nh>\s*<to>10\.50\.0\.1<\/to>[\s\S]*<metric2>0<\/metric2>/);

  // the static route's metric changes with a commit: best path follows, and the forwarding table
  expect(r.commitText(conf(30)).ok).toBe(true);
  await until(() => fib('192.0.2.1') === 'BGP 10.7.7.9 fe-0/0/0.0');
  expect(rib.active(P('192.0.2.0/24'))!.source).toBe(ipToInt('10.7.7.2'));
  // the middle of the chain withdrawn: 10.60/16 resolves through the static 10/8 now
  p2.withdraw('10.50.0.0/16');
  await until(() => fib('10.60.0.1') === 'BGP 10.7.7.9 fe-0/0/0.0');
  // ... and that static route removed: nothing resolves it, it is hidden and leaves the forwarding table
  expect(r.commitText(conf(30, false)).ok).toBe(true);
  await until(() => fib('10.60.0.1') === undefined);
  expect(rib.isHidden(rib.routes(P('10.60.0.0/16'))[0]!)).toBe(true);
  expect(await transcript(it, ['show route hidden detail'])).toMatch(/10\.60\.0\.0\/16 \(1 entry, 0 announced\)\n\s+BGP    Preference: 170\/-101\n\s+Next hop type: Unusable\n\s+Source: 10\.7\.7\.2\n\s+Protocol next hop: 10\.50\.0\.1\n\s+State: <Hidden Int Ext>\n\s+Inactive reason: Unusable path \(no route to the protocol next hop\)/);
  expect(rib.unstable).toBe(0);
});
