/** Revocation fails closed (issue 21 item 10), with CRLs made by openssl ca: out of date, older, missing for an intermediate, revoked. */
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { parseCrl, validatePath, newestCrl, Anchor } from './validate.js';

const d = mkdtempSync(join(tmpdir(), 'crl-'));
afterAll(() => rmSync(d, { recursive: true, force: true }));
const ssl = (...a: string[]) => execFileSync('openssl', a, { cwd: d, stdio: ['ignore', 'pipe', 'pipe'] });
writeFileSync(join(d, 'index.txt'), '');
writeFileSync(join(d, 'crlnumber'), '01\n');
writeFileSync(join(d, 'ca.cnf'), `[ca]\ndefault_ca=c\n[c]\ndatabase=${d}/index.txt\ncrlnumber=${d}/crlnumber\ndefault_md=sha256\ndefault_crl_days=1\n[v3ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n[ee]\nbasicConstraints=CA:FALSE\n`);
ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Root CA', '-days', '30', '-extensions', 'v3ca', '-config', 'ca.cnf');
const issue = (name: string, signer: string, ext: string) => {
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '20', '-extfile', 'ca.cnf', '-extensions', ext);
};
issue('peer', 'ca', 'ee');
issue('int', 'ca', 'v3ca');
issue('peer2', 'int', 'ee');
const cert = (n: string) => new X509Certificate(readFileSync(join(d, `${n}.pem`)));
const stamp = (t: Date) => t.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
/** a CRL issued `ago` seconds back */
const crl = (name: string, revoke?: string, ago = 0) => {
  if (revoke) ssl('ca', '-config', 'ca.cnf', '-revoke', `${revoke}.pem`, '-keyfile', 'ca.key', '-cert', 'ca.pem');
  ssl('ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-out', `${name}.crl`, '-crl_lastupdate', stamp(new Date(Date.now() - ago * 1000)));
  return parseCrl(readFileSync(join(d, `${name}.crl`)), cert('ca'), name);
};
const anchor = (crls: Anchor['crls'], crlError?: string): Anchor => ({ profile: 'root', cert: cert('ca'), crls, ...(crlError ? { crlError } : {}) });
const now = new Date();

describe('revocation fails closed', () => {
  const clean = crl('clean', undefined, 3600);
  it('a current CRL without the serial: accepted; past its nextUpdate: refused', () => {
    expect(validatePath([cert('peer')], [anchor([clean])], now, 15).ok).toBe(true);
    const later = new Date(clean.nextUpdate!.getTime() + 60_000);
    const v = validatePath([cert('peer')], [anchor([clean])], later, 15);
    expect(v.ok).toBe(false);
    expect(!v.ok && v.kind).toBe('crl');
    expect(!v.ok && v.why).toMatch(/out of date/);
  });
  it('an older CRL never stands for a newer one: the revocation holds', () => {
    const revoked = crl('revoked', 'peer');
    expect(newestCrl([revoked, clean])).toBe(revoked);
    const v = validatePath([cert('peer')], [anchor([revoked, clean])], new Date(), 15);
    expect(!v.ok && v.kind).toBe('revoked');
    const w = validatePath([cert('peer')], [anchor([clean, revoked])], new Date(), 15);
    expect(!w.ok && w.kind).toBe('revoked');
  });
  it('a CRL that could not be had (an LDAP fetch that failed) refuses the certificate', () => {
    const v = validatePath([cert('peer')], [anchor([], 'ldap://10.0.0.9/: connection refused')], now, 15);
    expect(!v.ok && v.kind).toBe('crl');
  });
  it('every CA in the path: a certificate under an intermediate without a CRL of the intermediate is refused', () => {
    const v = validatePath([cert('peer2'), cert('int')], [anchor([clean])], new Date(), 15);
    expect(v.ok).toBe(false);
    expect(!v.ok && v.why).toMatch(/no CRL of CN=int/);
    // without revocation configured, the path is accepted
    expect(validatePath([cert('peer2'), cert('int')], [anchor([])], new Date(), 15).ok).toBe(true);
  });
});
