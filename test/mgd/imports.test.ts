/**
 * The house's walls, read from the source: the CLI (src/cli) and the XML API (src/api) both sit on
 * mgd (src/mgd) and never import each other, and no module of src/ reaches itself through its
 * imports (type-only imports aside: they leave nothing at run time).
 */
import { it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, dirname, relative, resolve } from 'node:path';

const root = join(import.meta.dirname, '../..');
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap(n => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(n) && !/\.test\.tsx?$|\.test-helper\.ts$/.test(n) ? [p] : [];
  });
}

/** A module's value imports (and re-exports), resolved to files. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) {
    if (m[2] || !m[3]!.startsWith('.')) continue;
    const base = resolve(dirname(file), m[3]!.replace(/\.js$/, ''));
    const f = [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts')].find(existsSync);
    if (f) out.push(f);
  }
  return out;
}

const all = files(src);
const rel = (f: string) => relative(root, f);

it('the import reader sees value imports and re-exports, not type-only imports', () => {
  const f = join(src, 'cli/interp.ts');
  const got = importsOf(f, "import { a } from '../mgd/commitdb.js';\nimport type { R } from '../router/router.js';\nexport * from './words.js';\n").map(rel);
  expect(got).toEqual(['src/mgd/commitdb.ts', 'src/cli/words.ts']);
});

it('src/cli never imports src/api, nor src/api src/cli', () => {
  const bad: string[] = [];
  for (const f of all) {
    const from = rel(f).split('/')[1];
    if (from !== 'cli' && from !== 'api') continue;
    const text = readFileSync(f, 'utf8');
    // type imports too: the two do not know each other at all
    for (const m of text.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
      if (!m[1]!.startsWith('.')) continue;
      const to = relative(src, resolve(dirname(f), m[1]!)).split('/')[0];
      if ((from === 'cli' && to === 'api') || (from === 'api' && to === 'cli')) bad.push(`${rel(f)} -> ${m[1]}`);
    }
  }
  expect(bad).toEqual([]);
});

/** Every import circle of the graph (Tarjan's strongly connected components of more than one module, or a module importing itself). */
export function circles(graph: Map<string, string[]>): string[][] {
  let n = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>(), out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, n); low.set(v, n); n++; stack.push(v); on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); c.push(w); } while (w !== v);
      if (c.length > 1 || graph.get(v)?.includes(v)) out.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

it('the circle finder finds a circle, and none where there is none', () => {
  expect(circles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
  expect(circles(new Map([['a', ['b']], ['b', ['c']], ['c', []]]))).toEqual([]);
});

it('no import circle in src/', () => {
  const graph = new Map(all.map(f => [rel(f), importsOf(f).map(rel)]));
  const found = circles(graph);
  expect(found).toEqual([]);
});
