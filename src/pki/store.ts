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
import { loadKeyPair, parseCertificates } from './certs.js';
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

  private readFile(name: string, encoding: 'binary' | 'pem'): X509Certificate[] {
    void encoding;   // both encodings are recognised when read
    return parseCertificates(this.files.read(name));
  }

  /** The policy's certificate and key pair, or why they cannot be used. */
  local(policy: IkePolicyModel): { cert: X509Certificate; key: KeyObject; chain: X509Certificate[]; warning?: string } | { error: string } {
    if (!policy.localCertificate) return { error: `IKE policy ${policy.peer} has no local-certificate` };
    if (!policy.localKeyPair) return { error: `IKE policy ${policy.peer} has no local-key-pair` };
    let certs: X509Certificate[];
    try { certs = this.readFile(policy.localCertificate, policy.encoding); } catch { return { error: `local-certificate ${policy.localCertificate}: no such file in ${IKECERT}` }; }
    if (!certs.length) return { error: `local-certificate ${policy.localCertificate}: not a certificate` };
    let key: KeyObject;
    try { key = loadKeyPair(this.files, policy.localKeyPair); } catch { return { error: `local-key-pair ${policy.localKeyPair}: not a key pair in ${IKECERT}` }; }
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
        out.push({ profile: name, source: p.crl, ...(c ? { crl: c } : { error: a?.crlError ?? `no CA certificate (file ${p.file ?? 'not configured'}) to check it with` }) });
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
    const v = validatePath(certs, this.anchors(), now, this.model()?.certificates.pathLength ?? 15);
    if (!v.ok) return v;
    const idWhy = idMatchesCert(id, v.cert);
    if (idWhy) return { ok: false, kind: 'identity', why: idWhy };
    if (policy.identity && !identityMatches(policy.identity, v.cert)) {
      return { ok: false, kind: 'identity', why: `the peer's certificate (${v.cert.subject.split('\n').join(', ')}${v.cert.subjectAltName ? `; ${v.cert.subjectAltName}` : ''}) does not match the policy's identity ${policy.identity}` };
    }
    return v;
  }

  /** Keep an accepted peer certificate (the oldest goes past `maximum-certificates`). */
  seen(peer: string, cert: X509Certificate): void {
    const key = `${peer}/${cert.fingerprint256}`;
    this.peers.delete(key);
    this.peers.set(key, { peer, cert, at: new Date() });
    const max = this.model()?.certificates.maximumCertificates ?? 1024;
    while (this.peers.size > max) this.peers.delete(this.peers.keys().next().value!);
  }
  clearPeers(): number { const n = this.peers.size; this.peers.clear(); return n; }
}
