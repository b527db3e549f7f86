/**
 * The router side of a packet trace from the web page (the control socket's `trace` request): the
 * PFE's own packet traces (`monitor packet-trace`, src/pfe/trace.ts) of the next N packets whose
 * IPv4 source and destination match, each sent as typed steps (stage, what it did, the drop and its
 * reason) with a key that names the packet the same way on every router (addresses, protocol, ICMP
 * id and sequence or the IP id), so the page can join one packet's traces across the routers.
 */
import type { Router } from '../router/router.js';
import type { Pkt } from '../pfe/graph.js';
import { intToIp, ipToInt } from '../net/ip.js';
import { isIP } from 'node:net';

export interface TraceSpec { src?: string; dst?: string; both: boolean; count: number; seconds: number }
export interface TraceStep { stage: string; text: string; drop?: string }
export interface TraceRecord { num: number; continued: boolean; head: string; key?: string; steps: TraceStep[]; at: number }

export const TRACE_LIMITS = { count: 100, seconds: 600, quietMs: 2000, keys: 1024, steps: 64, text: 300 };

/** The request's `trace` object, checked. Pure. */
export function parseTraceSpec(o: unknown): TraceSpec | { error: string } {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { error: 'bad request: trace must be an object' };
  const t = o as Record<string, unknown>;
  for (const k of ['src', 'dst'] as const) if (t[k] !== undefined && (typeof t[k] !== 'string' || isIP(t[k] as string) !== 4)) return { error: `bad request: trace ${k} must be an IPv4 address` };
  const int = (k: string, def: number, max: number) => t[k] === undefined ? def : typeof t[k] === 'number' && Number.isSafeInteger(t[k]) && (t[k] as number) >= 1 && (t[k] as number) <= max ? t[k] as number : NaN;
  const count = int('count', 10, TRACE_LIMITS.count), seconds = int('seconds', 60, TRACE_LIMITS.seconds);
  if (Number.isNaN(count)) return { error: `bad request: trace count must be 1..${TRACE_LIMITS.count}` };
  if (Number.isNaN(seconds)) return { error: `bad request: trace seconds must be 1..${TRACE_LIMITS.seconds}` };
  if (t.both !== undefined && typeof t.both !== 'boolean') return { error: 'bad request: trace both must be true or false' };
  return { ...(t.src ? { src: t.src as string } : {}), ...(t.dst ? { dst: t.dst as string } : {}), both: t.both !== false, count, seconds };
}

/** The packet's key (` [KEY]` in its trace's first line) when its IPv4 header matches, else undefined. */
export function matcher(spec: TraceSpec): (p: Pkt) => string | undefined {
  const s = spec.src ? ipToInt(spec.src) >>> 0 : undefined, d = spec.dst ? ipToInt(spec.dst) >>> 0 : undefined;
  const fits = (a: number, b: number) => (s === undefined || a === s) && (d === undefined || b === d);
  return p => {
    const b = p.buf, o = p.l3;
    if (p.rxIfd && (o !== 14 || b[12] !== 0x08 || b[13] !== 0x00)) return undefined;   // an Ethernet frame that is not IPv4
    if (b.length < o + 20 || b[o]! >> 4 !== 4) return undefined;
    const src = b.readUInt32BE(o + 12), dst = b.readUInt32BE(o + 16);
    if (!fits(src, dst) && !(spec.both && fits(dst, src))) return undefined;
    return ` [${packetKey(b, o)}]`;
  };
}

const ICMP_NAMES: Record<number, string> = { 0: 'echo-reply', 8: 'echo-request', 3: 'unreachable', 11: 'time-exceeded' };
/** A packet's name, the same on every router it crosses (TTL and checksum left out). */
export function packetKey(b: Buffer, o: number): string {
  const ihl = (b[o]! & 15) * 4, proto = b[o + 9]!, head = `${intToIp(b.readUInt32BE(o + 12))}>${intToIp(b.readUInt32BE(o + 16))}`;
  const fragOff = b.readUInt16BE(o + 6) & 0x1fff;
  if (proto === 1 && !fragOff && b.length >= o + ihl + 8) {
    const t = b[o + ihl]!;
    if (t === 0 || t === 8) return `${head} icmp ${ICMP_NAMES[t]} id ${b.readUInt16BE(o + ihl + 4)} seq ${b.readUInt16BE(o + ihl + 6)}`;
    return `${head} icmp ${ICMP_NAMES[t] ?? `type-${t}`} ipid ${b.readUInt16BE(o + 4)}`;
  }
  return `${head} proto ${proto} ipid ${b.readUInt16BE(o + 4)}${fragOff ? ` frag ${fragOff * 8}` : ''}`;
}

/** One trace's lines (src/pfe/trace.ts, graph.ts: "Packet N[ (continued)]: HEAD", then "  STAGE  TEXT") as typed steps. Pure. */
export function parseTrace(lines: readonly string[], at = Date.now()): TraceRecord | undefined {
  const m = /^Packet (\d+)( \(continued\))?: (.*)$/.exec(lines[0] ?? '');
  if (!m) return undefined;
  let head = m[3]!, key: string | undefined;
  const k = / \[([^\]]+)\]$/.exec(head);
  if (k) { key = k[1]; head = head.slice(0, k.index); }
  const steps: TraceStep[] = [];
  for (const l of lines.slice(1, 1 + TRACE_LIMITS.steps)) {
    const s = /^ {2}(\S+)\s+(.*)$/.exec(l);
    if (!s) continue;
    const text = s[2]!.slice(0, TRACE_LIMITS.text);
    steps.push({ stage: s[1]!, text, ...(text.startsWith('drop: ') ? { drop: text.slice(6) } : {}) });
  }
  return { num: Number(m[1]), continued: !!m[2], head, ...(key ? { key } : {}), steps, at };
}

/**
 * Trace the next `count` matching packets (and their continuations after the ES PIC); each finished
 * part goes to `send` as {trace}. Ends on the signal, after `seconds`, or when every trace started is
 * complete (a continuation the ES PIC never returns is given up `quietMs` after the last part).
 */
export function startTrace(r: Router, spec: TraceSpec, send: (o: object) => void, signal: AbortSignal, ended: () => void): void {
  const keys = new Map<number, string>();
  let last = Date.now(), done = false;
  const h = r.pfe.traces.add(spec.count, lines => {
    last = Date.now();
    const t = parseTrace(lines, last);
    if (!t) return;
    if (t.key) { keys.set(t.num, t.key); if (keys.size > TRACE_LIMITS.keys) keys.delete(keys.keys().next().value!); }
    else if (keys.has(t.num)) t.key = keys.get(t.num);
    send({ trace: t });
  }, undefined, matcher(spec));
  const start = Date.now();
  const finish = (why: string) => {
    if (done) return;
    done = true;
    clearInterval(tick);
    h.stop();
    send({ done: true, started: h.started, reason: why });
    ended();
  };
  const tick = setInterval(() => {
    if (Date.now() - start > spec.seconds * 1000) finish(`${spec.seconds} seconds`);
    else if (h.started >= spec.count && (h.open === 0 || Date.now() - last > TRACE_LIMITS.quietMs)) finish(`${spec.count} packets`);
  }, 100);
  signal.addEventListener('abort', () => finish('stopped'), { once: true });
  send({ tracing: true, router: r.name });
}
