/**
 * Bench: the default lab's two gateways in this process (topologies/gw-a.conf and gw-b.conf, real ES
 * PIC workers, 3des-cbc + hmac-md5-96), joined by an in-memory wire that delivers each turn's frames
 * as one batch on the next turn of the event loop (as a TAP read would). host-a's frames go in at
 * gw-a's fe-0/0/1; what comes out of gw-b's fe-0/0/1 is host-b's. It measures what lies between the
 * ring crossings and the ports, the main thread's share of the path:
 *  - a stream: 1400-byte packets, 64 in flight (host-a sends one more for each that reaches host-b,
 *    a TCP-like clock): Mbit/s, and the main thread's busy time per packet (event-loop utilisation);
 *  - one 64-byte packet at a time through both gateways (two ES PIC crossings): median and p90.
 * Two cases in alternation (the machine's load drifts): one graph run per drain of the ES PIC's ring
 * (VROUTER_ES_BATCH=1, the default) and one per packet (=0, as before).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router } from '../../src/router/router.js';
import { buildEth, ETH_IPV4 } from '../../src/net/ethernet.js';
import { buildIpv4 } from '../../src/net/ipv4.js';
import { buildUdp } from '../../src/net/l4.js';
import { ipToInt } from '../../src/net/ip.js';
import type { Port } from '../../src/pfe/types.js';
import { repoRoot } from '../../src/host/paths.js';
import { withEnv } from './util.js';

/** One end of a wire: what it sends reaches the other end's receiver in one batch on a later turn. */
class WireEnd implements Port {
  peer?: WireEnd;
  rx?: (frames: Buffer[]) => void;
  private out: Buffer[] = [];
  private scheduled = false;
  sent = 0;
  send(f: Buffer, len?: number): void {
    this.sent++;
    this.out.push(Buffer.from(f.subarray(0, len ?? f.length)));   // a TAP write copies into the kernel
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => { this.scheduled = false; const b = this.out; this.out = []; this.peer?.rx?.(b); });
    }
  }
  onReceive(): void { /* batches only */ }
  onReceiveBatch(fn: (frames: Buffer[]) => void): void { this.rx = fn; }
}
function wire(): [WireEnd, WireEnd] { const a = new WireEnd(), b = new WireEnd(); a.peer = b; b.peer = a; return [a, b]; }

const HOST_A_MAC = Buffer.from('020000000a01', 'hex'), HOST_B_MAC = Buffer.from('020000000b02', 'hex');

async function lab() {
  const conf = (n: string) => readFileSync(join(repoRoot(), 'topologies', n), 'utf8');
  const a = new Router({ name: 'gw-a' }), b = new Router({ name: 'gw-b' });
  for (const [r, f] of [[a, 'gw-a.conf'], [b, 'gw-b.conf']] as const) { const c = r.commitText(conf(f)); if (!c.ok) throw new Error(c.output); }
  await Promise.all([a.ready(), b.ready()]);
  await Promise.all([a.selfTested(), b.selfTested()]);   // the PICs idle again, as a router that is up
  const [hostA, aLan] = wire(), [aWan, bWan] = wire(), [bLan, hostB] = wire();
  a.pfe.attach('fe-0/0/1', aLan); a.pfe.attach('fe-0/0/0', aWan);
  b.pfe.attach('fe-0/0/0', bWan); b.pfe.attach('fe-0/0/1', bLan);
  const forever = Number.MAX_SAFE_INTEGER;
  a.pfe.ifds.get('fe-0/0/0')!.arp.set(ipToInt('10.0.0.2'), { mac: b.pfe.ifds.get('fe-0/0/0')!.mac, expires: forever });
  b.pfe.ifds.get('fe-0/0/0')!.arp.set(ipToInt('10.0.0.1'), { mac: a.pfe.ifds.get('fe-0/0/0')!.mac, expires: forever });
  b.pfe.ifds.get('fe-0/0/1')!.arp.set(ipToInt('10.2.2.2'), { mac: HOST_B_MAC, expires: forever });
  const gwMac = a.pfe.ifds.get('fe-0/0/1')!.mac;
  const frame = (size: number, id: number) => {
    const src = ipToInt('10.1.1.1'), dst = ipToInt('10.2.2.2');
    return buildEth(gwMac, HOST_A_MAC, ETH_IPV4, buildIpv4({ protocol: 17, src, dst, ttl: 64, id }, buildUdp({ src, dst }, 5000, 5001, Buffer.alloc(size - 28))));
  };
  return { a, b, hostA, hostB, frame, stop: async () => { await a.stop(); await b.stop(); } };
}

/** CPU time of this thread in µs (the scheduler's own count, ns precision), and of the whole process. */
const threadCpu = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
const processCpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
const switches = () => { const r = process.resourceUsage(); return r.voluntaryContextSwitches + r.involuntaryContextSwitches; };

interface StreamResult { bps: number; mainUs: number; cpuUs: number; switches: number; lost: number }
/**
 * 1400-byte packets, `window` in flight, for `ms`: bits per second at host-b, and per packet the CPU
 * time of the main thread (both gateways' PFEs), of the whole process (the ES PIC workers too) and the
 * context switches: costs, which a busy machine distorts far less than the rate.
 */
async function stream(ms: number, window = 64): Promise<StreamResult> {
  const l = await lab();
  try {
    const pkt = l.frame(1400, 1);
    let got = 0, sent = 0, stopAt = 0, done: () => void = () => {};
    const send = (k: number) => { sent += k; for (let i = 0; i < k; i++) l.hostA.send(pkt); };   // one batch into gw-a on the next turn
    // warm up, then measure
    await new Promise<void>(res => { done = res; l.hostB.rx = f => { got += f.length; if (got >= 2000) done(); else send(f.length); }; send(window); });
    await new Promise(r => setTimeout(r, 50));
    got = 0; sent = 0;
    const m0 = threadCpu(), c0 = processCpu(), s0 = switches(), t0 = performance.now();
    stopAt = t0 + ms;
    await new Promise<void>(res => {
      done = res;
      // a stall (a lost packet shrinks the window): the measurement ends after 1 s without progress
      let last = got;
      const watch = setInterval(() => { if (got === last) { clearInterval(watch); res(); } last = got; }, 1000);
      l.hostB.rx = f => {
        got += f.length;
        if (performance.now() < stopAt) send(f.length);
        else if (got >= sent) { clearInterval(watch); res(); }
      };
      send(window);
    });
    const t = performance.now() - t0;
    return { bps: got * 1400 * 8 / (t / 1000), mainUs: (threadCpu() - m0) / got, cpuUs: (processCpu() - c0) / got, switches: (switches() - s0) / got, lost: sent - got };
  } finally { await l.stop(); }
}

/** One 64-byte packet at a time through both gateways, `n` of them 5 ms apart: one-way times in ms. */
async function oneByOne(n: number): Promise<{ t: number[]; lost: number }> {
  const l = await lab();
  const t: number[] = [];
  let lost = 0;
  try {
    for (let i = 0; i < n + 5; i++) {
      const t0 = performance.now();
      const ok = await new Promise<boolean>(res => {
        const timer = setTimeout(() => res(false), 1000);
        l.hostB.rx = () => { clearTimeout(timer); res(true); };
        l.hostA.send(l.frame(64, i));
      });
      if (i >= 5) { if (ok) t.push(performance.now() - t0); else lost++; }
      await new Promise(r => setTimeout(r, 5));
    }
  } finally { await l.stop(); }
  return { t, lost };
}


export async function benchGateway(): Promise<void> {
  const cases = [
    ['one graph run per drain of the ES PIC ring', { VROUTER_ES_BATCH: '1' }],
    ['one graph run per packet, as before', { VROUTER_ES_BATCH: '0' }],
  ] as const;
  const acc = cases.map(() => ({ s: [] as StreamResult[], lost: 0, t: [] as number[], tLost: 0 }));
  for (let round = 0; round < 3; round++) {
    for (const [i, [, env]] of cases.entries()) {
      const s = await withEnv(env, () => stream(1500));
      acc[i]!.s.push(s); acc[i]!.lost += s.lost;
      const o = await withEnv(env, () => oneByOne(30));
      acc[i]!.t.push(...o.t); acc[i]!.tLost += o.lost;
    }
  }
  const med = (x: number[]) => { const s = [...x].sort((p, q) => p - q); return s[Math.floor(s.length / 2)] ?? NaN; };
  const p90 = (x: number[]) => { const s = [...x].sort((p, q) => p - q); return s[Math.floor(s.length * 0.9)] ?? NaN; };
  const m = (a: typeof acc[number], k: keyof StreamResult) => med(a.s.map(x => x[k]));
  const base = acc[cases.length - 1]!;
  for (const [i, [label]] of cases.entries()) {
    const a = acc[i]!;
    console.log(`gateway pair in one process (gw-a + gw-b, ES PIC workers, 3des-cbc + hmac-md5-96; ${label}): stream of 1400B, 64 in flight (medians of 3): ` +
      `${(m(a, 'bps') / 1e6).toFixed(0)} Mbit/s, ratio=${(m(a, 'bps') / m(base, 'bps')).toFixed(2)}; per packet: main thread ${m(a, 'mainUs').toFixed(1)} us CPU (ratio=${(m(a, 'mainUs') / m(base, 'mainUs')).toFixed(2)}), ` +
      `process ${m(a, 'cpuUs').toFixed(1)} us CPU (ratio=${(m(a, 'cpuUs') / m(base, 'cpuUs')).toFixed(2)}), ${m(a, 'switches').toFixed(2)} context switches; lost ${a.lost}; ` +
      `one 64B packet through both: median ${med(a.t).toFixed(3)} ms, p90 ${p90(a.t).toFixed(3)} ms, lost ${a.tLost} of 90`);
  }
}
