/**
 * IKE with digital certificates, in memory: a CA made here (its certificates built with the project's
 * PKI code and checked by OpenSSL in test/pki), two gateways with rsa-signatures or dsa-signatures in
 * main and aggressive mode, and every way a certificate is refused: revoked (CRL file), expired, from
 * another CA, a DN against the policy's identity, a path longer than path-length.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { X509Certificate, generateKeyPairSync, KeyObject, createSign } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { MemLab, gateways } from '../../src/lab/memlab.js';
import { Interpreter } from '../../src/cli/interp.js';
import { transcript } from '../../src/cli/transcript.js';
import { buildCertificate, dnToName } from '../../src/pki/scep-msg.js';
import { pemOf, loadKeyPair } from '../../src/pki/certs.js';
import type { Router } from '../../src/router/router.js';

const TOPO = join(import.meta.dirname, '../../topologies');
const CONF = { a: readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8'), b: readFileSync(join(TOPO, 'gw-b-ike.conf'), 'utf8') };
let lab: MemLab | undefined;
afterEach(async () => { await lab?.close(); lab = undefined; });

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
interface Ca { key: KeyObject; cert: X509Certificate }
function makeCa(name: string, o: { notAfter?: Date } = {}): Ca {
  const key = rsa();
  return { key, cert: new X509Certificate(buildCertificate({ subject: `c=us,o=vrouter-lab,cn=${name}`, key, signer: key, ca: true, ...o })) };
}
function issue(ca: Ca, subject: string, key: KeyObject, o: { ip?: string; notAfter?: Date; notBefore?: Date; ca?: boolean } = {}): X509Certificate {
  return new X509Certificate(buildCertificate({ subject, key, signer: ca.key, issuer: ca.cert, san: o.ip ? { ip: o.ip } : undefined, ...(o.notAfter ? { notAfter: o.notAfter } : {}), ...(o.notBefore ? { notBefore: o.notBefore } : {}), ...(o.ca ? { ca: true } : {}) }));
}
/** A CRL by `ca` revoking these serials (hex), DER. */
function crl(ca: Ca, serials: string[]): Buffer {
  const c = new pkijs.CertificateRevocationList();
  c.version = 1;
  c.issuer = new pkijs.Certificate({ schema: asn1js.fromBER(new Uint8Array(ca.cert.raw)).result }).subject;
  c.thisUpdate = new pkijs.Time({ type: 0, value: new Date(Date.now() - 60_000) });
  c.nextUpdate = new pkijs.Time({ type: 0, value: new Date(Date.now() + 86_400_000) });
  c.revokedCertificates = serials.map(s => new pkijs.RevokedCertificate({ userCertificate: new asn1js.Integer({ valueHex: new Uint8Array(Buffer.from(s.length % 2 ? `0${s}` : s, 'hex')).buffer }), revocationDate: new pkijs.Time({ type: 0, value: new Date(Date.now() - 30_000) }) }));
  c.signature = new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.11', algorithmParams: new asn1js.Null() });
  c.tbsView = new Uint8Array((c as unknown as { encodeTBS(): asn1js.Sequence }).encodeTBS().toBER(false));
  c.signatureAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.11', algorithmParams: new asn1js.Null() });
  c.signatureValue = new asn1js.BitString({ valueHex: new Uint8Array(createSign('sha256').update(Buffer.from(c.tbsView)).sign(ca.key)).buffer });
  return Buffer.from(c.toSchema(false).toBER(false));
}

/** The IKE lab's configurations with certificates instead of the pre-shared key. */
/** `pem`: the policy's and the CA profile's files are PEM (`encoding pem`); else DER, the chapter's default */
function certConf(c: string, side: 'a' | 'b', o: { method?: string; mode?: string; identity?: string; crl?: boolean; pathLength?: number; pem?: boolean } = {}): string {
  const policy = `local-certificate ${side === 'a' ? 'gw-a.crt' : 'gw-b.crt'};\n            local-key-pair ${side === 'a' ? 'gw-a.key' : 'gw-b.key'};${o.identity ? `\n            identity "${o.identity}";` : ''}${o.pem ? '\n            encoding pem;' : ''}`;
  return c
    .replace('authentication-method pre-shared-keys;', `authentication-method ${o.method ?? 'rsa-signatures'};`)
    .replace(/pre-shared-key ascii-text "[^"]+";/, policy)
    .replace('mode main;', `mode ${o.mode ?? 'main'};`)
    .replace(/^security \{/m, `security {\n    certificates {\n        ${o.pathLength ? `path-length ${o.pathLength};\n        ` : ''}certification-authority lab-ca {\n            ca-name lab-ca;\n            file lab-ca.crt;${o.pem ? '\n            encoding pem;' : ''}${o.crl ? '\n            crl lab-ca.crl;' : ''}\n        }\n    }`);
}

interface Side { key: KeyObject; cert: X509Certificate; chain?: X509Certificate[] }
function install(r: Router, ca: Ca, me: Side, pem = false): void {
  r.files.write('/var/etc/ikecert/lab-ca.crt', pem ? pemOf(ca.cert.raw) : ca.cert.raw);
  r.files.write('/var/etc/ikecert/' + (r.opts.name === 'gw-a' ? 'gw-a.key' : 'gw-b.key'), me.key.export({ type: 'pkcs8', format: 'pem' }) as string, { secret: true });
  // a chain needs PEM (a DER file holds one certificate)
  r.files.write('/var/etc/ikecert/' + (r.opts.name === 'gw-a' ? 'gw-a.crt' : 'gw-b.crt'), pem ? [me.cert, ...(me.chain ?? [])].map(c => pemOf(c.raw)).join('') : me.cert.raw);
}
const kmdLog = (r: Router) => (r.log.read('kmd') ?? []).join('\n');

async function build(o: { a?: Parameters<typeof certConf>[2]; b?: Parameters<typeof certConf>[2] } = {}) {
  const t = await gateways(certConf(CONF.a, 'a', o.a), certConf(CONF.b, 'b', o.b), { ipsec: 'inline' });
  lab = t.lab;
  return t;
}

const CA = makeCa('lab-ca');
const A = { key: rsa() }, B = { key: rsa() };
const certA = issue(CA, 'c=us,o=vrouter-lab,cn=gw-a', A.key, { ip: '10.5.5.5' });
const certB = issue(CA, 'c=us,o=vrouter-lab,cn=gw-b', B.key, { ip: '10.6.6.6' });

describe('IKE with rsa-signatures', () => {
  it('main mode: certificates and signatures, DN identities; the tunnel carries pings; show ipsec certificates lists the peer\'s', async () => {
    const t = await build({ b: { identity: 'c=us,o=vrouter-lab,cn=gw-a', pem: true } });
    install(t.gwA, CA, { key: A.key, cert: certA }); install(t.gwB, CA, { key: B.key, cert: certB }, true);
    expect(await t.hostA.ping('10.2.2.2', { count: 3, timeoutMs: 4000 })).toHaveLength(3);
    const [a] = t.gwA.kmd.ikeSnapshot();
    expect(a).toMatchObject({ state: 'MATURED', remoteId: 'C=US, O=vrouter-lab, CN=gw-b' });
    expect(t.gwB.kmd.ikeSnapshot()[0]).toMatchObject({ state: 'MATURED', remoteId: 'C=US, O=vrouter-lab, CN=gw-a' });
    const out = await transcript(new Interpreter(t.gwA), ['show ike security-associations detail', 'show ipsec certificates brief', 'clear ipsec certificates', 'show ipsec certificates brief']);
    expect(out).toMatch(/Authentication method: RSA-signatures/);
    expect(out).toMatch(/Remote identity: C=US, O=vrouter-lab, CN=gw-b/);
    expect(out).toMatch(/10\.6\.6\.6\s+peer\s+\d+\s+C=US, O=vrouter-lab, CN=gw-b/);
    expect(out.split('clear ipsec certificates')[1]).not.toMatch(/peer/);
  });

  it('aggressive mode with certificates', async () => {
    const t = await build({ a: { mode: 'aggressive' }, b: { mode: 'aggressive' } });
    install(t.gwA, CA, { key: A.key, cert: certA }); install(t.gwB, CA, { key: B.key, cert: certB });
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 4000 })).toHaveLength(2);
    expect(t.gwA.kmd.ikeSnapshot()[0]).toMatchObject({ mode: 'aggressive', state: 'MATURED', remoteId: 'C=US, O=vrouter-lab, CN=gw-b' });
  });

  it('a chain: the peer sends its certificate and an intermediate CA\'s; path-length bounds it', async () => {
    const subKey = rsa();
    const sub = { key: subKey, cert: issue(CA, 'c=us,o=vrouter-lab,cn=sub-ca', subKey, { ca: true }) };
    const certB2 = issue(sub, 'c=us,o=vrouter-lab,cn=gw-b', B.key, { ip: '10.6.6.6' });
    let t = await build({ b: { pem: true } });
    install(t.gwA, CA, { key: A.key, cert: certA }); install(t.gwB, CA, { key: B.key, cert: certB2, chain: [sub.cert] }, true);
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 4000 })).toHaveLength(2);
    await lab!.close();
    t = await build({ a: { pathLength: 2 }, b: { pem: true } });
    install(t.gwA, CA, { key: A.key, cert: certA }); install(t.gwB, CA, { key: B.key, cert: certB2, chain: [sub.cert] }, true);
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 2000 })).toHaveLength(0);
    expect(kmdLog(t.gwA)).toMatch(/certificate refused \(path-length\): the path is longer than path-length 2/);
  });
});

describe('certificates refused, each with its reason in the kmd log and the diagnosis', () => {
  async function refused(o: { certB?: X509Certificate; keyB?: KeyObject; a?: Parameters<typeof certConf>[2]; crlFor?: string[] }, re: RegExp, kind: string) {
    const t = await build({ a: { ...o.a, crl: !!o.crlFor } });
    install(t.gwA, CA, { key: A.key, cert: certA }); install(t.gwB, CA, { key: o.keyB ?? B.key, cert: o.certB ?? certB });
    if (o.crlFor) t.gwA.files.write('/var/etc/ikecert/lab-ca.crl', crl(CA, o.crlFor));
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 2000 })).toHaveLength(0);
    expect(kmdLog(t.gwA)).toMatch(re);
    expect(t.gwA.kmd.failures.get(0x0a060606)?.kind).toBe('cert');
    // the responder hears why (a notify) and says so too
    expect(kmdLog(t.gwB)).toMatch(/KMD_PM_NOTIFY: 10\.5\.5\.5 sent INVALID-[A-Z-]+\n.*KMD_PM_P1_FAILED: .*the peer refused our certificate or signature/);
    expect(kmdLog(t.gwB)).toMatch(/KMD_PM_P1_DELETED: 10\.5\.5\.5 deleted the IKE SA/);
    const d = await transcript(new Interpreter(t.gwA), ['show ipsec diagnosis dynamic-sa1']);
    expect(d).toMatch(new RegExp(kind));
    expect(d).toMatch(re);
    return t;
  }
  it('revoked: the serial is on the CA\'s CRL (crl file)', () => refused({ crlFor: [certB.serialNumber] }, /certificate refused \(revoked\): the peer's certificate \(serial \d+\) is revoked since .* \(CRL lab-ca\.crl\)/, 'certificate'));
  it('expired', async () => {
    const old = issue(CA, 'c=us,o=vrouter-lab,cn=gw-b', B.key, { ip: '10.6.6.6', notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    const t = await refused({ certB: old }, /certificate refused \(expired\): the peer's certificate expired on/, 'certificate');
    expect(kmdLog(t.gwB)).toMatch(/KMD_CERT_LOCAL_INVALID: local-certificate gw-b\.crt expired on .*: peers will refuse it; enroll again/);
  });
  it('from another CA', () => {
    const other = makeCa('other-ca');
    return refused({ certB: issue(other, 'c=us,o=vrouter-lab,cn=gw-b', B.key) }, /certificate refused \(untrusted\): the peer's certificate is issued by C=US, O=vrouter-lab, CN=other-ca, which is none of our certification authorities \(lab-ca\)/, 'certificate');
  });
  it('a DN that does not match the policy\'s identity', () => refused({ a: { identity: 'c=us,o=vrouter-lab,cn=gw-z' } }, /certificate refused \(identity\): the peer's certificate \(C=US, O=vrouter-lab, CN=gw-b; IP Address:10\.6\.6\.6\) does not match the policy's identity c=us,o=vrouter-lab,cn=gw-z/, 'identity'));
});

describe('encoding (binary | pem): the file format of local-certificate, local-key-pair and the CA\'s file', () => {
  it('PEM files where the policy and the profile say binary (the default): refused with the reason; encoding pem reads them', async () => {
    let t = await build();
    install(t.gwA, CA, { key: A.key, cert: certA }); install(t.gwB, CA, { key: B.key, cert: certB }, true);
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 2000 })).toHaveLength(0);
    expect(kmdLog(t.gwB) + kmdLog(t.gwA)).toMatch(/local-certificate gw-b\.crt is PEM, but the encoding is binary \(DER\)|certification-authority lab-ca: file lab-ca\.crt is PEM, but the encoding is binary/);
    await lab!.close();
    t = await build({ b: { pem: true } });
    install(t.gwA, CA, { key: A.key, cert: certA }); install(t.gwB, CA, { key: B.key, cert: certB }, true);
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 4000 })).toHaveLength(2);
  });
  it('DER files where the policy says pem: refused with the reason', async () => {
    const t = await build({ a: { pem: true } });
    install(t.gwA, CA, { key: A.key, cert: certA }); install(t.gwB, CA, { key: B.key, cert: certB });
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 2000 })).toHaveLength(0);
    expect(kmdLog(t.gwA) + kmdLog(t.gwB)).toMatch(/(local-certificate gw-a\.crt|certification-authority lab-ca: file lab-ca\.crt) is not PEM, but the encoding is pem/);
  });
});

describe('IKE with dsa-signatures', () => {
  it('DSA key pairs made with request security key-pair, certificates from a CA made here (SCEP is RSA only): the tunnel comes up', async () => {
    const t = await build({ a: { method: 'dsa-signatures' }, b: { method: 'dsa-signatures' } });
    for (const [r, name] of [[t.gwA, 'gw-a'], [t.gwB, 'gw-b']] as const) {
      expect(await transcript(new Interpreter(r), [`request security key-pair ${name}.key type dsa`])).toMatch(new RegExp(`Generated key pair, key size 1024, file ${name}\\.key Algorithm DSA`));
      const key = loadKeyPair(r.files, `${name}.key`);
      r.files.write('/var/etc/ikecert/lab-ca.crt', CA.cert.raw);
      r.files.write(`/var/etc/ikecert/${name}.crt`, issue(CA, `c=us,o=vrouter-lab,cn=${name}`, key).raw);
    }
    expect(await t.hostA.ping('10.2.2.2', { count: 2, timeoutMs: 4000 })).toHaveLength(2);
    const out = await transcript(new Interpreter(t.gwA), ['show ike security-associations detail']);
    expect(out).toMatch(/Authentication method: DSA-signatures/);
  });
  it('an RSA key pair where the proposal says dsa-signatures: a clear reason', async () => {
    const t = await build({ a: { method: 'dsa-signatures' }, b: { method: 'dsa-signatures' } });
    install(t.gwA, CA, { key: A.key, cert: certA }); install(t.gwB, CA, { key: B.key, cert: certB });
    expect(await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 1500 })).toHaveLength(0);
    expect(kmdLog(t.gwB) + kmdLog(t.gwA)).toMatch(/dsa-signatures needs a DSA key pair; local-key-pair gw-[ab]\.key is RSA/);
  });
});

void dnToName;
