/** `vrouter web TOPOLOGY [--port N] [--listen ADDR]` and `vrouter up --web`: serve the lab's page until Ctrl-C. */
import type { Topology } from '../lab/topology.js';
import { isUp } from '../lab/reallab.js';
import { startWeb, WebServer } from './server.js';
import { isIP } from 'node:net';

/** The options checked: a port 0..65535 (0: any free one), an IP address to listen on. */
export function webOptions(v: { port?: unknown; listen?: unknown }): { port?: number; listen?: string } | string {
  const port = v.port as string | undefined, listen = v.listen as string | undefined;
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) > 65535)) return `--port takes a port number (got '${port}')`;
  if (listen !== undefined && !isIP(listen)) return `--listen takes an IP address (got '${listen}')`;
  return { ...(port !== undefined ? { port: Number(port) } : {}), ...(listen !== undefined ? { listen } : {}) };
}

export async function serveLab(t: Topology, o: { port?: number; listen?: string }, out: (s: string) => void): Promise<WebServer> {
  const w = await startWeb({ topology: t, ...o });
  out(w.url);
  if (o.listen && o.listen !== '127.0.0.1' && o.listen !== '::1') out(`warning: listening on ${o.listen}: anyone who can reach it and has the token can use every router's CLI`);
  return w;
}

export async function webCommand(t: Topology, v: { port?: unknown; listen?: unknown }, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const o = webOptions(v);
  if (typeof o === 'string') { err(`vrouter web: ${o}`); return 2; }
  if (!isUp(t.name)) { err(`vrouter: lab ${t.name} is not up`); return 1; }
  return holdUntilSignal(await serveLab(t, o, out));
}

/** Serve until Ctrl-C or SIGTERM (signal handlers alone do not keep Node's event loop alive). */
export async function holdUntilSignal(w: WebServer): Promise<number> {
  const hold = setInterval(() => {}, 1 << 30);
  await new Promise<void>(res => { process.once('SIGINT', res); process.once('SIGTERM', res); });
  clearInterval(hold);
  await w.close();
  return 0;
}
