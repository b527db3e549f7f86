/**
 * The BGP speaker: one Session per configured neighbor, each neighbor's Adj-RIB-In (all it sent,
 * for `show route receive-protocol bgp`) and Adj-RIB-Out (what we sent it), import policy into the
 * RIB, export policy out of it. Exports are batched (dirty prefixes, one pass per tick) and wait
 * while a peer has not read what it was sent.
 */
import { Session, SessionHost, Timers, Wire } from './session.js';
import { encodeUpdates, UpdateMsg, E_CEASE, CEASE_MAX_PREFIXES, CEASE_ADMIN_RESET, CEASE_PEER_DECONFIGURED } from './codec.js';
import { AS_SEQUENCE, PathAttrs, pathHas } from './attributes.js';
import { evaluate, bgpExportDefault, bgpImportDefault } from './policy.js';
import type { NeighborModel, RpdModel, RouteProto } from './config.js';
import type { Rib, RibRoute } from './rib.js';
import { Prefix, prefixStr, intToIp } from '../net/ip.js';

export interface BgpHost {
  timers: Timers;
  rib: Rib;
  /** open TCP to the peer (from `local` if set); then session.outgoing(wire) or session.connectFailed() */
  connect(peer: NeighborModel, s: Session): void;
  /** our address toward the peer (next hop self) */
  localAddress(peer: NeighborModel): number | undefined;
  log(msg: string): void;
  /** traceoptions: a message or state change of a session, with its flag */
  trace?(flag: string, msg: string): void;
}
export interface AdjIn { prefix: Prefix; attrs: PathAttrs; accepted: boolean }
export interface Peer {
  n: NeighborModel; s: Session;
  adjIn: Map<number, AdjIn>;
  adjOut: Map<number, { prefix: Prefix; attrs: PathAttrs; key: string }>;
  looped: number; limitLogged: boolean;
}
/** bytes a peer may leave unread before exports to it wait */
export const EXPORT_PAUSE = 1 << 20;
const key = (p: Prefix) => p.addr * 64 + p.len;
const PROTO: Record<string, RouteProto> = { Direct: 'direct', Local: 'local', Static: 'static', BGP: 'bgp' };

export class Bgp {
  readonly peers = new Map<number, Peer>();
  model?: RpdModel;
  private dirty = new Set<number>();
  private full = new Set<number>();
  private flushTimer?: unknown;
  constructor(private host: BgpHost) {}

  /** A commit: sessions for new neighbors, Cease for removed ones, a reset where a session's parameters changed. */
  configure(m: RpdModel): void {
    this.model = m;
    const want = new Map(m.autonomousSystem !== undefined ? m.neighbors.map(n => [n.address, n]) : []);
    for (const [a, p] of this.peers) {
      const n = want.get(a);
      const same = n && n.peerAs === p.n.peerAs && n.type === p.n.type && n.holdTime === p.n.holdTime && n.localAddress === p.n.localAddress && p.s.cfg.localAs === m.autonomousSystem;
      if (same) { p.n = n; this.full.add(a); continue; }
      p.s.stop({ code: E_CEASE, subcode: CEASE_PEER_DECONFIGURED, data: Buffer.alloc(0) }, false);
      this.peers.delete(a);
    }
    for (const [a, n] of want) if (!this.peers.has(a)) this.addPeer(n, m);
    // import policies may have changed: re-evaluate what the peers sent
    for (const p of this.peers.values()) for (const r of p.adjIn.values()) this.importRoute(p, r);
    this.schedule();
  }
  private addPeer(n: NeighborModel, m: RpdModel): void {
    const routerId = m.routerId ?? this.host.localAddress(n) ?? 0;
    const s = new Session({ peer: n.address, peerAs: n.peerAs, localAs: m.autonomousSystem!, routerId, holdTime: n.holdTime, ibgp: n.type === 'internal' }, this.sessionHost());
    this.peers.set(n.address, { n, s, adjIn: new Map(), adjOut: new Map(), looped: 0, limitLogged: false });
    s.start();
  }
  private sessionHost(): SessionHost {
    return {
      timers: this.host.timers,
      connect: s => this.host.connect(this.peers.get(s.cfg.peer)!.n, s),
      established: s => { this.full.add(s.cfg.peer); this.schedule(); this.host.log(`bgp_event: peer ${intToIp(s.cfg.peer)} (${this.peers.get(s.cfg.peer)?.n.type === 'internal' ? 'Internal' : 'External'} AS ${s.cfg.peerAs}): Established`); },
      update: (s, u) => this.update(this.peers.get(s.cfg.peer)!, u),
      down: (s, why) => this.peerDown(s, why),
      refresh: (s, afi, safi) => {
        const p = this.peers.get(s.cfg.peer);
        if (!p) return;
        // RFC 2918 3: a refresh for an AFI/SAFI not announced to the peer is ignored
        if (afi !== 1 || safi !== 1) { this.host.log(`bgp ${p.n.text}: ROUTE-REFRESH for AFI ${afi} SAFI ${safi} ignored`); return; }
        this.resend(p);
      },
      log: (s, msg) => this.host.log(`bgp ${intToIp(s.cfg.peer)}: ${msg}`),
      ...(this.host.trace ? { trace: (s: Session, flag: string, msg: string) => this.host.trace!(flag, `BGP peer ${intToIp(s.cfg.peer)}: ${msg}`) } : {}),
    };
  }
  private peerDown(s: Session, why: string): void {
    const p = this.peers.get(s.cfg.peer);
    if (!p) return;
    if (p.adjIn.size || p.adjOut.size) this.host.log(`bgp_event: peer ${intToIp(s.cfg.peer)} down (${why}): ${p.adjIn.size} prefixes withdrawn`);
    for (const r of p.adjIn.values()) { this.host.rib.remove(r.prefix, 'BGP', p.n.address); this.dirty.add(key(r.prefix)); }
    p.adjIn.clear(); p.adjOut.clear(); p.limitLogged = false;
    this.schedule();
  }

  localAddressOf(n: NeighborModel): number | undefined { return this.host.localAddress(n); }
  /** A connection from `remote`: the session it belongs to, or undefined (the connection is refused). */
  session(remote: number): Session | undefined { return this.peers.get(remote)?.s; }
  /** `clear bgp neighbor [A]`: Cease (administrative reset), and the session starts again. */
  clear(addr?: number): number {
    let n = 0;
    for (const p of this.peers.values()) if (addr === undefined || p.n.address === addr) { p.s.stop({ code: E_CEASE, subcode: CEASE_ADMIN_RESET, data: Buffer.alloc(0) }, true); n++; }
    return n;
  }
  /** Send a peer its whole Adj-RIB-Out again, export policy evaluated anew (a ROUTE-REFRESH, `clear bgp neighbor A soft`). */
  resend(p: Peer): void {
    for (const o of p.adjOut.values()) o.key = '';
    this.full.add(p.n.address);
    this.schedule();
  }
  /**
   * `clear bgp neighbor [A] soft` (exports evaluated anew and sent again) or `soft-inbound` (import
   * policy evaluated anew on what the peer sent, and a ROUTE-REFRESH when the peer supports it).
   */
  soft(addr: number | undefined, inbound: boolean): number {
    let n = 0;
    for (const p of this.peers.values()) {
      if (addr !== undefined && p.n.address !== addr) continue;
      n++;
      if (p.s.state !== 'Established') continue;
      if (!inbound) { this.resend(p); continue; }
      for (const r of p.adjIn.values()) this.importRoute(p, r);
      p.s.requestRefresh();
      this.schedule();
    }
    return n;
  }
  shutdown(): void { for (const p of this.peers.values()) p.s.stop({ code: E_CEASE, subcode: 2, data: Buffer.alloc(0) }, false); this.peers.clear(); }

  private update(p: Peer, u: UpdateMsg): void {
    if (u.treatAsWithdraw) this.host.log(`bgp ${p.n.text}: UPDATE treated as withdraw (${u.treatAsWithdraw})`);
    for (const w of u.withdrawn) {
      if (p.adjIn.delete(key(w)) && this.host.rib.remove(w, 'BGP', p.n.address)) this.dirty.add(key(w));
    }
    if (u.attrs) {
      const ebgp = p.n.type === 'external';
      for (const prefix of u.nlri) {
        if (ebgp && pathHas(u.attrs.asPath, p.s.cfg.localAs)) { p.looped++; p.adjIn.delete(key(prefix)); this.host.rib.remove(prefix, 'BGP', p.n.address); continue; }
        const r: AdjIn = { prefix, attrs: u.attrs, accepted: false };
        p.adjIn.set(key(prefix), r);
        this.importRoute(p, r);
      }
      if (this.overLimit(p)) return;
    }
    this.schedule();
  }
  /** `family inet unicast prefix-limit maximum N [teardown]` */
  private overLimit(p: Peer): boolean {
    const lim = p.n.prefixLimit;
    if (!lim || p.adjIn.size <= lim.maximum) return false;
    if (!p.limitLogged) { this.host.log(`bgp ${p.n.text}: prefix limit ${lim.maximum} exceeded (${p.adjIn.size})`); p.limitLogged = true; }
    if (!lim.teardown) return false;
    p.s.stop({ code: E_CEASE, subcode: CEASE_MAX_PREFIXES, data: Buffer.from([0, 1, 1, lim.maximum >>> 24, (lim.maximum >>> 16) & 255, (lim.maximum >>> 8) & 255, lim.maximum & 255]) }, true);
    return true;
  }
  private importRoute(p: Peer, r: AdjIn): void {
    const m = this.model!;
    const res = evaluate(p.n.import, { prefix: r.prefix, protocol: 'bgp', neighbor: p.n.address }, m, bgpImportDefault);
    r.accepted = res.accept;
    if (!res.accept) { if (this.host.rib.remove(r.prefix, 'BGP', p.n.address)) this.dirty.add(key(r.prefix)); return; }
    const ebgp = p.n.type === 'external';
    const attrs: PathAttrs = { ...r.attrs, localPref: res.localPreference ?? (ebgp ? 100 : r.attrs.localPref ?? 100), ...(res.metric !== undefined ? { med: res.metric } : {}), ...(typeof res.nextHop === 'number' ? { nextHop: res.nextHop } : {}) };
    const ok = this.host.rib.add({ prefix: r.prefix, protocol: 'BGP', source: p.n.address, nextHop: attrs.nextHop, bgp: { attrs, peer: p.n.address, peerId: p.s.peerOpen?.bgpId ?? 0, ebgp, igpCost: 0 } });
    if (!ok) this.host.log(`bgp ${p.n.text}: routing table full, ${prefixStr(r.prefix)} not added`);
    this.dirty.add(key(r.prefix));
  }

  /** The RIB changed at `prefix` (any protocol): exports follow. */
  ribChanged(prefix: Prefix): void { this.dirty.add(key(prefix)); this.schedule(); }
  private schedule(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = this.host.timers.set(0, () => { this.flushTimer = undefined; this.flush(); });
  }
  /** What `route` becomes toward `p`, or undefined when it is not advertised. */
  exportAttrs(p: Peer, route: RibRoute | undefined): PathAttrs | undefined {
    const m = this.model;
    if (!route || !m || route.protocol === 'Local') return undefined;
    if (route.protocol === 'BGP' && route.source === p.n.address) return undefined;
    const fromIbgp = route.protocol === 'BGP' && !route.bgp!.ebgp;
    const toIbgp = p.n.type === 'internal';
    if (fromIbgp && toIbgp) return undefined; // no route reflection: iBGP-learned only to eBGP peers
    const res = evaluate(p.n.export, { prefix: route.prefix, protocol: PROTO[route.protocol]!, ...(route.protocol === 'BGP' ? { neighbor: route.source } : {}) }, m, bgpExportDefault);
    if (!res.accept) return undefined;
    const self = this.host.localAddress(p.n);
    if (self === undefined) return undefined;
    const b = route.bgp?.attrs;
    const asPath = b ? b.asPath : [];
    const attrs: PathAttrs = {
      origin: b?.origin ?? 0,
      asPath: toIbgp ? asPath : [{ type: AS_SEQUENCE, asns: [m.autonomousSystem!] }, ...asPath],
      nextHop: res.nextHop === 'self' || !toIbgp || !b ? self : typeof res.nextHop === 'number' ? res.nextHop : b.nextHop,
      unknown: b?.unknown ?? [],
      ...(b?.atomicAggregate ? { atomicAggregate: true } : {}),
      ...(b?.aggregator ? { aggregator: b.aggregator } : {}),
    };
    if (typeof res.nextHop === 'number') attrs.nextHop = res.nextHop;
    const med = res.metric ?? (toIbgp ? b?.med : undefined);
    if (med !== undefined) attrs.med = med;
    if (toIbgp) attrs.localPref = res.localPreference ?? b?.localPref ?? 100;
    return attrs;
  }
  private flush(): void {
    const dirty = this.dirty;
    this.dirty = new Set();
    for (const p of this.peers.values()) {
      if (p.s.state !== 'Established') continue;
      if (p.s.pending() > EXPORT_PAUSE) { for (const k of dirty) this.dirty.add(k); this.flushTimer ??= this.host.timers.set(100, () => { this.flushTimer = undefined; this.flush(); }); continue; }
      const prefixes = this.full.has(p.n.address) ? this.host.rib.prefixes() : [...dirty].map(k => ({ addr: Math.floor(k / 64), len: k % 64 }));
      if (this.full.delete(p.n.address)) for (const o of p.adjOut.values()) if (!prefixes.some(x => x.addr === o.prefix.addr && x.len === o.prefix.len)) prefixes.push(o.prefix);
      this.advertise(p, prefixes);
    }
  }
  private advertise(p: Peer, prefixes: Prefix[]): void {
    const withdrawn: Prefix[] = [];
    const groups = new Map<string, { attrs: PathAttrs; nlri: Prefix[] }>();
    for (const prefix of prefixes) {
      const k = key(prefix);
      const attrs = this.exportAttrs(p, this.host.rib.active(prefix));
      const old = p.adjOut.get(k);
      if (!attrs) { if (old) { p.adjOut.delete(k); withdrawn.push(prefix); } continue; }
      const fp = JSON.stringify(attrs, (_k, v) => (v && v.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v));
      if (old?.key === fp) continue;
      p.adjOut.set(k, { prefix, attrs, key: fp });
      let g = groups.get(fp);
      if (!g) groups.set(fp, (g = { attrs, nlri: [] }));
      g.nlri.push(prefix);
    }
    const msgs = encodeUpdates(withdrawn, [], undefined, p.s.asSize);
    for (const g of groups.values()) msgs.push(...encodeUpdates([], g.nlri, g.attrs, p.s.asSize));
    for (const m of msgs) p.s.sendEstablished(m);
  }
}

/** A Wire over any duplex stream (node:net sockets in the router, in-memory pairs in tests). */
export function streamWire(sock: { write(b: Buffer): boolean; end(): void; destroy(): void; writableLength: number; on(ev: string, fn: (...a: any[]) => void): unknown }, s: Session): Wire {
  let open = true;
  const w: Wire = {
    write: b => { if (open) sock.write(b); },
    close: () => { if (open) { open = false; sock.end(); setTimeout(() => sock.destroy(), 1000).unref?.(); } },
    pending: () => sock.writableLength,
  };
  sock.on('data', (d: Buffer) => { if (open) s.data(w, d); });
  sock.on('close', () => { open = false; s.closed(w); });
  sock.on('error', () => { /* close follows */ });
  return w;
}
