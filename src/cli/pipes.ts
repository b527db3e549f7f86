/**
 * The CLI's output pipes: parsing `| match`, `| except`, `| count`, `| last`, `| no-more`, `| display
 * set|xml` and `| compare`, the writer that applies the line filters, and the redaction a session
 * without the `secret` permission writes through.
 */
import { splitWords, matchPrefix, CliError } from './words.js';
import { LinearPattern } from './match.js';
import { redactSecrets } from '../config/redact.js';
import type { Session } from './op-commands.js';

export interface Filter { kind: string; re?: RegExp; n?: number }

/** A session's output as a class without the `secret` permission may see it (each write is one whole display). */
export class Redacting implements Session {
  constructor(private out: Session) {}
  get signal(): AbortSignal | undefined { return this.out.signal; }
  write(s: string): void { this.out.write(redactSecrets(s)); }
}

/** Output filters: `| match`, `| except`, `| count`, `| last`, `| no-more`. */
export class PipeWriter implements Session {
  private buf = '';
  private count = 0;
  private tail?: string[];
  private tailN = 0;
  constructor(private out: Session, private filters: Filter[], readonly signal?: AbortSignal) {
    const last = filters.find(f => f.kind === 'last');
    if (last) { this.tail = []; this.tailN = last.n!; }
  }
  write(s: string): void {
    if (!this.filters.some(f => f.kind !== 'no-more' && f.kind !== 'display-set' && f.kind !== 'compare')) { this.out.write(s); return; }
    this.buf += s;
    let i;
    while ((i = this.buf.indexOf('\n')) >= 0) { this.emit(this.buf.slice(0, i)); this.buf = this.buf.slice(i + 1); }
  }
  private emit(l: string): void {
    for (const f of this.filters) {
      if (f.kind === 'match' && !f.re!.test(l)) return;
      if (f.kind === 'except' && f.re!.test(l)) return;
    }
    if (this.filters.some(f => f.kind === 'count')) { this.count++; return; }
    if (this.tail) { this.tail.push(l); if (this.tail.length > this.tailN) this.tail.shift(); return; }
    this.out.write(l + '\n');
  }
  end(): void {
    if (this.buf) { this.emit(this.buf); this.buf = ''; }
    if (this.tail) { for (const l of this.tail) this.out.write(l + '\n'); this.tail = []; }
    if (this.filters.some(f => f.kind === 'count')) this.out.write(`Count: ${this.count} lines\n`);
  }
}

/** The pipes after a command (`| match RE`, `| except RE`, `| count`, `| last N`, `| no-more`, `| display set|xml`, `| compare`). */
export function parsePipes(parts: Array<{ text: string; col: number }>): Filter[] {
  const out: Filter[] = [];
  const pipes = [
    { name: 'match', help: 'Show only text that matches a pattern' }, { name: 'except', help: 'Show only text that does not match a pattern' },
    { name: 'count', help: 'Count occurrences' }, { name: 'no-more', help: "Don't paginate output" },
    { name: 'last', help: 'Display end of output only' },
    { name: 'display', help: 'Show additional kinds of information' }, { name: 'compare', help: 'Compare configuration changes with prior version' },
  ];
  for (const part of parts) {
    const w = splitWords(part.text, part.col);
    if (!w.length) throw new CliError(part.col, 'syntax error, expecting <command>.');
    const m = matchPrefix(w[0]!.text, pipes);
    if (m.kind !== 'one') throw new CliError(w[0]!.col, m.kind === 'ambiguous' ? `'${w[0]!.text}' is ambiguous.` : 'syntax error, expecting <command>.');
    const k = m.item.name;
    if (k === 'match' || k === 'except') {
      if (w.length < 2) throw new CliError(part.col + part.text.length, 'syntax error, expecting <pattern>.');
      let re: RegExp;
      try { re = new LinearPattern(w.slice(1).map(x => x.text).join(' ')) as unknown as RegExp; } catch { throw new CliError(w[1]!.col, 'error: invalid regular expression'); }
      out.push({ kind: k, re });
    } else if (k === 'last') {
      // `| last N`: the last N lines (without N, a screenful: 24)
      const n = w[1] ? Number(w[1].text) : 24;
      if (w[1] && !(/^\d+$/.test(w[1].text) && n >= 1 && n <= 100000)) throw new CliError(w[1].col, 'error: value is not within range (1..100000)');
      if (w.length > 2) throw new CliError(w[2]!.col, 'syntax error.');
      out.push({ kind: 'last', n });
    } else if (k === 'display') {
      const dm = w[1] ? matchPrefix(w[1].text, [{ name: 'set', help: '' }, { name: 'xml', help: '' }]) : { kind: 'none' as const };
      if (dm.kind !== 'one') throw new CliError(w[1]?.col ?? part.col + part.text.length, 'syntax error, expecting set or xml.');
      out.push({ kind: dm.item.name === 'xml' ? 'display-xml' : 'display-set' });
    } else out.push({ kind: k });
  }
  return out;
}
