/**
 * The multi-buffer seals and opens (native/esp.cc with intel-ipsec-mb, forced on with VROUTER_ESP_MB=1
 * whatever the CPU): the shared vectors byte for byte both ways, batches of packets of every size byte
 * for byte against the OpenSSL path, for des-cbc and 3des-cbc with hmac-md5-96 and hmac-sha1-96, and
 * every drop an open can meet (a forged ICV, bad padding, a replay inside one batch, a refused job).
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, createCipheriv, createHmac } from 'node:crypto';
import { SecurityAssociation, SaSpec, SaResult, PendingOpen, ICV_FIRST } from './sa.js';
import { espMbArch, espMbReset, espBatchBegin, espBatchEnd, espQueued, espMbVectorised, espAddon } from './esp.js';
import { buildIpv4 } from '../../src/net/ipv4.js';
import { EsPic } from './es-pic.js';
import { IpsecCore } from './core.js';
import { Ring, newRing } from './ring.js';
import { PicTurn } from './turn.js';
import { OP_ENCRYPT, OP_OUTER, OP_DECRYPT, OP_INNER } from './ops.js';
import { ipToInt } from '../../src/net/ip.js';

const vectors = JSON.parse(readFileSync(join(import.meta.dirname, '../../test/vectors/ipsec.json'), 'utf8')).vectors as Array<{
  name: string; protocol: string; mode: string; spi: number; seq: number; plaintext: string; ciphertext: string;
  tunnel?: { source: string; destination: string; outerId: number; outerTtl: number };
  encryption?: { algorithm: 'des-cbc' | '3des-cbc'; key: string; iv: string }; authentication?: { algorithm: 'hmac-md5-96' | 'hmac-sha1-96'; key: string };
}>;
const built = espMbArch() !== 'none';

describe.skipIf(!built)('multi-buffer ESP seals (intel-ipsec-mb)', () => {
  const was = process.env.VROUTER_ESP_MB;
  beforeAll(() => { process.env.VROUTER_ESP_MB = '1'; espMbReset(); });
  afterAll(() => { if (was === undefined) delete process.env.VROUTER_ESP_MB; else process.env.VROUTER_ESP_MB = was; espMbReset(); });

  for (const v of vectors.filter(x => x.protocol === 'esp' && x.mode === 'tunnel' && x.encryption && x.authentication)) {
    it(`${v.name}: sealed in a batch, byte for byte`, () => {
      const sa = new SecurityAssociation({ name: v.name, direction: 'outbound', protocol: 'esp', mode: 'tunnel', spi: v.spi, manual: true,
        enc: { algorithm: v.encryption!.algorithm, key: Buffer.from(v.encryption!.key, 'hex') }, auth: { algorithm: v.authentication!.algorithm, key: Buffer.from(v.authentication!.key, 'hex') },
        tunnel: { source: ipToInt(v.tunnel!.source), destination: ipToInt(v.tunnel!.destination) } });
      expect(espBatchBegin()).toBe(true);
      const r = sa.encapsulate(Buffer.from(v.plaintext, 'hex'), { seq: v.seq, iv: Buffer.from(v.encryption!.iv, 'hex'), outerId: v.tunnel!.outerId, ttl: v.tunnel!.outerTtl });
      expect(espQueued()).toBe(1);   // deferred: the multi-buffer path, not OpenSSL
      expect(espBatchEnd().size).toBe(0);
      expect(r.ok && r.packet.toString('hex')).toBe(v.ciphertext);
    });
    it(`${v.name}: opened in a batch, byte for byte`, () => {
      const sa = new SecurityAssociation({ name: v.name, direction: 'inbound', protocol: 'esp', mode: 'tunnel', spi: v.spi, manual: true,
        enc: { algorithm: v.encryption!.algorithm, key: Buffer.from(v.encryption!.key, 'hex') }, auth: { algorithm: v.authentication!.algorithm, key: Buffer.from(v.authentication!.key, 'hex') },
        tunnel: { source: ipToInt(v.tunnel!.destination), destination: ipToInt(v.tunnel!.source) } });
      espBatchBegin();
      const p = sa.decapsulate(Buffer.from(v.ciphertext, 'hex'), true);
      expect(p.ok).toBe('pending');   // deferred: the multi-buffer path, not OpenSSL
      expect(espQueued()).toBe(1);
      const f = espBatchEnd();
      expect(f.size).toBe(0);
      const r = sa.opened(p as PendingOpen);
      expect(r.ok && r.packet.toString('hex')).toBe(v.plaintext);
      expect(sa.counters.packets).toBe(1);
    });
  }

  for (const enc of ['des-cbc', '3des-cbc'] as const) for (const auth of ['hmac-md5-96', 'hmac-sha1-96'] as const) {
    it(`${enc} + ${auth}: 40 packets of 1 to 1480 bytes in one batch equal the OpenSSL path and open again`, () => {
      const spec = (direction: 'inbound' | 'outbound'): SaSpec => ({ name: 'mb', direction, protocol: 'esp', mode: 'tunnel', spi: 77, manual: true,
        enc: { algorithm: enc, key: randomBytes(enc === 'des-cbc' ? 8 : 24) }, auth: { algorithm: auth, key: randomBytes(auth === 'hmac-md5-96' ? 16 : 20) },
        tunnel: { source: 1, destination: 2 } });
      const s = spec('outbound');
      const mb = new SecurityAssociation(s), ossl = new SecurityAssociation(s), inb = new SecurityAssociation({ ...s, direction: 'inbound' });
      const pkts = Array.from({ length: 40 }, (_, i) => buildIpv4({ protocol: 17, src: 5, dst: 6, id: i }, randomBytes(i === 0 ? 1 : Math.floor(Math.random() * 1460))));
      const ivs = pkts.map(() => randomBytes(8));
      const ref = pkts.map((p, i) => ossl.encapsulate(p, { iv: ivs[i]!, outerId: 9 }));
      espBatchBegin();
      const got = pkts.map((p, i) => mb.encapsulate(p, { iv: ivs[i]!, outerId: 9 }));
      expect(espQueued()).toBe(40);
      expect(espBatchEnd().size).toBe(0);
      for (let i = 0; i < pkts.length; i++) {
        const a = got[i]!, b = ref[i]!;
        expect(a.ok && b.ok && a.packet.equals(b.packet)).toBe(true);
        const back = inb.decapsulate(a.ok ? a.packet : Buffer.alloc(0));
        expect(back.ok && back.packet.equals(pkts[i]!)).toBe(true);
      }
      // and the same packets opened in one batch
      const inb2 = new SecurityAssociation({ ...s, direction: 'inbound' });
      espBatchBegin();
      const pending = got.map(g => inb2.decapsulate(g.ok ? g.packet : Buffer.alloc(0), true));
      expect(espQueued()).toBe(40);
      const f = espBatchEnd();
      expect(f.size).toBe(0);
      pending.forEach((p, i) => { const r = p.ok === 'pending' ? inb2.opened(p) : p; expect(r.ok && r.packet.equals(pkts[i]!)).toBe(true); });
    });
  }

  // both seal paths through a real worker, whichever this CPU takes by default (VROUTER_ESP_MB unset)
  for (const mode of ['1', '0'] as const) it(`through the ES PIC worker (VROUTER_ESP_MB=${mode}): a burst is sealed${mode === '1' ? ' in batches' : ' one chain each'}, every packet opens back to itself, in order`, async () => {
    const d = { protocol: 'esp' as const, spi: 1000, enc: { algorithm: '3des-cbc' as const, key: randomBytes(24) }, auth: { algorithm: 'hmac-sha1-96' as const, key: randomBytes(20) } };
    process.env.VROUTER_ESP_MB = mode;
    const pic = new EsPic('0/1');   // its worker takes VROUTER_ESP_MB with its copy of the environment
    process.env.VROUTER_ESP_MB = '1';
    try {
      pic.configure([{ ifl: 'es-0/1/0.0', pic: '0/1', source: 1, destination: 2, sa: { name: 'x', mode: 'tunnel', manual: { inbound: d, outbound: d, bidirectional: true } } }]);
      await pic.ready;
      const pkts = Array.from({ length: 100 }, (_, i) => buildIpv4({ protocol: 17, src: 5, dst: 6, id: i }, randomBytes(20 + i)));
      const back: Buffer[] = [];
      await new Promise<void>(done => {
        pic.setSink({ outer: (ifl, pkt, _t, h) => pic.decrypt(ifl, h ? pkt.subarray(14) : pkt), inner: (_i, pkt, _t, h) => { back.push(h ? pkt.subarray(14) : pkt); if (back.length === pkts.length) done(); } });
        for (const p of pkts) pic.encrypt('es-0/1/0.0', p);
      });
      expect(back.map(b => b.toString('hex'))).toEqual(pkts.map(p => p.toString('hex')));
      const snap = await pic.snapshot();
      expect(snap.encrypted).toBe(100);
      expect(Object.values(snap.drops).reduce((a, b) => a + b, 0)).toBe(0);
    } finally { await pic.close(); }
  }, 30000);

  for (const [what, fake, failed] of [
    ['a status missing (no job of the batch counts as done)', (s: Uint8Array) => s.subarray(0, 1), [0, 1, 2]],
    ['a status that is not "done"', (s: Uint8Array) => { s[1] = 0; s[2] = 7; return s; }, [1, 2]],
  ] as const) it(`the verdict is positive: ${what}: the job was not done (seals dropped, opens retried on the single chain)`, () => {
    const { out, inb } = pair();
    const a = espAddon()!, real = a.flush;
    a.flush = () => fake(real.call(a));
    const plain = inner(3);
    let sealed: SaResult[];
    try {
      espBatchBegin();
      sealed = plain.map(p => out.encapsulate(p));
      expect(espQueued()).toBe(3);
      const f = espBatchEnd();
      expect([...f.keys()].sort()).toEqual(failed);
      expect([...f.values()].every(v => v === 'refused')).toBe(true);
    } finally { a.flush = real; espBatchEnd(); }
    const ok = sealed[0]!;
    if (!(failed as readonly number[]).includes(0)) expect(ok.ok && inb.decapsulate(ok.packet).ok).toBe(true);   // the one with a "done" status is a real seal
    a.flush = () => fake(real.call(a));
    try {
      const r = batchOpen(inb, plain.map(p => { const x = out.encapsulate(p); return x.ok ? x.packet : Buffer.alloc(0); }));
      r.forEach((x, i) => expect(x.ok && x.packet.equals(plain[i]!)).toBe(true));
    } finally { a.flush = real; }
  });

  it('a seal the library refuses at the flush is a counted drop, not a seal: on the PIC, on its SA, and nothing handed back', () => {
    const d = { protocol: 'esp' as const, spi: 1000, enc: { algorithm: '3des-cbc' as const, key: randomBytes(24) }, auth: { algorithm: 'hmac-sha1-96' as const, key: randomBytes(20) } };
    const core = new IpsecCore();
    core.configure([{ ifl: 'es-0/1/0.0', pic: '0/1', source: 1, destination: 2, sa: { name: 'x', mode: 'tunnel', manual: { inbound: d, outbound: d, bidirectional: true } } }]);
    const into = new Ring(newRing(1 << 16)), back = new Ring(newRing(1 << 16));
    const turn = new PicTurn(core, back, () => {});
    turn.ifls = ['es-0/1/0.0'];
    const a = espAddon()!, real = a.flush;
    a.flush = () => { const s = real.call(a); s[1] = 2; return s; };   // the library refuses the second job
    try {
      const pkts = [100, 200, 300].map((n, i) => buildIpv4({ protocol: 17, src: 5, dst: 6, id: i }, randomBytes(n)));
      for (const p of pkts) into.push(OP_ENCRYPT, 0, p, 0);
      turn.run(into);
    } finally { a.flush = real; }
    const got: number[] = [];
    back.drain((op, _i, pkt) => { if (op === OP_OUTER) got.push(pkt.length); });
    expect(got).toHaveLength(2);
    expect(core.encrypted).toBe(2);
    expect(core.drops['malformed']).toBe(1);
    const sa = core.snapshot().find(s => s.direction === 'outbound')!;
    expect(sa).toMatchObject({ packets: 2, bytes: 120 + 320 });
    expect(sa.drops['malformed']).toBe(1);
  });


  // an SA pair on one core, and a turn over rings, as the worker has them
  const pair = (window?: 32 | 64) => {
    const enc = { algorithm: '3des-cbc' as const, key: randomBytes(24) }, auth = { algorithm: 'hmac-md5-96' as const, key: randomBytes(16) };
    const s: SaSpec = { name: 'o', direction: 'outbound', protocol: 'esp', mode: 'tunnel', spi: 0x3000, manual: !window, enc, auth, tunnel: { source: 1, destination: 2 }, ...(window ? { replayWindow: window, lifetime: { hardSeconds: 3600 } } : {}) };
    return { out: new SecurityAssociation(s), inb: new SecurityAssociation({ ...s, direction: 'inbound' }), enc, auth };
  };
  const batchOpen = (sa: SecurityAssociation, pkts: Buffer[], refuse?: number): SaResult[] => {
    const a = espAddon()!, real = a.flush;
    if (refuse !== undefined) a.flush = () => { const s = real.call(a); s[refuse] = 2; return s; };
    let pend: Array<SaResult | PendingOpen> = [];
    try {
      espBatchBegin();
      pend = pkts.map(p => sa.decapsulate(p, true));
    } finally { espBatchEnd(); a.flush = real; }
    return pend.map(p => p.ok === 'pending' ? sa.opened(p) : p);
  };
  const inner = (n: number) => Array.from({ length: n }, (_, i) => buildIpv4({ protocol: 17, src: 5, dst: 6, id: i }, randomBytes(30 + (97 * i) % 1400)));

  it('a forged packet in a batch (a bit of its ICV, ciphertext, IV or sequence number changed) is a bad-icv drop; the others open', () => {
    const { out, inb } = pair();
    const plain = inner(12);
    const sealed = plain.map(p => { const r = out.encapsulate(p); return r.ok ? r.packet : Buffer.alloc(0); });
    const forged = new Set([1, 4, 7, 10]);
    sealed[1]![sealed[1]!.length - 1]! ^= 1;       // the ICV
    sealed[4]![20 + 16 + 5]! ^= 0x40;              // the ciphertext
    sealed[7]![20 + 8 + 3]! ^= 2;                  // the IV
    sealed[10]![20 + 7]! ^= 1;                     // the sequence number (manual SA: no window, still authenticated)
    const r = batchOpen(inb, sealed);
    r.forEach((x, i) => forged.has(i) ? expect(x).toEqual({ ok: false, reason: 'bad-icv' }) : expect(x.ok && x.packet.equals(plain[i]!)).toBe(true));
    expect(inb.counters).toMatchObject({ packets: 8, drops: { 'bad-icv': 4 } });
  });

  it('after a forged packet the SA opens on the single chain (ICV before decryption) for ICV_FIRST opens, then batches again', () => {
    const { out, inb } = pair();
    const n = ICV_FIRST + 12;
    const plain = inner(n);
    const sealed = plain.map(p => { const r = out.encapsulate(p); return r.ok ? r.packet : Buffer.alloc(0); });
    const forged = Buffer.from(sealed[0]!); forged[forged.length - 1]! ^= 1;
    expect(batchOpen(inb, [forged])).toEqual([{ ok: false, reason: 'bad-icv' }]);   // in a batch
    const queued: number[] = [];
    const open = (pkt: Buffer): SaResult => {
      espBatchBegin();
      const p = inb.decapsulate(pkt, true);
      queued.push(espQueued());
      espBatchEnd();
      return p.ok === 'pending' ? inb.opened(p) : p;
    };
    for (let i = 0; i < 10; i++) { const r = open(sealed[i]!); expect(r.ok && r.packet.equals(plain[i]!)).toBe(true); }
    expect(open(forged)).toEqual({ ok: false, reason: 'bad-icv' });   // on the single chain: the count starts again
    for (let i = 10; i < n; i++) { const r = open(sealed[i]!); expect(r.ok && r.packet.equals(plain[i]!)).toBe(true); }
    expect(queued.slice(0, 11 + ICV_FIRST).every(q => q === 0)).toBe(true);   // single chain
    expect(queued.slice(11 + ICV_FIRST)).toEqual([1, 1]);                      // batched again
    expect(inb.counters).toMatchObject({ packets: n, drops: { 'bad-icv': 2 } });
  });

  it('bad padding under a good ICV is a bad-padding drop after the batch', () => {
    const { inb, enc, auth } = pair();
    const ip = inner(1)[0]!;
    let padLen = (8 - ((ip.length + 2) % 8)) % 8;
    if (padLen < 3) padLen += 8;
    const pad = Buffer.from(Array.from({ length: padLen }, (_, i) => i === 2 ? 9 : i + 1));   // 1, 2, 9, ... and not 1, 2, 3, ...
    const pt = Buffer.concat([ip, pad, Buffer.from([padLen, 4])]);
    const iv = randomBytes(8), c = createCipheriv('des-ede3-cbc', enc.key, iv).setAutoPadding(false);
    const head = Buffer.alloc(8); head.writeUInt32BE(0x3000, 0); head.writeUInt32BE(1, 4);
    const esp = Buffer.concat([head, iv, c.update(pt), c.final()]);
    const wire = buildIpv4({ protocol: 50, src: 2, dst: 1 }, Buffer.concat([esp, createHmac('md5', auth.key).update(esp).digest().subarray(0, 12)]));
    expect(batchOpen(inb, [wire])).toEqual([{ ok: false, reason: 'bad-padding' }]);
    expect(inb.counters.drops['bad-padding']).toBe(1);
  });

  it('a replay inside one batch (a window of 32): the first copy opens, the second is a replay drop', () => {
    const { out, inb } = pair(32);
    const plain = inner(3);
    const sealed = plain.map(p => { const r = out.encapsulate(p); return r.ok ? r.packet : Buffer.alloc(0); });
    const queued = vi.spyOn(SecurityAssociation.prototype, 'opened');
    const r = batchOpen(inb, [sealed[0]!, sealed[1]!, sealed[0]!, sealed[2]!]);
    expect(queued).toHaveBeenCalledTimes(4);   // all four were queued: the window did not know the first yet
    queued.mockRestore();
    expect(r.map(x => x.ok ? 'ok' : x.reason)).toEqual(['ok', 'ok', 'replay', 'ok']);
    expect(inb.counters).toMatchObject({ packets: 3, drops: { replay: 1 } });
    expect(batchOpen(inb, [sealed[1]!])).toEqual([{ ok: false, reason: 'replay' }]);   // and in the next batch, before it is queued
    expect(inb.counters.drops.replay).toBe(2);
  });

  it('an open the library refuses is opened again on the single chain, ICV first', () => {
    const { out, inb } = pair();
    const plain = inner(3);
    const sealed = plain.map(p => { const x = out.encapsulate(p); return x.ok ? x.packet : Buffer.alloc(0); });
    const r = batchOpen(inb, sealed, 1);
    r.forEach((x, i) => expect(x.ok && x.packet.equals(plain[i]!)).toBe(true));
    sealed[1]![sealed[1]!.length - 1]! ^= 1;
    expect(batchOpen(inb, sealed, 1).map(x => x.ok ? 'ok' : x.reason)).toEqual(['ok', 'bad-icv', 'ok']);
    expect(inb.counters).toMatchObject({ packets: 5, drops: { 'bad-icv': 1, malformed: 0 } });
  });

  it('a pending open finished before its batch ended, twice, or by another SA is refused (malformed), its plaintext never read', () => {
    const { out, inb } = pair();
    const other = pair().inb;
    const sealed = inner(3).map(p => { const x = out.encapsulate(p); return x.ok ? x.packet : Buffer.alloc(0); });
    espBatchBegin();
    const [early, twice, foreign] = sealed.map(s => inb.decapsulate(s, true)) as PendingOpen[];
    expect([early!.ok, twice!.ok, foreign!.ok]).toEqual(['pending', 'pending', 'pending']);
    let first;
    try { first = inb.opened(early!); } finally { espBatchEnd(); }
    expect(first).toEqual({ ok: false, reason: 'malformed' });            // its batch had not ended
    expect(inb.opened(early!)).toEqual({ ok: false, reason: 'malformed' }); // and it stays refused
    expect(inb.opened(twice!).ok).toBe(true);
    expect(inb.opened(twice!)).toEqual({ ok: false, reason: 'malformed' }); // finished once only
    expect(other.opened(foreign!)).toEqual({ ok: false, reason: 'malformed' });
    expect(inb.opened(foreign!).ok).toBe(true);
    expect(inb.counters).toMatchObject({ packets: 2, drops: { malformed: 3 } });
  });

  it('through a turn: seals and opens share batches, results come back in ring order, drops counted on the core', () => {
    const { out } = pair();
    const d = { protocol: 'esp' as const, spi: 0x3000, enc: { algorithm: '3des-cbc' as const, key: out.spec.enc!.key }, auth: { algorithm: 'hmac-md5-96' as const, key: out.spec.auth!.key } };
    const core = new IpsecCore();
    core.configure([{ ifl: 'es-0/1/0.0', pic: '0/1', source: 1, destination: 2, sa: { name: 'x', mode: 'tunnel', manual: { inbound: d, outbound: d, bidirectional: true } } }]);
    const into = new Ring(newRing(4 << 20)), back = new Ring(newRing(4 << 20));
    const turn = new PicTurn(core, back, () => {});
    turn.ifls = ['es-0/1/0.0'];
    const plain = inner(150).map((p, i) => i % 3 ? p : buildIpv4({ protocol: 17, src: 5, dst: 6, id: i }, randomBytes(1400)));
    const sealed = plain.map(p => { const r = out.encapsulate(p); return r.ok ? r.packet : Buffer.alloc(0); });
    sealed[77]![30]! ^= 1;
    // 150 opens and 150 seals interleaved: more than one batch of 64
    plain.forEach((p, i) => { into.push(OP_DECRYPT, 0, sealed[i]!, i & 0xff); into.push(OP_ENCRYPT, 0, p, i & 0xff); });
    turn.run(into);
    const got: Array<[number, number, Buffer]> = [];
    back.drain((op, _i, pkt, t) => got.push([op, t, pkt]));
    expect(got).toHaveLength(299);
    const opened = got.filter(g => g[0] === OP_INNER), resealed = got.filter(g => g[0] === OP_OUTER);
    expect(opened.map(g => g[1])).toEqual(plain.map((_, i) => i & 0xff).filter((_, i) => i !== 77));
    opened.forEach(([, , pkt], k) => expect(pkt.equals(plain[k < 77 ? k : k + 1]!)).toBe(true));
    expect(resealed).toHaveLength(150);
    expect(core).toMatchObject({ encrypted: 150, decrypted: 149 });
    expect(core.drops['bad-icv']).toBe(1);
    expect(espQueued()).toBe(0);
  });

  it('off with VROUTER_ESP_MB=0: nothing is deferred', () => {
    process.env.VROUTER_ESP_MB = '0'; espMbReset();
    expect(espBatchBegin()).toBe(false);
    espBatchEnd();
    process.env.VROUTER_ESP_MB = '1'; espMbReset();
  });

  it("unset: on exactly where the library's DES is multi-buffer (AVX-512), the OpenSSL path elsewhere", () => {
    delete process.env.VROUTER_ESP_MB; espMbReset();
    expect(espBatchBegin()).toBe(espMbVectorised() && espMbArch() === 'avx512');
    espBatchEnd();
    process.env.VROUTER_ESP_MB = '1'; espMbReset();
  });
});

