/**
 * The router's certificate store as the chapter's [edit security certificates] and IKE policy
 * statements shape it (issue 24): `encoding (binary | pem)` is the file format of local-certificate,
 * local-key-pair and the CA profile's file; `cache-size` bounds the peer certificate cache in bytes
 * (oldest out); `cache-timeout-negative` keeps a refused certificate refused, without a new check.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { X509Certificate, generateKeyPairSync, KeyObject } from 'node:crypto';
import { PkiStore } from './store.js';
import { pemOf } from './certs.js';
import { buildCertificate } from './scep-msg.js';
import { RouterFiles, IKECERT } from '../router/files.js';
import { loadText } from '../config/load.js';
import { compile } from '../config/compile.js';
import type { RouterModel } from '../config/model.js';

const files = new RouterFiles();
afterAll(() => files.close());
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
const caKey = rsa();
const ca = new X509Certificate(buildCertificate({ subject: 'c=us,o=vrouter-lab,cn=store-ca', key: caKey, signer: caKey, ca: true }));
const leaf = (cn: string, key: KeyObject = rsa(), signer = caKey, issuer = ca) => ({ key, cert: new X509Certificate(buildCertificate({ subject: `c=us,o=vrouter-lab,cn=${cn}`, key, signer, issuer })) });
const me = leaf('gw-a');
const model = (certs: string, policy = '') => compile(loadText(`security {
  certificates { ${certs} certification-authority lab { file lab-ca.crt; } }
  ike { policy 10.6.6.6 { local-certificate gw-a.crt; local-key-pair gw-a.key; ${policy} } }
}`));
const put = (name: string, data: Buffer | string, secret = false) => files.write(`${IKECERT}/${name}`, data, { secret });
const id = (_c: X509Certificate) => ({ type: 2, data: Buffer.from('x') });

describe('encoding (binary | pem)', () => {
  let m: RouterModel = model('');
  const store = new PkiStore(files, () => m);
  const policy = () => m.ike.policies.get('10.6.6.6')!;

  it('binary (the default): a DER certificate is read; a PEM one is refused with the reason', () => {
    put('gw-a.key', me.key.export({ type: 'pkcs8', format: 'pem' }) as string, true);
    put('gw-a.crt', me.cert.raw);
    expect(store.local(policy())).toMatchObject({ cert: { fingerprint256: me.cert.fingerprint256 } });
    put('gw-a.crt', pemOf(me.cert.raw));
    expect(store.local(policy())).toEqual({ error: 'local-certificate gw-a.crt is PEM, but the encoding is binary (DER): set encoding pem, or store the file as DER' });
  });

  it('pem: the PEM certificate is read; a DER one is refused', () => {
    m = model('', 'encoding pem;');
    expect(store.local(policy())).toMatchObject({ cert: { fingerprint256: me.cert.fingerprint256 } });
    put('gw-a.crt', me.cert.raw);
    expect(store.local(policy())).toEqual({ error: 'local-certificate gw-a.crt is not PEM, but the encoding is pem: set encoding binary, or store the file as PEM' });
  });

  it('local-key-pair: a key pair from elsewhere must be in the encoding; the router\'s own (owner-only PKCS#8 PEM) is read in either', () => {
    m = model('');
    put('gw-a.crt', me.cert.raw);
    // a PEM key that is not the router's own (world-readable): refused under binary
    put('gw-a.key', me.key.export({ type: 'pkcs8', format: 'pem' }) as string, false);
    expect(store.local(policy())).toEqual({ error: 'local-key-pair gw-a.key is PEM, but the encoding is binary (DER): set encoding pem, or store the file as DER' });
    // the DER form is read under binary
    put('gw-a.key', me.key.export({ type: 'pkcs8', format: 'der' }), true);
    expect(store.local(policy())).toMatchObject({ key: { asymmetricKeyType: 'rsa' } });
    // and refused under pem
    m = model('', 'encoding pem;');
    put('gw-a.crt', pemOf(me.cert.raw));
    expect(store.local(policy())).toEqual({ error: 'local-key-pair gw-a.key is not PEM, but the encoding is pem: set encoding binary, or store the file as PEM' });
    // the router's own pair is read under pem and binary alike
    put('gw-a.key', me.key.export({ type: 'pkcs8', format: 'pem' }) as string, true);
    expect(store.local(policy())).toMatchObject({ key: { asymmetricKeyType: 'rsa' } });
    m = model('');
    put('gw-a.crt', me.cert.raw);
    expect(store.local(policy())).toMatchObject({ key: { asymmetricKeyType: 'rsa' } });
  });

  it('the CA profile\'s file in the other encoding is no trust anchor, and the refusal says why', () => {
    m = model('');
    put('lab-ca.crt', pemOf(ca.raw));
    expect(store.anchors()).toEqual([]);
    const peer = leaf('gw-b');
    const v = store.check([peer.cert], id(peer.cert), policy());
    expect(!v.ok && v.kind).toBe('untrusted');
    expect(!v.ok && v.why).toMatch(/certification-authority lab: file lab-ca\.crt is PEM, but the encoding is binary/);
    put('lab-ca.crt', ca.raw);
    expect(store.anchors().map(a => a.profile)).toEqual(['lab']);
  });
});

describe('cache-size: the peer certificate cache holds at most that many bytes, oldest out', () => {
  it('certificates of about 600 bytes under a 2000-byte cache: three stay, the oldest go; one larger than the cache is not kept', () => {
    let m = model('cache-size 2000;');
    const store = new PkiStore(files, () => m);
    const peers = Array.from({ length: 6 }, (_, i) => leaf(`peer-${i}`).cert);
    for (const [i, c] of peers.entries()) store.seen(`10.6.6.${i}`, c);
    const kept = [...store.peers.values()].map(p => p.cert.fingerprint256);
    const sizes = peers.map(c => c.raw.length);
    expect(store.cacheBytes).toBeLessThanOrEqual(2000);
    expect(store.cacheBytes).toBe([...store.peers.values()].reduce((n, p) => n + p.cert.raw.length, 0));
    // the newest, as many as fit
    let fit = 0, sum = 0;
    for (let i = peers.length - 1; i >= 0 && sum + sizes[i]! <= 2000; i--) { sum += sizes[i]!; fit++; }
    expect(kept).toEqual(peers.slice(peers.length - fit).map(c => c.fingerprint256));
    expect(fit).toBeGreaterThanOrEqual(2);
    // the default (2 MB) keeps them all; maximum-certificates still bounds the count
    m = model('maximum-certificates 64;');
    for (const [i, c] of peers.entries()) store.seen(`10.6.6.${i}`, c);
    expect(store.peers.size).toBe(6);
    // a certificate larger than the whole cache is not kept
    m = model('cache-size 64;');
    store.clearPeers();
    store.seen('10.6.6.9', peers[0]!);
    expect(store.peers.size).toBe(0);
    expect(store.cacheBytes).toBe(0);
  });
});

describe('cache-timeout-negative: a refused certificate is refused again at once, for that long', () => {
  it('the second check answers from the negative cache; after the timeout, or under a new configuration, it is checked again', () => {
    let t = 1_000_000;
    let m = model('cache-timeout-negative 20;');
    const store = new PkiStore(files, () => m, () => {}, () => t);
    put('lab-ca.crt', ca.raw);
    const otherKey = rsa();
    const other = new X509Certificate(buildCertificate({ subject: 'c=us,o=x,cn=other-ca', key: otherKey, signer: otherKey, ca: true }));
    const stranger = leaf('stranger', rsa(), otherKey, other).cert;
    const policy = m.ike.policies.get('10.6.6.6')!;
    const first = store.check([stranger], id(stranger), policy);
    expect(!first.ok && first.kind).toBe('untrusted');
    expect(!first.ok && first.why).not.toMatch(/negative cache/);
    t += 19_000;
    const again = store.check([stranger], id(stranger), policy);
    expect(!again.ok && again.why).toMatch(/\(negative cache\)$/);
    t += 2_000;
    expect(store.check([stranger], id(stranger), policy)).toMatchObject({ ok: false, kind: 'untrusted' });
    expect((store.check([stranger], id(stranger), policy) as { why: string }).why).toMatch(/negative cache/);
    // a commit (a new model): checked afresh
    m = model('cache-timeout-negative 20;');
    expect((store.check([stranger], id(stranger), policy) as { why: string }).why).not.toMatch(/negative cache/);
    // cache-timeout-negative 0: nothing is kept
    m = model('cache-timeout-negative 0;');
    store.check([stranger], id(stranger), policy);
    expect((store.check([stranger], id(stranger), policy) as { why: string }).why).not.toMatch(/negative cache/);
    // a path that holds, refused for its ID only: not negatively cached (the ID is not the certificate's fault)
    m = model('cache-timeout-negative 20;');
    const fresh = new PkiStore(files, () => m, () => {}, () => t);
    const good = leaf('good').cert;
    expect(fresh.check([good], { type: 9, data: Buffer.alloc(0) }, policy)).toMatchObject({ ok: false, kind: 'identity' });
    expect(fresh.negative.size).toBe(0);
  });
});
