/**
 * One BGP neighbor's finite state machine (RFC 4271 8): Idle, Connect, Active, OpenSent,
 * OpenConfirm, Established, with the connect-retry, hold and keepalive timers on an injectable clock
 * and collision detection (RFC 4271 6.8) between the connection we open and the one the peer does.
 * Bytes come and go through `Wire`s (a node:net socket in the router, an in-memory pair in tests).
 */
import { decodeMessage, encodeKeepalive, encodeRouteRefresh, encodeNotification, encodeOpen, Framer, Notify, OpenMsg, UpdateMsg, E_CEASE, E_FSM, E_HOLD, E_OPEN, CEASE_COLLISION, NOTIFY_NAMES } from './codec.js';

export type State = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';
export interface Timers { now(): number; set(ms: number, fn: () => void): unknown; clear(h: unknown): void }
export interface Wire { write(b: Buffer): void; close(): void; /** bytes written and not yet taken by the peer */ pending(): number }
export interface SessionConfig { peer: number; peerAs: number; localAs: number; routerId: number; holdTime: number; ibgp: boolean }
export interface SessionHost {
  timers: Timers;
  /** open a TCP connection to the peer; answer with session.outgoing(wire) or session.connectFailed() */
  connect(s: Session): void;
  established(s: Session): void;
  update(s: Session, m: UpdateMsg): void;
  down(s: Session, why: string): void;
  /** a ROUTE-REFRESH (RFC 2918) for AFI/SAFI: the speaker sends its Adj-RIB-Out again */
  refresh?(s: Session, afi: number, safi: number): void;
  log(s: Session, msg: string): void;
  /** traceoptions: each message sent and received, each state change */
  trace?(s: Session, flag: TraceFlag, msg: string): void;
}
export type TraceFlag = 'open' | 'update' | 'keepalive' | 'refresh' | 'notification' | 'state';
/** a peer that does not read: beyond this many unsent bytes the session closes */
export const MAX_PENDING = 4 << 20;
export const CONNECT_RETRY = 30_000, IDLE_HOLD = 5_000, OPEN_HOLD = 240_000;

class Conn {
  state: 'OpenSent' | 'OpenConfirm' | 'Established' = 'OpenSent';
  framer = new Framer();
  hold?: unknown; keepalive?: unknown;
  peerOpen?: OpenMsg;
  constructor(readonly wire: Wire, readonly dir: 'in' | 'out') {}
}

export class Session {
  base: 'Idle' | 'Connect' | 'Active' = 'Idle';
  private conns: Conn[] = [];
  private retry?: unknown;
  private idle?: unknown;
  enabled = false;
  /** what the peer told us, and what was negotiated */
  peerOpen?: OpenMsg; holdTime = 0; asSize: 2 | 4 = 4;
  lastError?: { sent: boolean; n: Notify };
  lastState = 'Idle'; flaps = 0; since: number;
  counters = { inMessages: 0, outMessages: 0, inUpdates: 0, outUpdates: 0, inRefresh: 0, outRefresh: 0 };
  constructor(readonly cfg: SessionConfig, private host: SessionHost) { this.since = host.timers.now(); }

  get state(): State {
    for (const s of ['Established', 'OpenConfirm', 'OpenSent'] as const) if (this.conns.some(c => c.state === s)) return s;
    return this.base;
  }
  private get t() { return this.host.timers; }
  private enter(base: 'Idle' | 'Connect' | 'Active'): void { this.base = base; }

  /** ManualStart: from Idle, try to connect (and accept the peer's connection meanwhile). */
  start(): void {
    this.enabled = true;
    if (this.state !== 'Idle') return;
    this.t.clear(this.idle); this.idle = undefined;
    this.enter('Connect');
    this.t.clear(this.retry);
    this.retry = this.t.set(CONNECT_RETRY, () => this.retryExpired());
    this.host.connect(this);
  }
  /** ManualStop (`clear bgp neighbor`, deconfiguration): a Cease to the peer, then Idle. */
  stop(n: Notify | undefined, restart: boolean): void {
    for (const c of [...this.conns]) this.drop(c, n);
    this.toIdle(n ? `${NOTIFY_NAMES[n.code] ?? n.code} sent` : 'stopped', restart);
  }
  private retryExpired(): void {
    this.retry = undefined;
    if (this.state !== 'Connect' && this.state !== 'Active') return;
    this.enter('Connect');
    this.retry = this.t.set(CONNECT_RETRY, () => this.retryExpired());
    this.host.connect(this);
  }
  /** Connect now rather than at the connect-retry timer (the Routing Engine stack just came up). */
  kick(): void { if ((this.base === 'Connect' || this.base === 'Active') && !this.conns.length) { this.t.clear(this.retry); this.retryExpired(); } }
  connectFailed(): void { if (this.base === 'Connect') this.enter('Active'); }

  /** Our connection to the peer is up. */
  outgoing(w: Wire): void { this.attach(new Conn(w, 'out')); }
  /** The peer connected to us. */
  incoming(w: Wire): void {
    if (!this.enabled || this.state === 'Established') { w.write(encodeNotification({ code: E_CEASE, subcode: CEASE_COLLISION, data: Buffer.alloc(0) })); w.close(); return; }
    this.attach(new Conn(w, 'in'));
  }
  private attach(c: Conn): void {
    if (!this.enabled || this.conns.length >= 2) { c.wire.close(); return; }
    this.conns.push(c);
    this.send(c, encodeOpen(this.cfg.localAs, this.cfg.holdTime, this.cfg.routerId));
    this.armHold(c, OPEN_HOLD);
  }
  private traceMsg(dir: 'Send' | 'Received', b: Buffer): void {
    if (!this.host.trace) return;
    const t = b[18];
    const flag: TraceFlag = t === 1 ? 'open' : t === 2 ? 'update' : t === 3 ? 'notification' : t === 5 ? 'refresh' : 'keepalive';
    const name = { open: 'OPEN', update: 'UPDATE', notification: 'NOTIFICATION', refresh: 'ROUTE-REFRESH', keepalive: 'KEEPALIVE' }[flag];
    const extra = t === 3 && b.length >= 21 ? ` code ${b[19]} subcode ${b[20]}` : '';
    this.host.trace(this, flag, `${dir} ${name} length ${b.length}${extra}`);
  }
  private send(c: Conn, b: Buffer): void {
    this.counters.outMessages++;
    this.traceMsg('Send', b);
    c.wire.write(b);
    if (c.wire.pending() > MAX_PENDING) this.fail(c, 'peer does not read', { code: E_CEASE, subcode: 8, data: Buffer.alloc(0) });
  }
  /** Send on the established connection (the speaker's UPDATEs). */
  sendEstablished(b: Buffer): boolean {
    const c = this.conns.find(x => x.state === 'Established');
    if (!c) return false;
    this.counters.outUpdates++;
    this.send(c, b);
    return true;
  }
  /** Ask the peer to send its routes again (RFC 2918), when it announced the capability. */
  requestRefresh(): boolean {
    const c = this.conns.find(x => x.state === 'Established');
    if (!c || !this.peerOpen?.caps.routeRefresh) return false;
    this.counters.outRefresh++;
    this.send(c, encodeRouteRefresh());
    return true;
  }
  pending(): number { return this.conns.find(x => x.state === 'Established')?.wire.pending() ?? 0; }
  private armHold(c: Conn, ms: number): void {
    this.t.clear(c.hold);
    c.hold = ms ? this.t.set(ms, () => this.fail(c, 'hold time expired', { code: E_HOLD, subcode: 0, data: Buffer.alloc(0) })) : undefined;
  }
  private armKeepalive(c: Conn): void {
    this.t.clear(c.keepalive);
    if (!this.holdTime) return;
    c.keepalive = this.t.set(Math.floor(this.holdTime * 1000 / 3), () => { if (this.conns.includes(c)) { this.send(c, encodeKeepalive()); this.armKeepalive(c); } });
  }

  /** Bytes from a connection. */
  data(w: Wire, chunk: Buffer): void {
    const c = this.conns.find(x => x.wire === w);
    if (!c) return;
    const { messages, error } = c.framer.push(chunk);
    for (const m of messages) { if (!this.conns.includes(c)) return; this.message(c, m); }
    if (error && this.conns.includes(c)) this.fail(c, 'malformed message header', error);
  }
  /** A connection closed (by the peer, or TCP failed). */
  closed(w: Wire): void {
    const c = this.conns.find(x => x.wire === w);
    if (!c) return;
    const was = c.state;
    this.forget(c);
    if (!this.conns.length) {
      if (was === 'Established' || was === 'OpenConfirm') this.toIdle('connection closed', true);
      else this.enter('Active');
    }
  }

  private message(c: Conn, m: Buffer): void {
    this.counters.inMessages++;
    this.traceMsg('Received', m);
    const r = decodeMessage(m, this.asSize, this.cfg.ibgp);
    if (r.error) { this.fail(c, `malformed message: ${NOTIFY_NAMES[r.error.code]} subcode ${r.error.subcode}`, r.error); return; }
    const msg = r.msg;
    if (msg.type === 'notification') { this.lastError = { sent: false, n: msg.n }; this.forget(c, true); this.closedAll(`${NOTIFY_NAMES[msg.n.code] ?? msg.n.code} received`); return; }
    switch (c.state) {
      case 'OpenSent':
        if (msg.type !== 'open') { this.fail(c, `${msg.type} in OpenSent`, { code: E_FSM, subcode: 1, data: Buffer.alloc(0) }); return; }
        this.open(c, msg);
        return;
      case 'OpenConfirm':
        if (msg.type !== 'keepalive') { this.fail(c, `${msg.type} in OpenConfirm`, { code: E_FSM, subcode: 2, data: Buffer.alloc(0) }); return; }
        c.state = 'Established';
        this.armHold(c, this.holdTime * 1000);
        this.t.clear(this.retry); this.retry = undefined;
        this.since = this.t.now();
        this.lastState = 'Established';
        this.host.log(this, `state OpenConfirm -> Established`);
        this.host.trace?.(this, 'state', 'state OpenConfirm -> Established');
        this.host.established(this);
        return;
      case 'Established':
        this.armHold(c, this.holdTime * 1000);
        if (msg.type === 'update') { this.counters.inUpdates++; this.host.update(this, msg); }
        else if (msg.type === 'route-refresh') { this.counters.inRefresh++; this.host.refresh?.(this, msg.afi, msg.safi); }
        else if (msg.type === 'open') this.fail(c, 'OPEN in Established', { code: E_FSM, subcode: 3, data: Buffer.alloc(0) });
    }
  }

  private open(c: Conn, msg: OpenMsg): void {
    const peerAs = msg.caps.as4 ?? msg.as;
    if (peerAs !== this.cfg.peerAs) { this.fail(c, `peer AS ${peerAs}, expected ${this.cfg.peerAs}`, { code: E_OPEN, subcode: 2, data: Buffer.alloc(0) }); return; }
    if (msg.bgpId === this.cfg.routerId && !this.cfg.ibgp) { this.fail(c, 'peer has our BGP identifier', { code: E_OPEN, subcode: 3, data: Buffer.alloc(0) }); return; }
    c.peerOpen = msg;
    // collision detection (RFC 4271 6.8): the connection opened by the higher BGP identifier stays
    const other = this.conns.find(x => x !== c && (x.state === 'OpenConfirm' || x.peerOpen));
    if (other) {
      // an Established connection always stays (RFC 4271 6.8): the new one goes
      const keepOurs = (this.cfg.routerId >>> 0) > (msg.bgpId >>> 0);
      const loser = other.state === 'Established' ? c : keepOurs ? (c.dir === 'in' ? c : other) : (c.dir === 'out' ? c : other);
      this.host.log(this, `connection collision: closing the ${loser.dir === 'in' ? 'incoming' : 'outgoing'} connection`);
      this.drop(loser, { code: E_CEASE, subcode: CEASE_COLLISION, data: Buffer.alloc(0) });
      if (loser === c) return;
    }
    this.peerOpen = msg;
    this.asSize = msg.caps.as4 !== undefined ? 4 : 2;
    this.holdTime = Math.min(this.cfg.holdTime, msg.holdTime);
    c.state = 'OpenConfirm';
    this.host.trace?.(this, 'state', 'state OpenSent -> OpenConfirm');
    this.send(c, encodeKeepalive());
    this.armHold(c, this.holdTime * 1000);
    this.armKeepalive(c);
  }

  /** An error on a connection: its NOTIFICATION, the connection closes, the session goes Idle. */
  private fail(c: Conn, why: string, n: Notify): void {
    this.host.log(this, `${why}: NOTIFICATION ${n.code}/${n.subcode} sent`);
    this.drop(c, n);
    if (!this.conns.some(x => x.state !== 'OpenSent' || x.peerOpen)) this.closedAll(why);
  }
  private drop(c: Conn, n?: Notify): void {
    if (n) { this.lastError = { sent: true, n }; try { c.wire.write(encodeNotification(n)); } catch { /* closed already */ } }
    this.forget(c, true);
  }
  private forget(c: Conn, close = false): void {
    this.t.clear(c.hold); this.t.clear(c.keepalive);
    this.conns = this.conns.filter(x => x !== c);
    if (close) c.wire.close();
  }
  private closedAll(why: string): void {
    for (const c of [...this.conns]) this.forget(c, true);
    this.toIdle(why, true);
  }
  private toIdle(why: string, restart: boolean): void {
    const wasUp = this.lastState === 'Established';
    this.host.trace?.(this, 'state', `state ${this.state} -> Idle (${why})`);
    this.lastState = 'Idle';
    this.t.clear(this.retry); this.retry = undefined;
    this.enter('Idle');
    this.peerOpen = undefined;
    if (wasUp) { this.flaps++; this.since = this.t.now(); }
    this.host.down(this, why);
    this.t.clear(this.idle);
    this.idle = restart && this.enabled ? this.t.set(IDLE_HOLD, () => { this.idle = undefined; this.start(); }) : undefined;
    if (!restart) this.enabled = false;
  }
}
