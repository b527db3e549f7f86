/**
 * Operational tools that use real packets through the router's own PFE: ping, traceroute and
 * monitor traffic. Each writes JUNOS-style lines and stops when its AbortSignal fires.
 */
import type { Router } from './router.js';
import { buildIpv4, parseIpv4, PROTO_ICMP, PROTO_UDP } from '../net/ipv4.js';
import { buildIcmp, parseIcmp, buildUdp, ICMP_ECHO, ICMP_ECHO_REPLY, ICMP_UNREACH, ICMP_TIME_EXCEEDED, UNREACH_PORT } from '../net/l4.js';
import { ipToInt, intToIp } from '../net/ip.js';
import { decodeFrame, decodeIp } from '../net/decode.js';

export interface OpIO { write(s: string): void; signal?: AbortSignal }
const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>(res => {
  const t = setTimeout(res, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); res(); }, { once: true });
});
const UNREACH_TEXT: Record<number, string> = { 0: 'Destination Net Unreachable', 1: 'Destination Host Unreachable', 3: 'Destination Port Unreachable', 4: 'Frag needed and DF set', 13: 'Communication prohibited by filter' };

export interface PingOptions { host: string; count?: number; source?: string; rapid?: boolean; size?: number; ttl?: number; interval?: number; dontFragment?: boolean; wait?: number }

export async function ping(r: Router, o: PingOptions, io: OpIO): Promise<{ sent: number; received: number }> {
  const dst = ipToInt(o.host);
  const src = o.source ? ipToInt(o.source) : r.pfe.sourceFor(dst);
  if (src === undefined) { io.write('ping: sendto: No route to host\n'); return { sent: 0, received: 0 }; }
  if (o.source && !r.pfe.isLocal(src)) { io.write(`ping: bind: Can't assign requested address\n`); return { sent: 0, received: 0 }; }
  const size = o.size ?? 56;
  const count = o.count ?? (o.rapid ? 5 : Infinity);
  const ident = r.pfe.nextId();
  const rtts: number[] = [];
  let sent = 0, received = 0;
  const pending = new Map<number, number>();
  let wake: (() => void) | undefined;
  const off = r.pfe.addListener(pkt => {
    const h = parseIpv4(pkt);
    if (!h.ok || h.value.protocol !== PROTO_ICMP) return false;
    const ic = parseIcmp(pkt.subarray(h.value.ihl, h.value.totalLength));
    if (!ic.ok) return false;
    const { type, code, rest, data } = ic.value;
    if (type === ICMP_ECHO_REPLY && rest >>> 16 === ident) {
      const seq = rest & 0xffff, t0 = pending.get(seq);
      if (t0 === undefined) return true;
      pending.delete(seq);
      const rtt = performance.now() - t0;
      rtts.push(rtt); received++;
      io.write(o.rapid ? '!' : `${data.length + 8} bytes from ${intToIp(h.value.src)}: icmp_seq=${seq} ttl=${h.value.ttl} time=${rtt.toFixed(3)} ms\n`);
      wake?.();
      return true;
    }
    if ((type === ICMP_UNREACH || type === ICMP_TIME_EXCEEDED) && data.length >= 28 && data[9] === PROTO_ICMP && data.readUInt16BE(24) === ident) {
      const seq = data.readUInt16BE(26);
      if (!pending.delete(seq)) return true;
      io.write(o.rapid ? 'U' : `${ic.value.data.length + 8} bytes from ${intToIp(h.value.src)}: ${type === ICMP_TIME_EXCEEDED ? 'Time to live exceeded' : UNREACH_TEXT[code] ?? `Destination Unreachable (code ${code})`}\n`);
      wake?.();
      return true;
    }
    return false;
  });
  io.write(`PING ${o.host} (${o.host}): ${size} data bytes\n`);
  try {
    const payload = Buffer.alloc(size);
    for (let i = 8; i < size; i++) payload[i] = i & 0xff;
    for (let seq = 0; seq < count && !io.signal?.aborted; seq++) {
      const pkt = buildIpv4({ protocol: PROTO_ICMP, src, dst, id: r.pfe.nextId(), ttl: o.ttl ?? 64, df: o.dontFragment ?? false }, buildIcmp(ICMP_ECHO, 0, (ident << 16) | (seq & 0xffff), payload));
      pending.set(seq & 0xffff, performance.now());
      sent++;
      r.pfe.originate(pkt);
      const last = seq === count - 1;
      // never starve the router: every request yields to the event loop (forwarding, the control
      // socket, the ES PIC heartbeat), whatever the interval
      await new Promise<void>(res => setImmediate(res));
      const waitMs = last ? (o.wait ?? 1) * 1000 : o.rapid ? 100 : Math.max(100, (o.interval ?? 1) * 1000);
      const end = Date.now() + waitMs;
      while (Date.now() < end && !io.signal?.aborted) {
        if (o.rapid || last) { if (!pending.has(seq & 0xffff)) break; }
        await new Promise<void>(res => { wake = res; void sleep(Math.max(1, end - Date.now()), io.signal).then(res); });
      }
      if (o.rapid && pending.delete(seq & 0xffff)) io.write('.');
    }
  } finally { off(); }
  if (o.rapid) io.write('\n');
  io.write(`\n--- ${o.host} ping statistics ---\n`);
  io.write(`${sent} packets transmitted, ${received} packets received, ${sent ? Math.round(100 * (sent - received) / sent) : 0}% packet loss\n`);
  if (rtts.length) {
    const min = Math.min(...rtts), max = Math.max(...rtts), avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
    const sd = Math.sqrt(rtts.reduce((a, b) => a + (b - avg) ** 2, 0) / rtts.length);
    io.write(`round-trip min/avg/max/stddev = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)}/${sd.toFixed(3)} ms\n`);
  }
  return { sent, received };
}

export async function traceroute(r: Router, o: { host: string; maxHops?: number; wait?: number }, io: OpIO): Promise<void> {
  const dst = ipToInt(o.host);
  const src = r.pfe.sourceFor(dst);
  if (src === undefined) { io.write('traceroute: no route to host\n'); return; }
  const maxHops = o.maxHops ?? 30, basePort = 33434, sport = 0x8000 | (r.pfe.nextId() & 0x7fff);
  io.write(`traceroute to ${o.host} (${o.host}), ${maxHops} hops max, 40 byte packets\n`);
  let answer: ((v: { from: number; port: boolean }) => void) | undefined;
  let expect = -1;
  const off = r.pfe.addListener(pkt => {
    const h = parseIpv4(pkt);
    if (!h.ok || h.value.protocol !== PROTO_ICMP) return false;
    const ic = parseIcmp(pkt.subarray(h.value.ihl, h.value.totalLength));
    if (!ic.ok || (ic.value.type !== ICMP_TIME_EXCEEDED && ic.value.type !== ICMP_UNREACH)) return false;
    const q = ic.value.data;
    if (q.length < 28 || q[9] !== PROTO_UDP || q.readUInt16BE(20) !== sport) return false;
    if (q.readUInt16BE(22) === expect) answer?.({ from: h.value.src, port: ic.value.type === ICMP_UNREACH && ic.value.code === UNREACH_PORT });
    return true;
  });
  try {
    for (let ttl = 1; ttl <= maxHops && !io.signal?.aborted; ttl++) {
      let line = `${String(ttl).padStart(2)} `;
      let reached = false, lastFrom = -1;
      for (let probe = 0; probe < 3 && !io.signal?.aborted; probe++) {
        expect = basePort + ttl * 3 + probe;
        const t0 = performance.now();
        const got = new Promise<{ from: number; port: boolean } | null>(res => {
          answer = res;
          void sleep((o.wait ?? 2) * 1000, io.signal).then(() => res(null));
        });
        r.pfe.originate(buildIpv4({ protocol: PROTO_UDP, src, dst, id: r.pfe.nextId(), ttl }, buildUdp({ src, dst }, sport, expect, Buffer.alloc(12))));
        const g = await got;
        if (!g) { line += ' *'; continue; }
        if (g.from !== lastFrom) { line += ` ${intToIp(g.from)} (${intToIp(g.from)})`; lastFrom = g.from; }
        line += `  ${(performance.now() - t0).toFixed(3)} ms`;
        if (g.port || g.from === dst) reached = true;
      }
      io.write(line + '\n');
      if (reached) break;
    }
  } finally { off(); }
}

/** `monitor traffic interface IF`: decoded lines until cancelled (or `count` packets). */
export async function monitor(r: Router, o: { ifname: string; count?: number }, io: OpIO): Promise<void> {
  const ifd = o.ifname.replace(/\.\d+$/, '');
  if (!r.pfe.ifds.has(ifd)) { io.write(`error: device ${o.ifname} not found\n`); return; }
  io.write('verbose output suppressed, use <detail> or <extensive> for full protocol decode\n');
  io.write(`Listening on ${ifd}, capture size 96 bytes\n\n`);
  let n = 0;
  await new Promise<void>(done => {
    const off = r.pfe.addTap((name, dir, data, kind) => {
      if (name !== ifd) return;
      const t = new Date().toISOString().slice(11, 23);
      io.write(`${t} ${dir === 'in' ? ' In' : 'Out'} ${kind === 'eth' ? decodeFrame(data) : decodeIp(data)}\n`);
      n++;   // every packet seen counts, with or without `count`
      if (o.count && n >= o.count) { off(); done(); }
    });
    io.signal?.addEventListener('abort', () => { off(); done(); }, { once: true });
    if (io.signal?.aborted) { off(); done(); }
  });
  io.write(`\n${n} packets received by filter\n`);
}

/**
 * `monitor packet-trace [interface IF] [count N]`: the next N packets received (on IF, or anywhere),
 * each with every stage of the forwarding path it crossed and why it left (VPP's `trace add`, in the
 * CLI). Ends when the N traces are complete (continuations after the ES PIC included), or on Ctrl-C.
 */
export async function packetTrace(r: Router, o: { ifname?: string; count?: number }, io: OpIO): Promise<void> {
  const ifd = o.ifname?.replace(/\.\d+$/, '');
  if (ifd && !r.pfe.ifds.has(ifd)) { io.write(`error: device ${o.ifname} not found\n`); return; }
  const count = o.count ?? 10;
  io.write(`Tracing the next ${count} packet${count === 1 ? '' : 's'} received${ifd ? ` on ${ifd}` : ''} (Ctrl-C stops)\n\n`);
  let last = Date.now();
  const h = r.pfe.traces.add(count, lines => { last = Date.now(); io.write(lines.join('\n') + '\n\n'); }, ifd);
  try {
    // done when every trace started is complete; a continuation the ES PIC never returns (it dropped
    // the packet) is given up 2 s after the last line
    while (!io.signal?.aborted && !(h.started >= count && (h.open === 0 || Date.now() - last > 2000))) {
      await sleep(50, io.signal);
    }
  } finally { h.stop(); }
  io.write(`${h.started} packet${h.started === 1 ? '' : 's'} traced\n`);
}
