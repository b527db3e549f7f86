/**
 * The multi-buffer seals (native/esp.cc with intel-ipsec-mb, forced on with VROUTER_ESP_MB=1 whatever
 * the CPU): the shared vectors byte for byte, and batches of packets of every size byte for byte
 * against the OpenSSL path, for des-cbc and 3des-cbc with hmac-md5-96 and hmac-sha1-96.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SecurityAssociation, SaSpec } from './sa.js';
import { espMbArch, espMbReset, espBatchBegin, espBatchEnd, espQueued, espMbVectorised, espAddon } from './esp.js';
import { buildIpv4 } from '../../src/net/ipv4.js';
import { EsPic } from './es-pic.js';
import { IpsecCore } from './core.js';
import { Ring, newRing } from './ring.js';
import { PicTurn } from './turn.js';
import { OP_ENCRYPT, OP_OUTER } from './ops.js';
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
      expect(espBatchEnd()).toEqual([]);
      expect(r.ok && r.packet.toString('hex')).toBe(v.ciphertext);
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
      expect(espBatchEnd()).toEqual([]);
      for (let i = 0; i < pkts.length; i++) {
        const a = got[i]!, b = ref[i]!;
        expect(a.ok && b.ok && a.packet.equals(b.packet)).toBe(true);
        const back = inb.decapsulate(a.ok ? a.packet : Buffer.alloc(0));
        expect(back.ok && back.packet.equals(pkts[i]!)).toBe(true);
      }
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

  it('a seal the library refuses at the flush is a counted drop, not a seal: on the PIC, on its SA, and nothing handed back', () => {
    const d = { protocol: 'esp' as const, spi: 1000, enc: { algorithm: '3des-cbc' as const, key: randomBytes(24) }, auth: { algorithm: 'hmac-sha1-96' as const, key: randomBytes(20) } };
    const core = new IpsecCore();
    core.configure([{ ifl: 'es-0/1/0.0', pic: '0/1', source: 1, destination: 2, sa: { name: 'x', mode: 'tunnel', manual: { inbound: d, outbound: d, bidirectional: true } } }]);
    const into = new Ring(newRing(1 << 16)), back = new Ring(newRing(1 << 16));
    const turn = new PicTurn(core, back, () => {});
    turn.ifls = ['es-0/1/0.0'];
    const a = espAddon()!, real = a.flushSeals;
    a.flushSeals = () => { const f = real.call(a); return [...f, 1]; };   // the library refuses the second job
    try {
      const pkts = [100, 200, 300].map((n, i) => buildIpv4({ protocol: 17, src: 5, dst: 6, id: i }, randomBytes(n)));
      for (const p of pkts) into.push(OP_ENCRYPT, 0, p, 0);
      turn.run(into);
    } finally { a.flushSeals = real; }
    const got: number[] = [];
    back.drain((op, _i, pkt) => { if (op === OP_OUTER) got.push(pkt.length); });
    expect(got).toHaveLength(2);
    expect(core.encrypted).toBe(2);
    expect(core.drops['malformed']).toBe(1);
    const sa = core.snapshot().find(s => s.direction === 'outbound')!;
    expect(sa).toMatchObject({ packets: 2, bytes: 120 + 320 });
    expect(sa.drops['malformed']).toBe(1);
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

