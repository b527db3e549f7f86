/**
 * NETCONF (RFC 6241) over SSH (RFC 6242): the `netconf` subsystem. Hellos with capabilities, then
 * `<rpc>` messages framed by `]]>]]>` (base:1.0) or in chunks (base:1.1, when both sides say so),
 * each answered by `<rpc-reply>` with the request's attributes. The engine is the JUNOScript one;
 * Juniper's own RPCs work here too. A malformed or oversized message ends that session only.
 */
import type { Duplex } from 'node:stream';
import type { Router } from '../router/router.js';
import type { CommitDb } from '../mgd/commitdb.js';
import { parseDocument, El, el, tx, esc, local, child, children } from './xml.js';
import { ApiSession, ApiUser, errorXml, RpcError } from './engine.js';
import { refreshUser, shownTo } from './auth.js';
import { RequestPump } from './pump.js';

const BASE = 'urn:ietf:params:xml:ns:netconf:base:1.0';
export const NETCONF_LIMITS = { messageBytes: 4 * 1024 * 1024, idleMs: 600_000 };
const CAPS = [
  'urn:ietf:params:netconf:base:1.0', 'urn:ietf:params:netconf:base:1.1',
  'urn:ietf:params:netconf:capability:candidate:1.0', 'urn:ietf:params:netconf:capability:validate:1.0',
  'urn:ietf:params:netconf:capability:validate:1.1', 'http://xml.juniper.net/netconf/junos/1.0',
];

/** Bytes received and not yet framed: one buffer grown by doubling, so a message in small pieces costs linear time. */
class Bytes {
  data = Buffer.alloc(1024);
  start = 0;
  end = 0;
  get length(): number { return this.end - this.start; }
  append(d: Buffer): void {
    if (this.end + d.length > this.data.length) {
      const need = this.length + d.length;
      const next = need * 2 > this.data.length ? Buffer.alloc(Math.max(need * 2, 1024)) : this.data;
      this.data.copy(next, 0, this.start, this.end);
      this.data = next; this.end -= this.start; this.start = 0;
    }
    d.copy(this.data, this.end);
    this.end += d.length;
  }
  take(n: number): Buffer { const b = Buffer.from(this.data.subarray(this.start, this.start + n)); this.start += n; if (this.start === this.end) this.start = this.end = 0; return b; }
  clear(): void { this.start = this.end = 0; }
}
const DELIM = Buffer.from(']]>]]>');

/**
 * Frames of a NETCONF stream: `]]>]]>` (1.0) or chunked (1.1); bounded (NETCONF_LIMITS.messageBytes)
 * and linear: bytes are kept in one growing buffer, the end marker searched only in what is new.
 */
export class Framer {
  private buf = new Bytes();
  private scanned = 0;               // bytes of buf already searched for ]]>]]>
  chunked = false;
  private msg: Buffer[] = [];
  private msgLen = 0;
  constructor(private on: { message(m: string): void; error(why: string): void }) {}
  push(d: string | Buffer): void {
    this.buf.append(typeof d === 'string' ? Buffer.from(d, 'utf8') : d);
    for (;;) {
      if (this.buf.length + this.msgLen > NETCONF_LIMITS.messageBytes + 32) { this.buf.clear(); this.msg = []; this.msgLen = 0; this.on.error(`a message longer than ${NETCONF_LIMITS.messageBytes} bytes`); return; }
      if (!this.chunked) {
        const from = this.buf.start + Math.max(0, this.scanned - DELIM.length + 1);
        const i = this.buf.data.subarray(0, this.buf.end).indexOf(DELIM, from);
        if (i < 0) { this.scanned = this.buf.length; return; }
        const m = this.buf.take(i - this.buf.start);
        this.buf.take(DELIM.length);
        this.scanned = 0;
        this.on.message(m.toString('utf8'));
        continue;
      }
      // \n#<size>\n<data> ... \n##\n (whitespace before a header is let through)
      const b = this.buf.data, s = this.buf.start, e = this.buf.end;
      let p = s;
      while (p < e && (b[p] === 0x20 || b[p] === 0x09 || b[p] === 0x0d) ) p++;
      if (p + 2 > e) return;
      if (b[p] !== 0x0a || b[p + 1] !== 0x23) { this.fail('bad chunk framing'); return; }
      p += 2;
      if (p < e && b[p] === 0x23) {
        if (p + 1 >= e) return;
        if (b[p + 1] !== 0x0a) { this.fail('bad chunk framing'); return; }
        this.buf.take(p + 2 - s);
        const m = Buffer.concat(this.msg).toString('utf8'); this.msg = []; this.msgLen = 0;
        this.on.message(m);
        continue;
      }
      let n = 0, digits = 0;
      while (p < e && b[p]! >= 0x30 && b[p]! <= 0x39 && digits <= 10) { n = n * 10 + b[p]! - 0x30; p++; digits++; }
      if (p >= e) { if (digits > 10) this.fail('bad chunk size'); return; }
      if (b[p] !== 0x0a || digits === 0) { this.fail('bad chunk framing'); return; }
      if (n < 1 || n > NETCONF_LIMITS.messageBytes) { this.fail('bad chunk size'); return; }
      if (e - (p + 1) < n) return;
      this.buf.take(p + 1 - s);
      const chunk = this.buf.take(n);
      this.msg.push(chunk); this.msgLen += n;
    }
  }
  private fail(why: string): void { this.buf.clear(); this.msg = []; this.msgLen = 0; this.on.error(why); }
  frame(m: string): string {
    if (!this.chunked) return `${m}]]>]]>`;
    return `\n#${Buffer.byteLength(m)}\n${m}\n##\n`;
  }
}

export function netconfSession(r: Router, db: CommitDb, user: ApiUser, stream: Duplex, from: string): void {
  const session = new ApiSession(r, db, user, 'netconf', from);
  let helloDone = false;
  let ended = false;
  // one request at a time; the stream paused while requests wait, replies wait for its drain (pump.ts)
  const pump: RequestPump<string> = new RequestPump<string>(stream, m => handle(m), why => stop(why), () => true);
  const framer = new Framer({
    message: m => pump.push({ req: m }),
    error: why => pump.push({ end: why }),
  });
  const send = (m: string) => { if (!ended) stream.write(framer.frame(m)); };
  let timer: NodeJS.Timeout | undefined;
  const idle = () => { clearTimeout(timer); timer = setTimeout(() => stop('session idle too long'), NETCONF_LIMITS.idleMs); timer.unref(); };
  const stop = (why?: string) => {
    if (ended) return;
    if (why) send(`<rpc-reply xmlns="${BASE}">${errorXml('netconf', new RpcError(why, 'malformed-message', 'rpc'))}</rpc-reply>`);
    ended = true;
    pump.stop();
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
  stream.on('data', (d: Buffer | string) => { if (!ended) framer.push(d); });
  stream.on('end', () => pump.push({ end: undefined }));
  const gone = () => { ended = true; pump.stop(); session.close(); clearTimeout(timer); };
  stream.on('close', gone);
  stream.on('error', gone);
}
