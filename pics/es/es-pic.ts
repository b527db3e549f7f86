/**
 * The ES PIC as the PFE sees it: one worker thread per PIC. Packets go through shared-memory rings
 * (ring.ts) with a futex wake-up per burst, and so do changes of SA state (configure, install,
 * remove), in order with the packets; the rest (snapshots, heartbeats) through a MessagePort; a heartbeat
 * watches the worker. A crashed or hung worker is replaced and its SAs are reinstalled from the last
 * configuration; the PFE never waits for it.
 */
import { Worker, MessageChannel, MessagePort, receiveMessageOnPort, ResourceLimits } from 'node:worker_threads';
import type { IpsecEngine, IpsecSink, EsTunnelConfig, LifetimeEvent } from '../../src/pfe/types.js';
import { serialize, deserialize } from 'node:v8';
import { PicTurn, SaStateMsg, applySaState } from './turn.js';
import { IpsecCore } from './core.js';
import { OP_ENCRYPT, OP_DECRYPT, OP_OUTER, OP_INNER, OP_CONTROL } from './ops.js';
import { Ring, newRing } from './ring.js';
import { overheadFor, DropReason, newDrops, SaResult, SaStateTable } from './sa.js';
import type { PicSnapshot, SaSnapshot, DynamicSaPair } from './core.js';
import { espAddon } from './esp.js';
import type { SelfTestResult, SelfTestOptions } from './selftest.js';

/** How long a closing ES PIC's worker has to end on its own before it is terminated. */
const STOP_GRACE_MS = 2000;

/**
 * The express path: a packet that finds its ES PIC idle (both rings empty, the worker asleep, nothing
 * queued in this turn) is sealed or opened at once on the router's main thread, on the same SAs (their
 * state is shared, sa.ts SaStateTable), instead of waking the worker and waiting for it to wake this
 * thread back. A lone packet (a ping, a TCP handshake) thus crosses no thread; a burst goes to the
 * worker as before. Bounded: packets of at most EXPRESS_MAX bytes, and at most EXPRESS_SHARE of the
 * main thread's time (a credit of at most EXPRESS_BURST_MS). VROUTER_ES_EXPRESS=0 turns it off.
 * docs/architecture.md, "The ES PIC's express path"; docs/performance.md, 2026-12-08.
 */
const EXPRESS_MAX = 2048;
const EXPRESS_SHARE = 0.05;
const EXPRESS_BURST_MS = 1;
/** The credit is the thread's, shared by every ES PIC of every router it runs (ms; when last refilled). */
const credit = { left: EXPRESS_BURST_MS, at: 0 };

/**
 * A new express path (none with VROUTER_ES_EXPRESS=0): the SA state table the worker's core (or the
 * local turn's) keeps its SAs in, the express core that views it, and the PIC's lock.
 */
function newExpress(slots?: number): { table: SaStateTable; ex: { core: IpsecCore; lock: Int32Array } } | undefined {
  if (process.env.VROUTER_ES_EXPRESS === '0') return undefined;
  const table = SaStateTable.create(slots);
  return { table, ex: { core: new IpsecCore({ table, init: false }), lock: new Int32Array(new SharedArrayBuffer(4)) } };
}

function newWorker(workerData: unknown, transferList: MessagePort[], resourceLimits: ResourceLimits): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), { workerData, transferList, resourceLimits });
  // running from TypeScript source (vitest): register tsx's loader inside the worker, then load it
  const src = new URL('./worker.ts', import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then(m => { m.register(); return import(${JSON.stringify(src)}); })`, { eval: true, workerData, transferList, resourceLimits });
}

/**
 * Everything an ES PIC handed back on `ring`, to the PFE: sealed packets to route out, opened ones to
 * take in, all of one drain as one batch (one graph run) unless `batch` is false. Packets come with
 * 14 bytes of headroom (the PFE writes the Ethernet header in place).
 */
export function deliverResults(ring: Ring, ifls: readonly string[], sink: IpsecSink | undefined, batch: boolean): void {
  const each = () => ring.drain((op, idx, pkt, trace) => {
    const ifl = ifls[idx];
    if (ifl === undefined) return;
    if (op === OP_OUTER) sink?.outer(ifl, pkt, trace, true);
    else if (op === OP_INNER) sink?.inner(ifl, pkt, trace, true);
  }, 14);
  if (sink?.batch && batch) sink.batch(each); else each();
}

export interface EsPicOptions {
  heartbeatMs?: number; hangMs?: number; onEvent?: (e: string) => void;
  /** resource limits of each worker's isolate (docs/architecture.md, "Limits") */
  resourceLimits?: ResourceLimits;
  /**
   * No worker: the worker's turn (turn.ts) runs in this thread, a turn after packets are queued. Only
   * for the router's warm-up (src/router/warmup.ts), which thus runs this class's own code on objects
   * of the real shapes; no heartbeat, no self-test, no snapshots.
   */
  local?: boolean;
  /** the workers' power-on self-test (selftest.ts): its size, or wrong known answers (tests) */
  selfTest?: Omit<SelfTestOptions, 'now' | 'adopt'>;
}

/** A worker's heaps: what it holds is its SA table and one burst in flight (docs/architecture.md, "Limits"). */
export const WORKER_LIMITS: ResourceLimits = { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 6, stackSizeMb: 4 };

export class EsPic implements IpsecEngine {
  private worker?: Worker;
  private port?: MessagePort;
  private toRing?: Ring;
  private fromRing?: Ring;
  private generation = 0;
  private sink?: IpsecSink;
  private tunnels: EsTunnelConfig[] = [];
  private ifls: string[] = [];
  private index = new Map<string, number>();
  private wakeScheduled = false;
  /**
   * The worker wakes this thread through a libuv async handle (native/esp.cc's Waker) when the addon
   * is built and VROUTER_ES_UVWAKE is not 0; otherwise through Atomics.waitAsync on the ring.
   */
  private waker?: { readonly id: number; close(): void };
  private closing = false;
  /** the results of one drain go to the sink as one batch (one graph run); VROUTER_ES_BATCH=0: one per packet (the bench compares) */
  private readonly batchResults = process.env.VROUTER_ES_BATCH !== '0';
  private seq = 0;
  private waiting = new Map<number, (s: PicSnapshot) => void>();
  /** the worker's last answer (a late one is answered with it, marked stale) */
  private lastSnapshot?: PicSnapshot;
  private heartbeat?: NodeJS.Timeout;
  /** When the unanswered ping was sent (none outstanding: undefined). */
  private pingSince?: number;
  /** heartbeats the worker answered (a test waits on these, not on a guessed time) */
  pongs = 0;
  restarts = 0;
  /** the last worker's power-on self-test (selftest.ts) */
  selfTest?: SelfTestResult;
  /** why the PIC is offline (its self-test failed), or undefined: online */
  offline?: string;
  /** Drops on this side of the rings (no SA known for the interface, ring full). */
  drops = newDrops();
  /**
   * The express path of the current worker: a core over the worker's SA state table that applies every
   * SA change as it is pushed (so it holds the same SAs, in the same slots), and the PIC's lock.
   */
  private ex?: { core: IpsecCore; lock: Int32Array };
  /** packets the express path took (sealed, opened, or dropped and counted; tests and the bench read it) */
  expressed = 0;

  /** Resolves when the first worker has loaded and answers (the PIC is online). */
  readonly ready: Promise<void>;
  private onReady?: () => void;
  /** Resolves when the first worker's self-test has finished, passed or failed (or the PIC closed). */
  readonly selfTested: Promise<void>;
  private onSelfTested?: () => void;
  constructor(readonly pic: string, private o: EsPicOptions = {}) {
    this.ready = new Promise(res => { this.onReady = res; });
    this.selfTested = new Promise(res => { this.onSelfTested = res; });
    this.spawn();
  }

  /** the worker's turn, run in this thread (`local`) */
  private localTurn?: PicTurn;
  /** what made the local turn throw (the warm-up reports it); a throw never leaves this callback */
  localFault?: string;
  private readonly runLocal = () => {
    // the turn holds the PIC's lock as the worker does while awake (the results it hands back may
    // bring packets to this PIC again: those go to the ring, behind the rest)
    const lock = this.ex?.lock;
    if (lock) Atomics.store(lock, 0, 1);
    try { this.localTurn!.run(this.toRing!); this.drainResults(); } catch (e) { this.localFault ??= `ES PIC ${this.pic}: ${(e as Error).message}`; }
    finally { if (lock) Atomics.store(lock, 0, 0); }
  };
  private spawnLocal(): void {
    this.toRing = new Ring(newRing(1 << 20));
    this.fromRing = new Ring(newRing(1 << 20));
    // the express path too, as a worker PIC has it (the warm-up then runs its code on objects of the real shapes)
    const x = newExpress(64);
    this.ex = x?.ex;
    const turn = this.localTurn = new PicTurn(new IpsecCore(x ? { table: x.table, init: true } : undefined), this.fromRing, rec => turn.apply(deserialize(rec) as SaStateMsg), false);
    this.onReady?.(); this.onReady = undefined;
    this.onSelfTested?.(); this.onSelfTested = undefined;
  }

  private spawn(): void {
    if (this.o.local) { this.spawnLocal(); return; }
    const gen = ++this.generation;
    const ch = new MessageChannel();
    const toWorker = newRing(), fromWorker = newRing();
    this.toRing = new Ring(toWorker);
    this.saWaiting = [];   // for the old worker: the new one is configured afresh below (kmd renegotiates dynamic SAs)
    this.fromRing = new Ring(fromWorker);
    const N = process.env.VROUTER_ES_UVWAKE === '0' ? undefined : espAddon();
    if (N && !this.waker) { try { this.waker = new N.Waker(() => this.drainResults()); } catch { this.waker = undefined; } }
    // a new worker: a new SA state table and lock, and an express core that starts empty as the worker does
    const x = newExpress();
    this.ex = x?.ex;
    const w = newWorker({ port: ch.port2, toWorker, fromWorker, wakeId: this.waker?.id ?? 0, ...(this.o.selfTest ? { selfTest: this.o.selfTest } : {}), ...(x ? { saTable: x.table.sab, lock: x.ex.lock.buffer } : {}) }, [ch.port2], this.o.resourceLimits ?? WORKER_LIMITS);
    this.worker = w;
    this.port = ch.port1;
    this.pingSince = undefined;
    ch.port1.on('message', (m: { t: string; id?: number } & Record<string, unknown>) => this.onMessage(m));
    ch.port1.unref();
    w.on('error', () => { /* the exit handler restarts it */ });
    w.on('exit', () => { if (this.worker === w && !this.closing) this.restart('exit'); });
    w.unref();
    if (this.ifls.length) this.saState({ t: 'configure', tunnels: this.tunnels, ifls: this.ifls });
    if (this.waker) this.drainResults(); else void this.readLoop(gen, this.fromRing);
    if (!this.heartbeat) {
      const every = this.o.heartbeatMs ?? 500, hang = this.o.hangMs ?? 3000;
      this.heartbeat = setInterval(() => {
        // read what the worker already answered: when this thread was busy (a large commit, say),
        // its pongs wait in the port, and a busy main thread is not a hung PIC
        // A PIC is hung when a ping stays unanswered for `hang` ms. Pongs that arrived while this
        // thread was busy wait in the port: read them first, so a busy main thread is never
        // mistaken for a hung PIC (which would restart it and lose the packets in flight).
        let m;
        while (this.port && (m = receiveMessageOnPort(this.port))) this.onMessage(m.message as { t: string; id?: number } & Record<string, unknown>);
        const now = Date.now();
        if (this.pingSince !== undefined && now - this.pingSince > hang) { this.restart('hung'); return; }
        if (this.pingSince === undefined) { this.pingSince = now; this.control({ t: 'ping', id: 0 }); }
        this.control({ t: 'tick', now });
      }, every);
      this.heartbeat.unref();
    }
  }

  /** Results from the worker: drain the ring, then sleep (asynchronously) until woken. */
  private async readLoop(gen: number, ring: Ring): Promise<void> {
    while (gen === this.generation && !this.closing) {
      const seen = ring.seq;
      this.drainResults(ring);
      const w = ring.waitAsync(seen);
      if (w) await w;
    }
  }
  /** Everything the worker handed back (deliverResults). */
  private drainResults(ring = this.fromRing): void {
    if (this.closing || !ring) return;
    deliverResults(ring, this.ifls, this.sink, this.batchResults);
  }

  private control(m: object): void {
    this.port?.postMessage(m);
    this.toRing?.wake();
  }
  /**
   * A change of SA state: on the ring, behind the packets queued before it and ahead of those after
   * (the worker applies it between them). A ring too full to take it: the change waits here, in
   * order with the changes after it, and packets are refused (`pic-busy`) until every waiting change
   * is on the ring, so neither an older change nor a newer packet overtakes it.
   */
  private saState(m: object): void {
    const rec = serialize(m);
    // the express core takes the change now; the worker when it reaches it on the ring. Until then the
    // ring is not empty, so the express path waits for the worker to catch up. A change the express
    // core cannot take (it threw) would leave it out of step with the worker: the path is off then,
    // until the next worker, and the change goes to the worker all the same.
    if (this.ex) {
      try { applySaState(this.ex.core, m as SaStateMsg); } catch (e) {
        this.ex = undefined;
        this.o.onEvent?.(`ES PIC ${this.pic}: express path off until the next restart (${(e as Error).message})`);
      }
    }
    if (!this.saWaiting.length && this.toRing?.push(OP_CONTROL, 0, rec)) { this.scheduleWake(); return; }
    this.saWaiting.push(rec);
    this.saStateWaited++;
    if (this.flushSaState()) this.scheduleWake();
  }
  /** SA changes that waited for room in the ring (an overloaded PIC). */
  saStateWaited = 0;
  /** SA changes (serialized) that wait for room in the ring, oldest first: bounded by the heartbeat (a
   *  worker that drains nothing for `hangMs` is replaced, and this with it) and kmd's own rate limits */
  private saWaiting: Buffer[] = [];
  private saRetry?: NodeJS.Timeout;
  /** Move waiting SA changes onto the ring, in order; true when none waits. */
  private flushSaState(): boolean {
    while (this.saWaiting.length && this.toRing?.push(OP_CONTROL, 0, this.saWaiting[0]!)) this.saWaiting.shift();
    if (!this.saWaiting.length) return true;
    // the worker drains the ring whether or not it has results to give back: try again shortly
    if (!this.saRetry) { this.saRetry = setTimeout(() => { this.saRetry = undefined; if (this.flushSaState()) this.scheduleWake(); }, 2); this.saRetry.unref(); }
    return false;
  }
  /** one wake-up for everything queued while the current event (a TAP batch, say) is handled */
  private scheduleWake(): void {
    if (!this.wakeScheduled) { this.wakeScheduled = true; queueMicrotask(() => { this.wakeScheduled = false; this.toRing?.wake(); if (this.localTurn) setImmediate(this.runLocal); }); }
  }

  private restart(why: string): void {
    const old = this.worker, oldRing = this.fromRing;
    this.worker = undefined;
    void old?.terminate();
    this.restarts++;
    this.o.onEvent?.(`ES PIC ${this.pic} worker ${why}; restarted with ${this.tunnels.length} tunnel(s) reinstalled`);
    // the SAs kmd negotiated died with the worker: kmd deletes them with the peer and negotiates anew
    const dynamic = this.tunnels.filter(t => t.sa.dynamic).map(t => t.ifl);
    for (const ifl of dynamic) this.dynamicOut.delete(ifl);
    if (dynamic.length) this.onRestart?.(dynamic, `ES PIC ${this.pic} worker ${why === 'exit' ? 'died' : 'hung'}`);
    this.lastSnapshot = undefined;   // the old worker's SAs are gone
    for (const r of this.waiting.values()) r(this.emptySnapshot());
    this.waiting.clear();
    this.spawn();
    oldRing?.wake();   // let the old read loop see it is finished
  }

  private onMessage(m: { t: string; id?: number } & Record<string, unknown>): void {
    if (m.t === 'pong') { this.pingSince = undefined; this.pongs++; }
    if (m.t === 'ready' || m.t === 'self-test') {
      // the worker's power-on self-test (selftest.ts): the known answers come with 'ready', the packet
      // path's result after it; a failure leaves the PIC offline (it refuses packets)
      const st = (m.t === 'ready' ? m.selfTest : m.result) as SelfTestResult | undefined;
      if (st) this.selfTest = st;
      if (m.t === 'ready') this.offline = undefined;
      if (st && !st.ok) {
        this.offline = st.failure ?? 'failed';
        this.o.onEvent?.(`ES PIC ${this.pic} power-on self-test failed: ${this.offline}; PIC offline`);
      }
      if (m.t === 'ready') { this.onReady?.(); this.onReady = undefined; }
      if (m.t === 'self-test' || this.offline !== undefined) { this.onSelfTested?.(); this.onSelfTested = undefined; }
    }
    if (m.t === 'lifetime') this.onLifetime?.(m.events as LifetimeEvent[]);   // kmd rekeys (soft) or removes (hard)
    if (m.t === 'snapshot') {
      const r = this.waiting.get(m.id!);
      this.waiting.delete(m.id!);
      const drops = newDrops();
      // the worker's counts, this side's (drops before the rings), and the express path's
      const ex = this.ex?.core;
      for (const [k, v] of Object.entries(m.drops as Record<DropReason, number>)) drops[k as DropReason] = v + this.drops[k as DropReason] + (ex?.drops[k as DropReason] ?? 0);
      drops['pic-busy'] += (m.ringFull as number) ?? 0;   // results the worker could not hand back
      this.lastSnapshot = { pic: this.pic, drops, encrypted: (m.encrypted as number) + (ex?.encrypted ?? 0), decrypted: (m.decrypted as number) + (ex?.decrypted ?? 0), restarts: this.restarts, sas: m.sas as SaSnapshot[] };
      r?.(this.lastSnapshot);
    }
  }

  setSink(s: IpsecSink): void { this.sink = s; }

  configure(tunnels: EsTunnelConfig[]): void {
    this.tunnels = tunnels;
    for (const ifl of [...this.dynamicOut.keys()]) if (!tunnels.some(t => t.ifl === ifl && t.sa.dynamic)) this.dynamicOut.delete(ifl);
    for (const t of tunnels) if (!this.index.has(t.ifl)) { this.index.set(t.ifl, this.ifls.length); this.ifls.push(t.ifl); }
    this.saState({ t: 'configure', tunnels, ifls: this.ifls });
  }

  private queue(op: number, ifl: string, pkt: Buffer, trace: number): void {
    const idx = this.index.get(ifl);
    if (idx === undefined || (!this.worker && !this.localTurn)) { this.drops['no-sa']++; return; }
    if (this.offline !== undefined) { this.drops['pic-offline']++; return; }
    if ((this.saWaiting.length && !this.flushSaState()) || !this.toRing!.push(op, idx, pkt, trace)) { this.drops['pic-busy']++; return; }
    this.scheduleWake();
  }
  encrypt(ifl: string, pkt: Buffer, trace = 0): void { if (!this.express(OP_ENCRYPT, ifl, pkt, trace)) this.queue(OP_ENCRYPT, ifl, pkt, trace); }
  decrypt(ifl: string, pkt: Buffer, trace = 0): void { if (!this.express(OP_DECRYPT, ifl, pkt, trace)) this.queue(OP_DECRYPT, ifl, pkt, trace); }

  /**
   * The express path (EXPRESS_MAX above): true when the packet was sealed or opened here (or dropped,
   * counted); false: it goes to the worker. Taken only under the PIC's lock, which the worker holds
   * whenever it is awake, and with both rings empty: the worker has applied every SA change and handed
   * back every result, so nothing of this PIC's is overtaken and the SAs are the worker's own.
   */
  private express(op: number, ifl: string, pkt: Buffer, trace: number): boolean {
    const ex = this.ex;
    if (!ex || pkt.length > EXPRESS_MAX || (!this.worker && !this.localTurn) || this.closing || this.offline !== undefined || this.wakeScheduled || this.saWaiting.length) return false;
    const t0 = performance.now();
    credit.left = Math.min(EXPRESS_BURST_MS, credit.left + (t0 - credit.at) * EXPRESS_SHARE);
    credit.at = t0;
    if (credit.left <= 0) return false;
    // an SA the shared table had no slot for keeps its state in the worker alone; no SA: the worker counts it
    const sa = ex.core.saFor(ifl, op === OP_ENCRYPT ? 'outbound' : 'inbound', pkt);
    if (!sa || sa.slot < 0) return false;
    if (Atomics.compareExchange(ex.lock, 0, 0, 2) !== 0) return false;
    let r: SaResult | undefined;
    try {
      if (this.toRing!.empty && this.fromRing!.empty) r = op === OP_ENCRYPT ? ex.core.encrypt(ifl, pkt, sa) : ex.core.decrypt(ifl, pkt, false, sa);
    } finally {
      Atomics.store(ex.lock, 0, 0);
      Atomics.notify(ex.lock, 0);
    }
    if (!r) return false;
    credit.left -= performance.now() - t0;
    this.expressed++;
    if (r.ok) { if (op === OP_ENCRYPT) this.sink?.outer(ifl, r.packet, trace); else this.sink?.inner(ifl, r.packet, trace); }
    return true;
  }

  overhead(ifl: string, len: number): number {
    const dyn = this.dynamicOut.get(ifl);
    if (dyn) return overheadFor(dyn, len);
    const t = this.tunnels.find(x => x.ifl === ifl);
    const d = t?.sa.manual?.outbound;
    return t && d ? overheadFor({ protocol: d.protocol, mode: t.sa.mode, ...(d.enc ? { enc: d.enc } : {}), ...(d.auth ? { auth: d.auth } : {}) }, len) : 0;
  }

  onLifetime?: (events: LifetimeEvent[]) => void;
  /** The worker was replaced: the dynamic SAs of these es- interfaces are lost (kmd renegotiates them). */
  onRestart?: (ifls: string[], why: string) => void;
  /** The outbound SA kmd installed per es- interface (its shape gives the es- MTU). */
  private dynamicOut = new Map<string, DynamicSaPair['outbound']>();
  installDynamic(ifl: string, pair: DynamicSaPair): void { if (pair.outbound) this.dynamicOut.set(ifl, pair.outbound); this.saState({ t: 'install', ifl, pair }); }
  removeDynamic(ifl: string, inbound: number[], outbound: number[]): void {
    if (this.dynamicOut.get(ifl) && outbound.includes(this.dynamicOut.get(ifl)!.spi)) this.dynamicOut.delete(ifl);
    this.saState({ t: 'remove', ifl, inbound, outbound });
  }

  private emptySnapshot(): PicSnapshot { return { pic: this.pic, drops: { ...this.drops }, encrypted: 0, decrypted: 0, restarts: this.restarts, sas: [] }; }

  /**
   * Counters and SA state, asked of the worker. A worker that does not answer in time (starved on a
   * busy machine, or hung: the heartbeat decides) gets its last answer again, marked stale, so that a
   * slow answer does not show a PIC without SAs; none yet, or since a restart: empty.
   */
  snapshot(timeoutMs = 1000): Promise<PicSnapshot> {
    if (!this.worker) return Promise.resolve(this.emptySnapshot());
    const id = ++this.seq;
    return new Promise(res => {
      const t = setTimeout(() => { this.waiting.delete(id); res(this.lastSnapshot ? { ...this.lastSnapshot, restarts: this.restarts, stale: true } : this.emptySnapshot()); }, timeoutMs);
      this.waiting.set(id, s => { clearTimeout(t); res(s); });
      this.control({ t: 'snapshot', id });
    });
  }

  /** in order with the packets and SA changes, as they are (a snapshot after it shows it) */
  clear(saName?: string): void { if (saName === undefined) this.drops = newDrops(); this.saState({ t: 'clear', ...(saName !== undefined ? { sa: saName } : {}) }); }

  /** Test hooks: make the worker crash or hang, as a broken PIC would. */
  crashForTest(): void {
    // the crash is as of now: nothing more is sealed on the dying worker's SAs, not even on the express
    // path while the worker is still waking up to read the request
    this.ex = undefined;
    this.control({ t: 'crash' });
  }
  /** the hang is on the ring: it starts after the packets queued before it, and those after it wait */
  hangForTest(ms: number): void { this.saState({ t: 'hang', ms }); }

  async close(): Promise<void> {
    this.closing = true;
    this.onSelfTested?.();
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.saRetry) clearTimeout(this.saRetry);
    const w = this.worker;
    this.worker = undefined;
    this.fromRing?.wake();
    this.waker?.close();
    this.waker = undefined;
    if (w && w.threadId !== -1) {
      // asked to stop, the worker leaves its loop between two bursts and ends on its own; terminating
      // it instead could catch it inside a native call, where Node-API can abort the whole process.
      // Terminated only when it does not end within STOP_GRACE_MS (a hung PIC).
      await new Promise<void>(done => {
        const t = setTimeout(() => { void w.terminate().then(() => done(), () => done()); }, STOP_GRACE_MS);
        w.once('exit', () => { clearTimeout(t); done(); });
        try { this.port?.postMessage({ t: 'stop' }); } catch { /* the port is gone: the timer terminates it */ }
        this.toRing?.wake();
      });
    }
    this.port?.close();
  }
}

/** All the ES PICs of a router behind one IpsecEngine: each es- interface goes to its own PIC. */
export class EsPicSet implements IpsecEngine {
  readonly pics = new Map<string, EsPic>();
  private byIfl = new Map<string, EsPic>();
  constructor(pics: string[], o: EsPicOptions = {}) { for (const p of pics) this.pics.set(p, new EsPic(p, o)); }
  setSink(s: IpsecSink) { for (const p of this.pics.values()) p.setSink(s); }
  /** Every ES PIC online. */
  async ready(): Promise<void> { await Promise.all([...this.pics.values()].map(p => p.ready)); }
  /** Why this ES PIC is offline (its self-test failed), or undefined: online, or no such ES PIC. */
  offline(pic: string): string | undefined { return this.pics.get(pic)?.offline; }
  /** Every ES PIC's self-test finished. */
  async selfTested(): Promise<void> { await Promise.all([...this.pics.values()].map(p => p.selfTested)); }
  configure(tunnels: EsTunnelConfig[]): void {
    this.byIfl.clear();
    for (const [name, pic] of this.pics) {
      const mine = tunnels.filter(t => t.pic === name);
      for (const t of mine) this.byIfl.set(t.ifl, pic);
      pic.configure(mine);
    }
  }
  set onLifetime(fn: ((events: LifetimeEvent[]) => void) | undefined) { for (const p of this.pics.values()) p.onLifetime = fn; }
  set onRestart(fn: ((ifls: string[], why: string) => void) | undefined) { for (const p of this.pics.values()) p.onRestart = fn; }
  installDynamic(ifl: string, pair: DynamicSaPair) { this.byIfl.get(ifl)?.installDynamic(ifl, pair); }
  removeDynamic(ifl: string, inbound: number[], outbound: number[]) { this.byIfl.get(ifl)?.removeDynamic(ifl, inbound, outbound); }
  encrypt(ifl: string, pkt: Buffer, trace = 0) { this.byIfl.get(ifl)?.encrypt(ifl, pkt, trace); }
  decrypt(ifl: string, pkt: Buffer, trace = 0) { this.byIfl.get(ifl)?.decrypt(ifl, pkt, trace); }
  overhead(ifl: string, len: number) { return this.byIfl.get(ifl)?.overhead(ifl, len) ?? 0; }
  async snapshot(): Promise<PicSnapshot> {
    const all = await Promise.all([...this.pics.values()].map(p => p.snapshot()));
    const drops = newDrops();
    for (const s of all) for (const [k, v] of Object.entries(s.drops)) drops[k as DropReason] += v;
    return { pic: [...this.pics.keys()].join(','), drops, encrypted: all.reduce((a, s) => a + s.encrypted, 0), decrypted: all.reduce((a, s) => a + s.decrypted, 0), restarts: all.reduce((a, s) => a + s.restarts, 0), sas: all.flatMap(s => s.sas) };
  }
  clear(saName?: string) { for (const p of this.pics.values()) p.clear(saName); }
  /** One PIC's own counters (`show interfaces es-F/P/0 extensive`). */
  async snapshotPic(pic: string): Promise<PicSnapshot | undefined> { return this.pics.get(pic)?.snapshot(); }
  async perPic(): Promise<PicSnapshot[]> { return Promise.all([...this.pics.values()].map(p => p.snapshot())); }
  async close(): Promise<void> { await Promise.all([...this.pics.values()].map(p => p.close())); }
}
