/** The router both JUNOScript session tests talk to: gw-a with one super-user, netops / pw-1. */
import { afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Router } from '../router/router.js';
import { CommitDb } from '../mgd/commitdb.js';

export function netopsRouter(): { r: Router; db: CommitDb } {
  const hash = execFileSync('openssl', ['passwd', '-6', 'pw-1']).toString().trim();
  const r = new Router({ name: 'gw-a', ipsec: 'inline' });
  const c = r.commitText(`system { host-name gw-a; login { user netops { class super-user; authentication { encrypted-password "${hash}"; } } } }`, 't');
  if (!c.ok) throw new Error(c.output);
  afterAll(() => r.stop());
  return { r, db: new CommitDb(r) };
}
