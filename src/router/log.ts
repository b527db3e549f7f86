import type { FileEntry } from './files.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** How a trace file rotates: at `size` bytes it becomes NAME.0 (NAME.0 becomes NAME.1, ...), `files` in all. */
export interface Rotation { size: number; files: number }
/** Trace files are kept in memory: all of a router's rotated files together, live ones included, stay under this. */
export const TRACE_MEMORY = 32 * 1024 * 1024;
/** A logged message is cut at `lineChars`; a file without rotation keeps at most `fileBytes` (and its `max` lines). */
export const LOG_LIMITS = { lineChars: 1024, fileBytes: 1024 * 1024 };

interface LogFile { lines: string[]; bytes: number; mtime: Date }

/** Input (a user name, a peer's ID) made safe to log: control characters escaped, at most `max` characters. */
export function logSafe(s: string, max = 128): string {
  // eslint-disable-next-line no-control-regex
  const e = (s.length > max * 4 ? s.slice(0, max * 4) : s).replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, c => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return e.length > max ? `${e.slice(0, max)}...` : e;
}

/**
 * The router's log files (`show log FILE`): syslog-style lines, never a key in clear, one line per
 * message (a newline in a message is escaped: no line can be forged). A file without a rotation keeps
 * its last `max` lines and `LOG_LIMITS.fileBytes`; a trace file with one (`[edit security traceoptions]
 * file NAME files N size S`) rotates by size as JUNOS does: NAME, then NAME.0 (the newest archive) ...
 * NAME.(N-2); all rotated files together stay under TRACE_MEMORY.
 */
export class RouterLog {
  private files = new Map<string, LogFile>();
  private rotation = new Map<string, Rotation>();
  /** bytes of the rotated files and their archives */
  private traced = 0;
  constructor(private host: () => string, private max = 2000) {}

  /** Set (or, with undefined, remove) the rotation of a file. */
  rotate(file: string, r: Rotation | undefined): void {
    if (!r) { this.rotation.delete(file); this.recount(); return; }
    this.rotation.set(file, r);
    // fewer files than before: the archives beyond the new count go
    for (let k = r.files - 1; this.files.has(`${file}.${k}`); k++) this.files.delete(`${file}.${k}`);
    this.recount();
  }

  write(file: string, proc: string, msg: string): void {
    const d = new Date();
    const mon = MONTHS[d.getUTCMonth()];   // (toLocaleString would load ICU data: 50 ms at a router's start)
    const ts = `${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
    let line = `${ts}  ${this.host()} ${proc}: ${logSafe(msg, LOG_LIMITS.lineChars)}`;
    let f = this.files.get(file);
    if (!f) this.files.set(file, (f = { lines: [], bytes: 0, mtime: d }));
    f.mtime = d;
    const r = this.rotation.get(file);
    if (r && line.length >= r.size) line = line.slice(0, Math.max(0, r.size - 4));   // one line longer than the file: cut to it
    const len = Buffer.byteLength(line) + 1;
    if (r && f.lines.length && f.bytes + len > r.size) {
      this.shift(file, r);
      f = { lines: [], bytes: 0, mtime: d };
      this.files.set(file, f);
    }
    f.lines.push(line); f.bytes += len;
    if (!r) { if (f.lines.length > this.max || f.bytes > LOG_LIMITS.fileBytes) this.cut(f, this.max, LOG_LIMITS.fileBytes); return; }
    this.traced += len;
    if (this.traced > TRACE_MEMORY) this.trim(file, r);
  }

  /** The oldest lines of `f` go until it holds `lines` and `bytes` (a tenth more when cutting by bytes, so not at every write). */
  private cut(f: LogFile, lines: number, bytes: number): number {
    let n = Math.max(0, f.lines.length - lines), b = f.bytes;
    for (let i = 0; i < n; i++) b -= Buffer.byteLength(f.lines[i]!) + 1;
    if (b > bytes) for (const goal = bytes * 0.9; n < f.lines.length - 1 && b > goal; n++) b -= Buffer.byteLength(f.lines[n]!) + 1;
    const gone = f.bytes - b;
    f.lines.splice(0, n); f.bytes = b;
    return gone;
  }

  /** Past TRACE_MEMORY: the oldest archives of this file go first, then the oldest lines of the live file. */
  private trim(file: string, r: Rotation): void {
    for (let k = r.files - 2; this.traced > TRACE_MEMORY && k >= 0; k--) {
      const a = this.files.get(`${file}.${k}`);
      if (a) { this.traced -= a.bytes; this.files.delete(`${file}.${k}`); }
    }
    const f = this.files.get(file)!;
    if (this.traced > TRACE_MEMORY) this.traced -= this.cut(f, f.lines.length, Math.max(0, f.bytes - (this.traced - TRACE_MEMORY)));
  }

  private recount(): void {
    this.traced = 0;
    for (const [name, f] of this.files) if (this.rotation.has(name.replace(/\.\d+$/, '')) || this.rotation.has(name)) this.traced += f.bytes;
  }

  /** NAME -> NAME.0 -> NAME.1 ... ; the oldest beyond `files` is gone. */
  private shift(file: string, r: Rotation): void {
    const archives = r.files - 1;
    const last = this.files.get(`${file}.${archives - 1}`);
    if (last && archives >= 1) { this.traced -= last.bytes; this.files.delete(`${file}.${archives - 1}`); }
    for (let k = archives - 1; k >= 1; k--) {
      const prev = this.files.get(`${file}.${k - 1}`);
      if (prev) this.files.set(`${file}.${k}`, prev); else this.files.delete(`${file}.${k}`);
    }
    if (archives >= 1) this.files.set(`${file}.0`, this.files.get(file)!);
    else this.traced -= this.files.get(file)!.bytes;
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
