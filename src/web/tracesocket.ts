/**
 * /ws/trace: a packet trace from the page on every router of the lab at once (the control socket's
 * `trace` request, src/web/tracer.ts). The page sends {start: {src, dst, count, both, seconds}} or
 * {stop: true}; it gets {router, tracing}, {router, trace: TraceRecord} for each finished part of a
 * packet's trace, {router, done} per router, and {done: true} when every router is done.
 * Bounded: the count and seconds of TRACE_LIMITS; a page with too much unread misses parts (counted).
 */
import type { WebSocket } from 'ws';
import type { Socket } from 'node:net';
import { connectSocket, lineReader } from './upstream.js';
import { parseTraceSpec } from './tracer.js';

export const TRACE_WS = { wsBuffered: 1 << 20, running: 4 };   // running: traces at once, all pages together

let tracing = 0;   // traces running now, every page of this web process
/** Traces running now, all pages together (for tests). */
export const tracesRunning = () => tracing;

export function traceSocket(ws: WebSocket, routers: readonly string[], socketOf: (node: string) => string): void {
  let socks: Socket[] = [], running = false, unsent = 0;
  const toPage = (o: object, always = false) => {
    if (ws.readyState !== ws.OPEN) return;
    if (!always && ws.bufferedAmount > TRACE_WS.wsBuffered) { unsent++; return; }
    ws.send(JSON.stringify(o));
  };
  const stopAll = () => { for (const s of socks) if (!s.destroyed) s.write(JSON.stringify({ id: 1, cancel: true }) + '\n'); };
  ws.on('message', (d, isBinary) => {
    if (isBinary) return;
    let m: Record<string, unknown>;
    try { m = JSON.parse(String(d)) as Record<string, unknown>; } catch { toPage({ error: 'not JSON' }, true); return; }
    if (m.stop === true) { stopAll(); return; }
    if (running) { toPage({ error: 'a trace is already running on this page' }, true); return; }
    const spec = parseTraceSpec(m.start);
    if ('error' in spec) { toPage({ error: spec.error.replace(/^bad request: /, '') }, true); return; }
    if (routers.length === 0) { toPage({ done: true, unsent: 0 }, true); return; }
    if (tracing >= TRACE_WS.running) { toPage({ error: `${TRACE_WS.running} traces are running already (all pages): stop one first` }, true); return; }
    running = true; unsent = 0; tracing++;
    let left = routers.length;
    const oneDone = (router: string, o: object) => {
      toPage({ router, ...o }, true);
      if (--left === 0) { running = false; tracing--; socks = []; toPage({ done: true, unsent }, true); }
    };
    for (const router of routers) {
      let ended = false;
      const end = (o: object) => { if (!ended) { ended = true; oneDone(router, o); } };
      connectSocket(socketOf(router)).then(s => {
        if (ws.readyState !== ws.OPEN) { s.destroy(); end({ done: true, error: 'the page went away' }); return; }
        socks.push(s);
        s.setEncoding('utf8');
        s.on('data', lineReader(x => {
          if (x.id !== 1) return;
          if (x.trace) toPage({ router, trace: x.trace });
          else if (x.tracing) toPage({ router, tracing: true }, true);
          else if (x.done) { end({ done: true, started: x.started, reason: x.reason, ...(typeof x.error === 'string' ? { error: x.error } : {}) }); s.end(); }
        }, why => { end({ done: true, error: `bad answer: ${why}` }); s.destroy(); }));
        s.on('close', () => end({ done: true, error: 'the router closed the connection' }));
        s.on('error', () => { /* close follows */ });
        s.write(JSON.stringify({ id: 1, trace: spec }) + '\n');
      }, e => end({ done: true, error: `not running (${(e as Error).message})` }));
    }
  });
  ws.on('close', () => { for (const s of socks) s.destroy(); });
  ws.on('error', () => ws.terminate());
}
