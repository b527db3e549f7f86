/**
 * `request security certificate enroll ...`, as the chapter gives it. It answers at once ("Certificate
 * enrollment has started") and the outcome goes to the kmd log, as on JUNOS.
 *
 * - The CA's certificate: `filename F ca-file C ca-name N url U` — SCEP GetCACaps and GetCACert; the
 *   certificate is saved as F (and as C when C names another file: a profile's `file` finds it) and
 *   logged with its fingerprints, for checking it offline against what the CA publishes.
 * - The router's own certificate: `filename F subject DN alternative-subject IP certification-authority
 *   PROFILE key-file KEYPAIR domain-name D` — SCEP PKCSReq (not in this release: see docs/pki.md).
 */
import type { Router } from '../router/router.js';
import { getCaCaps, getCaCert } from './scep.js';
import { encodeCert, fingerprint, oneLineDn } from './certs.js';
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
];

const FILE_RE = /^[A-Za-z0-9._-]{1,64}$/;

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
  if (o.has('subject')) {
    io.write('error: enrolling the router\'s own certificate (SCEP PKCSReq) is not available in this release; the CA\'s certificate is (filename, ca-file, ca-name, url)\n');
    return;
  }
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
