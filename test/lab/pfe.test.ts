/** Issue 3's in-memory lab: two routers over static routes, filters, ICMP errors, ARP, commits. */
import { describe, it, expect, afterEach } from 'vitest';
import { MemLab } from '../../src/lab/memlab.js';
import type { RouterOptions } from '../../src/router/router.js';
import { ARP_RETRY_MS, ARP_TRIES } from '../../src/pfe/pfe.js';
import { delivered, until } from '../helpers/settle.js';
import { ICMP_UNREACH, ICMP_TIME_EXCEEDED, UNREACH_NET, UNREACH_NEEDFRAG, UNREACH_ADMIN } from '../../src/net/l4.js';
import { ipToInt } from '../../src/net/ip.js';
import { PROTO_UDP } from '../../src/net/ipv4.js';
import { buildUdp } from '../../src/net/l4.js';

const R1 = `
system { host-name r1; }
interfaces {
    fe-0/0/0 { unit 0 { family inet { address 10.0.0.1/30; } } }
    fe-0/0/1 { unit 0 { family inet { filter { input lan-in; } address 192.168.1.1/24; } } }
    fe-0/0/2 { mtu 1014; unit 0 { family inet { address 192.168.3.1/24; } } }
}
routing-options { static { route 192.168.2.0/24 next-hop 10.0.0.2; route 172.16.0.0/16 discard; } }
firewall {
    filter lan-in {
        term block-telnet { from { protocol tcp; destination-port telnet; } then { count telnet; discard; } }
        term block-udp-9 { from { protocol udp; destination-port 9; } then reject; }
        term rest { then accept; }
    }
}`;
const R2 = `
system { host-name r2; }
interfaces {
    fe-0/0/0 { unit 0 { family inet { address 10.0.0.2/30; } } }
    fe-0/0/1 { unit 0 { family inet { address 192.168.2.1/24; } } }
}
routing-options { static { route 192.168.1.0/24 next-hop 10.0.0.1; } }`;

function build(r1opts: Partial<RouterOptions> = {}) {
  const lab = new MemLab();
  const r1 = lab.router('r1', R1, r1opts), r2 = lab.router('r2', R2);
  const h1 = lab.host('h1', '192.168.1.10', 24, '192.168.1.1');
  const h2 = lab.host('h2', '192.168.2.20', 24, '192.168.2.1');
  const h3 = lab.host('h3', '192.168.3.30', 24, '192.168.3.1');
  lab.link('r1:fe-0/0/1', 'h1');
  lab.link('r1:fe-0/0/0', 'r2:fe-0/0/0');
  lab.link('r2:fe-0/0/1', 'h2');
  lab.link('r1:fe-0/0/2', 'h3');
  return { lab, r1, r2, h1, h2, h3 };
}
let lab: MemLab | undefined;
afterEach(async () => { await lab?.close(); lab = undefined; });

describe('PFE in an in-memory lab', () => {
  it('forwards pings between two host subnets over static routes', async () => {
    const t = build(); lab = t.lab;
    const r = await t.h1.ping('192.168.2.20', { count: 3 });
    expect(r.map(x => x.seq)).toEqual([1, 2, 3]);
    expect(r[0]!.ttl).toBe(62);
    expect(t.r1.pfe.ifls.get('fe-0/0/0.0')!.counters.outPackets).toBeGreaterThanOrEqual(3);
    expect(t.r1.pfe.ifds.get('fe-0/0/0')!.arp.has(ipToInt('10.0.0.2'))).toBe(true);
  });

  it('a filter discards and counts what it should, and lets the rest through', async () => {
    const t = build(); lab = t.lab;
    const tcp = Buffer.alloc(20); tcp.writeUInt16BE(40000, 0); tcp.writeUInt16BE(23, 2); tcp[12] = 0x50;
    for (let i = 0; i < 4; i++) t.h1.sendIp({ protocol: 6, src: t.h1.ip, dst: t.h2.ip, ttl: 64 }, tcp);
    tcp.writeUInt16BE(22, 2);
    t.h1.sendIp({ protocol: 6, src: t.h1.ip, dst: t.h2.ip, ttl: 64 }, tcp);
    await delivered(t.lab);
    const f = t.r1.pfe.filters.get('lan-in')!;
    expect(f.counters.get('telnet')!.packets).toBe(4);
    expect(t.r1.pfe.ifls.get('fe-0/0/1.0')!.counters.drops.get('filter-discard')).toBe(4);
    expect(t.h2.received.filter(p => p[9] === 6)).toHaveLength(1);   // only the ssh segment
    expect(f.terms.find(x => x.name === 'rest')!.hits.packets).toBeGreaterThanOrEqual(1);
  });

  it('the input filter of lo0.0 guards the router itself: what it discards never reaches the router, transit traffic is not filtered by it', async () => {
    const t = build(); lab = t.lab;
    const c = t.r1.commitText(R1.replace('routing-options', `interfaces { lo0 { unit 0 { family inet { filter { input protect-re; } address 10.255.0.1/32; } } } }
firewall { filter protect-re { term no-ping { from { protocol icmp; source-address { 192.168.1.0/24; } } then discard; } term rest { then accept; } } }
routing-options`), 'lo0');
    expect(c.ok, c.output).toBe(true);
    expect(await t.h1.ping('192.168.1.1', { count: 2, timeoutMs: 500 })).toHaveLength(0);
    expect(t.r1.pfe.graph.nodes().find(n => n.name === 'ip4-local')!.drops.get('lo0-filter-discard')).toBe(2);
    expect(await t.h3.ping('192.168.3.1', { count: 1 })).toHaveLength(1);
    // transit (h1 to h2) passes: lo0's filter is for the router's own traffic only
    expect(await t.h1.ping('192.168.2.20', { count: 1 })).toHaveLength(1);
  });

  it('reject sends ICMP administratively prohibited', async () => {
    const t = build(); lab = t.lab;
    t.h1.sendIp({ protocol: PROTO_UDP, src: t.h1.ip, dst: t.h2.ip, ttl: 64 }, buildUdp({ src: t.h1.ip, dst: t.h2.ip }, 5000, 9, Buffer.from('x')));
    await delivered(t.lab);
    expect(t.h1.icmp).toContainEqual(expect.objectContaining({ type: ICMP_UNREACH, code: UNREACH_ADMIN, from: ipToInt('192.168.1.1') }));
  });

  it('TTL expiry, no route and DF over MTU produce the right ICMP', async () => {
    const t = build(); lab = t.lab;
    await t.h1.ping('192.168.2.20', { ttl: 1, timeoutMs: 100 });
    expect(t.h1.icmp).toContainEqual(expect.objectContaining({ type: ICMP_TIME_EXCEEDED, code: 0, from: ipToInt('192.168.1.1') }));
    await t.h1.ping('192.168.2.20', { ttl: 2, timeoutMs: 100 });
    expect(t.h1.icmp).toContainEqual(expect.objectContaining({ type: ICMP_TIME_EXCEEDED, from: ipToInt('10.0.0.2') }));
    await t.h1.ping('10.99.0.1', { timeoutMs: 100 });
    expect(t.h1.icmp).toContainEqual(expect.objectContaining({ type: ICMP_UNREACH, code: UNREACH_NET }));
    // fe-0/0/2 has media mtu 1014: IP MTU 1000
    await t.h1.ping('192.168.3.30', { size: 1200, df: true, timeoutMs: 100 });
    expect(t.h1.icmp).toContainEqual(expect.objectContaining({ type: ICMP_UNREACH, code: UNREACH_NEEDFRAG, rest: 1000 }));
    expect(t.r1.pfe.drops.get('ttl-expired')).toBe(1);
    expect(t.r1.pfe.drops.get('no-route')).toBe(1);
    expect(t.r1.pfe.drops.get('df-mtu-exceeded')).toBe(1);
  });

  it('fragments what does not fit when DF is clear, and the host reassembles', async () => {
    const t = build(); lab = t.lab;
    const r = await t.h1.ping('192.168.3.30', { size: 2500 });
    expect(r).toHaveLength(1);
    expect(r[0]!.bytes).toBe(2508);
  });

  it('discard routes drop silently', async () => {
    const t = build(); lab = t.lab;
    await t.h1.ping('172.16.1.1', { timeoutMs: 100 });
    expect(t.r1.pfe.drops.get('discard-route')).toBe(1);
  });

  it('unresolved ARP: three requests a second apart on the PFE\'s clock, then host unreachable', async () => {
    let now = 1_000_000;
    const t = build({ now: () => now }); lab = t.lab;
    const target = ipToInt('192.168.3.99') >>> 0;
    const arps: number[] = [];
    t.lab.wires.get('r1:fe-0/0/2--h3')!.watch((from, f) => { if (from === 'r1:fe-0/0/2' && f.readUInt16BE(12) === 0x0806 && f.readUInt32BE(38) === target) arps.push(now); });
    void t.h1.ping('192.168.3.99', { timeoutMs: 50 });
    await until(() => arps.length === 1, 'the first ARP request');
    // each second of the PFE's clock, a housekeeping tick: a retry, until the third has gone unanswered
    const unreach = () => t.h1.icmp.some(m => m.type === ICMP_UNREACH && m.code === 1);
    for (let s = 0; s < ARP_TRIES + 1 && !unreach(); s++) {
      now += ARP_RETRY_MS;
      t.r1.pfe.tick();
      await delivered(t.lab);
    }
    expect(unreach()).toBe(true);
    expect(arps.map(x => x - arps[0]!)).toEqual(Array.from({ length: ARP_TRIES }, (_, i) => i * ARP_RETRY_MS));
    expect(t.r1.pfe.drops.get('arp-unresolved')).toBe(1);
  });

  it('a continuous ping loses nothing across an unrelated commit; ARP and counters survive', async () => {
    const t = build(); lab = t.lab;
    await t.h1.ping('192.168.2.20');
    const before = t.r1.pfe.ifls.get('fe-0/0/0.0')!.counters.outPackets;
    const pinging = t.h1.ping('192.168.2.20', { count: 20, intervalMs: 5, timeoutMs: 500 });
    // the commit lands while the ping runs: once its first three echoes went through r1
    await until(() => t.r1.pfe.ifls.get('fe-0/0/0.0')!.counters.outPackets >= before + 3, 'the ping to be under way');
    const c = t.r1.commitText(R1.replace('host-name r1;', 'host-name r1-renamed;') + '\ninterfaces { fe-0/0/3 { description spare; } }');
    expect(c.ok).toBe(true);
    expect(await pinging).toHaveLength(20);
    expect(t.r1.pfe.ifds.get('fe-0/0/0')!.arp.size).toBe(1);
    expect(t.r1.pfe.ifls.get('fe-0/0/0.0')!.counters.outPackets).toBeGreaterThan(before);
    expect(t.r1.name).toBe('r1-renamed');
  });

  it('a failed commit changes nothing', async () => {
    const t = build(); lab = t.lab;
    const routes = t.r1.pfe.routes.size;
    const c = t.r1.commitText(R1.replace('192.168.2.0/24 next-hop 10.0.0.2', '192.168.2.0/24 discard; route 192.168.9.0/24 next-hop 10.0.0.2; route 10.1.0.0/16 discard; route 10.1.0.0/16 reject'));
    expect(c.ok).toBe(false);
    expect(t.r1.pfe.routes.size).toBe(routes);
    expect(await t.h1.ping('192.168.2.20')).toHaveLength(1);
  });

  it('malformed frames and packets are dropped and counted, never thrown', async () => {
    const t = build(); lab = t.lab;
    const port = t.lab.wires.get('r1:fe-0/0/1--h1')!.b;
    const mac = t.r1.pfe.ifds.get('fe-0/0/1')!.mac;
    const hdr = Buffer.concat([mac, Buffer.alloc(6, 2), Buffer.from([0x08, 0x00])]);
    port.send(Buffer.alloc(5));
    port.send(Buffer.concat([hdr, Buffer.from([0x45, 0, 0, 10])]));
    port.send(Buffer.concat([hdr, Buffer.alloc(40, 0x45)]));
    await delivered(t.lab);
    expect(t.r1.pfe.drops.get('runt')).toBe(1);
    expect([...t.r1.pfe.drops.keys()].filter(k => k.startsWith('ip-')).length).toBeGreaterThanOrEqual(1);
    expect(await t.h1.ping('192.168.2.20')).toHaveLength(1);
  });
});
