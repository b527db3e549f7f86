/** SHA-crypt against unixcrypt and OpenSSL (independent implementations), and off the main thread. */
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { encrypt } from 'unixcrypt';
import { shaCrypt, shaVerify } from './shacrypt.js';

describe('SHA-crypt', () => {
  it('gives the hashes unixcrypt and openssl passwd give', async () => {
    // (unixcrypt is wrong for long passwords with rounds=: glibc and ours agree there)
    for (const [pw, setting] of [['lab-password', '$6$saltsalt'], ['', '$6$x'], ['ü€-pässwörd', '$5$abcdefghijklmnop'], ['a'.repeat(20), '$6$rounds=1200$s0'], ['x', '$5$rounds=10$short']] as const) {
      const ours = await shaCrypt(pw, setting);
      expect(ours).toBe(encrypt(pw, setting));
    }
    for (const alg of ['-5', '-6']) {
      const long = 'a'.repeat(128) + 'é';
      expect(await shaCrypt(long, `$${alg[1]}$s0`)).toBe(execFileSync('openssl', ['passwd', alg, '-salt', 's0', long]).toString().trim());
      const h = execFileSync('openssl', ['passwd', alg, 'pw-1']).toString().trim();
      expect(await shaVerify('pw-1', h)).toBe(true);
      expect(await shaVerify('pw-2', h)).toBe(false);
    }
    expect(await shaCrypt('x', '$1$md5')).toBeUndefined();
  });
  it('a timer fires during a hash of many rounds: the work is sliced', async () => {
    let ticks = 0;
    const t = setInterval(() => ticks++, 1);
    const h = shaCrypt('pw', '$6$rounds=200000$s');
    await h;
    clearInterval(t);
    expect(ticks).toBeGreaterThan(0);
  });
});

describe('failed logins across connections', () => {
  it('each failure from an address doubles the delay (capped), a success resets it, other addresses are not slowed', async () => {
    const { failedLoginDelay, loginSucceeded, AUTH_DELAY_MS, BACKOFF_LIMITS } = await import('./auth.js');
    const t = 1_000_000;
    const d = [1, 2, 3, 4, 5, 6].map(k => failedLoginDelay('192.0.2.7', t + k));
    expect(d).toEqual([1, 2, 4, 8, 16, 16].map(f => f * AUTH_DELAY_MS));
    expect(failedLoginDelay('192.0.2.8', t)).toBe(AUTH_DELAY_MS);
    loginSucceeded('192.0.2.7');
    expect(failedLoginDelay('192.0.2.7', t + 10)).toBe(AUTH_DELAY_MS);
    expect(failedLoginDelay('192.0.2.8', t + BACKOFF_LIMITS.forgetMs + 1)).toBe(AUTH_DELAY_MS);
  });
});
