/**
 * Captures from the page (/ws/capture, docs/web.md): one capture per websocket, through the router's
 * control socket `capture` request, the same path as `vrouter capture` (the PFE's taps on a port),
 * written as the same pcap (src/net/pcap.ts). The page sees a one-line decode per packet
 * (src/web/decode.ts) and downloads the pcap from /api/capture/ID when it ends.
 *
 * Bounded: a capture stops at its packet count, its seconds, or CAPTURE_LIMITS (packets, seconds,
 * bytes), whichever comes first; the finished pcaps kept for download are few and expire. The router
 * side is always read (its own bound drops and counts what a slow reader misses); a page that reads
 * slowly misses lines (counted as `unsent`), never grows the server's memory; the pcap is whole.
 */
import type { WebSocket } from 'ws';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { pcapHeader, pcapRecord, LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../net/pcap.js';
import { connectSocket, lineReader } from './upstream.js';
import { decodePacket } from './decode.js';

export const CAPTURE_LIMITS = {
  packets: 100000, seconds: 600, bytes: 32 << 20,   // one capture
  running: 4,                                       // captures at once, all pages together
  stored: 8, storedBytes: 128 << 20, keepMs: 30 * 60_000,   // finished pcaps kept for download
  wsBuffered: 1 << 20,                              // a page with this much unread gets no more lines
  stopMs: 2000,                                     // a router that does not end a cancelled capture in time is cut off
};

export interface CaptureSpec { node: string; ifname: string; count?: number; seconds?: number }

const IFNAME = /^([a-z]{2,3}-\d{1,2}\/\d{1,2}\/\d{1,2}|lo0)(\.\d{1,5})?$/;

/** A page's start request, checked. Pure. Without count and seconds, a capture runs the seconds limit. */
export function captureSpec(o: unknown, routers: readonly string[]): CaptureSpec | { error: string } {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { error: 'start must be an object' };
  const s = o as Record<string, unknown>;
  if (typeof s.node !== 'string' || !routers.includes(s.node)) return { error: `no router ${String(s.node)} in this lab` };
  if (typeof s.ifname !== 'string' || !IFNAME.test(s.ifname)) return { error: 'ifname must be an interface name such as fe-0/0/1' };
  const int = (k: 'count' | 'seconds', max: number): number | undefined | string => {
    const v = s[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) return `${k} must be 1..${max}`;
    return v;
  };
  const count = int('count', CAPTURE_LIMITS.packets), seconds = int('seconds', CAPTURE_LIMITS.seconds);
  if (typeof count === 'string') return { error: count };
  if (typeof seconds === 'string') return { error: seconds };
  return { node: s.node, ifname: s.ifname, ...(count ? { count } : {}), ...(seconds ? { seconds } : {}) };
}

export interface StoredPcap { id: string; node: string; ifname: string; data: Buffer; at: number }

/** The finished pcaps, for download: at most `stored` of them and `storedBytes` together, each for `keepMs`. */
export class PcapStore {
  private m = new Map<string, StoredPcap>();
  put(p: StoredPcap): void {
    this.expire();
    this.m.set(p.id, p);
    let total = [...this.m.values()].reduce((a, x) => a + x.data.length, 0);
    for (const [id, x] of this.m) {
      if (this.m.size <= CAPTURE_LIMITS.stored && total <= CAPTURE_LIMITS.storedBytes) break;
      if (id === p.id) continue;
      this.m.delete(id); total -= x.data.length;
    }
  }
  get(id: string): StoredPcap | undefined { this.expire(); return this.m.get(id); }
  private expire(): void { const now = Date.now(); for (const [id, x] of this.m) if (now - x.at > CAPTURE_LIMITS.keepMs) this.m.delete(id); }
}

let running = 0;

/** Serve one /ws/capture websocket: {start: CaptureSpec} starts, {stop: true} stops. */
export function captureSocket(ws: WebSocket, routers: readonly string[], socketOf: (node: string) => string, store: PcapStore): void {
  let active: { stop: (why: string) => void } | undefined;
  const toPage = (o: object, always = false) => {
    if (ws.readyState !== ws.OPEN) return false;
    if (!always && ws.bufferedAmount > CAPTURE_LIMITS.wsBuffered) return false;
    ws.send(JSON.stringify(o));
    return true;
  };
  ws.on('message', (d, isBinary) => {
    if (isBinary) return;
    let m: Record<string, unknown>;
    try { m = JSON.parse(String(d)) as Record<string, unknown>; } catch { toPage({ error: 'not JSON' }, true); return; }
    if (m.stop === true) { active?.stop('stopped'); return; }
    if (!('start' in m)) { toPage({ error: 'expected start or stop' }, true); return; }
    if (active) { toPage({ error: 'a capture is already running on this page' }, true); return; }
    const spec = captureSpec(m.start, routers);
    if ('error' in spec) { toPage({ error: spec.error }, true); return; }
    if (running >= CAPTURE_LIMITS.running) { toPage({ error: `${CAPTURE_LIMITS.running} captures are running already` }, true); return; }
    active = runCapture(spec, socketOf(spec.node), toPage, store, () => { active = undefined; });
  });
  ws.on('close', () => active?.stop('the page went away'));
  ws.on('error', () => ws.terminate());
}

function runCapture(spec: CaptureSpec, path: string, toPage: (o: object, always?: boolean) => boolean, store: PcapStore, ended: () => void): { stop: (why: string) => void } {
  running++;
  const id = randomBytes(12).toString('base64url');
  const linktype = spec.ifname.startsWith('es-') ? LINKTYPE_RAW : LINKTYPE_ETHERNET;
  const chunks: Buffer[] = [pcapHeader(linktype)];
  let bytes = 24, packets = 0, unsent = 0, dropped = 0, finished = false, stopping = '', sock: Socket | undefined;
  const max = spec.count ?? CAPTURE_LIMITS.packets;
  let timer: NodeJS.Timeout | undefined, cutoff: NodeJS.Timeout | undefined;
  const finish = (why: string, error?: string) => {
    if (finished) return;
    finished = true;
    running--;
    clearTimeout(timer); clearTimeout(cutoff);
    sock?.destroy();
    const data = Buffer.concat(chunks);
    chunks.length = 0;
    if (!error || packets) store.put({ id, node: spec.node, ifname: spec.ifname, data, at: Date.now() });
    toPage({ done: true, id: !error || packets ? id : undefined, packets, bytes: data.length, dropped, unsent, reason: why, ...(error ? { error } : {}) }, true);
    ended();
  };
  const stop = (why: string) => {
    if (finished || stopping) return;
    stopping = why;
    if (!sock) { finish(why); return; }
    sock.write(JSON.stringify({ id: 1, cancel: true }) + '\n');
    cutoff = setTimeout(() => finish(why), CAPTURE_LIMITS.stopMs);
  };
  connectSocket(path).then(s => {
    if (finished) { s.destroy(); return; }
    if (stopping) { s.destroy(); finish(stopping); return; }
    sock = s;
    s.setEncoding('utf8');
    s.on('data', lineReader(m => {
      if (m.id !== 1 || finished) return;
      if (m.capturing) {
        toPage({ started: true, id, node: spec.node, ifname: spec.ifname, linktype, ...(spec.count ? { count: spec.count } : {}), seconds: spec.seconds ?? (spec.count ? undefined : CAPTURE_LIMITS.seconds) }, true);
        timer = setTimeout(() => stop(spec.seconds ? `${spec.seconds} seconds` : `the limit of ${CAPTURE_LIMITS.seconds} seconds`), (spec.seconds ?? CAPTURE_LIMITS.seconds) * 1000);
        return;
      }
      if (typeof m.pkt === 'string' && !stopping) {
        const data = Buffer.from(m.pkt, 'base64'), t = Number(m.t) || Date.now();
        const rec = pcapRecord(data, t);
        if (bytes + rec.length > CAPTURE_LIMITS.bytes) { stop(`the limit of ${CAPTURE_LIMITS.bytes} bytes`); return; }
        chunks.push(rec); bytes += rec.length; packets++;
        const d = decodePacket(data, m.kind === 'ip' ? 'ip' : 'eth');
        if (!toPage({ n: packets, t, len: data.length, ...d })) unsent++;
        if (packets >= max) stop(spec.count ? `${spec.count} packets` : `the limit of ${CAPTURE_LIMITS.packets} packets`);
        return;
      }
      if (m.done) {
        dropped = Number(m.dropped ?? 0);
        finish(stopping || (packets >= max ? `${max} packets` : 'the router ended it'), typeof m.error === 'string' ? m.error : undefined);
      }
    }, why => finish('bad answer', `the router's answer: ${why}`)));
    s.on('close', () => finish(stopping || 'the router closed the connection', stopping ? undefined : 'the router closed the connection'));
    s.on('error', () => { /* close follows */ });
    s.write(JSON.stringify({ id: 1, capture: spec.ifname, ...(spec.count ? { count: spec.count } : {}) }) + '\n');
  }, e => finish('no router', `the router is not running (${(e as Error).message})`));
  return { stop };
}
