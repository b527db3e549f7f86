/**
 * `set security certificates local NAME load-key-file (PATH | URL)`: the chapter's SSL certificate for
 * the JUNOScript service. When the statement enters the candidate, the file (a path in the router's
 * files, or an http:// URL fetched through the Routing Engine stack) is read: it must hold a PEM
 * certificate and its private key; the pair is kept in the configuration as `certificate-key-string`
 * (a secret, its line breaks kept) and `load-key-file` goes. An encrypted key needs its passphrase,
 * which only an interactive session can ask for; a missing or malformed file is an error and nothing
 * changes.
 */
import http from 'node:http';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Router } from '../router/router.js';
import type { CommitDb } from './commitdb.js';
import { CNode } from '../config/tree.js';
import { childDef } from '../config/schema.js';
import { hideSecret } from '../config/secret.js';

const MAX = 256 * 1024;

function fetchUrl(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 10_000 }, res => {
      if (res.statusCode !== 200) { res.resume(); reject(new Error(`HTTP ${res.statusCode}`)); return; }
      const parts: Buffer[] = []; let n = 0;
      res.on('data', (d: Buffer) => { n += d.length; if (n > MAX) req.destroy(new Error(`larger than ${MAX} bytes`)); else parts.push(d); });
      res.on('end', () => resolve(Buffer.concat(parts)));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', reject);
  });
}

/** The certificate and unencrypted key of a PEM file, as one PEM text; or why not. */
export function certAndKey(pem: string, source: string, passphrase?: string): { pem: string } | { error: string } {
  const certM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!certM) return { error: `error: load-key-file ${source}: no certificate (PEM) in the file` };
  const keyM = /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/.exec(pem);
  if (!keyM) return { error: `error: load-key-file ${source}: no private key (PEM) in the file` };
  let cert: X509Certificate;
  try { cert = new X509Certificate(certM[0]); } catch { return { error: `error: load-key-file ${source}: the certificate is malformed` }; }
  const encrypted = keyM[1] === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(keyM[0]);
  if (encrypted && passphrase === undefined) return { error: `error: load-key-file ${source}: the private key is encrypted; its passphrase is needed (an interactive CLI asks for it), or decrypt it first` };
  let key;
  try { key = createPrivateKey(encrypted ? { key: keyM[0], passphrase: passphrase! } : keyM[0]); } catch { return { error: `error: load-key-file ${source}: the private key ${encrypted ? 'does not decrypt with that passphrase' : 'is malformed'}` }; }
  if (!cert.checkPrivateKey(key)) return { error: `error: load-key-file ${source}: the private key is not the certificate's` };
  const keyPem = encrypted ? key.export({ type: 'pkcs8', format: 'pem' }) as string : keyM[0] + '\n';
  return { pem: `${certM[0]}\n${keyPem}` };
}

/** A key file whose private key is encrypted, and no passphrase for it yet: the CLI asks for one. */
export class NeedPassphrase extends Error { constructor(readonly source: string) { super(`the private key in ${source} is encrypted`); } }

/** The text of a key file as read, or why it was not (the caller's message). */
function checkedText(data: Buffer, src: string): { text: string } | { error: string } {
  if (data.length > MAX) return { error: `error: load-key-file ${src}: larger than ${MAX} bytes` };
  return { text: data.toString('utf8') };
}

/** load-key-file goes, certificate-key-string comes (a secret, as typed into the configuration). */
function keepPem(l: CNode, pem: string): void {
  l.children = l.children.filter(c => c.keyword !== 'load-key-file' && c.keyword !== 'certificate-key-string');
  const f = childDef(l.def, 'certificate-key-string')!;
  const n = new CNode(f.def, 'certificate-key-string');
  n.values = [hideSecret(pem)];
  l.add(n);
}
const localsWithFile = (tree: CNode) => (tree.get('security')?.get('certificates')?.entries('local') ?? []).filter(l => l.value('load-key-file') !== undefined);

/**
 * Resolve every `load-key-file` of the candidate; undefined when all went, else the first error (the
 * caller restores the candidate). An encrypted key with no passphrase in `passphrases` throws NeedPassphrase.
 */
export async function resolveLoadKeyFiles(r: Router, db: CommitDb, passphrases: Map<string, string> = new Map()): Promise<string | undefined> {
  for (const l of localsWithFile(db.candidate)) {
    const src = l.value('load-key-file')!;
    let data: Buffer;
    try {
      if (/^https?:\/\//i.test(src)) {
        if (!/^http:\/\//i.test(src)) return `error: load-key-file ${src}: only http:// URLs are fetched`;
        data = await fetchUrl(src);
      } else data = r.files.read(src);
    } catch (e) { return `error: load-key-file ${src}: ${(e as Error).message.replace(/^error: /, '')}`; }
    const t = checkedText(data, src);
    if ('error' in t) return t.error;
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(t.text) && !passphrases.has(src)) throw new NeedPassphrase(src);
    const got = certAndKey(t.text, src, passphrases.get(src));
    if ('error' in got) return got.error;
    keepPem(l, got.pem);
  }
  return undefined;
}

/**
 * The same for a configuration read whole before it commits (a startup configuration, `vrouter
 * check FILE`): each file is read now with `read` (the router's files, or the host's for a check);
 * a URL or an encrypted key cannot be resolved there, so the load is refused with the reason.
 * Undefined when all went (the tree now holds certificate-key-string), else the first error.
 */
export function resolveLoadKeyFilesSync(tree: CNode, read: (path: string) => Buffer): string | undefined {
  for (const l of localsWithFile(tree)) {
    const src = l.value('load-key-file')!;
    if (/^[a-z]+:\/\//i.test(src)) return `error: load-key-file ${src}: a URL is fetched only when the statement is set in the CLI or loaded there (load merge); give a file of the router's here`;
    let data: Buffer;
    try { data = read(src); } catch (e) { return `error: load-key-file ${src}: ${(e as Error).message.replace(/^error: /, '')}`; }
    const t = checkedText(data, src);
    if ('error' in t) return t.error;
    const got = certAndKey(t.text, src);
    if ('error' in got) return got.error;
    keepPem(l, got.pem);
  }
  return undefined;
}

/** For loads (a file, the API): an encrypted key cannot be asked for there, so it is an error. */
export async function resolveLoadKeyFilesNoPrompt(r: Router, db: CommitDb): Promise<string | undefined> {
  try { return await resolveLoadKeyFiles(r, db); } catch (e) {
    if (e instanceof NeedPassphrase) return `error: load-key-file ${e.source}: the private key is encrypted; set the statement in the CLI, which asks for its passphrase, or decrypt the key first`;
    throw e;
  }
}
