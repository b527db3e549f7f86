/**
 * Bench: ES PIC encrypt+decrypt throughput with ESP 3des-cbc + hmac-sha1-96 through the worker
 * thread, beside the naive node:crypto loop (a new cipher, decipher and HMAC object per packet:
 * encrypt+MAC, then MAC+decrypt) on the same bytes in this process, and beside the bound: `openssl
 * speed -evp des-ede3-cbc` on one core, halved (every packet is encrypted and decrypted). One line
 * per packet size.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { EsPic } from '../../pics/es/es-pic.js';
import { SecurityAssociation } from '../../pics/es/sa.js';
import { espMbArch, espMbReset, espBatchBegin, espBatchEnd, espMbVectorised } from '../../pics/es/esp.js';
import { buildIpv4 } from '../../src/net/ipv4.js';
import { ipToInt } from '../../src/net/ip.js';
import type { EsTunnelConfig } from '../../src/pfe/types.js';

const ENC_KEY = Buffer.from('0123456789abcdeffedcba987654321089abcdef01234567', 'hex');
const AUTH_KEY = Buffer.from('00112233445566778899aabbccddeeff00112233', 'hex');

function rawRate(pkts: Buffer[], rounds: number): number {
  const iv = randomBytes(8);
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  for (let r = 0; r < rounds; r++) {
    for (const p of pkts) {
      const pad = (8 - ((p.length + 2) % 8)) % 8;
      const pt = Buffer.concat([p, Buffer.alloc(pad + 2)]);
      const c = createCipheriv('des-ede3-cbc', ENC_KEY, iv); c.setAutoPadding(false);
      const ct = Buffer.concat([c.update(pt), c.final()]);
      const mac = createHmac('sha1', AUTH_KEY).update(ct).digest();
      const mac2 = createHmac('sha1', AUTH_KEY).update(ct).digest();
      if (!mac.equals(mac2)) throw new Error('mac');
      const d = createDecipheriv('des-ede3-cbc', ENC_KEY, iv); d.setAutoPadding(false);
      Buffer.concat([d.update(ct), d.final()]);
      bytes += p.length;
    }
  }
  return bytes / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/**
 * Packets through the worker (encrypt, then decrypt what comes out), at most 1024 in flight. It always
 * ends: when every packet came back, or when none has come back for a second (a packet lost in the
 * PIC, a ring full); the rate counts what came back, and the losses are reported beside it.
 */
async function picRate(pic: EsPic, pkts: Buffer[], rounds: number, ifls: string[] = ['es-0/1/0.0']): Promise<{ rate: number; lost: number }> {
  const total = pkts.length * rounds;
  let inner = 0, sent = 0, bytes = 0, last = process.hrtime.bigint();
  const t0 = process.hrtime.bigint();
  await new Promise<void>(done => {
    let progress = -1;
    const watchdog = setInterval(() => {
      if (inner === progress) { clearInterval(watchdog); done(); }   // nothing for a whole second: the rest is lost
      progress = inner;
    }, 1000);
    pic.setSink({
      // results come with 14 bytes of headroom in front (for the PFE's Ethernet header)
      outer: (ifl, pkt, _t, headroom) => pic.decrypt(ifl, headroom ? pkt.subarray(14) : pkt),
      inner: (_ifl, pkt, _t, headroom) => {
        inner++; bytes += pkt.length - (headroom ? 14 : 0); last = process.hrtime.bigint();
        if (inner === total) { clearInterval(watchdog); done(); } else if (sent < total && inner % 128 === 0) pump();
      },
    });
    // keep at most 1024 packets in flight, topped up in batches (a lost one frees its place after a while)
    const pump = () => { while (sent < total && sent - inner < 1024) { pic.encrypt(ifls[sent % ifls.length]!, pkts[sent % pkts.length]!); sent++; } };
    pump();
    const topUp = setInterval(() => { if (sent >= total) clearInterval(topUp); else pump(); }, 100);
  });
  return { rate: bytes / (Number(last - t0) / 1e9), lost: total - inner };
}

/** `openssl speed -evp des-ede3-cbc` for `size`-byte blocks, bytes per second (undefined without openssl). */
function opensslSpeed(size: number): number | undefined {
  try {
    const out = execFileSync('openssl', ['speed', '-evp', 'des-ede3-cbc', '-bytes', String(size), '-seconds', '1', '-mr'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /^\+F:\d+:[^:]+:([\d.]+)/m.exec(out);
    return m ? Number(m[1]) : undefined;
  } catch { return undefined; }
}

/** The three packet sizes through `pic`, each against the naive loop and the openssl bound. */
async function sizeLines(pic: EsPic, label: string): Promise<void> {
  await pic.selfTested;   // the worker's self-test runs while it is idle: measured after it, as a router that is up
  for (const size of [64, 512, 1400]) {
    const pkts = Array.from({ length: 64 }, (_, i) => buildIpv4({ protocol: 17, src: ipToInt('10.1.1.1'), dst: ipToInt('10.2.2.2'), id: i }, randomBytes(size - 20)));
    const budget = Math.max(200, Math.floor(6_000_000 / size));  // about 6 MB each way per measurement
    const rounds = Math.ceil(budget / pkts.length);
    await picRate(pic, pkts, 2); rawRate(pkts, 2);   // warm up
    const p: number[] = [], r: number[] = [];
    let lost = 0;
    for (let k = 0; k < 3; k++) { const x = await picRate(pic, pkts, rounds); p.push(x.rate); lost += x.lost; r.push(rawRate(pkts, rounds)); }
    p.sort((a, b) => a - b); r.sort((a, b) => a - b);
    const mbps = (x: number) => (x * 8 / 1e6).toFixed(0);
    const bound = opensslSpeed(size - (size % 8) + 8);
    console.log(`es-pic esp 3des-cbc hmac-sha1-96 encrypt+decrypt ${size}B (${label}): worker ${mbps(p[1]!)} Mbit/s, naive node:crypto ${mbps(r[1]!)} Mbit/s, ratio=${(p[1]! / r[1]!).toFixed(2)}` +
      (bound ? `; bound (openssl speed des-ede3-cbc, one core, halved) ${mbps(bound / 2)} Mbit/s, worker at ${(p[1]! / (bound / 2)).toFixed(2)} of it` : '') + `; lost ${lost} of ${3 * rounds * pkts.length}`);
  }
}

/** A PIC whose worker seals with the native kernel (`native` true) or with node:crypto; `mb`: multi-buffer seals on or off (VROUTER_ESP_MB). */
function picFor(native: boolean, tunnel: EsTunnelConfig, mb = false): EsPic {
  const was = process.env.VROUTER_ESP_NATIVE, wasMb = process.env.VROUTER_ESP_MB;
  process.env.VROUTER_ESP_NATIVE = native ? '1' : '0';   // the worker takes a copy of the environment when it starts
  process.env.VROUTER_ESP_MB = mb ? '1' : '0';
  try { const pic = new EsPic('0/1'); pic.configure([tunnel]); return pic; }
  finally {
    if (was === undefined) delete process.env.VROUTER_ESP_NATIVE; else process.env.VROUTER_ESP_NATIVE = was;
    if (wasMb === undefined) delete process.env.VROUTER_ESP_MB; else process.env.VROUTER_ESP_MB = wasMb;
  }
}

/**
 * The multi-buffer seal and open against the OpenSSL ones, in this thread: batches of 16 tunnel-mode
 * packets of `size` bytes sealed (then opened) for about `ms` each (time-bounded: the library's DES is
 * very slow on CPUs without AVX-512). Bytes per second, or undefined without the library.
 */
function mbProbe(size: number, ms = 400): { mb: number; ossl: number; mbOpen: number; osslOpen: number } | undefined {
  if (espMbArch() === 'none') return undefined;
  const was = process.env.VROUTER_ESP_MB;
  const spec = { name: 'p', direction: 'outbound' as const, protocol: 'esp' as const, mode: 'tunnel' as const, spi: 5, manual: true,
    enc: { algorithm: '3des-cbc' as const, key: ENC_KEY }, auth: { algorithm: 'hmac-sha1-96' as const, key: AUTH_KEY }, tunnel: { source: 1, destination: 2 } };
  const pkts = Array.from({ length: 16 }, (_, i) => buildIpv4({ protocol: 17, src: 5, dst: 6, id: i }, randomBytes(size - 20)));
  const sealed = pkts.map(p => { const r = new SecurityAssociation(spec).encapsulate(p); return r.ok ? r.packet : Buffer.alloc(0); });
  const rate = (mb: boolean, open: boolean) => {
    process.env.VROUTER_ESP_MB = mb ? '1' : '0'; espMbReset();
    const sa = new SecurityAssociation(open ? { ...spec, direction: 'inbound' } : spec);
    let bytes = 0, bad = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      espBatchBegin();
      if (!open) for (const p of pkts) { sa.encapsulate(p); bytes += p.length; }
      else {
        const pend = sealed.map(p => sa.decapsulate(p, true));
        espBatchEnd();
        for (const p of pend) { const r = p.ok === 'pending' ? sa.opened(p) : p; if (r.ok) bytes += r.packet.length; else bad++; }
      }
      espBatchEnd();
    }
    if (bad) throw new Error(`mbProbe: ${bad} opens failed`);
    return bytes / ((performance.now() - t0) / 1000);
  };
  try { return { mb: rate(true, false), ossl: rate(false, false), mbOpen: rate(true, true), osslOpen: rate(false, true) }; }
  finally { if (was === undefined) delete process.env.VROUTER_ESP_MB; else process.env.VROUTER_ESP_MB = was; espMbReset(); }
}

export async function benchEsPic(): Promise<void> {
  const arch = espMbArch();
  for (const size of [64, 1400]) {
    const r = mbProbe(size);
    const bound = opensslSpeed(size - (size % 8) + 8);
    const mbps = (x: number) => (x * 8 / 1e6).toFixed(1);
    const why = espMbVectorised() ? 'DES multi-buffer on this CPU (AVX-512, des_x16_avx512)'
      : 'slow here: its DES/3DES is multi-buffer only with AVX-512, this CPU runs its one-block-at-a-time C DES (des_basic.c)';
    const of = (x: number) => bound ? `, ${(x / bound).toFixed(3)} of the bound` : '';
    console.log(r ? `es-pic multi-buffer (intel-ipsec-mb, arch ${arch}, ${why}; the worker's default where DES is multi-buffer, else only with VROUTER_ESP_MB=1) 3des-cbc + hmac-sha1-96 ${size}B, batches of 16: ` +
      `seal ${mbps(r.mb)} Mbit/s against OpenSSL kernel ${mbps(r.ossl)} Mbit/s, ratio=${(r.mb / r.ossl).toFixed(3)}${of(r.mb)}; ` +
      `open ${mbps(r.mbOpen)} Mbit/s against OpenSSL kernel ${mbps(r.osslOpen)} Mbit/s, ratio=${(r.mbOpen / r.osslOpen).toFixed(3)}${of(r.mbOpen)}` +
      (bound ? `; bound (openssl speed des-ede3-cbc, one core) ${mbps(bound)} Mbit/s` : '')
      : `es-pic multi-buffer: not built (no intel-ipsec-mb): OpenSSL path only`);
  }
  const d = { protocol: 'esp' as const, spi: 1000, enc: { algorithm: '3des-cbc' as const, key: ENC_KEY }, auth: { algorithm: 'hmac-sha1-96' as const, key: AUTH_KEY } };
  const tunnel: EsTunnelConfig = { ifl: 'es-0/1/0.0', pic: '0/1', source: ipToInt('10.5.5.5'), destination: ipToInt('10.6.6.6'),
    sa: { name: 'bench', mode: 'tunnel', manual: { inbound: d, outbound: d, bidirectional: true } } };
  const js = picFor(false, tunnel);
  try { await sizeLines(js, 'node:crypto in the worker'); } finally { await js.close(); }
  if (espMbVectorised()) {
    // the default on this CPU: multi-buffer seals and opens
    const mbPic = picFor(true, tunnel, true);
    try { await sizeLines(mbPic, 'native kernel, multi-buffer seals and opens: the default on this CPU'); } finally { await mbPic.close(); }
  }
  const pic = picFor(true, tunnel);
  try {
    await sizeLines(pic, espMbVectorised() ? 'native kernel, OpenSSL seals and opens (VROUTER_ESP_MB=0)' : 'native kernel');
    // scale: 500 manual SAs on one ES PIC, packets spread over all of them, against one SA
    const many: EsTunnelConfig[] = Array.from({ length: 500 }, (_, i) => {
      const di = { ...d, spi: 2000 + i };
      return { ifl: `es-0/1/0.${i}`, pic: '0/1', source: ipToInt('10.5.5.5'), destination: ipToInt(`10.6.${i >> 8}.${i & 255}`), sa: { name: `sa${i}`, mode: 'tunnel', manual: { inbound: di, outbound: di, bidirectional: true } } };
    });
    pic.configure(many);
    const pkts = Array.from({ length: 64 }, (_, i) => buildIpv4({ protocol: 17, src: ipToInt('10.1.1.1'), dst: ipToInt('10.2.2.2'), id: i }, randomBytes(512 - 20)));
    const ifls = many.map(t => t.ifl);
    await picRate(pic, pkts, 4, ifls);
    const one: number[] = [], all: number[] = [];
    for (let k = 0; k < 3; k++) { one.push((await picRate(pic, pkts, 120, ['es-0/1/0.0'])).rate); all.push((await picRate(pic, pkts, 120, ifls)).rate); }
    one.sort((a, b) => a - b); all.sort((a, b) => a - b);
    const mbps = (x: number) => (x * 8 / 1e6).toFixed(0);
    console.log(`es-pic 500 manual SAs on one PIC, 512B packets spread over all of them: ${mbps(all[1]!)} Mbit/s; all on one SA: ${mbps(one[1]!)} Mbit/s; ratio=${(all[1]! / one[1]!).toFixed(2)}`);
  } finally { await pic.close(); }
}
