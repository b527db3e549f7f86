/** The ISAKMP codec: every payload type round-trips; truncated, inconsistent and random input is refused with a reason, never thrown. */
import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import * as C from './codec.js';
import { Pt, Xchg, Proto, N, DOI_IPSEC } from './constants.js';
import { ikeSaBody, chooseIke, ipsecSaBody, chooseIpsec, readIpsecReply, ipsecSaReply } from './proposals.js';
import { selectorId, idSelector } from './proxy.js';
import type { IkeProposalModel, IpsecProposalModel } from '../config/model.js';

const IKE: IkeProposalModel[] = [
  { name: 'p1', authenticationAlgorithm: 'sha1', authenticationMethod: 'pre-shared-keys', dhGroup: 'group2', encryptionAlgorithm: '3des-cbc', lifetimeSeconds: 3600 },
  { name: 'p2', authenticationAlgorithm: 'md5', authenticationMethod: 'pre-shared-keys', dhGroup: 'group1', encryptionAlgorithm: 'des-cbc', lifetimeSeconds: 100000 },
];
const IPSEC: IpsecProposalModel[] = [
  { name: 'e', protocol: 'esp', encryptionAlgorithm: '3des-cbc', authenticationAlgorithm: 'hmac-sha1-96', lifetimeSeconds: 6000 },
  { name: 'a', protocol: 'ah', authenticationAlgorithm: 'hmac-md5-96', lifetimeSeconds: 28800 },
  { name: 'b', protocol: 'bundle', encryptionAlgorithm: 'des-cbc', authenticationAlgorithm: 'hmac-sha1-96', lifetimeSeconds: 28800 },
];

describe('ISAKMP codec', () => {
  it('a message with every payload type round-trips', () => {
    const spi = Buffer.from('c0ffee01', 'hex');
    const payloads: C.OutPayload[] = [
      { type: Pt.SA, body: ikeSaBody(IKE) }, { type: Pt.KE, body: randomBytes(128) }, { type: Pt.NONCE, body: randomBytes(32) },
      { type: Pt.ID, body: C.encodeId({ type: 1, protocol: 17, port: 500, data: Buffer.from([10, 5, 5, 5]) }) },
      { type: Pt.CERT, body: Buffer.concat([Buffer.from([4]), randomBytes(300)]) }, { type: Pt.CR, body: Buffer.from([4]) },
      { type: Pt.HASH, body: randomBytes(20) }, { type: Pt.SIG, body: randomBytes(128) },
      { type: Pt.N, body: C.encodeNotify({ doi: DOI_IPSEC, protocol: Proto.ESP, spi, type: N.RESPONDER_LIFETIME, data: Buffer.from('80010001000200040000012c', 'hex') }) },
      { type: Pt.D, body: C.encodeDelete({ doi: DOI_IPSEC, protocol: Proto.ESP, spis: [spi, Buffer.from('0badf00d', 'hex')] }) },
      { type: Pt.VID, body: randomBytes(16) }, { type: Pt.NAT_D, body: randomBytes(20) },
    ];
    const msg = C.encodeMessage({ icookie: randomBytes(8), rcookie: randomBytes(8), exchange: Xchg.MAIN, flags: 0, mid: 0 }, payloads);
    const d = C.decodeMessage(msg);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value.payloads.map(p => p.type)).toEqual(payloads.map(p => p.type));
    d.value.payloads.forEach((p, i) => expect(p.body.equals(payloads[i]!.body)).toBe(true));
    const sa = C.decodeSa(d.value.payloads[0]!.body);
    expect(sa.ok && sa.value.proposals[0]!.transforms.length).toBe(2);
    const n = C.decodeNotify(d.value.payloads[8]!.body);
    expect(n.ok && n.value.type === N.RESPONDER_LIFETIME && n.value.spi.equals(spi)).toBe(true);
    const del = C.decodeDelete(d.value.payloads[9]!.body);
    expect(del.ok && del.value.spis.length).toBe(2);
    const id = C.decodeId(d.value.payloads[3]!.body);
    expect(id.ok && id.value.port).toBe(500);
  });

  it('long attributes (a lifetime over 65535 seconds) go as TLV and come back', () => {
    const sa = C.decodeSa(ikeSaBody(IKE));
    expect(sa.ok).toBe(true);
    if (!sa.ok) return;
    const c = chooseIke(sa.value, [IKE[1]!]);
    expect('choice' in c && c.choice.lifetimeSeconds).toBe(100000);
  });

});

describe('ISAKMP codec: proposals, identities and hostile input', () => {
  it('phase 2 proposals: ESP, AH and a bundle are chosen as offered, with PFS agreeing', () => {
    const spi = { esp: Buffer.from('00011111', 'hex'), ah: Buffer.from('00022222', 'hex') };
    const offer = C.decodeSa(ipsecSaBody(IPSEC, spi, 2, false));
    expect(offer.ok).toBe(true);
    if (!offer.ok) return;
    for (const [i, want] of [[0, 'esp'], [1, 'ah'], [2, 'bundle']] as const) {
      const r = chooseIpsec(offer.value, [IPSEC[i]!], 2, false);
      expect('choice' in r && r.choice.protocol, want).toBe(want);
      if (!('choice' in r)) continue;
      const reply = C.decodeSa(ipsecSaReply(r.parts, r.choice.proposalNum, spi));
      const back = reply.ok ? readIpsecReply(reply.value, IPSEC, 2) : { error: 'x' };
      expect('protocol' in back && back.protocol).toBe(want);
    }
    expect(chooseIpsec(offer.value, IPSEC, undefined, false)).toEqual({ error: 'no proposal chosen' });   // PFS must agree
    expect(chooseIpsec(offer.value, [{ ...IPSEC[0]!, encryptionAlgorithm: 'des-cbc' }], 2, false)).toEqual({ error: 'no proposal chosen' });
  });

  it('proxy identities: addresses and subnets both ways', () => {
    for (const s of [{ prefix: { addr: 0x0a010100, len: 24 }, protocol: 0, port: 0 }, { prefix: { addr: 0x0a050505, len: 32 }, protocol: 17, port: 500 }, { prefix: { addr: 0, len: 0 }, protocol: 0, port: 0 }]) {
      const d = C.decodeId(selectorId(s));
      expect(d.ok && idSelector(d.value)).toEqual(s);
    }
  });

  it('refuses truncated and inconsistent messages with a reason', () => {
    const good = C.encodeMessage({ icookie: randomBytes(8), rcookie: Buffer.alloc(8), exchange: Xchg.MAIN, flags: 0, mid: 0 }, [{ type: Pt.SA, body: ikeSaBody(IKE) }]);
    const cases: Array<[Buffer, string]> = [
      [good.subarray(0, 20), 'short-message'],
      [Buffer.concat([good.subarray(0, 17), Buffer.from([0x20]), good.subarray(18)]), 'bad-version'],
      [(() => { const b = Buffer.from(good); b.writeUInt32BE(b.length + 1, 24); return b; })(), 'bad-length'],
      [(() => { const b = Buffer.from(good); b.writeUInt16BE(3, 30); return b; })(), 'bad-payload-length'],
      [(() => { const b = Buffer.from(good); b.writeUInt16BE(b.length, 30); return b; })(), 'bad-payload-length'],
      [Buffer.concat([good, Buffer.alloc(4)]).fill(0, good.length), 'trailing-bytes'],
    ];
    for (const [b, why] of cases) {
      let fixed = b;
      if (why === 'trailing-bytes') { fixed = Buffer.from(b); fixed.writeUInt32BE(fixed.length, 24); }
      const d = C.decodeMessage(fixed);
      expect(d, why).toEqual({ ok: false, reason: why });
    }
    expect(C.decodeSa(Buffer.alloc(3))).toEqual({ ok: false, reason: 'short-sa' });
    expect(C.decodeDelete(Buffer.from('00000001030400030000', 'hex'))).toEqual({ ok: false, reason: 'bad-delete-length' });
    expect(C.decodeNotify(Buffer.from('0000000103ff0001', 'hex'))).toEqual({ ok: false, reason: 'bad-notify-spi' });
  });

  it('fuzz: 20,000 random and mutated messages never throw', () => {
    const seeds = [
      C.encodeMessage({ icookie: randomBytes(8), rcookie: Buffer.alloc(8), exchange: Xchg.MAIN, flags: 0, mid: 0 }, [{ type: Pt.SA, body: ikeSaBody(IKE) }]),
      C.encodeMessage({ icookie: randomBytes(8), rcookie: randomBytes(8), exchange: Xchg.QUICK, flags: 0, mid: 7 }, [{ type: Pt.HASH, body: randomBytes(20) }, { type: Pt.SA, body: ipsecSaBody(IPSEC, { esp: randomBytes(4), ah: randomBytes(4) }, 1, false) }, { type: Pt.NONCE, body: randomBytes(16) }]),
    ];
    let x = 99;
    const rnd = () => (x = (x * 1103515245 + 12345) >>> 0);
    for (let i = 0; i < 20000; i++) {
      let m: Buffer;
      if (i % 3 === 0) m = randomBytes(rnd() % 300);
      else { m = Buffer.from(seeds[rnd() % seeds.length]!); for (let k = 0; k < 1 + (rnd() % 6); k++) m[rnd() % m.length] = rnd() & 255; if (rnd() % 4 === 0) m = m.subarray(0, rnd() % m.length); }
      expect(() => {
        const d = C.decodeMessage(m);
        if (d.ok) for (const p of d.value.payloads) { C.decodeSa(p.body); C.decodeId(p.body); C.decodeNotify(p.body); C.decodeDelete(p.body); C.decodeAttrs(p.body); }
      }).not.toThrow();
    }
  });
});
