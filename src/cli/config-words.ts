/**
 * Pieces of the CLI's configuration mode, outside the interpreter's state: abbreviated words
 * expanded against the schema, the values `?` offers, a new password's rules, and the tree of one
 * path for `show configuration PATH | display xml`.
 */
import { CNode, lookup } from '../config/tree.js';
import type { Token } from '../config/lexer.js';
import { describeType, Def, ValueType } from '../config/schema.js';
import { SchemaWalk } from './cfgwalk.js';
import { matchPrefix, CliError } from './words.js';
import type { Opt } from './op-commands.js';

const HELP_PAD = 21;
/** A `?` line: the name in its column, the help after it (at least one space, however long the name). */
export const line = (name: string, help: string) => `  ${name.length >= HELP_PAD ? name + ' ' : name.padEnd(HELP_PAD)}${help}`.trimEnd();

/** JUNOS's rules for a new password: at least 6 characters, and more than one kind of them. */
export function passwordProblem(pw: string): string | undefined {
  if (pw.length < 6) return 'minimum password length is 6';
  if (pw.length > 128) return 'maximum password length is 128';
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter(re => re.test(pw)).length;
  if (kinds < 2) return 'require change of case, digits or punctuation';
  return undefined;
}

/** The tree with only the statements on `path` (for `show configuration PATH | display xml`). */
export function wrapPath(tree: CNode, path: string[]): CNode {
  const target = lookup(tree, path);
  const shell = (n: CNode): CNode => { const c = new CNode(n.def, n.keyword, n.key, n.keyless); c.values = n.values.slice(); c.inactive = n.inactive; return c; };
  const chain: CNode[] = [];
  const find = (n: CNode): boolean => n === target || n.children.some(ch => find(ch) && (chain.unshift(ch), true));
  find(tree);
  const root = shell(tree);
  let cur = root;
  for (const n of chain) cur = cur.add(n === target ? n.clone() : shell(n));
  return root;
}

/**
 * Expand abbreviated keywords (and enum values) of a configuration path against the schema, as
 * JUNOS does in configuration mode: `set sec ipsec security-association sa1 man dir bi`.
 */
export function expandWords(def: Def, toks: Token[]): Token[] {
  const walk = new SchemaWalk(def);
  const out: Token[] = [];
  for (const t of toks) {
    const tk = { ...t };
    out.push(tk);
    const st = walk.feed(t.text, t.kind === 'word');
    const prefix = (vals: string[], aliases: string[] = []) => {
      let m = matchPrefix(t.text, vals.map(v => ({ name: v })));
      if (m.kind === 'none' && aliases.length) m = matchPrefix(t.text, aliases.map(v => ({ name: v })));
      if (m.kind === 'one') tk.text = m.item.name;
      else if (m.kind === 'ambiguous') throw new CliError(t.col, `'${t.text}' is ambiguous.`);
    };
    if (st.kind === 'keyword') tk.text = st.word;
    else if (st.kind === 'value' && st.index === 0 && t.kind === 'word') {
      const ty = st.leaf.type!;
      if (ty.t === 'enum') prefix(ty.values);
      else if (ty.t === 'secret') prefix(['ascii-text', 'hexadecimal']);
    } else if (st.kind === 'key' && t.kind === 'word') {
      // aliases (bi-directional) name the same value: match the canonical spellings first
      const kt = st.list.keyType!;
      if (kt.t === 'enum') prefix(kt.values, Object.keys(kt.aliases ?? {}));
    } else if (st.kind === 'unknown') {
      const m = st.match;
      if (m.kind === 'ambiguous') throw new CliError(t.col, `'${t.text}' is ambiguous.`, 'Possible completions:\n' + m.items.map(x => line(x.name, st.level.children![x.name]!.help)).join('\n'));
      break;   // applyWords reports the syntax error where it is
    }
  }
  return out.concat(toks.slice(out.length));
}

/** The values `?` offers for a value of type `t` at `path` (names the candidate defines). */
export function valueCandidates(candidate: CNode, t: ValueType, path: string[]): Opt[] {
  const base: Opt[] = [{ name: describeType(t).startsWith('<') || t.t !== 'enum' ? describeType(t) : '<value>', help: '' }];
  if (t.t === 'enum') return t.values.map(v => ({ name: v, help: '' }));
  const names = (p: string[], kw: string) => lookup(candidate, p)?.all(kw).map(n => ({ name: n.key!, help: '' })) ?? [];
  if (t.t === 'word' && t.what === 'sa-name') return [...base, ...names(['security', 'ipsec'], 'security-association')];
  if (t.t === 'word' && t.what === 'filter-name') return [...base, ...names(['firewall'], 'filter')];
  if (t.t === 'word' && t.what === 'policy-name') return [...base, ...names(['security', 'ipsec'], 'policy')];
  if (t.t === 'word' && t.what === 'proposal-name') return [...base, ...names(['security', path[1] === 'ike' ? 'ike' : 'ipsec'], 'proposal')];
  if (t.t === 'secret') return [{ name: 'ascii-text', help: 'Format as text' }, { name: 'hexadecimal', help: 'Format as hexadecimal' }];
  return base;
}

/** Configuration mode's commands. */
export const CONFIG_COMMANDS: Opt[] = [
  { name: 'set', help: 'Set a parameter' }, { name: 'delete', help: 'Delete a data element' },
  { name: 'activate', help: 'Remove the inactive tag from a statement' }, { name: 'deactivate', help: 'Add the inactive tag to a statement' },
  { name: 'edit', help: 'Edit a sub-element' }, { name: 'show', help: 'Show a parameter' },
  { name: 'up', help: 'Exit one level of configuration' }, { name: 'top', help: 'Exit to top level of configuration' },
  { name: 'exit', help: 'Exit from this level' }, { name: 'quit', help: 'Quit from this level' },
  { name: 'commit', help: 'Commit current set of changes' }, { name: 'rollback', help: 'Roll back to previous committed configuration' },
  { name: 'load', help: 'Load configuration from ASCII file' }, { name: 'run', help: 'Run an operational-mode command' },
];
