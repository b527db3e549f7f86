/**
 * `[edit system services]`: the JUNOScript SSL service (xnm-ssl, TCP 3220, the certificate of
 * `security certificates local NAME`) and NETCONF over SSH (`netconf ssh`, TCP 830 or `port`). They
 * listen on the router's own addresses through the Routing Engine stack, so packets reach them
 * through the PFE and its input filters like any traffic for the router. Each commit starts, stops or
 * restarts them as the configuration says; sessions are bounded in number.
 */
import tls from 'node:tls';
import net from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import type * as ssh2T from 'ssh2';
import type { Router } from '../router/router.js';
import type { CommitDb } from '../cli/commitdb.js';
import { junoscriptSession } from './junoscript.js';
import { netconfSession } from './netconf.js';
import { checkPassword, userOfKey, logAuth, AUTH_DELAY_MS } from './auth.js';
import type { ApiUser } from './engine.js';
import { lazy } from '../util/lazy.js';

const ssh2 = lazy<typeof ssh2T>('ssh2');

export const XNM_SSL_PORT = 3220;
export const API_LIMITS = { sessions: 8 };
const HOST_KEY = '/var/etc/ssh/ssh_host_rsa_key';

export class ApiServices {
  private xnm?: { server: tls.Server; pem: string };
  private nc?: { server: ssh2T.Server; port: number };
  private sockets = new Set<net.Socket>();
  constructor(private r: Router, private db: CommitDb, private host = '0.0.0.0') {}

  /** After each commit: the services as configured. */
  apply(): void {
    const m = this.r.model;
    const want = m?.system.xnmSsl ? m.certificates.local.get(m.system.xnmSsl.localCertificate)?.keyString : undefined;
    if (this.xnm && this.xnm.pem !== want) { this.xnm.server.close(); this.xnm = undefined; }
    if (want && !this.xnm) {
      try {
        const server = tls.createServer({ cert: want, key: want, minVersion: 'TLSv1.2' }, sock => this.accept(sock, () => junoscriptSession(this.r, this.db, sock, `${sock.remoteAddress}`)));
        server.on('error', e => this.r.log.write('messages', 'jsrpd', `JSRPD_SERVER_ERROR: xnm-ssl: ${e.message}`));
        server.listen(XNM_SSL_PORT, this.host);
        this.xnm = { server, pem: want };
        this.r.log.write('messages', 'jsrpd', `JSRPD_START: JUNOScript SSL service on TCP ${XNM_SSL_PORT} (certificate ${m!.system.xnmSsl!.localCertificate})`);
      } catch (e) { this.r.log.write('messages', 'jsrpd', `JSRPD_SERVER_ERROR: xnm-ssl: ${(e as Error).message}`); }
    }
    const port = m?.system.netconfSsh?.port;
    if (this.nc && this.nc.port !== port) { this.nc.server.close(); this.nc = undefined; }
    if (port && !this.nc) {
      const server = new ssh2.Server({ hostKeys: [this.hostKey()], ident: 'SSH-2.0-OpenSSH_JUNOS' }, (client, info) => this.sshClient(client, info.ip));
      server.on('error', (e: Error) => this.r.log.write('messages', 'sshd', `SSHD_ERROR: ${e.message}`));
      server.listen(port, this.host);
      this.nc = { server, port };
      this.r.log.write('messages', 'sshd', `SSHD_START: NETCONF over SSH on TCP ${port}`);
    }
  }

  private accept(sock: net.Socket, go: () => void): void {
    if (this.sockets.size >= API_LIMITS.sessions) { sock.destroy(); return; }
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    go();
  }

  /** The SSH host key: made once, kept in the router's files (owner-only). */
  private hostKey(): string {
    if (this.r.files.exists(HOST_KEY)) return this.r.files.read(HOST_KEY).toString('utf8');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    this.r.files.write(HOST_KEY, pem, { secret: true });
    return pem;
  }

  private sshClient(client: ssh2T.Connection, ip: string): void {
    const sock = (client as unknown as { _sock?: net.Socket })._sock;
    if (this.sockets.size >= API_LIMITS.sessions) { client.end(); return; }
    if (sock) { this.sockets.add(sock); sock.on('close', () => this.sockets.delete(sock)); }
    let user: ApiUser | undefined;
    let failures = 0;
    client.on('authentication', ctx => {
      if (ctx.method === 'password') {
        const ok = checkPassword(this.r, ctx.username, ctx.password);
        logAuth(this.r, 'sshd', ctx.username, ip, !!ok);
        if (ok) { user = ok; ctx.accept(); return; }
        failures++;
        setTimeout(() => (failures >= 3 ? client.end() : ctx.reject(['password', 'publickey'])), AUTH_DELAY_MS).unref();
        return;
      }
      if (ctx.method === 'publickey') {
        const ok = userOfKey(this.r, ctx.username, ctx.key.data);
        if (!ok) { ctx.reject(['password', 'publickey']); return; }
        if (!ctx.signature || !ctx.blob) { ctx.accept(); return; }   // the client asks whether the key would do
        const pk = ssh2.utils.parseKey(ok.line);
        const key = Array.isArray(pk) ? pk[0] : pk;
        if (key && !(key instanceof Error) && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo as never) === true) { logAuth(this.r, 'sshd', ctx.username, ip, true); user = ok.user; ctx.accept(); return; }
        logAuth(this.r, 'sshd', ctx.username, ip, false);
        ctx.reject(['password', 'publickey']);
        return;
      }
      ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      client.on('session', accept => {
        const s = accept();
        s.on('subsystem', (acc, rej, info) => {
          if (info.name !== 'netconf' || !user) { rej?.(); return; }
          netconfSession(this.r, this.db, user, acc(), ip);
        });
      });
    });
    client.on('error', () => { /* a client that goes away */ });
  }

  close(): void {
    this.xnm?.server.close(); this.nc?.server.close();
    for (const s of this.sockets) s.destroy();
    this.xnm = undefined; this.nc = undefined;
  }
}
