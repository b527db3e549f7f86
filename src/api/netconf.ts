/**
 * NETCONF (RFC 6241) over SSH (RFC 6242): the `netconf` subsystem. Hellos with capabilities, then
 * `<rpc>` messages framed by `]]>]]>` (base:1.0) or in chunks (base:1.1, when both sides say so),
 * each answered by `<rpc-reply>` with the request's attributes. The engine is the JUNOScript one;
 * Juniper's own RPCs work here too. A malformed or oversized message ends that session only.
 */
import type { Duplex } from 'node:stream';
import type { Router } from '../router/router.js';
import type { CommitDb } from '../cli/commitdb.js';
import { parseDocument, El, el, tx, esc, local, child, children } from './xml.js';
import { ApiSession, ApiUser, errorXml, RpcError } from './engine.js';
import { refreshUser, shownTo } from './auth.js';

const BASE = 'urn:ietf:params:xml:ns:netconf:base:1.0';
export const NETCONF_LIMITS = { messageBytes: 4 * 1024 * 1024, idleMs: 600_000 };
const CAPS = [
  'urn:ietf:params:netconf:base:1.0', 'urn:ietf:params:netconf:base:1.1',
  'urn:ietf:params:netconf:capability:candidate:1.0', 'urn:ietf:params:netconf:capability:validate:1.0',
  'urn:ietf:params:netconf:capability:validate:1.1', 'http://xml.juniper.net/netconf/junos/1.0',
];

/** Frames of a NETCONF stream: `]]>]]>` (1.0) or chunked (1.1); bounded. */
export class Framer {
  private buf = '';
  chunked = false;
  private msg = '';
  constructor(private on: { message(m: string): void; error(why: string): void }) {}
  push(d: string): void {
    this.buf += d;
    if (this.buf.length + this.msg.length > NETCONF_LIMITS.messageBytes) { this.buf = ''; this.on.error(`a message longer than ${NETCONF_LIMITS.messageBytes} bytes`); return; }
    for (;;) {
      if (!this.chunked) {
        const i = this.buf.indexOf(']]>]]>');
        if (i < 0) return;
        const m = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 6);
        this.on.message(m);
        continue;
      }
      // \n#<size>\n<data> ... \n##\n
      const h = /^\s*\n#(\d{1,10}|#)\n/.exec(this.buf);
      if (!h) {
        if (this.buf.length > 16 && !/^\s*\n#/.test(this.buf)) { this.buf = ''; this.on.error('bad chunk framing'); }
        return;
      }
      if (h[1] === '#') { this.buf = this.buf.slice(h[0].length); const m = this.msg; this.msg = ''; this.on.message(m); continue; }
      const n = Number(h[1]);
      if (n < 1 || n > NETCONF_LIMITS.messageBytes) { this.buf = ''; this.on.error('bad chunk size'); return; }
      // sizes are in octets: compare bytes
      const rest = Buffer.from(this.buf.slice(h[0].length), 'utf8');
      if (rest.length < n) return;
      this.msg += rest.subarray(0, n).toString('utf8');
      this.buf = rest.subarray(n).toString('utf8');
    }
  }
  frame(m: string): string {
    if (!this.chunked) return `${m}]]>]]>`;
    return `\n#${Buffer.byteLength(m)}\n${m}\n##\n`;
  }
}

export function netconfSession(r: Router, db: CommitDb, user: ApiUser, stream: Duplex, from: string): void {
  const session = new ApiSession(r, db, user, 'netconf', from);
  let helloDone = false;
  let ended = false;
  let queue = Promise.resolve();
  const framer = new Framer({
    message: m => { queue = queue.then(() => handle(m)).catch(e => stop(`internal error: ${(e as Error).message}`)); },
    error: why => { queue = queue.then(() => stop(why)); },
  });
  const send = (m: string) => { if (!ended) stream.write(framer.frame(m)); };
  let timer: NodeJS.Timeout | undefined;
  const idle = () => { clearTimeout(timer); timer = setTimeout(() => stop('session idle too long'), NETCONF_LIMITS.idleMs); timer.unref(); };
  const stop = (why?: string) => {
    if (ended) return;
    if (why) send(`<rpc-reply xmlns="${BASE}">${errorXml('netconf', new RpcError(why, 'malformed-message', 'rpc'))}</rpc-reply>`);
    ended = true;
    session.close();
    clearTimeout(timer);
    stream.end();
  };
  idle();
  stream.write(`<?xml version="1.0" encoding="UTF-8"?>\n${el('hello', [el('capabilities', CAPS.map(c => tx('capability', c))), tx('session-id', session.id)], { xmlns: BASE })}]]>]]>`);
  const handle = async (m: string): Promise<void> => {
    if (ended) return;
    idle();
    const d = parseDocument(m);
    if (!d.ok) return stop(`malformed XML: ${d.why}`);
    const root = d.root;
    if (!helloDone) {
      if (local(root.name) !== 'hello') return stop(`expected <hello>, got <${root.name}>`);
      const caps = children(child(root, 'capabilities'), 'capability').map(c => c.text.trim());
      if (!caps.some(c => c.startsWith('urn:ietf:params:netconf:base:1.'))) return stop('the client announced no NETCONF base capability');
      helloDone = true;
      framer.chunked = caps.includes('urn:ietf:params:netconf:base:1.1');
      return;
    }
    if (local(root.name) !== 'rpc') return stop(`expected <rpc>, got <${root.name}>`);
    const attrs = Object.entries(root.attrs).map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
    const xmlnsDefault = root.attrs.xmlns ? '' : ` xmlns="${BASE}"`;
    const reply = (body: string) => send(`<rpc-reply${attrs}${xmlnsDefault} xmlns:junos="http://xml.juniper.net/junos/7.4R1/junos">${body}</rpc-reply>`);
    if (root.attrs['message-id'] === undefined) { reply(errorXml('netconf', new RpcError('message-id is missing', 'missing-attribute', 'rpc'))); return; }
    const op: El | undefined = root.children[0];
    if (!op) { reply(errorXml('netconf', new RpcError('an empty <rpc>', 'missing-element', 'rpc'))); return; }
    if (local(op.name) === 'close-session') { reply(el('ok')); return stop(); }
    if (!refreshUser(r, session.user)) return stop(`user ${session.user.name} may no longer log in`);
    try { reply(shownTo(session.user, await session.run(op))); } catch (e) { reply(errorXml('netconf', e)); }
  };
  stream.on('data', (d: Buffer | string) => framer.push(typeof d === 'string' ? d : d.toString('utf8')));
  stream.on('end', () => { queue = queue.then(() => stop()); });
  stream.on('close', () => { ended = true; session.close(); clearTimeout(timer); });
  stream.on('error', () => { ended = true; session.close(); clearTimeout(timer); });
}
