/**
 * The JUNOScript session (the chapter's xnm-ssl service, TCP 3220 over TLS): one `<junoscript>`
 * document each way. The server opens with its `<junoscript>` tag; the client sends its own, then
 * `<rpc>`s; `<request-login>` first (username and challenge-response, the password), then any RPC of
 * the engine; `<request-end-session/>` ends it. A malformed or oversized document, or a login that
 * does not come, closes that session only.
 */
import type { Duplex } from 'node:stream';
import type { Router } from '../router/router.js';
import type { CommitDb } from '../cli/commitdb.js';
import { XmlStream, El, el, tx, child, local, textOf } from './xml.js';
import { ApiSession, errorXml, RpcError } from './engine.js';
import { checkPassword, logAuth, AUTH_DELAY_MS } from './auth.js';

export const JUNOS_RELEASE = '7.4R1';
const NS = 'http://xml.juniper.net/xnm/1.1/xnm';
const JUNOS_NS = `http://xml.juniper.net/junos/${JUNOS_RELEASE}/junos`;
export const JUNOSCRIPT_LIMITS = { loginMs: 30_000, idleMs: 600_000, failures: 3 };

export function junoscriptSession(r: Router, db: CommitDb, sock: Duplex, from: string): void {
  let session: ApiSession | undefined;
  let failures = 0;
  let queue = Promise.resolve();
  let ended = false;
  const write = (s: string) => { if (!ended) sock.write(s); };
  const end = (why?: string) => {
    if (ended) return;
    if (why) write(`${el('xnm:error', tx('message', why), { 'xmlns:xnm': NS })}\n`);
    write('</junoscript>\n');
    ended = true;
    session?.close();
    clearTimeout(timer);
    sock.end();
    setTimeout(() => sock.destroy(), 1000).unref();
  };
  let timer = setTimeout(() => end('no login within 30 seconds'), JUNOSCRIPT_LIMITS.loginMs);
  timer.unref();
  const idle = () => { clearTimeout(timer); timer = setTimeout(() => end('session idle too long'), JUNOSCRIPT_LIMITS.idleMs); timer.unref(); };

  write(`<?xml version="1.0" encoding="us-ascii"?>\n<junoscript xmlns="${NS}" xmlns:junos="${JUNOS_NS}" os="JUNOS" release="${JUNOS_RELEASE}" hostname="${r.name}" version="1.0">\n<!-- session start at ${new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} -->\n`);
  let opened = false;
  const xml = new XmlStream(2, {
    open: e => { if (local(e.name) === 'junoscript') opened = true; else end(`expected <junoscript>, got <${e.name}>`); },
    close: () => { queue = queue.then(() => end()); },
    // after the RPCs that came before it
    error: why => { queue = queue.then(() => end(`malformed XML: ${why}`)); },
    element: rpc => { queue = queue.then(() => handle(rpc)).catch(e => end(`internal error: ${(e as Error).message}`)); },
  });
  const handle = async (rpc: El): Promise<void> => {
    if (ended) return;
    if (!opened || local(rpc.name) !== 'rpc') { write(`<rpc-reply xmlns:junos="${JUNOS_NS}">${errorXml('junoscript', new RpcError(`expected <rpc>, got <${rpc.name}>`))}</rpc-reply>\n`); return; }
    const op = rpc.children[0];
    const reply = (body: string) => write(`<rpc-reply xmlns:junos="${JUNOS_NS}">${body}</rpc-reply>\n`);
    if (!op) { reply(errorXml('junoscript', new RpcError('an empty <rpc>'))); return; }
    const name = local(op.name);
    if (name === 'request-end-session') { reply(el('end-session')); end(); return; }
    if (!session) {
      if (name !== 'request-login') { reply(errorXml('junoscript', new RpcError('login first: <request-login>'))); return; }
      const user = textOf(child(op, 'username')), pw = textOf(child(op, 'challenge-response'));
      // a login without the password: the server asks for it (the client sends request-login again with it)
      if (user && !child(op, 'challenge-response')) { reply(el('authentication-response', [tx('status', 'fail'), tx('message', `Password required for ${user}`), el('challenge', 'Password:', { echo: 'no' })])); return; }
      const ok = user && pw ? checkPassword(r, user, pw) : undefined;
      logAuth(r, 'jsrpd', user || '(none)', from, !!ok);
      if (!ok) {
        await new Promise(res => setTimeout(res, AUTH_DELAY_MS));
        reply(el('authentication-response', [tx('status', 'fail'), tx('message', `Authentication failed for user ${user || '(none)'}`)]));
        if (++failures >= JUNOSCRIPT_LIMITS.failures) end('too many failed logins');
        return;
      }
      session = new ApiSession(r, db, ok, 'junoscript', from);
      idle();
      reply(el('authentication-response', [tx('status', 'success'), tx('message', ok.name), tx('login-name', ok.name)]));
      return;
    }
    idle();
    try { reply(await session.run(op)); } catch (e) { reply(errorXml('junoscript', e)); }
  };
  sock.setEncoding?.('utf8');
  sock.on('data', (d: string | Buffer) => xml.write(typeof d === 'string' ? d : d.toString('utf8')));
  sock.on('end', () => { queue = queue.then(() => end()); });
  sock.on('close', () => { ended = true; session?.close(); clearTimeout(timer); });
  sock.on('error', () => { ended = true; session?.close(); clearTimeout(timer); });
}
