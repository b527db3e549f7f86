/**
 * Checking a peer's certificate as IKE receives it (RFC 5280's path validation, in the measure the
 * chapter asks): a chain from the peer's certificate up to the CA certificate of a configured
 * `certification-authority` profile (the trust anchor), each link's signature, each certificate's
 * validity dates, CA certificates marked as CAs, the path no longer than `path-length` (the anchor
 * counts 1), and revocation by the profile's CRL. Pure: certificates, anchors, CRLs and the time in;
 * a verdict with its reason out.
 *
 * The CA constraints of RFC 5280 6.1.4 (k)-(n), as strongSwan applies them: every CA certificate of
 * the path (the anchor included) must be a CA (basicConstraints cA; an anchor without the extension,
 * an X.509 v1 root, is taken as one), may have at most its pathLenConstraint of non-self-issued CA
 * certificates below it (the anchor's constraint included, as strongSwan checks it), and, when it has
 * a keyUsage, must have keyCertSign; a CRL's issuer with a keyUsage must have cRLSign; the peer's
 * certificate, whose key signs IKE, when it has a keyUsage, must have digitalSignature (or
 * nonRepudiation, which RFC 4945 5.1.3.2 allows as well).
 */
import { X509Certificate, createVerify } from 'node:crypto';
import type * as asn1jsT from 'asn1js';
import type * as pkijsT from 'pkijs';
import { lazy } from '../util/lazy.js';

const asn1js = lazy<typeof asn1jsT>('asn1js');
const pkijs = lazy<typeof pkijsT>('pkijs');

export interface Crl { issuer: string; thisUpdate: Date; nextUpdate?: Date; revoked: Map<string, Date>; source: string }
/** a trusted CA: its certificate and the CRLs known for it (the `crl` file, the `ldap-url` server) */
export interface Anchor { profile: string; cert: X509Certificate; crls: Crl[]; crlError?: string }
export type Verdict =
  | { ok: true; cert: X509Certificate; anchor: Anchor; path: X509Certificate[] }
  | { ok: false; kind: 'no-certificate' | 'untrusted' | 'expired' | 'not-yet-valid' | 'revoked' | 'path-length' | 'not-a-ca' | 'key-usage' | 'crl'; why: string };

const SIG_HASH: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1', '1.2.840.113549.1.1.11': 'sha256', '1.2.840.113549.1.1.12': 'sha384', '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.113549.1.1.4': 'md5', '1.2.840.10040.4.3': 'sha1', '2.16.840.1.101.3.4.3.2': 'sha256',
  '1.2.840.10045.4.1': 'sha1', '1.2.840.10045.4.3.2': 'sha256', '1.2.840.10045.4.3.3': 'sha384',
};

/** keyUsage bits (RFC 5280 4.2.1.3) */
export const KU = { digitalSignature: 0, nonRepudiation: 1, keyEncipherment: 2, dataEncipherment: 3, keyAgreement: 4, keyCertSign: 5, cRLSign: 6 } as const;
export interface CaConstraints { basic?: { ca: boolean; pathLen?: number }; keyUsage?: Set<keyof typeof KU> }

const constraintsCache = new WeakMap<X509Certificate, CaConstraints>();
/** A certificate's basicConstraints and keyUsage, as it carries them (absent: undefined). */
export function constraintsOf(cert: X509Certificate): CaConstraints {
  const hit = constraintsCache.get(cert);
  if (hit) return hit;
  const out: CaConstraints = {};
  const c = new pkijs.Certificate({ schema: asn1js.fromBER(new Uint8Array(cert.raw)).result });
  for (const e of c.extensions ?? []) {
    if (e.extnID === '2.5.29.19') {
      const b = e.parsedValue as pkijsT.BasicConstraints | undefined;
      const pl = b?.pathLenConstraint;
      out.basic = { ca: !!b?.cA, ...(pl === undefined ? {} : { pathLen: typeof pl === 'number' ? pl : Number.MAX_SAFE_INTEGER }) };
    } else if (e.extnID === '2.5.29.15') {
      const bits = e.parsedValue instanceof asn1js.BitString ? e.parsedValue.valueBlock.valueHexView : new Uint8Array();
      out.keyUsage = new Set((Object.keys(KU) as Array<keyof typeof KU>).filter(k => ((bits[KU[k] >> 3] ?? 0) & (0x80 >> (KU[k] & 7))) !== 0));
    }
  }
  constraintsCache.set(cert, out);
  return out;
}
const selfIssued = (c: X509Certificate) => c.subject === c.issuer;
/**
 * `c` names `by` as its issuer and `by`'s key signed it. (Not OpenSSL's checkIssued, which also
 * refuses an issuer without keyCertSign: the path is built first, and the constraints then say why.)
 */
const issuedBy = (c: X509Certificate, by: X509Certificate) => c.issuer === by.subject && c.verify(by.publicKey);

/** Why the CA certificates of a path (`path[0]` the peer's, the anchor last) break RFC 5280's CA constraints, or undefined. */
export function caConstraintsWhy(path: X509Certificate[], anchorProfile: string): { kind: 'not-a-ca' | 'path-length' | 'key-usage'; why: string } | undefined {
  const ee = path[0]!;
  const eku = constraintsOf(ee).keyUsage;
  if (eku && !eku.has('digitalSignature') && !eku.has('nonRepudiation')) {
    return { kind: 'key-usage', why: `the peer's certificate may not sign (its keyUsage is ${[...eku].join(', ') || 'empty'}, without digitalSignature)` };
  }
  for (let k = 1; k < path.length; k++) {
    const c = path[k]!, name = k === path.length - 1 ? `the CA certificate of ${anchorProfile} (${dn(c.subject)})` : `the CA certificate ${dn(c.subject)}`;
    const x = constraintsOf(c);
    const isAnchor = k === path.length - 1;
    if (x.basic ? !x.basic.ca : !isAnchor) return { kind: 'not-a-ca', why: `${name} signs certificates but is not a CA certificate (basicConstraints ${x.basic ? 'cA FALSE' : 'absent'})` };
    if (x.keyUsage && !x.keyUsage.has('keyCertSign')) return { kind: 'key-usage', why: `${name} signs certificates but its keyUsage has no keyCertSign (${[...x.keyUsage].join(', ') || 'empty'})` };
    if (x.basic?.pathLen !== undefined) {
      // CA certificates below this one, not counting self-issued ones (RFC 5280 6.1.4 (l))
      const below = path.slice(1, k).filter(b => !selfIssued(b)).length;
      if (below > x.basic.pathLen) return { kind: 'path-length', why: `${name} allows ${x.basic.pathLen} CA certificate${x.basic.pathLen === 1 ? '' : 's'} below it (pathLenConstraint); the path has ${below}` };
    }
  }
  return undefined;
}
/** A CRL issuer that has a keyUsage must have cRLSign in it (RFC 5280 6.3.3 (f)). */
export function crlSignWhy(ca: X509Certificate): string | undefined {
  const ku = constraintsOf(ca).keyUsage;
  return ku && !ku.has('cRLSign') ? `${dn(ca.subject)} may not sign CRLs (its keyUsage has no cRLSign: ${[...ku].join(', ') || 'empty'})` : undefined;
}

/** A serial number as one spelling: upper-case hex without leading zeros. */
export const serialKey = (hex: string) => hex.toUpperCase().replace(/^(00)+(?=.)/, '').replace(/^0(?=.)/, '');

/** A CRL (DER or PEM) issued by `ca`: its signature checked, its revoked serials read. */
export function parseCrl(b: Buffer, ca: X509Certificate, source: string): Crl {
  let der = b;
  const text = b.toString('latin1');
  const m = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/.exec(text);
  if (m) der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const a = asn1js.fromBER(new Uint8Array(der));
  if (a.offset === -1) throw new Error(`${source}: not a CRL (not DER or PEM)`);
  let crl: pkijsT.CertificateRevocationList;
  try { crl = new pkijs.CertificateRevocationList({ schema: a.result }); } catch { throw new Error(`${source}: not a CRL`); }
  const hash = SIG_HASH[crl.signatureAlgorithm.algorithmId];
  if (!hash) throw new Error(`${source}: signed with an algorithm we do not know (${crl.signatureAlgorithm.algorithmId})`);
  const ok = (() => { try { return createVerify(hash).update(Buffer.from(crl.tbsView)).verify(ca.publicKey, Buffer.from(crl.signatureValue.valueBlock.valueHexView)); } catch { return false; } })();
  if (!ok) throw new Error(`${source}: not signed by ${ca.subject.split('\n').join(', ')}`);
  const noSign = crlSignWhy(ca);
  if (noSign) throw new Error(`${source}: ${noSign}`);
  const revoked = new Map<string, Date>();
  for (const r of crl.revokedCertificates ?? []) revoked.set(serialKey(Buffer.from(r.userCertificate.valueBlock.valueHexView).toString('hex')), r.revocationDate.value);
  return { issuer: ca.subject, thisUpdate: crl.thisUpdate.value, ...(crl.nextUpdate ? { nextUpdate: crl.nextUpdate.value } : {}), revoked, source };
}

/** The most recently issued of the CRLs (by thisUpdate): an older one never stands for a newer one. */
export function newestCrl(crls: Crl[]): Crl | undefined {
  let best: Crl | undefined;
  for (const c of crls) if (!best || c.thisUpdate.getTime() > best.thisUpdate.getTime()) best = c;
  return best;
}

const dn = (s: string) => s.split('\n').filter(Boolean).join(', ');
const inDates = (c: X509Certificate, now: Date): 'expired' | 'not-yet-valid' | undefined =>
  now.getTime() > new Date(c.validTo).getTime() ? 'expired' : now.getTime() < new Date(c.validFrom).getTime() ? 'not-yet-valid' : undefined;

/**
 * The peer's certificate (`certs[0]`, the one whose key signs) with what else it sent, against the anchors.
 */
export function validatePath(certs: X509Certificate[], anchors: Anchor[], now: Date, pathLength: number): Verdict {
  const ee = certs[0];
  if (!ee) return { ok: false, kind: 'no-certificate', why: 'the peer sent no certificate' };
  const pool = certs.slice(1, 16);
  const path: X509Certificate[] = [ee];
  let cur = ee;
  for (let depth = 1; ; depth++) {
    const d = inDates(cur, now);
    if (d) return { ok: false, kind: d, why: `${cur === ee ? 'the peer\'s certificate' : `the CA certificate ${dn(cur.subject)}`} ${d === 'expired' ? `expired on ${cur.validTo}` : `is not valid before ${cur.validFrom}`} (serial ${BigInt(`0x${cur.serialNumber}`)})` };
    const anchor = anchors.find(a => issuedBy(cur, a.cert));
    if (anchor) {
      if (depth + 1 > pathLength) return { ok: false, kind: 'path-length', why: `the path to ${anchor.profile} has ${depth + 1} certificates; path-length is ${pathLength}` };
      const ad = inDates(anchor.cert, now);
      if (ad) return { ok: false, kind: ad, why: `the CA certificate of ${anchor.profile} (${dn(anchor.cert.subject)}) ${ad === 'expired' ? `expired on ${anchor.cert.validTo}` : `is not valid before ${anchor.cert.validFrom}`}` };
      // revocation fails closed: a CRL that cannot be had (file, LDAP) refuses the certificate
      if (anchor.crlError) return { ok: false, kind: 'crl', why: `the CRL of ${anchor.profile} cannot be used: ${anchor.crlError}` };
      const full = [...path, anchor.cert];
      const cons = caConstraintsWhy(full, anchor.profile);
      if (cons) return { ok: false, ...cons };
      if (anchor.crls.length) {
        // every certificate of the path against the newest CRL of its issuer, which must be current
        for (let k = 0; k < full.length - 1; k++) {
          const c = full[k]!, issuer = full[k + 1]!;
          const crl = newestCrl(anchor.crls.filter(x => x.issuer === issuer.subject));
          const what = c === ee ? 'the peer\'s certificate' : `the CA certificate ${dn(c.subject)}`;
          if (!crl) return { ok: false, kind: 'crl', why: `no CRL of ${dn(issuer.subject)} to check ${what} with` };
          const noSign = crlSignWhy(issuer);
          if (noSign) return { ok: false, kind: 'crl', why: `the CRL of ${dn(issuer.subject)} (${crl.source}) cannot be used: ${noSign}` };
          if (crl.nextUpdate && now.getTime() > crl.nextUpdate.getTime()) return { ok: false, kind: 'crl', why: `the CRL of ${dn(issuer.subject)} (${crl.source}) is out of date: its next update was ${crl.nextUpdate.toISOString()}` };
          if (now.getTime() < crl.thisUpdate.getTime()) return { ok: false, kind: 'crl', why: `the CRL of ${dn(issuer.subject)} (${crl.source}) is not valid before ${crl.thisUpdate.toISOString()}` };
          const at = crl.revoked.get(serialKey(c.serialNumber));
          if (at) return { ok: false, kind: 'revoked', why: `${what} (serial ${BigInt(`0x${c.serialNumber}`)}) is revoked since ${at.toISOString()} (CRL ${crl.source})` };
        }
      }
      return { ok: true, cert: ee, anchor, path: full };
    }
    const up = pool.find(c => c !== cur && issuedBy(cur, c));
    if (!up) {
      const names = anchors.map(a => a.profile).join(', ') || 'none configured';
      return { ok: false, kind: 'untrusted', why: `${cur === ee ? 'the peer\'s certificate' : `the CA certificate ${dn(cur.subject)}`} is issued by ${dn(cur.issuer)}, which is none of our certification authorities (${names})` };
    }
    // basicConstraints cA (node's X509Certificate.ca also wants keyCertSign: that is said apart below)
    if (!constraintsOf(up).basic?.ca) return { ok: false, kind: 'not-a-ca', why: `${dn(up.subject)} signs certificates but is not a CA certificate (basicConstraints ${constraintsOf(up).basic ? 'cA FALSE' : 'absent'})` };
    if (depth + 1 >= pathLength) return { ok: false, kind: 'path-length', why: `the path is longer than path-length ${pathLength}` };
    path.push(up);
    cur = up;
  }
}
