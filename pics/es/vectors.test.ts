/**
 * The independent vectors (scapy) for the chapter's SAs: every one is reproduced byte for byte
 * (same IV, sequence number, outer id and TTL) and decrypts back to its plaintext.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SecurityAssociation, SaSpec } from './sa.js';
import { ipToInt } from '../../src/net/ip.js';

const local = join(import.meta.dirname, '../../test/vectors/ipsec.json');
/**
 * The shared vectors this copy must equal: VROUTER_SHARED_VECTORS, else ../shared/vectors beside the
 * checkout, else the machine's /work/shared/vectors. None of them: the comparison fails, it is not skipped.
 */
const sharedCandidates = process.env.VROUTER_SHARED_VECTORS ? [process.env.VROUTER_SHARED_VECTORS] : [join(import.meta.dirname, '../../../shared/vectors/ipsec.json'), '/work/shared/vectors/ipsec.json'];
const shared = sharedCandidates.find(f => existsSync(f));
interface Vector {
  name: string; protocol: 'esp' | 'ah' | 'bundle'; mode: 'tunnel' | 'transport'; spi: number; seq: number; auxiliarySpi?: number;
  plaintext: string; ciphertext: string;
  tunnel?: { source: string; destination: string; outerId: number; outerTtl: number };
  encryption?: { algorithm: 'des-cbc' | '3des-cbc'; key: string; iv: string };
  authentication?: { algorithm: 'hmac-md5-96' | 'hmac-sha1-96'; key: string };
}
const vectors: Vector[] = JSON.parse(readFileSync(local, 'utf8')).vectors;

function spec(v: Vector, direction: 'inbound' | 'outbound'): SaSpec {
  return {
    name: v.name, direction, protocol: v.protocol, mode: v.mode, spi: v.spi, manual: true,
    ...(v.auxiliarySpi ? { auxSpi: v.auxiliarySpi } : {}),
    ...(v.encryption ? { enc: { algorithm: v.encryption.algorithm, key: Buffer.from(v.encryption.key, 'hex') } } : {}),
    ...(v.authentication ? { auth: { algorithm: v.authentication.algorithm, key: Buffer.from(v.authentication.key, 'hex') } } : {}),
    ...(v.tunnel ? { tunnel: { source: ipToInt(v.tunnel.source), destination: ipToInt(v.tunnel.destination) } } : {}),
  };
}

describe('shared IPsec vectors', () => {
  it('the repository copy equals the shared vectors/ipsec.json', () => {
    expect(shared, `the shared vectors are not at ${sharedCandidates.join(' nor ')}: set VROUTER_SHARED_VECTORS`).toBeDefined();
    expect(readFileSync(local, 'utf8')).toBe(readFileSync(shared!, 'utf8'));
    expect(vectors.length).toBeGreaterThanOrEqual(6);
  });
  for (const v of vectors) {
    it(`${v.name}: encrypts byte for byte`, () => {
      const sa = new SecurityAssociation(spec(v, 'outbound'));
      const r = sa.encapsulate(Buffer.from(v.plaintext, 'hex'), {
        seq: v.seq, ...(v.encryption ? { iv: Buffer.from(v.encryption.iv, 'hex') } : {}),
        ...(v.tunnel ? { outerId: v.tunnel.outerId, ttl: v.tunnel.outerTtl } : {}),
      });
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.packet.toString('hex')).toBe(v.ciphertext);
    });
    it(`${v.name}: decrypts back to the plaintext`, () => {
      const sa = new SecurityAssociation(spec(v, 'inbound'));
      const r = sa.decapsulate(Buffer.from(v.ciphertext, 'hex'));
      expect(r).toMatchObject({ ok: true });
      if (r.ok) expect(r.packet.toString('hex')).toBe(v.plaintext);
      expect(sa.counters.packets).toBe(1);
    });
  }
});
