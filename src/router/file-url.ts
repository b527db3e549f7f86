/**
 * `file copy URL PATH`: a file fetched over the Routing Engine stack (the router process's sockets live
 * in its RE namespace, so this is the router's own TCP, routed through its PFE) onto the router's disk.
 * http:// only (JUNOS also takes ftp:// and scp://: not here, said so). Bounded: at most 16 MB, an
 * answer within 30 s; nothing is written unless the whole file came.
 */
import http from 'node:http';
import { posix } from 'node:path';
import type { RouterFiles } from './files.js';

export const URL_COPY_MAX = 16 << 20;
const TIMEOUT_MS = 30_000;

function get(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: TIMEOUT_MS }, res => {
      if (res.statusCode !== 200) { res.resume(); reject(new Error(`the server answered HTTP ${res.statusCode}${res.statusMessage ? ' ' + res.statusMessage : ''}`)); return; }
      const parts: Buffer[] = []; let n = 0;
      res.on('data', (d: Buffer) => { n += d.length; if (n > URL_COPY_MAX) req.destroy(new Error(`the file is larger than ${URL_COPY_MAX} bytes`)); else parts.push(d); });
      res.on('end', () => { if (!res.complete) reject(new Error('the transfer was cut short')); else resolve(Buffer.concat(parts)); });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
  });
}

/** Copy `src` (a URL) to `dst` (a path on the disk, or a directory there); the line to print. */
export async function copyFromUrl(files: RouterFiles, src: string, dst: string): Promise<string> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dst)) return 'error: file copy: the destination is a path on the router\'s disk (copying to a URL is not supported)';
  if (!/^http:\/\//i.test(src)) return `error: file copy: ${src.split(':')[0]}:// is not supported: http:// URLs only`;
  let u: URL;
  try { u = new URL(src); } catch { return `error: file copy: ${src}: not a valid URL`; }
  try {
    let to = files.resolve(dst);
    if (files.list(posix.dirname(to)).some(f => f.path === to && f.dir)) {
      const name = posix.basename(u.pathname);
      if (!name) return `error: file copy: ${src} names no file; give the destination's file name`;
      to = posix.join(to, name);
    }
    const data = await get(u.href);
    files.write(to, data);
    return `${src}: ${data.length} bytes to ${to}`;
  } catch (e) { return `error: file copy ${src}: ${(e as Error).message.replace(/^error: /, '')}`; }
}
