/**
 * BGP with a real peer nobody here wrote (topologies/bgp-bird.yaml): BIRD 2 in a Linux node as gw's
 * eBGP upstream. BIRD announces 10.9.9.0/24, gw learns it and installs it, host-a reaches 10.9.9.9
 * through it, and BIRD learns gw's LAN back (the replies follow it). The session is the router's own
 * TCP, through the Routing Engine stack and the PFE: lo0's input filter guards it.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, waitUntil, capture, linkOf, Lab } from './helpers.js';

describe.skipIf(!canRun)(`BGP with BIRD ${skipReason}`, () => {
  let lab: Lab;
  const exec = async (...cmds: string[]) => await vrouter('exec', lab.file, 'gw', ...cmds);
  const birdc = async (...args: string[]) => (await inNs(`${lab.name}-bird`, 'birdc', '-s', `/var/lib/vrouter/${lab.name}/bird/bird.ctl`, ...args)).out;
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('bgp-bird', 'b');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
  }, 300000); // a build and a lab's start, on a busy machine
  afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

  it('the session comes up with BIRD; gw learns 10.9.9.0/24, BIRD learns 10.1.1.0/24; host-a reaches 10.9.9.9', async () => {
    await waitUntil(async () => /10\.0\.0\.2\s+65002\s+\d+\s+\d+\s+0\s+\d+\s+\S+ 1\/1\/1\/0/.test((await exec('show bgp summary')).out), 'the session with BIRD Established, one prefix learned', 60000);
    const route = (await exec('show route 10.9.9.0/24')).out;
    expect(route).toMatch(/10\.9\.9\.0\/24\s+\*\[BGP\/170\] \d\d:\d\d:\d\d, localpref 100\n\s+AS path: 65002 I\n\s+> to 10\.0\.0\.2 via fe-0\/0\/0\.0/);
    expect((await exec('show route receive-protocol bgp 10.0.0.2')).out).toMatch(/10\.9\.9\.0\/24\s+10\.0\.0\.2/);
    expect((await exec('show route advertising-protocol bgp 10.0.0.2')).out).toMatch(/10\.1\.1\.0\/24\s+Self\s+65001 I/);
    await waitUntil(async () => /10\.1\.1\.0\/24\s+unicast \[vrouter .*AS65001i\]/.test(await birdc('show', 'route')), 'BIRD to learn 10.1.1.0/24 from gw');
    const ping = (await inNs(`${lab.name}-host-a`, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '10.9.9.9')).out;
    expect(ping).toMatch(/3 received/);
    expect((await exec('show bgp neighbor 10.0.0.2')).out).toMatch(/Type: External\s+State: Established[\s\S]*NLRI advertised by peer: inet-unicast refresh 4-byte-AS/);
  }, 120000);

  it('clear bgp neighbor: BIRD sees the Cease, the session comes back', async () => {
    await exec('clear bgp neighbor 10.0.0.2');
    // the peer's row: one flap, Established again with its prefix
    await waitUntil(async () => /10\.0\.0\.2\s+65002\s+\d+\s+\d+\s+0\s+1\s+\S+ 1\/1\/1\/0/.test((await exec('show bgp summary')).out), 'the session back', 60000);
    expect((await exec('show bgp neighbor 10.0.0.2')).out).toMatch(/Last Error: Cease \(subcode 4\) Sent/);
  }, 90000);

  it("lo0's input filter guards the session: TCP from BIRD discarded keeps it down (counted), the filter removed brings it back", async () => {
    const c = await exec('configure', 'set firewall filter protect-re term no-bgp from source-address 10.0.0.2/32', 'set firewall filter protect-re term no-bgp from protocol tcp',
      'set firewall filter protect-re term no-bgp then discard', 'set firewall filter protect-re term rest then accept', 'set interfaces lo0 unit 0 family inet filter input protect-re', 'commit', 'exit');
    expect(c.out).toMatch(/commit complete/);
    await exec('clear bgp neighbor 10.0.0.2');
    const dropped = async () => Number(/no-bgp\s+\d+\s+(\d+)/.exec((await exec('show firewall')).out)?.[1] ?? 0);
    // BIRD keeps trying (connect retry 2 s); each attempt dies at lo0's filter
    await waitUntil(async () => await dropped() >= 3, "BIRD's segments discarded by lo0's filter", 60000);
    expect((await exec('show bgp summary')).out).not.toMatch(/10\.0\.0\.2\s+65002\s+\d+\s+\d+\s+0\s+\d+\s+\S+ 1\/1\/1\/0/);
    expect((await exec('configure', 'delete interfaces lo0 unit 0 family inet filter', 'commit', 'exit')).out).toMatch(/commit complete/);
    await waitUntil(async () => /10\.0\.0\.2\s+65002\s+\d+\s+\d+\s+0\s+2\s+\S+ 1\/1\/1\/0/.test((await exec('show bgp summary')).out), 'the session back', 90000);
  }, 180000);
});

/**
 * topologies/bgp-ipsec.yaml: BIRD announces 10.9.9.0/24 to gw, gw passes it to gw2 over the transport
 * SA, hosts behind each gateway reach it (and each other) through the ES PIC tunnel the learned routes
 * resolve into, BIRD learns both LANs; the wire between the vrouters carries only ESP.
 */
describe.skipIf(!canRun)(`BGP over a transport SA ${skipReason}`, () => {
  let lab: Lab;
  const exec = async (node: string, ...cmds: string[]) => await vrouter('exec', lab.file, node, ...cmds);
  const birdc = async (...args: string[]) => (await inNs(`${lab.name}-bird`, 'birdc', '-s', `/var/lib/vrouter/${lab.name}/bird/bird.ctl`, ...args)).out;
  const ping = async (host: string, dst: string) => (await inNs(`${lab.name}-${host}`, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', dst)).out;
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('bgp-ipsec', 'i');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
  }, 300000); // a build and a lab's start, on a busy machine
  afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

  it('routes go BIRD -> gw -> gw2 and back; the hosts reach 10.9.9.9 and each other; only ESP between the vrouters', async () => {
    await waitUntil(async () => /10\.9\.9\.0\/24\s+\*\[BGP\/170\][^\n]*\n\s+AS path: 65001 65002 I\n\s+> via es-0\/1\/0\.0/.test((await exec('gw2', 'show route 10.9.9.0/24')).out), 'gw2 to learn 10.9.9.0/24 from gw, into the tunnel', 90000);
    await waitUntil(async () => /10\.2\.2\.0\/24\s+\*\[BGP\/170\][^\n]*\n\s+AS path: 65003 I\n\s+> via es-0\/1\/0\.0/.test((await exec('gw', 'show route 10.2.2.0/24')).out), 'gw to learn 10.2.2.0/24 from gw2', 60000);
    await waitUntil(async () => /10\.2\.2\.0\/24\s+unicast \[vrouter .*AS65003i\]/.test(await birdc('show', 'route')) && /10\.1\.1\.0\/24\s+unicast \[vrouter .*AS65001i\]/.test(await birdc('show', 'route')), 'BIRD to learn both LANs', 60000);
    expect((await exec('gw2', 'show bgp neighbor 10.0.1.1')).out).toMatch(/State: Established[\s\S]*IPsec SA: bgp-sa/);
    const t = await linkOf(lab.file, 'gw:fe-0/0/2', 'gw2:fe-0/0/0');
    const lines = await capture(t.netns, t.device, async () => {
      expect(await ping('host-b', '10.9.9.9')).toMatch(/3 received/);
      expect(await ping('host-a', '10.9.9.9')).toMatch(/3 received/);
      expect(await ping('host-b', '10.1.1.1')).toMatch(/3 received/);
      await exec('gw', 'clear bgp neighbor 10.0.1.2'); // BGP's own packets (a new session) cross the wire too
      await waitUntil(async () => /10\.0\.1\.2\s+65003\s+\d+\s+\d+\s+0\s+[1-9]\d*\s+\S+ \d+\/\d+\/\d+\/0/.test((await exec('gw', 'show bgp summary')).out), 'the session with gw2 back', 60000);
    }, 17);
    for (const l of lines) expect(l).toMatch(/ESP\(spi=0x0000(012c|0bb9)/);
    // the tunnel: host-b's 3 pings to 10.9.9.9 and 3 to host-a, each request and reply once (host-a's
    // to 10.9.9.9 stay on gw's side). The transport SA: the new session's TCP handshake (3) and one
    // OPEN each way at least; how many segments its OPEN, KEEPALIVE and UPDATEs take is TCP's affair
    expect(lines.filter(l => /spi=0x00000bb9/.test(l)).length).toBeGreaterThanOrEqual(12);
    expect(lines.filter(l => /spi=0x0000012c/.test(l)).length).toBeGreaterThanOrEqual(5);
  }, 240000);
});
