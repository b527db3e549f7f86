/** The in-memory Figure 11 lab: pings cross the ES PIC tunnel and the transit link carries only ESP. */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { figure11 } from '../../src/lab/memlab.js';
import { until } from '../helpers/settle.js';
import { parseEth, ETH_IPV4, ETH_ARP } from '../../src/net/ethernet.js';
import { parseIpv4, PROTO_ESP } from '../../src/net/ipv4.js';

const topo = join(import.meta.dirname, '../../topologies');
let close: (() => Promise<void>) | undefined;
afterEach(async () => { await close?.(); close = undefined; });

describe('Figure 11 in memory', () => {
  it('pings host-a -> host-b through the tunnel; the transit link carries only ESP with SPI 2312', async () => {
    const { lab, hostA, gwA, gwB, transit } = await figure11(topo);
    close = () => lab.close();
    const seen: string[] = [];
    transit.watch((_from, frame) => {
      const e = parseEth(frame);
      if (!e.ok) return;
      if (e.value.type === ETH_ARP) { seen.push('arp'); return; }
      if (e.value.type !== ETH_IPV4) { seen.push('other'); return; }
      const ip = parseIpv4(e.value.payload);
      if (ip.ok && ip.value.protocol === PROTO_ESP) seen.push(`esp/${e.value.payload.readUInt32BE(ip.value.ihl)}`);
      else seen.push(`ip/${ip.ok ? ip.value.protocol : '?'}`);
    });
    const replies = await hostA.ping('10.2.2.2', { count: 5 });
    expect(replies.map(r => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(replies[0]!.ttl).toBe(62); // host-b 64, decremented by gw-b and gw-a
    expect(new Set(seen.filter(s => s !== 'arp'))).toEqual(new Set(['esp/2312']));
    expect(seen.filter(s => s === 'esp/2312').length).toBe(10);
    const sa = (await gwA.ipsec.snapshot!() as { sas: Array<{ direction: string; packets: number }> }).sas;
    expect(sa.find(s => s.direction === 'outbound')!.packets).toBe(5);
    expect(sa.find(s => s.direction === 'inbound')!.packets).toBe(5);
    expect(gwB.pfe.ifls.get('es-0/1/0.0')!.counters.inPackets).toBe(5);
  });

  it('the router answers pings to its own addresses, also through the tunnel', async () => {
    const { lab, hostA, hostB } = await figure11(topo);
    close = () => lab.close();
    expect(await hostA.ping('10.1.1.254', { count: 2 })).toHaveLength(2);
    expect(await hostB.ping('10.1.1.8', { count: 2 })).toHaveLength(2);  // gw-a's es- address, via the tunnel
  });

  it('a decrypted packet that fails the inbound policy filter is dropped and counted', async () => {
    const { lab, hostA, gwA, gwB } = await figure11(topo);
    close = () => lab.close();
    // gw-a encrypts everything from 10.1.1.0/24 to 10.2.2.0/24; gw-b's policy accepts only that.
    // Make gw-a's encrypt filter also tunnel traffic to 10.2.3.0/24, which gw-b's policy refuses.
    const conf = (await import('node:fs')).readFileSync(join(topo, 'gw-a.conf'), 'utf8')
      .replace('10.2.2.0/24;\n                }\n            }\n            then ipsec-sa', '10.2.2.0/24;\n                    10.2.3.0/24;\n                }\n            }\n            then ipsec-sa');
    expect(gwA.commitText(conf).ok).toBe(true);
    await hostA.ping('10.2.3.3', { count: 2, timeoutMs: 200 });
    // the packets may still be crossing the ES PIC workers when the pings time out: wait (bounded)
    const drops = () => gwB.pfe.ifls.get('es-0/1/0.0')!.counters.drops.get('filter-discard');
    await until(() => drops() === 2, 'gw-b to discard both', 2000).catch(() => undefined);
    expect(drops()).toBe(2);
  });
});
