import { describe, it, expect } from 'vitest';
import { RouterLog, TRACE_MEMORY, LOG_LIMITS, logSafe } from './log.js';

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

  it('a newline in a message cannot forge a line; a long message is cut; a file is bounded in bytes', () => {
    const l = new RouterLog(() => 'r1');
    l.write('messages', 'sshd', "UI_AUTH_FAILED: user 'x\nDec  1 00:00:00  r1 mgd: UI_COMMIT: forged'");
    expect(l.read('messages')).toHaveLength(1);
    expect(l.read('messages')![0]).toContain("'x\\nDec");
    const name = 'n'.repeat(4 * 1024 * 1024);
    for (let i = 0; i < 200; i++) l.write('messages', 'sshd', `UI_AUTH_FAILED: Authentication failed for user '${logSafe(name)}' ${name}`);
    expect(l.size('messages')!).toBeLessThanOrEqual(LOG_LIMITS.fileBytes);
    expect(Math.max(...l.read('messages')!.map(x => x.length))).toBeLessThan(LOG_LIMITS.lineChars + 100);
    expect(logSafe('a\u0000b\r'.repeat(100), 20)).toMatch(/^a\\x00b\\ra\\x00b\\ra.*\.\.\.$/);
    // C1 controls too: xterm.js (the web CLI) takes U+009B as CSI and U+009D as OSC
    expect(logSafe('id\u009b31m\u009d0;x\u0085')).toBe('id\\x9b31m\\x9d0;x\\x85');
  });

  it("a live trace file with a huge size stays under the memory bound", () => {
    const l = new RouterLog(() => 'r1');
    l.rotate('kmd', { size: 1024 * 1024 * 1024, files: 3 });
    const msg = 'z'.repeat(1000);
    for (let i = 0; i < (TRACE_MEMORY / 1000) * 1.3; i++) l.write('kmd', 'kmd', msg);
    expect(l.size('kmd')!).toBeLessThanOrEqual(TRACE_MEMORY);
    expect(l.size('kmd')!).toBeGreaterThan(TRACE_MEMORY * 0.8);
    expect(l.read('kmd')!.at(-1)).toContain(msg);
  });
});
