/** `set system login user U authentication plain-text-password`: the CLI asks twice and keeps a crypt(3) hash. */
import { describe, it, expect, afterAll } from 'vitest';
import { verify } from 'unixcrypt';
import { Router } from '../../src/router/router.js';
import { CommitDb } from '../../src/cli/commitdb.js';
import { Interpreter } from '../../src/cli/interp.js';
import { checkPassword } from '../../src/api/auth.js';

const r = new Router({ name: 'gw-a', ipsec: 'inline' });
r.commitText('system { host-name gw-a; }', 't');
afterAll(() => r.stop());

async function run(it: Interpreter, lines: string[]): Promise<Array<{ prompt: string; out: string }>> {
  const res: Array<{ prompt: string; out: string }> = [];
  for (const l of lines) { const prompt = it.prompt; let out = ''; await it.exec(l, { write: s => { out += s; } }); res.push({ prompt, out }); }
  return res;
}

describe('plain-text-password', () => {
  it('asks twice, refuses weak or different passwords, stores only the hash, and the API logs in with it', async () => {
    const it = new Interpreter(r, new CommitDb(r));
    const res = await run(it, ['configure', 'set system login user ops class super-user',
      'set system login user ops authentication plain-text-password', 'short',
      'set system login user ops authentication plain-text-password', 'lowercaseonly',
      'set system login user ops authentication plain-text-password', 'lab-Pass1', 'lab-Pass2',
      'set system login user ops authentication plain-text-password', 'lab-Pass1', 'lab-Pass1',
      'show system login', 'commit']);
    expect(res[3]).toEqual({ prompt: 'New password: ', out: 'error: minimum password length is 6\n' });
    expect(res[5]!.out).toBe('error: require change of case, digits or punctuation\n');
    expect(res[7]).toEqual({ prompt: 'New password: ', out: '' });
    expect(res[8]).toEqual({ prompt: 'Retype new password: ', out: 'error: Passwords do not match\n' });
    expect(it.secretPrompt).toBe(false);
    const shown = res[12]!.out;
    expect(shown).toMatch(/encrypted-password "\$6\$[./A-Za-z0-9]+\$[./A-Za-z0-9]+"; ## SECRET-DATA/);
    expect(shown).not.toMatch(/lab-Pass1|plain-text-password/);
    expect(res[13]!.out).toMatch(/commit complete/);
    expect(verify('lab-Pass1', /"(\$6\$[^"]+)"/.exec(shown)![1]!)).toBe(true);
    expect(checkPassword(r, 'ops', 'lab-Pass1')).toEqual({ name: 'ops', cls: 'super-user' });
    expect(checkPassword(r, 'ops', 'lab-Pass2')).toBeUndefined();
  });
});
