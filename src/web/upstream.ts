/**
 * The web server's side of a router's control socket (src/daemon/control.ts): newline-delimited JSON,
 * with a bound on a line, every request answered or failed when the socket closes, and a timeout per
 * request (a router that does not answer is shown as down, never waited on forever).
 */
import { createConnection, Socket } from 'node:net';

export const UPSTREAM_LIMITS = { lineBytes: 32 << 20, requestMs: 5000, connectMs: 3000 };

export type Msg = Record<string, unknown>;

/** Split a byte stream into JSON lines; a line that is too long or not JSON ends the stream. */
export function lineReader(onMsg: (m: Msg) => void, onBad: (why: string) => void): (chunk: string) => void {
  let buf = '';
  return chunk => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let m: unknown;
      try { m = JSON.parse(line); } catch { onBad('not JSON'); return; }
      if (typeof m === 'object' && m !== null && !Array.isArray(m)) onMsg(m as Msg);
    }
    if (buf.length > UPSTREAM_LIMITS.lineBytes) { buf = ''; onBad('line too long'); }
  };
}

export function connectSocket(path: string): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = createConnection(path);
    const t = setTimeout(() => { s.destroy(); rej(new Error(`no answer on ${path}`)); }, UPSTREAM_LIMITS.connectMs);
    s.once('connect', () => { clearTimeout(t); res(s); });
    s.on('error', e => { clearTimeout(t); rej(e); });
  });
}

/** One connection for requests with one answer each (snapshot, a show command's whole output). */
export class Upstream {
  private sock?: Socket;
  private nextId = 1;
  private waiting = new Map<number, { res: (m: Msg) => void; out: string; timer: NodeJS.Timeout }>();
  constructor(readonly path: string) {}

  private async open(): Promise<Socket> {
    if (this.sock && !this.sock.destroyed) return this.sock;
    const s = await connectSocket(this.path);
    s.setEncoding('utf8');
    s.on('data', lineReader(m => this.answer(m), () => s.destroy()));
    s.on('close', () => { if (this.sock === s) this.sock = undefined; for (const id of [...this.waiting.keys()]) this.finish(id, { done: true, error: 'the router closed the connection' }); });
    this.sock = s;
    return s;
  }
  private answer(m: Msg): void {
    const w = this.waiting.get(m.id as number);
    if (!w) return;
    if (typeof m.out === 'string' && w.out.length < 1 << 20) w.out += m.out;
    if (m.done) this.finish(m.id as number, { ...m, out: w.out });
  }
  private finish(id: number, m: Msg): void {
    const w = this.waiting.get(id);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting.delete(id);
    w.res(m);
  }
  /** Send one request; the answer (its output gathered in `out`), or `error` on timeout or close. */
  async request(body: Msg): Promise<Msg> {
    let s: Socket;
    try { s = await this.open(); } catch (e) { return { done: true, error: (e as Error).message }; }
    const id = this.nextId++;
    return new Promise(res => {
      const timer = setTimeout(() => this.finish(id, { done: true, error: 'the router did not answer in time' }), UPSTREAM_LIMITS.requestMs);
      this.waiting.set(id, { res, out: '', timer });
      s.write(JSON.stringify({ id, ...body }) + '\n');
    });
  }
  close(): void { this.sock?.destroy(); }
}
