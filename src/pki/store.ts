/**
 * What IKE needs of the router's certificates: the local certificate and key pair of an IKE policy,
 * the trust anchors (the CA certificate of each `certification-authority` profile, with its CRL), the
 * names of our CAs for CERT_REQ, the checks of a peer's identity against its certificate and the
 * policy's `identity`, and the cache of peer certificates (`maximum-certificates`, `clear ipsec
 * certificates`).
 */
import { X509Certificate, KeyObject } from 'node:crypto';
import type * as asn1jsT from 'asn1js';
import type * as pkijsT from 'pkijs';
import type { RouterFiles } from '../router/files.js';
import { IKECERT } from '../router/files.js';
import type { IkePolicyModel, RouterModel } from '../config/model.js';
import { loadKeyPair, parseCertificates, encodingMismatch, EncodingError } from './certs.js';
import { parseCrl, validatePath, Anchor, Verdict, Crl } from './validate.js';
import { fetchCrl } from './ldap.js';

/** how long a CRL fetched from LDAP is used before it is fetched again */
export const LDAP_REFRESH_MS = 3600_000;
/** a certificate's subject as an LDAP DN: the most specific RDN first ("ou=SCEP CA,o=x,c=US") */
export const ldapDn = (c: X509Certificate) => c.subject.split('\n').filter(Boolean).reverse().map(l => { const i = l.indexOf('='); return `${l.slice(0, i).toLowerCase()}=${l.slice(i + 1).replace(/([,+"\\<>;=])/g, '\\$1')}`; }).join(',');
import { parseDn } from './scep-msg.js';
import { lazy } from '../util/lazy.js';

const asn1js = lazy<typeof asn1jsT>('asn1js');
const pkijs = lazy<typeof pkijsT>('pkijs');

const SHORT: Record<string, string> = {
  '2.5.4.6': 'C', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.3': 'CN', '2.5.4.7': 'L', '2.5.4.8': 'ST',
  '0.9.2342.19200300.100.1.25': 'DC', '1.2.840.113549.1.9.1': 'E', '2.5.4.5': 'SERIALNUMBER',
};
const LONG: Record<string, string> = { c: 'C', o: 'O', ou: 'OU', cn: 'CN', l: 'L', st: 'ST', s: 'ST', dc: 'DC', e: 'E', emailaddress: 'E', serialnumber: 'SERIALNUMBER' };

/** The DER of a certificate's subject Name (an ID_DER_ASN1_DN payload carries it). */
export function subjectDer(cert: X509Certificate): Buffer {
  const c = new pkijs.Certificate({ schema: asn1js.fromBER(new Uint8Array(cert.raw)).result });
  return Buffer.from(c.subject.toSchema().toBER(false));
}
/** A DER Name as "C=US, O=x, CN=y"; undefined if it is not one. */
export function nameToString(der: Buffer): string | undefined {
  try {
    const a = asn1js.fromBER(new Uint8Array(der));
    if (a.offset === -1) return undefined;
    const n = new pkijs.RelativeDistinguishedNames({ schema: a.result });
    return n.typesAndValues.map(t => `${SHORT[t.type] ?? t.type}=${t.value.valueBlock.value}`).join(', ');
  } catch { return undefined; }
}
const dnKey = (parts: Array<{ k: string; v: string }>) => parts.map(p => `${p.k}=${p.v.toLowerCase()}`).sort().join(',');
const certDnKey = (cert: X509Certificate) => dnKey(cert.subject.split('\n').filter(Boolean).map(l => { const i = l.indexOf('='); return { k: l.slice(0, i).toUpperCase(), v: l.slice(i + 1) }; }));
const sanOf = (cert: X509Certificate, kind: 'IP Address' | 'DNS' | 'email') =>
  (cert.subjectAltName ?? '').split(/,\s*/).filter(s => s.startsWith(`${kind}:`)).map(s => s.slice(kind.length + 1).toLowerCase());

/** Does the peer's ID payload name the certificate's holder? (the ID must be the certificate's) */
export function idMatchesCert(id: { type: number; data: Buffer }, cert: X509Certificate): string | undefined {
  switch (id.type) {
    case 9: {                                                     // ID_DER_ASN1_DN
      if (id.data.equals(subjectDer(cert))) return undefined;
      const s = nameToString(id.data);
      if (s && dnKey(s.split(', ').map(p => { const i = p.indexOf('='); return { k: p.slice(0, i).toUpperCase(), v: p.slice(i + 1) }; })) === certDnKey(cert)) return undefined;
      return `the peer's ID (DN ${s ?? 'unreadable'}) is not its certificate's subject (${cert.subject.split('\n').join(', ')})`;
    }
    case 1: {                                                     // ID_IPV4_ADDR
      const ip = [...id.data.subarray(0, 4)].join('.');
      return sanOf(cert, 'IP Address').includes(ip) ? undefined : `the peer's ID (${ip}) is not in its certificate's subjectAltName (${cert.subjectAltName ?? 'none'})`;
    }
    case 2: {                                                     // ID_FQDN
      const n = id.data.toString('latin1').toLowerCase();
      return sanOf(cert, 'DNS').includes(n) ? undefined : `the peer's ID (${n}) is not in its certificate's subjectAltName (${cert.subjectAltName ?? 'none'})`;
    }
    case 3: {                                                     // ID_USER_FQDN
      const n = id.data.toString('latin1').toLowerCase();
      return sanOf(cert, 'email').includes(n) ? undefined : `the peer's ID (${n}) is not in its certificate's subjectAltName (${cert.subjectAltName ?? 'none'})`;
    }
    default: return `the peer's ID is of a type (${id.type}) a certificate cannot vouch for`;
  }
}

/** Does the certificate carry the policy's `identity` (a DN, an address, or a domain name)? */
export function identityMatches(identity: string, cert: X509Certificate): boolean {
  if (identity.includes('=')) {
    try { return dnKey(parseDn(identity).map(p => ({ k: LONG[p.key] ?? p.key.toUpperCase(), v: p.value }))) === certDnKey(cert); } catch { return false; }
  }
  const i = identity.toLowerCase();
  return sanOf(cert, 'IP Address').includes(i) || sanOf(cert, 'DNS').includes(i) || sanOf(cert, 'email').includes(i)
    || cert.subject.split('\n').some(l => l.toLowerCase() === `cn=${i}`);
}

export interface PeerCert { peer: string; cert: X509Certificate; at: Date }

export class PkiStore {
  /** peer certificates IKE received and accepted, newest last (`maximum-certificates` of them) */
  readonly peers = new Map<string, PeerCert>();
  /** CRLs fetched from `ldap-url`, per profile; a failure is remembered `cache-timeout-negative` seconds */
  readonly ldap = new Map<string, { url: string; caFp: string; at: number; crl?: Crl; error?: string }>();
  private fetching = new Set<string>();
  constructor(private files: RouterFiles, private model: () => RouterModel | undefined, private log: (msg: string) => void = () => {}, private now: () => number = Date.now) {}

  /**
   * Fetch the CRL of every profile with an `ldap-url` (`force`: even a fresh one; else those older than
   * `LDAP_REFRESH_MS` or never fetched, and not failed within cache-timeout-negative).
   */
  async refreshLdap(force = false): Promise<void> {
    const m = this.model();
    if (!m) return;
    const jobs: Promise<void>[] = [];
    for (const [name, p] of m.certificates.authorities) {
      if (!p.ldapUrl || !p.file || this.fetching.has(name)) continue;
      let cert: X509Certificate | undefined;
      try { const cs = this.readFile(p.file, p.encoding); cert = cs.find(c => c.ca) ?? cs[0]; } catch { /* no CA certificate yet */ }
      if (!cert) continue;
      const prev = this.ldap.get(name);
      const same = prev && prev.url === p.ldapUrl && prev.caFp === cert.fingerprint256;
      if (!force && same && (prev.error ? this.now() - prev.at < m.certificates.cacheTimeoutNegative * 1000 : this.now() - prev.at < LDAP_REFRESH_MS)) continue;
      const url = p.ldapUrl, ca = cert;
      this.fetching.add(name);
      jobs.push((async () => {
        try {
          const got = await fetchCrl(url, ldapDn(ca));
          const crl = parseCrl(got.der, ca, `${url} (${got.dn})`);
          this.ldap.set(name, { url, caFp: ca.fingerprint256, at: this.now(), crl });
          this.negative.clear();   // a new CRL: what was refused is checked again
          this.log(`KMD_CERT_CRL_LOADED: CRL of ${name} from ${url} (${got.dn}): ${crl.revoked.size} revoked, issued ${crl.thisUpdate.toISOString()}${crl.nextUpdate ? `, next update ${crl.nextUpdate.toISOString()}` : ''}`);
        } catch (e) {
          // a failure keeps the last CRL fetched, and is not tried again before cache-timeout-negative
          this.ldap.set(name, { url, caFp: ca.fingerprint256, at: this.now(), ...(same && prev.crl ? { crl: prev.crl } : {}), error: (e as Error).message });
          this.log(`KMD_CERT_CRL_FAILED: CRL of ${name} from ${url} not obtained: ${(e as Error).message}${same && prev.crl ? '; the last one fetched stays in use' : '; certificates of this CA are refused until one is fetched'}`);
        } finally { this.fetching.delete(name); }
      })());
    }
    await Promise.all(jobs);
  }

  /**
   * A certificate file in the encoding its statement's level says (the chapter: "Encoding specifies
   * the file format used for the local-certificate and local-key-pair statements", binary (DER) by
   * default): a PEM file where binary is configured, or a DER one where pem is, is not read.
   */
  private readFile(name: string, encoding: 'binary' | 'pem'): X509Certificate[] {
    const b = this.files.read(name);
    const wrong = encodingMismatch(b, encoding);
    if (wrong) throw new EncodingError(`${name} ${wrong}`);
    return parseCertificates(b);
  }
  /** Why each configured CA profile has no trust anchor (its file missing, unreadable or in the other encoding). */
  caProblems(): string[] {
    const out: string[] = [];
    for (const [name, p] of this.model()?.certificates.authorities ?? []) {
      if (!p.file) continue;
      try { if (!this.readFile(p.file, p.encoding).length) out.push(`certification-authority ${name}: file ${p.file} holds no certificate`); }
      catch (e) { out.push(`certification-authority ${name}: ${e instanceof EncodingError ? `file ${e.message}` : `file ${p.file}: no such file in ${IKECERT}`}`); }
    }
    return out;
  }

  /** The policy's certificate and key pair, or why they cannot be used. */
  local(policy: IkePolicyModel): { cert: X509Certificate; key: KeyObject; chain: X509Certificate[]; warning?: string } | { error: string } {
    if (!policy.localCertificate) return { error: `IKE policy ${policy.peer} has no local-certificate` };
    if (!policy.localKeyPair) return { error: `IKE policy ${policy.peer} has no local-key-pair` };
    let certs: X509Certificate[];
    try { certs = this.readFile(policy.localCertificate, policy.encoding); } catch (e) { return { error: e instanceof EncodingError ? `local-certificate ${e.message}` : `local-certificate ${policy.localCertificate}: no such file in ${IKECERT}` }; }
    if (!certs.length) return { error: `local-certificate ${policy.localCertificate}: not a certificate` };
    let key: KeyObject;
    try { key = loadKeyPair(this.files, policy.localKeyPair, policy.encoding); } catch (e) { return { error: e instanceof EncodingError ? `local-key-pair ${e.message}` : `local-key-pair ${policy.localKeyPair}: not a key pair in ${IKECERT}` }; }
    const cert = certs.find(c => c.checkPrivateKey(key));
    if (!cert) return { error: `local-certificate ${policy.localCertificate} is not for the key pair ${policy.localKeyPair}` };
    // an expired certificate is still sent (the peer says why it refuses it), with a warning here
    const now = Date.now();
    const warning = now > new Date(cert.validTo).getTime() ? `local-certificate ${policy.localCertificate} expired on ${cert.validTo}: peers will refuse it; enroll again`
      : now < new Date(cert.validFrom).getTime() ? `local-certificate ${policy.localCertificate} is not valid before ${cert.validFrom}: peers will refuse it` : undefined;
    return { cert, key, chain: certs.filter(c => c !== cert), ...(warning ? { warning } : {}) };
  }

  /** Every configured CA with a certificate on file, and its CRL (from the `crl` file). */
  anchors(): Anchor[] {
    const out: Anchor[] = [];
    for (const [name, p] of this.model()?.certificates.authorities ?? []) {
      if (!p.file) continue;
      let certs: X509Certificate[] = [];
      try { certs = this.readFile(p.file, p.encoding); } catch { continue; }
      const cert = certs.find(c => c.ca) ?? certs[0];
      if (!cert) continue;
      const a: Anchor = { profile: name, cert, crls: [] };
      if (p.crl) {
        try { a.crls.push(parseCrl(this.files.read(p.crl), cert, p.crl)); } catch (e) { a.crlError = this.files.exists(p.crl) ? (e as Error).message : `${p.crl}: no such file in ${IKECERT}`; }
      }
      // the CRL last fetched from the CA's LDAP server
      const l = p.ldapUrl ? this.ldap.get(name) : undefined;
      if (l?.crl && l.url === p.ldapUrl && l.caFp === cert.fingerprint256) a.crls.push(l.crl);
      // a failed LDAP fetch with no CRL of it in hand: certificates of this CA are refused (fails closed)
      else if (p.ldapUrl && !a.crlError) a.crlError = l?.error ? `${p.ldapUrl}: ${l.error}` : `${p.ldapUrl}: not fetched yet`;
      out.push(a);
    }
    return out;
  }
  /** Every CRL known, per profile: its `crl` file and what `ldap-url` gave (or why not). */
  crlList(): Array<{ profile: string; source: string; crl?: Crl; error?: string }> {
    const out: Array<{ profile: string; source: string; crl?: Crl; error?: string }> = [];
    const anchors = new Map(this.anchors().map(a => [a.profile, a]));
    for (const [name, p] of this.model()?.certificates.authorities ?? []) {
      const a = anchors.get(name);
      if (p.crl) {
        const c = a?.crls.find(x => x.source === p.crl);
        const why = this.caProblems().find(x => x.startsWith(`certification-authority ${name}: `))?.slice(`certification-authority ${name}: `.length);
        out.push({ profile: name, source: p.crl, ...(c ? { crl: c } : { error: a?.crlError ?? `no CA certificate (file ${p.file ?? 'not configured'}${why ? `: ${why}` : ''}) to check it with` }) });
      }
      if (p.ldapUrl) {
        const l = this.ldap.get(name);
        out.push({ profile: name, source: p.ldapUrl, ...(l?.crl ? { crl: l.crl } : {}), ...(l?.error ? { error: l.error } : !l ? { error: 'not fetched yet' } : {}) });
      }
    }
    return out;
  }

  /** The DER names of our CAs (CERT_REQ payloads). */
  caNames(): Buffer[] { return this.anchors().map(a => subjectDer(a.cert)); }

  /** The peer's certificates against our CAs, its ID and the policy's identity. */
  check(certs: X509Certificate[], id: { type: number; data: Buffer }, policy: IkePolicyModel, now = new Date()): Verdict | { ok: false; kind: 'identity'; why: string } {
    // the negative cache first: a certificate (with the chain it came with) refused within
    // cache-timeout-negative is refused again at once, without the path check
    const negKey = certs.map(c => c.fingerprint256).join('/');
    const neg = this.negative.get(negKey);
    const m = this.model();
    if (neg && neg.model === m && this.now() - neg.at < (m?.certificates.cacheTimeoutNegative ?? 20) * 1000) return { ...neg.verdict, why: `${neg.verdict.why} (negative cache)` };
    if (neg) this.negative.delete(negKey);
    const v = validatePath(certs, this.anchors(), now, m?.certificates.pathLength ?? 15);
    if (!v.ok) {
      const problems = v.kind === 'untrusted' ? this.caProblems() : [];
      const verdict = problems.length ? { ...v, why: `${v.why}; ${problems.join('; ')}` } : v;
      // a refusal for want of revocation data (a CRL not fetched yet) is not cached: it may pass soon
      if (certs.length && v.kind !== 'crl') this.rememberRefused(negKey, verdict, m);
      return verdict;
    }
    const idWhy = idMatchesCert(id, v.cert);
    if (idWhy) return { ok: false, kind: 'identity', why: idWhy };
    if (policy.identity && !identityMatches(policy.identity, v.cert)) {
      return { ok: false, kind: 'identity', why: `the peer's certificate (${v.cert.subject.split('\n').join(', ')}${v.cert.subjectAltName ? `; ${v.cert.subjectAltName}` : ''}) does not match the policy's identity ${policy.identity}` };
    }
    return v;
  }

  /**
   * Keep an accepted peer certificate. The cache holds at most `maximum-certificates` certificates and
   * `cache-size` bytes (their DER, the chapter's default 2 MB): past either, the oldest go.
   */
  seen(peer: string, cert: X509Certificate): void {
    const key = `${peer}/${cert.fingerprint256}`;
    const old = this.peers.get(key);
    if (old) { this.peers.delete(key); this.cacheBytes -= old.cert.raw.length; }
    const c = this.model()?.certificates;
    const max = c?.maximumCertificates ?? 1024, bytes = c?.cacheSize ?? 2 * 1024 * 1024;
    // a certificate larger than the whole cache is not kept (it is still used for this exchange)
    if (cert.raw.length > bytes) return;
    this.peers.set(key, { peer, cert, at: new Date() });
    this.cacheBytes += cert.raw.length;
    while (this.peers.size > max || this.cacheBytes > bytes) {
      const [k, v] = this.peers.entries().next().value!;
      this.peers.delete(k);
      this.cacheBytes -= v.cert.raw.length;
    }
  }
  /** bytes (DER) of the certificates in the cache */
  cacheBytes = 0;
  clearPeers(): number { const n = this.peers.size; this.peers.clear(); this.cacheBytes = 0; this.negative.clear(); return n; }

  /** refused certificates, by the fingerprints of what the peer sent: `cache-timeout-negative` seconds each, at most maximum-certificates of them */
  readonly negative = new Map<string, { at: number; verdict: Extract<Verdict, { ok: false }>; model: RouterModel | undefined }>();
  private rememberRefused(key: string, verdict: Extract<Verdict, { ok: false }>, model: RouterModel | undefined): void {
    if ((this.model()?.certificates.cacheTimeoutNegative ?? 20) <= 0) return;
    this.negative.delete(key);
    this.negative.set(key, { at: this.now(), verdict, model });
    const max = this.model()?.certificates.maximumCertificates ?? 1024;
    while (this.negative.size > max) this.negative.delete(this.negative.keys().next().value!);
  }
}
