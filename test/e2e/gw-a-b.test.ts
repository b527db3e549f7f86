/**
 * The default lab for real: namespaces, TAPs, router processes. host-a pings host-b through the
 * emulated gateways, the wire between the gateways carries only ESP with SPI 2312, a TCP transfer
 * with full-size segments completes, crafted packets are dropped and counted, and `vrouter down`
 * leaves nothing behind.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, ROOT, Lab, capture, waitUntil } from './helpers.js';

describe.skipIf(!canRun)(`gw-a-b lab ${skipReason}`, () => {
  let lab: Lab;
  let hostA: string, hostB: string, transit: { netns: string; device: string };
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('gw-a-b', 'a');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
    const s = JSON.parse((await vrouter('inspect', lab.file, '--json')).out);
    hostA = s.nodes['host-a'].netns; hostB = s.nodes['host-b'].netns;
    transit = s.links.find((l: { endpoints: string[] }) => l.endpoints.join() === 'gw-a:fe-0/0/0,gw-b:fe-0/0/0');
  });
  afterAll(async () => {
    if (!lab) return;
    await cleanup(lab);
    expect(await leftovers(lab.name)).toEqual([]);
  });

  it('inspect describes nodes, processes and link devices', async () => {
    const s = JSON.parse((await vrouter('inspect', lab.file, '--json')).out);
    expect(s.name).toBe(lab.name);
    expect(s.nodes['gw-a']).toMatchObject({ kind: 'juniper_m10', netns: `vr-${lab.name}` });
    expect(typeof s.nodes['gw-a'].pid).toBe('number');
    expect(s.links).toHaveLength(3);
    expect((await vrouter('up', lab.file, '--detach')).out).toContain('is already up');
  });

  it('ping from host-a reaches host-b; the transit link carries only ESP with SPI 2312', async () => {
    const all: string[] = [];
    const ip = await capture(transit.netns, transit.device, async () => {
      const p = await inNs(hostA, 'ping', '-c', '5', '-i', '0.2', '-W', '2', '10.2.2.2');
      expect(p.out).toMatch(/5 packets transmitted, 5 received/);
    }, 10);
    all.push(...ip);
    expect(ip.length).toBe(10);
    for (const l of ip) expect(l).toMatch(/IP 10\.(5\.5\.5|6\.6\.6) > 10\.(6\.6\.6|5\.5\.5): ESP\(spi=0x00000908/);
    expect(all.join('\n')).not.toMatch(/ICMP/);
  });

  it('an iperf3 TCP transfer with full-size segments completes through the tunnel', async () => {
    await inNs(hostB, 'iperf3', '-s', '-D', '-1');
    await waitUntil(async () => / 10\.2\.2\.2:5201 |\*:5201 |:5201 /.test((await inNs(hostB, 'ss', '-ltn')).out), 'iperf3 to listen on 5201');
    const r = await inNs(hostA, 'iperf3', '-c', '10.2.2.2', '-t', '3', '-J');
    expect(r.code, r.out.slice(0, 500)).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.end.sum_received.bytes).toBeGreaterThan(1_000_000);
    // full-size segments: Linux sends 1500-byte DF segments, gw-a answers fragmentation-needed with the
    // es- interface's MTU (1500 less the ESP overhead), and host-a's kernel learns it (path MTU discovery)
    expect((await inNs(hostA, 'ip', 'route', 'get', '10.2.2.2')).out).toMatch(/mtu 1446/);
    expect((await vrouter('exec', lab.file, 'gw-a', 'show interfaces es-0/1/0.0 extensive')).out).toMatch(/df-mtu-exceeded: [1-9]/);
  });

  it('crafted ESP/AH packets are dropped and counted, and the gateway keeps forwarding', async () => {
    const before = (await vrouter('exec', lab.file, 'gw-a', 'show interfaces fe-0/0/1.0 extensive', 'show ipsec security-associations detail')).out;
    const inj = await inNs(hostA, process.execPath, join(ROOT, 'test/e2e/inject.mjs'), '10.5.5.5');
    expect(inj.out).toContain('sent 5');
    const after = await waitUntil(async () => {
      const o = (await vrouter('exec', lab.file, 'gw-a', 'show interfaces fe-0/0/1.0 extensive', 'show ipsec security-associations detail', 'show interfaces es-0/1/0 extensive')).out;
      return /Drops by reason: bad-icv 1, short-packet 1/.test(o) && o;
    }, 'the ES PIC to count the crafted packets');
    expect(after).toMatch(/ipsec-no-sa: 2/);                 // unknown ESP SPI and unknown AH SPI
    expect(after).toMatch(/ipsec-short-packet: 1/);          // 2 bytes of ESP
    expect(after).toMatch(/Drops by reason: bad-icv 1, short-packet 1/);
    expect(before).not.toMatch(/bad-icv/);
    expect((await inNs(hostA, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '10.2.2.2')).out).toMatch(/2 received/);
  });

  it('each router has a Routing Engine stack of its own: its kernel reaches hosts through the PFE, and answers TCP', async () => {
    const re = `vr-${lab.name}-gw-a`;
    expect((await inNs(re, 'ip', '-br', 'addr', 'show', 're0')).out).toMatch(/re0\s+UNKNOWN\s+.*10\.1\.1\.254\/32/);
    expect((await inNs(re, 'ping', '-c', '1', '-W', '2', '10.1.1.1')).out).toMatch(/1 received/);
    // through the tunnel, from the LAN address the encrypt filter covers
    expect((await inNs(re, 'ping', '-c', '1', '-W', '2', '-I', '10.1.1.254', '10.2.2.2')).out).toMatch(/1 received/);
    // TCP to the router: its kernel answers (refused: nothing listens yet)
    expect((await inNs(`${lab.name}-host-a`, 'bash', '-c', 'echo > /dev/tcp/10.1.1.254/80')).out).toMatch(/Connection refused/);
  });

  it('vrouter exec runs configuration changes and reports errors with a non-zero exit', async () => {
    const bad = await vrouter('exec', lab.file, 'gw-a', 'show bogus');
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('syntax error');
    const ok = await vrouter('exec', lab.file, 'gw-a', 'show chassis hardware');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('1x ES, ENCRYPTION SERVICES');
  });
});
