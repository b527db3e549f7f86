/**
 * The read models of `show ipsec certificates [brief|detail] [SERIAL]` (`<get-certificates-information>`)
 * and `show ipsec certificates crl NAME` (`<get-crl-information>`): the certificate database (local
 * and CA certificates in /var/etc/ikecert, cached peer certificates) and the CA profiles' CRLs. The
 * CLI's text (src/pki/certs.ts) and the XML API's reply render these values.
 */
import type { Router } from '../../router/router.js';
import { certificateDatabase, CertEntry } from '../../pki/certs.js';

export interface CertificateList { entries: CertEntry[] }

export function readCertificates(r: Router): CertificateList {
  return { entries: certificateDatabase(r.files, [...r.pki.peers.values()].map(c => ({ name: c.peer, der: c.cert.raw }))) };
}

export type CrlList = ReturnType<Router['pki']['crlList']>;

export function readCrls(r: Router): CrlList { return r.pki.crlList(); }
