/**
 * Who may use the XML API: the users of `[edit system login]`, by their encrypted-password (crypt(3)
 * SHA-512/SHA-256 hashes, checked with unixcrypt) or, over SSH, their ssh-rsa keys. A refusal is
 * logged and answered only after a delay, so that passwords cannot be tried quickly.
 */
import { verify as cryptVerify } from 'unixcrypt';
import type { Router } from '../router/router.js';
import type { ApiUser } from './engine.js';

export const AUTH_DELAY_MS = 1500;

export function checkPassword(r: Router, name: string, password: string): ApiUser | undefined {
  const u = r.model?.system.users.get(name);
  if (!u?.encryptedPassword || !u.cls || u.cls === 'unauthorized') return undefined;
  let ok = false;
  try { ok = /^\$[56]\$/.test(u.encryptedPassword) && cryptVerify(password, u.encryptedPassword); } catch { ok = false; }
  return ok ? { name, cls: u.cls } : undefined;
}

/** The user whose `ssh-rsa` statements hold this public key blob (the SSH wire form). */
export function userOfKey(r: Router, name: string, blob: Buffer): { user: ApiUser; line: string } | undefined {
  const u = r.model?.system.users.get(name);
  if (!u?.cls || u.cls === 'unauthorized') return undefined;
  for (const k of u.sshRsa) {
    const b64 = k.trim().split(/\s+/)[1];
    if (b64 && Buffer.from(b64, 'base64').equals(blob)) return { user: { name, cls: u.cls }, line: k.trim() };
  }
  return undefined;
}

export function logAuth(r: Router, service: string, user: string, from: string, ok: boolean): void {
  r.log.write('messages', service, ok ? `UI_LOGIN_EVENT: User '${user}' login from ${from}` : `UI_AUTH_FAILED: Authentication failed for user '${user}' from ${from}`);
}
