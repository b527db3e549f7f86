/**
 * Bench: forwarding rate for 64-byte frames, beside the same process doing only the frame copy (the
 * TAP addon copies every frame out of the kernel, so the PFE always gets a buffer of its own).
 *  - easy: 100,000 routes all /24, a 100-term filter whose terms fail on their first field;
 *  - realistic: 100,000 routes in an Internet-like mix of prefix lengths /8../32, and a 100-term
 *    filter whose terms match on source, destination, protocol and port, each failing only on its
 *    last field (so every term is read whole), a packet accepted by the last one.
 * Frames come in batches of 64, as from the TAP. Every frame must come out (checked). GC scavenges per
 * million packets show whether the path allocates.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { Router } from '../../src/router/router.js';
import { buildEth, ETH_IPV4 } from '../../src/net/ethernet.js';
import { buildIpv4 } from '../../src/net/ipv4.js';
import { buildUdp } from '../../src/net/l4.js';
import { ipToInt, intToIp, maskOf } from '../../src/net/ip.js';
import type { Port } from '../../src/pfe/types.js';

class SinkPort implements Port {
  frames = 0; rx?: (f: Buffer[]) => void;
  send(_f: Buffer) { this.frames++; }
  onReceive() { /* batches only */ }
  onReceiveBatch(fn: (f: Buffer[]) => void) { this.rx = fn; }
}

function xorshift(seed: number) { return () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; }; }

/** An Internet-like mix of prefix lengths (roughly the shape of today's IPv4 table). */
function realisticRoutes(n: number, r: () => number): string[] {
  const out = new Set<string>();
  while (out.size < n) {
    const x = r() % 1000;
    const len = x < 5 ? 8 + (r() % 8) : x < 60 ? 16 : x < 110 ? 17 + (r() % 3) : x < 160 ? 20 : x < 230 ? 21 + (r() % 2) : x < 300 ? 23 : x < 950 ? 24 : 25 + (r() % 8);
    const addr = ((20 << 24) | (r() & 0x00ffffff)) & maskOf(len);   // all inside 20.0.0.0/8
    out.add(`route ${intToIp(addr >>> 0)}/${len} next-hop 10.0.1.2;`);
  }
  return [...out];
}

function scenario(kind: 'easy' | 'realistic') {
  const r = xorshift(12345);
  const terms: string[] = [];
  if (kind === 'easy') {
    for (let i = 0; i < 99; i++) terms.push(`term t${i} { from { source-address 172.${16 + (i >> 6)}.${i & 63}.0/24; protocol tcp; destination-port ${1000 + i}; } then discard; }`);
  } else {
    for (let i = 0; i < 99; i++) terms.push(`term t${i} { from { source-address { 10.0.0.0/8; 192.168.${i}.0/24; } destination-address { 20.0.0.0/${8 + (i % 8)}; 21.${i}.0.0/16; } protocol [ tcp udp ]; destination-port ${20000 + i}; } then { count c${i % 10}; discard; } }`);
  }
  terms.push('term last { then accept; }');
  const routes = kind === 'easy'
    ? Array.from({ length: 100_000 }, (_, i) => `route ${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24 next-hop 10.0.1.2;`)
    : realisticRoutes(100_000, r);
  const conf = `interfaces { fe-0/0/0 { unit 0 { family inet { filter { input f100; } address 10.0.0.1/24; } } }
    fe-0/0/1 { unit 0 { family inet { address 10.0.1.1/24; } } } }
    firewall { filter f100 { ${terms.join('\n')} } }
    routing-options { static { ${routes.join('\n')} route 20.0.0.0/8 next-hop 10.0.1.2; } }`;
  const router = new Router({ name: 'bench', ipsec: 'inline' });
  const c = router.commitText(conf);
  if (!c.ok) throw new Error(c.output);
  const inPort = new SinkPort(), outPort = new SinkPort();
  router.pfe.attach('fe-0/0/0', inPort);
  router.pfe.attach('fe-0/0/1', outPort);
  router.pfe.ifds.get('fe-0/0/1')!.arp.set(ipToInt('10.0.1.2'), { mac: Buffer.from('020000000002', 'hex'), expires: Number.MAX_SAFE_INTEGER });
  const mac = router.pfe.ifds.get('fe-0/0/0')!.mac;
  const frames: Buffer[] = [];
  for (let i = 0; i < 256; i++) {
    const src = ipToInt(kind === 'easy' ? '10.0.0.5' : `10.0.${i}.5`);
    const dst = kind === 'easy' ? ipToInt(`20.${i}.${(i * 7) & 255}.9`) : (((20 << 24) | (r() & 0x00ffffff)) >>> 0);   // every destination has a route (20/8 at least)
    const pkt = buildIpv4({ protocol: 17, src, dst, ttl: 64, id: i }, buildUdp({ src, dst }, 5000, 6000 + i, Buffer.alloc(18)));
    frames.push(buildEth(mac, Buffer.from('020000000001', 'hex'), ETH_IPV4, pkt)); // 60 bytes (+4 FCS = 64 on a wire)
  }
  return { router, inPort, outPort, frames };
}

export async function benchPfe(): Promise<void> {
  for (const kind of ['easy', 'realistic'] as const) {
    const { router, inPort, outPort, frames } = scenario(kind);
    const N = 200_000, B = 64;
    const batch: Buffer[] = new Array(B);
    const forward = () => {
      for (let i = 0; i < N; i += B) {
        for (let k = 0; k < B; k++) batch[k] = Buffer.from(frames[(i + k) & 255]!);
        inPort.rx!(batch);
      }
    };
    const copySink = new SinkPort();
    const copy = () => { for (let i = 0; i < N; i += B) for (let k = 0; k < B; k++) copySink.send(Buffer.from(frames[(i + k) & 255]!)); };
    forward(); copy();
    let scavenges = 0;
    const obs = new PerformanceObserver(list => { for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 1) scavenges++; });
    obs.observe({ entryTypes: ['gc'] });
    const rate = (fn: () => void) => { const t = process.hrtime.bigint(); fn(); return N / (Number(process.hrtime.bigint() - t) / 1e9); };
    const fw: number[] = [], cp: number[] = [];
    let fwScavenges = 0;
    for (let k = 0; k < 5; k++) {
      await new Promise(res => setImmediate(res));
      const s0 = scavenges; fw.push(rate(forward)); await new Promise(res => setImmediate(res)); fwScavenges += scavenges - s0;
      cp.push(rate(copy));
    }
    obs.disconnect();
    fw.sort((a, b) => a - b); cp.sort((a, b) => a - b);
    const f = fw[2]!, c2 = cp[2]!;
    if (outPort.frames !== N * 6) throw new Error(`${kind}: only ${outPort.frames} of ${N * 6} frames were forwarded`);
    console.log(`pfe forwarding 64B frames (${kind}: ${router.pfe.routes.size} routes, 100-term filter): ${(f / 1000).toFixed(0)} kpps; frame copy only: ${(c2 / 1000).toFixed(0)} kpps; ratio=${(f / c2).toFixed(3)}; GC scavenges per million packets ${(fwScavenges / (5 * N) * 1e6).toFixed(1)}`);
    await router.stop();
  }
}
