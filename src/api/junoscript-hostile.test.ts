/** Hostile JUNOScript sessions (issue 21): long passwords, floods before login, readers that do not read. */
import { describe, it, expect } from 'vitest';
import { Duplex } from 'node:stream';
import { junoscriptSession } from './junoscript.js';
import { netopsRouter } from './fixture.test-helper.js';
import { checkPassword } from './auth.js';
import { PUMP_LIMITS } from './pump.js';
import { LOG_LIMITS } from '../router/log.js';
import { maxLag, LAG_BOUND_MS } from '../../test/helpers/lag.js';

const { r, db } = netopsRouter();
const HEAD = '<junoscript version="1.0">';
const LOGIN = '<rpc><request-login><username>netops</username><challenge-response>pw-1</challenge-response></request-login></rpc>';

/** A session whose reader, after `hold()`, reads only when `release()` is called. */
function session() {
  let hold = false;
  let out = '';
  let done!: () => void;
  const closed = new Promise<void>(res => { done = res; });
  const held: Array<() => void> = [];
  const sock = new Duplex({ highWaterMark: 16 * 1024, read() {}, write(chunk, _e, cb) { out += String(chunk); if (hold) held.push(cb); else cb(); }, final(cb) { done(); cb(); } });
  junoscriptSession(r, db, sock, '10.1.1.1');
  return { sock, send: (s: string) => { sock.push(s); }, out: () => out, closed, release: () => { hold = false; for (const cb of held.splice(0)) cb(); }, hold: () => { hold = true; } };
}
const until = async (cond: () => boolean) => { while (!cond()) await new Promise(res => setTimeout(res, 10)); };

describe('JUNOScript under attack', () => {
  it('a 100,000-character password and a 4 MiB user name: refused without hashing, the log line cut', async () => {
    const { lagMs } = await maxLag(async () => {
      expect(await checkPassword(r, 'netops', 'x'.repeat(100_000))).toBeUndefined();
      const s = session();
      s.send(HEAD + `<rpc><request-login><username>${'n\n'.repeat(2 * 1024 * 1024)}</username><challenge-response>${'p'.repeat(100_000)}</challenge-response></request-login></rpc>`);
      await until(() => /Authentication failed/.test(s.out()));
      s.sock.destroy();
    });
    expect(lagMs).toBeLessThan(LAG_BOUND_MS * 8);   // (parsing 4 MiB of XML in one piece is the cost here, not the hash)
    const line = r.log.read('messages')!.at(-1)!;
    expect(line).toMatch(/UI_AUTH_FAILED: Authentication failed for user 'n\\nn\\n.*\.\.\.' from 10\.1\.1\.1$/);
    expect(line.length).toBeLessThan(LOG_LIMITS.lineChars + 100);
  });
  it('a right and a wrong password, a known and an unknown user: the main thread stays free while each is hashed', async () => {
    for (const [u, p, ok] of [['netops', 'pw-1', true], ['netops', 'pw-2', false], ['nobody', 'pw-1', false]] as const) {
      let ticks = 0;
      const t = setInterval(() => ticks++, 0);
      const { value, lagMs } = await maxLag(() => checkPassword(r, u, p));
      clearInterval(t);
      expect(!!value).toBe(ok);
      expect(ticks).toBeGreaterThan(0);   // the unknown user is hashed too (a dummy): not answered at once
      expect(lagMs).toBeLessThan(LAG_BOUND_MS);
    }
  });
  it('16 KB of <rpc/> before login: the session ends, with a short answer', async () => {
    const s = session();
    s.send(HEAD + '<rpc/>'.repeat(16 * 1024 / 6));
    await s.closed;
    expect(s.out()).toMatch(/too many requests before login/);
    expect(s.out().length).toBeLessThan(2000 + PUMP_LIMITS.beforeLogin * 300);
  });
  it('a reader that does not read: replies wait for drain, the socket is paused, nothing grows', async () => {
    const s = session();
    s.send(HEAD + LOGIN);
    await until(() => /success/.test(s.out()));
    s.hold();
    const n = 400;
    s.send('<rpc><get-configuration format="text"/></rpc>'.repeat(n));
    await until(() => s.sock.isPaused() && s.sock.writableNeedDrain);
    await new Promise(res => setTimeout(res, 50));
    const replies = () => s.out().split('<configuration-text>').length - 1;
    expect(replies()).toBeLessThan(PUMP_LIMITS.queued + 1);
    expect(s.sock.writableLength).toBeLessThan(64 * 1024);
    s.release();
    s.sock.on('drain', () => s.release());
    await until(() => { s.release(); return replies() === n; });
    s.sock.destroy();
  });
});
