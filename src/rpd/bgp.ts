/**
 * The BGP speaker: one Session per configured neighbor, each neighbor's Adj-RIB-In (all it sent,
 * for `show route receive-protocol bgp`) and Adj-RIB-Out (what we sent it), import policy into the
 * RIB, export policy out of it. Exports are batched (dirty prefixes, one pass per tick) and wait
 * while a peer has not read what it was sent.
 */
import { Session, SessionHost, Timers, Wire } from './session.js';
import { encodeUpdates, updateFits, UpdateMsg, E_CEASE, CEASE_MAX_PREFIXES, CEASE_ADMIN_RESET, CEASE_PEER_DECONFIGURED } from './codec.js';
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
  /** bytes of the path attributes the Adj-RIB-In holds (each attribute set counted once, however many prefixes share it) */
  attrBytes?: number;
  /** routes not advertised to the peer because their UPDATE would exceed 4096 bytes */
  oversize?: number;
  /** ROUTE-REFRESHes that arrived while a full resend to the peer was pending or under way (one more resend follows it) */
  refreshCoalesced?: number;
  resending?: boolean; refreshAgain?: boolean;
  /** unknown attributes discarded (beyond UNKNOWN_ATTR_MAX bytes an UPDATE) */
  unknownDiscarded?: number;
}
/**
 * Bounds on what peers can make rpd hold (docs/bgp.md): prefixes of one peer's Adj-RIB-In, of all
 * peers', and the bytes of their path attributes. At a bound the session is torn down as JUNOS's
 * `prefix-limit ... teardown` does: Cease, subcode 1 (maximum number of prefixes reached).
 */
// a learned route costs some 1.7 KB of heap (Adj-RIB-In, RIB, forwarding and kernel routes; 51 MB
// measured for 30,000): 30,000 in all fit the router's 80 MB old generation (src/lab/v8-limits.ts)
export const ADJ_RIB_IN_MAX = 20_000, ADJ_RIB_IN_TOTAL = 30_000;
export const ADJ_RIB_IN_ATTR_BYTES = 4 << 20, ADJ_RIB_IN_ATTR_TOTAL = 8 << 20;
/** bytes of unknown optional transitive attributes kept from one UPDATE; the rest is discarded */
export const UNKNOWN_ATTR_MAX = 1024;
/** prefixes the export pass handles per turn of the event loop */
export const FLUSH_BUDGET = 4000;
const attrSize = (a: PathAttrs) => 64 + a.asPath.reduce((n, g) => n + 16 + g.asns.length * 8, 0) + a.unknown.reduce((n, u) => n + 32 + u.value.length, 0);
const sameAttrs = (a: PathAttrs, b: PathAttrs) => {
  const ka = Object.keys(a) as Array<keyof PathAttrs>;
  return ka.length === Object.keys(b).length && ka.every(k => a[k] === b[k]);
};
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
  /** Adj-RIB-In entries and attribute bytes over all peers, and how many prefixes share each attribute set */
  adjInTotal = 0; attrBytesTotal = 0;
  /** the bounds in force (the exported defaults; tests make them small) */
  readonly limits = { adjIn: ADJ_RIB_IN_MAX, adjInTotal: ADJ_RIB_IN_TOTAL, attrBytes: ADJ_RIB_IN_ATTR_BYTES, attrTotal: ADJ_RIB_IN_ATTR_TOTAL, flush: FLUSH_BUDGET };
  private attrRefs = new Map<PathAttrs, number>();
  /** routes the full RIB refused since it filled (logged once per episode) */
  private ribRefused = 0; private ribFullLogged = false;
  /** what the export pass has left to do per peer (at most FLUSH_BUDGET prefixes a turn) */
  private queues = new Map<number, Map<number, Prefix>>();
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
        // one full resend pending per peer: further refreshes join it
        if (this.full.has(p.n.address) || p.resending) { p.refreshCoalesced = (p.refreshCoalesced ?? 0) + 1; p.refreshAgain = true; return; }
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
    for (const r of p.adjIn.values()) { this.host.rib.remove(r.prefix, 'BGP', p.n.address); this.dirty.add(key(r.prefix)); this.unref(p, r.attrs); }
    this.adjInTotal -= p.adjIn.size;
    p.adjIn.clear(); p.adjOut.clear(); p.limitLogged = false; this.queues.delete(p.n.address); p.resending = p.refreshAgain = false;
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

  private ref(p: Peer, a: PathAttrs): void {
    const n = this.attrRefs.get(a) ?? 0;
    this.attrRefs.set(a, n + 1);
    if (n === 0) { const b = attrSize(a); p.attrBytes = (p.attrBytes ?? 0) + b; this.attrBytesTotal += b; }
  }
  private unref(p: Peer, a: PathAttrs): void {
    const n = this.attrRefs.get(a) ?? 0;
    if (n > 1) { this.attrRefs.set(a, n - 1); return; }
    this.attrRefs.delete(a);
    const b = attrSize(a); p.attrBytes = (p.attrBytes ?? 0) - b; this.attrBytesTotal -= b;
  }
  private adjDelete(p: Peer, k: number): boolean {
    const old = p.adjIn.get(k);
    if (!old) return false;
    p.adjIn.delete(k); this.adjInTotal--; this.unref(p, old.attrs);
    return true;
  }
  /** Unknown optional transitive attributes beyond UNKNOWN_ATTR_MAX bytes: discarded (counted, logged once a peer). */
  private capUnknown(p: Peer, a: PathAttrs): PathAttrs {
    let room = UNKNOWN_ATTR_MAX;
    const keep = a.unknown.filter(x => x.value.length <= room && (room -= x.value.length) >= 0);
    if (keep.length === a.unknown.length) return a;
    if (!p.unknownDiscarded) this.host.log(`bgp ${p.n.text}: unknown optional transitive attributes beyond ${UNKNOWN_ATTR_MAX} bytes discarded (type ${a.unknown.filter(x => !keep.includes(x)).map(x => x.type).join(' ')})`);
    p.unknownDiscarded = (p.unknownDiscarded ?? 0) + a.unknown.length - keep.length;
    return { ...a, unknown: keep };
  }
  /** Adj-RIB-In bounds: the session is torn down (Cease 1) when a new prefix would pass one. */
  private adjInFull(p: Peer, attrs: PathAttrs, isNew: boolean): string | undefined {
    const l = this.limits;
    if (isNew && p.adjIn.size >= l.adjIn) return `${l.adjIn} prefixes from the peer`;
    if (isNew && this.adjInTotal >= l.adjInTotal) return `${l.adjInTotal} prefixes from all peers`;
    if (this.attrRefs.has(attrs)) return undefined;
    const b = attrSize(attrs);
    if ((p.attrBytes ?? 0) + b > l.attrBytes) return `${l.attrBytes} bytes of path attributes from the peer`;
    if (this.attrBytesTotal + b > l.attrTotal) return `${l.attrTotal} bytes of path attributes from all peers`;
    return undefined;
  }
  private update(p: Peer, u: UpdateMsg): void {
    if (u.treatAsWithdraw) this.host.log(`bgp ${p.n.text}: UPDATE treated as withdraw (${u.treatAsWithdraw})`);
    for (const w of u.withdrawn) {
      if (this.adjDelete(p, key(w)) && this.host.rib.remove(w, 'BGP', p.n.address)) this.dirty.add(key(w));
    }
    if (u.attrs) {
      const ebgp = p.n.type === 'external';
      const attrs = this.capUnknown(p, u.attrs);
      for (const prefix of u.nlri) {
        if (ebgp && pathHas(attrs.asPath, p.s.cfg.localAs)) { p.looped++; this.adjDelete(p, key(prefix)); this.host.rib.remove(prefix, 'BGP', p.n.address); continue; }
        const k = key(prefix);
        const full = this.adjInFull(p, attrs, !p.adjIn.has(k)), l = this.limits;
        if (full) {
          this.host.log(`bgp ${p.n.text}: maximum number of prefixes reached (Adj-RIB-In bound of ${full}): session torn down, Cease 6/1 sent`);
          p.s.stop({ code: E_CEASE, subcode: CEASE_MAX_PREFIXES, data: Buffer.from([0, 1, 1, l.adjIn >>> 24, (l.adjIn >>> 16) & 255, (l.adjIn >>> 8) & 255, l.adjIn & 255]) }, true);
          this.schedule();
          return;
        }
        const r: AdjIn = { prefix, attrs, accepted: false };
        this.ref(p, attrs);
        this.adjDelete(p, k);
        p.adjIn.set(k, r); this.adjInTotal++;
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
    const peerId = p.s.peerOpen?.bgpId ?? 0;
    // the route as the RIB has it already (a commit, soft-inbound, the same UPDATE again): left alone
    const cur = this.host.rib.routes(r.prefix).find(x => x.protocol === 'BGP' && x.source === p.n.address)?.bgp;
    if (cur && cur.peerId === peerId && cur.ebgp === ebgp && sameAttrs(cur.attrs, attrs)) return;
    const ok = this.host.rib.add({ prefix: r.prefix, protocol: 'BGP', source: p.n.address, nextHop: attrs.nextHop, bgp: { attrs, peer: p.n.address, peerId: p.s.peerOpen?.bgpId ?? 0, ebgp, igpCost: 0 } });
    if (!ok) this.tableFull(p, r.prefix);
    this.dirty.add(key(r.prefix));
  }
  /** The RIB refused a route: logged once per episode (until there is room again), counted always. */
  private tableFull(p: Peer, prefix: Prefix): void {
    if (!this.ribRefused++) this.ribFullFirst = `${prefixStr(prefix)} from ${p.n.text}`;
    this.schedule();
  }
  private ribFullFirst = '';
  /** After a batch: the episode's one line (with the count so far), and one when there is room again. */
  private tableFullNote(): void {
    if (this.ribRefused && !this.ribFullLogged) {
      this.ribFullLogged = true;
      this.host.log(`bgp: routing table full (${this.host.rib.maxRoutes} routes): ${this.ribRefused} prefixes not added, first ${this.ribFullFirst}; further ones counted, not logged`);
    } else if (this.ribFullLogged && this.host.rib.count < this.host.rib.maxRoutes) {
      this.host.log(`bgp: routing table no longer full: ${this.ribRefused} prefixes were not added while it was`);
      this.ribFullLogged = false; this.ribRefused = 0;
    }
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
  /**
   * The export pass: the changed prefixes (or, for a peer in `full`, the whole RIB and Adj-RIB-Out)
   * join the peer's queue; at most FLUSH_BUDGET prefixes are advertised a turn, the rest next turn.
   */
  private flush(): void {
    this.tableFullNote();
    const dirty = this.dirty;
    this.dirty = new Set();
    let budget = this.limits.flush, more = false;
    for (const p of this.peers.values()) {
      if (p.s.state !== 'Established') continue;
      let q = this.queues.get(p.n.address);
      if (this.full.delete(p.n.address)) {
        q = new Map();
        for (const x of this.host.rib.prefixes()) q.set(key(x), x);
        for (const [k, o] of p.adjOut) if (!q.has(k)) q.set(k, o.prefix);
        this.queues.set(p.n.address, q);
        p.resending = true;
      }
      if (dirty.size) {
        if (!q) this.queues.set(p.n.address, (q = new Map()));
        for (const k of dirty) q.set(k, { addr: Math.floor(k / 64), len: k % 64 });
      }
      if (!q?.size) continue;
      if (p.s.pending() > EXPORT_PAUSE) { this.flushTimer ??= this.host.timers.set(100, () => { this.flushTimer = undefined; this.flush(); }); continue; }
      const take: Prefix[] = [];
      for (const [k, x] of q) { if (budget <= 0) break; take.push(x); q.delete(k); budget--; }
      if (q.size) more = true;
      this.advertise(p, take);
      if (!q.size && p.resending) {
        p.resending = false;
        // ROUTE-REFRESHes that came during the resend: one more
        if (p.refreshAgain) { p.refreshAgain = false; this.resend(p); }
      }
    }
    if (more) this.schedule();
  }
  private advertise(p: Peer, prefixes: Prefix[]): void {
    const withdrawn: Prefix[] = [];
    const groups = new Map<string, { attrs: PathAttrs; nlri: Prefix[] }>();
    const fits = new Map<string, boolean>();
    for (const prefix of prefixes) {
      const k = key(prefix);
      let attrs = this.exportAttrs(p, this.host.rib.active(prefix));
      const old = p.adjOut.get(k);
      const fp = attrs ? JSON.stringify(attrs, (_k, v) => (v && v.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v)) : '';
      // an UPDATE for it would pass 4096 bytes (our AS prepended to a long path): not advertised to this peer
      const fk = `${fp}/${prefix.len + 7 >> 3}`;
      if (attrs && !(fits.get(fk) ?? fits.set(fk, updateFits(attrs, p.s.asSize, 1 + (prefix.len + 7 >> 3))).get(fk))) {
        if (!p.oversize) this.host.log(`bgp ${p.n.text}: ${prefixStr(prefix)} not advertised: its UPDATE would exceed 4096 bytes (further ones counted, not logged)`);
        p.oversize = (p.oversize ?? 0) + 1;
        attrs = undefined;
      }
      if (!attrs) { if (old) { p.adjOut.delete(k); withdrawn.push(prefix); } continue; }
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
/** bytes of a read handed to the session a turn (two UPDATEs, some 2,000 prefixes): a bigger read waits, the socket paused */
export const READ_SLICE = 8192;
export function streamWire(sock: { write(b: Buffer): boolean; end(): void; destroy(): void; writableLength: number; on(ev: string, fn: (...a: any[]) => void): unknown; pause?(): unknown; resume?(): unknown }, s: Session): Wire {
  let open = true;
  let queue: Buffer[] = [], busy = false;
  const step = () => {
    if (!open) { queue = []; busy = false; return; }
    const b = queue.shift();
    if (b) s.data(w, b);
    if (queue.length) { setImmediate(step); return; }
    busy = false; sock.resume?.();
  };
  const w: Wire = {
    write: b => { if (open) sock.write(b); },
    close: () => { if (open) { open = false; sock.end(); setTimeout(() => sock.destroy(), 1000).unref?.(); } },
    pending: () => sock.writableLength,
  };
  sock.on('data', (d: Buffer) => {
    if (!open) return;
    if (!busy && d.length <= READ_SLICE) { s.data(w, d); return; }
    for (let o = 0; o < d.length; o += READ_SLICE) queue.push(d.subarray(o, o + READ_SLICE));
    if (!busy) { busy = true; sock.pause?.(); setImmediate(step); }
  });
  sock.on('close', () => { open = false; s.closed(w); });
  sock.on('error', () => { /* close follows */ });
  return w;
}
