/** `| match` patterns in linear time (issue 21 item 6): the same answers as RegExp on ordinary patterns, and none of its blow-ups. */
import { describe, it, expect } from 'vitest';
import { LinearPattern, PatternError } from './match.js';
import { Router } from '../router/router.js';
import { Interpreter } from './interp.js';
import { maxLag, LAG_BOUND_MS } from '../../test/helpers/lag.js';

describe('LinearPattern', () => {
  it('agrees with RegExp (case-insensitive) on the usual patterns', () => {
    const pats = ['fe-0/0/[0-3]', '^ +inet', 'up$', 'ike|ipsec', '(es|fe)-\\d/\\d/\\d', 'a.c', 'x?y+z*', 'ab{2,3}c', '[^a-z ]+', 'Error', '^$', '(a|b)*c', 'lo0\\.0', '[[:digit:]]{3}', 'a{2}', 'a{2,}', '(?:ab)+', '[a-]x', '.*', 'state: (up|down)'];
    const lines = ['fe-0/0/1 up', '  inet 10.0.0.1', 'IKE SA up', 'es-0/1/0', 'abc', 'yyz', 'abbc', 'abbbbc', '123', 'error: x', '', 'aabac', 'lo0.0', 'lo0x0', 'aa', 'ababab', '-x', 'state: DOWN'];
    for (const p of pats) {
      const mine = new LinearPattern(p);
      const re = new RegExp(p.replace('[[:digit:]]', '\\d'), 'i');
      for (const l of lines) expect([p, l, mine.test(l)]).toEqual([p, l, re.test(l)]);
    }
  });
  it('refuses malformed patterns', () => {
    for (const p of ['(a', 'a)', '[a', '*a', 'a{200}', 'x'.repeat(600), '\\']) expect(() => new LinearPattern(p)).toThrow(PatternError);
  });
  it('(.*.*)*# on a 20,000-character line and on 2,000 lines: linear, the main thread free', async () => {
    const p = new LinearPattern('(.*.*)*#');
    const { lagMs } = await maxLag(async () => {
      expect(p.test('a'.repeat(20_000))).toBe(false);
      for (let i = 0; i < 2000; i++) p.test(`line ${i} of a long output without the character`);
    });
    expect(lagMs).toBeLessThan(LAG_BOUND_MS * 4);
  });
});

describe('| match and | except in the CLI', () => {
  it('an evil pattern over a big output returns, with the right lines', async () => {
    const r = new Router({ name: 'gw-a', ipsec: 'inline' });
    try {
      for (let i = 0; i < 1000; i++) r.log.write('messages', 'test', `line ${i} ${'x'.repeat(100)}`);
      const it = new Interpreter(r);
      let out = '';
      const { lagMs } = await maxLag(async () => {
        await it.exec('show log messages | match "(.*.*)*#"', { write: s => { out += s; } });
        await it.exec('show log messages | except "(.*.*)*(.*.*)*#"', { write: s => { out += s; } });
      });
      expect(lagMs).toBeLessThan(LAG_BOUND_MS * 4);
      expect(out.split('\n').filter(l => /line \d+ x/.test(l)).length).toBeGreaterThan(500);   // | except kept them all
      out = '';
      await it.exec('show chassis hardware | match "chassis|FPC"', { write: s => { out += s; } });
      expect(out).toMatch(/FPC/);
      expect(out.split('\n').every(l => l === '' || /chassis|fpc/i.test(l))).toBe(true);
      out = '';
      await it.exec('show chassis hardware | except FPC', { write: s => { out += s; } });
      expect(out).not.toMatch(/FPC/);
      out = '';
      await it.exec('show chassis hardware | match "(a"', { write: s => { out += s; } });
      expect(out).toMatch(/invalid regular expression/);
    } finally { r.stop(); }
  });
});
