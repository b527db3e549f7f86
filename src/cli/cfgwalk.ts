/**
 * How the words of a configuration line walk the schema, word by word, for the CLI's keyword
 * expansion and its `?`/Tab help. It follows applyWords's grammar (src/config/tree.ts), including
 * JUNOS's sibling statements: after a leaf and its value, or a flag, the next word is a statement
 * of the same level (`tunnel source 10.5.5.5 destination 10.6.6.6`).
 */
import { childDef, Def } from '../config/schema.js';
import { matchPrefix, type Match } from './words.js';

/** What one word was: a statement keyword, a list key, or (part of) a leaf's value. */
export type Step =
  | { kind: 'keyword'; word: string; f: NonNullable<ReturnType<typeof childDef>>; level: Def }
  | { kind: 'key'; list: Def }
  | { kind: 'value'; leaf: Def; index: number; sub?: 'files' | 'size' }
  | { kind: 'unknown'; level: Def; match: Match<{ name: string }> };

export class SchemaWalk {
  /** the level the next statement keyword belongs to */
  def: Def;
  pending?: Def;
  leaf?: Def;
  /** how many value words the current leaf has taken */
  vi = 0;
  private bracket = false;
  private traceSub?: 'files' | 'size';
  /** a statement ended at this level (a leaf with its value, a flag): the line could end here */
  complete = false;
  constructor(def: Def) { this.def = def; }

  /** Is the current leaf's value complete, so that the next word is a sibling statement? */
  private valueDone(text: string): boolean {
    const t = this.leaf!.type!;
    if (this.vi === 0) return false;
    if (this.leaf!.kind === 'leafList' && this.bracket) return false;
    if (t.t === 'secret') return this.vi >= 2;
    if (t.t === 'tracefile') return !this.traceSub && !['files', 'size', 'world-readable', 'no-world-readable'].includes(text);
    return true;
  }

  /** Feed one word (`isWord`: not a quoted string or bracket); returns what it was. */
  feed(text: string, isWord = true): Step {
    if (this.leaf && this.valueDone(text)) { this.leaf = undefined; this.complete = true; }
    if (this.leaf) {
      const leaf = this.leaf, index = this.vi++;
      if (leaf.kind === 'leafList' && index === 0 && text === '[' && !isWord) this.bracket = true;
      else if (this.bracket && text === ']' && !isWord) this.bracket = false;
      let sub: 'files' | 'size' | undefined;
      if (leaf.type!.t === 'tracefile' && index > 0) {
        if (this.traceSub) { sub = this.traceSub; this.traceSub = undefined; }
        else if (text === 'files' || text === 'size') this.traceSub = text;
      }
      return { kind: 'value', leaf, index, ...(sub ? { sub } : {}) };
    }
    if (this.pending) { const list = this.pending; this.def = list; this.pending = undefined; this.complete = false; return { kind: 'key', list }; }
    const level = this.def;
    let f = isWord ? childDef(level, text) : null;
    let word = text;
    if (!f && isWord) {
      const m = matchPrefix(text, Object.keys(level.children ?? {}).filter(k => k !== '*').map(k => ({ name: k })));
      if (m.kind === 'one') { word = m.item.name; f = childDef(level, word); }
      if (!f) return { kind: 'unknown', level, match: m };
    }
    if (!f) return { kind: 'unknown', level, match: { kind: 'none' } };
    this.complete = false;
    if (f.def.kind === 'list' && !f.keyless) this.pending = f.def;
    else if (f.def.kind === 'leaf' || f.def.kind === 'leafList') { this.leaf = f.def; this.vi = 0; }
    else if (f.def.kind === 'flag') this.complete = true;
    else this.def = f.def;
    return { kind: 'keyword', word, f, level };
  }

  /** After the last word: is a leaf still waiting for (more of) its value? */
  wantsValue(): boolean {
    if (!this.leaf) return false;
    const t = this.leaf.type!;
    if (this.vi === 0 || this.bracket || this.traceSub) return true;
    return t.t === 'secret' && this.vi < 2;
  }
}
