/**
 * `| match` and `| except` patterns (issue 21 item 6): a Thompson-NFA / Pike-VM matcher, so a line is
 * tested in time linear in its length times the pattern's size, whatever the pattern (`(.*.*)*#` too):
 * re2 semantics, no backtracking, no back-references. The subset JUNOS users write: literals, `.`,
 * `[...]` / `[^...]` with ranges, `\d \w \s \D \W \S` and escaped characters, `^ $`, groups `( )`,
 * `|`, `* + ?` and `{m}`, `{m,}`, `{m,n}` (n at most 100). Case-insensitive, as JUNOS's `match` is.
 * A pattern longer than 512 characters or of more than 10,000 instructions is refused.
 */
export const MATCH_LIMITS = { patternChars: 512, instructions: 10_000, repeat: 100 };

export class PatternError extends Error {}

type Pred = (c: string) => boolean;
type Node =
  | { t: 'char'; p: Pred } | { t: 'bol' } | { t: 'eol' } | { t: 'empty' }
  | { t: 'cat'; a: Node[] } | { t: 'alt'; a: Node[] } | { t: 'rep'; n: Node; min: number; max: number };
type Ins = { op: 'char'; p: Pred; x: number } | { op: 'split'; x: number; y: number } | { op: 'jmp'; x: number } | { op: 'bol'; x: number } | { op: 'eol'; x: number } | { op: 'match' };

const CLASS: Record<string, Pred> = {
  d: c => c >= '0' && c <= '9', D: c => !(c >= '0' && c <= '9'),
  w: c => /[A-Za-z0-9_]/.test(c), W: c => !/[A-Za-z0-9_]/.test(c),
  s: c => /\s/.test(c), S: c => !/\s/.test(c),
};
const ESC: Record<string, string> = { n: '\n', t: '\t', r: '\r' };

class Parser {
  i = 0;
  constructor(private s: string) {}
  parse(): Node { const n = this.alt(); if (this.i < this.s.length) throw new PatternError(`unmatched ) at ${this.i + 1}`); return n; }
  private alt(): Node {
    const a = [this.cat()];
    while (this.s[this.i] === '|') { this.i++; a.push(this.cat()); }
    return a.length === 1 ? a[0]! : { t: 'alt', a };
  }
  private cat(): Node {
    const a: Node[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') a.push(this.rep());
    return a.length === 1 ? a[0]! : { t: 'cat', a };
  }
  private rep(): Node {
    let n = this.atom();
    for (;;) {
      const c = this.s[this.i];
      let min: number, max: number;
      if (c === '*') { min = 0; max = Infinity; this.i++; }
      else if (c === '+') { min = 1; max = Infinity; this.i++; }
      else if (c === '?') { min = 0; max = 1; this.i++; }
      else if (c === '{' && /^\{\d+(,\d*)?\}/.test(this.s.slice(this.i))) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i))!;
        this.i += m[0].length;
        min = Number(m[1]); max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        if (min > MATCH_LIMITS.repeat || (max !== Infinity && (max > MATCH_LIMITS.repeat || max < min))) throw new PatternError(`repetition {${m[1]}${m[2] ?? ''}}: at most ${MATCH_LIMITS.repeat}`);
      } else return n;
      if (this.s[this.i] === '?') this.i++;   // a lazy quantifier matches the same lines
      n = { t: 'rep', n, min, max };
    }
  }
  private atom(): Node {
    const c = this.s[this.i++]!;
    switch (c) {
      case '(': {
        if (this.s.startsWith('?:', this.i)) this.i += 2;
        const n = this.i < this.s.length && this.s[this.i] === ')' ? { t: 'empty' as const } : this.alt();
        if (this.s[this.i] !== ')') throw new PatternError('missing )');
        this.i++;
        return n;
      }
      case '.': return { t: 'char', p: ch => ch !== '\n' };
      case '^': return { t: 'bol' };
      case '$': return { t: 'eol' };
      case '[': return { t: 'char', p: this.klass() };
      case '\\': return { t: 'char', p: this.escape() };
      case '*': case '+': case '?': throw new PatternError(`nothing to repeat at ${this.i}`);
      default: { const l = c.toLowerCase(); return { t: 'char', p: ch => ch.toLowerCase() === l }; }
    }
  }
  private escape(): Pred {
    const e = this.s[this.i++];
    if (e === undefined) throw new PatternError('a trailing \\');
    if (CLASS[e]) return CLASS[e]!;
    const l = (ESC[e] ?? e).toLowerCase();
    return ch => ch.toLowerCase() === l;
  }
  private klass(): Pred {
    let neg = false;
    if (this.s[this.i] === '^') { neg = true; this.i++; }
    const parts: Pred[] = [];
    let first = true;
    while (this.i < this.s.length && (this.s[this.i] !== ']' || first)) {
      first = false;
      let lo: string;
      if (this.s[this.i] === '\\') { this.i++; const e = this.s[this.i++]!; if (CLASS[e]) { parts.push(CLASS[e]!); continue; } lo = ESC[e] ?? e; }
      else if (this.s.startsWith('[:', this.i)) {
        const m = /^\[:(alpha|digit|alnum|space|upper|lower|punct):\]/.exec(this.s.slice(this.i));
        if (!m) throw new PatternError('bad character class');
        this.i += m[0].length;
        const re = { alpha: /[A-Za-z]/, digit: /\d/, alnum: /[A-Za-z0-9]/, space: /\s/, upper: /[A-Za-z]/, lower: /[A-Za-z]/, punct: /[!-/:-@[-`{-~]/ }[m[1] as 'alpha'];
        parts.push(ch => re.test(ch));
        continue;
      } else lo = this.s[this.i++]!;
      if (this.s[this.i] === '-' && this.s[this.i + 1] !== undefined && this.s[this.i + 1] !== ']') {
        this.i++;
        let hi = this.s[this.i++]!;
        if (hi === '\\') hi = this.s[this.i++] ?? '\\';
        if (hi < lo) throw new PatternError(`bad range ${lo}-${hi}`);
        const a = lo, b = hi;
        parts.push(ch => { const u = ch.toUpperCase(), l = ch.toLowerCase(); return (ch >= a && ch <= b) || (u >= a && u <= b) || (l >= a && l <= b); });
      } else { const l = lo.toLowerCase(); parts.push(ch => ch.toLowerCase() === l); }
    }
    if (this.s[this.i] !== ']') throw new PatternError('missing ]');
    this.i++;
    return neg ? ch => !parts.some(p => p(ch)) : ch => parts.some(p => p(ch));
  }
}

/** A compiled pattern: `test(line)` finds it anywhere in the line, in linear time. */
export class LinearPattern {
  private prog: Ins[] = [];
  constructor(source: string) {
    if (source.length > MATCH_LIMITS.patternChars) throw new PatternError(`a pattern longer than ${MATCH_LIMITS.patternChars} characters`);
    this.emit(new Parser(source).parse());
    this.prog.push({ op: 'match' });
  }
  private push(i: Ins): number {
    if (this.prog.length >= MATCH_LIMITS.instructions) throw new PatternError('the pattern is too large');
    this.prog.push(i);
    return this.prog.length - 1;
  }
  private emit(n: Node): void {
    const P = this.prog;
    switch (n.t) {
      case 'empty': return;
      case 'char': this.push({ op: 'char', p: n.p, x: P.length + 1 }); return;
      case 'bol': this.push({ op: 'bol', x: P.length + 1 }); return;
      case 'eol': this.push({ op: 'eol', x: P.length + 1 }); return;
      case 'cat': for (const c of n.a) this.emit(c); return;
      case 'alt': {
        const jumps: number[] = [];
        for (let k = 0; k < n.a.length; k++) {
          if (k < n.a.length - 1) {
            const s = this.push({ op: 'split', x: 0, y: 0 });
            (P[s] as { x: number }).x = P.length;
            this.emit(n.a[k]!);
            jumps.push(this.push({ op: 'jmp', x: 0 }));
            (P[s] as { y: number }).y = P.length;
          } else this.emit(n.a[k]!);
        }
        for (const j of jumps) (P[j] as { x: number }).x = P.length;
        return;
      }
      case 'rep': {
        for (let k = 0; k < n.min; k++) this.emit(n.n);
        if (n.max === Infinity) {
          const s = this.push({ op: 'split', x: 0, y: 0 });
          (P[s] as { x: number }).x = P.length;
          this.emit(n.n);
          this.push({ op: 'jmp', x: s });
          (P[s] as { y: number }).y = P.length;
        } else {
          const splits: number[] = [];
          for (let k = n.min; k < n.max; k++) {
            const s = this.push({ op: 'split', x: 0, y: 0 });
            (P[s] as { x: number }).x = P.length;
            splits.push(s);
            this.emit(n.n);
          }
          for (const s of splits) (P[s] as { y: number }).y = P.length;
        }
      }
    }
  }

  test(line: string): boolean {
    const P = this.prog, n = P.length;
    const mark = new Int32Array(n).fill(-1);
    let cur: number[] = [], next: number[] = [];
    let gen = 0;
    const stack: number[] = [];
    // the epsilon closure of pc at position i (bol / eol decided there); true when it reaches match
    const add = (list: number[], pc0: number, i: number): boolean => {
      stack.push(pc0);
      while (stack.length) {
        const pc = stack.pop()!;
        if (mark[pc] === gen) continue;
        mark[pc] = gen;
        const ins = P[pc]!;
        switch (ins.op) {
          case 'match': stack.length = 0; return true;
          case 'jmp': stack.push(ins.x); break;
          case 'split': stack.push(ins.y, ins.x); break;
          case 'bol': if (i === 0) stack.push(ins.x); break;
          case 'eol': if (i === line.length) stack.push(ins.x); break;
          case 'char': list.push(pc); break;
        }
      }
      return false;
    };
    for (let i = 0; ; i++) {
      // unanchored: a thread starts at every position
      if (add(cur, 0, i)) return true;
      if (i >= line.length) return false;
      const c = line[i]!;
      gen++;
      for (const pc of cur) {
        const ins = P[pc] as { op: 'char'; p: Pred; x: number };
        if (ins.p(c) && add(next, ins.x, i + 1)) return true;
      }
      [cur, next] = [next, cur];
      next.length = 0;
    }
  }
}
