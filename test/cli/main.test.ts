/** The `vrouter` command line: options parsed strictly, every mistake a clear message, never a raw error. */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { run } from '../../src/cli/main.js';

const ROOT = join(import.meta.dirname, '../..');
async function vr(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const o = process.stdout.write, e = process.stderr.write;
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof o;
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof e;
  try { return { code: await run(argv), out, err }; } finally { process.stdout.write = o; process.stderr.write = e; }
}

describe('vrouter subcommands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vrouter-main-'));
  const conf = join(dir, 'ok.conf');
  writeFileSync(conf, 'system { host-name r1; }\n');

  it('check of a missing file or a directory says so, without ENOENT or EISDIR', async () => {
    for (const [file, msg] of [[join(dir, 'nope.conf'), 'no such file'], [dir, 'it is a directory']] as const) {
      const r = await vr('check', file);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`cannot read ${file}: ${msg}`);
      expect(r.err + r.out).not.toMatch(/ENOENT|EISDIR|    at /);
    }
  });
  it('--chassis needs a value, and a known one', async () => {
    let r = await vr('check', conf, '--chassis');
    expect(r.code).toBe(2);
    expect(r.err).toContain('option --chassis needs a value');
    r = await vr('check', conf, '--chassis', 'm7');
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown chassis model 'm7'");
    r = await vr('check', conf, '--chassis', 'm20');
    expect(r).toMatchObject({ code: 0, out: 'configuration check succeeds\n' });
  });
  it('unknown options and extra arguments are refused', async () => {
    expect((await vr('check', conf, '--frobnicate')).err).toContain("Unknown option '--frobnicate'");
    expect((await vr('show-config', conf, 'extra')).err).toContain("unexpected argument 'extra'");
    expect((await vr('show-config', conf, '--display', 'xml')).err).toContain("--display takes 'set'");
    expect((await vr('capture', 'x.yaml', 'gw-a:fe-0/0/0')).err).toContain('capture needs -w FILE');
  });
  it('a closed standard output ends vrouter quietly (vrouter ... | head)', () => {
    // bin/vrouter.js runs the compiled code: without it this test would test nothing, so it fails
    expect(existsSync(join(ROOT, 'dist/src/cli/main.js')), 'dist/ is missing: `npm ci` builds it (the prepare script), or `npm run build`').toBe(true);
    // a long output into a pipe whose reader has gone: no EPIPE stack trace, exit 0
    const big = join(dir, 'big.conf');
    writeFileSync(big, Array.from({ length: 20000 }, (_, i) => `set firewall filter f term t${i} then accept`).join('\n'));
    const r = spawnSync('sh', ['-c', `"${process.execPath}" bin/vrouter.js show-config ${big} --display set | head -1`], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout.split('\n')).toHaveLength(2);
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
  });
  it.runIf(true)('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});
