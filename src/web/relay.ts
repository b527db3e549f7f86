/**
 * /ws/cli/NODE: a browser terminal's session on a router's control socket, one interpreter per
 * websocket (as one per console connection). The page's messages are the control socket's requests,
 * checked by the same parser the router uses and limited to a CLI session's kinds (cmd, cancel,
 * hello, help, complete); the router's answers go back as they are. Backpressure both ways: a page
 * that does not read pauses the router's socket, and the router's bounds hold for what it is sent.
 */
import type { WebSocket } from 'ws';
import { parseRequest } from '../daemon/control.js';
import { connectSocket, lineReader } from './upstream.js';

export const RELAY = { wsBuffered: 4 << 20, resumeMs: 50, early: 64 };   // early: requests held while the router's socket connects
const ALLOWED = new Set(['cmd', 'cancel', 'hello', 'help', 'complete']);

/** The request to forward for one page message, or the error to answer it with. Pure. */
export function relayRequest(text: string): { line: string; id: number } | { error: string; id?: number } {
  const q = parseRequest(text);
  if ('error' in q) return q;
  if (!ALLOWED.has(q.kind)) return { id: q.id, error: `bad request: ${q.kind} is not part of a CLI session` };
  const body = q.kind === 'cmd' ? { cmd: q.cmd } : q.kind === 'help' ? { help: q.text } : q.kind === 'complete' ? { complete: q.text } : { [q.kind]: true };
  return { line: JSON.stringify({ id: q.id, ...body }) + '\n', id: q.id };
}

export function cliRelay(ws: WebSocket, path: string): void {
  const early: string[] = [];
  let sock: import('node:net').Socket | undefined;
  let closed = false;
  const toPage = (o: object) => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(o)); };
  const fromPage = (text: string) => {
    const r = relayRequest(text);
    if ('error' in r) { toPage({ ...(r.id !== undefined ? { id: r.id } : {}), error: r.error, done: true }); return; }
    if (sock) sock.write(r.line);
    else if (early.length < RELAY.early) early.push(r.line);
    else toPage({ id: r.id, error: 'the router is not connected yet: request dropped', done: true });
  };
  ws.on('message', (d, isBinary) => { if (!isBinary) fromPage(d.toString()); });
  ws.on('close', () => { closed = true; sock?.destroy(); });
  ws.on('error', () => ws.terminate());
  connectSocket(path).then(s => {
    if (closed) { s.destroy(); return; }
    sock = s;
    s.setEncoding('utf8');
    const resume = () => { if (closed) return; if (ws.bufferedAmount > RELAY.wsBuffered) setTimeout(resume, RELAY.resumeMs); else s.resume(); };
    s.on('data', lineReader(m => {
      toPage(m);
      if (ws.bufferedAmount > RELAY.wsBuffered && !s.isPaused()) { s.pause(); setTimeout(resume, RELAY.resumeMs); }
    }, () => s.destroy()));
    s.on('close', () => { toPage({ error: 'the router closed the connection', closed: true, done: true }); ws.close(); });
    for (const l of early.splice(0)) s.write(l);
  }, e => { toPage({ error: `the router is not running (${(e as Error).message})`, closed: true, done: true }); ws.close(); });
}
