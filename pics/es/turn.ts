/**
 * One turn of an ES PIC: every record on the ring into it (packets and SA changes, in order) through
 * the core, the results onto the ring out of it. The worker (worker.ts) runs it on the real rings;
 * its power-on self-test (selftest.ts) runs the very same code on a throw-away core and rings, so
 * that V8 has compiled the packet path before the first real packet arrives.
 */
import { serialize, deserialize } from 'node:v8';
import { IpsecCore, DynamicSaPair } from './core.js';
import type { PendingOpen } from './sa.js';
import type { EsTunnelConfig } from '../../src/pfe/types.js';
import type { ManualDirection } from '../../src/config/model.js';
import { Ring } from './ring.js';
import { OP_ENCRYPT, OP_DECRYPT, OP_OUTER, OP_INNER, OP_CONTROL } from './ops.js';
import { espBatchBegin, espBatchEnd, espQueued, espMbOn } from './esp.js';

/** Changes of SA state, as they travel on the ring into a PIC (v8-serialized, OP_CONTROL). */
export type SaStateMsg =
  | { t: 'configure'; tunnels: EsTunnelConfig[]; ifls: string[] }
  | { t: 'install'; ifl: string; pair: DynamicSaPair } | { t: 'remove'; ifl: string; inbound: number[]; outbound: number[] }
  | { t: 'clear'; sa?: string };

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
/** A tunnel as it arrives: structured clone turns Buffers into Uint8Arrays, so make them Buffers again. */
export function revive(t: EsTunnelConfig): EsTunnelConfig {
  const fix = (m?: ManualDirection) => m && { ...m, ...(m.enc ? { enc: { ...m.enc, key: buf(m.enc.key) } } : {}), ...(m.auth ? { auth: { ...m.auth, key: buf(m.auth.key) } } : {}) };
  const man = t.sa.manual;
  return { ...t, sa: { ...t.sa, ...(man ? { manual: { ...man, inbound: fix(man.inbound), outbound: fix(man.outbound) } } : {}) } };
}
/** A negotiated SA pair as it arrives: its keys are Uint8Arrays again (structured clone). */
function reviveSpec<T extends { enc?: { key: Uint8Array | Buffer }; auth?: { key: Uint8Array | Buffer } }>(x: T): T {
  return { ...x, ...(x.enc ? { enc: { ...x.enc, key: buf(x.enc.key as Uint8Array) } } : {}), ...(x.auth ? { auth: { ...x.auth, key: buf(x.auth.key as Uint8Array) } } : {}) };
}
/**
 * Tunnels made exactly as a PIC gets them from the PFE (serialized, then revived): the self-test's
 * SAs are then objects of the same shapes as the real ones, and V8's code for them fits both.
 */
export function adopt(tunnels: EsTunnelConfig[]): EsTunnelConfig[] {
  return (deserialize(serialize(tunnels)) as EsTunnelConfig[]).map(revive);
}

/**
 * A change of SA state applied to a core: the worker's, on the ring, and the express path's on the
 * main thread (es-pic.ts), which applies each change as it is pushed, in the same order. Anything
 * else (a test's hang) is not an SA change, and is ignored here.
 */
export function applySaState(core: IpsecCore, m: SaStateMsg): void {
  switch (m.t) {
    case 'configure': core.configure(m.tunnels.map(revive)); break;
    case 'install': core.installDynamic(m.ifl, { ...(m.pair.inbound ? { inbound: reviveSpec(m.pair.inbound) } : {}), ...(m.pair.outbound ? { outbound: reviveSpec(m.pair.outbound) } : {}) }); break;
    case 'remove': core.removeDynamic(m.ifl, m.inbound, m.outbound); break;
    case 'clear': core.clear(m.sa); break;
  }
}

/** Multi-buffer batches: at most this many queued seals and opens wait for espBatchEnd at a time. */
const MB_BATCH = 64;

export class PicTurn {
  /** the es- logical interfaces by ring index */
  ifls: string[] = [];
  /** results the ring out had no room for */
  ringFull = 0;
  /** results handed back in the last turn (the caller wakes the PFE when there are any) */
  produced = 0;
  // multi-buffer batches: results wait here, in ring order, until their seals and opens are done
  // (espBatchEnd); a seal's position in the batch (-1: nothing deferred) finds it among the failures,
  // an open waits as a PendingOpen
  private held: Array<{ op: number; idx: number; pkt: Buffer | undefined; open: PendingOpen | undefined; trace: number; pos: number; len: number }> = [];
  private mb = false;
  private readonly each = (op: number, idx: number, pkt: Buffer, trace: number) => this.record(op, idx, pkt, trace);

  /**
   * `control`: an SA change found on the ring (v8-serialized), applied between the packets around it.
   * `batches`: multi-buffer seals where this thread has them (pics/es/esp.ts); false for a turn run on
   * the router's main thread (its warm-up), which thus never makes the library's manager (2 MB).
   */
  constructor(public core: IpsecCore, private readonly out: Ring, private readonly control: (rec: Buffer) => void, private readonly batches = true) {}

  /** A change of SA state, between the packets before and after it. */
  apply(m: SaStateMsg): void {
    if (m.t === 'configure') this.ifls = m.ifls;
    applySaState(this.core, m);
  }

  /**
   * Drain `ring` once; returns the records read. Multi-buffer batches only when more than one packet
   * waits (SA changes not counted): a lone packet (a ping through an idle PIC) takes the single-chain path, which after an
   * idle spell costs less than a 16-lane job run for one lane (docs/performance.md, 2026-12-07
   * evening). A drain takes what was on the ring when it began; later records wait for the next turn.
   */
  run(ring: Ring): number {
    this.produced = 0;
    this.mb = this.batches && espMbOn() && ring.holds(2, OP_CONTROL) && espBatchBegin();
    try {
      return ring.drain(this.each);
    } finally {
      // whatever happened, the batch ends here: queued seals are sealed and handed back, and the
      // thread is no longer batching (a seal outside a turn must never be deferred)
      if (this.mb) { this.release(); espBatchEnd(); }
    }
  }

  private record(op: number, idx: number, pkt: Buffer, trace: number): void {
    if (op === OP_CONTROL) {
      // an SA change, between the packets before it and after it; seals queued under the old state finish first
      if (this.mb && espQueued()) this.release();
      this.control(pkt);
      return;
    }
    const ifl = this.ifls[idx];
    if (ifl === undefined) return;
    const before = espQueued();
    if (op === OP_DECRYPT && this.mb) {
      const r = this.core.decrypt(ifl, pkt, true);
      if (r.ok === 'pending') this.hold(OP_INNER, idx, undefined, r, trace, -1, 0);
      else if (r.ok) this.hold(OP_INNER, idx, r.packet, undefined, trace, -1, 0);
      return;
    }
    const r = op === OP_ENCRYPT ? this.core.encrypt(ifl, pkt) : op === OP_DECRYPT ? this.core.decrypt(ifl, pkt) : undefined;
    if (!r?.ok) return;
    const res = op === OP_ENCRYPT ? OP_OUTER : OP_INNER;
    if (!this.mb) { this.emit(res, idx, r.packet, trace); return; }
    this.hold(res, idx, r.packet, undefined, trace, espQueued() > before ? before : -1, pkt.length >= 4 ? pkt.readUInt16BE(2) : pkt.length);
  }
  private hold(op: number, idx: number, pkt: Buffer | undefined, open: PendingOpen | undefined, trace: number, pos: number, len: number): void {
    this.held.push({ op, idx, pkt, open, trace, pos, len });
    if (espQueued() >= MB_BATCH) this.release();
  }
  private emit(op: number, idx: number, pkt: Buffer, trace: number): void {
    if (this.out.push(op, idx, pkt, trace)) this.produced++;
    else this.ringFull++;
  }
  private release(): void {
    const failed = espBatchEnd();
    for (const h of this.held) {
      if (h.open) {
        const r = this.core.opened(h.open);
        if (r.ok) this.emit(h.op, h.idx, r.packet, h.trace);
        continue;
      }
      if (h.pos >= 0 && failed.has(h.pos)) { this.core.refused(this.ifls[h.idx]!, h.len); continue; }   // the library refused the job: a drop, not a seal
      this.emit(h.op, h.idx, h.pkt!, h.trace);
    }
    this.held.length = 0;
    espBatchBegin();
  }
}
