/** The other labs, each brought up for real: pings cross, and the transit wire shows the right protocol and SPIs. */
import { describe, it, expect, afterEach } from 'vitest';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, capture, linkOf, waitUntil, Lab } from './helpers.js';

let lab: Lab | undefined;
afterEach(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); lab = undefined; } });

async function bringUp(base: string, tag: string): Promise<Lab> {
  buildOnce();
  const l = labCopy(base, tag);
  lab = l;
  const r = await vrouter('up', l.file, '--detach');
  expect(r.code, r.out + r.err).toBe(0);
  return l;
}
const ns = (l: Lab, node: string) => `${l.name}-${node}`;
const pings = async (l: Lab, from: string, to: string) => (await inNs(ns(l, from), 'ping', '-c', '3', '-i', '0.2', '-W', '2', to)).out;

describe.skipIf(!canRun)(`labs ${skipReason}`, () => {
  it('AH (the bidirectional example): authenticated, not encrypted', async () => {
    const l = await bringUp('ah', 'h');
    const t = await linkOf(l.file, 'gw-a:fe-0/0/0', 'gw-b:fe-0/0/0');
    const lines = await capture(t.netns, t.device, async () => { expect(await pings(l, 'host-a', '10.2.2.2')).toMatch(/3 received/); }, 6);
    expect(lines.length, lines.join('\n')).toBe(6);
    for (const x of lines) expect(x).toMatch(/AH\(spi=0x000007d1,seq=0x\w+[^)]*\): IP 10\.(1\.1\.1|2\.2\.2) > 10\.(2\.2\.2|1\.1\.1): ICMP echo (request|reply)/);
  });

  it('route-based: a static route to the es- destination sends traffic into the tunnel', async () => {
    const l = await bringUp('route-based', 'r');
    expect((await vrouter('exec', l.file, 'gw-a', 'show configuration interfaces fe-0/0/1')).out).not.toContain('filter');
    const t = await linkOf(l.file, 'gw-a:fe-0/0/0', 'gw-b:fe-0/0/0');
    const lines = await capture(t.netns, t.device, async () => { expect(await pings(l, 'host-a', '10.2.2.2')).toMatch(/3 received/); }, 6);
    expect(lines.length, lines.join('\n')).toBe(6);
    for (const x of lines) expect(x).toMatch(/ESP\(spi=0x00000bb9/);
  });

  it('inbound and outbound SAs with different keys and SPIs', async () => {
    const l = await bringUp('inout', 'i');
    const t = await linkOf(l.file, 'gw-a:fe-0/0/0', 'gw-b:fe-0/0/0');
    const lines = await capture(t.netns, t.device, async () => { expect(await pings(l, 'host-a', '10.2.2.2')).toMatch(/3 received/); }, 6);
    expect(lines.filter(x => /10\.5\.5\.5 > 10\.6\.6\.6: ESP\(spi=0x00004001/.test(x))).toHaveLength(3);
    expect(lines.filter(x => /10\.6\.6\.6 > 10\.5\.5\.5: ESP\(spi=0x00004000/.test(x))).toHaveLength(3);
    expect((await vrouter('exec', l.file, 'gw-a', 'show ipsec security-associations brief')).out).toMatch(/inbound\s+16384[\s\S]*outbound\s+16385/);
  });

  it('bundle: AH with the SPI over ESP with the auxiliary SPI', async () => {
    const l = await bringUp('bundle', 'b');
    const t = await linkOf(l.file, 'gw-a:fe-0/0/0', 'gw-b:fe-0/0/0');
    const lines = await capture(t.netns, t.device, async () => { expect(await pings(l, 'host-a', '10.2.2.2')).toMatch(/3 received/); }, 6);
    expect(lines.length, lines.join('\n')).toBe(6);
    for (const x of lines) expect(x).toMatch(/AH\(spi=0x00000fa0,seq=0x\w+[^)]*\): ESP\(spi=0x00000fa1/);
  });

  it('an M20 with two ES PICs carries two tunnels, one per PIC', async () => {
    const l = await bringUp('m20', 'm');
    expect((await vrouter('exec', l.file, 'gw-a', 'show chassis hardware')).out).toMatch(/FPC 1[\s\S]*PIC 1\s+.*ENCRYPTION SERVICES/);
    const t = await linkOf(l.file, 'gw-a:fe-0/0/0', 'gw-b:fe-0/0/0');
    const lines = await capture(t.netns, t.device, async () => {
      expect(await pings(l, 'host-a1', '10.2.2.2')).toMatch(/3 received/);
      expect(await pings(l, 'host-a2', '10.4.4.2')).toMatch(/3 received/);
    }, 12);
    expect(lines.filter(x => /ESP\(spi=0x00001389/.test(x))).toHaveLength(6);
    expect(lines.filter(x => /ESP\(spi=0x0000138a/.test(x))).toHaveLength(6);
    const ext = (await vrouter('exec', l.file, 'gw-a', 'show interfaces es-0/1/0 extensive', 'show interfaces es-1/1/0 extensive')).out;
    expect(ext.match(/Encrypted packets: 3, Decrypted packets: 3/g)).toHaveLength(2);
  });
});

describe.skipIf(!canRun)(`transport lab ${skipReason}`, () => {
  it("transport mode between the gateways' own addresses, for their BGP neighbor", async () => {
    const l = await bringUp('transport', 't');
    // the SA protects the BGP session (docs/bgp.md) and the ping alike
    await waitUntil(async () => /State: Established/.test((await vrouter('exec', l.file, 'gw-a', 'show bgp neighbor 10.0.0.2')).out), 'the iBGP session over the transport SA', 60000);
    const t = await linkOf(l.file, 'gw-a:fe-0/0/0', 'gw-b:fe-0/0/0');
    const lines = await capture(t.netns, t.device, async () => {
      expect((await vrouter('exec', l.file, 'gw-a', 'ping 10.0.0.2 count 3 interval 0.2')).out).toMatch(/3 packets received/);
    }, 6);
    expect(lines.length, lines.join('\n')).toBeGreaterThanOrEqual(6);
    for (const x of lines) expect(x).toMatch(/IP 10\.0\.0\.[12](\.\d+)? > 10\.0\.0\.[21](\.\d+)?: ESP\(spi=0x0000012c/);
    const sa = (await vrouter('exec', l.file, 'gw-a', 'show ipsec security-associations bgp-sa')).out;
    expect(sa).toMatch(/Mode: transport, Type: manual/);
    for (const n of [...sa.matchAll(/Packets: (\d+),/g)].map(m => Number(m[1]))) expect(n).toBeGreaterThanOrEqual(3);
  }, 120000);
});

describe.skipIf(!canRun)(`cleaning up after a crash ${skipReason}`, () => {
  it('vrouter down removes everything even when the routers were killed and the lab state is gone', async () => {
    const l = await bringUp('transport', 'k');
    const s = JSON.parse((await vrouter('inspect', l.file, '--json')).out);
    for (const n of ['gw-a', 'gw-b']) process.kill(s.nodes[n].pid, 'SIGKILL');
    const { rmSync } = await import('node:fs');
    rmSync(`/run/vrouter/${l.name}`, { recursive: true, force: true });
    expect((await leftovers(l.name)).some(x => x.startsWith('netns'))).toBe(true);
    const r = await vrouter('down', l.file);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`vr-${l.name}`);
    expect(await leftovers(l.name)).toEqual([]);
  });

  it('vrouter down LAB names a lab that is up when its topology file is gone', async () => {
    const l = await bringUp('transport', 'n');
    const { rmSync } = await import('node:fs');
    rmSync(l.file);
    expect((await vrouter('down', l.name, '--cleanup')).code).toBe(1);   // the lab directory needs the file
    const r = await vrouter('down', l.name);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`lab ${l.name} is down (removed vr-${l.name}`);
    expect(await leftovers(l.name)).toEqual([]);
  });
});
