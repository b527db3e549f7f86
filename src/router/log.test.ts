import { describe, it, expect } from 'vitest';
import { RouterLog } from './log.js';

describe('RouterLog', () => {
  it('a file without rotation keeps its last lines', () => {
    const l = new RouterLog(() => 'r1', 5);
    for (let i = 0; i < 12; i++) l.write('messages', 'test', `line ${i}`);
    expect(l.read('messages')!.map(x => x.replace(/^.*test: /, ''))).toEqual(['line 7', 'line 8', 'line 9', 'line 10', 'line 11']);
  });

  it('rotates at the size, keeping N files: NAME, NAME.0 (newest archive), NAME.1', () => {
    const l = new RouterLog(() => 'r1');
    l.rotate('kmd-trace', { size: 10 * 1024, files: 3 });
    for (let i = 0; i < 2000; i++) l.write('kmd-trace', 'kmd', `event ${String(i).padStart(5, '0')} ${'x'.repeat(40)}`);
    expect(l.names().sort()).toEqual(['kmd-trace', 'kmd-trace.0', 'kmd-trace.1']);
    for (const n of l.names()) expect(l.size(n)!).toBeLessThanOrEqual(10 * 1024);
    const num = (line: string) => Number(/event (\d+)/.exec(line)![1]);
    const cur = l.read('kmd-trace')!, a0 = l.read('kmd-trace.0')!, a1 = l.read('kmd-trace.1')!;
    expect(num(cur[cur.length - 1]!)).toBe(1999);
    // contiguous: .1 ends where .0 begins, .0 ends where the live file begins
    expect(num(a1[a1.length - 1]!) + 1).toBe(num(a0[0]!));
    expect(num(a0[a0.length - 1]!) + 1).toBe(num(cur[0]!));
    // a full archive holds close to the size
    expect(l.size('kmd-trace.0')!).toBeGreaterThan(9 * 1024);
  });

  it('fewer files after a commit: the archives beyond go', () => {
    const l = new RouterLog(() => 'r1');
    l.rotate('t', { size: 10 * 1024, files: 5 });
    for (let i = 0; i < 3000; i++) l.write('t', 'kmd', 'y'.repeat(60));
    expect(l.names().length).toBe(5);
    l.rotate('t', { size: 10 * 1024, files: 2 });
    expect(l.names().sort()).toEqual(['t', 't.0']);
  });
});
