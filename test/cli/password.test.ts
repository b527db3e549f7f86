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
    expect(await checkPassword(r, 'ops', 'lab-Pass1')).toEqual({ name: 'ops', cls: 'super-user' });
    expect(await checkPassword(r, 'ops', 'lab-Pass2')).toBeUndefined();
  });
});

describe('load-key-file', () => {
  it('reads the certificate and key into certificate-key-string; an encrypted key makes the CLI ask its passphrase; errors change nothing', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const d = mkdtempSync(join(tmpdir(), 'keyfile-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', join(d, 'k.pem'), '-out', join(d, 'c.pem'), '-subj', '/CN=gw-a', '-days', '2'], { stdio: 'ignore' });
      execFileSync('openssl', ['pkcs8', '-topk8', '-in', join(d, 'k.pem'), '-out', join(d, 'ke.pem'), '-passout', 'pass:key-Pass1'], { stdio: 'ignore' });
      const c = readFileSync(join(d, 'c.pem'), 'utf8');
      r.files.write('/var/tmp/plain.pem', c + readFileSync(join(d, 'k.pem'), 'utf8'));
      r.files.write('/var/tmp/enc.pem', c + readFileSync(join(d, 'ke.pem'), 'utf8'));
      r.files.write('/var/tmp/cert-only.pem', c);
      const it = new Interpreter(r, new CommitDb(r));
      const res = await run(it, ['configure',
        'set security certificates local a load-key-file /var/tmp/plain.pem',
        'set security certificates local b load-key-file /var/tmp/cert-only.pem',
        'set security certificates local c load-key-file /var/tmp/enc.pem', 'wrong-pass',
        'set security certificates local c load-key-file /var/tmp/enc.pem', 'key-Pass1',
        'show security certificates', 'commit']);
      expect(res[1]!.out).toBe('');
      expect(res[2]!.out).toBe('error: load-key-file /var/tmp/cert-only.pem: no private key (PEM) in the file\n');
      expect(res[4]).toEqual({ prompt: 'Enter the passphrase of /var/tmp/enc.pem: ', out: 'error: load-key-file /var/tmp/enc.pem: the private key does not decrypt with that passphrase\n' });
      expect(res[6]!.out).toBe('');
      const shown = res[7]!.out;
      expect(shown).toMatch(/local a \{\n\s+certificate-key-string "\$9\$[^"]+"; ## SECRET-DATA/);
      expect(shown).toMatch(/local c \{\n\s+certificate-key-string "\$9\$[^"]+"; ## SECRET-DATA/);
      expect(shown).not.toMatch(/local b|load-key-file|BEGIN/);
      expect(res[8]!.out).toMatch(/commit complete/);
      // what is kept is the decrypted key, with the certificate
      expect(r.model!.certificates.local.get('c')!.keyString).toMatch(/^-----BEGIN CERTIFICATE-----[\s\S]+-----BEGIN PRIVATE KEY-----/);
    } finally { rmSync(d, { recursive: true, force: true }); }
  });
});
