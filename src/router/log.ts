import type { FileEntry } from './files.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** How a trace file rotates: at `size` bytes it becomes NAME.0 (NAME.0 becomes NAME.1, ...), `files` in all. */
export interface Rotation { size: number; files: number }
/** Trace files are kept in memory: all of a router's rotated files together stay under this. */
export const TRACE_MEMORY = 32 * 1024 * 1024;

interface LogFile { lines: string[]; bytes: number; mtime: Date }

/**
 * The router's log files (`show log FILE`): syslog-style lines, never a key in clear. A file without a
 * rotation keeps its last `max` lines; a trace file with one (`[edit security traceoptions] file NAME
 * files N size S`) rotates by size as JUNOS does: NAME, then NAME.0 (the newest archive) ... NAME.(N-2).
 */
export class RouterLog {
  private files = new Map<string, LogFile>();
  private rotation = new Map<string, Rotation>();
  constructor(private host: () => string, private max = 2000) {}

  /** Set (or, with undefined, remove) the rotation of a file. */
  rotate(file: string, r: Rotation | undefined): void {
    if (!r) { this.rotation.delete(file); return; }
    this.rotation.set(file, r);
    // fewer files than before: the archives beyond the new count go
    for (let k = r.files - 1; this.files.has(`${file}.${k}`); k++) this.files.delete(`${file}.${k}`);
  }

  write(file: string, proc: string, msg: string): void {
    const d = new Date();
    const mon = MONTHS[d.getUTCMonth()];   // (toLocaleString would load ICU data: 50 ms at a router's start)
    const ts = `${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
    const line = `${ts}  ${this.host()} ${proc}: ${msg}`;
    let f = this.files.get(file);
    if (!f) this.files.set(file, (f = { lines: [], bytes: 0, mtime: d }));
    f.mtime = d;
    const r = this.rotation.get(file);
    const len = Buffer.byteLength(line) + 1;
    if (r && f.lines.length && f.bytes + len > r.size) {
      this.shift(file, r);
      f = { lines: [], bytes: 0, mtime: d };
      this.files.set(file, f);
    }
    f.lines.push(line); f.bytes += len;
    if (!r && f.lines.length > this.max) { const cut = f.lines.splice(0, f.lines.length - this.max); f.bytes -= cut.reduce((a, l) => a + Buffer.byteLength(l) + 1, 0); }
    if (r && f.bytes > r.size) {
      // one line longer than the file: kept, cut to the size
      f.lines[f.lines.length - 1] = line.slice(0, Math.max(0, r.size - 1)); f.bytes = Math.min(f.bytes, r.size);
    }
  }

  /** NAME -> NAME.0 -> NAME.1 ... ; the oldest beyond `files` (or the memory bound) is gone. */
  private shift(file: string, r: Rotation): void {
    const archives = r.files - 1;
    this.files.delete(`${file}.${archives - 1}`);
    for (let k = archives - 1; k >= 1; k--) {
      const prev = this.files.get(`${file}.${k - 1}`);
      if (prev) this.files.set(`${file}.${k}`, prev); else this.files.delete(`${file}.${k}`);
    }
    if (archives >= 1) this.files.set(`${file}.0`, this.files.get(file)!);
    // in memory: past the bound, the oldest archives of this file go first
    let total = 0;
    for (const f of this.files.values()) total += f.bytes;
    for (let k = archives - 1; total > TRACE_MEMORY && k >= 0; k--) {
      const f = this.files.get(`${file}.${k}`);
      if (f) { total -= f.bytes; this.files.delete(`${file}.${k}`); }
    }
  }

  read(file: string): string[] | undefined { return this.files.get(file)?.lines.slice(); }
  /** the size in bytes of a file (`file list` style) */
  size(file: string): number | undefined { return this.files.get(file)?.bytes; }
  names(): string[] { return [...this.files.keys()]; }
  /** A file that exists before its first line (JUNOS's /var/log/kmd, messages): `show log` shows it empty. */
  touch(file: string): void { if (!this.files.has(file)) this.files.set(file, { lines: [], bytes: 0, mtime: new Date() }); }
  /** The files as `file list /var/log` shows them. */
  entries(dir: string): FileEntry[] {
    return [...this.files].map(([name, f]) => ({ name, path: `${dir}/${name}`, size: f.bytes, mtime: f.mtime, dir: false, secret: false }));
  }
}
