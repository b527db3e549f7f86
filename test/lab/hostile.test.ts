/**
 * Hostile input at the PFE of the Figure 11 gateways (in memory, the ES PIC inline): each finding of
 * the hostile-input review has its test here. The router never throws, counts every drop with its
 * reason, and still forwards afterwards.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { figure11 } from '../../src/lab/memlab.js';
import { buildEth, ETH_IPV4 } from '../../src/net/ethernet.js';
import { writeIpv4Header, buildIpv4, PROTO_ICMP, PROTO_ESP } from '../../src/net/ipv4.js';
import { ipToInt } from '../../src/net/ip.js';
import { delivered } from '../helpers/settle.js';

const TOPO = join(import.meta.dirname, '../../topologies');
let close: (() => Promise<void>) | undefined;
afterEach(async () => { await close?.(); close = undefined; });

async function lab() {
  const t = await figure11(TOPO, { ipsec: 'inline' });
  close = () => t.lab.close();
  const errors: unknown[] = [];
  const onErr = (e: unknown) => errors.push(e);
  process.on('uncaughtException', onErr);
  const prevClose = close;
  // every test also holds that nothing threw inside the PFE (Pfe.guard counts it as internal-error)
  close = async () => {
    process.off('uncaughtException', onErr);
    const internal = [t.gwA.pfe.drops.get('internal-error') ?? 0, t.gwB.pfe.drops.get('internal-error') ?? 0];
    await prevClose();
    expect(internal, 'internal-error drops').toEqual([0, 0]);
  };
  /** Put an IPv4 packet on the transit wire toward gw-b, as if gw-a had sent it. */
  const toB = (pkt: Buffer) => t.transit.a.send(buildEth(t.gwB.pfe.ifds.get('fe-0/0/0')!.mac, Buffer.from('020000000001', 'hex'), ETH_IPV4, pkt));
  return { ...t, errors, toB };
}

describe('hostile input at the PFE', () => {
  it('45 ICMP fragments whose data ends at 65535 (to the tunnel endpoint 10.6.6.6) are a counted drop, not a crash', async () => {
    const t = await lab();
    expect(await t.hostA.ping('10.2.2.2', { count: 1 })).toHaveLength(1);
    for (let i = 0; i < 45; i++) {
      const len = i < 44 ? 1480 : 415;
      const b = Buffer.alloc(20 + len, 0x42);
      writeIpv4Header(b, 0, { protocol: PROTO_ICMP, src: ipToInt('10.0.0.1'), dst: ipToInt('10.6.6.6'), id: 4242, ttl: 64, mf: i < 44, fragOffset: i * 1480 }, b.length);
      t.toB(b);
    }
    await delivered(t.lab);
    expect(t.errors).toEqual([]);
    expect(t.gwB.pfe.drops.get('frag-too-big')).toBe(45);
    expect(await t.hostA.ping('10.2.2.2', { count: 2 })).toHaveLength(2);
  });

  it('ESP to the router is checked by the input filter before the ES PIC sees it', async () => {
    const t = await lab();
    const conf = readFileSync(join(TOPO, 'gw-b.conf'), 'utf8')
      .replace('address 10.0.0.2/30;', 'filter { input transit-in; } address 10.0.0.2/30;')
      .replace(/firewall \{/, 'firewall { filter transit-in { term no-rogue { from { source-address { 10.9.9.9/32; } protocol esp; } then { count rogue-esp; discard; } } term rest { then accept; } }');
    const c = t.gwB.commitText(conf);
    expect(c.ok, c.output).toBe(true);
    const esp = Buffer.alloc(40); esp.writeUInt32BE(2312, 0); esp.writeUInt32BE(1, 4);
    for (let i = 0; i < 5; i++) t.toB(buildIpv4({ protocol: PROTO_ESP, src: ipToInt('10.9.9.9'), dst: ipToInt('10.6.6.6'), id: i, ttl: 64 }, esp));
    await delivered(t.lab);
    expect(t.gwB.pfe.drops.get('filter-discard')).toBe(5);
    expect(t.gwB.pfe.filters.get('transit-in')!.counters.get('rogue-esp')!.packets).toBe(5);
    const pic = await t.gwB.ipsec.snapshot!();
    expect(Object.values(pic.drops).reduce((a, b) => a + b, 0)).toBe(0);   // the ES PIC never saw them
    expect(await t.hostA.ping('10.2.2.2', { count: 2 })).toHaveLength(2);  // real ESP from 10.5.5.5 passes the filter
  });
});
