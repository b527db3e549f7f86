/**
 * The LDAP CRL fetch against a real slapd on loopback (as topologies/lab-ca.sh runs it for the lab):
 * a CRL within the bound is fetched; one larger than LDAP_LIMITS.bytes (a real CRL made by openssl ca,
 * 100 000 revoked serials, about 2 MB) is cut while it arrives, not after: the client stops reading
 * just past the bound, and the CA's certificates are then refused (revocation fails closed).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { fetchCrl, LDAP_LIMITS } from './ldap.js';
import { PkiStore } from './store.js';
import { validatePath } from './validate.js';
import { RouterFiles, IKECERT } from '../router/files.js';
import { loadText } from '../config/load.js';
import { compile } from '../config/compile.js';

const SLAPD = '/usr/sbin/slapd';
const haveSlapd = existsSync(SLAPD) && existsSync('/usr/lib/ldap/back_mdb.so') && process.getuid?.() === 0;

const d = mkdtempSync(join(tmpdir(), 'ldap-crl-'));
let slapd: ChildProcess | undefined;
let port = 0;
const files = new RouterFiles();
afterAll(async () => {
  if (slapd && slapd.exitCode === null) { const gone = new Promise(r => slapd!.once('exit', r)); slapd.kill('SIGTERM'); await gone; }
  rmSync(d, { recursive: true, force: true });
  files.close();
});
const ssl = (...a: string[]) => execFileSync('openssl', a, { cwd: d, stdio: ['ignore', 'pipe', 'pipe'] });
const freePort = () => new Promise<number>((res, rej) => { const s = createServer(); s.once('error', rej); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); }); });
const accepts = (p: number) => new Promise<boolean>(res => { const c = connect(p, '127.0.0.1'); c.once('connect', () => { c.destroy(); res(true); }); c.once('error', () => res(false)); });

describe.skipIf(!haveSlapd)('CRLs over LDAP from a real slapd: the size bound holds while the bytes arrive', () => {
  beforeAll(async () => {
    // a CA, a peer certificate it issued, and two CRLs of it: one empty, one with 100 000 revoked serials
    writeFileSync(join(d, 'ca.cnf'), `[ca]\ndefault_ca=c\n[c]\ndatabase=${d}/index.txt\ncrlnumber=${d}/crlnumber\ndefault_md=sha256\ndefault_crl_days=1\n[v3ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n[ee]\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n`);
    writeFileSync(join(d, 'crlnumber'), '01\n');
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/C=US/O=vrouter-lab/OU=LDAP CA', '-days', '30', '-extensions', 'v3ca', '-config', 'ca.cnf');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'peer.key', '-out', 'peer.csr', '-subj', '/C=US/O=vrouter-lab/CN=peer');
    ssl('x509', '-req', '-in', 'peer.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '7', '-out', 'peer.pem', '-days', '20', '-extfile', 'ca.cnf', '-extensions', 'ee');
    writeFileSync(join(d, 'index.txt'), '');
    ssl('ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-out', 'small.crl');
    let idx = '';
    for (let i = 0; i < 100_000; i++) idx += `R\t301231000000Z\t250101000000Z\t${(i + 4096).toString(16).toUpperCase().padStart(6, '0')}\tunknown\t/CN=x\n`;
    writeFileSync(join(d, 'index.txt'), idx);
    ssl('ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-out', 'big.crl');
    for (const n of ['small', 'big']) ssl('crl', '-in', `${n}.crl`, '-outform', 'der', '-out', `${n}.der`);
    // slapd: one mdb database under c=US, the small CRL at the CA's own DN, the big one at ou=Big
    writeFileSync(join(d, 'slapd.conf'), `include /etc/ldap/schema/core.schema\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile ${d}/slapd.pid\ndatabase mdb\nsuffix "c=US"\nrootdn "cn=admin,c=US"\nrootpw x\ndirectory ${d}/db\naccess to * by * read\n`);
    execFileSync('mkdir', ['-p', join(d, 'db')]);
    writeFileSync(join(d, 'base.ldif'), [
      'dn: c=US\nobjectClass: country\nc: US\n',
      'dn: o=vrouter-lab,c=US\nobjectClass: organization\no: vrouter-lab\n',
      `dn: ou=LDAP CA,o=vrouter-lab,c=US\nobjectClass: organizationalUnit\nobjectClass: pkiCA\nou: LDAP CA\ncertificateRevocationList;binary:< file://${d}/small.der\n`,
      `dn: ou=Big,o=vrouter-lab,c=US\nobjectClass: organizationalUnit\nobjectClass: pkiCA\nou: Big\ncertificateRevocationList;binary:< file://${d}/big.der\n`,
    ].join('\n'));
    execFileSync('slapadd', ['-f', join(d, 'slapd.conf'), '-l', join(d, 'base.ldif')], { stdio: ['ignore', 'pipe', 'pipe'] });
    port = await freePort();
    // in the foreground (-d stats,conns), so that the test owns the process and ends it by its id; it
    // says "added Nr listener=0x..." once its listening socket is in its event loop
    slapd = spawn(SLAPD, ['-d', '264', '-f', join(d, 'slapd.conf'), '-h', `ldap://127.0.0.1:${port}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    await new Promise<void>((res, rej) => {
      slapd!.stderr!.on('data', (b: Buffer) => { if (err.length < 65536) err += b.toString(); if (/added \d+r listener=0x/.test(err)) res(); });
      slapd!.once('exit', c => rej(new Error(`slapd exited (${c}): ${err}`)));
    });
    expect(await accepts(port), err).toBe(true);
  }, 60_000);

  const url = (dn?: string) => `ldap://127.0.0.1:${port}${dn ? `/${encodeURIComponent(dn)}` : ''}`;

  it('a CRL within the bound is fetched whole', async () => {
    const got = await fetchCrl(url(), 'ou=LDAP CA,o=vrouter-lab,c=US');
    expect(got.der.equals(readFileSync(join(d, 'small.der')))).toBe(true);
    expect(got.received).toBeGreaterThan(got.der.length);
  });

  it('a CRL larger than the bound: the fetch is cut just past the bound, long before the CRL has arrived', async () => {
    const size = statSync(join(d, 'big.der')).size;
    expect(size).toBeGreaterThan(2 * LDAP_LIMITS.bytes);
    const err = await fetchCrl(url('ou=Big,o=vrouter-lab,c=US'), 'unused').then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/larger than 1048576 bytes: fetch aborted after (\d+) bytes/);
    const received = Number(/after (\d+) bytes/.exec(err!.message)![1]);
    expect(received).toBeGreaterThan(LDAP_LIMITS.bytes);
    // one socket read past the bound at most (a read is at most 64 KiB here), never the whole CRL
    expect(received).toBeLessThanOrEqual(LDAP_LIMITS.bytes + 256 * 1024);
    expect(received).toBeLessThan(size);
  });

  it('the router\'s store: the oversized CRL is refused and the CA\'s certificates with it (fails closed)', async () => {
    files.write(`${IKECERT}/ca.crt`, readFileSync(join(d, 'ca.pem')));
    const model = (ldap: string) => compile(loadText(`security { certificates { certification-authority lab { file ca.crt; encoding pem; ldap-url "${ldap}"; } } }`));
    const logs: string[] = [];
    let m = model(url());
    const store = new PkiStore(files, () => m, s => logs.push(s));
    const peer = new X509Certificate(readFileSync(join(d, 'peer.pem')));
    // the small CRL: the peer's certificate is accepted
    await store.refreshLdap(true);
    expect(logs.join('\n')).toMatch(/KMD_CERT_CRL_LOADED: CRL of lab/);
    expect(validatePath([peer], store.anchors(), new Date(), 15).ok).toBe(true);
    // the big one: refused, with the reason, and the peer's certificate with it
    m = model(url('ou=Big,o=vrouter-lab,c=US'));
    await store.refreshLdap(true);
    expect(logs.at(-1)).toMatch(/KMD_CERT_CRL_FAILED: CRL of lab .* larger than 1048576 bytes: fetch aborted after \d+ bytes; certificates of this CA are refused/);
    const v = validatePath([peer], store.anchors(), new Date(), 15);
    expect(v.ok).toBe(false);
    expect(!v.ok && v.kind).toBe('crl');
  });
});
