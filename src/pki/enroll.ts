/**
 * `request security certificate enroll ...`, as the chapter gives it. It answers at once ("Certificate
 * enrollment has started") and the outcome goes to the kmd log, as on JUNOS.
 *
 * - The CA's certificate: `filename F ca-file C ca-name N url U` — SCEP GetCACaps and GetCACert; the
 *   certificate is saved as F (and as C when C names another file: a profile's `file` finds it) and
 *   logged with its fingerprints, for checking it offline against what the CA publishes.
 * - The router's own certificate: `filename F subject DN alternative-subject IP certification-authority
 *   PROFILE key-file KEYPAIR domain-name D` — SCEP PKCSReq: a PKCS#10 request signed with the key
 *   pair, in an envelope for the CA, under a signature by a transient self-signed certificate; the
 *   CA's CertRep is checked against the CA certificate of the profile. PENDING is polled (CertPoll)
 *   and an unreachable CA retried, up to `enrollment-retry` attempts (0: without end, as the chapter
 *   says), every `ENROLL_TIMING.pollMs`.
 */
import type { Router } from '../router/router.js';
import { getCaCaps, getCaCert, pkiOperation } from './scep.js';
import { buildCsr, buildCertificate, envelope, pkiMessage, readCertRep, transactionIdOf, issuerAndSubject, parseDn, MSG, ScepMsgError } from './scep-msg.js';
import { randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { encodeCert, fingerprint, oneLineDn, loadKeyPair, parseCertificates, PkiError, fileNameOk } from './certs.js';
import { IKECERT } from '../router/files.js';

export const ENROLL_OPTS = [
  { name: 'filename', help: 'File in /var/etc/ikecert that receives the certificate', arg: '<filename>' },
  { name: 'ca-file', help: 'File of the CA certificate', arg: '<ca-file>' },
  { name: 'ca-name', help: 'CA identity (typically the CA domain name)', arg: '<ca-name>' },
  { name: 'url', help: 'URL of the SCEP server (http://CA_name)', arg: '<url>' },
  { name: 'subject', help: 'Subject of the certificate (c=us,o=x)', arg: '<subject>' },
  { name: 'alternative-subject', help: 'IP address in the certificate', arg: '<address>' },
  { name: 'certification-authority', help: 'Certification authority profile', arg: '<ca-profile>' },
  { name: 'key-file', help: 'Key pair file', arg: '<key-file>' },
  { name: 'domain-name', help: 'Domain name in the certificate', arg: '<domain-name>' },
  { name: 'encoding', help: 'File format: binary or pem', arg: '<encoding>' },
  { name: 'challenge-password', help: 'Password the CA asks of enrolling routers', arg: '<password>' },
];

const FILE_RE = { test: fileNameOk };

export function enroll(r: Router, o: Map<string, string>, io: { write(s: string): void }): void {
  const filename = o.get('filename');
  if (!filename) { io.write('error: filename is required\n'); return; }
  if (!FILE_RE.test(filename)) { io.write(`error: invalid file name: ${filename}\n`); return; }
  const profileName = o.get('certification-authority');
  const profile = profileName ? r.model?.certificates.authorities.get(profileName) : undefined;
  if (profileName && !profile) { io.write(`error: certification-authority ${profileName} is not configured\n`); return; }
  const url = o.get('url') ?? profile?.enrollmentUrl, caName = o.get('ca-name') ?? profile?.caName, caFile = o.get('ca-file') ?? profile?.file;
  const encoding = (o.get('encoding') ?? profile?.encoding ?? 'binary') as 'binary' | 'pem';
  if (encoding !== 'binary' && encoding !== 'pem') { io.write(`error: encoding ${encoding}: binary or pem\n`); return; }
  if (caFile && !FILE_RE.test(caFile)) { io.write(`error: invalid file name: ${caFile}\n`); return; }
  if (o.has('subject')) return enrollLocal(r, o, io, { filename, profileName, url, caName, caFile, encoding });
  if (!url) { io.write('error: url is required (or a certification-authority profile with an enrollment-url)\n'); return; }
  if (!caName) { io.write('error: ca-name is required (or a certification-authority profile with a ca-name)\n'); return; }
  if (!/^http:\/\/[^/\s]+/i.test(url)) { io.write(`error: url ${url}: the format is http://CA_name\n`); return; }
  io.write(`URL: ${url} CA name: ${caName} CA file: ${caFile ?? filename} Encoding: ${encoding}\n`);
  io.write('Certificate enrollment has started. To see the certificate enrollment status, check\nthe key management process (kmd) log file at /var/log/kmd.\n');
  void (async () => {
    try {
      const caps = await getCaCaps(url, caName).catch(() => [] as string[]);
      r.kmdLog(`KMD_CERT_CA_CAPS: ${url}: CA capabilities ${caps.length ? caps.join(' ') : 'not given'}`);
      const { ca, ra } = await getCaCert(url, caName);
      const data = encodeCert(ca.raw, encoding);
      r.files.write(`${IKECERT}/${filename}`, data);
      if (caFile && caFile !== filename) r.files.write(`${IKECERT}/${caFile}`, data);
      r.kmdLog(`KMD_CERT_CA_RECEIVED: Received CA certificate: Subject ${oneLineDn(ca.subject)}; Issuer ${oneLineDn(ca.issuer)}; Serial ${BigInt(`0x${ca.serialNumber}`)}; Valid ${ca.validFrom} to ${ca.validTo}; Fingerprint ${fingerprint(ca.raw, 'sha1')} (sha1), ${fingerprint(ca.raw, 'md5')} (md5)${ra.length ? `; and ${ra.length} RA certificate(s)` : ''}; saved in ${IKECERT}/${filename}${caFile && caFile !== filename ? ` and ${IKECERT}/${caFile}` : ''}`);
    } catch (e) {
      r.kmdLog(`KMD_CERT_CA_FAILED: CA certificate from ${url} (CA name ${caName}) not obtained: ${(e as Error).message}`);
    }
  })();
}

/** How often a PENDING request is polled, and an unreachable CA tried again. */
export const ENROLL_TIMING = { pollMs: 10_000 };

interface Target { filename: string; profileName?: string; url?: string; caName?: string; caFile?: string; encoding: 'binary' | 'pem' }

/** `request security certificate enroll filename F subject DN ... certification-authority P key-file K` */
function enrollLocal(r: Router, o: Map<string, string>, io: { write(s: string): void }, t: Target): void {
  const subject = o.get('subject')!, keyFile = o.get('key-file'), alt = o.get('alternative-subject'), domain = o.get('domain-name');
  if (!t.profileName) { io.write('error: certification-authority is required: the profile gives the CA\'s URL, name and certificate\n'); return; }
  if (!keyFile) { io.write('error: key-file is required (make one with request security key-pair)\n'); return; }
  if (!t.url) { io.write(`error: certification-authority ${t.profileName} has no enrollment-url\n`); return; }
  if (!t.caName) { io.write(`error: certification-authority ${t.profileName} has no ca-name\n`); return; }
  if (!t.caFile) { io.write(`error: certification-authority ${t.profileName} has no file (the CA certificate)\n`); return; }
  if (!/^http:\/\/[^/\s]+/i.test(t.url)) { io.write(`error: url ${t.url}: the format is http://CA_name\n`); return; }
  if (alt !== undefined && isIP(alt) !== 4) { io.write(`error: alternative-subject ${alt}: an IPv4 address\n`); return; }
  if (domain !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,62}\.)*[A-Za-z0-9-]{1,63}$/.test(domain)) { io.write(`error: domain-name ${domain}: not a domain name\n`); return; }
  try { parseDn(subject); } catch (e) { io.write(`${(e as Error).message}\n`); return; }
  let key;
  try { key = loadKeyPair(r.files, keyFile); } catch (e) { io.write(`${e instanceof PkiError ? e.message : (e as Error).message}\n`); return; }
  if (key.asymmetricKeyType !== 'rsa') { io.write(`error: ${keyFile} is a ${key.asymmetricKeyType?.toUpperCase()} key pair: SCEP enrolls RSA keys only\n`); return; }
  let ca: X509Certificate | undefined;
  try { ca = parseCertificates(r.files.read(t.caFile)).find(c => c.ca) ?? parseCertificates(r.files.read(t.caFile))[0]; } catch { /* below */ }
  if (!ca) { io.write(`error: CA certificate ${t.caFile} not found in ${IKECERT}: obtain it first (request security certificate enroll filename ${t.caFile} ca-name ${t.caName} url ${t.url})\n`); return; }
  io.write(`CA name: ${t.caName} CA file: ${t.caFile}\nlocal pub/private key pair: ${keyFile}\nsubject: ${subject}${domain ? ` domain name: ${domain}` : ''}\n${alt ? `alternative subject: ${alt}\n` : ''}Encoding: ${t.encoding}\n`);
  io.write('Certificate enrollment has started. To see the certificate enrollment status, check\nthe key management process (kmd) log file at /var/log/kmd.\n');
  const caCert = ca;
  const k = key;
  const retries = r.model?.certificates.enrollmentRetry ?? 0;
  const tid = transactionIdOf(k);
  void (async () => {
    const csr = buildCsr(k, subject, { ...(alt ? { ip: alt } : {}), ...(domain ? { dns: domain } : {}) }, o.get('challenge-password'));
    const self = new X509Certificate(buildCertificate({ subject, key: k, signer: k }));
    r.kmdLog(`KMD_CERT_ENROLL_START: enrolling ${subject} (key pair ${keyFile}) with ${t.caName} at ${t.url}, transaction ${tid}`);
    let attempt = 0, pending = false;
    for (;;) {
      attempt++;
      try {
        const caps = await getCaCaps(t.url!, t.caName!).catch(() => [] as string[]);
        // the envelope goes to the CA's encryption certificate: an RA's if the CA has one
        const { ca: liveCa, ra } = await getCaCert(t.url!, t.caName!);
        if (!liveCa.raw.equals(caCert.raw)) throw new ScepMsgError(`the CA at ${t.url} presents another certificate (${fingerprint(liveCa.raw, 'sha1')}) than ${t.caFile} (${fingerprint(caCert.raw, 'sha1')})`);
        const recipient = ra.find(c => c.checkIssued(caCert)) ?? caCert;
        const cipher = caps.some(c => /^AES$/i.test(c)) ? 'aes-128-cbc' : 'des-ede3-cbc';
        const nonce = randomBytes(16);
        const content = pending ? issuerAndSubject(caCert, subject) : csr;
        const msg = pkiMessage({ type: pending ? MSG.CertPoll : MSG.PKCSReq, transactionId: tid, senderNonce: nonce, content: envelope(content, recipient, cipher), signer: k, signerCert: self, digest: caps.some(c => /^SHA-256$/i.test(c)) ? 'sha256' : 'sha1' });
        const body = await pkiOperation(t.url!, msg, caps.some(c => /^POSTPKIOperation$/i.test(c)));
        const rep = readCertRep(body, { signers: [caCert, ...ra], key: k, senderNonce: nonce, transactionId: tid });
        if (rep.status === 'SUCCESS') {
          const mine = rep.certs.find(c => c.publicKey.export({ type: 'spki', format: 'der' }).equals(self.publicKey.export({ type: 'spki', format: 'der' })));
          if (!mine) throw new ScepMsgError('the CA issued no certificate for our key');
          if (!mine.verify(caCert.publicKey)) throw new ScepMsgError('the issued certificate is not signed by the CA');
          r.files.write(`${IKECERT}/${t.filename}`, encodeCert(mine.raw, t.encoding));
          r.kmdLog(`KMD_CERT_ENROLLED: Received local certificate: Subject ${oneLineDn(mine.subject)}; Issuer ${oneLineDn(mine.issuer)}; Serial ${BigInt(`0x${mine.serialNumber}`)}${mine.subjectAltName ? `; Alternate subject ${mine.subjectAltName}` : ''}; Valid ${mine.validFrom} to ${mine.validTo}; saved in ${IKECERT}/${t.filename}`);
          return;
        }
        if (rep.status === 'FAILURE') { r.kmdLog(`KMD_CERT_ENROLL_FAILED: ${t.caName} refused the request for ${subject}: ${rep.failInfo}`); return; }
        pending = true;
        r.kmdLog(`KMD_CERT_ENROLL_PENDING: ${t.caName} holds the request for ${subject} (PENDING): polling again in ${ENROLL_TIMING.pollMs / 1000} s`);
      } catch (e) {
        r.kmdLog(`KMD_CERT_ENROLL_ERROR: enrollment of ${subject} with ${t.url}, attempt ${attempt}: ${(e as Error).message}`);
      }
      if (retries !== 0 && attempt > retries) { r.kmdLog(`KMD_CERT_ENROLL_FAILED: enrollment of ${subject} given up after ${attempt} attempts (enrollment-retry ${retries})`); return; }
      if (r.stopped) return;
      await new Promise(res => setTimeout(res, ENROLL_TIMING.pollMs).unref?.());
      if (r.stopped) return;
    }
  })();
}
