/** IKEv1 DSS signatures over a given digest, checked both ways against OpenSSL (`openssl pkeyutl`). */
import { describe, it, expect } from 'vitest';
import { generateKeyPairSync, createHash, createPublicKey } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as asn1js from 'asn1js';
import { dssSign, dssVerify } from './dss.js';

const minimal = (x: Buffer) => { let i = 0; while (i < x.length - 1 && x[i] === 0) i++; const t = x.subarray(i); return t[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), t]) : t; };
const toDer = (rs: Buffer) => Buffer.from(new asn1js.Sequence({ value: [rs.subarray(0, 20), rs.subarray(20)].map(x => new asn1js.Integer({ valueHex: new Uint8Array(minimal(x)).buffer })) }).toBER(false));
const fromDer = (d: Buffer) => {
  const s = asn1js.fromBER(new Uint8Array(d)).result as asn1js.Sequence;
  return Buffer.concat(s.valueBlock.value.map(i => { const b = Buffer.from((i as asn1js.Integer).valueBlock.valueHexView); const t = b.subarray(Math.max(0, b.length - 20)); return Buffer.concat([Buffer.alloc(20 - t.length), t]); }));
};

describe('DSS over a digest (RFC 2409 dsa-signatures)', () => {
  const key = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }).privateKey;
  const dir = mkdtempSync(join(tmpdir(), 'dss-'));
  writeFileSync(join(dir, 'key.pem'), key.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'pub.pem'), createPublicKey(key).export({ type: 'spki', format: 'pem' }));
  it('our signatures verify with OpenSSL, OpenSSL\'s with ours, and a changed digest or signature does not', () => {
    try {
      for (let i = 0; i < 5; i++) {
        const h = createHash('sha1').update(`HASH_I ${i}`).digest();
        writeFileSync(join(dir, 'h'), h);
        const ours = dssSign(h, key);
        expect(ours).toHaveLength(40);
        writeFileSync(join(dir, 'sig'), toDer(ours));
        expect(execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'pub.pem'), '-in', join(dir, 'h'), '-sigfile', join(dir, 'sig')]).toString()).toMatch(/Signature Verified Successfully/);
        execFileSync('openssl', ['pkeyutl', '-sign', '-inkey', join(dir, 'key.pem'), '-in', join(dir, 'h'), '-out', join(dir, 'theirs')]);
        const theirs = fromDer(readFileSync(join(dir, 'theirs')));
        expect(dssVerify(h, theirs, createPublicKey(key))).toBe(true);
        const h2 = Buffer.from(h); h2[0]! ^= 1;
        expect(dssVerify(h2, ours, createPublicKey(key))).toBe(false);
        const bad = Buffer.from(ours); bad[39]! ^= 1;
        expect(dssVerify(h, bad, createPublicKey(key))).toBe(false);
        expect(dssVerify(h, ours.subarray(1), createPublicKey(key))).toBe(false);
      }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
