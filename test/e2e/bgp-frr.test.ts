/**
 * BGP with FRR (topologies/bgp-frr.yaml): FRR's bgpd and zebra in two Linux nodes, one gw's eBGP
 * upstream (AS 65002), one an internal peer in gw's own AS. Routes go both ways, with JUNOS's next-hop
 * rules (next-hop self by policy toward the iBGP peer), zebra installs them, and the two FRR nodes'
 * addresses reach each other through gw; an iBGP route whose next hop resolves through another BGP route
 * (recursive resolution). ROUTE-REFRESH both ways (FRR's `clear bgp ... soft in`, gw's
 * `clear bgp neighbor A soft-inbound` and `soft`), `show route detail` for eBGP and iBGP routes, a
 * SYN from an address that is no neighbor reset at once, and the Routing Engine's own ping to a
 * learned prefix leaving with the right source address.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, sh, leftovers, cleanup, waitUntil, processGone, Lab } from './helpers.js';

const hasFrr = canRun && (await sh('dpkg-query', ['-W', '-f=${Status}', 'frr'])).out.includes('install ok installed');

describe.skipIf(!hasFrr)(`BGP with FRR ${canRun ? (hasFrr ? '' : '(Debian frr missing: scripts/deps.sh)') : skipReason}`, () => {
  let lab: Lab;
  const daemons: number[] = [];
  const exec = async (...cmds: string[]) => await vrouter('exec', lab.file, 'gw', ...cmds);
  const bgpdPid = (node: string) => Number(readFileSync(`/var/lib/vrouter/${lab.name}/${node}/bgpd.pid`, 'utf8').trim());
  const vtysh = async (node: string, cmd: string) => (await sh('vtysh', ['--vty_socket', `/proc/${bgpdPid(node)}/root/run/frr`, '-c', cmd])).out;
  const json = async (node: string, cmd: string) => { try { return JSON.parse(await vtysh(node, cmd)); } catch { return undefined; } };
  const stats = async (node: string, peer: string) => (await json(node, `show bgp neighbors ${peer} json`))?.[peer]?.messageStats as Record<string, number> | undefined;
  const path = async (node: string, prefix: string) => (await json(node, `show bgp ipv4 unicast ${prefix} json`))?.paths?.[0];
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('bgp-frr', 'f');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
    // FRR's daemons, to know they are gone after down
    for (const node of ['frr-e', 'frr-i']) {
      for (const p of (await sh('ip', ['netns', 'pids', `${lab.name}-${node}`])).out.split('\n').filter(Boolean)) {
        try { if (/^(zebra|bgpd)$/.test(readFileSync(`/proc/${p}/comm`, 'utf8').trim())) daemons.push(Number(p)); } catch { /* gone */ }
      }
    }
    expect(daemons.length).toBe(4);
  }, 300000);
  afterAll(async () => {
    if (!lab) return;
    await cleanup(lab);
    expect(await leftovers(lab.name)).toEqual([]);
    expect(daemons.filter(p => !processGone(p))).toEqual([]);
  });

  it('eBGP and iBGP with FRR: routes both ways, next-hop self toward the iBGP peer, 10.9.9.9 and 10.8.8.8 reach each other through gw', async () => {
    await waitUntil(async () => { const s = (await exec('show bgp summary')).out; return /10\.0\.0\.2\s+65002\s+\d+\s+\d+\s+0\s+\d+\s+\S+ 1\/1\/1\/0/.test(s) && /10\.0\.2\.2\s+65001\s+\d+\s+\d+\s+0\s+\d+\s+\S+ 2\/2\/2\/0/.test(s); }, 'both sessions with FRR Established, a prefix from frr-e, two from frr-i', 90000);
    expect((await exec('show route 10.9.9.0/24')).out).toMatch(/10\.9\.9\.0\/24\s+\*\[BGP\/170\] \d\d:\d\d:\d\d, (MED \d+, )?localpref 100\n\s+AS path: 65002 I\n\s+> to 10\.0\.0\.2 via fe-0\/0\/0\.0/);
    expect((await exec('show route 10.8.8.0/24')).out).toMatch(/10\.8\.8\.0\/24\s+\*\[BGP\/170\] \d\d:\d\d:\d\d, (MED \d+, )?localpref 100, from 10\.0\.2\.2\n\s+AS path: I\n\s+> to 10\.0\.2\.2 via fe-0\/0\/2\.0/);
    // FRR's view: the iBGP peer has the upstream's prefix with gw as next hop, the upstream has the iBGP peer's
    const toI = await waitUntil(async () => await path('frr-i', '10.9.9.0/24'), 'frr-i to learn 10.9.9.0/24', 60000);
    expect(toI.aspath.string).toBe('65002');
    expect(toI.nexthops[0].ip).toBe('10.0.2.1');
    expect(toI.locPrf).toBe(100);
    const toE = await waitUntil(async () => await path('frr-e', '10.8.8.0/24'), 'frr-e to learn 10.8.8.0/24', 60000);
    expect(toE.aspath.string).toBe('65001');
    expect(toE.nexthops[0].ip).toBe('10.0.0.1');
    // zebra installed them: the FRR nodes' addresses reach each other through gw
    await waitUntil(async () => /10\.8\.8\.0\/24 nhid \d+ via 10\.0\.0\.1|10\.8\.8\.0\/24 via 10\.0\.0\.1/.test((await inNs(`${lab.name}-frr-e`, 'ip', 'route')).out), "frr-e's kernel to have 10.8.8.0/24", 30000);
    await waitUntil(async () => /10\.9\.9\.0\/24 (nhid \d+ )?via 10\.0\.2\.1/.test((await inNs(`${lab.name}-frr-i`, 'ip', 'route')).out), "frr-i's kernel to have 10.9.9.0/24", 30000);
    expect((await inNs(`${lab.name}-frr-e`, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.9.9.9', '10.8.8.8')).out).toMatch(/3 received/);
    expect((await exec('show bgp neighbor 10.0.2.2')).out).toMatch(/Type: Internal\s+State: Established[\s\S]*NLRI advertised by peer: inet-unicast refresh 4-byte-AS/);
  }, 180000);

  it('show route detail: the eBGP route, the iBGP route with its protocol next hop; protocol bgp detail; XML', async () => {
    const e = (await exec('show route 10.9.9.0/24 detail')).out;
    expect(e).toMatch(/10\.9\.9\.0\/24 \(1 entry, 1 announced\)\n\s+\*BGP    Preference: 170\/-101\n\s+Next hop type: Router\n\s+Next-hop reference count: \d+\n\s+Source: 10\.0\.0\.2\n\s+Next hop: 10\.0\.0\.2 via fe-0\/0\/0\.0, selected\n\s+State: <Active Ext>\n\s+Local AS: 65001 Peer AS: 65002\n\s+Age: \S+( \tMetric: \d+)?\n\s+Task: BGP_65002\.10\.0\.0\.2\+179\n\s+Announcement bits \(2\): 0-KRT 1-BGP RT Background\n\s+AS path: 65002 I\n\s+Localpref: 100\n\s+Router ID: 10\.0\.0\.2/);
    const i = (await exec('show route 10.8.8.8 detail')).out;
    expect(i).toMatch(/\*BGP    Preference: 170\/-101\n\s+Next hop type: Indirect\n\s+Next-hop reference count: 1\n\s+Source: 10\.0\.2\.2\n\s+Next hop type: Router\n\s+Next-hop reference count: \d+\n\s+Next hop: 10\.0\.2\.2 via fe-0\/0\/2\.0, selected\n\s+Protocol next hop: 10\.0\.2\.2\n\s+State: <Active Int Ext>\n\s+Local AS: 65001 Peer AS: 65001\n\s+Age: \S+( \tMetric: \d+)? \tMetric2: 0\n/);
    const all = (await exec('show route protocol bgp detail')).out;
    expect(all.match(/\*BGP {4}Preference/g)?.length).toBe(3);
    expect(all).not.toMatch(/\*(Direct|Local) +Preference/);
    const xml = (await exec('show route 10.8.8.0/24 detail | display xml')).out;
    expect(xml).toMatch(/<rt-entry junos:style="detail">[\s\S]*<protocol-name>BGP<\/protocol-name>[\s\S]*<nh-type>Indirect<\/nh-type>[\s\S]*<protocol-nh>\s*<to>10\.0\.2\.2<\/to>[\s\S]*<rt-entry-state>Active Int Ext<\/rt-entry-state>[\s\S]*<as-path>I<\/as-path>/);
  });

  it("recursive resolution: frr-i's 10.88.0.0/16 has 10.8.8.8 as next hop, which gw resolves through its BGP route 10.8.8.0/24; 10.9.9.9 reaches 10.88.8.8", async () => {
    const d = (await exec('show route 10.88.0.0/16 detail')).out;
    expect(d).toMatch(/\*BGP    Preference: 170\/-101\n\s+Next hop type: Indirect\n\s+Next-hop reference count: 1\n\s+Source: 10\.0\.2\.2\n\s+Next hop type: Router\n\s+Next-hop reference count: 2\n\s+Next hop: 10\.0\.2\.2 via fe-0\/0\/2\.0, selected\n\s+Protocol next hop: 10\.8\.8\.8\n\s+State: <Active Int Ext>/);
    // the route it resolves through is announced to the resolver
    expect((await exec('show route 10.8.8.0/24 detail')).out).toMatch(/Announcement bits \(\d\): 0-KRT 1-BGP RT Background 2-Resolve tree 1/);
    const toE = await waitUntil(async () => await path('frr-e', '10.88.0.0/16'), 'frr-e to learn 10.88.0.0/16', 60000);
    expect(toE.nexthops[0].ip).toBe('10.0.0.1');
    await waitUntil(async () => /10\.88\.0\.0\/16 (nhid \d+ )?via 10\.0\.0\.1/.test((await inNs(`${lab.name}-frr-e`, 'ip', 'route')).out), "frr-e's kernel to have 10.88.0.0/16", 30000);
    expect((await inNs(`${lab.name}-frr-e`, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.9.9.9', '10.88.8.8')).out).toMatch(/3 received/);
  }, 120000);

  it('ROUTE-REFRESH: FRR asks (soft in) and gw sends its routes again; gw asks (soft-inbound) and FRR does; clear ... soft re-sends, no flap', async () => {
    const before = (await stats('frr-e', '10.0.0.1'))!;
    await vtysh('frr-e', 'clear bgp ipv4 unicast 10.0.0.1 soft in');
    await waitUntil(async () => /Input messages:  Total \d+\tUpdates \d+\tRefreshes 1/.test((await exec('show bgp neighbor 10.0.0.2')).out), 'gw to receive the ROUTE-REFRESH', 30000);
    await waitUntil(async () => ((await stats('frr-e', '10.0.0.1'))?.updatesRecv ?? 0) > before.updatesRecv, 'FRR to get the routes again', 30000);
    expect((await path('frr-e', '10.8.8.0/24'))?.aspath.string).toBe('65001');

    const inUpd = async () => Number(/Input messages:  Total \d+\tUpdates (\d+)/.exec((await exec('show bgp neighbor 10.0.2.2')).out)?.[1]);
    const u0 = await inUpd(), rr0 = (await stats('frr-i', '10.0.2.1'))!.routeRefreshRecv ?? 0;
    await exec('clear bgp neighbor 10.0.2.2 soft-inbound');
    await waitUntil(async () => ((await stats('frr-i', '10.0.2.1'))?.routeRefreshRecv ?? 0) > rr0, 'FRR to receive the ROUTE-REFRESH', 30000);
    await waitUntil(async () => await inUpd() > u0, "gw to get frr-i's routes again", 30000);
    expect((await exec('show bgp neighbor 10.0.2.2')).out).toMatch(/Output messages: Total \d+\tUpdates \d+\tRefreshes 1/);

    const i0 = (await stats('frr-i', '10.0.2.1'))!.updatesRecv;
    await exec('clear bgp neighbor 10.0.2.2 soft');
    await waitUntil(async () => ((await stats('frr-i', '10.0.2.1'))?.updatesRecv ?? 0) > i0, 'frr-i to get the routes again', 30000);
    // nothing flapped
    expect((await exec('show bgp summary')).out).toMatch(/10\.0\.2\.2\s+65001\s+\d+\s+\d+\s+0\s+0\s+\S+ 2\/2\/2\/0/);
    expect((await exec('show bgp summary')).out).toMatch(/10\.0\.0\.2\s+65002\s+\d+\s+\d+\s+0\s+0\s+\S+ 1\/1\/1\/0/);
  }, 120000);

  it('a SYN to 179 from an address that is no neighbor is reset at once; the Routing Engine pings a learned prefix from the right address', async () => {
    // from frr-e's 10.9.9.9 (reachable: gw learned 10.9.9.0/24), which is no neighbor of gw
    const py = "import socket\ns=socket.socket(); s.bind(('10.9.9.9',0)); s.settimeout(10)\ntry:\n  s.connect(('10.0.0.1',179)); print('connected')\nexcept ConnectionRefusedError: print('refused')\nexcept Exception as e: print(type(e).__name__)";
    expect((await inNs(`${lab.name}-frr-e`, 'python3', '-c', py)).out.trim()).toBe('refused');
    expect((await vrouter('exec', lab.file, 'gw', 'show log messages')).out).toMatch(/Connection attempt from unconfigured neighbor: 10\.9\.9\.9\+\d+/);
    // the Routing Engine's own stack (its kernel, in the router's namespace): 10.8.8.8 from fe-0/0/2's address
    const re = `vr-${lab.name}-gw`;
    expect((await sh('ip', ['netns', 'exec', re, 'ip', 'route', 'get', '10.8.8.8'])).out).toMatch(/10\.8\.8\.8 dev re0 src 10\.0\.2\.1/);
    expect((await sh('ip', ['netns', 'exec', re, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '10.8.8.8'])).out).toMatch(/3 received/);
  });
});
