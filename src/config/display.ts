/** Canonical display of a configuration tree: JUNOS brace form and `| display set`. */
import { CNode } from './tree.js';
import { quoteIfNeeded } from './lexer.js';
import type { Def } from './schema.js';

const IND = '    ';

function order(def: Def): Map<string, number> {
  const m = new Map<string, number>();
  Object.keys(def.children ?? {}).forEach((k, i) => m.set(k, i));
  return m;
}
const orderCache = new WeakMap<Def, Map<string, number>>();
function sortedChildren(n: CNode): CNode[] {
  let o = orderCache.get(n.def);
  if (!o) { o = order(n.def); orderCache.set(n.def, o); }
  const ord = o;
  return n.children.map((c, i) => [c, i] as const)
    .sort((a, b) => (ord.get(a[0].keyword)! - ord.get(b[0].keyword)!) || (a[1] - b[1]))
    .map(x => x[0]);
}

/** a password hash is shown quoted, as JUNOS does */
const valueText = (n: CNode, v: string) => (n.def.hashed ? JSON.stringify(v) : quoteIfNeeded(v));
function leafText(n: CNode): string {
  const vals = n.values.map(v => valueText(n, v));
  if (n.def.kind === 'leafList') {
    return vals.length === 1 ? `${n.keyword} ${vals[0]};` : `${n.keyword} [ ${vals.join(' ')} ];`;
  }
  return `${n.keyword} ${vals.join(' ')};${n.def.secret ? ' ## SECRET-DATA' : ''}`;
}

function headText(n: CNode): string { return n.head().map(quoteIfNeeded).join(' '); }

function render(n: CNode, depth: number, out: string[]): void {
  const pad = IND.repeat(depth);
  const kids = sortedChildren(n);
  for (let i = 0; i < kids.length; i++) {
    const ch = kids[i]!;
    const ina = ch.inactive ? 'inactive: ' : '';
    if (ch.def.kind === 'list' && ch.def.grouped) {
      const group = kids.filter(k => k.keyword === ch.keyword);
      i += group.length - 1;
      out.push(`${pad}${ch.keyword} {`);
      for (const g of group) out.push(`${pad}${IND}${g.inactive ? 'inactive: ' : ''}${quoteIfNeeded(g.key!)};`);
      out.push(`${pad}}`);
      continue;
    }
    switch (ch.def.kind) {
      case 'flag': out.push(`${pad}${ina}${ch.keyword};`); break;
      case 'leaf': case 'leafList': out.push(`${pad}${ina}${leafText(ch)}`); break;
      default: {
        const head = headText(ch);
        const only = ch.children.length === 1 ? ch.children[0]! : undefined;
        if (ch.children.length === 0) out.push(`${pad}${ina}${head};`);
        else if (ch.def.oneLine && only && !only.inactive && (only.def.kind === 'flag' || only.def.kind === 'leaf' || only.def.kind === 'leafList')) {
          out.push(`${pad}${ina}${head} ${only.def.kind === 'flag' ? only.keyword + ';' : leafText(only)}`);
        } else {
          out.push(`${pad}${ina}${head} {`);
          render(ch, depth + 1, out);
          out.push(`${pad}}`);
        }
      }
    }
  }
}

/** The canonical brace form of `node`'s contents. */
export function showConfig(node: CNode): string {
  const out: string[] = [];
  render(node, 0, out);
  return out.length ? out.join('\n') + '\n' : '';
}

/** `| display set`: one set line per statement, then `deactivate` for inactive ones. */
export function showSet(node: CNode, prefix: string[] = []): string {
  const sets: string[] = [];
  const deact: string[] = [];
  const walk = (n: CNode, path: string[]) => {
    for (const ch of sortedChildren(n)) {
      const p = [...path, ...ch.head().map(quoteIfNeeded)];
      switch (ch.def.kind) {
        case 'flag': sets.push(`set ${p.join(' ')}`); break;
        case 'leaf':
          sets.push(`set ${[...path, ch.keyword, ...ch.values.map(v => valueText(ch, v))].join(' ')}${ch.def.secret ? ' ## SECRET-DATA' : ''}`);
          break;
        case 'leafList':
          for (const v of ch.values) sets.push(`set ${[...path, ch.keyword, quoteIfNeeded(v)].join(' ')}`);
          break;
        default:
          if (ch.children.length === 0) sets.push(`set ${p.join(' ')}`);
          else walk(ch, p);
      }
      if (ch.inactive) deact.push(`deactivate ${p.join(' ')}`);
    }
  };
  walk(node, prefix);
  const all = [...sets, ...deact];
  return all.length ? all.join('\n') + '\n' : '';
}

/**
 * `show configuration PATH` (`| display set`): a path down to a leaf or flag shows that statement
 * (`host-name gw-a;`), as JUNOS does; `path` is the path's words, the leaf's keyword last.
 */
export function showAt(node: CNode, path: string[], set: boolean): string {
  if (node.def.kind !== 'leaf' && node.def.kind !== 'leafList' && node.def.kind !== 'flag') return set ? showSet(node, path) : showConfig(node);
  const wrap = new CNode({ kind: 'container', help: '', children: { [node.keyword]: node.def } }, '');
  wrap.children = [node];
  return set ? showSet(wrap, path.slice(0, -1)) : showConfig(wrap);
}
