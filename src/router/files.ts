/**
 * The router's own small file system: `/var/etc/ikecert` (key pairs, certificates, CRLs) and the like,
 * kept in a directory of the lab's state, so that it survives a restart of the router and goes with
 * `vrouter down`. Paths are JUNOS paths, always absolute, never leaving the root; private keys are
 * written owner-only and never shown.
 */
import { mkdirSync, readFileSync, writeFileSync, readdirSync, statSync, existsSync, rmSync, mkdtempSync, renameSync } from 'node:fs';
import { join, posix } from 'node:path';
import { tmpdir } from 'node:os';

export const IKECERT = '/var/etc/ikecert';

export class FileError extends Error {}

export interface FileEntry { name: string; path: string; size: number; mtime: Date; dir: boolean; secret: boolean }

export class RouterFiles {
  readonly root: string;
  private temp: boolean;
  constructor(root?: string) {
    this.temp = !root;
    this.root = root ?? mkdtempSync(join(tmpdir(), 'vrouter-fs-'));
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    for (const d of [IKECERT, '/var/log', '/var/tmp']) mkdirSync(this.host(d), { recursive: true, mode: 0o700 });
  }

  /** A JUNOS path (absolute, or relative to /var/etc/ikecert for bare names) to the host path. */
  resolve(p: string): string {
    const abs = p.startsWith('/') ? posix.normalize(p) : posix.join(IKECERT, p);
    if (abs.split('/').includes('..') || abs.includes('\0')) throw new FileError(`error: invalid path: ${p}`);
    return abs;
  }
  private host(abs: string): string { return join(this.root, abs); }

  exists(p: string): boolean { return existsSync(this.host(this.resolve(p))); }
  read(p: string): Buffer {
    const h = this.host(this.resolve(p));
    if (!existsSync(h) || statSync(h).isDirectory()) throw new FileError(`error: could not resolve file: ${p}`);
    return readFileSync(h);
  }
  /** Write atomically; `secret` files (private keys) are owner-only and never shown. */
  write(p: string, data: Buffer | string, o: { secret?: boolean } = {}): void {
    const abs = this.resolve(p);
    const h = this.host(abs);
    mkdirSync(join(h, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${h}.tmp-${process.pid}`;
    writeFileSync(tmp, data, { mode: o.secret ? 0o600 : 0o644 });
    try { renameSync(tmp, h); } catch (e) { rmSync(tmp, { force: true }); throw new FileError(`error: could not write ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  }
  remove(p: string): void { rmSync(this.host(this.resolve(p)), { force: true }); }
  isSecret(p: string): boolean {
    try { return (statSync(this.host(this.resolve(p))).mode & 0o077) === 0 && !statSync(this.host(this.resolve(p))).isDirectory(); } catch { return false; }
  }
  /** Files kept elsewhere (the router's logs, in memory) that `file list DIR` shows with the disk's. */
  private mounts = new Map<string, () => FileEntry[]>();
  mount(dir: string, entries: () => FileEntry[]): void { this.mounts.set(dir, entries); }
  list(dir: string): FileEntry[] {
    const abs = this.resolve(dir);
    const h = this.host(abs);
    if (!existsSync(h)) throw new FileError(`error: could not resolve file: ${dir}`);
    if (!statSync(h).isDirectory()) { const s = statSync(h); return [{ name: posix.basename(abs), path: abs, size: s.size, mtime: s.mtime, dir: false, secret: (s.mode & 0o077) === 0 }]; }
    const disk = readdirSync(h).filter(n => !n.includes('.tmp-')).map(n => {
      const s = statSync(join(h, n));
      return { name: n, path: posix.join(abs, n), size: s.size, mtime: s.mtime, dir: s.isDirectory(), secret: !s.isDirectory() && (s.mode & 0o077) === 0 };
    });
    const more = (this.mounts.get(abs)?.() ?? []).filter(e => !disk.some(d => d.name === e.name));
    return [...disk, ...more].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }
  /** A router without a lab state directory (tests) gets a temporary one: gone when the router stops. */
  close(): void { if (this.temp) rmSync(this.root, { recursive: true, force: true }); }
}
