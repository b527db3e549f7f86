/**
 * SCEP messages (RFC 8894) and the X.509 structures under them, built with asn1js/pkijs and signed,
 * encrypted and verified with node:crypto:
 * - a PKCS#10 request (subject DN, subjectAltName IP and DNS, the challenge password where the CA
 *   wants one), signed with the router's key pair;
 * - the self-signed certificate that signs the request's envelope (RFC 8894 3.1: the requester has
 *   no certificate yet);
 * - the pkiMessage: CMS SignedData (messageType, transactionID, senderNonce) around an EnvelopedData
 *   encrypted to the CA (AES-128 or 3DES, the key under the CA's RSA key, PKCS#1 v1.5);
 * - the CA's CertRep: its signature checked with the CA's certificate, its status read, its envelope
 *   opened with our key, the issued certificate taken out.
 *
 * Why by hand around pkijs: pkijs signs and encrypts through WebCrypto, which has no RSA PKCS#1 v1.5
 * key transport (SCEP needs it) and no DES; and Node 20's OpenSSL refuses PKCS#1 v1.5 private
 * decryption (CVE-2023-46809), so the content key is unwrapped raw and its padding checked here.
 */
import { createHash, createSign, createVerify, createCipheriv, createDecipheriv, privateDecrypt, publicEncrypt, randomBytes, constants, KeyObject, X509Certificate, createPublicKey } from 'node:crypto';
import type * as asn1jsT from 'asn1js';
import type * as pkijsT from 'pkijs';
import { parseCertificates } from './certs.js';
import { lazy } from '../util/lazy.js';

const asn1js = lazy<typeof asn1jsT>('asn1js');
const pkijs = lazy<typeof pkijsT>('pkijs');

export class ScepMsgError extends Error {}

export const OID = {
  data: '1.2.840.113549.1.7.1', signedData: '1.2.840.113549.1.7.2', envelopedData: '1.2.840.113549.1.7.3',
  contentType: '1.2.840.113549.1.9.3', messageDigest: '1.2.840.113549.1.9.4', signingTime: '1.2.840.113549.1.9.5',
  challengePassword: '1.2.840.113549.1.9.7', extensionRequest: '1.2.840.113549.1.9.14',
  messageType: '2.16.840.1.113733.1.9.2', pkiStatus: '2.16.840.1.113733.1.9.3', failInfo: '2.16.840.1.113733.1.9.4',
  senderNonce: '2.16.840.1.113733.1.9.5', recipientNonce: '2.16.840.1.113733.1.9.6', transactionID: '2.16.840.1.113733.1.9.7',
  sha1: '1.3.14.3.2.26', sha256: '2.16.840.1.101.3.4.2.1',
  rsa: '1.2.840.113549.1.1.1', sha256Rsa: '1.2.840.113549.1.1.11', sha1Rsa: '1.2.840.113549.1.1.5',
  dsaSha1: '1.2.840.10040.4.3', dsaSha256: '2.16.840.1.101.3.4.3.2',
  aes128: '2.16.840.1.101.3.4.1.2', aes256: '2.16.840.1.101.3.4.1.42', des3: '1.2.840.113549.3.7', des: '1.3.14.3.2.7',
  subjectAltName: '2.5.29.17', basicConstraints: '2.5.29.19', keyUsage: '2.5.29.15',
} as const;

/** The attribute names a DN may use, as in `subject c=us,o=x`. */
const DN_OIDS: Record<string, string> = {
  c: '2.5.4.6', o: '2.5.4.10', ou: '2.5.4.11', cn: '2.5.4.3', l: '2.5.4.7', st: '2.5.4.8', s: '2.5.4.8',
  dc: '0.9.2342.19200300.100.1.25', emailaddress: '1.2.840.113549.1.9.1', e: '1.2.840.113549.1.9.1', serialnumber: '2.5.4.5',
};

/** "c=us,o=x" to its parts (an escaped comma "\," stays in a value); a bad DN is an error. */
export function parseDn(dn: string): Array<{ key: string; value: string }> {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < dn.length; i++) {
    const ch = dn[i]!;
    if (ch === '\\' && i + 1 < dn.length) { cur += dn[++i]; continue; }
    if (ch === ',' || ch === '/') { parts.push(cur); cur = ''; continue; }
    cur += ch;
  }
  parts.push(cur);
  const out: Array<{ key: string; value: string }> = [];
  for (const p of parts.map(s => s.trim()).filter(Boolean)) {
    const eq = p.indexOf('=');
    const key = p.slice(0, eq).trim().toLowerCase(), value = p.slice(eq + 1).trim();
    if (eq <= 0 || !value) throw new ScepMsgError(`error: invalid subject: "${p}" is not attribute=value`);
    if (!DN_OIDS[key]) throw new ScepMsgError(`error: invalid subject: unknown attribute ${key} (c, o, ou, cn, l, st, dc, e)`);
    if (key === 'c' && !/^[A-Za-z]{2}$/.test(value)) throw new ScepMsgError(`error: invalid subject: c=${value}: a country is two letters`);
    if (value.length > 64) throw new ScepMsgError(`error: invalid subject: ${key}: longer than 64 characters`);
    out.push({ key, value });
  }
  if (!out.length) throw new ScepMsgError('error: invalid subject: empty');
  return out;
}

/** A DN as an X.501 Name: one RDN per attribute, in the order given. */
export function dnToName(dn: string): pkijsT.RelativeDistinguishedNames {
  const rdns = parseDn(dn).map(({ key, value }) => new asn1js.Set({ value: [new pkijs.AttributeTypeAndValue({
    type: DN_OIDS[key]!,
    value: key === 'c' ? new asn1js.PrintableString({ value: value.toUpperCase() }) : key === 'e' || key === 'emailaddress' || key === 'dc' ? new asn1js.IA5String({ value }) : new asn1js.Utf8String({ value }),
  }).toSchema()] }));
  // pkijs would put every attribute in one multi-valued RDN: the Name is built as DER and read back
  const b = new asn1js.Sequence({ value: rdns }).toBER(false);
  return new pkijs.RelativeDistinguishedNames({ schema: asn1js.fromBER(b).result });
}

const der = (s: { toBER(sizeOnly?: boolean): ArrayBuffer }) => Buffer.from(s.toBER(false));
const fromDer = (b: Buffer | Uint8Array) => {
  const a = asn1js.fromBER(new Uint8Array(b));
  if (a.offset === -1) throw new ScepMsgError('not DER');
  return a.result;
};
const spkiOf = (key: KeyObject) => new pkijs.PublicKeyInfo({ schema: fromDer(createPublicKey(key).export({ type: 'spki', format: 'der' })) });
const algId = (oid: string, params?: asn1jsT.AsnType) => new pkijs.AlgorithmIdentifier({ algorithmId: oid, ...(params ? { algorithmParams: params } : {}) });
function sigAlg(key: KeyObject): { oid: string; hash: 'sha256'; params?: asn1jsT.AsnType } {
  if (key.asymmetricKeyType === 'rsa') return { oid: OID.sha256Rsa, hash: 'sha256', params: new asn1js.Null() };
  if (key.asymmetricKeyType === 'dsa') return { oid: OID.dsaSha256, hash: 'sha256' };
  throw new ScepMsgError(`a ${key.asymmetricKeyType} key cannot sign here`);
}
function signBytes(key: KeyObject, data: Buffer): { alg: pkijsT.AlgorithmIdentifier; value: Buffer } {
  const a = sigAlg(key);
  return { alg: algId(a.oid, a.params), value: createSign(a.hash).update(data).sign(key) };
}

function sanExtension(san: { ip?: string; dns?: string }): pkijsT.Extension | undefined {
  const names: pkijsT.GeneralName[] = [];
  if (san.dns) names.push(new pkijs.GeneralName({ type: 2, value: san.dns }));
  if (san.ip) names.push(new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: new Uint8Array(san.ip.split('.').map(Number)).buffer }) }));
  if (!names.length) return undefined;
  const alt = new pkijs.AltName({ altNames: names });
  return new pkijs.Extension({ extnID: OID.subjectAltName, critical: false, extnValue: alt.toSchema().toBER(false), parsedValue: alt });
}

/** A PKCS#10 request for `subject`, with the alternative subject (IP) and domain name as subjectAltName. */
export function buildCsr(key: KeyObject, subject: string, san: { ip?: string; dns?: string }, challenge?: string): Buffer {
  const csr = new pkijs.CertificationRequest();
  csr.version = 0;
  csr.subject = dnToName(subject);
  csr.subjectPublicKeyInfo = spkiOf(key);
  const attrs: pkijsT.Attribute[] = [];
  if (challenge) attrs.push(new pkijs.Attribute({ type: OID.challengePassword, values: [new asn1js.PrintableString({ value: challenge })] }));
  const ext = sanExtension(san);
  if (ext) attrs.push(new pkijs.Attribute({ type: OID.extensionRequest, values: [new pkijs.Extensions({ extensions: [ext] }).toSchema()] }));
  csr.attributes = attrs;
  csr.tbsView = new Uint8Array((csr as unknown as { encodeTBS(): asn1jsT.Sequence }).encodeTBS().toBER(false));
  const s = signBytes(key, Buffer.from(csr.tbsView));
  csr.signatureAlgorithm = s.alg;
  csr.signatureValue = new asn1js.BitString({ valueHex: new Uint8Array(s.value).buffer });
  return der(csr.toSchema(false));
}

/** A certificate: self-signed when no issuer is given (SCEP's transient signer), else issued by `issuer`. */
export function buildCertificate(o: {
  subject: string | pkijsT.RelativeDistinguishedNames; key: KeyObject; signer: KeyObject; issuer?: X509Certificate;
  serial?: Buffer; notBefore?: Date; notAfter?: Date; ca?: boolean; pathLen?: number; san?: { ip?: string; dns?: string };
}): Buffer {
  const c = new pkijs.Certificate();
  c.version = 2;
  const serial = o.serial ?? randomBytes(8);
  serial[0]! &= 0x7f; if (serial[0] === 0) serial[0] = 1;
  c.serialNumber = new asn1js.Integer({ valueHex: new Uint8Array(serial).buffer });
  const subject = typeof o.subject === 'string' ? dnToName(o.subject) : o.subject;
  c.subject = subject;
  c.issuer = o.issuer ? new pkijs.Certificate({ schema: fromDer(o.issuer.raw) }).subject : subject;
  c.notBefore.value = o.notBefore ?? new Date(Date.now() - 3600_000);
  c.notAfter.value = o.notAfter ?? new Date(Date.now() + 24 * 3600_000);
  c.subjectPublicKeyInfo = spkiOf(o.key);
  const ext: pkijsT.Extension[] = [];
  if (o.ca) {
    const bc = new pkijs.BasicConstraints({ cA: true, ...(o.pathLen !== undefined ? { pathLenConstraint: o.pathLen } : {}) });
    ext.push(new pkijs.Extension({ extnID: OID.basicConstraints, critical: true, extnValue: bc.toSchema().toBER(false), parsedValue: bc }));
  }
  const san = o.san && sanExtension(o.san);
  if (san) ext.push(san);
  if (ext.length) c.extensions = ext;
  const a = sigAlg(o.signer);
  c.signature = algId(a.oid, a.params);
  c.tbsView = new Uint8Array(c.encodeTBS().toBER(false));
  const s = signBytes(o.signer, Buffer.from(c.tbsView));
  c.signatureAlgorithm = s.alg;
  c.signatureValue = new asn1js.BitString({ valueHex: new Uint8Array(s.value).buffer });
  return der(c.toSchema(false));
}

// ------------------------------------------------------------------------------------- CMS

const attr = (type: string, value: asn1jsT.AsnType) => new pkijs.Attribute({ type, values: [value] });
/** DER orders a SET OF by its members' encodings (the CA re-encodes the signed attributes to check them). */
function sortedSet(attrs: pkijsT.Attribute[]): { attrs: pkijsT.Attribute[]; setDer: Buffer } {
  const enc = attrs.map(a => ({ a, d: der(a.toSchema()) }));
  enc.sort((x, y) => Buffer.compare(x.d, y.d));
  return { attrs: enc.map(e => e.a), setDer: der(new asn1js.Set({ value: enc.map(e => e.a.toSchema()) })) };
}

function issuerAndSerial(cert: X509Certificate): pkijsT.IssuerAndSerialNumber {
  const c = new pkijs.Certificate({ schema: fromDer(cert.raw) });
  return new pkijs.IssuerAndSerialNumber({ issuer: c.issuer, serialNumber: c.serialNumber });
}

export type ContentCipher = 'aes-128-cbc' | 'des-ede3-cbc';

/** EnvelopedData: `content` for `recipient` (its RSA key wraps the content key, PKCS#1 v1.5). */
export function envelope(content: Buffer, recipient: X509Certificate, cipher: ContentCipher): Buffer {
  if (recipient.publicKey.asymmetricKeyType !== 'rsa') throw new ScepMsgError('the CA certificate has no RSA key: SCEP needs one');
  const key = randomBytes(cipher === 'aes-128-cbc' ? 16 : 24), iv = randomBytes(cipher === 'aes-128-cbc' ? 16 : 8);
  const c = createCipheriv(cipher, key, iv);
  const ct = Buffer.concat([c.update(content), c.final()]);
  const wrapped = publicEncrypt({ key: recipient.publicKey, padding: constants.RSA_PKCS1_PADDING }, key);
  const ias = issuerAndSerial(recipient);
  const ktri = new asn1js.Sequence({ value: [
    new asn1js.Integer({ value: 0 }), ias.toSchema(), algId(OID.rsa, new asn1js.Null()).toSchema(), new asn1js.OctetString({ valueHex: new Uint8Array(wrapped).buffer }),
  ] });
  const eci = new asn1js.Sequence({ value: [
    new asn1js.ObjectIdentifier({ value: OID.data }),
    algId(cipher === 'aes-128-cbc' ? OID.aes128 : OID.des3, new asn1js.OctetString({ valueHex: new Uint8Array(iv).buffer })).toSchema(),
    new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: new Uint8Array(ct).buffer }),
  ] });
  const ed = new asn1js.Sequence({ value: [new asn1js.Integer({ value: 0 }), new asn1js.Set({ value: [ktri] }), eci] });
  return der(new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.envelopedData }), new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [ed] })] }));
}

/** The content of an EnvelopedData for us (our private RSA key). */
export function openEnvelope(envDer: Buffer, key: KeyObject): Buffer {
  try { return openEnvelopeUnsafe(envDer, key); } catch (e) {
    if (e instanceof ScepMsgError) throw e;
    throw new ScepMsgError(`the envelope is malformed (${(e as Error).message})`);
  }
}
function openEnvelopeUnsafe(envDer: Buffer, key: KeyObject): Buffer {
  const ci = new pkijs.ContentInfo({ schema: fromDer(envDer) });
  if (ci.contentType !== OID.envelopedData) throw new ScepMsgError(`not an EnvelopedData (${ci.contentType})`);
  const ed = new pkijs.EnvelopedData({ schema: ci.content });
  const ri = ed.recipientInfos[0]?.value;
  if (!(ri instanceof pkijs.KeyTransRecipientInfo)) throw new ScepMsgError('the envelope has no key transport recipient');
  const wrapped = Buffer.from(ri.encryptedKey.valueBlock.valueHexView);
  // PKCS#1 v1.5 type 2 unwrapped by hand (Node 20 refuses it, CVE-2023-46809): 00 02 PS(>=8 nonzero) 00 KEY
  const em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, wrapped);
  const sep = em.indexOf(0, 2);
  if (em[0] !== 0 || em[1] !== 2 || sep < 10) throw new ScepMsgError('the envelope\'s key does not decrypt with our key');
  const ck = em.subarray(sep + 1);
  const alg = ed.encryptedContentInfo.contentEncryptionAlgorithm;
  const iv = Buffer.from((alg.algorithmParams as asn1jsT.OctetString).valueBlock.valueHexView);
  const ctBlock = ed.encryptedContentInfo.encryptedContent;
  if (!ctBlock) throw new ScepMsgError('the envelope is empty');
  // a constructed OCTET STRING (BER) comes in pieces
  const ct = ctBlock.idBlock.isConstructed
    ? Buffer.concat((ctBlock.valueBlock as unknown as { value: asn1jsT.OctetString[] }).value.map(p => Buffer.from(p.valueBlock.valueHexView)))
    : Buffer.from(ctBlock.valueBlock.valueHexView);
  let cipher: string, k: Buffer = ck;
  switch (alg.algorithmId) {
    case OID.aes128: cipher = 'aes-128-cbc'; break;
    case OID.aes256: cipher = 'aes-256-cbc'; break;
    case OID.des3: cipher = 'des-ede3-cbc'; break;
    // single DES (the Go SCEP server's default): 3DES with the key three times is DES, and OpenSSL 3 keeps DES in its legacy provider only
    case OID.des: cipher = 'des-ede3-cbc'; k = Buffer.concat([ck, ck, ck]); break;
    default: throw new ScepMsgError(`the envelope uses a cipher we do not know (${alg.algorithmId})`);
  }
  try {
    const d = createDecipheriv(cipher, k, iv);
    return Buffer.concat([d.update(ct), d.final()]);
  } catch { throw new ScepMsgError('the envelope does not decrypt'); }
}

export const MSG = { CertRep: 3, RenewalReq: 17, PKCSReq: 19, CertPoll: 20, GetCert: 21, GetCRL: 22 } as const;
export const FAIL_INFO: Record<string, string> = { 0: 'badAlg', 1: 'badMessageCheck', 2: 'badRequest', 3: 'badTime', 4: 'badCertId' };

/** A pkiMessage: SignedData over `content` (an EnvelopedData) with the SCEP attributes, signed by `signer`/`signerCert`. */
export function pkiMessage(o: { type: number; transactionId: string; senderNonce: Buffer; content: Buffer; signer: KeyObject; signerCert: X509Certificate; digest?: 'sha256' | 'sha1'; extra?: Array<[string, string | Buffer]> }): Buffer {
  const digest = o.digest ?? 'sha256';
  const digestOid = digest === 'sha256' ? OID.sha256 : OID.sha1;
  const { attrs, setDer } = sortedSet([
    attr(OID.contentType, new asn1js.ObjectIdentifier({ value: OID.data })),
    attr(OID.messageDigest, new asn1js.OctetString({ valueHex: new Uint8Array(createHash(digest).update(o.content).digest()).buffer })),
    attr(OID.signingTime, new asn1js.UTCTime({ valueDate: new Date() })),
    attr(OID.messageType, new asn1js.PrintableString({ value: String(o.type) })),
    attr(OID.transactionID, new asn1js.PrintableString({ value: o.transactionId })),
    attr(OID.senderNonce, new asn1js.OctetString({ valueHex: new Uint8Array(o.senderNonce).buffer })),
    ...(o.extra ?? []).map(([oid, v]) => attr(oid, typeof v === 'string' ? new asn1js.PrintableString({ value: v }) : new asn1js.OctetString({ valueHex: new Uint8Array(v).buffer }))),
  ]);
  const signature = createSign(digest).update(setDer).sign(o.signer);
  const si = new asn1js.Sequence({ value: [
    new asn1js.Integer({ value: 1 }), issuerAndSerial(o.signerCert).toSchema(), algId(digestOid).toSchema(),
    new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: attrs.map(a => a.toSchema()) }),
    algId(OID.rsa, new asn1js.Null()).toSchema(), new asn1js.OctetString({ valueHex: new Uint8Array(signature).buffer }),
  ] });
  const sd = new asn1js.Sequence({ value: [
    new asn1js.Integer({ value: 1 }), new asn1js.Set({ value: [algId(digestOid).toSchema()] }),
    new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.data }), new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.OctetString({ valueHex: new Uint8Array(o.content).buffer })] })] }),
    new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [fromDer(o.signerCert.raw)] }),
    new asn1js.Set({ value: [si] }),
  ] });
  return der(new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.signedData }), new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [sd] })] }));
}

export interface CertRep { status: 'SUCCESS' | 'FAILURE' | 'PENDING'; failInfo?: string; transactionId?: string; recipientNonce?: Buffer; certs: X509Certificate[] }

/**
 * The CA's answer: the signature checked against `ca` (or an RA certificate the CA sent), the nonce
 * ours, the status read; on success the envelope opened with `key` and the certificates taken out.
 */
export function readCertRep(b: Buffer, o: { signers: X509Certificate[]; key: KeyObject; senderNonce: Buffer; transactionId: string }): CertRep {
  try { return readCertRepUnsafe(b, o); } catch (e) {
    if (e instanceof ScepMsgError) throw e;
    throw new ScepMsgError(`the CA's answer is malformed (${(e as Error).message})`);
  }
}
function readCertRepUnsafe(b: Buffer, o: { signers: X509Certificate[]; key: KeyObject; senderNonce: Buffer; transactionId: string }): CertRep {
  let ci: pkijsT.ContentInfo, sd: pkijsT.SignedData;
  try {
    ci = new pkijs.ContentInfo({ schema: fromDer(b) });
    if (ci.contentType !== OID.signedData) throw new ScepMsgError(`not a SignedData (${ci.contentType})`);
    sd = new pkijs.SignedData({ schema: ci.content });
  } catch (e) { throw new ScepMsgError(`the CA's answer is not a SCEP message: ${(e as Error).message}`); }
  const si = sd.signerInfos[0];
  if (!si?.signedAttrs) throw new ScepMsgError('the CA\'s answer is not signed');
  const attrs = new Map<string, asn1jsT.AsnType>();
  for (const a of si.signedAttrs.attributes) if (a.values[0]) attrs.set(a.type, a.values[0]);
  const str = (oid: string) => { const v = attrs.get(oid) as asn1jsT.PrintableString | undefined; return v?.valueBlock && 'value' in v.valueBlock ? String((v.valueBlock as { value: string }).value) : undefined; };
  const oct = (oid: string) => { const v = attrs.get(oid) as asn1jsT.OctetString | undefined; return v?.valueBlock?.valueHexView ? Buffer.from(v.valueBlock.valueHexView) : undefined; };
  // the signature: over the signed attributes as a SET, by one of the CA's certificates
  const forms: Buffer[] = [];
  if (si.signedAttrs.encodedValue?.byteLength) forms.push(Buffer.from(new Uint8Array(si.signedAttrs.encodedValue)));
  forms.push(Buffer.from(new Uint8Array(si.signedAttrs.toSchema().toBER(false))));
  for (const f of forms) f[0] = 0x31;
  const hashName = si.digestAlgorithm.algorithmId === OID.sha1 ? 'sha1' : si.digestAlgorithm.algorithmId === OID.sha256 ? 'sha256' : undefined;
  if (!hashName) throw new ScepMsgError(`the CA signs with a digest we do not know (${si.digestAlgorithm.algorithmId})`);
  const sigValue = Buffer.from(si.signature.valueBlock.valueHexView);
  const embedded = (sd.certificates ?? []).filter((c): c is pkijsT.Certificate => c instanceof pkijs.Certificate).flatMap(c => parseCertificates(Buffer.from(c.toSchema().toBER(false))));
  const candidates = [...o.signers, ...embedded.filter(e => o.signers.some(s => e.checkIssued(s) && e.verify(s.publicKey)))];
  const ok = candidates.some(c => forms.some(d => { try { return createVerify(hashName).update(d).verify(c.publicKey, sigValue); } catch { return false; } }));
  if (!ok) throw new ScepMsgError('the CA\'s answer is not signed by the CA');
  const econtent = sd.encapContentInfo.eContent;
  const content = econtent ? (econtent.idBlock.isConstructed
    ? Buffer.concat((econtent.valueBlock as unknown as { value: asn1jsT.OctetString[] }).value.map(p => Buffer.from(p.valueBlock.valueHexView)))
    : Buffer.from(econtent.valueBlock.valueHexView)) : Buffer.alloc(0);
  const md = oct(OID.messageDigest);
  // RFC 8894 3.2.1: messageDigest, recipientNonce and transactionID are mandatory in a CertRep
  if (!md) throw new ScepMsgError('the CA\'s answer has no messageDigest');
  if (!md.equals(createHash(hashName).update(content).digest())) throw new ScepMsgError('the CA\'s answer does not match its digest');
  if (str(OID.messageType) !== String(MSG.CertRep)) throw new ScepMsgError(`the CA answered with message type ${str(OID.messageType) ?? 'none'}, not CertRep`);
  const rn = oct(OID.recipientNonce);
  if (!rn) throw new ScepMsgError('the CA\'s answer has no recipientNonce');
  if (!rn.equals(o.senderNonce)) throw new ScepMsgError('the CA\'s answer is for another request (recipientNonce)');
  const tid = str(OID.transactionID);
  if (tid === undefined) throw new ScepMsgError('the CA\'s answer has no transactionID');
  if (tid !== o.transactionId) throw new ScepMsgError('the CA\'s answer is for another transaction');
  const st = str(OID.pkiStatus);
  const status = st === '0' ? 'SUCCESS' : st === '2' ? 'FAILURE' : st === '3' ? 'PENDING' : undefined;
  if (!status) throw new ScepMsgError(`the CA's answer has no status we know (${st ?? 'none'})`);
  const out: CertRep = { status, certs: [], ...(tid ? { transactionId: tid } : {}), ...(rn ? { recipientNonce: rn } : {}) };
  if (status === 'FAILURE') { const f = str(OID.failInfo); out.failInfo = f !== undefined ? FAIL_INFO[f] ?? f : 'not given'; }
  if (status === 'SUCCESS') {
    const inner = openEnvelope(content, o.key);
    const dci = new pkijs.ContentInfo({ schema: fromDer(inner) });
    const dsd = new pkijs.SignedData({ schema: dci.content });
    for (const c of dsd.certificates ?? []) if (c instanceof pkijs.Certificate) out.certs.push(...parseCertificates(Buffer.from(c.toSchema().toBER(false))));
    if (!out.certs.length) throw new ScepMsgError('the CA\'s answer holds no certificate');
  }
  return out;
}

/** RFC 8894 3.2.1.1: the transaction ID, here the SHA-256 of the public key, in hex. */
export const transactionIdOf = (key: KeyObject) => createHash('sha256').update(createPublicKey(key).export({ type: 'spki', format: 'der' })).digest('hex').toUpperCase();

/** CertPoll (GetCertInitial)'s content: IssuerAndSubject of the request. */
export function issuerAndSubject(ca: X509Certificate, subject: string): Buffer {
  const caCert = new pkijs.Certificate({ schema: fromDer(ca.raw) });
  return der(new asn1js.Sequence({ value: [caCert.subject.toSchema(), dnToName(subject).toSchema()] }));
}
