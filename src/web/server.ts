/**
 * `vrouter web`: the running lab's page (docs/web.md). It runs in the vrouter web process, never in
 * a router, and talks to each router through its control socket only. Every request and websocket
 * needs the token printed with the URL (401 without one, 403 with a wrong one); after the first
 * page, the page carries it as a SameSite=Strict cookie. It listens on 127.0.0.1 unless told.
 */
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import fstatic from '@fastify/static';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Topology } from '../lab/topology.js';
import { runDir } from '../lab/reallab.js';
import { Upstream } from './upstream.js';
import { cliRelay } from './relay.js';
import { LabPoller } from './poller.js';
import { captureSocket, PcapStore } from './capture.js';
import { traceSocket } from './tracesocket.js';

export interface WebOptions { topology: Topology; port?: number; listen?: string; token?: string; sockets?: string }
export interface WebServer { url: string; token: string; port: number; close(): Promise<void> }

export const WEB_LIMITS = { wsPayload: 1 << 20, wsBuffered: 4 << 20 };

/** The page's bundles: dist/web beside dist/src/web (built by scripts/bundle.mjs). */
export function assetsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const d of [join(here, '../../web'), join(here, '../../dist/web')]) if (existsSync(join(d, 'lab.js'))) return d;
  throw new Error('the web page is not built (npm run build makes dist/web)');
}

/** Fixed show commands the panel may ask for: the request names one, never a command line. */
export const PANEL_COMMANDS: Record<string, string> = {
  interfaces: 'show interfaces terse',
  ike: 'show ike security-associations',
  ipsec: 'show ipsec security-associations detail',
  kmd: 'show log kmd | last 15',
  diagnosis: 'show ipsec diagnosis',
};

const esc = (s: string) => s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
const page = (title: string, script: string, css: string[], data: Record<string, string>) => `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title>
${css.map(c => `<link rel="stylesheet" href="/assets/${c}">`).join('\n')}</head>
<body ${Object.entries(data).map(([k, v]) => `data-${k}="${esc(v)}"`).join(' ')}>
<script src="/assets/${script}"></script></body></html>
`;

function cookieToken(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === 'vrouter-web' && v) return v;
  }
  return undefined;
}

/** Whether an Origin header names this server's host (a malformed one does not). */
function sameHost(origin: string, host: string | undefined): boolean {
  try { return new URL(origin).host === host; } catch { return false; }
}

/** The token check, for every request and every websocket upgrade. */
function guard(token: string) {
  const want = Buffer.from(token);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const q = (req.query as Record<string, unknown> | undefined)?.token;
    const given = typeof q === 'string' ? q : cookieToken(req);
    if (!given) return reply.code(401).type('text/plain').send('401: this page needs the token printed by vrouter web\n');
    const g = Buffer.from(given);
    if (g.length !== want.length || !timingSafeEqual(g, want)) return reply.code(403).type('text/plain').send('403: wrong token\n');
    // a websocket from another site's page carries our cookie only if SameSite allowed it; the Origin says
    const origin = req.headers.origin;
    if (origin && !sameHost(origin, req.headers.host)) return reply.code(403).type('text/plain').send('403: another origin\n');
    if (typeof q === 'string') reply.header('set-cookie', `vrouter-web=${token}; HttpOnly; SameSite=Strict; Path=/`);
  };
}

export function labJson(t: Topology) {
  return {
    name: t.name,
    nodes: [...t.nodes.values()].map(n => ({ name: n.name, kind: n.kind, router: n.kind !== 'linux' })),
    links: t.links.map(l => l.endpoints.map(e => ({ node: e.node, ifname: e.ifname }))),
  };
}

function routes(app: FastifyInstance, t: Topology, sockets: string, poller: LabPoller, pcaps: PcapStore): void {
  const routers = [...t.nodes.values()].filter(n => n.kind !== 'linux').map(n => n.name);
  const sock = (node: string) => join(sockets, `${node}.sock`);
  app.get('/', async (_q, reply) => reply.type('text/html').send(page(`vrouter lab ${t.name}`, 'lab.js', ['lab.css'], { lab: t.name })));
  app.get<{ Params: { node: string } }>('/cli/:node', async (q, reply) => {
    if (!routers.includes(q.params.node)) return reply.code(404).type('text/plain').send(`lab ${t.name} has no router ${q.params.node}\n`);
    return reply.type('text/html').send(page(`${q.params.node} CLI`, 'cli.js', ['xterm.css', 'lab.css'], { node: q.params.node, lab: t.name }));
  });
  app.get('/api/lab', async () => labJson(t));
  app.get<{ Params: { node: string; what: string } }>('/api/node/:node/:what', async (q, reply) => {
    const cmd = Object.hasOwn(PANEL_COMMANDS, q.params.what) ? PANEL_COMMANDS[q.params.what] : undefined;
    if (!routers.includes(q.params.node) || !cmd) return reply.code(404).send({ error: 'no such router or panel' });
    const u = new Upstream(sock(q.params.node));
    try { const m = await u.request({ cmd }); return { command: cmd, out: String(m.out ?? ''), ...(typeof m.error === 'string' ? { error: m.error } : {}) }; }
    finally { u.close(); }
  });
  app.get('/ws/lab', { websocket: true }, ws => poller.add(ws));
  app.get('/ws/capture', { websocket: true }, ws => captureSocket(ws, routers, sock, pcaps));
  app.get('/ws/trace', { websocket: true }, ws => traceSocket(ws, routers, sock));
  app.get<{ Params: { id: string } }>('/api/capture/:id', async (q, reply) => {
    const p = pcaps.get(q.params.id);
    if (!p) return reply.code(404).type('text/plain').send('no such capture (finished captures are kept for 30 minutes)\n');
    const file = `${t.name}-${p.node}-${p.ifname.replace(/[/.]/g, '_')}.pcap`;
    return reply.type('application/vnd.tcpdump.pcap').header('content-disposition', `attachment; filename="${file}"`).send(p.data);
  });
  app.get<{ Params: { node: string } }>('/ws/cli/:node', { websocket: true }, (ws, q) => {
    if (!routers.includes(q.params.node)) { ws.close(4004, 'no such router'); return; }
    cliRelay(ws, sock(q.params.node));
  });
}

export async function startWeb(o: WebOptions): Promise<WebServer> {
  const t = o.topology;
  const token = o.token ?? randomBytes(18).toString('base64url');
  const sockets = o.sockets ?? runDir(t.name);
  const routers = [...t.nodes.values()].filter(n => n.kind !== 'linux').map(n => n.name);
  const poller = new LabPoller(routers, n => join(sockets, `${n}.sock`));
  const app = Fastify({ logger: false, bodyLimit: 1 << 16, forceCloseConnections: true });
  await app.register(websocket, { options: { maxPayload: WEB_LIMITS.wsPayload } });
  // no page of another site (or of another port of this host, which is same-site) may frame ours
  app.addHook('onRequest', async (_q, reply) => { reply.header('x-frame-options', 'DENY').header('content-security-policy', "frame-ancestors 'none'"); });
  app.addHook('onRequest', guard(token));
  await app.register(fstatic, { root: assetsDir(), prefix: '/assets/', index: false });
  routes(app, t, sockets, poller, new PcapStore());
  const host = o.listen ?? '127.0.0.1';
  await app.listen({ port: o.port ?? 0, host });
  const port = (app.server.address() as { port: number }).port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return { url: `http://${shown}:${port}/?token=${token}`, token, port, close: async () => { poller.close(); await app.close(); } };
}
