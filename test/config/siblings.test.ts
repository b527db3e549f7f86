/**
 * JUNOS's sibling statements in one `set` line: after a leaf and its value (or a flag), the words
 * that follow continue at that statement's level. Every hierarchy of the chapter's examples is
 * written with all of a level's leaves on one line, loaded, and compared with the example.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { showConfig, showSet, loadText } from '../../src/config/index.js';
import { CNode } from '../../src/config/tree.js';
import { LoadFailure } from '../../src/config/load.js';

const dir = join(import.meta.dirname, 'chapter');
const LEAVES = new Set(['leaf', 'leafList', 'flag']);

/** One `set` line per level with all of its (active) leaves and flags, then the rest as usual. */
function siblingLines(n: CNode, path: string[], out: string[]): void {
  const leaves = n.children.filter(ch => LEAVES.has(ch.def.kind) && !ch.inactive);
  if (leaves.length) {
    const tmp = new CNode(n.def, n.keyword, n.key, n.keyless);
    tmp.children = leaves;
    const words = showSet(tmp).trim().split('\n').map(l => l.replace(/^set /, '').replace(/ ## SECRET-DATA$/, ''));
    out.push(`set ${[...path, ...words].join(' ')}`);
  }
  for (const ch of n.children) {
    if (leaves.includes(ch)) continue;
    const head = ch.head().map(w => /[\s"]/.test(w) ? JSON.stringify(w) : w);
    if (ch.inactive || LEAVES.has(ch.def.kind)) {
      const tmp = new CNode(n.def, n.keyword, n.key, n.keyless);
      tmp.children = [ch];
      out.push(...showSet(tmp, path).trim().split('\n').map(l => l.replace(/ ## SECRET-DATA$/, '')));
    } else if (ch.children.length === 0) out.push(`set ${[...path, ...head].join(' ')}`);
    else siblingLines(ch, [...path, ...head], out);
  }
}

describe('sibling statements in one set line', () => {
  const files = readdirSync(dir).filter(f => f.endsWith('.conf')).sort();
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    let tree: CNode;
    try { tree = loadText(text, { file: f }); } catch (e) { if (e instanceof LoadFailure) continue; throw e; }   // the chapter's syntax-error examples
    it(f, () => {
      const lines: string[] = [];
      siblingLines(tree, [], lines);
      // the test means something: some line of each example carries several statements
      expect(lines.some(l => l.split(' ').length > 4 && (l.match(/ /g)?.length ?? 0) >= 4)).toBe(true);
      expect(showConfig(loadText(lines.join('\n'), { file: f, format: 'set' }))).toBe(showConfig(tree));
    });
  }

  it("the issue's lines, in a file of set lines", () => {
    const t = loadText([
      'set interfaces es-0/1/0 unit 0 tunnel source 10.5.5.5 destination 10.6.6.6',
      'set security ike proposal p2 authentication-method pre-shared-keys dh-group group2',
      'set security ipsec security-association sa1 manual direction bidirectional protocol esp spi 2312',
      'set system login user ops class super-user authentication encrypted-password "$1$abc$0123456789abcdefghijk."',
      'set security traceoptions file kmd size 1m files 3 flag ike',
    ].join('\n'), { format: 'set' });
    expect(showSet(t)).toBe([
      'set system login user ops class super-user',
      'set system login user ops authentication encrypted-password "$1$abc$0123456789abcdefghijk." ## SECRET-DATA',
      'set interfaces es-0/1/0 unit 0 tunnel source 10.5.5.5',
      'set interfaces es-0/1/0 unit 0 tunnel destination 10.6.6.6',
      'set security ike proposal p2 authentication-method pre-shared-keys',
      'set security ike proposal p2 dh-group group2',
      'set security ipsec security-association sa1 manual direction bidirectional protocol esp',
      'set security ipsec security-association sa1 manual direction bidirectional spi 2312',
      'set security traceoptions file kmd size 1m files 3',
      'set security traceoptions flag ike',
      '',
    ].join('\n'));
  });

  it('a word that is no sibling is still a syntax error, where it is', () => {
    expect(() => loadText('set interfaces es-0/1/0 unit 0 tunnel source 10.5.5.5 frobnicate 1', { format: 'set' })).toThrow(/1:\(55\) syntax error: frobnicate/);
    // a sibling of the parent level is not one of this level
    expect(() => loadText('set interfaces es-0/1/0 unit 0 tunnel source 10.5.5.5 family inet', { format: 'set' })).toThrow(/syntax error: family/);
    // the brace form keeps its ';'
    expect(() => loadText('interfaces { es-0/1/0 { unit 0 { tunnel { source 10.5.5.5 destination 10.6.6.6; } } } }')).toThrow(/syntax error/);
  });
});
