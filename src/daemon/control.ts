/**
 * The control socket of a router process: newline-delimited JSON over a Unix socket that only root
 * can open (0600 in a 0700 directory). Each connection is one CLI session with its own interpreter.
 *   client: {"id":1,"cmd":"show interfaces terse"}   {"id":1,"cancel":true}
 *           {"id":2,"help":"show "}   {"id":3,"complete":"sh int te"}   {"id":4,"status":true}
 *           {"id":5,"snapshot":true} (the web page's typed state, src/web/snapshot.ts)
 *           {"id":6,"trace":{"src":"10.1.1.1","dst":"10.2.2.2","count":4}} (the web page's packet trace, src/web/tracer.ts)
 *   server: {"id":1,"out":"..."} ... {"id":1,"done":true,"error":false,"prompt":"root@gw-a> ","banner":null}
 */
import { createServer, createConnection, Server, Socket } from 'node:net';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { Interpreter, outputHasError } from '../cli/interp.js';
import type { CommitDb } from '../cli/commitdb.js';
import type { Router } from '../router/router.js';
import { routerSnapshot, RouterSnapshot } from '../web/snapshot.js';
import { netemRequest } from '../pfe/netem.js';
import { parseTraceSpec, startTrace, TraceSpec } from '../web/tracer.js';


export interface RouterStatus { name: string; tunnels: Array<{ ifl: string; sa: string; up: boolean; packets: number }>; rxPackets: number; txPackets: number; time: number }

export async function routerStatus(r: Router): Promise<RouterStatus> {
  let rx = 0, tx = 0;
  for (const d of r.pfe.ifds.values()) { rx += d.counters.inPackets; tx += d.counters.outPackets; }
  const snap = r.ipsec.snapshot ? await r.ipsec.snapshot() : undefined;
  const tunnels = [...r.pfe.ifls.values()].filter(l => l.ipsecSa).map(l => {
    const sas = snap?.sas.filter(s => s.ifl === l.name) ?? [];
    return { ifl: l.name, sa: l.ipsecSa!, up: l.up && l.ifd.adminUp && sas.length > 0 && sas.every(s => s.state !== 'expired'), packets: sas.reduce((a, s) => a + s.packets, 0) };
  });
  return { name: r.name, tunnels, rxPackets: rx, txPackets: tx, time: Date.now() };
}

/** One request, validated. Anything else on the socket is answered with an error and ignored. */
export type Request =
  | { id: number; kind: 'cmd'; cmd: string }
  | { id: number; kind: 'cancel' }
  | { id: number; kind: 'hello' }
  | { id: number; kind: 'help'; text: string }
  | { id: number; kind: 'complete'; text: string }
  | { id: number; kind: 'status' }
  | { id: number; kind: 'snapshot' }
  | { id: number; kind: 'capture'; ifname: string; count?: number }
  | { id: number; kind: 'netem'; body: unknown }
  | { id: number; kind: 'trace'; spec: TraceSpec };   // the web page's packet trace (src/web/tracer.ts)

export const CONTROL_LIMITS = {
  lineBytes: 1 << 20,          // a request line is never longer (the longest is a pasted configuration)
  running: 16,                 // commands and captures running at once on one connection
  connections: 32,             // connections at once
  outputBuffered: 16 << 20,    // a client that lets this much output pile up is not reading: closed
  captureBuffered: 4 << 20,    // a capture beyond this much unsent data drops packets (counted)
  helpText: 4096,              // `?` and Tab look at no longer a line: help and completion run inline, so bounded
};

/** Parse one request line: pure, never throws. */
export function parseRequest(line: string): Request | { error: string; id?: number } {
  let m: unknown;
  try { m = JSON.parse(line); } catch { return { error: 'bad request: not JSON' }; }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return { error: 'bad request: not an object' };
  const o = m as Record<string, unknown>;
  const id = o.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return { error: 'bad request: id must be a non-negative integer' };
  const kinds = ['cmd', 'cancel', 'hello', 'help', 'complete', 'status', 'snapshot', 'capture', 'netem', 'trace'].filter(k => k in o);
  if (kinds.length !== 1) return { id, error: `bad request: exactly one of cmd, cancel, hello, help, complete, status, snapshot, capture, netem, trace expected` };
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  switch (kinds[0]) {
    case 'cmd': { const c = str('cmd'); return c === undefined ? { id, error: 'bad request: cmd must be a string' } : { id, kind: 'cmd', cmd: c }; }
    case 'help': case 'complete': {
      const t = str(kinds[0]);
      if (t === undefined) return { id, error: `bad request: ${kinds[0]} must be a string` };
      if (t.length > CONTROL_LIMITS.helpText) return { id, error: `bad request: ${kinds[0]} text longer than ${CONTROL_LIMITS.helpText} characters` };
      return { id, kind: kinds[0] as 'help' | 'complete', text: t };
    }
    case 'cancel': case 'hello': case 'status': case 'snapshot':
      return o[kinds[0]] === true ? { id, kind: kinds[0] as 'cancel' | 'hello' | 'status' | 'snapshot' } : { id, error: `bad request: ${kinds[0]} must be true` };
    case 'netem': return { id, kind: 'netem', body: o.netem };   // checked by netemRequest (src/pfe/netem.ts)
    case 'capture': {
      const ifname = str('capture');
      if (ifname === undefined) return { id, error: 'bad request: capture must be an interface name' };
      const count = o.count;
      if (count !== undefined && (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1)) return { id, error: 'bad request: count must be a positive integer' };
      return { id, kind: 'capture', ifname, ...(count !== undefined ? { count: count as number } : {}) };
    }
    case 'trace': { const t = parseTraceSpec(o.trace); return 'error' in t ? { id, error: t.error } : { id, kind: 'trace', spec: t }; }
  }
  return { id, error: 'bad request' };
}

export function serveControl(path: string, router: Router, db: CommitDb): Server {
  if (existsSync(path)) unlinkSync(path);
  let connections = 0;
  const server = createServer(sock => {
    if (connections >= CONTROL_LIMITS.connections) { sock.end(JSON.stringify({ error: 'too many connections' }) + '\n'); return; }
    connections++;
    const it = new Interpreter(router, db);
    let buf = '';
    const running = new Map<number, AbortController>();
    const send = (o: object) => {
      if (sock.destroyed) return;
      if (sock.writableLength > CONTROL_LIMITS.outputBuffered) { sock.destroy(); return; }   // the client stopped reading
      sock.write(JSON.stringify(o) + '\n');
    };
    const handle = (line: string) => {
      const q = parseRequest(line);
      if ('error' in q) { send({ ...(q.id !== undefined ? { id: q.id } : {}), error: q.error, done: true }); return; }
      const id = q.id;
      if (q.kind === 'cancel') { running.get(id)?.abort(); return; }
      if (q.kind === 'hello') { send({ id, done: true, prompt: it.prompt, banner: it.banner ?? null, name: router.name }); return; }
      if (q.kind === 'help') { send({ id, out: it.help(q.text), done: true }); return; }
      if (q.kind === 'complete') { send({ id, ...it.complete(q.text), done: true }); return; }
      if (q.kind === 'snapshot') { void routerSnapshot(router).then(s => send({ id, snapshot: s, done: true }), e => send({ id, error: String(e), done: true })); return; }
      if (q.kind === 'netem') { send({ id, ...netemRequest(router.pfe, q.body), done: true }); return; }
      if (q.kind === 'status') { void routerStatus(router).then(s => send({ id, status: s, done: true }), e => send({ id, error: String(e), done: true })); return; }
      if (running.has(id)) { send({ id, error: `request ${id} is already running`, done: true }); return; }
      if (running.size >= CONTROL_LIMITS.running) { send({ id, error: 'too many requests running on this connection', done: true }); return; }
      if (q.kind === 'trace') { const ac = new AbortController(); running.set(id, ac); startTrace(router, q.spec, m => send({ id, ...m }), ac.signal, () => running.delete(id)); return; }
      if (q.kind === 'capture') {
        const ifd = q.ifname.replace(/\.\d+$/, '');
        if (!router.pfe.ifds.has(ifd)) { send({ id, error: `device ${q.ifname} not found`, done: true }); return; }
        const ac = new AbortController();
        running.set(id, ac);
        let n = 0, dropped = 0;
        const off = router.pfe.addTap((name, _dir, data, kind) => {
          if (name !== ifd) return;
          // a reader slower than the port: drop (and count) rather than grow the router's memory
          if (sock.writableLength > CONTROL_LIMITS.captureBuffered) { dropped++; return; }
          send({ id, pkt: data.toString('base64'), kind, t: Date.now() });
          if (q.count && ++n >= q.count) finish();
        });
        const finish = () => { off(); running.delete(id); send({ id, done: true, dropped }); };
        ac.signal.addEventListener('abort', finish, { once: true });
        send({ id, capturing: true });   // from now on, every packet of the port is sent
        return;
      }
      const ac = new AbortController();
      running.set(id, ac);
      let out = '';
      void it.exec(q.cmd, { write: s => { if (out.length < 1 << 16) out += s; send({ id, out: s }); }, signal: ac.signal })
        .then(r => send({ id, done: true, exit: !!r.exit, error: outputHasError(out), prompt: it.prompt, banner: it.banner ?? null, collecting: it.isCollecting }))
        .catch(e => send({ id, out: `error: ${(e as Error).message}\n`, done: true, error: true, prompt: it.prompt, banner: it.banner ?? null }))
        .finally(() => running.delete(id));
    };
    sock.setEncoding('utf8');   // a multi-byte character split across chunks stays whole
    sock.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.length > CONTROL_LIMITS.lineBytes) { send({ error: 'request too long', done: true }); sock.destroy(); return; }
        try { handle(line); } catch (e) { send({ error: `internal error: ${(e as Error).message}`, done: true }); }
      }
      if (buf.length > CONTROL_LIMITS.lineBytes) { send({ error: 'request too long', done: true }); sock.destroy(); }
    });
    sock.on('close', () => { connections--; for (const a of running.values()) a.abort(); });
    sock.on('error', () => { /* client went away */ });
  });
  // the socket file is created 0600 (root only) from the start: no window in which others can connect
  const mask = process.umask(0o177);
  try { server.listen(path, () => chmodSync(path, 0o600)); } finally { process.umask(mask); }
  return server;
}

/** A client of one router's control socket. */
export class ControlClient {
  private sock?: Socket;
  private buf = '';
  private nextId = 1;
  private handlers = new Map<number, (m: Record<string, unknown>) => void>();
  constructor(readonly path: string) {}

  connect(timeoutMs = 3000): Promise<void> {
    return new Promise((res, rej) => {
      const s = createConnection(this.path);
      const t = setTimeout(() => { s.destroy(); rej(new Error(`no answer on ${this.path}`)); }, timeoutMs);
      s.once('connect', () => { clearTimeout(t); this.sock = s; res(); });
      s.once('error', e => { clearTimeout(t); rej(e); });
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        this.buf += d;
        let i;
        while ((i = this.buf.indexOf('\n')) >= 0) {
          const m = JSON.parse(this.buf.slice(0, i)) as Record<string, unknown>;
          this.buf = this.buf.slice(i + 1);
          this.handlers.get(m.id as number)?.(m);
        }
      });
      s.on('close', () => { for (const h of this.handlers.values()) h({ done: true, error: true, out: '', closed: true }); this.handlers.clear(); });
    });
  }
  private request(body: object, onOut?: (s: string) => void): { id: number; done: Promise<Record<string, unknown>> } {
    const id = this.nextId++;
    const done = new Promise<Record<string, unknown>>(res => {
      this.handlers.set(id, m => {
        if (typeof m.out === 'string' && onOut) onOut(m.out);
        if (m.done) { this.handlers.delete(id); res(m); }
      });
    });
    this.sock!.write(JSON.stringify({ id, ...body }) + '\n');
    return { id, done };
  }
  hello() { return this.request({ hello: true }).done; }
  /** Run one command; `signal` cancels it (like Ctrl-C). */
  async exec(cmd: string, onOut: (s: string) => void, signal?: AbortSignal): Promise<{ error: boolean; exit: boolean; prompt: string; banner: string | null; collecting: boolean; closed?: boolean }> {
    const r = this.request({ cmd }, onOut);
    signal?.addEventListener('abort', () => this.sock?.write(JSON.stringify({ id: r.id, cancel: true }) + '\n'), { once: true });
    const m = await r.done;
    return { error: !!m.error, exit: !!m.exit, prompt: String(m.prompt ?? ''), banner: (m.banner as string | null) ?? null, collecting: !!m.collecting, ...(m.closed ? { closed: true } : {}) };
  }
  async help(partial: string): Promise<string> { return String((await this.request({ help: partial }).done).out ?? ''); }
  async complete(partial: string): Promise<{ line: string; choices: string[] }> { const m = await this.request({ complete: partial }).done; return { line: String(m.line ?? partial), choices: (m.choices as string[]) ?? [] }; }
  /** The typed state the web page shows (src/web/snapshot.ts). */
  async snapshot(): Promise<RouterSnapshot | undefined> { return (await this.request({ snapshot: true }).done).snapshot as RouterSnapshot | undefined; }
  async status(): Promise<RouterStatus | undefined> { return (await this.request({ status: true }).done).status as RouterStatus | undefined; }
  /** Stream the packets crossing a port until `count` or the signal; `dropped`: what the router could not send in time. */
  async capture(ifname: string, count: number | undefined, onPkt: (data: Buffer, kind: 'eth' | 'ip', t: number) => void, signal?: AbortSignal, onStart?: () => void): Promise<{ error?: string; dropped: number }> {
    const id = this.nextId++;
    const done = new Promise<Record<string, unknown>>(res => this.handlers.set(id, m => {
      if (m.capturing) onStart?.();
      if (typeof m.pkt === 'string') onPkt(Buffer.from(m.pkt, 'base64'), m.kind as 'eth' | 'ip', m.t as number);
      if (m.done) { this.handlers.delete(id); res(m); }
    }));
    this.sock!.write(JSON.stringify({ id, capture: ifname, ...(count ? { count } : {}) }) + '\n');
    signal?.addEventListener('abort', () => this.sock?.write(JSON.stringify({ id, cancel: true }) + '\n'), { once: true });
    const m = await done;
    return { ...(typeof m.error === 'string' ? { error: m.error } : {}), dropped: Number(m.dropped ?? 0) };
  }
  /** Impair a port, clear it, or list the impaired ports (src/pfe/netem.ts's netemRequest). */
  async netem(body: object): Promise<Record<string, unknown>> { return this.request({ netem: body }).done; }
  close(): void { this.sock?.end(); this.sock?.destroy(); }
}
