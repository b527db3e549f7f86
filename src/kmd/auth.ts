/**
 * Authentication in phase 1, as a piece any exchange uses (strongSwan's isakmp_cert_pre/post and its
 * authenticators, in shape): the pre-shared key's HASH, or certificates (CERT_REQ, CERT) and the
 * signature (SIG) with RSA or DSA; and our phase 1 identity (ID payload).
 */
import { X509Certificate, privateEncrypt, publicDecrypt, constants as cc } from 'node:crypto';
import type { IkeSa } from './ike-sa.js';
import type { KmdContext } from './context.js';
import type { OutPayload, RawPayload } from './codec.js';
import { decodeId, encodeId } from './codec.js';
import { CERT_X509_SIG, Pt, N, IdType } from './constants.js';
import { subjectDer } from '../pki/store.js';
import { dssSign, dssVerify } from './dss.js';
import { intToIp } from '../net/ip.js';
import { hashEq, type FailureKind } from './types.js';

/** Why the peer does not prove itself, and the notify that says so. */
export interface AuthRefusal { why: string; kind: FailureKind; notify: number }

/** Signatures (rsa-signatures, dsa-signatures) rather than pre-shared keys. */
export function sig(sa: IkeSa): boolean { return (sa.choice?.method ?? sa.method) !== 'pre-shared-keys'; }

/**
 * Ready to authenticate with the method chosen: the pre-shared key, or our certificate and key pair
 * (of the method's kind). Undefined when ready, else why not.
 */
export function authReady(k: KmdContext, sa: IkeSa): string | undefined {
  const method = sa.choice?.method ?? sa.method ?? 'pre-shared-keys';
  if (method === 'pre-shared-keys') return sa.policy.preSharedKey ? undefined : `IKE policy ${sa.policy.peer} has no pre-shared-key`;
  if (sa.auth) return undefined;
  const pki = k.host.pki;
  if (!pki) return 'no certificate support';
  void pki.refreshLdap();   // CRLs from LDAP not fetched within the hour: fetched now, for the next negotiation
  const l = pki.local(sa.policy);
  if ('error' in l) return l.error;
  const want = method === 'rsa-signatures' ? 'rsa' : 'dsa';
  if (l.key.asymmetricKeyType !== want) return `${method} needs a ${want.toUpperCase()} key pair; local-key-pair ${sa.policy.localKeyPair} is ${l.key.asymmetricKeyType?.toUpperCase()}`;
  if (l.warning) k.host.log(`KMD_CERT_LOCAL_INVALID: ${l.warning}`);
  sa.auth = l;
  return undefined;
}

/** CERT_REQ payloads naming our CAs (signatures only): the peer sends its certificate for one of them. */
export function certReq(k: KmdContext, sa: IkeSa): OutPayload[] {
  if (!sig(sa) || !k.host.pki) return [];
  const names = k.host.pki.caNames();
  return (names.length ? names : [Buffer.alloc(0)]).slice(0, 8).map(n => ({ type: Pt.CR, body: Buffer.concat([Buffer.from([CERT_X509_SIG]), n]) }));
}

/** What proves us: HASH (pre-shared keys), or our certificate(s) and SIG, the signature of the hash. */
export function authOut(sa: IkeSa, hash: Buffer): OutPayload[] {
  if (!sig(sa)) return [{ type: Pt.HASH, body: hash }];
  const a = sa.auth!;
  const sigBody = a.key.asymmetricKeyType === 'rsa' ? privateEncrypt({ key: a.key, padding: cc.RSA_PKCS1_PADDING }, hash) : dssSign(hash, a.key);
  return [a.cert, ...a.chain].map(c => ({ type: Pt.CERT, body: Buffer.concat([Buffer.from([CERT_X509_SIG]), c.raw]) } as OutPayload)).concat([{ type: Pt.SIG, body: sigBody }]);
}

/** The peer's certificates (CERT payloads), or one we know already when it sent none. */
function peerCerts(k: KmdContext, sa: IkeSa, payloads: RawPayload[]): X509Certificate[] | AuthRefusal {
  const certs: X509Certificate[] = [];
  for (const p of payloads.filter(x => x.type === Pt.CERT).slice(0, 8)) {
    if (p.body[0] !== CERT_X509_SIG) continue;
    try { certs.push(new X509Certificate(p.body.subarray(1))); } catch { return { why: 'a CERT payload is not an X.509 certificate', kind: 'cert', notify: N.INVALID_CERT_ENCODING }; }
  }
  // the certificate whose key signs comes first; a peer that sent none may be one we know already
  if (!certs.length) {
    const known = [...k.host.pki!.peers.values()].filter(c => c.peer === intToIp(sa.peer)).pop();
    if (known) certs.push(known.cert);
  }
  return certs;
}

/**
 * Does the peer prove itself? HASH against the hash we compute, or (signatures) its certificate checked
 * against our CAs, its ID against the certificate and the policy's identity, and SIG against the hash.
 */
export function authIn(k: KmdContext, sa: IkeSa, payloads: RawPayload[], idBody: Buffer, want: Buffer): AuthRefusal | undefined {
  if (!sig(sa)) {
    const h = payloads.find(x => x.type === Pt.HASH);
    return h && hashEq(want, h.body) ? undefined : { why: h ? 'HASH does not match' : 'no HASH payload', kind: 'auth', notify: N.AUTHENTICATION_FAILED };
  }
  const sigP = payloads.find(x => x.type === Pt.SIG);
  if (!sigP) return { why: 'no SIG payload: the keys differ or the peer authenticates otherwise', kind: 'auth', notify: N.AUTHENTICATION_FAILED };
  const certs = peerCerts(k, sa, payloads);
  if (!Array.isArray(certs)) return certs;
  const pki = k.host.pki!;
  const id = decodeId(idBody);
  if (!id.ok) return { why: 'the peer\'s ID payload is malformed', kind: 'auth', notify: N.INVALID_ID_INFORMATION };
  const v = pki.check(certs, { type: id.value.type, data: id.value.data }, sa.policy);
  if (!v.ok) {
    k.trace(`certificate of ${intToIp(sa.peer)} refused: ${v.why}`, 'policy-manager');
    return { why: `certificate refused (${v.kind}): ${v.why}`, kind: 'cert', notify: v.kind === 'identity' ? N.INVALID_ID_INFORMATION : v.kind === 'untrusted' ? N.INVALID_CERT_AUTHORITY : N.INVALID_CERTIFICATE };
  }
  const key = v.cert.publicKey;
  const method = sa.choice!.method;
  const ok = method === 'rsa-signatures'
    ? key.asymmetricKeyType === 'rsa' && (() => { try { return hashEq(publicDecrypt({ key, padding: cc.RSA_PKCS1_PADDING }, sigP.body), want); } catch { return false; } })()
    : key.asymmetricKeyType === 'dsa' && dssVerify(want, sigP.body, key);
  if (!ok) return { why: `the signature does not verify with the peer's certificate (${v.cert.subject.split('\n').join(', ')}, ${key.asymmetricKeyType?.toUpperCase()} key, ${method})`, kind: 'auth', notify: N.INVALID_SIGNATURE };
  sa.peerCert = v.cert;
  pki.seen(intToIp(sa.peer), v.cert);
  k.trace(`certificate of ${intToIp(sa.peer)} accepted: ${v.cert.subject.split('\n').join(', ')} (serial ${BigInt(`0x${v.cert.serialNumber}`)}), by ${v.anchor.profile}`, 'policy-manager');
  return undefined;
}

/** Our phase 1 identity: the address we speak from (ID_IPV4_ADDR), or with certificates our certificate's subject (ID_DER_ASN1_DN). */
export function myId(k: KmdContext, sa: IkeSa): Buffer {
  if (sig(sa) && sa.auth && k.host.pki) {
    sa.localId = sa.auth.cert.subject.split('\n').join(', ');
    return encodeId({ type: IdType.DER_ASN1_DN, protocol: 0, port: 0, data: subjectDer(sa.auth.cert) });
  }
  const d = Buffer.alloc(4); d.writeUInt32BE(sa.local >>> 0);
  sa.localId = intToIp(sa.local);
  return encodeId({ type: IdType.IPV4_ADDR, protocol: 0, port: 0, data: d });
}
