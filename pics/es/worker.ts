/**
 * The ES PIC worker thread: it holds the keys and SA state (IpsecCore) and processes packets from a
 * shared-memory ring, sleeping on a futex when there are none. Changes of SA state (configure,
 * install, remove) arrive on the same ring, in order with the packets; the rest (snapshots,
 * heartbeats) on a MessagePort read synchronously between batches. A thin shell:
 * every decision is in core.ts and sa.ts.
 */
import { workerData, receiveMessageOnPort, MessagePort } from 'node:worker_threads';
import { IpsecCore, DynamicSaPair } from './core.js';
import { Ring, RingBuffers } from './ring.js';
import { deserialize } from 'node:v8';
import { OP_ENCRYPT, OP_DECRYPT, OP_OUTER, OP_INNER, OP_CONTROL } from './ops.js';
import { espBatchBegin, espBatchEnd, espQueued, espAddon } from './esp.js';
import type { EsTunnelConfig } from '../../src/pfe/types.js';
import type { ManualDirection } from '../../src/config/model.js';

const { port, toWorker, fromWorker, wakeId } = workerData as { port: MessagePort; toWorker: RingBuffers; fromWorker: RingBuffers; wakeId: number };
// the main thread's libuv async handle (0: it waits on the ring with Atomics.waitAsync)
const addon = wakeId ? espAddon() : undefined;
const wakeMain = addon ? () => addon.wake(wakeId) : () => outRing.wake();
const inRing = new Ring(toWorker), outRing = new Ring(fromWorker);
const core = new IpsecCore();
let ifls: string[] = [];
let ringFull = 0;

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
function revive(t: EsTunnelConfig): EsTunnelConfig {
  // structured clone turns Buffers into Uint8Arrays: make them Buffers again
  const fix = (m?: ManualDirection) => m && { ...m, ...(m.enc ? { enc: { ...m.enc, key: buf(m.enc.key) } } : {}), ...(m.auth ? { auth: { ...m.auth, key: buf(m.auth.key) } } : {}) };
  const man = t.sa.manual;
  return { ...t, sa: { ...t.sa, ...(man ? { manual: { ...man, inbound: fix(man.inbound), outbound: fix(man.outbound) } } : {}) } };
}

/** A negotiated SA pair as it arrives: its keys are Uint8Arrays again (structured clone). */
function reviveSpec<T extends { enc?: { key: Uint8Array | Buffer }; auth?: { key: Uint8Array | Buffer } }>(x: T): T {
  return { ...x, ...(x.enc ? { enc: { ...x.enc, key: buf(x.enc.key as Uint8Array) } } : {}), ...(x.auth ? { auth: { ...x.auth, key: buf(x.auth.key as Uint8Array) } } : {}) };
}

type Msg =
  | { t: 'configure'; tunnels: EsTunnelConfig[]; ifls: string[] }
  | { t: 'install'; ifl: string; pair: DynamicSaPair } | { t: 'remove'; ifl: string; inbound: number[]; outbound: number[] }
  | { t: 'snapshot'; id: number } | { t: 'ping'; id: number } | { t: 'tick'; now: number }
  | { t: 'clear'; sa?: string } | { t: 'crash' } | { t: 'hang'; ms: number };

function control(m: Msg): void {
  switch (m.t) {
    case 'configure': ifls = m.ifls; core.configure(m.tunnels.map(revive)); break;
    case 'install': core.installDynamic(m.ifl, { ...(m.pair.inbound ? { inbound: reviveSpec(m.pair.inbound) } : {}), ...(m.pair.outbound ? { outbound: reviveSpec(m.pair.outbound) } : {}) }); break;
    case 'remove': core.removeDynamic(m.ifl, m.inbound, m.outbound); break;
    case 'snapshot': port.postMessage({ t: 'snapshot', id: m.id, drops: core.drops, encrypted: core.encrypted, decrypted: core.decrypted, ringFull, sas: core.snapshot() }); break;
    case 'ping': port.postMessage({ t: 'pong', id: m.id }); break;
    case 'tick': { const events = core.tick(m.now); if (events.length) port.postMessage({ t: 'lifetime', events }); break; }
    case 'clear': core.clear(m.sa); break;
    case 'crash': throw new Error('ES PIC worker crash requested (test)');
    case 'hang': { const end = Date.now() + m.ms; while (Date.now() < end) { /* spin: a hung PIC */ } break; }
  }
}

// Multi-buffer batches: results wait here until their seals are done (espBatchEnd), at most MB_BATCH
// queued seals at a time; each result's position in the batch (-1: nothing deferred) finds the failed.
const MB_BATCH = 64;
const held: Array<{ op: number; idx: number; pkt: Buffer; trace: number; pos: number }> = [];
let produced = 0;
function emit(op: number, idx: number, pkt: Buffer, trace: number): void {
  if (outRing.push(op, idx, pkt, trace)) produced++;
  else ringFull++;
}
function release(): void {
  const failed = espBatchEnd();
  for (const h of held) {
    if (h.pos >= 0 && failed.includes(h.pos)) { core.drops['malformed']++; continue; }   // the library refused the job
    emit(h.op, h.idx, h.pkt, h.trace);
  }
  held.length = 0;
  espBatchBegin();
}

port.postMessage({ t: 'ready' });   // loaded: the PIC is online
const asked: Msg[] = [];
for (;;) {
  // a snapshot is answered after the ring is drained: an SA change the PFE pushed before it asked
  // (a commit, then show) is in the answer, whichever of the two the worker saw first
  let m;
  while ((m = receiveMessageOnPort(port))) { const msg = m.message as Msg; if (msg.t === 'snapshot') asked.push(msg); else control(msg); }
  const seen = inRing.seq;
  produced = 0;
  const mb = espBatchBegin();
  inRing.drain((op, idx, pkt, trace) => {
    if (op === OP_CONTROL) {
      // an SA change, between the packets before it and after it; seals queued under the old state finish first
      if (mb && espQueued()) release();
      control(deserialize(pkt) as Msg);
      return;
    }
    const ifl = ifls[idx];
    if (ifl === undefined) return;
    const before = espQueued();
    const r = op === OP_ENCRYPT ? core.encrypt(ifl, pkt) : op === OP_DECRYPT ? core.decrypt(ifl, pkt) : undefined;
    if (!r?.ok) return;
    const out = op === OP_ENCRYPT ? OP_OUTER : OP_INNER;
    if (!mb) { emit(out, idx, r.packet, trace); return; }
    held.push({ op: out, idx, pkt: r.packet, trace, pos: espQueued() > before ? before : -1 });
    if (espQueued() >= MB_BATCH) release();
  });
  if (mb) { release(); espBatchEnd(); }
  for (const q of asked.splice(0)) control(q);
  if (produced) wakeMain();
  // sleep until the PFE pushes packets or a control message arrives (the sender wakes us too)
  inRing.waitSync(seen, 200);
}
