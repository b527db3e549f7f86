/**
 * rpd in a router: a BIRD-like peer (a standalone speaker) over a duplex stream pair to the router's
 * session; the learned route reaches the PFE's forwarding table and the show commands.
 */
import { it, expect, afterEach } from 'vitest';
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
import { AS_SEQUENCE } from './attributes.js';
import { ipToInt, parsePrefix as P } from '../net/ip.js';

const CONF = `
system { host-name gw; }
interfaces { fe-0/0/0 { unit 0 { family inet { address 10.7.7.1/24; } } } fe-0/0/1 { unit 0 { family inet { address 10.1.1.254/24; } } } }
routing-options { autonomous-system 65001; router-id 10.7.7.1; }
protocols { bgp { traceoptions { file bgp-trace size 10k files 2; flag open; flag state; } group up { type external; peer-as 65002; export lan; neighbor 10.7.7.2 { description bird; } } } }
policy-options { policy-statement lan { term d { from { protocol direct; route-filter 10.1.1.0/24 exact; } then accept; } } }`;
const PEER = `routing-options { autonomous-system 65002; router-id 10.7.7.2; }
protocols { bgp { group down { type external; peer-as 65001; export out; neighbor 10.7.7.1; } } }
policy-options { policy-statement out { term s { from protocol static; then accept; } } }`;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const f of cleanup.splice(0)) await f(); });

it('a route learned over BGP is active, in the forwarding table, and shown as JUNOS shows it', async () => {
  const r = new Router({ name: 'gw', ipsec: 'inline' });
  cleanup.push(() => r.stop());
  const c = r.commitText(CONF);
  expect(c.ok, c.output).toBe(true);
  // the peer: a speaker of its own, joined to the router's session by a stream pair
  const ab = new PassThrough(), ba = new PassThrough();
  const [mine, theirs] = [Duplex.from({ readable: ba, writable: ab }), Duplex.from({ readable: ab, writable: ba })];
  let peer!: Bgp;
  let learned!: () => void;
  const got = new Promise<void>(res => (learned = res));
  const rib = new Rib({ onChange: (p, a) => { peer.ribChanged(p); if (a?.protocol === 'BGP') learned(); } });
  peer = new Bgp({ timers: realTimers, rib, localAddress: () => ipToInt('10.7.7.2'), log: () => {}, connect: (_n, s) => s.outgoing(streamWire(theirs, s)) });
  cleanup.push(() => { peer.shutdown(); mine.destroy(); theirs.destroy(); });
  rib.add({ prefix: P('10.7.7.0/24'), protocol: 'Direct', source: 0, ifl: 'eth0' });
  rib.add({ prefix: P('192.0.2.0/24'), protocol: 'Static', source: 0, nextHop: ipToInt('10.7.7.9'), ifl: 'eth0' });
  const s = r.rpd.bgp.session(ipToInt('10.7.7.2'))!;
  s.incoming(streamWire(mine, s));
  peer.configure(compileRouting(loadText(PEER)));
  await got; // the peer learned our LAN
  while (r.pfe.routes.exact(P('192.0.2.0/24'))?.protocol !== 'BGP') await new Promise(res => setTimeout(res, 10));
  expect(r.pfe.routes.lookup(ipToInt('192.0.2.7'))).toMatchObject({ protocol: 'BGP', preference: 170, nh: { kind: 'gateway', ifl: 'fe-0/0/0.0', gateway: ipToInt('10.7.7.2') } });
  expect(rib.active(P('10.1.1.0/24'))!.bgp!.attrs.asPath[0]!.asns).toEqual([65001]);
  const it = new Interpreter(r);
  const out = await transcript(it, ['show route 192.0.2.0/24', 'show bgp summary', 'show route receive-protocol bgp 10.7.7.2', 'show route advertising-protocol bgp 10.7.7.2', 'show bgp neighbor 10.7.7.2', 'show route protocol bgp']);
  expect(out).toMatch(/192\.0\.2\.0\/24\s+\*\[BGP\/170\] \d\d:\d\d:\d\d, localpref 100\n\s+AS path: 65002 I\n\s+> to 10\.7\.7\.2 via fe-0\/0\/0\.0/);
  if (process.env.SHOW_BGP) console.log(out);
  expect(out).toMatch(/Groups: 1 Peers: 1 Down peers: 0/);
  expect(out).toMatch(/10\.7\.7\.2\s+65002\s+\d+\s+\d+\s+0\s+0\s+\S+ 1\/1\/1\/0/);
  expect(out).toMatch(/192\.0\.2\.0\/24\s+10\.7\.7\.2\s+65002 I/);
  expect(out).toMatch(/10\.1\.1\.0\/24\s+Self\s+65001 I/);
  expect(out).toMatch(/Peer: 10\.7\.7\.2\+179 AS 65002\s+Local: 10\.7\.7\.1 AS 65001\n  Description: bird\n  Type: External\s+State: Established/);
  // the same through the XML API's RPCs (here by | display xml, which answers with them)
  const xml = await transcript(it, ['show bgp summary | display xml', 'show bgp neighbor 10.7.7.2 | display xml']);
  expect(xml).toMatch(/<bgp-peer>\s*<peer-address>10\.7\.7\.2<\/peer-address>\s*<peer-as>65002<\/peer-as>[\s\S]*<peer-state>Established<\/peer-state>\s*<bgp-rib>\s*<name>inet\.0<\/name>\s*<active-prefix-count>1<\/active-prefix-count>/);
  expect(xml).toMatch(/<peer-address>10\.7\.7\.2\+179<\/peer-address>[\s\S]*<description>bird<\/description>[\s\S]*<peer-type>External<\/peer-type>/);
  // traceoptions: OPENs and state changes in /var/log/bgp-trace, no UPDATE (flag update not given)
  const trace = await transcript(it, ['show log bgp-trace']);
  expect(trace).toMatch(/rpd: \[open\] BGP peer 10\.7\.7\.2: Send OPEN length \d+/);
  expect(trace).toMatch(/rpd: \[open\] BGP peer 10\.7\.7\.2: Received OPEN/);
  expect(trace).toMatch(/rpd: \[state\] BGP peer 10\.7\.7\.2: state OpenConfirm -> Established/);
  expect(trace).not.toMatch(/UPDATE|KEEPALIVE/);
  // show route detail and hidden, from the RIB
  const det = await transcript(it, ['show route 192.0.2.7 detail', 'show route detail']);
  expect(det).toMatch(/192\.0\.2\.0\/24 \(1 entry, 1 announced\)\n\s+\*BGP    Preference: 170\/-101\n\s+Next hop type: Router\n\s+Next-hop reference count: 1\n\s+Source: 10\.7\.7\.2\n\s+Next hop: 10\.7\.7\.2 via fe-0\/0\/0\.0, selected\n\s+State: <Active Ext>\n\s+Local AS: 65001 Peer AS: 65002\n\s+Age: \d+\n\s+Task: BGP_65002\.10\.7\.7\.2\+179\n\s+Announcement bits \(1\): 0-KRT\n\s+AS path: 65002 I\n\s+Localpref: 100\n\s+Router ID: 10\.7\.7\.2/);
  expect(det).toMatch(/10\.1\.1\.0\/24 \(1 entry, 1 announced\)\n\s+\*Direct Preference: 0\n\s+Next hop type: Interface\n\s+Next-hop reference count: 1\n\s+Next hop: via fe-0\/0\/1\.0, selected\n\s+State: <Active Int>/);
  expect(det).toMatch(/10\.1\.1\.254\/32 \(1 entry, 1 announced\)\n\s+\*Local  Preference: 0\n\s+Next hop type: Local\n\s+Next-hop reference count: 1\n\s+Interface: fe-0\/0\/1\.0/);
  expect(await transcript(it, ['show route hidden'])).not.toMatch(/BGP/);
  // a route whose next hop resolves nowhere: hidden, shown by show route hidden (and its XML), not by detail
  const s2 = peer.peers.get(ipToInt('10.7.7.1'))!.s;
  for (const m of encodeUpdates([], [P('198.51.100.0/24')], { origin: 0, asPath: [{ type: AS_SEQUENCE, asns: [65002] }], nextHop: ipToInt('172.16.9.9'), unknown: [] }, 4)) s2.sendEstablished(m);
  while (!r.rpd.rib.routes(P('198.51.100.0/24')).length) await new Promise(res => setTimeout(res, 10));
  const hid = await transcript(it, ['show route hidden', 'show route hidden detail', 'show route hidden | display xml']);
  expect(hid).toMatch(/\(\d+ active, 0 holddown, 1 hidden\)/);
  expect(hid).toMatch(/198\.51\.100\.0\/24\s+\[BGP\/170\] \d\d:\d\d:\d\d, localpref 100, from 10\.7\.7\.2\n\s+AS path: 65002 I\n\s+Unusable/);
  expect(hid).toMatch(/ BGP    Preference: 170\/-101\n\s+Next hop type: Unusable\n\s+Source: 10\.7\.7\.2\n\s+Protocol next hop: 172\.16\.9\.9\n\s+State: <Hidden Ext>/);
  expect(hid).toMatch(/<hidden-route-count>1<\/hidden-route-count>[\s\S]*<rt-destination>198\.51\.100\.0<\/rt-destination>[\s\S]*<nh-type>Unusable<\/nh-type>/);
  expect(await transcript(it, ['show route detail'])).not.toMatch(/198\.51\.100/);
  // clear bgp neighbor: the session goes down and the route with it
  await transcript(it, ['clear bgp neighbor 10.7.7.2']);
  expect(r.pfe.routes.exact(P('192.0.2.0/24'))).toBeUndefined();
  expect(await transcript(it, ['show bgp neighbor 10.9.9.9'])).toMatch(/error: peer 10\.9\.9\.9 not found/);
});
