/**
 * The web server against a real router behind its real control socket (in this process): the token
 * on every request and websocket, the snapshot, the CLI relay (a command, help, completion,
 * configuration mode and commit), and the relay's parser under random input.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:net';
import WebSocket from 'ws';
import { Router } from '../router/router.js';
import { CommitDb } from '../cli/commitdb.js';
import { serveControl } from '../daemon/control.js';
import { loadTopology } from '../lab/topology.js';
import { startWeb, WebServer } from './server.js';
import { relayRequest } from './relay.js';
import { TRACE_WS, tracesRunning } from './tracesocket.js';
import type { LabState } from './poller.js';

const TOPO = join(import.meta.dirname, '../../topologies');
let dir: string, router: Router, ctl: Server, web: WebServer, base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vrouter-web-'));
  router = new Router({ name: 'gw-a', ipsec: 'inline' });
  expect(router.commitText(readFileSync(join(TOPO, 'gw-a.conf'), 'utf8')).ok).toBe(true);
  ctl = serveControl(join(dir, 'gw-a.sock'), router, new CommitDb(router));
  await new Promise<void>(r => ctl.once('listening', () => r()));
  const t = loadTopology(join(TOPO, 'gw-a-b.yaml'));
  web = await startWeb({ topology: t, sockets: dir, token: 'test-token-0123456789' });
  base = `http://127.0.0.1:${web.port}`;
});
afterAll(async () => { await web.close(); ctl.close(); await router.stop(); rmSync(dir, { recursive: true, force: true }); });

function wsOpen(path: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; msgs: Array<Record<string, unknown>>; next: (pred: (m: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>> }> {
  return new Promise((res, rej) => {
    const ws = new WebSocket(`ws://127.0.0.1:${web.port}${path}`, { headers });
    const msgs: Array<Record<string, unknown>> = [];
    const waiters: Array<[(m: Record<string, unknown>) => boolean, (m: Record<string, unknown>) => void]> = [];
    ws.on('message', d => { const m = JSON.parse(String(d)); msgs.push(m); for (const w of waiters.splice(0)) if (w[0](m)) w[1](m); else waiters.push(w); });
    const next = (pred: (m: Record<string, unknown>) => boolean) => new Promise<Record<string, unknown>>(r => { const f = msgs.find(pred); if (f) r(f); else waiters.push([pred, r]); });
    ws.once('open', () => res({ ws, msgs, next }));
    ws.once('unexpected-response', (_q, r) => rej(new Error(`HTTP ${r.statusCode}`)));
    ws.once('error', rej);
  });
}

describe('vrouter web server', () => {
  it('refuses every request and websocket without the right token', async () => {
    for (const p of ['/', '/api/lab', '/assets/lab.js', '/cli/gw-a', '/api/node/gw-a/kmd']) {
      expect((await fetch(base + p)).status).toBe(401);
      expect((await fetch(base + p + '?token=wrong')).status).toBe(403);
      expect((await fetch(base + p, { headers: { cookie: 'vrouter-web=wrong-token-0123456789' } })).status).toBe(403);
    }
    await expect(wsOpen('/ws/lab')).rejects.toThrow('HTTP 401');
    await expect(wsOpen('/ws/cli/gw-a', { cookie: 'vrouter-web=nope' })).rejects.toThrow('HTTP 403');
    await expect(wsOpen('/ws/cli/gw-a?token=test-token-0123456789', { origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
  });

  it('serves the page with the token and sets the cookie the page then uses', async () => {
    const r = await fetch(`${base}/?token=test-token-0123456789`);
    expect(r.status).toBe(200);
    expect(r.headers.get('set-cookie')).toMatch(/vrouter-web=test-token-0123456789; HttpOnly; SameSite=Strict/);
    expect(await r.text()).toContain('/assets/lab.js');
    const js = await fetch(`${base}/assets/lab.js`, { headers: { cookie: 'vrouter-web=test-token-0123456789' } });
    expect(js.status).toBe(200);
    const lab = await (await fetch(`${base}/api/lab?token=test-token-0123456789`)).json() as { nodes: Array<{ name: string; router: boolean }>; links: unknown[] };
    expect(lab.nodes.filter(n => n.router).map(n => n.name).sort()).toEqual(['gw-a', 'gw-b']);
    expect(lab.links.length).toBe(3);
    expect((await fetch(`${base}/cli/host-a?token=test-token-0123456789`)).status).toBe(404);
  });

  it('runs at most TRACE_WS.running traces at once over all pages, and a closed page frees its trace', async () => {
    const pages = [];
    for (let i = 0; i < TRACE_WS.running; i++) {
      const p = await wsOpen('/ws/trace?token=test-token-0123456789');
      p.ws.send(JSON.stringify({ start: { dst: '10.2.2.9', seconds: 60 } }));
      await p.next(m => m.router === 'gw-a' && m.tracing === true);
      pages.push(p);
    }
    expect(tracesRunning()).toBe(TRACE_WS.running);
    const extra = await wsOpen('/ws/trace?token=test-token-0123456789');
    extra.ws.send(JSON.stringify({ start: { dst: '10.2.2.9', seconds: 60 } }));
    expect(String((await extra.next(m => typeof m.error === 'string')).error)).toMatch(/traces are running already/);
    pages[0]!.ws.close();
    await new Promise<void>(r => { const t = setInterval(() => { if (tracesRunning() < TRACE_WS.running) { clearInterval(t); r(); } }, 10); });
    extra.ws.send(JSON.stringify({ start: { dst: '10.2.2.9', seconds: 60 } }));
    await extra.next(m => m.router === 'gw-a' && m.tracing === true);
    for (const p of [...pages.slice(1), extra]) p.ws.close();
    await new Promise<void>(r => { const t = setInterval(() => { if (tracesRunning() === 0) { clearInterval(t); r(); } }, 10); });
  });

  it('may not be framed by another page, and a panel name is never looked up through the prototype', async () => {
    for (const p of ['/?token=test-token-0123456789', '/cli/gw-a?token=test-token-0123456789', '/api/lab']) {
      const r = await fetch(base + p);
      expect(r.headers.get('x-frame-options'), p).toBe('DENY');
      expect(r.headers.get('content-security-policy'), p).toBe("frame-ancestors 'none'");
    }
    for (const what of ['__proto__', 'constructor', 'toString', 'hasOwnProperty'])
      expect((await fetch(`${base}/api/node/gw-a/${what}?token=test-token-0123456789`)).status, what).toBe(404);
  });

  it('pushes each router snapshot over /ws/lab (a router that is not running is down)', async () => {
    const { ws, next } = await wsOpen('/ws/lab?token=test-token-0123456789');
    const m = await next(x => { const s = x as unknown as LabState; return !!s.routers?.['gw-a'] && !!s.routers['gw-b']; }) as unknown as LabState;
    ws.close();
    expect(m.routers['gw-b']!.up).toBe(false);
    const a = m.routers['gw-a']!.snapshot!;
    expect(a.model).toMatch(/M10/);
    expect(a.ifds.map(d => d.name)).toContain('fe-0/0/1');
    expect(a.tunnels[0]).toMatchObject({ ifl: 'es-0/1/0.0', sa: 'manual-sa1', peer: '10.6.6.6' });
    expect(a.tunnels[0]!.sas.map(s => s.direction).sort()).toEqual(['inbound', 'outbound']);
    // the diagnosis verdicts, read without moving the CLI's baseline: show ipsec diagnosis still finds no earlier run
    expect(a.tunnels[0]!.verdicts.map(v => v.id)).toEqual(['ok']);
  });

  it('relays a CLI session: command, help, completion, configuration mode and commit', async () => {
    const { ws, msgs, next } = await wsOpen('/ws/cli/gw-a?token=test-token-0123456789');
    ws.send(JSON.stringify({ id: 1, hello: true }));
    expect((await next(m => m.id === 1 && !!m.done)).prompt).toBe('root@gw-a> ');
    ws.send(JSON.stringify({ id: 2, cmd: 'show interfaces terse' }));
    await next(m => m.id === 2 && !!m.done);
    expect(msgs.filter(m => m.id === 2 && typeof m.out === 'string').map(m => m.out).join('')).toMatch(/es-0\/1\/0.0\s+up\s+up/);
    ws.send(JSON.stringify({ id: 3, help: 'show ' }));
    expect(String((await next(m => m.id === 3 && !!m.done)).out)).toMatch(/interfaces/);
    ws.send(JSON.stringify({ id: 4, complete: 'sh int te' }));
    expect((await next(m => m.id === 4 && !!m.done)).line).toBe('sh int terse ');
    ws.send(JSON.stringify({ id: 5, cmd: 'configure' }));
    expect(String((await next(m => m.id === 5 && !!m.done)).prompt)).toBe('root@gw-a# ');
    ws.send(JSON.stringify({ id: 6, cmd: 'set system host-name gw-web' }));
    await next(m => m.id === 6 && !!m.done);
    ws.send(JSON.stringify({ id: 7, cmd: 'commit and-quit' }));
    expect(String((await next(m => m.id === 7 && !!m.done)).prompt)).toBe('root@gw-web> ');
    ws.send(JSON.stringify({ id: 8, status: true }));
    expect((await next(m => m.id === 8)).error).toMatch(/not part of a CLI session/);
    ws.send('not json');
    expect((await next(m => m.error === 'bad request: not JSON')).done).toBe(true);
    ws.close();
  });

  it('the relay parser never throws and forwards only CLI requests', () => {
    const seeds = ['{"id":1,"cmd":"show version"}', '{"id":2,"capture":"fe-0/0/0"}', '{"id":3,"snapshot":true}', '{"id":-1,"cmd":"x"}', '[1]', '{"id":1,"help":5}'];
    let rnd = 1;
    const rand = () => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 3000; i++) {
      const s = seeds[i % seeds.length]!.split('');
      for (let k = 0; k < 3; k++) s.splice(Math.floor(rand() * s.length), Math.floor(rand() * 3), String.fromCharCode(Math.floor(rand() * 128)));
      const r = relayRequest(s.join(''));
      if ('line' in r) expect(JSON.parse(r.line)).toSatisfy((o: Record<string, unknown>) => ['cmd', 'cancel', 'hello', 'help', 'complete'].some(k => k in o) && !('capture' in o) && !('snapshot' in o) && !('status' in o));
    }
    expect('line' in relayRequest('{"id":2,"capture":"fe-0/0/0"}')).toBe(false);
    expect(relayRequest('{"id":1,"cmd":"show version"}')).toEqual({ line: '{"id":1,"cmd":"show version"}\n', id: 1 });
  });
});
