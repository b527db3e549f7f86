/**
 * The responder cookie proves a round trip: a blind spoofer of a configured peer's address, who never
 * sees our message 2, cannot walk half-open SAs past message 3 with a guessed cookie (they would
 * never be evicted, and 64 of them locked every peer out as responder), and cannot notify a
 * negotiation whose cookies it does not know.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Router } from '../router/router.js';
import { encodeMessage, encodeSa, encodeId } from './codec.js';
import { describeId, printableId } from './types.js';
import { KMD_LIMITS } from './kmd.js';

const TOPO = join(import.meta.dirname, '../../topologies');
const ip = (s: string) => s.split('.').reduce((a, x) => a * 256 + Number(x), 0);
const PEER = ip('10.6.6.6'), ME = ip('10.5.5.5');
const attrs = [{ type: 1, value: 5 }, { type: 2, value: 2 }, { type: 3, value: 1 }, { type: 4, value: 1 }, { type: 11, value: 1 }, { type: 12, value: 28800 }];
const saBody = encodeSa({ doi: 1, situation: 1, proposals: [{ num: 1, protocol: 1, spi: Buffer.alloc(0), transforms: [{ num: 1, id: 1, attrs }] }] });
const mm1 = (ic: Buffer) => encodeMessage({ icookie: ic, rcookie: Buffer.alloc(8), exchange: 2, flags: 0, mid: 0 }, [{ type: 1, body: saBody }]);
const ke = Buffer.alloc(96); ke[95] = 2;
const mm3 = (ic: Buffer, rc: Buffer) => encodeMessage({ icookie: ic, rcookie: rc, exchange: 2, flags: 0, mid: 0 }, [{ type: 4, body: ke }, { type: 10, body: randomBytes(16) }]);

let r: Router | undefined;
afterEach(async () => { await r?.stop(); r = undefined; });

describe('kmd checks the responder cookie', () => {
  it('a message 3 with a guessed responder cookie is dropped (ike-bad-cookie): no half-open SA passes message 3 and a real peer still gets in', async () => {
    let t = 1_000_000;
    r = new Router({ name: 'gw-a', ipsec: 'inline', now: () => t });
    expect(r.commitText(readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8')).ok).toBe(true);
    const n = KMD_LIMITS.halfOpen;
    for (let i = 0; i < n; i++) {
      const ic = randomBytes(8);
      r.kmd.receive(mm1(ic), PEER, ME, 500);
      r.kmd.receive(mm3(ic, randomBytes(8)), PEER, ME, 500);
      t += 150;   // under the per-peer Diffie-Hellman ration
    }
    expect(r.kmd.drops.get('ike-bad-cookie')).toBe(n);
    expect([...r.kmd.ikeSas.values()].filter(s => s.role === 'responder' && s.state !== 'MM3')).toEqual([]);   // each still waits for its message 3
    // the half-open SAs stay evictable: a real first message is answered, not refused as full
    r.kmd.receive(mm1(randomBytes(8)), PEER, ME, 500);
    expect(r.kmd.drops.get('ike-half-open-full') ?? 0).toBe(0);
  });

  it('a retransmitted message 1 (no responder cookie yet) gets the same answer again, not a drop', async () => {
    r = new Router({ name: 'gw-a', ipsec: 'inline' });
    expect(r.commitText(readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8')).ok).toBe(true);
    const ic = randomBytes(8), m = mm1(ic);
    r.kmd.receive(m, PEER, ME, 500);
    r.kmd.receive(m, PEER, ME, 500);
    expect(r.kmd.drops.get('ike-retransmission')).toBe(1);
    expect(r.kmd.drops.get('ike-bad-cookie') ?? 0).toBe(0);
  });
});

describe('what any sender can make kmd say', () => {
  it('first messages from addresses without an IKE policy: each source answered and logged once in 10 s, all together at most 20 a second', async () => {
    let t = 1_000_000;
    r = new Router({ name: 'gw-a', ipsec: 'inline', now: () => t });
    expect(r.commitText(readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8')).ok).toBe(true);
    let sent = 0;
    const host = (r.kmd as unknown as { host: { sendUdp: (...a: unknown[]) => void } }).host;
    const real = host.sendUdp.bind(host);
    host.sendUdp = (...a: unknown[]) => { sent++; real(...a); };
    const lines = () => (r!.log.read('kmd') ?? []).filter(l => l.includes('KMD_PM_NO_POLICY')).length;
    // one source, 1,000 times in 5 s: one answer, one line
    for (let i = 0; i < 1000; i++) { r.kmd.receive(mm1(randomBytes(8)), ip('10.77.0.1'), ME, 500); t += 5; }
    expect(sent).toBe(1);
    expect(lines()).toBe(1);
    // 5,000 sources in 1 s: at most 20 answers in that second
    t += 20_000; sent = 0;
    for (let i = 0; i < 5000; i++) { r.kmd.receive(mm1(randomBytes(8)), ip('10.78.0.0') + i, ME, 500); t += 0.2; }
    expect(sent).toBeLessThanOrEqual(21);
    expect(sent).toBeGreaterThan(0);
    expect(r.kmd.drops.get('ike-no-policy')).toBe(6000);
    // the source is answered again after 10 s
    t += 10_000; sent = 0;
    r.kmd.receive(mm1(randomBytes(8)), ip('10.77.0.1'), ME, 500);
    expect(sent).toBe(1);
  });
});

describe("a peer's identity, as printed", () => {
  it('escapes terminal and XML-invalid characters and is bounded (the peer chooses it, before authentication in Aggressive mode)', () => {
    const evil = Buffer.from('gw.example\x1b[2J\x1b]0;owned\x07\x9b31m\u2028x', 'latin1');
    const shown = describeId(encodeId({ type: 2, protocol: 17, port: 500, data: evil }));
    expect(shown).toBe('gw.example\\x1b[2J\\x1b]0;owned\\x07\\x9b31m(x');   // U+2028 is 0x28 in latin1
    // eslint-disable-next-line no-control-regex
    expect(shown).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    expect(describeId(encodeId({ type: 3, protocol: 0, port: 0, data: Buffer.from('a'.repeat(5000)) })).length).toBe(258);
    expect(printableId('ok.example.net')).toBe('ok.example.net');
    expect(printableId('\ud800x')).toBe('\\ud800x');
  });
});
