/**
 * Certificates and key pairs as the router keeps them in /var/etc/ikecert: DER (binary) or PEM, read
 * with node:crypto's X509Certificate; key pairs made with node:crypto (RSA or DSA), kept as PKCS#8 PEM,
 * owner-only, never shown.
 */
import { X509Certificate, generateKeyPair, createPrivateKey, KeyObject, createHash } from 'node:crypto';
import { promisify } from 'node:util';
import type { RouterFiles } from '../router/files.js';
import { IKECERT } from '../router/files.js';
import { holdsPrivateKey } from '../config/redact.js';

export const KEY_SIZES = [512, 1024, 1596, 2048] as const;
const genKeyPair = promisify(generateKeyPair);

export class PkiError extends Error {}

/** A file name in /var/etc/ikecert: a plain name (never `.` or `..`, which name a directory). */
export const fileNameOk = (name: string): boolean => /^[A-Za-z0-9._-]{1,64}$/.test(name) && !/^\.+$/.test(name);

/** `request security key-pair NAME size S type T`: the pair in /var/etc/ikecert/NAME. */
export async function makeKeyPair(files: RouterFiles, name: string, size: number, type: 'rsa' | 'dsa'): Promise<string> {
  if (!fileNameOk(name)) throw new PkiError(`error: invalid file name: ${name}`);
  let pair: { privateKey: KeyObject };
  try {
    pair = type === 'rsa'
      ? await genKeyPair('rsa', { modulusLength: size }) as unknown as { privateKey: KeyObject }
      : await genKeyPair('dsa', { modulusLength: size, divisorLength: 160 }) as unknown as { privateKey: KeyObject };
  } catch (e) {
    throw new PkiError(`error: could not generate a ${size}-bit ${type.toUpperCase()} key pair: ${(e as Error).message}${type === 'dsa' && size < 1024 ? ' (this platform\'s OpenSSL refuses DSA keys under 1024 bits)' : ''}`);
  }
  const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  files.write(`${IKECERT}/${name}`, pem, { secret: true });
  return `Generated key pair, key size ${size}, file ${name} Algorithm ${type.toUpperCase()}`;
}

/** A file in the other encoding than the one configured (`encoding (binary | pem)`). */
export class EncodingError extends PkiError {}
const isPem = (b: Buffer) => b.subarray(0, 4096).toString('latin1').includes('-----BEGIN ');
/** Why a file is not in `encoding` (binary: DER; pem: PEM), or undefined. */
export function encodingMismatch(b: Buffer, encoding: 'binary' | 'pem'): string | undefined {
  const pem = isPem(b);
  if (encoding === 'binary' && pem) return 'is PEM, but the encoding is binary (DER): set encoding pem, or store the file as DER';
  if (encoding === 'pem' && !pem) return 'is not PEM, but the encoding is pem: set encoding binary, or store the file as PEM';
  return undefined;
}

/**
 * A key pair file (PEM PKCS#8, or DER), in `encoding` when one is given (the IKE policy's). The
 * router's own key pairs (`request security key-pair`: PKCS#8 PEM, owner-only) are its key store's
 * format and read under either encoding; any other key pair file must be in the policy's encoding.
 */
export function loadKeyPair(files: RouterFiles, name: string, encoding?: 'binary' | 'pem'): KeyObject {
  const b = files.read(name);
  const own = files.isSecret(name) && /^-----BEGIN PRIVATE KEY-----/m.test(b.subarray(0, 4096).toString('latin1'));
  const wrong = encoding && !own ? encodingMismatch(b, encoding) : undefined;
  if (wrong) throw new EncodingError(`${name} ${wrong}`);
  try { return b.includes('-----BEGIN') ? createPrivateKey(b) : createPrivateKey({ key: b, format: 'der', type: 'pkcs8' }); }
  catch { throw new PkiError(`error: ${name} is not a key pair`); }
}

/** Every certificate in a file: PEM blocks, or one DER certificate. */
export function parseCertificates(b: Buffer): X509Certificate[] {
  const text = b.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const out: X509Certificate[] = [];
    for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)) {
      try { out.push(new X509Certificate(m[0])); } catch { /* not one */ }
    }
    return out;
  }
  try { return [new X509Certificate(b)]; } catch { return []; }
}

export const pemOf = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
/** A certificate stored in the profile's encoding (binary: DER, the chapter's default). */
export const encodeCert = (der: Buffer, encoding: 'binary' | 'pem') => (encoding === 'pem' ? Buffer.from(pemOf(der)) : der);

/** A DN as X509Certificate gives it ("C=US\nO=X"), one line: "C=US, O=X". */
export const oneLineDn = (dn: string) => dn.split('\n').filter(Boolean).join(', ');
export const fingerprint = (der: Buffer, alg: 'sha1' | 'md5') => createHash(alg).update(der).digest('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');

export interface CertEntry { file: string; cert: X509Certificate; kind: 'CA' | 'local' | 'peer' }

/** The certificate database: every certificate file in /var/etc/ikecert, and the peer certificates IKE has seen. */
export function certificateDatabase(files: RouterFiles, peers: Array<{ name: string; der: Buffer }> = []): CertEntry[] {
  const out: CertEntry[] = [];
  for (const f of files.list(IKECERT)) {
    if (f.dir || f.secret) continue;
    for (const c of parseCertificates(files.read(f.path))) out.push({ file: f.name, cert: c, kind: c.ca ? 'CA' : 'local' });
  }
  for (const p of peers) for (const c of parseCertificates(p.der)) out.push({ file: p.name, cert: c, kind: 'peer' });
  return out;
}

/** The entries with a serial number given in decimal (as shown) or hex; all of them without one. */
export function bySerial(entries: CertEntry[], serial?: string): CertEntry[] {
  if (!serial) return entries;
  return entries.filter(e => e.cert.serialNumber.replace(/^0+/, '').toLowerCase() === serial.replace(/^0x/, '').replace(/^0+/, '').toLowerCase() || BigInt(`0x${e.cert.serialNumber}`).toString() === serial);
}

type CrlItem = { profile: string; source: string; crl?: { issuer: string; thisUpdate: Date; nextUpdate?: Date; revoked: Map<string, Date> }; error?: string };
/** A profile's CRLs, or one by its file or URL. */
export const crlsNamed = <T extends CrlItem>(list: T[], name: string | undefined): T[] => list.filter(c => c.profile === name || c.source === name);
/** A CRL's revoked serial numbers (decimal) in order, with their dates. */
export const revokedInOrder = (revoked: Map<string, Date>): Array<[string, Date]> =>
  [...revoked].sort((a, b) => (BigInt(`0x${a[0]}`) < BigInt(`0x${b[0]}`) ? -1 : 1)).map(([serial, at]) => [BigInt(`0x${serial}`).toString(), at]);

/** `show ipsec certificates [brief|detail] [serial]` */
export function showCertificates(entries: CertEntry[], level: 'brief' | 'standard' | 'detail', serial?: string): string {
  const list = bySerial(entries, serial);
  if (serial && !list.length) return `error: no certificate with serial number ${serial}\n`;
  const out: string[] = [];
  if (level === 'brief') {
    out.push(`${'File'.padEnd(18)}${'Type'.padEnd(7)}${'Serial'.padEnd(26)}Subject`);
    for (const e of list) out.push(`${e.file.padEnd(17)} ${e.kind.padEnd(6)} ${BigInt(`0x${e.cert.serialNumber}`).toString().padEnd(25)} ${oneLineDn(e.cert.subject)}`);
    return out.join('\n') + '\n';
  }
  out.push(`Database: ${IKECERT}`, '');
  for (const e of list) {
    const c = e.cert, k = c.publicKey.asymmetricKeyDetails;
    out.push(`Certificate: ${e.file}, Type: ${e.kind}`,
      `  Serial number: ${BigInt(`0x${c.serialNumber}`).toString()}`,
      `  Issuer: ${oneLineDn(c.issuer)}`,
      `  Subject: ${oneLineDn(c.subject)}`);
    if (c.subjectAltName) out.push(`  Alternate subject: ${c.subjectAltName.replace(/IP Address:/g, '').replace(/DNS:/g, '')}`);
    out.push(`  Validity: Not before ${c.validFrom}, Not after ${c.validTo}`);
    if (level === 'detail') {
      out.push(`  Public key: ${c.publicKey.asymmetricKeyType?.toUpperCase()}, ${k?.modulusLength ?? '?'} bits`,
        `  Fingerprint: ${fingerprint(c.raw, 'sha1')} (sha1)`, `               ${fingerprint(c.raw, 'md5')} (md5)`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** `show ipsec certificates crl NAME`: a profile's CRLs (or one by its file or URL), their entries. */
export function showCrls(list: CrlItem[], name: string): string {
  const sel = crlsNamed(list, name);
  if (!sel.length) return `error: no CRL ${name} (a certification-authority profile with crl or ldap-url, or its file)\n`;
  const out: string[] = [];
  for (const c of sel) {
    out.push(`CRL: ${c.source}, CA profile: ${c.profile}`);
    if (!c.crl) { out.push(`  Not available: ${c.error ?? 'unknown'}`, ''); continue; }
    out.push(`  Issuer: ${oneLineDn(c.crl.issuer)}`, `  This update: ${c.crl.thisUpdate.toUTCString()}`, `  Next update: ${c.crl.nextUpdate ? c.crl.nextUpdate.toUTCString() : 'none'}`);
    if (c.error) out.push(`  Last fetch failed: ${c.error}`);
    out.push(`  Revoked certificates: ${c.crl.revoked.size}`);
    for (const [serial, at] of revokedInOrder(c.crl.revoked)) out.push(`    Serial number: ${serial}, revoked ${at.toUTCString()}`);
    out.push('');
  }
  return out.join('\n');
}

/** `file show PATH`: a text file as it is; a certificate (DER) by its fields; other binary files by their size. */
export function showFile(files: RouterFiles, path: string): string {
  if (files.isSecret(path)) throw new PkiError(`error: ${path} holds a private key: not shown`);
  const b = files.read(path);
  // whatever its mode: a PEM private key block, or a DER private key, is never shown (issue 21 item 5)
  if (holdsPrivateKey(b.toString('latin1')) || isDerPrivateKey(b)) throw new PkiError(`error: ${path} holds a private key: not shown`);
  const binary = b.subarray(0, 512).some(c => c === 0 || (c < 9) || (c > 13 && c < 32));
  if (!binary) return b.toString('utf8') + (b.length && b[b.length - 1] !== 10 ? '\n' : '');
  const certs = parseCertificates(b);
  return certs.length ? showCertificates(certs.map(c => ({ file: path, cert: c, kind: c.ca ? 'CA' as const : 'local' as const })), 'detail') : `${path}: binary file, ${b.length} bytes\n`;
}

function isDerPrivateKey(b: Buffer): boolean {
  if (b[0] !== 0x30) return false;
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try { createPrivateKey({ key: b, format: 'der', type }); return true; } catch { /* not this kind */ }
  }
  return false;
}
