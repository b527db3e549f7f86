/**
 * Issue 21 item 9: idle TCP connections (no TLS handshake, no SSH version line) do not lock out a
 * real login: counted from the TCP accept, 4 per source and 16 in all before authentication, each
 * closed 30 s after accept; a login from another address still gets in. TLS handshakes go through
 * the same admission (the TCP accept comes first).
 */
import { describe, it, expect, afterAll } from 'vitest';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { Router } from '../router/router.js';
import { CommitDb } from '../cli/commitdb.js';
import { ApiServices, API_LIMITS } from './services.js';
import { junoscriptSession } from './junoscript.js';

const r = new Router({ name: 'gw-a', ipsec: 'inline' });
const hash = execFileSync('openssl', ['passwd', '-6', 'pw-1']).toString().trim();
const c = r.commitText(`system { host-name gw-a; login { user netops { class super-user; authentication { encrypted-password "${hash}"; } } } }`, 't');
if (!c.ok) throw new Error(c.output);
const db = new CommitDb(r);
const svc = new ApiServices(r, db, '127.0.0.1');
const admitted: net.Socket[] = [];
const server = net.createServer(sock => { if (svc.admit(sock)) { admitted.push(sock); junoscriptSession(r, db, sock, sock.remoteAddress ?? ''); } });
const clients: net.Socket[] = [];
afterAll(() => { for (const s of clients) s.destroy(); svc.close(); server.close(); r.stop(); });

const connect = (port: number, from: string) => new Promise<{ s: net.Socket; closed: Promise<void>; data: () => string }>((res, rej) => {
  let data = '';
  const s = net.connect({ port, host: '127.0.0.1', localAddress: from }, () => res({ s, closed, data: () => data }));
  const closed = new Promise<void>(done => s.on('close', () => done()));
  s.on('data', d => { data += d; });
  s.on('error', rej);
  clients.push(s);
});

describe('connections before authentication', () => {
  it(`${API_LIMITS.perSource * 3} idle connections from one address: ${API_LIMITS.perSource} admitted, the rest closed; a login from another address gets in`, async () => {
    await new Promise<void>(res => server.listen(0, '127.0.0.1', () => res()));
    const port = (server.address() as net.AddressInfo).port;
    const idle = [];
    for (let k = 0; k < API_LIMITS.perSource * 3; k++) idle.push(await connect(port, '127.0.0.1'));
    // the refused ones are closed by the router
    await Promise.all(idle.slice(API_LIMITS.perSource).map(x => x.closed));
    expect(admitted.length).toBe(API_LIMITS.perSource);
    expect(r.log.read('messages')!.some(l => /INETD_CONNECTION_LIMIT: connection from 127\.0\.0\.1 refused: 4 unauthenticated connections from it/.test(l))).toBe(true);
    const me = await connect(port, '127.0.0.2');
    me.s.write('<junoscript version="1.0"><rpc><request-login><username>netops</username><challenge-response>pw-1</challenge-response></request-login></rpc>');
    while (!/<status>success<\/status>/.test(me.data())) await new Promise(res => me.s.once('data', res));
    expect(me.data()).toMatch(/success/);
  }, 30_000);

  it('16 unauthenticated connections from 4 addresses: a 5th address still gets in, in the place of the oldest of an address holding 4', async () => {
    const port = (server.address() as net.AddressInfo).port;
    for (const x of clients.splice(0)) x.destroy();
    while (svc.preAuth().total) await new Promise(res => setTimeout(res, 10));
    const held = [];
    for (let a = 0; a < 4; a++) for (let k = 0; k < API_LIMITS.perSource; k++) held.push(await connect(port, `127.0.0.${10 + a}`));
    while (svc.preAuth().total < API_LIMITS.preAuth) await new Promise(res => setTimeout(res, 10));
    const before = svc.counts.evicted;
    const me = await connect(port, '127.0.0.99');
    await held[0]!.closed;   // the oldest of the first address goes
    expect(svc.counts.evicted).toBe(before + 1);
    expect(svc.preAuth().total).toBe(API_LIMITS.preAuth);
    expect(svc.preAuth().bySource.get('127.0.0.99')).toBe(1);
    expect(r.log.read('messages')!.some(l => /INETD_CONNECTION_LIMIT: 16 unauthenticated connections: the oldest from 127\.0\.0\.10 \(4 of them\) closed for one from 127\.0\.0\.99/.test(l))).toBe(true);
    // a 5th connection from an address that holds 4 is refused, and evicts nobody
    const extra = await connect(port, '127.0.0.11');
    await extra.closed;
    expect(svc.counts.evicted).toBe(before + 1);
    me.s.destroy();
  }, 30_000);
});
