/**
 * The ES PIC worker thread: it holds the keys and SA state (IpsecCore) and processes packets from a
 * shared-memory ring, sleeping on a futex when there are none. Changes of SA state (configure,
 * install, remove) arrive on the same ring, in order with the packets; the rest (snapshots,
 * heartbeats) on a MessagePort read synchronously between batches. A thin shell:
 * every decision is in core.ts and sa.ts.
 */
import { workerData, receiveMessageOnPort, MessagePort } from 'node:worker_threads';
import { IpsecCore } from './core.js';
import { Ring, RingBuffers } from './ring.js';
import { deserialize } from 'node:v8';
import { espAddon } from './esp.js';
import { PicTurn, SaStateMsg, adopt } from './turn.js';
import { PicSelfTest, SelfTestOptions } from './selftest.js';
import { SaStateTable } from './sa.js';

const { port, toWorker, fromWorker, wakeId, selfTest, saTable, lock } = workerData as {
  port: MessagePort; toWorker: RingBuffers; fromWorker: RingBuffers; wakeId: number; selfTest?: SelfTestOptions;
  /** the SAs' state, shared with the main thread's express path (es-pic.ts), and the PIC's lock over it */
  saTable?: SharedArrayBuffer; lock?: SharedArrayBuffer;
};
// the main thread's libuv async handle (0: it waits on the ring with Atomics.waitAsync)
const addon = wakeId ? espAddon() : undefined;
const wakeMain = addon ? () => addon.wake(wakeId) : () => outRing.wake();
const inRing = new Ring(toWorker), outRing = new Ring(fromWorker);
const core = new IpsecCore(saTable ? { table: new SaStateTable(saTable), init: true } : undefined);
// The PIC's lock (0 free, 1 this worker, 2 the main thread's express path): the worker holds it
// whenever it is awake, and lets go only to sleep; the main thread only tries it, never waits. So
// an express seal or open runs only while the worker sleeps with nothing left to do, and the worker,
// woken meanwhile, waits the few microseconds until it is done.
const lk = lock ? new Int32Array(lock) : undefined;
function hold(): void { if (lk) while (Atomics.compareExchange(lk, 0, 0, 1) !== 0) Atomics.wait(lk, 0, 2, 5); }
function letGo(): void { if (lk) Atomics.store(lk, 0, 0); }

type Msg = SaStateMsg
  | { t: 'snapshot'; id: number } | { t: 'ping'; id: number } | { t: 'tick'; now: number }
  | { t: 'crash' } | { t: 'hang'; ms: number } | { t: 'stop' };

function control(m: Msg): void {
  switch (m.t) {
    case 'configure': case 'install': case 'remove': case 'clear': turn.apply(m); break;
    case 'snapshot': port.postMessage({ t: 'snapshot', id: m.id, drops: core.drops, encrypted: core.encrypted, decrypted: core.decrypted, ringFull: turn.ringFull, sas: core.snapshot() }); break;
    case 'ping': port.postMessage({ t: 'pong', id: m.id }); break;
    case 'tick': { const events = core.tick(m.now); if (events.length) port.postMessage({ t: 'lifetime', events }); break; }
    case 'crash': throw new Error('ES PIC worker crash requested (test)');
    case 'hang': { const end = Date.now() + m.ms; while (Date.now() < end) { /* spin: a hung PIC */ } break; }
    case 'stop': stopping = true; break;
  }
}

// the power-on self-test (selftest.ts): the known answers before the PIC comes online; then, a burst
// at a time while no packet waits, the packet path on throw-away SAs (which also warms it).
// VROUTER_ES_SELFTEST=N: N packets in the second part (0: the known answers only).
const post = new PicSelfTest({ ...selfTest, adopt, ...(process.env.VROUTER_ES_SELFTEST ? { packets: Number(process.env.VROUTER_ES_SELFTEST) || 0 } : {}) });
const turn = new PicTurn(core, outRing, rec => control(deserialize(rec) as Msg));
const katOk = post.knownAnswers();
port.postMessage({ t: 'ready', selfTest: katOk ? undefined : post.result });   // loaded and tested: the PIC is online (or, a known answer failed, offline)
const asked: Msg[] = [];
// the PIC is closing: the worker leaves its loop and ends on its own (es-pic.ts close)
let stopping = false;
for (;;) {
  hold();
  // a snapshot is answered after the ring is drained: an SA change the PFE pushed before it asked
  // (a commit, then show) is in the answer, whichever of the two the worker saw first
  let m;
  while ((m = receiveMessageOnPort(port))) { const msg = m.message as Msg; if (msg.t === 'snapshot') asked.push(msg); else control(msg); }
  if (stopping) { letGo(); break; }
  const seen = inRing.seq;
  turn.run(inRing);
  for (const q of asked.splice(0)) control(q);
  if (turn.produced) wakeMain();
  if (!post.done) {
    // nothing waits (or the test's time is up, traffic or not): one burst of the self-test, then the ring again
    if ((inRing.seq === seen || post.overdue) && post.step()) port.postMessage({ t: 'self-test', result: post.result });
    letGo();
    continue;
  }
  // sleep until the PFE pushes packets or a control message arrives (the sender wakes us too)
  letGo();
  inRing.waitSync(seen, 200);
}
port.close();
