/**
 * The PFE's graph is checked: every stage hands packets only to the next nodes it declares (the graph
 * refuses a name it does not have), counts only the drop reasons it declares (by type, and here on
 * hostile traffic), and the PFE's modules import each other without a circle.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';
import { Graph, GraphNode, Pkt } from './graph.js';
import { figure11 } from '../lab/memlab.js';
import type { Port } from './types.js';

const REASONS = ['one'] as const;
class Sink extends GraphNode<'one', never> {
  readonly name = 'sink'; readonly reasons = REASONS; readonly nexts = [] as const;
  run(v: Pkt[], n: number): void { for (let i = 0; i < n; i++) this.drop(v[i]!, 'one'); }
}
class Source extends GraphNode<'one', 'sink'> {
  readonly name = 'source'; readonly reasons = REASONS; readonly nexts = ['sink'] as const;
  run(v: Pkt[], n: number): void {
    for (let i = 0; i < n; i++) this.g.enqueue(this.next.sink, v[i]!);
    // @ts-expect-error: a reason the stage does not declare does not type-check
    if (n < 0) this.drop(v[0]!, 'two');
    // @ts-expect-error: nor does a next node it does not declare
    if (n < 0) this.g.enqueue(this.next.other, v[0]!);
  }
}

describe('the PFE graph', () => {
  it('wires declared next nodes by name, and refuses one the graph does not have', () => {
    const g = new Graph();
    const src = g.add(new Source(g));
    expect(() => g.link()).toThrow(/source declares next node sink/);
    const sink = g.add(new Sink(g));
    g.link();
    expect(src.next.sink).toBe(sink);
    g.enqueue(src, g.packet(Buffer.alloc(20), 0));
    g.dispatch();
    expect(sink.drops.get('one')).toBe(1);
  });

  describe('on hostile traffic', () => {
    let close: (() => Promise<void>) | undefined;
    afterEach(async () => { await close?.(); close = undefined; });
    it('every stage counts only the reasons it declares, and every next node it names exists', async () => {
      const t = await figure11(join(import.meta.dirname, '../../topologies'), { ipsec: 'inline' });
      close = () => t.lab.close();
      const seen: Buffer[] = [];
      for (const w of t.lab.wires.values()) w.watch((_f, frame) => { if (seen.length < 200) seen.push(Buffer.from(frame)); });
      expect(await t.hostA.ping('10.2.2.2', { count: 3 })).toHaveLength(3);
      let seed = 777;
      const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0);
      const ends = [...t.lab.wires.values()].flatMap(w => [w.a, w.b]) as Port[];
      for (let i = 0; i < 4000; i++) {
        const f = Buffer.from(seen[rnd() % seen.length]!);
        if (rnd() % 3 === 0) f.subarray(0, rnd() % (f.length + 1)).copy(f);
        for (let k = 0, n = 1 + (rnd() % 3); k < n; k++) f[14 + (rnd() % Math.max(1, f.length - 14))]! ^= 1 << (rnd() % 8);
        ends[rnd() % ends.length]!.send(rnd() % 4 === 0 ? f.subarray(0, rnd() % (f.length + 1)) : f);
        if (i % 500 === 0) await new Promise(r => setImmediate(r));
      }
      let counted = 0;
      for (const r of [t.gwA, t.gwB]) {
        const names = new Set(r.pfe.graph.nodes().map(n => n.name));
        for (const n of r.pfe.graph.nodes()) {
          for (const [reason, c] of n.drops) { expect(n.reasons, `${n.name} counted ${reason}`).toContain(reason); counted += c; }
          for (const next of n.nexts) expect(names).toContain(next);
        }
      }
      expect(counted).toBeGreaterThan(100);
    }, 60000);
  });

  it('src/pfe has no import circle, and no stage imports the Pfe', () => {
    const root = import.meta.dirname;
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap(e =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : []);
    const all = files(root);
    const edges = new Map<string, string[]>();
    for (const f of all) {
      const src = readFileSync(f, 'utf8');
      const deps = [...src.matchAll(/(?:from\s+|import\()\s*'(\.[^']+)'/g)].map(m => resolve(dirname(f), m[1]!).replace(/\.js$/, '.ts')).filter(d => all.includes(d));
      edges.set(f, deps);
    }
    expect(edges.get(join(root, 'pfe.ts'))!.length).toBeGreaterThan(5);   // the parse sees imports
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') { circles.push([...path.slice(path.indexOf(f)), f].map(x => relative(root, x)).join(' -> ')); return; }
      state.set(f, 'open');
      for (const d of edges.get(f)!) visit(d, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of all) visit(f, []);
    expect(circles).toEqual([]);
    for (const f of all.filter(x => x.includes('/stages/'))) expect(edges.get(f), relative(root, f)).not.toContain(join(root, 'pfe.ts'));
  });

  it('no file of the PFE or the ES PIC is over 600 lines, no function over 80', () => {
    const dirs = [import.meta.dirname, join(import.meta.dirname, 'stages'), join(import.meta.dirname, '../../pics/es')];
    const long: string[] = [];
    let functions = 0;
    for (const dir of dirs) for (const name of readdirSync(dir).filter(n => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
      const lines = readFileSync(join(dir, name), 'utf8').split('\n');
      if (lines.length > 600) long.push(`${name}: ${lines.length} lines`);
      // a function or method starts on a line that opens a body at its own indentation, and ends at the `}` back there
      for (let i = 0; i < lines.length; i++) {
        const m = /^(\s*)(?:export\s+)?(?:(?:private|protected|public|static|async|override|readonly)\s+)*(?:function\s+\w+|\w+)\s*(?:<[^>]*>)?\(.*\)(?:\s*:\s*[^={]+)?\s*\{$/.exec(lines[i]!);
        if (!m || /^\s*(if|for|while|switch|catch)\b/.test(lines[i]!)) continue;
        const end = lines.findIndex((l, j) => j > i && l.startsWith(`${m[1]}}`));
        if (end < 0) continue;
        functions++;
        if (end - i + 1 > 80) long.push(`${name}:${i + 1}: a function of ${end - i + 1} lines`);
      }
    }
    expect(functions).toBeGreaterThan(30);
    expect(long).toEqual([]);
  });
});
