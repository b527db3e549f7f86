/**
 * rpd in the router process: the RIB fed with the PFE's direct, local and static routes on each
 * commit, the BGP speaker, and the active BGP routes installed in the PFE's forwarding table. BGP
 * sessions are node:net sockets on TCP 179 in the Routing Engine stack (`listen()`, called where the
 * router has one), so they cross the PFE: its filters, lo0's filter and the neighbor's transport SA.
 * Without that stack (in-memory labs, tests) sessions stay Active.
 */
import net from 'node:net';
import { Rib, RibRoute } from './rib.js';
import { Bgp, streamWire } from './bgp.js';
import type { Session, Timers } from './session.js';
import type { NeighborModel } from './config.js';
import type { RouterModel } from '../config/model.js';
import type { Pfe } from '../pfe/pfe.js';
import { mkRoute, type Route } from '../pfe/routes.js';
import { intToIp, ipToInt, Prefix, prefixStr } from '../net/ip.js';
import { refuseSyn, BGP_PORT } from './guard.js';

export { BGP_PORT };
/** the router's log files (src/router/log.ts), for the trace file */
export interface TraceLog { write(file: string, proc: string, msg: string): void; rotate(file: string, r: { size: number; files: number } | undefined): void; touch(file: string): void }
export const realTimers: Timers = { now: Date.now, set: (ms, fn) => { const t = setTimeout(fn, ms); t.unref?.(); return t; }, clear: h => clearTimeout(h as NodeJS.Timeout) };
const key = (p: Prefix) => p.addr * 64 + p.len;

export class Rpd {
  readonly rib: Rib;
  readonly bgp: Bgp;
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  /** connections from addresses that are not neighbors, refused with a reset */
  refused = 0;
  /** when the last commit reached rpd (the age of the routes the PFE keeps hidden) */
  appliedAt = 0;
  constructor(readonly pfe: Pfe, private log: (msg: string) => void, private timers: Timers = realTimers, private traceLog?: TraceLog) {
    this.rib = new Rib({ now: timers.now, onChange: (p, a) => { this.install(p, a); this.bgp.ribChanged(p); }, defer: fn => { this.timers.set(0, fn); } });
    this.bgp = new Bgp({ timers, rib: this.rib, connect: (n, s) => this.connect(n, s), localAddress: n => n.localAddress ?? this.pfe.sourceFor(n.address), log, trace: (f, m) => this.trace(f, m) });
  }
  /**
   * `protocols bgp traceoptions`: each message (flag open, update, keepalive, refresh, notification)
   * and state change (flag state) of the sessions, `all` for all, into /var/log/FILE, which rotates
   * as kmd's trace file does (size, files: 128k and 3 if not given), so it stays bounded.
   */
  private trace(flag: string, msg: string): void {
    const t = this.bgp.model?.traceoptions;
    if (!t || !this.traceLog || !(t.flags.includes('all') || t.flags.includes(flag))) return;
    this.traceLog.write(t.file, 'rpd', `[${flag}] ${msg}`);
  }
  private traceFile?: string;
  private applyTrace(model: RouterModel): void {
    const t = model.rpd?.traceoptions;
    if (!this.traceLog) return;
    if (this.traceFile && this.traceFile !== t?.file) this.traceLog.rotate(this.traceFile, undefined);
    this.traceFile = t?.file;
    if (t) { this.traceLog.touch(t.file); this.traceLog.rotate(t.file, { size: t.size, files: t.files }); }
  }

  /** After the PFE applied a commit: its non-BGP routes into the RIB, then BGP's configuration. */
  apply(model: RouterModel): void {
    this.appliedAt = this.rib.now();
    const want = new Map<number, Route>();
    for (const r of this.pfe.routes.all()) if (r.protocol !== 'BGP') want.set(key(r.prefix), r);
    for (const p of this.rib.prefixes()) {
      for (const r of this.rib.routes(p)) if (r.protocol !== 'BGP' && want.get(key(p))?.protocol !== r.protocol) this.rib.remove(p, r.protocol);
    }
    // a static route's `metric` is the IGP cost of the BGP next hops that resolve through it
    const metrics = new Map(model.staticRoutes.filter(s => s.metric !== undefined).map(s => [key(s.prefix), s.metric!]));
    for (const r of want.values()) {
      const nh = r.nh;
      const ifl = 'ifl' in nh ? nh.ifl : undefined;
      const metric = r.protocol === 'Static' ? metrics.get(key(r.prefix)) : undefined;
      this.rib.add({ prefix: r.prefix, protocol: r.protocol, source: 0, ...(ifl ? { ifl } : {}), ...(nh.kind === 'gateway' ? { nextHop: nh.gateway } : {}), ...(metric !== undefined ? { metric } : {}) });
    }
    // next hops may resolve elsewhere now (through BGP routes too: that deferred work done here)
    this.rib.settle();
    for (const p of this.rib.prefixes()) { const a = this.rib.active(p); if (a?.protocol === 'BGP') this.install(p, a); }
    // kernel routes whose source address changed with the commit (the PFE's sourceFor)
    for (const [k] of this.krt) { const p = { addr: Math.floor(k / 64), len: k % 64 }; this.krtUpdate(p, this.pfe.routes.exact(p)?.protocol === 'BGP'); }
    this.applyTrace(model);
    if (model.rpd) this.bgp.configure(model.rpd);
  }

  /** An active route into the forwarding table (BGP's; the others are the PFE's own), and into the Routing Engine's kernel. */
  private install(p: Prefix, a: RibRoute | undefined): void {
    this.installPfe(p, a);
    // the kernel's route waits for the end of the batch (an UPDATE's prefixes, a commit): its source
    // address is a forwarding lookup, and the first lookup after a change recompiles the trie
    this.krtDirty.add(key(p));
    this.krtDirtyTimer ??= this.timers.set(0, () => this.krtResolve());
  }
  private krtDirty = new Set<number>();
  private krtDirtyTimer?: unknown;
  /** The kernel routes of the prefixes the batch changed: one trie compile for all of them. */
  private krtResolve(): void {
    if (this.krtDirtyTimer !== undefined) { this.timers.clear(this.krtDirtyTimer); this.krtDirtyTimer = undefined; }
    const dirty = this.krtDirty;
    this.krtDirty = new Set();
    for (const k of dirty) { const p = { addr: Math.floor(k / 64), len: k % 64 }; this.krtUpdate(p, this.pfe.routes.exact(p)?.protocol === 'BGP'); }
  }
  private installPfe(p: Prefix, a: RibRoute | undefined): void {
    if (!a || a.protocol !== 'BGP') { this.pfe.setRpdRoute(p, undefined); return; }
    // the forwarding next hop of the direct or static route the protocol next hop resolved through,
    // maybe across other BGP routes (recursive resolution)
    const f = this.rib.forwarding(a);
    const via = f?.igp ? this.pfe.routes.exact(f.igp.prefix) : undefined;
    if (!f || !via || via.protocol === 'BGP' || via.protocol !== f.igp!.protocol) { this.pfe.setRpdRoute(p, undefined); return; }
    const nh: Route['nh'] = via.nh.kind === 'direct' ? { kind: 'gateway', ifl: via.nh.ifl, gateway: f.gateway! } : via.nh;
    this.pfe.setRpdRoute(p, mkRoute(p, 'BGP', a.preference, nh, intToIp(a.nextHop!)));
  }

  /*
   * The Routing Engine's kernel (re0, src/host/re-stack.ts) gets a route per BGP prefix in the
   * forwarding table, from the address of the interface the route leaves by, as JUNOS's kernel has
   * the forwarding table: the router's own connections and pings from its stack to a learned prefix
   * leave with the right source address. Changes go out in batches through `kernel`; a commit's
   * resync takes them all (`kernelRoutes`).
   */
  /** set by the Routing Engine stack: runs `ip` commands for re0 (asynchronously) */
  kernel?: (cmds: string[]) => void;
  private krt = new Map<number, string>();
  private krtPending = new Map<number, string>();
  private krtTimer?: unknown;
  private krtUpdate(p: Prefix, installed: boolean): void {
    const k = key(p);
    const src = installed ? this.pfe.sourceFor(p.addr) : undefined;
    const want = src !== undefined ? `route replace ${prefixStr(p)} dev re0 src ${intToIp(src)}` : undefined;
    if (want === this.krt.get(k)) return;
    if (want) this.krt.set(k, want); else this.krt.delete(k);
    if (!this.kernel) return;
    this.krtPending.set(k, want ?? `route del ${prefixStr(p)} dev re0`);
    this.krtTimer ??= this.timers.set(100, () => {
      this.krtTimer = undefined;
      const cmds = [...this.krtPending.values()];
      this.krtPending.clear();
      if (cmds.length) this.kernel?.(cmds);
    });
  }
  /** Every BGP route the Routing Engine's kernel should have (re0's resync after a commit). */
  kernelRoutes(): string[] { this.krtResolve(); return [...this.krt.values()]; }

  /**
   * The Routing Engine stack's hook for TCP it is handed: a SYN to port 179 from an address that is
   * no neighbor gets a reset from here at once (no handshake with the kernel). True when taken.
   */
  refuse(pkt: Buffer): boolean {
    const rst = refuseSyn(pkt, src => this.bgp.peers.has(src), () => this.pfe.nextId());
    if (!rst) return false;
    this.refused++;
    const now = this.timers.now();
    if (now - this.refusedLogged >= 10_000) {
      this.refusedLogged = now;
      this.log(`bgp_listen_accept: Connection attempt from unconfigured neighbor: ${intToIp(pkt.readUInt32BE(12))}+${pkt.readUInt16BE((pkt[0]! & 15) * 4)} (reset; ${this.refused} so far)`);
    }
    this.pfe.originate(rst);
    return true;
  }
  private refusedLogged = -Infinity;

  /** Listen on TCP 179 in the Routing Engine stack. A SYN from an address that is no neighbor gets a reset. */
  listen(host = '0.0.0.0'): void {
    if (this.server) return;
    const server = net.createServer({ pauseOnConnect: false }, sock => {
      const remote = sock.remoteAddress?.replace(/^::ffff:/, '') ?? '';
      const s = net.isIPv4(remote) ? this.bgp.session(ipToInt(remote)) : undefined;
      if (!s) { this.refused++; this.log(`bgp: connection from ${remote} refused: not a configured neighbor`); sock.resetAndDestroy(); return; }
      this.track(sock);
      s.incoming(streamWire(sock, s));
    });
    server.on('error', e => this.log(`bgp: listen on ${BGP_PORT}: ${(e as Error).message}`));
    server.listen(BGP_PORT, host);
    this.server = server;
    // sessions configured before the stack was there tried and failed: they connect now
    for (const p of this.bgp.peers.values()) p.s.kick();
  }
  private track(sock: net.Socket): void { this.sockets.add(sock); sock.on('close', () => this.sockets.delete(sock)); sock.setNoDelay(true); }
  private connect(n: NeighborModel, s: Session): void {
    if (!this.server) { this.timers.set(0, () => s.connectFailed()); return; }
    const local = n.localAddress ?? this.pfe.sourceFor(n.address);
    const sock = net.connect({ host: n.text, port: BGP_PORT, ...(local !== undefined ? { localAddress: intToIp(local) } : {}) });
    this.track(sock);
    const t = this.timers.set(10_000, () => sock.destroy());
    let up = false;
    sock.once('connect', () => { up = true; this.timers.clear(t); s.outgoing(streamWire(sock, s)); });
    sock.on('error', () => { /* close follows */ });
    sock.once('close', () => { this.timers.clear(t); if (!up) s.connectFailed(); });
  }
  close(): void {
    this.bgp.shutdown();
    this.server?.close();
    for (const s of this.sockets) s.destroy();
  }
}
