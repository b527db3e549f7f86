/**
 * The parsed, JUNOS-shaped configuration tree (references are still names). One walker,
 * `applyWords`, interprets a statement's words against the schema; the brace loader and the
 * set/delete loader both use it, so both formats share one grammar.
 */
import { Def, ROOT, childDef, valueSyntaxOk, canonicalValue, describeType } from './schema.js';
import { hideSecret } from './secret.js';
import type { Token } from './lexer.js';

export class CNode {
  children: CNode[] = [];
  values: string[] = [];
  inactive = false;
  line = 0;
  constructor(public def: Def, public keyword: string, public key?: string, public keyless = false) {}

  /** Words shown for this node in a path: `unit 0`, `fe-0/0/1`, `family`. */
  head(): string[] {
    if (this.keyless) return [this.key!];
    return this.key !== undefined ? [this.keyword, this.key] : [this.keyword];
  }
  private index?: Map<string, CNode>;
  private indexed?: CNode[];
  find(keyword: string, key?: string): CNode | undefined {
    if (this.children.length < 8) return this.children.find(ch => ch.keyword === keyword && ch.key === key);
    if (this.indexed !== this.children || this.index!.size !== this.children.length) {
      this.index = new Map(this.children.map(ch => [ch.keyword + '\0' + (ch.key ?? ''), ch]));
      this.indexed = this.children;
    }
    return this.index!.get(keyword + '\0' + (key ?? ''));
  }
  /** Append a child, keeping the lookup index current. */
  add(ch: CNode): CNode {
    this.children.push(ch);
    if (this.indexed === this.children) this.index!.set(ch.keyword + '\0' + (ch.key ?? ''), ch);
    return ch;
  }
  all(keyword: string): CNode[] { return this.children.filter(ch => ch.keyword === keyword); }
  /** Active child by keyword (inactive statements do not exist for the router). */
  get(keyword: string): CNode | undefined {
    return this.children.find(ch => ch.keyword === keyword && !ch.inactive);
  }
  entries(keyword: string): CNode[] { return this.children.filter(ch => ch.keyword === keyword && !ch.inactive); }
  value(keyword: string): string | undefined { return this.get(keyword)?.values[0]; }
  has(keyword: string): boolean { return this.get(keyword) !== undefined; }
  clone(): CNode {
    const n = new CNode(this.def, this.keyword, this.key, this.keyless);
    n.values = this.values.slice();
    n.inactive = this.inactive;
    n.line = this.line;
    n.children = this.children.map(ch => ch.clone());
    return n;
  }
}

export const newRoot = () => new CNode(ROOT, '');

export class SyntaxError_ extends Error {
  /** A statement of this level that the unknown word was probably meant to be (`proposal` -> `proposals`). */
  hint?: string;
  constructor(message: string, public token: Token | undefined, public path: string[]) { super(message); }
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) {
    d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length]![b.length]!;
}
/** The statement of `def` closest to a mistyped word (plural/singular, or two edits away), if any. */
export function suggest(def: Def, word: string): string | undefined {
  if (word.length < 3) return undefined;
  const names = Object.keys(def.children ?? {}).filter(k => k !== '*');
  return names.find(n => n === word + 's' || n + 's' === word) ?? names.find(n => distance(n, word) <= (word.length > 6 ? 2 : 1));
}

export type Op = 'set' | 'delete' | 'deactivate' | 'activate';

/** Where a statement's words left us: at a node, or at a list keyword still waiting for its key. */
export interface Pos { node: CNode; path: string[]; pendingList?: { def: Def; keyword: string } }

function syntaxError(tok: Token | undefined, pos: Pos, what = 'syntax error'): never {
  throw new SyntaxError_(what, tok, pos.path);
}

function getOrCreate(parent: CNode, def: Def, keyword: string, key: string | undefined, keyless: boolean, line: number, create: boolean): CNode | undefined {
  let n = parent.find(keyword, key);
  if (!n && create) {
    n = new CNode(def, keyword, key, keyless);
    n.line = line;
    parent.add(n);
  }
  return n;
}

/** With `ranges`, a number outside its schema range is refused where it is typed (CLI `set`). */
function checkRange(t: Def['type'], tok: Token, pos: Pos, ranges: boolean): void {
  if (!ranges || t?.t !== 'uint') return;
  const n = Number(tok.text);
  if (t.oneOf ? !t.oneOf.includes(n) : n < t.min || n > t.max) {
    syntaxError(tok, pos, t.oneOf ? `Value ${tok.text} is not one of ${t.oneOf.join(', ')} at '${tok.text}'` : `Value ${tok.text} is not within range (${t.min}..${t.max}) at '${tok.text}'`);
  }
}

/** Read a leaf's value tokens starting at words[i]; returns the values and the next index. */
function readLeafValue(def: Def, words: Token[], i: number, pos: Pos, ranges = false): [string[], number] {
  const t = def.type!;
  const tok = words[i];
  if (!tok || tok.kind === '[' || tok.kind === ']') syntaxError(tok ?? words[i - 1], pos, `missing argument: expecting ${describeType(t)}`);
  if (t.t === 'secret') {
    const kind = tok.text;
    if (kind !== 'ascii-text' && kind !== 'hexadecimal') syntaxError(tok, pos);
    const v = words[i + 1];
    if (!v || v.kind === '[' || v.kind === ']') syntaxError(tok, pos, 'missing argument: expecting key');
    return [[kind, hideSecret(v.text)], i + 2];
  }
  if (t.t === 'tracefile') {
    const vals = [tok.text];
    let j = i + 1;
    while (j < words.length) {
      const k = words[j]!;
      if (k.text === 'world-readable' || k.text === 'no-world-readable') { vals.push(k.text); j++; continue; }
      if (k.text !== 'files' && k.text !== 'size') break;   // a sibling statement, or the caller's syntax error
      const v = words[j + 1];
      if (!v || !(k.text === 'files' ? /^\d+$/.test(v.text) : /^\d+[kmg]?$/i.test(v.text))) syntaxError(v ?? k, pos);
      vals.push(k.text, v.text);
      j += 2;
    }
    return [vals, j];
  }
  if (!valueSyntaxOk(t, tok.text)) syntaxError(tok, pos);
  checkRange(t, tok, pos, ranges);
  if (def.secret) return [[def.hashed ? tok.text : hideSecret(tok.text)], i + 1];   // e.g. certificate-key-string: never kept in clear; a password hash as typed
  return [[canonicalValue(t, tok.text)], i + 1];
}

/**
 * Apply one statement (its words, after the enclosing block's position) to the tree.
 * Returns the position reached, so a brace block can continue from it.
 * With `siblings` (a `set` line, as JUNOS reads one), the words after a leaf and its value, or
 * after a flag, continue at that statement's level: `tunnel source A destination B`.
 */
export function applyWords(start: Pos, words: Token[], op: Op, hasBlock: boolean, inactive = false, ranges = false, siblings = false): Pos {
  const w: Walk = { pos: { ...start, path: start.path.slice() }, i: 0, words, op, hasBlock, ranges, create: op === 'set', more: siblings && op === 'set' && !hasBlock };
  while (w.i < words.length) {
    if (w.pos.pendingList) { listKey(w); continue; }
    const tok = words[w.i]!;
    if (tok.kind !== 'word') syntaxError(tok, w.pos);
    const found = childDef(w.pos.node.def, tok.text);
    if (!found) {
      const e = new SyntaxError_('syntax error', tok, w.pos.path);
      e.hint = suggest(w.pos.node.def, tok.text);
      throw e;
    }
    if (statement(w, tok, found) === 'done') return w.pos;
  }
  finishWords(w, start, inactive);
  return w.pos;
}

/** One statement's walk through its words: where it is, the node it reached last, the next word. */
interface Walk { pos: Pos; last?: CNode; i: number; words: Token[]; op: Op; hasBlock: boolean; ranges: boolean; create: boolean; more: boolean }

function missing(w: Walk, tok: Token): never {
  throw new SyntaxError_(`statement not found: ${[...w.pos.path].join(' ')} ${tok.text}`.trim(), tok, w.pos.path);
}

/** A list keyword's key: the entry, made (set) or found. */
function listKey(w: Walk): void {
  const tok = w.words[w.i]!;
  const { def, keyword } = w.pos.pendingList!;
  if (tok.kind !== 'word' && tok.kind !== 'string') syntaxError(tok, w.pos);
  if (!valueSyntaxOk(def.keyType!, tok.text)) syntaxError(tok, w.pos);
  if (w.create) checkRange(def.keyType, tok, w.pos, w.ranges);
  const key = canonicalValue(def.keyType!, tok.text);
  const n = getOrCreate(w.pos.node, def, keyword, key, false, tok.line, w.create);
  if (!n) missing(w, tok);
  w.last = n;
  w.pos = { node: n, path: [...w.pos.path, keyword, key] };
  w.i++;
}

/** One keyword (and its values): 'done' when the statement ended early (values deleted from a leaf list). */
function statement(w: Walk, tok: Token, found: { def: Def; keyword: string; keyless: boolean }): 'done' | undefined {
  const { def, keyword, keyless } = found;
  const { words } = w;
  switch (def.kind) {
    case 'list':
      if (keyless) {
        const n = getOrCreate(w.pos.node, def, '*', tok.text, true, tok.line, w.create);
        if (!n) missing(w, tok);
        w.last = n;
        w.pos = { node: n, path: [...w.pos.path, tok.text] };
      } else {
        w.pos = { node: w.pos.node, path: w.pos.path, pendingList: { def, keyword } };
      }
      w.i++;
      return;
    case 'container': {
      const n = getOrCreate(w.pos.node, def, keyword, undefined, false, tok.line, w.create);
      if (!n) missing(w, tok);
      w.last = n;
      w.pos = { node: n, path: [...w.pos.path, keyword] };
      w.i++;
      return;
    }
    case 'flag': {
      if (w.i + 1 < words.length && !w.more || w.hasBlock) syntaxError(words[w.i + 1] ?? tok, w.pos);
      const n = getOrCreate(w.pos.node, def, keyword, undefined, false, tok.line, w.create);
      if (!n) missing(w, tok);
      w.last = n;
      w.i++;
      return;
    }
    case 'leaf': leaf(w, tok, def, keyword); return;
    case 'leafList': return leafList(w, tok, def, keyword);
  }
}

function leaf(w: Walk, tok: Token, def: Def, keyword: string): void {
  const { words, op, pos } = w;
  if (op !== 'set' && w.i + 1 >= words.length) {
    const n = pos.node.find(keyword);
    if (!n) missing(w, tok);
    w.last = n;
    w.i++;
    return;
  }
  const [vals, j] = readLeafValue(def, words, w.i + 1, pos, w.ranges && op === 'set');
  if (j < words.length && !w.more || w.hasBlock) syntaxError(words[j] ?? tok, pos);
  let n = pos.node.find(keyword);
  if (op === 'set') {
    if (!n) { n = new CNode(def, keyword); n.line = tok.line; pos.node.add(n); }
    n.values = vals;
  } else if (!n || n.values.join(' ') !== vals.join(' ')) {
    if (!n || def.type!.t !== 'secret') missing(w, tok);
  }
  w.last = n;
  w.i = j;
}

function leafList(w: Walk, tok: Token, def: Def, keyword: string): 'done' | undefined {
  const { words, op, pos } = w;
  const vals: string[] = [];
  let j = w.i + 1;
  if (words[j]?.kind === '[') {
    j++;
    while (j < words.length && words[j]!.kind !== ']') {
      const [v, k] = readLeafValue(def, words, j, pos);
      vals.push(...v);
      j = k;
    }
    if (words[j]?.kind !== ']') syntaxError(words[j - 1], pos, "missing ']'");
    j++;
  } else if (j < words.length) {
    const [v, k] = readLeafValue(def, words, j, pos);
    vals.push(...v);
    j = k;
  } else if (op === 'set') {
    syntaxError(tok, pos, `missing argument: expecting ${describeType(def.type!)}`);
  }
  if (j < words.length && !w.more || w.hasBlock) syntaxError(words[j] ?? tok, pos);
  let n = pos.node.find(keyword);
  if (op === 'set') {
    if (!n) { n = new CNode(def, keyword); n.line = tok.line; pos.node.add(n); }
    for (const v of vals) if (!n.values.includes(v)) n.values.push(v);
  } else {
    if (!n) missing(w, tok);
    if (op === 'delete' && vals.length > 0) {
      for (const v of vals) if (!n.values.includes(v)) missing(w, tok);
      n.values = n.values.filter(v => !vals.includes(v));
      if (n.values.length === 0) pos.node.children.splice(pos.node.children.indexOf(n), 1);
      return 'done';
    }
  }
  w.last = n;
  w.i = j;
  return;
}

/** After the words: a list still waiting for its key, inactive, activate/deactivate, delete. */
function finishWords(w: Walk, start: Pos, inactive: boolean): void {
  const { pos, words, op, last } = w;
  if (pos.pendingList && !w.hasBlock && op === 'set') {
    syntaxError(words[words.length - 1], pos, `missing argument: expecting ${describeType(pos.pendingList.def.keyType!)}`);
  }
  if (op === 'set' && inactive && last) last.inactive = true;
  if (op === 'deactivate' || op === 'activate') {
    if (!last) syntaxError(words[words.length - 1], pos);
    last.inactive = op === 'deactivate';
  }
  if (op === 'delete') {
    if (pos.pendingList) {
      // `delete firewall filter`: every entry of that list
      pos.node.children = pos.node.children.filter(ch => ch.keyword !== pos.pendingList!.keyword);
    } else if (last) {
      const parent = findParent(start.node, last);
      if (parent) parent.children.splice(parent.children.indexOf(last), 1);
    } else if (words.length === 0) {
      start.node.children = [];
    }
  }
}

function findParent(from: CNode, target: CNode): CNode | undefined {
  for (const ch of from.children) {
    if (ch === target) return from;
    const p = findParent(ch, target);
    if (p) return p;
  }
  return undefined;
}

/** Walk a path of words to an existing node without changing anything. */
export function lookup(root: CNode, words: string[]): CNode | undefined {
  let node: CNode | undefined = root;
  for (let i = 0; i < words.length && node; i++) {
    const found = childDef(node.def, words[i]!);
    if (!found) return undefined;
    if (found.keyless) { node = node.find('*', words[i]); continue; }
    if (found.def.kind === 'list') {
      const key = words[++i];
      if (key === undefined) return undefined;
      node = node.find(found.keyword, canonicalValue(found.def.keyType!, key));
    } else node = node.find(found.keyword);
  }
  return node;
}

const SECRET_KIND = new Set(['ascii-text', 'hexadecimal']);
const LOOKS_SECRET = /key|secret|password|ascii|hex/i;

/**
 * Which words of a statement are secret values, by schema position: the key of a secret leaf
 * (`pre-shared-key ascii-text KEY`), or every word of one without a kind keyword (a string secret,
 * or a mistyped kind such as `ascii`). `def` is where the statement starts (undefined: unknown).
 * Where the words stop fitting the schema (a typo), every word after one that looks like a secret's
 * keyword is treated as secret, so that a mistyped statement never echoes a key.
 */
export function secretWords(def: Def | undefined, words: Token[]): boolean[] {
  const mask = words.map(() => false);
  let d = def;
  let pendingList = false;
  let i = 0;
  while (i < words.length && d) {
    const w = words[i]!;
    if (pendingList) { pendingList = false; i++; continue; }
    if (w.kind !== 'word' && w.kind !== 'string') { i++; continue; }
    const f = childDef(d, w.text);
    if (!f) break;
    i++;
    if (f.def.kind === 'leaf' || f.def.kind === 'leafList') {
      if (f.def.secret) {
        if (words[i] && SECRET_KIND.has(words[i]!.text)) { if (words[i + 1]) mask[i + 1] = true; i += 2; }
        else { for (let j = i; j < words.length; j++) mask[j] = true; return mask; }
      } else if (words[i]?.kind === '[') { while (i < words.length && words[i]!.kind !== ']') i++; i++; }
      else i++;
      continue;   // more statements may follow on the same line (a missing ';'): the parent's children
    }
    if (f.def.kind === 'flag') continue;
    if (f.def.kind === 'list' && !f.keyless) pendingList = true;
    d = f.def;
  }
  // off the schema: be careful with whatever follows a key-like word
  let after = false;
  for (let j = i; j < words.length; j++) {
    if (after) mask[j] = !SECRET_KIND.has(words[j]!.text);
    else if (LOOKS_SECRET.test(words[j]!.text)) after = true;
  }
  return mask;
}
