/** Issue 21 minor: an IV slot for a new exchange is made only once its message authenticates. */
import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { IkeSa } from './ike-sa.js';
import { decodeHeader } from './codec.js';
import { Xchg, Pt } from './constants.js';

function pair() {
  const mk = () => {
    const s = new IkeSa('initiator', 1, 2, { peer: '0.0.0.1', mode: 'main', proposals: [] } as never, Buffer.alloc(8, 1), 0);
    s.choice = { encryption: '3des-cbc', hash: 'sha1', method: 'pre-shared-keys', group: 'group2', lifetimeSeconds: 3600, transformNum: 1 };
    s.ka = Buffer.alloc(24, 9); s.p1.iv = Buffer.alloc(8, 3);
    return s;
  };
  return { a: mk(), b: mk() };
}

describe('IKE SA IV slots', () => {
  it('33 forged messages with new message IDs leave no slot; the real exchange\'s slot lives and decrypts', () => {
    const { a, b } = pair();
    const real = a.seal({ exchange: Xchg.QUICK, mid: 7 }, [{ type: Pt.HASH, body: randomBytes(20) }]);
    for (let mid = 100; mid < 133; mid++) {
      const forged = Buffer.from(real); forged.writeUInt32BE(mid, 20);
      const h = decodeHeader(forged); if (!h.ok) throw new Error(h.reason);
      b.open(h.value, forged);   // decrypts to garbage or not: never committed
    }
    expect(b.exchanges.size).toBe(0);
    const h = decodeHeader(real); if (!h.ok) throw new Error(h.reason);
    const o = b.open(h.value, real);
    expect(o.ok).toBe(true);
    if (o.ok) { expect(o.value.payloads[0]!.type).toBe(Pt.HASH); o.value.commit(); }
    expect([...b.exchanges.keys()]).toEqual([7]);
    // the chain goes on: the next message of exchange 7 decrypts too
    const next = a.seal({ exchange: Xchg.QUICK, mid: 7 }, [{ type: Pt.HASH, body: randomBytes(20) }]);
    const h2 = decodeHeader(next); if (!h2.ok) throw new Error(h2.reason);
    expect(b.open(h2.value, next).ok).toBe(true);
  });
});
