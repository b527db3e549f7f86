/**
 * Bench: one packet through an idle ES PIC and back. A 64-byte packet every 20 ms (so both threads
 * are asleep when it comes), from `encrypt()` on the main thread to the sealed packet back in the
 * sink, ESP 3des-cbc + hmac-sha1-96; median and 90th percentile, and the packets that never came
 * back (each waits at most a second, so the bench always ends). As shipped, such a packet takes the
 * express path (sealed on the main thread: pics/es/es-pic.ts); the worker's own round trip is
 * measured with the express path off (VROUTER_ES_EXPRESS=0).
 */
import { EsPic } from '../../pics/es/es-pic.js';
import { buildIpv4 } from '../../src/net/ipv4.js';
import type { EsTunnelConfig } from '../../src/pfe/types.js';
import { withEnv } from './util.js';

const key = Buffer.from('123456789009876543211234'), ak = Buffer.from('12345678901234567890');

/** Round trips in ms of `n` idle packets through a fresh PIC; `lost` counts those that never came back. */
export async function idleRoundTrips(n = 40): Promise<{ rtt: number[]; lost: number; expressed: number }> {
  const d = { protocol: 'esp' as const, spi: 1000, enc: { algorithm: '3des-cbc' as const, key }, auth: { algorithm: 'hmac-sha1-96' as const, key: ak } };
  const t: EsTunnelConfig = { ifl: 'es-0/1/0.0', pic: '0/1', source: 1, destination: 2, sa: { name: 'x', mode: 'tunnel', manual: { inbound: d, outbound: d, bidirectional: true } } };
  const pic = new EsPic('0/1');
  pic.configure([t]);
  await pic.ready;
  await pic.selfTested;   // its self-test runs while the PIC is idle: measured after it, as a router is
  const pkt = buildIpv4({ protocol: 1, src: 5, dst: 6 }, Buffer.alloc(44));
  const rtt: number[] = [];
  let lost = 0;
  try {
    for (let i = 0; i < n + 5; i++) {
      const t0 = performance.now();
      const ok = await new Promise<boolean>(res => {
        const timer = setTimeout(() => res(false), 1000);
        pic.setSink({ outer: () => { clearTimeout(timer); res(true); }, inner: () => { clearTimeout(timer); res(true); } });
        pic.encrypt(t.ifl, pkt);
      });
      if (i >= 5) { if (ok) rtt.push(performance.now() - t0); else lost++; }   // the first five warm up
      await new Promise(r => setTimeout(r, 20));
    }
  } finally { await pic.close(); }
  return { rtt, lost, expressed: pic.expressed };
}


export async function benchLatency(): Promise<void> {
  // the wake-up of the main thread both ways, in alternation (the machine's load drifts): the libuv
  // async handle of the addon, and Atomics.waitAsync on the ring
  const cases = [
    ['as shipped: the express path, native kernel', { VROUTER_ESP_NATIVE: '1', VROUTER_ES_UVWAKE: '1', VROUTER_ES_EXPRESS: '1' }],
    ['the worker: native kernel, libuv async wake-up', { VROUTER_ESP_NATIVE: '1', VROUTER_ES_UVWAKE: '1', VROUTER_ES_EXPRESS: '0' }],
    ['the worker: native kernel, Atomics.waitAsync wake-up', { VROUTER_ESP_NATIVE: '1', VROUTER_ES_UVWAKE: '0', VROUTER_ES_EXPRESS: '0' }],
    ['the worker: node:crypto, libuv async wake-up', { VROUTER_ESP_NATIVE: '0', VROUTER_ES_UVWAKE: '1', VROUTER_ES_EXPRESS: '0' }],
  ] as const;
  const all = cases.map(() => ({ rtt: [] as number[], lost: 0, n: 0, expressed: 0 }));
  for (let round = 0; round < 3; round++) {
    for (const [i, [, env]] of cases.entries()) {
      const r = await withEnv(env, () => idleRoundTrips(30));
      all[i]!.rtt.push(...r.rtt); all[i]!.lost += r.lost; all[i]!.n += 30; all[i]!.expressed += r.expressed;
    }
  }
  const base = all[1]!.rtt.slice().sort((x, y) => x - y)[Math.floor(all[1]!.rtt.length / 2)] ?? NaN;
  for (const [i, [label]] of cases.entries()) {
    const a = all[i]!, t = a.rtt.sort((x, y) => x - y);
    const q = (f: number) => (t[Math.floor(t.length * f)] ?? NaN).toFixed(3);
    // the warm-up packets are in `expressed` too: 35 per PIC
    console.log(`latency: one 64B packet through an idle ES PIC and back (${label}; 3des-cbc + hmac-sha1-96): median ${q(0.5)} ms, p90 ${q(0.9)} ms; lost ${a.lost} of ${a.n}; expressed ${a.expressed} of ${a.n + 15}; ratio to the worker's ${(t[Math.floor(t.length / 2)]! / base).toFixed(2)}`);
  }
  console.log('latency: one packet through the whole lab (ping through the tunnel): `sudo scripts/bench-lab.sh` (needs root and namespaces)');
}
