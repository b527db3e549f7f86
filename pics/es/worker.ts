/**
 * The ES PIC worker thread: it holds the keys and SA state (IpsecCore) and processes packet
 * batches. A thin message shell: every decision is in core.ts and sa.ts.
 */
import { parentPort } from 'node:worker_threads';
import { IpsecCore } from './core.js';
import { BatchWriter, readBatch, OP_ENCRYPT, OP_DECRYPT, OP_OUTER, OP_INNER } from './batch.js';
import type { EsTunnelConfig } from '../../src/pfe/types.js';
import type { ManualDirection } from '../../src/config/model.js';

const core = new IpsecCore();
let ifls: string[] = [];

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
function revive(t: EsTunnelConfig): EsTunnelConfig {
  // structured clone turns Buffers into Uint8Arrays: make them Buffers again
  const fix = (m?: ManualDirection) => m && { ...m, ...(m.enc ? { enc: { ...m.enc, key: buf(m.enc.key) } } : {}), ...(m.auth ? { auth: { ...m.auth, key: buf(m.auth.key) } } : {}) };
  const man = t.sa.manual;
  return { ...t, sa: { ...t.sa, ...(man ? { manual: { ...man, inbound: fix(man.inbound), outbound: fix(man.outbound) } } : {}) } };
}

type Msg =
  | { t: 'configure'; tunnels: EsTunnelConfig[]; ifls: string[] }
  | { t: 'batch'; buf: ArrayBuffer }
  | { t: 'snapshot'; id: number }
  | { t: 'ping'; id: number }
  | { t: 'tick'; now: number }
  | { t: 'clear' } | { t: 'crash' } | { t: 'hang'; ms: number };

parentPort!.on('message', (m: Msg) => {
  switch (m.t) {
    case 'configure':
      ifls = m.ifls;
      core.configure(m.tunnels.map(revive));
      break;
    case 'batch': {
      const out = new BatchWriter();
      for (const [op, idx, pkt] of readBatch(m.buf)) {
        const ifl = ifls[idx];
        if (ifl === undefined) continue;
        if (op === OP_ENCRYPT) { const r = core.encrypt(ifl, pkt); if (r.ok) out.push(OP_OUTER, idx, r.packet); }
        else if (op === OP_DECRYPT) { const r = core.decrypt(ifl, pkt); if (r.ok) out.push(OP_INNER, idx, r.packet); }
      }
      if (out.length) { const ab = out.take(); parentPort!.postMessage({ t: 'results', buf: ab }, [ab]); }
      break;
    }
    case 'snapshot':
      parentPort!.postMessage({ t: 'snapshot', id: m.id, drops: core.drops, encrypted: core.encrypted, decrypted: core.decrypted, sas: core.snapshot() });
      break;
    case 'ping':
      parentPort!.postMessage({ t: 'pong', id: m.id });
      break;
    case 'tick': {
      const events = core.tick(m.now);
      if (events.length) parentPort!.postMessage({ t: 'lifetime', events });
      break;
    }
    case 'clear': core.clear(); break;
    case 'crash': throw new Error('ES PIC worker crash requested (test)');
    case 'hang': { const end = Date.now() + m.ms; while (Date.now() < end) { /* spin: a hung PIC */ } break; }
  }
});
