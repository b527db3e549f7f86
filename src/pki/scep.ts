/**
 * The SCEP client (RFC 8894) the router enrolls with. HTTP through the Routing Engine's own stack
 * (node:http: the router process's sockets live in its namespace). Every answer is bounded in size
 * and time; what the CA says is parsed, never trusted blindly.
 */
import http from 'node:http';
import { parseCertificates } from './certs.js';
import type { X509Certificate } from 'node:crypto';
import type * as asn1jsT from 'asn1js';
import type * as pkijsT from 'pkijs';
import { lazy } from '../util/lazy.js';

const asn1js = lazy<typeof asn1jsT>('asn1js');
const pkijs = lazy<typeof pkijsT>('pkijs');

export const SCEP_LIMITS = { bytes: 1024 * 1024, timeoutMs: 10_000 };

export class ScepError extends Error {}

/** GET url?operation=OP[&message=M]: status, content type and body (at most 1 MiB, within 10 s). */
export function scepGet(url: string, operation: string, message?: string): Promise<{ status: number; type: string; body: Buffer }> {
  return scepHttp(url, operation, message);
}

/** One HTTP exchange with the CA: GET with the message in the query, or POST with it as the body. */
function scepHttp(url: string, operation: string, message?: string, post?: Buffer): Promise<{ status: number; type: string; body: Buffer }> {
  let u: URL;
  try { u = new URL(url); } catch { return Promise.reject(new ScepError(`invalid URL ${url}`)); }
  if (u.protocol !== 'http:') return Promise.reject(new ScepError(`${url}: SCEP needs an http:// URL`));
  u.searchParams.set('operation', operation);
  if (message !== undefined) u.searchParams.set('message', message);
  return new Promise((resolve, reject) => {
    const req = http.request(u, { method: post ? 'POST' : 'GET', timeout: SCEP_LIMITS.timeoutMs, ...(post ? { headers: { 'content-type': 'application/x-pki-message', 'content-length': post.length } } : {}) }, res => {
      const parts: Buffer[] = [];
      let n = 0;
      res.on('data', (d: Buffer) => {
        n += d.length;
        if (n > SCEP_LIMITS.bytes) { req.destroy(new ScepError(`${u.host}: answer larger than ${SCEP_LIMITS.bytes} bytes`)); return; }
        parts.push(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new ScepError(`${u.host}: no answer in ${SCEP_LIMITS.timeoutMs / 1000} s`)));
    req.on('error', e => reject(e instanceof ScepError ? e : new ScepError(`${u.host}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    req.end(post);
  });
}

/** PKIOperation: a pkiMessage to the CA, its CertRep back (POST where the CA offers it, else GET). */
export async function pkiOperation(url: string, msg: Buffer, post: boolean): Promise<Buffer> {
  const r = post ? await scepHttp(url, 'PKIOperation', undefined, msg) : await scepHttp(url, 'PKIOperation', msg.toString('base64'));
  if (r.status !== 200) throw new ScepError(`PKIOperation: the CA answered HTTP ${r.status}${r.body.length && r.body.length < 200 ? ` (${r.body.toString('latin1').trim()})` : ''}`);
  return r.body;
}

/** GetCACaps: the CA's capabilities (one a line), or none if it says nothing. */
export async function getCaCaps(url: string, caName: string): Promise<string[]> {
  const r = await scepGet(url, 'GetCACaps', caName);
  if (r.status !== 200) return [];
  return r.body.toString('latin1').split(/\r?\n/).map(s => s.trim()).filter(Boolean).slice(0, 64);
}

/**
 * GetCACert: the CA's certificate (application/x-x509-ca-cert, DER), or the CA and RA certificates
 * (application/x-x509-ca-ra-cert, a certificates-only CMS SignedData).
 */
export async function getCaCert(url: string, caName: string): Promise<{ ca: X509Certificate; ra: X509Certificate[] }> {
  const r = await scepGet(url, 'GetCACert', caName);
  if (r.status !== 200) throw new ScepError(`GetCACert: the CA answered HTTP ${r.status}`);
  let certs: X509Certificate[];
  if (/x-x509-ca-ra-cert/i.test(r.type)) certs = certsOfSignedData(r.body);
  else certs = parseCertificates(r.body);
  if (!certs.length) throw new ScepError(`GetCACert: the answer (${r.type || 'no content type'}, ${r.body.length} bytes) holds no certificate`);
  const ca = certs.find(c => c.ca) ?? certs[0]!;
  return { ca, ra: certs.filter(c => c !== ca) };
}

/** The certificates of a CMS SignedData (a degenerate, certificates-only one included). */
export function certsOfSignedData(der: Buffer): X509Certificate[] {
  const a = asn1js.fromBER(new Uint8Array(der));
  if (a.offset === -1) throw new ScepError('not DER');
  const ci = new pkijs.ContentInfo({ schema: a.result });
  if (ci.contentType !== pkijs.id_ContentType_SignedData) throw new ScepError(`not a SignedData (${ci.contentType})`);
  const sd = new pkijs.SignedData({ schema: ci.content });
  const out: X509Certificate[] = [];
  for (const c of sd.certificates ?? []) {
    if (!(c instanceof pkijs.Certificate)) continue;
    out.push(...parseCertificates(Buffer.from(c.toSchema().toBER(false))));
  }
  return out;
}
