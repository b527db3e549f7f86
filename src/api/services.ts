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
import type { CommitDb } from '../mgd/commitdb.js';
import { junoscriptSession } from './junoscript.js';
import { netconfSession } from './netconf.js';
import { checkPassword, userOfKey, logAuth, failedLoginDelay, loginSucceeded } from './auth.js';
import type { ApiUser } from './engine.js';
import { lazy } from '../util/lazy.js';

const ssh2 = lazy<typeof ssh2T>('ssh2');

export const XNM_SSL_PORT = 3220;
/**
 * Connections: `sessions` logged-in sessions; before authentication at most `preAuth` connections in
 * all and `perSource` from one address, each closed `loginMs` after its TCP accept (TLS handshakes
 * and SSH key exchanges included) unless it has logged in.
 */
export const API_LIMITS = { sessions: 8, preAuth: 16, perSource: 4, loginMs: 30_000 };
interface Conn { sock: net.Socket; ip: string; authed: boolean; timer?: NodeJS.Timeout }
const HOST_KEY = '/var/etc/ssh/ssh_host_rsa_key';

export class ApiServices {
  private xnm?: { server: tls.Server; tcp: net.Server; pem: string };
  private nc?: { server: ssh2T.Server; tcp: net.Server; port: number };
  private conns = new Map<string, Conn>();
  /** connections accepted, refused at the limits, and closed to make room, since start */
  readonly counts = { accepted: 0, refused: 0, evicted: 0 };
  /** unauthenticated connections now, in all and per address */
  preAuth(): { total: number; bySource: Map<string, number> } {
    const bySource = new Map<string, number>();
    let total = 0;
    for (const c of this.conns.values()) if (!c.authed) { total++; bySource.set(c.ip, (bySource.get(c.ip) ?? 0) + 1); }
    return { total, bySource };
  }
  /** Resolves when the xnm-ssl listener accepts connections (undefined when it is not configured). */
  xnmListening(): Promise<void> | undefined {
    const t = this.xnm?.tcp;
    if (!t) return undefined;
    return t.listening ? Promise.resolve() : new Promise(res => t.once('listening', () => res()));
  }
  constructor(private r: Router, private db: CommitDb, private host = '0.0.0.0') {}

  /** After each commit: the services as configured. */
  apply(): void {
    const m = this.r.model;
    const want = m?.system.xnmSsl ? m.certificates.local.get(m.system.xnmSsl.localCertificate)?.keyString : undefined;
    if (this.xnm && this.xnm.pem !== want) { this.xnm.tcp.close(); this.xnm = undefined; }
    if (want && !this.xnm) {
      try {
        const server = tls.createServer({ cert: want, key: want, minVersion: 'TLSv1.2' }, sock => {
          const c = this.conns.get(`${sock.remoteAddress}:${sock.remotePort}`);
          if (!c) { sock.destroy(); return; }
          junoscriptSession(this.r, this.db, sock, `${sock.remoteAddress}`, () => this.loggedIn(c));
        });
        server.on('tlsClientError', () => { /* a handshake that fails: its socket closes */ });
        const tcp = this.listen(XNM_SSL_PORT, sock => server.emit('connection', sock), e => this.r.log.write('messages', 'jsrpd', `JSRPD_SERVER_ERROR: xnm-ssl: ${e.message}`));
        this.xnm = { server, tcp, pem: want };
        this.r.log.write('messages', 'jsrpd', `JSRPD_START: JUNOScript SSL service on TCP ${XNM_SSL_PORT} (certificate ${m!.system.xnmSsl!.localCertificate})`);
      } catch (e) { this.r.log.write('messages', 'jsrpd', `JSRPD_SERVER_ERROR: xnm-ssl: ${(e as Error).message}`); }
    }
    const port = m?.system.netconfSsh?.port;
    if (this.nc && this.nc.port !== port) { this.nc.tcp.close(); this.nc = undefined; }
    if (port && !this.nc) {
      const server = new ssh2.Server({ hostKeys: [this.hostKey()], ident: 'SSH-2.0-OpenSSH_JUNOS' }, (client, info) => {
        const c = this.conns.get(`${info.ip}:${info.port}`);
        if (!c) { client.end(); return; }
        this.sshClient(client, c);
      });
      server.on('error', (e: Error) => this.r.log.write('messages', 'sshd', `SSHD_ERROR: ${e.message}`));
      const tcp = this.listen(port, sock => server.injectSocket(sock), e => this.r.log.write('messages', 'sshd', `SSHD_ERROR: ${e.message}`));
      this.nc = { server, tcp, port };
      this.r.log.write('messages', 'sshd', `SSHD_START: NETCONF over SSH on TCP ${port}`);
    }
  }

  /** A TCP listener that admits connections within API_LIMITS before handing them to the service. */
  private listen(port: number, go: (sock: net.Socket) => void, error: (e: Error) => void): net.Server {
    const tcp = net.createServer(sock => { if (this.admit(sock)) go(sock); });
    tcp.on('error', error);
    tcp.listen(port, this.host);
    return tcp;
  }

  /**
   * Counted from the TCP accept: the limits before authentication, and the login timer. When the
   * unauthenticated table is full, a connection from an address holding fewer of them than the address
   * holding the most takes the place of that address's oldest one: a few addresses cannot fill it and
   * lock out everyone else for the login timer (they can only hold `perSource` each, and lose them
   * first).
   */
  admit(sock: net.Socket): boolean {
    const ip = sock.remoteAddress ?? '', key = `${ip}:${sock.remotePort}`;
    this.counts.accepted++;
    let pre = 0, fromIp = 0;
    const per = new Map<string, Conn[]>();
    for (const c of this.conns.values()) if (!c.authed) {
      pre++; if (c.ip === ip) fromIp++;
      const l = per.get(c.ip); if (l) l.push(c); else per.set(c.ip, [c]);
    }
    const refuse = (why: string) => {
      this.counts.refused++;
      this.r.log.write('messages', 'inetd', `INETD_CONNECTION_LIMIT: connection from ${ip} refused: ${why}`);
      sock.destroy(); return false;
    };
    if (fromIp >= API_LIMITS.perSource) return refuse(`${API_LIMITS.perSource} unauthenticated connections from it`);
    if (pre >= API_LIMITS.preAuth) {
      // the address holding the most (the oldest connection first among equals: the map keeps accept order)
      let top: Conn[] | undefined;
      for (const l of per.values()) if (!top || l.length > top.length) top = l;
      if (!top || top.length <= fromIp) return refuse(`${API_LIMITS.preAuth} unauthenticated connections`);
      const victim = top[0]!;
      this.counts.evicted++;
      this.r.log.write('messages', 'inetd', `INETD_CONNECTION_LIMIT: ${API_LIMITS.preAuth} unauthenticated connections: the oldest from ${victim.ip} (${top.length} of them) closed for one from ${ip}`);
      this.conns.delete([...this.conns].find(([, c]) => c === victim)![0]);
      victim.sock.destroy();
    }
    const c: Conn = { sock, ip, authed: false };
    c.timer = setTimeout(() => { if (!c.authed) sock.destroy(); }, API_LIMITS.loginMs);
    c.timer.unref();
    this.conns.set(key, c);
    sock.on('close', () => { clearTimeout(c.timer); if (this.conns.get(key) === c) this.conns.delete(key); });
    sock.on('error', () => { /* a client that goes away */ });
    return true;
  }

  /** A connection logs in: refused (a reason) beyond the session limit. */
  private loggedIn(c: Conn): string | undefined {
    let n = 0;
    for (const x of this.conns.values()) if (x.authed) n++;
    if (n >= API_LIMITS.sessions) return `too many sessions (${API_LIMITS.sessions})`;
    c.authed = true; clearTimeout(c.timer);
    return undefined;
  }

  /** The SSH host key: made once, kept in the router's files (owner-only). */
  private hostKey(): string {
    if (this.r.files.exists(HOST_KEY)) return this.r.files.read(HOST_KEY).toString('utf8');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    this.r.files.write(HOST_KEY, pem, { secret: true });
    return pem;
  }

  private sshClient(client: ssh2T.Connection, c: Conn): void {
    const ip = c.ip;
    let user: ApiUser | undefined;
    let failures = 0, checking = false;
    const accept = (ctx: ssh2T.AuthContext, u: ApiUser) => {
      if (this.loggedIn(c)) { client.end(); return; }
      user = u; ctx.accept();
    };
    client.on('authentication', ctx => {
      if (ctx.method === 'password') {
        // one password at a time per connection (ssh2 would take the next before this one is answered)
        if (checking) { ctx.reject(['password', 'publickey']); return; }
        checking = true;
        void checkPassword(this.r, ctx.username, ctx.password).then(ok => {
          logAuth(this.r, 'sshd', ctx.username, ip, !!ok);
          if (ok) { checking = false; loginSucceeded(ip); accept(ctx, ok); return; }
          failures++;
          setTimeout(() => { checking = false; if (failures >= 3) client.end(); else ctx.reject(['password', 'publickey']); }, failedLoginDelay(ip)).unref();
        });
        return;
      }
      if (ctx.method === 'publickey') {
        const ok = userOfKey(this.r, ctx.username, ctx.key.data);
        if (!ok) { ctx.reject(['password', 'publickey']); return; }
        if (!ctx.signature || !ctx.blob) { ctx.accept(); return; }   // the client asks whether the key would do
        const pk = ssh2.utils.parseKey(ok.line);
        const key = Array.isArray(pk) ? pk[0] : pk;
        if (key && !(key instanceof Error) && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo as never) === true) { logAuth(this.r, 'sshd', ctx.username, ip, true); accept(ctx, ok.user); return; }
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
    this.xnm?.tcp.close(); this.nc?.tcp.close();
    for (const c of this.conns.values()) c.sock.destroy();
    this.xnm = undefined; this.nc = undefined;
  }
}
