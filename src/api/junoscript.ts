/**
 * The JUNOScript session (the chapter's xnm-ssl service, TCP 3220 over TLS): one `<junoscript>`
 * document each way. The server opens with its `<junoscript>` tag; the client sends its own, then
 * `<rpc>`s; `<request-login>` first (username and challenge-response, the password), then any RPC of
 * the engine; `<request-end-session/>` ends it. A malformed or oversized document, or a login that
 * does not come, closes that session only.
 */
import type { Duplex } from 'node:stream';
import type { Router } from '../router/router.js';
import type { CommitDb } from '../mgd/commitdb.js';
import { XmlStream, El, el, tx, child, local, textOf, XNM_NS } from './xml.js';
import { ApiSession, errorXml } from './engine.js';
import { checkPassword, logAuth, refreshUser, shownTo, failedLoginDelay, loginSucceeded, AUTH_LIMITS } from './auth.js';
import { RequestPump } from './pump.js';
import { logSafe } from '../router/log.js';

export const JUNOS_RELEASE = '7.4R1';
const JUNOS_NS = `http://xml.juniper.net/junos/${JUNOS_RELEASE}/junos`;
export const JUNOSCRIPT_LIMITS = { loginMs: 30_000, idleMs: 600_000, failures: 3 };

/** `<rpc-reply>` with an `<xnm:error>` (no Error object: before login this is what a flood costs) */
const errReply = (msg: string) => `<rpc-reply xmlns:junos="${JUNOS_NS}">${el('xnm:error', tx('message', msg), { 'xmlns:xnm': XNM_NS })}</rpc-reply>\n`;

/** `admit`, when given, is asked at a successful login (a reason refuses it: too many sessions). */
export function junoscriptSession(r: Router, db: CommitDb, sock: Duplex, from: string, admit?: () => string | undefined): void {
  let session: ApiSession | undefined;
  let failures = 0;
  let ended = false;
  const write = (s: string) => { if (!ended) sock.write(s); };
  const end = (why?: string) => {
    if (ended) return;
    if (why) write(`${el('xnm:error', tx('message', why), { 'xmlns:xnm': XNM_NS })}\n`);
    write('</junoscript>\n');
    ended = true;
    gone();
    sock.end();
    setTimeout(() => sock.destroy(), 1000).unref();
  };
  const gone = () => { ended = true; pump.stop(); session?.close(); clearTimeout(timer); };
  let timer = setTimeout(() => end('no login within 30 seconds'), JUNOSCRIPT_LIMITS.loginMs);
  timer.unref();
  const idle = () => { clearTimeout(timer); timer = setTimeout(() => end('session idle too long'), JUNOSCRIPT_LIMITS.idleMs); timer.unref(); };

  write(`<?xml version="1.0" encoding="us-ascii"?>\n<junoscript xmlns="${XNM_NS}" xmlns:junos="${JUNOS_NS}" os="JUNOS" release="${JUNOS_RELEASE}" hostname="${r.name}" version="1.0">\n<!-- session start at ${new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} -->\n`);
  let opened = false;
  const login = async (op: El): Promise<void> => {
    const reply = (body: string) => write(`<rpc-reply xmlns:junos="${JUNOS_NS}">${body}</rpc-reply>\n`);
    if (local(op.name) !== 'request-login') { write(errReply('login first: <request-login>')); return; }
    const user = textOf(child(op, 'username')), pw = textOf(child(op, 'challenge-response'));
    const shown = logSafe(user || '(none)', AUTH_LIMITS.nameChars);
    // a login without the password: the server asks for it (the client sends request-login again with it)
    if (user && !child(op, 'challenge-response')) { reply(el('authentication-response', [tx('status', 'fail'), tx('message', `Password required for ${shown}`), el('challenge', 'Password:', { echo: 'no' })])); return; }
    const ok = await checkPassword(r, user, pw);
    if (ended) return;
    logAuth(r, 'jsrpd', user || '(none)', from, !!ok);
    if (!ok) {
      await new Promise(res => setTimeout(res, failedLoginDelay(from)));
      reply(el('authentication-response', [tx('status', 'fail'), tx('message', `Authentication failed for user ${shown}`)]));
      if (++failures >= JUNOSCRIPT_LIMITS.failures) end('too many failed logins');
      return;
    }
    loginSucceeded(from);
    const refused = admit?.();
    if (refused) { end(refused); return; }
    session = new ApiSession(r, db, ok, 'junoscript', from);
    idle();
    reply(el('authentication-response', [tx('status', 'success'), tx('message', ok.name), tx('login-name', ok.name)]));
  };
  const handle = async (rpc: El): Promise<void> => {
    if (ended) return;
    if (!opened || local(rpc.name) !== 'rpc') { write(errReply(`expected <rpc>, got <${logSafe(rpc.name, 64)}>`)); return; }
    const op = rpc.children[0];
    if (!op) { write(errReply('an empty <rpc>')); return; }
    if (local(op.name) === 'request-end-session') { write(`<rpc-reply xmlns:junos="${JUNOS_NS}">${el('end-session')}</rpc-reply>\n`); end(); return; }
    if (!session) return login(op);
    if (!refreshUser(r, session.user)) { end(`user ${logSafe(session.user.name, AUTH_LIMITS.nameChars)} may no longer log in`); return; }
    idle();
    let body: string;
    try { body = await session.run(op); } catch (e) { body = errorXml('junoscript', e); }
    write(`<rpc-reply xmlns:junos="${JUNOS_NS}">${shownTo(session.user, body)}</rpc-reply>\n`);
  };
  const pump = new RequestPump<El>(sock, handle, why => end(why), () => !!session);
  const xml = new XmlStream(2, {
    open: e => { if (local(e.name) === 'junoscript') opened = true; else end(`expected <junoscript>, got <${logSafe(e.name, 64)}>`); },
    // after the RPCs that came before it
    close: () => pump.push({ end: undefined }),
    error: why => pump.push({ end: `malformed XML: ${why}` }),
    element: rpc => pump.push({ req: rpc }),
  });
  sock.setEncoding?.('utf8');
  sock.on('data', (d: string | Buffer) => { if (!ended) xml.write(typeof d === 'string' ? d : d.toString('utf8')); });
  sock.on('end', () => pump.push({ end: undefined }));
  sock.on('close', gone);
  sock.on('error', gone);
}
