/**
 * Tokenizer for JUNOS configuration text (brace form and set/delete lines). Knows nothing of the
 * hierarchy: words, quoted strings, punctuation and comments, each with its line and column.
 */
export type TokKind = 'word' | 'string' | '{' | '}' | ';' | '[' | ']' | 'newline';
export interface Token { kind: TokKind; text: string; line: number; col: number }

export class LexError extends Error {
  constructor(message: string, public line: number, public col: number) { super(message); }
}

const PUNCT = new Set(['{', '}', ';', '[', ']']);

const WS = /[ \t\r]+/y;
const WORD = /[^ \t\r\n"{};\[\]]+/y;

/** Tokenize; `newlines` keeps end-of-line tokens (for set-format input, one command a line). */
export function tokenize(text: string, newlines = false): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let i = 0, line = 1, lineStart = 0;
  const col = (at: number) => at - lineStart + 1;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) { if (newlines) out.push({ kind: 'newline', text: '\n', line, col: col(i) }); i++; line++; lineStart = i; continue; }
    if (c === 32 || c === 9 || c === 13) { WS.lastIndex = i; WS.test(text); i = WS.lastIndex; continue; }
    if (c === 35) { const e = text.indexOf('\n', i); i = e < 0 ? n : e; continue; } // '#'
    if (c === 47 && text.charCodeAt(i + 1) === 42) { // '/*'
      const l0 = line, c0 = col(i);
      const e = text.indexOf('*/', i + 2);
      if (e < 0) throw new LexError('unterminated comment', l0, c0);
      for (let k = i; k < e; k++) if (text.charCodeAt(k) === 10) { line++; lineStart = k + 1; }
      i = e + 2;
      continue;
    }
    if (c === 34) { // '"'
      const l0 = line, c0 = col(i);
      let s = '';
      let k = i + 1;
      while (k < n && text.charCodeAt(k) !== 34) {
        const d = text.charCodeAt(k);
        if (d === 92 && k + 1 < n) {
          // escapes: \n and \t stand for a line break and a tab (a PEM text keeps its lines); others for the character
          const e = text[k + 1]!;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          k += 2;
          continue;
        }
        if (d === 10) { if (newlines) break; line++; lineStart = k + 1; }
        s += text[k]; k++;
      }
      if (k >= n || text.charCodeAt(k) !== 34) throw new LexError('unterminated quoted string', l0, c0);
      i = k + 1;
      out.push({ kind: 'string', text: s, line: l0, col: c0 });
      continue;
    }
    const ch = text[i]!;
    if (PUNCT.has(ch)) { out.push({ kind: ch as TokKind, text: ch, line, col: col(i) }); i++; continue; }
    WORD.lastIndex = i;
    WORD.test(text);
    out.push({ kind: 'word', text: text.slice(i, WORD.lastIndex), line, col: col(i) });
    i = WORD.lastIndex;
  }
  return out;
}

/** Quote a value for display the way JUNOS does: only when it needs it. */
export function quoteIfNeeded(s: string): string {
  if (s === '' || /[\s;{}\[\]"#'\\]/.test(s) || s.startsWith('$9$')) {
    return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t') + '"';
  }
  return s;
}
