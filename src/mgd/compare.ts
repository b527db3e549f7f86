/** `show | compare`: a hierarchical diff of two configuration trees, the way JUNOS prints it. */
import type { CNode } from '../config/tree.js';
import { showConfig } from '../config/display.js';
import { quoteIfNeeded } from '../config/lexer.js';

function render(n: CNode): string[] {
  // the one-statement brace rendering of n, from a throwaway parent
  const parent = { def: { kind: 'container', help: '', children: { [n.keyword]: n.def } }, children: [n] } as unknown as CNode;
  return showConfig(parent).trimEnd().split('\n');
}
const same = (a: CNode, b: CNode) => a.keyword === b.keyword && a.key === b.key;

export function diffTrees(oldT: CNode, newT: CNode): string {
  const out: string[] = [];
  const walk = (a: CNode, b: CNode, path: string[]) => {
    const lines: string[] = [];
    const subs: Array<[CNode, CNode, string[]]> = [];
    for (const x of a.children) {
      const y = b.children.find(c => same(c, x));
      if (!y) { for (const l of render(x)) lines.push('-   ' + l); continue; }
      if (x.def.kind === 'leaf' || x.def.kind === 'leafList' || x.def.kind === 'flag') {
        if (x.values.join('\0') !== y.values.join('\0') || x.inactive !== y.inactive) {
          for (const l of render(x)) lines.push('-   ' + l);
          for (const l of render(y)) lines.push('+   ' + l);
        }
      } else if (x.inactive !== y.inactive) {
        for (const l of render(x)) lines.push('-   ' + l);
        for (const l of render(y)) lines.push('+   ' + l);
      } else subs.push([x, y, [...path, ...x.head().map(quoteIfNeeded)]]);
    }
    for (const y of b.children) if (!a.children.some(c => same(c, y))) for (const l of render(y)) lines.push('+   ' + l);
    if (lines.length) { out.push(`[edit${path.length ? ' ' + path.join(' ') : ''}]`); out.push(...lines); }
    for (const [x, y, p] of subs) walk(x, y, p);
  };
  walk(oldT, newT, []);
  return out.length ? out.join('\n') + '\n' : '';
}
