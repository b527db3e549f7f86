/**
 * The control socket of a router process: newline-delimited JSON over a Unix socket that only root
 * can open (0600 in a 0700 directory). Each connection is one CLI session with its own interpreter.
 *   client: {"id":1,"cmd":"show interfaces terse"}   {"id":1,"cancel":true}
 *           {"id":2,"help":"show "}   {"id":3,"complete":"sh int te"}   {"id":4,"status":true}
 *   server: {"id":1,"out":"..."} ... {"id":1,"done":true,"error":false,"prompt":"root@gw-a> ","banner":null}
 */
import { createServer, createConnection, Server, Socket } from 'node:net';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { Interpreter, outputHasError } from '../cli/interp.js';
import type { CommitDb } from '../cli/commitdb.js';
import type { Router } from '../router/router.js';


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

export function serveControl(path: string, router: Router, db: CommitDb): Server {
  if (existsSync(path)) unlinkSync(path);
  const server = createServer(sock => {
    const it = new Interpreter(router, db);
    let buf = '';
    const running = new Map<number, AbortController>();
    const send = (o: object) => { if (!sock.destroyed) sock.write(JSON.stringify(o) + '\n'); };
    sock.on('data', d => {
      buf += d.toString();
      if (buf.length > 1 << 20) { sock.destroy(); return; }   // a request line is never that long
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const lineText = buf.slice(0, i); buf = buf.slice(i + 1);
        let m: { id: number; cmd?: string; cancel?: boolean; help?: string; complete?: string; status?: boolean; hello?: boolean; capture?: string; count?: number };
        try { m = JSON.parse(lineText); } catch { send({ error: 'bad request' }); continue; }
        if (m.cancel) { running.get(m.id)?.abort(); continue; }
        if (m.hello) { send({ id: m.id, done: true, prompt: it.prompt, banner: it.banner ?? null, name: router.name }); continue; }
        if (m.help !== undefined) { send({ id: m.id, out: it.help(m.help), done: true }); continue; }
        if (m.complete !== undefined) { send({ id: m.id, ...it.complete(m.complete), done: true }); continue; }
        if (m.status) { void routerStatus(router).then(s => send({ id: m.id, status: s, done: true })); continue; }
        if (m.capture !== undefined) {
          const ifd = m.capture.replace(/\.\d+$/, '');
          if (!router.pfe.ifds.has(ifd)) { send({ id: m.id, error: `device ${m.capture} not found`, done: true }); continue; }
          const ac = new AbortController();
          running.set(m.id, ac);
          let n = 0;
          const off = router.pfe.addTap((name, _dir, data, kind) => {
            if (name !== ifd) return;
            send({ id: m.id, pkt: data.toString('base64'), kind, t: Date.now() });
            if (m.count && ++n >= m.count) finish();
          });
          const finish = () => { off(); running.delete(m.id); send({ id: m.id, done: true }); };
          ac.signal.addEventListener('abort', finish, { once: true });
          continue;
        }
        if (m.cmd === undefined) continue;
        const ac = new AbortController();
        running.set(m.id, ac);
        let out = '';
        void it.exec(m.cmd, { write: s => { out += s; send({ id: m.id, out: s }); }, signal: ac.signal })
          .then(r => send({ id: m.id, done: true, exit: !!r.exit, error: outputHasError(out), prompt: it.prompt, banner: it.banner ?? null, collecting: it.isCollecting }))
          .catch(e => send({ id: m.id, out: `error: ${(e as Error).message}\n`, done: true, error: true, prompt: it.prompt, banner: it.banner ?? null }))
          .finally(() => running.delete(m.id));
      }
    });
    sock.on('close', () => { for (const a of running.values()) a.abort(); });
    sock.on('error', () => { /* client went away */ });
  });
  server.listen(path, () => chmodSync(path, 0o600));
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
      s.on('data', d => {
        this.buf += d.toString();
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
  async status(): Promise<RouterStatus | undefined> { return (await this.request({ status: true }).done).status as RouterStatus | undefined; }
  /** Stream the packets crossing a port until `count` or the signal. */
  async capture(ifname: string, count: number | undefined, onPkt: (data: Buffer, kind: 'eth' | 'ip', t: number) => void, signal?: AbortSignal): Promise<string | undefined> {
    const id = this.nextId++;
    const done = new Promise<Record<string, unknown>>(res => this.handlers.set(id, m => {
      if (typeof m.pkt === 'string') onPkt(Buffer.from(m.pkt, 'base64'), m.kind as 'eth' | 'ip', m.t as number);
      if (m.done) { this.handlers.delete(id); res(m); }
    }));
    this.sock!.write(JSON.stringify({ id, capture: ifname, ...(count ? { count } : {}) }) + '\n');
    signal?.addEventListener('abort', () => this.sock?.write(JSON.stringify({ id, cancel: true }) + '\n'), { once: true });
    const m = await done;
    return m.error as string | undefined;
  }
  close(): void { this.sock?.end(); this.sock?.destroy(); }
}
