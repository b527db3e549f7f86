/**
 * Issue 21 item 9, on the real JUNOScript SSL service (xnm-ssl, TLS on TCP 3220, the certificate of
 * `security certificates local`): a flood from six addresses of connections that open TCP and stall,
 * stall inside a TLS handshake (half a ClientHello), finish the handshake and never log in, or
 * handshake and reconnect over and over. Throughout: at most 16 unauthenticated connections in all and
 * 4 per address (a TLS handshake counts from its TCP accept), the main thread is not held, and a real
 * client from another address logs in and gets an answer to an RPC.
 */
import { describe, it, expect, afterAll } from 'vitest';
import net from 'node:net';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from '../router/router.js';
import { CommitDb } from '../mgd/commitdb.js';
import { ApiServices, API_LIMITS, XNM_SSL_PORT } from './services.js';
import { maxLag, LAG_BOUND_MS } from '../../test/helpers/lag.js';

// a loopback address of its own, so that port 3220 is free whatever else runs
const HOST = '127.0.21.1';
const d = mkdtempSync(join(tmpdir(), 'xnm-flood-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(d, 'k.pem'), '-out', join(d, 'c.pem'), '-subj', '/CN=gw-a', '-days', '2'], { stdio: 'ignore' });
const hash = execFileSync('openssl', ['passwd', '-6', 'pw-1']).toString().trim();
const r = new Router({ name: 'gw-a', ipsec: 'inline' });
r.files.write('/var/tmp/api.pem', readFileSync(join(d, 'c.pem'), 'utf8') + readFileSync(join(d, 'k.pem'), 'utf8'), { secret: true });
const c = r.commitText(`system { host-name gw-a; login { user netops { class super-user; authentication { encrypted-password "${hash}"; } } } services { xnm-ssl { local-certificate api; } } }
security { certificates { local api { load-key-file /var/tmp/api.pem; } } }`, 't');
if (!c.ok) throw new Error(c.output);
const svc = new ApiServices(r, new CommitDb(r), HOST);
svc.apply();
const sockets = new Set<net.Socket>();
let stop = false;
afterAll(() => { stop = true; for (const s of sockets) s.destroy(); svc.close(); r.stop(); rmSync(d, { recursive: true, force: true }); });

const track = <T extends net.Socket>(s: T): T => { sockets.add(s); s.on('error', () => {}); s.on('close', () => sockets.delete(s)); return s; };
const tcp = (from: string) => track(net.connect({ host: HOST, port: XNM_SSL_PORT, localAddress: from }));
/** a TLS record header announcing a 16 KiB handshake, and half a ClientHello after it: the server waits for the rest */
const stallHandshake = (from: string) => { const s = tcp(from); s.on('connect', () => s.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f, 0xfc]), Buffer.alloc(200, 0x42)]))); return s; };
const handshake = (from: string) => track(tls.connect({ socket: track(net.connect({ host: HOST, port: XNM_SSL_PORT, localAddress: from })), rejectUnauthorized: false }));
const until = (s: net.Socket, cond: () => boolean) => new Promise<void>((res, rej) => {
  const check = () => { if (cond()) { s.off('data', check); res(); } };
  s.on('data', check); s.once('close', () => (cond() ? res() : rej(new Error('closed'))));
});

describe('a TLS handshake flood against xnm-ssl', () => {
  it('the limits hold (16 unauthenticated, 4 per address, handshakes counted) and a real client logs in and is answered', async () => {
    const listening = svc.xnmListening();
    expect(listening, 'xnm-ssl is configured').toBeDefined();
    await listening;
    const sources = Array.from({ length: 6 }, (_, i) => `127.0.21.${10 + i}`);
    let peak = 0, peakPerSource = 0, handshakes = 0;
    const sample = () => {
      const p = svc.preAuth();
      peak = Math.max(peak, p.total);
      for (const n of p.bySource.values()) peakPerSource = Math.max(peakPerSource, n);
    };
    const sampler = setInterval(sample, 5);
    // churn: handshake, then go and come again, from every address, until the test ends
    const churn = async (from: string) => {
      while (!stop) {
        const s = handshake(from);
        await new Promise<void>(res => { s.once('secureConnect', () => { handshakes++; s.destroy(); res(); }); s.once('close', () => res()); });
      }
    };
    const { value: answer, lagMs } = await maxLag(async () => {
      for (const from of sources) for (let k = 0; k < 3; k++) { tcp(from); stallHandshake(from); handshake(from).on('secureConnect', () => { handshakes++; }); }
      const churners = sources.map(churn);
      // let the flood fill the table: the router has refused or evicted some of it
      while (svc.counts.refused + svc.counts.evicted < 40 || handshakes < 1) await new Promise(res => setTimeout(res, 20));
      // a real client from another address: TLS, login, an RPC, while the flood goes on
      const t0 = performance.now();
      const me = handshake('127.0.21.99');
      let out = '';
      me.on('data', b => { out += b; });
      await new Promise<void>((res, rej) => { me.once('secureConnect', () => res()); me.once('close', () => rej(new Error(`the real client was closed: ${r.log.read('messages')!.slice(-3).join(' | ')}`))); });
      me.write('<junoscript version="1.0"><rpc><request-login><username>netops</username><challenge-response>pw-1</challenge-response></request-login></rpc>');
      await until(me, () => /<status>success<\/status>/.test(out));
      me.write('<rpc><get-configuration/></rpc>');
      await until(me, () => /<\/configuration>/.test(out));
      const ms = performance.now() - t0;
      stop = true;
      for (const s of sockets) if (s !== me) s.destroy();   // the flood ends: a churner waiting on a handshake stops waiting
      await Promise.all(churners);
      return { out, ms };
    });
    clearInterval(sampler);
    sample();
    expect(answer.out).toMatch(/<host-name>gw-a<\/host-name>/);
    // the bounds: never more than the limits, whatever the flood did
    expect(peak).toBeLessThanOrEqual(API_LIMITS.preAuth);
    expect(peakPerSource).toBeLessThanOrEqual(API_LIMITS.perSource);
    expect(peak).toBe(API_LIMITS.preAuth);   // the flood did fill it
    expect(svc.counts.refused).toBeGreaterThan(0);
    expect(handshakes).toBeGreaterThan(0);
    // the main thread answered throughout (the handshakes cost milliseconds each, none held it)
    expect(lagMs).toBeLessThan(LAG_BOUND_MS);
    // generous: the real client's TLS + login (a SHA-crypt off the main thread) + RPC, under a flood, on a busy machine
    expect(answer.ms).toBeLessThan(15_000);
    expect(r.log.read('messages')!.join('\n')).toMatch(/INETD_CONNECTION_LIMIT: connection from 127\.0\.21\.\d+ refused: 4 unauthenticated connections from it/);
  }, 60_000);
});
