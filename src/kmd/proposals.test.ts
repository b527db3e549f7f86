/** Issue 21 minors: quick mode answers that kmd cannot install are refused with a reason, never thrown on. */
import { describe, it, expect } from 'vitest';
import { ipsecSaBody, chooseIpsec, readIpsecReply } from './proposals.js';
import { decodeSa, encodeSa } from './codec.js';
import type { IpsecProposalModel } from '../config/model.js';
import { DOI_IPSEC, SIT_IDENTITY_ONLY, Proto, ESP_TRANSFORM, AH_TRANSFORM, P2Attr, P2_AUTH, ENCAP_TUNNEL } from './constants.js';

const esp: IpsecProposalModel = { name: 'e', protocol: 'esp', encryptionAlgorithm: '3des-cbc', authenticationAlgorithm: 'hmac-md5-96', lifetimeSeconds: 3600 };
const spi4 = Buffer.from([1, 2, 3, 4]);
const sa = (b: Buffer) => { const d = decodeSa(b); if (!d.ok) throw new Error(d.reason); return d.value; };
const attrs = [{ type: P2Attr.ENCAP, value: ENCAP_TUNNEL }, { type: P2Attr.AUTH, value: P2_AUTH['hmac-md5-96']! }];
const reply = (parts: Array<{ protocol: number; spi: Buffer; id: number }>) => sa(encodeSa({ doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals: parts.map(p => ({ num: 1, protocol: p.protocol, spi: p.spi, transforms: [{ num: 1, id: p.id, attrs }] })) }));

describe('quick mode proposals that cannot be installed', () => {
  it('a good ESP reply is read (the control case)', () => {
    const r = readIpsecReply(reply([{ protocol: Proto.ESP, spi: spi4, id: ESP_TRANSFORM['3des-cbc']! }]), [esp], undefined);
    expect('error' in r).toBe(false);
  });
  it('an ESP offer answered with AH is refused', () => {
    const r = readIpsecReply(reply([{ protocol: Proto.AH, spi: spi4, id: AH_TRANSFORM['hmac-md5-96']! }]), [esp], undefined);
    expect(r).toEqual({ error: 'the reply answers our esp proposal with ah' });
  });
  it('a reply with neither ESP nor AH is refused', () => {
    const r = readIpsecReply(reply([{ protocol: 99, spi: spi4, id: 3 }]), [esp], undefined);
    expect(r).toEqual({ error: 'the reply has neither ESP nor AH' });
  });
  it('a reply whose SPI is not 4 bytes is refused', () => {
    for (const spi of [Buffer.alloc(0), Buffer.alloc(2, 1), Buffer.alloc(8, 1)]) {
      const r = readIpsecReply(reply([{ protocol: Proto.ESP, spi, id: ESP_TRANSFORM['3des-cbc']! }]), [esp], undefined);
      expect(r).toEqual({ error: `the reply's SPI is ${spi.length} bytes, not 4` });
    }
  });
  it('as responder: an offer whose SPI is not 4 bytes is no usable proposal; a 4-byte one is', () => {
    const offer = (spi: Buffer) => sa(ipsecSaBody([esp], { esp: spi, ah: spi }, undefined, false));
    expect(chooseIpsec(offer(Buffer.alloc(8, 7)), [esp], undefined, false)).toEqual({ error: 'no proposal chosen' });
    expect('error' in chooseIpsec(offer(spi4), [esp], undefined, false)).toBe(false);
  });
});
