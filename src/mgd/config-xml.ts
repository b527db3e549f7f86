/**
 * The configuration in JUNOS XML (the API's `<configuration>`), both ways, driven by the schema:
 * a container is an element, a list entry an element with its key in `<name>` (interfaces: `<interface>`),
 * a leaf `<keyword>value</keyword>` (secrets as $9$, as in the CLI), a flag `<keyword/>`, an inactive
 * statement `inactive="inactive"`. XML coming in becomes set, delete and deactivate lines for the
 * candidate's one loader, so every check of the CLI applies; `operation="delete"`/`delete="delete"`
 * and `operation="replace"`/`replace="replace"` work on any element.
 */
import type { CNode } from '../config/tree.js';
import { ROOT, childDef, type Def } from '../config/schema.js';
import { quoteIfNeeded } from '../config/lexer.js';
import { El, el, tx, local, esc } from './xml.js';

const LIST_ELEMENT: Record<string, string> = { interfaces: 'interface' };

function order(def: Def): Map<string, number> { const m = new Map<string, number>(); Object.keys(def.children ?? {}).forEach((k, i) => m.set(k, i)); return m; }

/** `<configuration>` with the tree's statements (or those under `path`). */
export function treeToXml(n: CNode, attrs: Record<string, string | undefined> = {}): string {
  return el('configuration', body(n, ''), attrs);
}
function body(n: CNode, parentKw: string): string {
  const ord = order(n.def);
  const kids = n.children.map((c, i) => [c, i] as const).sort((a, b) => (ord.get(a[0].keyword)! - ord.get(b[0].keyword)!) || a[1] - b[1]).map(x => x[0]);
  let out = '';
  for (const ch of kids) {
    const at = ch.inactive ? { inactive: 'inactive' } : {};
    switch (ch.def.kind) {
      case 'flag': out += el(ch.keyword, '', at); break;
      // a secret with its kind (`key ascii-text "$9$..."`) is `<key><ascii-text>$9$...</ascii-text></key>`
      case 'leaf': out += ch.def.secret && ch.values.length === 2 ? el(ch.keyword, tx(ch.values[0]!, ch.values[1]!), at) : el(ch.keyword, esc(ch.values.join(' ')), at); break;
      case 'leafList': for (const v of ch.values) out += el(ch.keyword, esc(v), at); break;
      case 'list': {
        const name = ch.keyless ? (LIST_ELEMENT[parentKw] ?? 'name') : ch.keyword;
        out += el(name, tx('name', ch.key!) + body(ch, ch.keyword), at);
        break;
      }
      default: out += el(ch.keyword, body(ch, ch.keyword), at);
    }
  }
  return out;
}

export class XmlConfigError extends Error {}

/** The set/delete/deactivate lines a `<configuration>` element stands for. */
export function xmlToLines(cfg: El): string[] {
  const lines: string[] = [];
  walk(cfg, ROOT, '', [], lines);
  return lines;
}
const op = (e: El) => e.attrs.operation ?? (e.attrs.delete === 'delete' ? 'delete' : e.attrs.replace === 'replace' ? 'replace' : e.attrs.operation);
function walk(e: El, def: Def, parentKw: string, path: string[], out: string[]): void {
  for (const c of e.children) {
    const name = local(c.name);
    let kw = name, f = childDef(def, name);
    // a keyless list's entry (`<interface><name>fe-0/0/0</name>`)
    if (!f && LIST_ELEMENT[parentKw] === name && def.children?.['*']) { f = { def: def.children['*']!, keyword: '*', keyless: true }; kw = '*'; }
    if (!f) throw new XmlConfigError(`syntax error: ${[...path, name].join(' ')}: '${name}' is not a statement here`);
    const o = op(c);
    const inactive = c.attrs.inactive === 'inactive';
    const d = f.def;
    let here: string[];
    let rest = c.children;
    if (d.kind === 'list') {
      const keyEl = c.children.find(x => local(x.name) === 'name');
      const key = keyEl?.text.trim();
      if (!key) throw new XmlConfigError(`syntax error: ${[...path, name].join(' ')}: <name> is missing`);
      here = kw === '*' ? [...path, quoteIfNeeded(key)] : [...path, name, quoteIfNeeded(key)];
      rest = c.children.filter(x => x !== keyEl);
    } else here = [...path, name];
    if (o === 'delete') { out.push(`delete ${here.join(' ')}`); continue; }
    if (o === 'replace') out.push(`delete ${here.join(' ')}`);
    switch (d.kind) {
      case 'flag': out.push(`set ${here.join(' ')}`); break;
      case 'leaf': case 'leafList': {
        const kind = c.children[0];
        if (kind && d.secret) { out.push(`set ${here.join(' ')} ${local(kind.name)} ${quoteIfNeeded(kind.text.trim())}`); break; }
        const v = c.text.trim();
        if (v === '') throw new XmlConfigError(`syntax error: ${here.join(' ')}: a value is missing`);
        // a leaf with several words (`file kmd files 3`) keeps them as words
        out.push(`set ${here.join(' ')} ${d.type?.t === 'tracefile' ? v : quoteIfNeeded(v)}`);
        break;
      }
      default:
        if (!rest.length) out.push(`set ${here.join(' ')}`);
        else walk({ ...c, children: rest }, d, kw === '*' ? kw : name, here, out);
    }
    if (inactive) out.push(`deactivate ${here.join(' ')}`);
  }
}
