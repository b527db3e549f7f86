/**
 * SCEP messages: what we build is read back by OpenSSL (the PKCS#10 request, certificates, the CMS
 * envelope and signature), and what a CA sends (CertRep) is parsed without trust: forged, truncated,
 * mutated and random answers are refused with a ScepMsgError, never a crash.
 */
import { describe, it, expect } from 'vitest';
import { generateKeyPairSync, X509Certificate, randomBytes, createPrivateKey } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as asn1js from 'asn1js';
import { buildCsr, buildCertificate, envelope, openEnvelope, pkiMessage, readCertRep, parseDn, transactionIdOf, MSG, OID, ScepMsgError } from './scep-msg.js';
import { pemOf } from './certs.js';

const key = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
const caKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
const ca = new X509Certificate(buildCertificate({ subject: 'c=us,o=test,cn=test-ca', key: caKey, signer: caKey, ca: true }));
const self = new X509Certificate(buildCertificate({ subject: 'c=us,o=test,cn=gw-a', key, signer: key }));

function openssl(args: string[], files: Record<string, Buffer | string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'scep-'));
  try {
    for (const [n, d] of Object.entries(files)) writeFileSync(join(dir, n), d);
    return execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

describe('what we build, read by OpenSSL', () => {
  it('a PKCS#10 request: signature, subject (one RDN each), subjectAltName, challenge password', () => {
    const csr = buildCsr(key, 'c=us,o=vrouter lab,ou=ipsec,cn=gw-a', { ip: '10.5.5.5', dns: 'gw-a.example' }, 'secret-word');
    const out = openssl(['req', '-inform', 'der', '-in', 'csr', '-noout', '-verify', '-text'], { csr });
    expect(out).toMatch(/Subject: C = US, O = vrouter lab, OU = ipsec, CN = gw-a\n/);
    expect(out).toMatch(/DNS:gw-a\.example, IP Address:10\.5\.5\.5/);
    expect(out).toMatch(/challengePassword\s*:\s*secret-word/);
  });
  it('certificates: self-signed and issued by a CA (basic constraints, validity), verified by openssl verify', () => {
    const ee = new X509Certificate(buildCertificate({ subject: 'c=us,o=test,cn=gw-b', key, signer: caKey, issuer: ca, san: { ip: '10.6.6.6' } }));
    expect(openssl(['verify', '-CAfile', 'ca.pem', 'ee.pem'], { 'ca.pem': pemOf(ca.raw), 'ee.pem': pemOf(ee.raw) })).toMatch(/ee\.pem: OK/);
    expect(openssl(['x509', '-in', 'ca.pem', '-noout', '-text'], { 'ca.pem': pemOf(ca.raw) })).toMatch(/CA:TRUE/);
    expect(self.verify(self.publicKey)).toBe(true);
  });
  it('the envelope opens with OpenSSL (cms -decrypt) with the recipient\'s key, AES-128 and 3DES', () => {
    const keyPem = caKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    for (const cipher of ['aes-128-cbc', 'des-ede3-cbc'] as const) {
      const env = envelope(Buffer.from('the request'), ca, cipher);
      // OpenSSL 3 may refuse PKCS#1 v1.5 decryption for the same reason Node does: implicit rejection
      // gives random bytes then, so the check is that our own opener and OpenSSL's agree
      const out = openssl(['cms', '-decrypt', '-inform', 'der', '-in', 'env', '-inkey', 'key.pem', '-recip', 'ca.pem'], { env, 'key.pem': keyPem, 'ca.pem': pemOf(ca.raw) });
      expect(out).toBe('the request');
      expect(openEnvelope(env, caKey).toString()).toBe('the request');
    }
  });
  it('the pkiMessage: a CMS SignedData OpenSSL verifies, with the SCEP attributes', () => {
    const msg = pkiMessage({ type: MSG.PKCSReq, transactionId: transactionIdOf(key), senderNonce: randomBytes(16), content: envelope(Buffer.from('x'), ca, 'aes-128-cbc'), signer: key, signerCert: self });
    // the signature (over the DER-sorted signed attributes) and the digest of the content: OpenSSL agrees
    const content = openssl(['cms', '-verify', '-inform', 'der', '-in', 'msg', '-noverify', '-binary'], { msg });
    expect(content.length).toBeGreaterThan(0);
    const out = openssl(['cms', '-cmsout', '-print', '-inform', 'der', '-in', 'msg'], { msg });
    expect(out).toMatch(/object: undefined \(2\.16\.840\.1\.113733\.1\.9\.2\)\s+set:\s+PRINTABLESTRING:19\n/);
    expect(out).toMatch(/object: undefined \(2\.16\.840\.1\.113733\.1\.9\.7\)\s+set:\s+PRINTABLESTRING:[0-9A-F]{64}\n/);
  });
  it('DNs: attributes, escapes, and errors a user can act on', () => {
    expect(parseDn('c=uk,o=london')).toEqual([{ key: 'c', value: 'uk' }, { key: 'o', value: 'london' }]);
    expect(parseDn('o=a\\,b')).toEqual([{ key: 'o', value: 'a,b' }]);
    expect(() => parseDn('c=usa')).toThrow(/a country is two letters/);
    expect(() => parseDn('x=1')).toThrow(/unknown attribute x/);
    expect(() => parseDn('novalue')).toThrow(/is not attribute=value/);
    expect(() => parseDn('')).toThrow(/empty/);
  });
});

/** A CertRep as a CA makes one (status SUCCESS, the certificate inside an envelope for us). */
function certRep(o: { status?: string; nonce: Buffer; tid: string; signer?: typeof caKey; signerCert?: X509Certificate; issued?: X509Certificate }): Buffer {
  const issued = o.issued ?? new X509Certificate(buildCertificate({ subject: 'c=us,o=test,cn=gw-a', key, signer: caKey, issuer: ca }));
  // degenerate SignedData with the certificate, in an envelope to our self-signed certificate
  const sd = new asn1js.Sequence({ value: [
    new asn1js.Integer({ value: 1 }), new asn1js.Set({ value: [] }), new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
    new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [asn1js.fromBER(new Uint8Array(issued.raw)).result] }), new asn1js.Set({ value: [] }),
  ] });
  const degenerate = Buffer.from(new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.signedData }), new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [sd] })] }).toBER(false));
  const content = o.status === '2' || o.status === '3' ? Buffer.alloc(0) : envelope(degenerate, self, 'des-ede3-cbc');
  return pkiMessageWith({ content, nonce: o.nonce, tid: o.tid, status: o.status ?? '0', signer: o.signer ?? caKey, signerCert: o.signerCert ?? ca });
}
/** our pkiMessage builder with the CertRep attributes instead: messageType 3, pkiStatus, recipientNonce */
function pkiMessageWith(o: { content: Buffer; nonce: Buffer; tid: string; status: string; signer: typeof caKey; signerCert: X509Certificate }): Buffer {
  const m = pkiMessage({ type: MSG.CertRep, transactionId: o.tid, senderNonce: o.nonce, content: o.content, signer: o.signer, signerCert: o.signerCert, extra: [[OID.pkiStatus, o.status], [OID.recipientNonce, o.nonce], ...(o.status === '2' ? [[OID.failInfo, '2'] as [string, string]] : [])] });
  return m;
}

describe('the CA\'s answer (CertRep), parsed without trust', () => {
  const nonce = randomBytes(16), tid = transactionIdOf(key);
  const read = (b: Buffer) => readCertRep(b, { signers: [ca], key, senderNonce: nonce, transactionId: tid });
  it('SUCCESS: the certificate out of the envelope; FAILURE with its reason; PENDING', () => {
    const ok = read(certRep({ nonce, tid }));
    expect(ok.status).toBe('SUCCESS');
    expect(ok.certs[0]!.subject).toBe('C=US\nO=test\nCN=gw-a');
    expect(read(certRep({ nonce, tid, status: '2' }))).toMatchObject({ status: 'FAILURE', failInfo: 'badRequest' });
    expect(read(certRep({ nonce, tid, status: '3' }))).toMatchObject({ status: 'PENDING' });
  });
  it('refused: signed by another key, for another nonce or transaction, not SCEP at all', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const otherCa = new X509Certificate(buildCertificate({ subject: 'c=us,o=test,cn=test-ca', key: other, signer: other, ca: true }));
    expect(() => read(certRep({ nonce, tid, signer: other, signerCert: otherCa }))).toThrow(/not signed by the CA/);
    expect(() => read(certRep({ nonce: randomBytes(16), tid }))).toThrow(/another request/);
    expect(() => read(certRep({ nonce, tid: 'ABC' }))).toThrow(/another transaction/);
    expect(() => read(Buffer.from('<html>hello</html>'))).toThrow(ScepMsgError);
  });
  it('refused: a CertRep without recipientNonce (RFC 8894: mandatory)', () => {
    const m = pkiMessage({ type: MSG.CertRep, transactionId: tid, senderNonce: nonce, content: Buffer.alloc(0), signer: caKey, signerCert: ca, extra: [[OID.pkiStatus, '3']] });
    expect(() => read(m)).toThrow(/no recipientNonce/);
    const ok = pkiMessage({ type: MSG.CertRep, transactionId: tid, senderNonce: nonce, content: Buffer.alloc(0), signer: caKey, signerCert: ca, extra: [[OID.pkiStatus, '3'], [OID.recipientNonce, nonce]] });
    expect(read(ok).status).toBe('PENDING');
  });
  it('fuzz: 1,500 truncated, mutated and random answers are refused with a ScepMsgError, never anything else', () => {
    const good = certRep({ nonce, tid });
    let seed = 7;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    let accepted = 0;
    for (let i = 0; i < 1500; i++) {
      let b: Buffer;
      const k = i % 3;
      if (k === 0) b = good.subarray(0, rnd(good.length));
      else if (k === 1) { b = Buffer.from(good); for (let j = 0, n = 1 + rnd(8); j < n; j++) b[rnd(b.length)] = rnd(256); }
      else b = randomBytes(rnd(600));
      try { read(b); accepted++; } catch (e) { expect(e, `input ${i}`).toBeInstanceOf(ScepMsgError); }
    }
    // a mutation in an unsigned part (the certificates' order, padding) may still read: never a forged status
    expect(accepted).toBeLessThan(150);
  });
  it('the envelope opener refuses a key that is not ours', () => {
    const env = envelope(Buffer.from('x'), self, 'aes-128-cbc');
    expect(() => openEnvelope(env, createPrivateKey(caKey.export({ type: 'pkcs8', format: 'pem' })))).toThrow(ScepMsgError);
  });
});
