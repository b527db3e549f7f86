/**
 * Loading configuration text, brace form or set/delete lines, into a CNode tree. Both forms go
 * through `applyWords`; errors carry the user's line and column and are shown the way JUNOS's
 * `load` shows them. Loading never touches an existing tree unless it succeeds whole.
 */
import { tokenize, Token, LexError } from './lexer.js';
import { CNode, newRoot, applyWords, SyntaxError_, Pos, Op, secretWords } from './tree.js';
import { SECRET_SHOWN } from './redact.js';
import { hideSecret } from './secret.js';
import type { Def } from './schema.js';

export interface LoadError { file: string; line: number; col: number; token: string; path: string[]; statement: string; message: string; hint?: string }

export class LoadFailure extends Error {
  constructor(public errors: LoadError[]) { super(formatLoadErrors(errors)); }
}

export function formatLoadErrors(errors: LoadError[]): string {
  const out: string[] = [];
  for (const e of errors) {
    out.push(`${e.file}:${e.line}:(${e.col}) ${e.message}${e.message === 'syntax error' ? ': ' + e.token : ''}`);
    out.push(`  [edit${e.path.length ? ' ' + e.path.join(' ') : ''}]`);
    out.push(`    '${e.statement}'`);
    out.push(`      ${e.message}`);
    if (e.hint) out.push(`      (did you mean '${e.hint}'?)`);
  }
  out.push(`load complete (${errors.length} errors)`);
  return out.join('\n');
}

const SET_OPS = new Set(['set', 'delete', 'deactivate', 'activate']);

/** Is this text set/delete lines rather than the brace form? */
export function looksLikeSetFormat(text: string): boolean {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('/*')) continue;
    const first = line.split(/\s+/)[0]!;
    return SET_OPS.has(first);
  }
  return false;
}

/** A statement as the user wrote it, for an error message, with every secret value shown as $9$. */
function stmtText(def: Def | undefined, words: Token[], end: string): string {
  const secret = secretWords(def, words);
  return words.map((w, i) => {
    if (secret[i]) return JSON.stringify(hideSecret(w.text));
    return w.kind === 'string' ? JSON.stringify(w.text) : w.text;
  }).join(' ') + end;
}

function toLoadError(file: string, e: unknown, typed: Token[], pos: Pos, end: string, prefix?: string): LoadError {
  if (e instanceof SyntaxError_) {
    // what follows plain-text-password (a prompt, not a value) is a password typed where it does not belong: never echoed
    const words = typed.map((w, i) => (typed[i - 1]?.text === 'plain-text-password' ? { ...w, text: SECRET_SHOWN } : w));
    const t = e.token ? words[typed.indexOf(e.token)] ?? e.token : words[0];
    const secret = secretWords(pos.node.def, words);
    const token = t && secret[words.indexOf(t)] ? JSON.stringify(hideSecret(t.text)) : t?.text ?? '';
    return { file, line: t?.line ?? 0, col: t?.col ?? 0, token, path: e.path, statement: (prefix ? prefix + ' ' : '') + stmtText(pos.node.def, words, end), message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  }
  throw e;
}

/** Merge brace-form text into `root` (mutates it). Returns the errors; none means it all applied. */
function loadBraceInto(root: CNode, text: string, file: string, base: Pos = { node: root, path: [] }): LoadError[] {
  const errors: LoadError[] = [];
  let toks: Token[];
  try { toks = tokenize(text); } catch (e) {
    if (e instanceof LexError) return [{ file, line: e.line, col: e.col, token: '', path: [], statement: '', message: e.message }];
    throw e;
  }
  let i = 0;
  // parse a sequence of statements until '}' (or end when top-level); pos null = inside a failed block
  // an unclosed block is reported once, where the text ends, naming the innermost block left open
  let unclosedReported = false;
  const unclosed = (opener: { path: string[]; statement: string } | undefined) => {
    if (unclosedReported || !opener) return;
    unclosedReported = true;
    const l = toks[toks.length - 1];
    errors.push({ file, line: l?.line ?? 0, col: (l?.col ?? 0) + (l?.text.length ?? 0), token: '', path: opener.path, statement: opener.statement, message: "syntax error, missing '}'" });
  };
  const block = (pos: Pos | null, top: boolean, opener?: { path: string[]; statement: string }): void => {
    while (i < toks.length) {
      if (toks[i]!.kind === '}') {
        if (top) { const t = toks[i]!; errors.push({ file, line: t.line, col: t.col, token: '}', path: [], statement: '}', message: "syntax error, unmatched '}'" }); i++; continue; }
        i++;
        return;
      }
      const words: Token[] = [];
      let inactive = false;
      if (toks[i]!.kind === 'word' && toks[i]!.text === 'inactive:') { inactive = true; i++; }
      if (toks[i]?.kind === 'word' && toks[i]!.text === 'protect:') i++;
      while (i < toks.length && toks[i]!.kind !== ';' && toks[i]!.kind !== '{' && toks[i]!.kind !== '}') words.push(toks[i++]!);
      const endTok = toks[i];
      if (!endTok || endTok.kind === '}') {
        const t = words[words.length - 1] ?? toks[i - 1]!;
        if (words.length) errors.push({ file, line: t.line, col: t.col + t.text.length, token: t.text, path: pos?.path ?? [], statement: stmtText(pos?.node.def, words, ''), message: "syntax error, expecting ';' or '{'" });
        if (!endTok) { if (!top) unclosed(opener); return; }
        continue;
      }
      i++;
      const hasBlock = endTok.kind === '{';
      let next: Pos | null = null;
      if (pos) {
        if (words.length === 0) {
          if (!hasBlock) continue; // stray ';'
          errors.push({ file, line: endTok.line, col: endTok.col, token: '{', path: pos.path, statement: '{', message: 'syntax error' });
        } else {
          try { next = applyWords(pos, words, 'set', hasBlock, inactive); }
          catch (e) { errors.push(toLoadError(file, e, words, pos, hasBlock ? ' {' : ';')); }
        }
      }
      if (hasBlock) block(next, false, { path: pos?.path ?? [], statement: stmtText(pos?.node.def, words, ' {') });
    }
    if (!top) unclosed(opener);
  };
  block(base, true);
  return errors;
}

/** Apply set/delete/deactivate/activate lines to `root` (mutates it). */
function loadSetInto(root: CNode, text: string, file: string, base: Pos = { node: root, path: [] }): LoadError[] {
  const errors: LoadError[] = [];
  let toks: Token[];
  try { toks = tokenize(text, true); } catch (e) {
    if (e instanceof LexError) return [{ file, line: e.line, col: e.col, token: '', path: [], statement: '', message: e.message }];
    throw e;
  }
  let line: Token[] = [];
  const flush = () => {
    const words = line;
    line = [];
    if (words.length === 0) return;
    const op = words[0]!;
    if (op.kind !== 'word' || !SET_OPS.has(op.text)) {
      errors.push({ file, line: op.line, col: op.col, token: op.text, path: base.path, statement: stmtText(undefined, words, ''), message: 'syntax error' });
      return;
    }
    const rest = words.slice(1);
    try { applyWords(base, rest, op.text as Op, false, false, false, true); }
    catch (e) { errors.push(toLoadError(file, e, words.slice(1), base, '', op.text)); }
  };
  for (const t of toks) {
    if (t.kind === 'newline') flush();
    else line.push(t);
  }
  flush();
  return errors;
}

/** Load into a copy of `into` (or an empty tree); throws LoadFailure, leaving `into` untouched. */
export function loadText(text: string, opts: { file?: string; into?: CNode; format?: 'set' | 'brace'; at?: string[] } = {}): CNode {
  const file = opts.file ?? 'terminal';
  const root = opts.into ? opts.into.clone() : newRoot();
  const format = opts.format ?? (looksLikeSetFormat(text) ? 'set' : 'brace');
  // `load ... relative`: statements are relative to an [edit ...] path (created if it is new)
  let base: Pos = { node: root, path: [] };
  if (opts.at?.length) base = applyWords(base, opts.at.map(w => ({ kind: 'word' as const, text: w, line: 0, col: 0 })), 'set', true);
  const errors = format === 'set' ? loadSetInto(root, text, file, base) : loadBraceInto(root, text, file, base);
  if (errors.length) throw new LoadFailure(errors);
  return root;
}
