/**
 * Link impairments in a port's output stage (`vrouter netem`), as Linux's netem qdisc has them; the
 * kernel here has no netem, so the router applies them itself, to every frame it sends on the port.
 *
 * `NetemQueue` is pure: frames in with the time, frames out when they are due, every decision from a
 * seedable random source, so that a fixed seed gives the same losses, delays and corruptions each run.
 * Per frame, in netem's order: duplicate (a second copy), loss, corrupt (one bit of the IP packet
 * flipped), then the time to send: `delay` ± `jitter` (uniform), or at once for the `reorder` share
 * (netem's reorder with gap 1: that share jumps the queue), and with `rate` behind the frames before
 * it, each taking its length at the rate. Frames wait in a queue of at most `limit` (netem's default
 * 1000); a frame beyond it is dropped and counted (`netem-queue-full`), as are losses (`netem-loss`).
 *
 * `NetemPort` wraps a port with a queue and a timer: with no impairment set, `send` is the port's own.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Port } from './types.js';

export interface NetemParams {
  delayMs?: number; jitterMs?: number; lossPct?: number; duplicatePct?: number; reorderPct?: number;
  corruptPct?: number; rateKbit?: number; seed?: number; limit?: number;
}
export interface NetemCounters { packets: number; sent: number; lost: number; duplicated: number; corrupted: number; reordered: number; delayed: number; queueFull: number; queued: number }
export const NETEM_LIMIT = 1000;
export const NETEM_REASONS = ['netem-loss', 'netem-queue-full'] as const;
export type NetemDropReason = typeof NETEM_REASONS[number];

const FIELDS: Record<keyof NetemParams, { max: number; int?: boolean; what: string }> = {
  delayMs: { max: 60000, what: 'a delay in ms, 0..60000' },
  jitterMs: { max: 60000, what: 'a jitter in ms, 0..60000' },
  lossPct: { max: 100, what: 'a percentage, 0..100' },
  duplicatePct: { max: 100, what: 'a percentage, 0..100' },
  reorderPct: { max: 100, what: 'a percentage, 0..100' },
  corruptPct: { max: 100, what: 'a percentage, 0..100' },
  rateKbit: { max: 100_000_000, what: 'a rate in kbit/s, 1..100000000' },
  seed: { max: 0xffffffff, int: true, what: 'an integer seed, 0..4294967295' },
  limit: { max: 100000, int: true, what: 'a queue limit in packets, 1..100000' },
};

/** Check impairment parameters (from the control socket or the command line): the parameters, or what is wrong. */
export function validateNetem(o: unknown): NetemParams | string {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'netem parameters must be an object';
  const p: NetemParams = {};
  for (const [k, v] of Object.entries(o)) {
    const f = FIELDS[k as keyof NetemParams];
    if (!f) return `unknown netem parameter '${k}'`;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > f.max || (f.int && !Number.isInteger(v))) return `${k}: expected ${f.what}`;
    if ((k === 'rateKbit' || k === 'limit') && v === 0) return `${k}: expected ${f.what}`;
    p[k as keyof NetemParams] = v;
  }
  if (p.jitterMs && !p.delayMs) return 'jitterMs needs a delayMs';
  if (p.jitterMs && p.jitterMs > p.delayMs!) return 'jitterMs cannot exceed delayMs';
  if (p.reorderPct && !p.delayMs) return 'reorderPct needs a delayMs (reordered frames are those sent without it)';
  return p;
}

/** sfc32: a small, fast, seedable generator (uniform in [0, 1)). */
export class Rng {
  private a: number; private b: number; private c: number; private d = 1;
  constructor(seed: number) {
    this.a = 0x9e3779b9; this.b = 0x243f6a88; this.c = seed >>> 0;
    for (let i = 0; i < 12; i++) this.next();
  }
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
}

interface Held { at: number; frame: Buffer }

export class NetemQueue {
  readonly counters: NetemCounters = { packets: 0, sent: 0, lost: 0, duplicated: 0, corrupted: 0, reordered: 0, delayed: 0, queueFull: 0, queued: 0 };
  readonly seed: number;
  private rng: Rng;
  private q: Held[] = [];
  private head = 0;
  private lastAt = -Infinity;   // with a rate: when the last frame finishes going out
  constructor(readonly params: NetemParams, private onDrop: (r: NetemDropReason) => void = () => {}) {
    this.seed = params.seed ?? Math.floor(Math.random() * 0x100000000);
    this.rng = new Rng(this.seed);
  }
  get length(): number { return this.q.length - this.head; }
  private chance(pct: number | undefined): boolean { return !!pct && this.rng.next() * 100 < pct; }

  /**
   * One frame to send at `now` (ms). Returns the frames to send right away; the others wait (copied:
   * the caller's buffer is reused) until `due`.
   */
  enqueue(frame: Buffer, now: number): Buffer[] {
    const p = this.params, c = this.counters;
    c.packets++;
    let copies = 1;
    if (this.chance(p.duplicatePct)) { copies++; c.duplicated++; }
    if (this.chance(p.lossPct)) copies--;
    if (copies === 0) { c.lost++; this.onDrop('netem-loss'); return []; }
    const out: Buffer[] = [];
    for (let i = 0; i < copies; i++) {
      let f = frame;
      if (i === 0 && this.chance(p.corruptPct) && frame.length > 14) {
        f = Buffer.from(frame);
        const at = 14 + Math.floor(this.rng.next() * (frame.length - 14));
        f[at]! ^= 1 << Math.floor(this.rng.next() * 8);
        c.corrupted++;
      }
      let delay = p.delayMs ?? 0;
      if (delay && this.chance(p.reorderPct)) { delay = 0; c.reordered++; }
      else if (p.jitterMs) delay += (this.rng.next() * 2 - 1) * p.jitterMs;
      let at = now + delay;
      if (p.rateKbit) { at = Math.max(at, this.lastAt) + (f.length * 8) / p.rateKbit; this.lastAt = at; }
      if (at <= now) { out.push(f); c.sent++; continue; }
      if (this.length >= (p.limit ?? NETEM_LIMIT)) { c.queueFull++; this.onDrop('netem-queue-full'); continue; }
      if (at > now) c.delayed++;
      this.insert({ at, frame: f === frame ? Buffer.from(frame) : f });
    }
    c.queued = this.length;
    return out;
  }

  /** Keep the queue sorted by time to send, equal times in arrival order (netem's tfifo). */
  private insert(h: Held): void {
    let lo = this.head, hi = this.q.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.q[mid]!.at <= h.at) lo = mid + 1; else hi = mid; }
    this.q.splice(lo, 0, h);
  }

  /** When the next frame is due (ms), if any waits. */
  next(): number | undefined { return this.length ? this.q[this.head]!.at : undefined; }

  /** The frames due at `now`, in order. */
  due(now: number): Buffer[] {
    const out: Buffer[] = [];
    while (this.head < this.q.length && this.q[this.head]!.at <= now) out.push(this.q[this.head++]!.frame);
    if (this.head > 64 && this.head * 2 > this.q.length) { this.q = this.q.slice(this.head); this.head = 0; }
    this.counters.sent += out.length;
    this.counters.queued = this.length;
    return out;
  }
}

/** What `vrouter inspect` shows of one port. */
export interface NetemState { ifname: string; params: NetemParams & { seed: number }; counters: NetemCounters }

/** A port with impairments: frames go through a NetemQueue and a timer when one is set. */
export class NetemPort implements Port {
  private q?: NetemQueue;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  onReceiveBatch?: (fn: (frames: Buffer[]) => void) => void;
  constructor(readonly ifname: string, readonly inner: Port, private onDrop: (r: NetemDropReason) => void = () => {}, private clock: () => number = () => performance.now()) {
    // the PFE takes batches from a port that has them: keep the inner port's way
    if (inner.onReceiveBatch) this.onReceiveBatch = fn => inner.onReceiveBatch!(fn);
  }
  send(frame: Buffer, len?: number): void {
    if (!this.q) { this.inner.send(frame, len); return; }
    const f = len === undefined || len >= frame.length ? frame : frame.subarray(0, len);
    for (const x of this.q.enqueue(f, this.clock())) this.inner.send(x);
    this.arm();
  }
  onReceive(fn: (frame: Buffer) => void): void { this.inner.onReceive(fn); }
  close(): void { this.stop(); this.inner.close?.(); }

  /** Set (replacing any) or clear (undefined) the impairment; frames still waiting are dropped with a clear. */
  set(p: NetemParams | undefined): void {
    this.stop();
    this.q = p ? new NetemQueue(p, this.onDrop) : undefined;
  }
  state(): NetemState | undefined { return this.q ? { ifname: this.ifname, params: { ...this.q.params, seed: this.q.seed }, counters: { ...this.q.counters } } : undefined; }

  private stop(): void { if (this.timer) clearTimeout(this.timer); this.timer = undefined; this.timerAt = Infinity; }
  private arm(): void {
    const at = this.q?.next();
    if (at === undefined || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - this.clock()));
  }
  private fire(): void {
    this.timer = undefined; this.timerAt = Infinity;
    if (!this.q) return;
    for (const x of this.q.due(this.clock())) this.inner.send(x);
    this.arm();
  }
}

/** Each PFE's impairable ports, by interface name (the control socket's `netem` request finds them here). */
const registry = new WeakMap<object, Map<string, NetemPort>>();
/** Each PFE's file of impairments: rewritten at each change, read when the router process starts. */
const files = new WeakMap<object, string>();

function save(pfe: object): void {
  const file = files.get(pfe);
  if (!file) return;
  const set = [...(registry.get(pfe)?.values() ?? [])].map(p => p.state()).filter((s): s is NetemState => !!s).map(s => ({ ifname: s.ifname, params: s.params }));
  writeFileSync(`${file}.new`, JSON.stringify(set) + '\n');
  renameSync(`${file}.new`, file);
}

/**
 * Impairments that outlive the router process (a restarted router's links are impaired as before, with
 * the same seeds, as a containerlab node's links keep their netem qdisc across a restart): the ports
 * get what `file` holds, and every change is written there. Call once its ports are attached; what is
 * wrong in the file is returned (and that port left unimpaired), never thrown.
 */
export function keepNetem(pfe: object, file: string): string[] {
  files.set(pfe, file);
  if (!existsSync(file)) return [];
  const errors: string[] = [];
  let list: unknown;
  try { list = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { return [`${file}: ${(e as Error).message}`]; }
  if (!Array.isArray(list)) return [`${file}: expected a list of impaired ports`];
  for (const x of list) {
    const r = netemRequest(pfe, { ifname: (x as { ifname?: unknown })?.ifname, set: (x as { params?: unknown })?.params });
    if ('error' in r) errors.push(`${file}: ${r.error}`);
  }
  return errors;
}

/** The hook: the port as the PFE should attach it (`pfe.attach(ifd, withNetem(pfe, ifd, port))`). */
export function withNetem(pfe: { ifds: Map<string, { counters: { drop(r: string): void } }> }, ifname: string, port: Port): Port {
  const p = new NetemPort(ifname, port, r => pfe.ifds.get(ifname)?.counters.drop(r));
  let m = registry.get(pfe);
  if (!m) registry.set(pfe, (m = new Map()));
  m.set(ifname, p);
  return p;
}

/**
 * The control socket's `netem` request: `{ifname, set: {...}}`, `{ifname, clear: true}`, or `{}` (every
 * impaired port). Pure apart from the ports it changes; never throws.
 */
export function netemRequest(pfe: object, body: unknown): { netem: NetemState[] } | { error: string } {
  const ports = registry.get(pfe) ?? new Map<string, NetemPort>();
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error: 'netem: expected an object' };
  const b = body as Record<string, unknown>;
  const all = () => ({ netem: [...ports.values()].map(p => p.state()).filter((s): s is NetemState => !!s) });
  if (b.ifname === undefined && b.set === undefined && b.clear === undefined) return all();
  if (typeof b.ifname !== 'string') return { error: 'netem: ifname must be an interface name' };
  const port = ports.get(b.ifname);
  if (!port) return { error: `netem: ${b.ifname} is not a port of this router with a link (ports: ${[...ports.keys()].join(', ') || 'none'})` };
  if (b.clear === true && b.set === undefined) { port.set(undefined); save(pfe); return all(); }
  if (b.set === undefined || b.clear !== undefined) return { error: 'netem: exactly one of set, clear expected' };
  const p = validateNetem(b.set);
  if (typeof p === 'string') return { error: `netem: ${p}` };
  port.set(p);
  save(pfe);
  return all();
}
