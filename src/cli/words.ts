/** Splitting a CLI line into words (with columns), pipes, and unique-prefix matching. */
export interface Word { text: string; col: number; quoted: boolean }

export function splitWords(line: string, base = 0): Word[] {
  const out: Word[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === ' ' || line[i] === '\t') { i++; continue; }
    const col = i;
    if (line[i] === '"') {
      let s = '';
      i++;
      while (i < line.length && line[i] !== '"') { if (line[i] === '\\' && i + 1 < line.length) i++; s += line[i]; i++; }
      i++;
      out.push({ text: s, col: base + col, quoted: true });
      continue;
    }
    let s = '';
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t') s += line[i++];
    out.push({ text: s, col: base + col, quoted: false });
  }
  return out;
}

/** Split at `|` outside quotes: the command and its pipes, each with its start column. */
export function splitPipes(line: string): Array<{ text: string; col: number }> {
  const parts: Array<{ text: string; col: number }> = [];
  let q = false, start = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') q = !q;
    if (line[i] === '|' && !q) { parts.push({ text: line.slice(start, i), col: start }); start = i + 1; }
  }
  parts.push({ text: line.slice(start), col: start });
  return parts;
}

export type Match<T> = { kind: 'one'; item: T } | { kind: 'ambiguous'; items: T[] } | { kind: 'none' };
export function matchPrefix<T extends { name: string }>(word: string, items: T[]): Match<T> {
  const exact = items.find(i => i.name === word);
  if (exact) return { kind: 'one', item: exact };
  const m = items.filter(i => i.name.startsWith(word));
  if (m.length === 1) return { kind: 'one', item: m[0]! };
  if (m.length > 1) return { kind: 'ambiguous', items: m };
  return { kind: 'none' };
}

export class CliError extends Error {
  constructor(public col: number, message: string, public extra = '') { super(message); }
}

export function commonPrefix(xs: string[]): string {
  if (!xs.length) return '';
  let p = xs[0]!;
  for (const x of xs) while (!x.startsWith(p)) p = p.slice(0, -1);
  return p;
}
