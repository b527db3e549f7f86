/**
 * NAT traversal through a real NAT (topologies/gw-a-b-nat.yaml: nftables masquerade in a Linux node
 * between gw-a and gw-b): kmd detects the NAT (RFC 3947), IKE floats to UDP 4500, ESP goes in UDP
 * (RFC 3948) so that the wire outside the NAT carries only UDP; gw-b can start negotiations through
 * the NAT's mapping too; gw-a's keepalives keep that mapping while the tunnel is idle.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, capture, linkOf, waitUntil, Lab } from './helpers.js';

describe.skipIf(!canRun)(`NAT traversal through nftables masquerade ${skipReason}`, () => {
  let lab: Lab;
  const exec = async (node: string, ...cmds: string[]) => await vrouter('exec', lab.file, node, ...cmds);
  const ping = async (from: 'a' | 'b', n = 3) => (await inNs(`${lab.name}-host-${from}`, 'ping', '-n', '-c', String(n), '-i', '0.2', '-W', '2', from === 'a' ? '10.2.2.2' : '10.1.1.1')).out;
  const received = (out: string) => Number(/(\d+) received/.exec(out)?.[1] ?? -1);
  const conntrack = async () => (await inNs(`${lab.name}-nat`, 'cat', '/proc/net/nf_conntrack')).out;
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('gw-a-b-nat', 'n');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
  });
  afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

  it('the tunnel comes up through the NAT; outside the NAT the wire carries only UDP (IKE on 500, then 4500 with ESP in it)', async () => {
    const outside = await linkOf(lab.file, 'nat:eth2', 'gw-b:fe-0/0/0');
    // main mode (6) and quick mode (3), then 3 pings each way in UDP-encapsulated ESP
    const lines = await capture(outside.netns, outside.device, async () => { expect(received(await ping('a'))).toBe(3); }, 15);
    expect(lines.length).toBeGreaterThanOrEqual(15);
    for (const l of lines) expect(l).toMatch(/IP (172\.16\.0\.1|10\.6\.6\.6)\.(500|4500|\d+) > (10\.6\.6\.6|172\.16\.0\.1)\.(500|4500|\d+): (isakmp|UDP-encap|NONESP-encap|isakmp-nat-keep-alive)/);
    expect(lines.some(l => /UDP-encap: ESP/.test(l))).toBe(true);
    expect(lines.some(l => / ESP\(/.test(l) && !/UDP-encap/.test(l))).toBe(false);
    const a = (await exec('gw-a', 'show ike security-associations detail')).out;
    expect(a).toMatch(/Local: 10\.5\.5\.5:4500, Remote: 10\.6\.6\.6:4500/);
    expect(a).toMatch(/NAT traversal: NAT before this router; IKE and ESP in UDP 4500, keepalives every 5 seconds/);
    expect((await exec('gw-b', 'show ike security-associations detail')).out).toMatch(/NAT traversal: NAT before the peer; IKE and ESP in UDP 4500/);
    expect((await exec('gw-a', 'show log kmd')).out).toMatch(/KMD_PM_SA_ESTABLISHED: .*esp in UDP 4500/);
  });

  it('gw-b starts the negotiation through the NAT\'s mapping (quick mode, and a new IKE SA)', async () => {
    await exec('gw-b', 'clear ipsec security-associations');
    expect(received(await ping('b'))).toBe(3);
    await exec('gw-b', 'clear ipsec security-associations', 'clear ike security-associations');
    expect(received(await ping('b'))).toBe(3);
    expect((await exec('gw-b', 'show ike security-associations detail')).out).toMatch(/Role: Initiator, State: Matured[\s\S]*NAT traversal: NAT before the peer/);
  });

  it('an idle tunnel outlives the NAT\'s UDP timeout: gw-a\'s keepalives keep the mapping', async () => {
    // the NAT forgets an idle UDP mapping after 10 s; keepalives come every 5 s
    await inNs(`${lab.name}-nat`, 'sysctl', '-qw', 'net.netfilter.nf_conntrack_udp_timeout=10', 'net.netfilter.nf_conntrack_udp_timeout_stream=10');
    const spi = async () => /outbound\s+(\d+)/.exec((await exec('gw-b', 'show ipsec security-associations brief')).out)?.[1];
    const before = await spi();
    expect(before).toBeDefined();
    // 16 s without traffic in the tunnel (more than the NAT's timeout): the 4500 mapping must be there at every look
    const end = Date.now() + 16000;
    while (Date.now() < end) {
      expect(await conntrack()).toMatch(/udp .* sport=4500 dport=4500 .* dst=172\.16\.0\.1/);
      await new Promise(r => setTimeout(r, 1000));
    }
    // gw-b sends first, to the NAT's mapped port: it gets through only if the mapping lived on
    expect(received(await ping('b', 2))).toBe(2);
    expect(await spi()).toBe(before);
    await waitUntil(async () => /keepalive/.test((await exec('gw-a', 'show ike security-associations detail')).out), 'the keepalive line');
  }, 60000);
});
