/**
 * RFC 5280's CA constraints in the path check (issue 21 minor: pathLenConstraint and keyUsage were
 * ignored), with certificates made here by openssl: basicConstraints cA on every CA of the path,
 * pathLenConstraint (the anchor's included), keyCertSign on CA certificates, cRLSign on a CRL's
 * issuer, digitalSignature on the peer's certificate whose key signs IKE.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { validatePath, parseCrl, constraintsOf, Anchor } from './validate.js';

const d = mkdtempSync(join(tmpdir(), 'pkicons-'));
afterAll(() => rmSync(d, { recursive: true, force: true }));
const ssl = (...a: string[]) => execFileSync('openssl', a, { cwd: d, stdio: ['ignore', 'pipe', 'pipe'] });
writeFileSync(join(d, 'index.txt'), '');
writeFileSync(join(d, 'crlnumber'), '01\n');
writeFileSync(join(d, 'x.cnf'), [
  `[ca]\ndefault_ca=c\n[c]\ndatabase=${d}/index.txt\ncrlnumber=${d}/crlnumber\ndefault_md=sha256\ndefault_crl_days=1`,
  '[ca_any]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign',
  '[ca_len0]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign',
  '[ca_len1]\nbasicConstraints=critical,CA:TRUE,pathlen:1\nkeyUsage=critical,keyCertSign,cRLSign',
  '[ca_nocertsign]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,cRLSign',
  '[ca_nocrlsign]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign',
  '[ca_false]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyCertSign',
  '[none]\nsubjectKeyIdentifier=hash',
  '[ee_sig]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature',
  '[ee_enc]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,keyEncipherment',
  '[ee_nr]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,nonRepudiation',
  '[ee_noku]\nbasicConstraints=CA:FALSE',
].join('\n') + '\n');
let serial = 100;
/** a root (self-signed) with the extensions of `ext` */
const root = (name: string, ext: string) => ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/O=lab/CN=${name}`, '-days', '30', '-set_serial', String(serial++), '-extensions', ext, '-config', 'x.cnf');
/** a certificate `name` issued by `signer` with the extensions of `ext` */
const issue = (name: string, signer: string, ext: string) => {
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=lab/CN=${name}`);
  ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`, '-set_serial', String(serial++), '-out', `${name}.pem`, '-days', '20', '-extfile', 'x.cnf', '-extensions', ext);
};
const cert = (n: string) => new X509Certificate(readFileSync(join(d, `${n}.pem`)));
const anchor = (n: string, crls: Anchor['crls'] = []): Anchor => ({ profile: n, cert: cert(n), crls });
const check = (chain: string[], a: string, crls: Anchor['crls'] = []) => validatePath(chain.map(cert), [anchor(a, crls)], new Date(), 15);

root('rootAny', 'ca_any');
root('root0', 'ca_len0');
root('root1', 'ca_len1');
issue('int', 'rootAny', 'ca_any');
issue('int0', 'rootAny', 'ca_len0');
issue('int0b', 'int0', 'ca_any');
issue('intNoSign', 'rootAny', 'ca_nocertsign');
issue('intBare', 'rootAny', 'none');
issue('i0', 'root0', 'ca_any');
issue('i1', 'root1', 'ca_any');
issue('i1b', 'i1', 'ca_any');
for (const [ee, signer, ext] of [['eeSig', 'rootAny', 'ee_sig'], ['eeEnc', 'rootAny', 'ee_enc'], ['eeNr', 'rootAny', 'ee_nr'], ['eeNoKu', 'rootAny', 'ee_noku'],
  ['eeInt', 'int', 'ee_sig'], ['eeInt0', 'int0', 'ee_sig'], ['eeInt0b', 'int0b', 'ee_sig'], ['eeNoSign', 'intNoSign', 'ee_sig'], ['eeBare', 'intBare', 'ee_sig'],
  ['eeR0', 'root0', 'ee_sig'], ['eeI0', 'i0', 'ee_sig'], ['eeI1', 'i1', 'ee_sig'], ['eeI1b', 'i1b', 'ee_sig']] as const) issue(ee, signer, ext);

describe('the CA constraints of RFC 5280 6.1.4 in the path check', () => {
  it('reads basicConstraints and keyUsage as openssl wrote them', () => {
    expect(constraintsOf(cert('root0')).basic).toEqual({ ca: true, pathLen: 0 });
    expect(constraintsOf(cert('rootAny')).basic).toEqual({ ca: true });
    expect([...constraintsOf(cert('rootAny')).keyUsage!].sort()).toEqual(['cRLSign', 'keyCertSign']);
    expect([...constraintsOf(cert('eeEnc')).keyUsage!]).toEqual(['keyEncipherment']);
    expect(constraintsOf(cert('eeNoKu')).keyUsage).toBeUndefined();
  });

  it('the peer\'s certificate must be allowed to sign: digitalSignature (or nonRepudiation), or no keyUsage at all', () => {
    expect(check(['eeSig'], 'rootAny').ok).toBe(true);
    expect(check(['eeNr'], 'rootAny').ok).toBe(true);
    expect(check(['eeNoKu'], 'rootAny').ok).toBe(true);
    const v = check(['eeEnc'], 'rootAny');
    expect(!v.ok && v.kind).toBe('key-usage');
    expect(!v.ok && v.why).toMatch(/the peer's certificate may not sign \(its keyUsage is keyEncipherment/);
  });

  it('pathLenConstraint of an intermediate: 0 allows the peer under it, not another CA', () => {
    expect(check(['eeInt', 'int'], 'rootAny').ok).toBe(true);
    expect(check(['eeInt0', 'int0'], 'rootAny').ok).toBe(true);
    const v = check(['eeInt0b', 'int0b', 'int0'], 'rootAny');
    expect(!v.ok && v.kind).toBe('path-length');
    expect(!v.ok && v.why).toMatch(/CN=int0 allows 0 CA certificates below it \(pathLenConstraint\); the path has 1/);
  });

  it('pathLenConstraint of the anchor counts as well (as strongSwan checks it)', () => {
    expect(check(['eeR0'], 'root0').ok).toBe(true);
    const v = check(['eeI0', 'i0'], 'root0');
    expect(!v.ok && v.kind).toBe('path-length');
    expect(!v.ok && v.why).toMatch(/the CA certificate of root0 .* allows 0 CA certificates below it/);
    expect(check(['eeI1', 'i1'], 'root1').ok).toBe(true);
    const w = check(['eeI1b', 'i1b', 'i1'], 'root1');
    expect(!w.ok && w.kind).toBe('path-length');
  });

  it('a CA certificate without keyCertSign, or without basicConstraints cA, signs nothing we accept', () => {
    const v = check(['eeNoSign', 'intNoSign'], 'rootAny');
    expect(!v.ok && v.kind).toBe('key-usage');
    expect(!v.ok && v.why).toMatch(/CN=intNoSign signs certificates but its keyUsage has no keyCertSign/);
    const w = check(['eeBare', 'intBare'], 'rootAny');
    expect(!w.ok && w.kind).toBe('not-a-ca');
  });

  it('an anchor with basicConstraints cA FALSE is no CA', () => {
    root('rootFalse', 'ca_false');
    issue('eeF', 'rootFalse', 'ee_sig');
    const v = check(['eeF'], 'rootFalse');
    expect(!v.ok && v.kind).toBe('not-a-ca');
  });

  it('a CRL signed by a CA without cRLSign is refused (and with it the certificates it would check)', () => {
    root('rootNoCrl', 'ca_nocrlsign');
    ssl('ca', '-config', 'x.cnf', '-gencrl', '-keyfile', 'rootNoCrl.key', '-cert', 'rootNoCrl.pem', '-out', 'nocrl.crl');
    expect(() => parseCrl(readFileSync(join(d, 'nocrl.crl')), cert('rootNoCrl'), 'nocrl.crl')).toThrow(/may not sign CRLs \(its keyUsage has no cRLSign: keyCertSign\)/);
    // the same CA's CRL with cRLSign is used
    ssl('ca', '-config', 'x.cnf', '-gencrl', '-keyfile', 'rootAny.key', '-cert', 'rootAny.pem', '-out', 'any.crl');
    const crl = parseCrl(readFileSync(join(d, 'any.crl')), cert('rootAny'), 'any.crl');
    expect(check(['eeSig'], 'rootAny', [crl]).ok).toBe(true);
  });
});
