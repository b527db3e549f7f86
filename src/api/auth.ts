/**
 * Who may use the XML API: the users of `[edit system login]`, by their encrypted-password (crypt(3)
 * SHA-512/SHA-256 hashes, checked by shacrypt.ts a slice at a time, never blocking the main thread) or,
 * over SSH, their ssh-rsa keys. User names and passwords longer than JUNOS allows (128) are refused
 * before any hashing; an unknown user costs a hash too (of a dummy), so that timing tells no names. A
 * refusal is logged (the name cut and escaped) and answered only after a delay, so that passwords
 * cannot be tried quickly.
 */
import type { Router } from '../router/router.js';
import type { ApiUser } from './engine.js';
import { shaVerify } from './shacrypt.js';
import { logSafe } from '../router/log.js';
import { maySeeSecrets, redactSecrets } from '../config/redact.js';

export const AUTH_DELAY_MS = 1500;
export const AUTH_LIMITS = { nameChars: 128, passwordChars: 128 };
/** what an unknown user's password is checked against (`openssl passwd -6`, the default 5000 rounds) */
const DUMMY = '$6$Rq3nV5dXk2bT9wLm$3s7dY9fF3rV0yq8bW6tZ1nJ2cK4pL5mN7oP8qR9sT0uV1wX2yZ3aB4cD5eF6gH7iJ8kL9mN0oP1qR2sT3uV4w';

export async function checkPassword(r: Router, name: string, password: string): Promise<ApiUser | undefined> {
  if (name.length > AUTH_LIMITS.nameChars || password.length > AUTH_LIMITS.passwordChars) return undefined;
  const u = r.model?.system.users.get(name);
  const usable = !!u?.encryptedPassword && !!u.cls && u.cls !== 'unauthorized' && /^\$[56]\$/.test(u.encryptedPassword);
  let ok = false;
  try { ok = await shaVerify(password, usable ? u!.encryptedPassword! : DUMMY); } catch { ok = false; }
  return ok && usable ? { name, cls: u!.cls! } : undefined;
}

/** The user whose `ssh-rsa` statements hold this public key blob (the SSH wire form). */
export function userOfKey(r: Router, name: string, blob: Buffer): { user: ApiUser; line: string } | undefined {
  if (name.length > AUTH_LIMITS.nameChars) return undefined;
  const u = r.model?.system.users.get(name);
  if (!u?.cls || u.cls === 'unauthorized') return undefined;
  for (const k of u.sshRsa) {
    const b64 = k.trim().split(/\s+/)[1];
    if (b64 && Buffer.from(b64, 'base64').equals(blob)) return { user: { name, cls: u.cls }, line: k.trim() };
  }
  return undefined;
}

export function logAuth(r: Router, service: string, user: string, from: string, ok: boolean): void {
  const who = logSafe(user, AUTH_LIMITS.nameChars);
  r.log.write('messages', service, ok ? `UI_LOGIN_EVENT: User '${who}' login from ${from}` : `UI_AUTH_FAILED: Authentication failed for user '${who}' from ${from}`);
}

/**
 * Before each request: the session's user as the configuration now says (a session follows its
 * user's class changing; a user deleted or made unauthorized has no class: the session ends).
 */
export function refreshUser(r: Router, user: ApiUser): boolean {
  const u = r.model?.system.users.get(user.name);
  if (!u?.cls || u.cls === 'unauthorized') return false;
  user.cls = u.cls;
  return true;
}

/** A reply as the session's class may see it: without the `secret` permission, no secret. */
export function shownTo(user: ApiUser, body: string): string { return maySeeSecrets(user.cls) ? body : redactSecrets(body); }

/**
 * Backoff across connections: each failed login from an address doubles the delay before its answer
 * (AUTH_DELAY_MS, 2x, 4x ... at most 16x, 24 s), so that a new connection per guess gains nothing; a
 * success resets it; 1,024 addresses are remembered (the oldest forgotten), each for 15 minutes.
 */
export const BACKOFF_LIMITS = { sources: 1024, maxFactor: 16, forgetMs: 15 * 60_000 };
const failuresFrom = new Map<string, { n: number; at: number }>();
export function failedLoginDelay(from: string, now = Date.now()): number {
  const prev = failuresFrom.get(from);
  const n = prev && now - prev.at < BACKOFF_LIMITS.forgetMs ? prev.n + 1 : 1;
  failuresFrom.delete(from);
  failuresFrom.set(from, { n, at: now });
  if (failuresFrom.size > BACKOFF_LIMITS.sources) failuresFrom.delete(failuresFrom.keys().next().value!);
  return AUTH_DELAY_MS * Math.min(BACKOFF_LIMITS.maxFactor, 2 ** (n - 1));
}
export function loginSucceeded(from: string): void { failuresFrom.delete(from); }
