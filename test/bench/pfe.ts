/**
 * Bench: forwarding rate for 64-byte frames through a 100-term input filter and a 100,000-route
 * table, beside the same process doing only the frame copy.
 */
import { Router } from '../../src/router/router.js';
import { buildEth, ETH_IPV4 } from '../../src/net/ethernet.js';
import { buildIpv4 } from '../../src/net/ipv4.js';
import { buildUdp } from '../../src/net/l4.js';
import { ipToInt } from '../../src/net/ip.js';
import type { Port } from '../../src/pfe/types.js';

class SinkPort implements Port {
  frames = 0; rx?: (f: Buffer) => void;
  send(_f: Buffer) { this.frames++; }
  onReceive(fn: (f: Buffer) => void) { this.rx = fn; }
}

export function benchPfe(): void {
  const terms: string[] = [];
  for (let i = 0; i < 99; i++) terms.push(`term t${i} { from { source-address 172.${16 + (i >> 6)}.${i & 63}.0/24; protocol tcp; destination-port ${1000 + i}; } then discard; }`);
  terms.push('term last { then accept; }');
  const routes: string[] = [];
  for (let i = 0; i < 100_000; i++) routes.push(`route ${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24 next-hop 10.0.1.2;`);
  const conf = `interfaces { fe-0/0/0 { unit 0 { family inet { filter { input f100; } address 10.0.0.1/24; } } }
    fe-0/0/1 { unit 0 { family inet { address 10.0.1.1/24; } } } }
    firewall { filter f100 { ${terms.join('\n')} } }
    routing-options { static { ${routes.join('\n')} } }`;
  const r = new Router({ name: 'bench' });
  const c = r.commitText(conf);
  if (!c.ok) throw new Error(c.output);
  const inPort = new SinkPort(), outPort = new SinkPort();
  r.pfe.attach('fe-0/0/0', inPort);
  r.pfe.attach('fe-0/0/1', outPort);
  r.pfe.ifds.get('fe-0/0/1')!.arp.set(ipToInt('10.0.1.2'), { mac: Buffer.from('020000000002', 'hex'), expires: Number.MAX_SAFE_INTEGER });
  const mac = r.pfe.ifds.get('fe-0/0/0')!.mac;
  const N = 50_000;
  const frames: Buffer[] = [];
  for (let i = 0; i < 256; i++) {
    const src = ipToInt('10.0.0.5'), dst = ipToInt(`20.${i}.${(i * 7) & 255}.9`);   // every destination has a route
    const pkt = buildIpv4({ protocol: 17, src, dst, ttl: 64, id: i }, buildUdp({ src, dst }, 5000, 6000 + i, Buffer.alloc(18)));
    frames.push(buildEth(mac, Buffer.from('020000000001', 'hex'), ETH_IPV4, pkt)); // 14 + 20 + 8 + 18 = 60 (+4 FCS = 64 on a wire)
  }
  // the PFE gets its own copy of every frame, as it does from the TAP addon (which copies each frame
  // out of the kernel); the baseline is that copy alone, handed to a sink
  const forward = () => { for (let i = 0; i < N; i++) inPort.rx!(Buffer.from(frames[i & 255]!)); };
  const copySink = new SinkPort();
  const copy = () => { for (let i = 0; i < N; i++) copySink.send(Buffer.from(frames[i & 255]!)); };
  forward(); copy();
  const rate = (fn: () => void) => { const t = process.hrtime.bigint(); fn(); return N / (Number(process.hrtime.bigint() - t) / 1e9); };
  const fw: number[] = [], cp: number[] = [];
  for (let k = 0; k < 5; k++) { fw.push(rate(forward)); cp.push(rate(copy)); }
  fw.sort((a, b) => a - b); cp.sort((a, b) => a - b);
  const f = fw[2]!, c2 = cp[2]!;
  if (outPort.frames !== N * 6) throw new Error(`only ${outPort.frames} of ${N * 6} frames were forwarded`);
  console.log(`pfe forwarding 64B frames, 100-term filter, ${r.pfe.routes.size} routes: ${(f / 1000).toFixed(0)} kpps; frame copy only: ${(c2 / 1000).toFixed(0)} kpps; ratio=${(f / c2).toFixed(3)}`);
}
