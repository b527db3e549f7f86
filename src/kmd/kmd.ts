/**
 * kmd, the router's key management daemon: IKEv1 (RFC 2407, 2408, 2409) with pre-shared keys, as
 * initiator and responder. Main mode builds an IKE SA with a peer; quick mode negotiates the IPsec SA
 * pair a dynamic security association asks for, and kmd installs it in the ES PIC. It runs in the
 * router process (as kmd runs on the Routing Engine) and speaks UDP 500 through the PFE like any
 * traffic for the router. Every malformed, unexpected or unauthenticated message is dropped and
 * counted with a reason; half-open state is bounded and expires; keys never reach a log.
 *
 * The exchanges are tasks (src/kmd/tasks: Main mode, Aggressive mode, Quick mode, Informational, each
 * building and processing its messages in both roles) on the pieces they share (phase1.ts, auth.ts for
 * certificates and signatures, natt.ts for NAT-D and the vendor ID); exchanges.ts is the one exchange
 * manager (last sent, last received, retransmissions, duplicates). Kmd keeps the SA database, the
 * bridge to its host (the PFE, the ES PIC, the log) and the timers.
 */
import { randomBytes, createHash } from 'node:crypto';
import type { RouterModel, IkePolicyModel } from '../config/model.js';
import { intToIp, ipToInt } from '../net/ip.js';
import { Pt, Xchg, N, Proto, DOI_IPSEC, FLAG_ENCRYPTION, EXCHANGE_NAMES, ISAKMP_PORT, NATT_PORT } from './constants.js';
import { decodeHeader, encodeNotify, encodeDelete, type Header } from './codec.js';
import { IkeSa } from './ike-sa.js';
import { DhBudget } from './dh-budget.js';
import type { NattContext } from './natt.js';
import { proxyIds, describeSelector } from './proxy.js';
import { Exchanges } from './exchanges.js';
import type { KmdContext } from './context.js';
import * as P1 from './phase1.js';
import * as MainMode from './tasks/main-mode.js';
import * as AggressiveMode from './tasks/aggressive-mode.js';
import * as QuickMode from './tasks/quick-mode.js';
import { informational, informationalOut } from './tasks/informational.js';
import {
  KMD_LIMITS, SOFT, SOFT_MARGIN_MS, MODE_NAME, NON_ESP_MARKER, hex, junosIdentity,
  type KmdHost, type TraceFlag, type FailureKind, type DynTunnel, type Installed, type QuickMode as Qm,
} from './types.js';

export { KMD_LIMITS, SOFT, SOFT_MARGIN_MS } from './types.js';
export type { KmdHost, TraceFlag, FailureKind, DynTunnel } from './types.js';

const digest = (x: unknown) => createHash('sha256').update(JSON.stringify(x, (_k, v) => (Buffer.isBuffer(v) || (v && v.type === 'Buffer') ? createHash('sha256').update(Buffer.from(v)).digest('hex') : v))).digest('hex').slice(0, 16);

export class Kmd implements KmdContext {
  readonly ikeSas = new Map<string, IkeSa>();
  readonly tunnels = new Map<string, DynTunnel>();
  readonly drops = new Map<string, number>();
  model?: RouterModel;
  /** the SPIs we handed out, so no two SAs share one */
  readonly spis = new Set<number>();
  /** peers with which an IKE SA matured since kmd started (the first one says INITIAL-CONTACT) */
  readonly contacted = new Set<number>();
  private badSpiAt = new Map<number, number>();
  /** each IKE policy's configuration fingerprint, by peer (an IKE SA negotiated under another says so in `show`) */
  ikeFps = new Map<number, string>();

  /** the peers' offers when a negotiation found no proposal (for the diagnosis command) */
  readonly lastOffers = new Map<number, { theirs: string; ours: string; at: number; phase?: 1 | 2 }>();
  readonly lastProxyMismatch = new Map<number, { theirs: string; ours: string; at: number }>();
  /** a peer that initiates in the other mode than our policy's (accepted: the chapter) */
  readonly modeNotes = new Map<number, { theirs: 'main' | 'aggressive'; ours: 'main' | 'aggressive'; at: number }>();
  /** the last failure with each peer, and the last IKE SA that failed, for `show` and the diagnosis */
  readonly failures = new Map<number, { why: string; at: number; role: string; kind: FailureKind; mode: 'main' | 'aggressive' }>();
  readonly deadSas = new Map<number, IkeSa>();

  /** the responder's Diffie-Hellman work, rationed per peer and in all */
  readonly dhBudget: DhBudget;
  /** the exchanges under way: what each sent and received, its retransmissions */
  readonly exchanges: Exchanges;
  readonly natx: NattContext = { trace: (m, f) => this.trace(m, f), log: m => this.host.log(m) };
  constructor(readonly host: KmdHost) {
    this.dhBudget = new DhBudget(() => host.now(), m => host.log(m), KMD_LIMITS.dhPerPeer, KMD_LIMITS.dhTotal);
    this.exchanges = new Exchanges({ now: () => host.now(), send: (s, msg) => this.send(s, msg), drop: (r, d) => this.drop(r, d), trace: (m, f) => this.trace(m, f) });
  }

  /** events that are no drops (NAT keepalives received, ...) */
  readonly counters = new Map<string, number>();
  count(what: string): void { this.counters.set(what, (this.counters.get(what) ?? 0) + 1); }
  get rate(): number { return this.host.clockRate ?? 1; }
  /** our lifetime (seconds on the lifetime clock) as the peer counts it, and back */
  toWire(s: number): number { return Math.max(1, Math.round(s / this.rate)); }
  fromWire(s: number): number { return s * this.rate; }
  wireProps<T extends { lifetimeSeconds: number }>(props: T[]): T[] { return this.rate === 1 ? props : props.map(p => ({ ...p, lifetimeSeconds: this.toWire(p.lifetimeSeconds) })); }
  life(): number { return this.host.clock?.() ?? this.host.now(); }
  /** The soft lifetime of an SA of `ms` (lifetime clock) made now in `role`, on the lifetime clock. */
  softAt(life: number, ms: number, role: 'initiator' | 'responder'): number {
    return life + Math.max(ms * 0.5, Math.min(ms * SOFT[role], ms - SOFT_MARGIN_MS[role] * this.rate));
  }
  drop(reason: string, detail?: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.host.trace?.('ike', `dropped: ${reason}${detail ? ` (${detail})` : ''}`);
  }
  trace(msg: string, flag: TraceFlag = 'ike'): void { this.host.trace?.(flag, msg); }
  private lastAt = new Map<string, number>();
  quiet(key: string, ms: number): boolean {
    const now = this.host.now(), at = this.lastAt.get(key);
    if (at !== undefined && now - at < ms) return true;
    if (this.lastAt.size >= KMD_LIMITS.quietKeys) this.lastAt.clear();   // bounded; the all-peers keys still hold
    this.lastAt.set(key, now);
    return false;
  }
  /** Run `f` in `ms` (the timer does not hold the process); an exception in it is logged. */
  later(ms: number, f: () => void): void {
    setTimeout(() => { try { f(); } catch (e) { this.host.log(`KMD_PM_INTERNAL: ${(e as Error).message}`); } }, ms).unref?.();
  }


  // ------------------------------------------------------------------------- configuration

  /**
   * A committed configuration: the dynamic SAs on es- interfaces become tunnels to negotiate. The
   * chapter: "Updates to the current ... configuration are not applied to the current ... SA; updates
   * are applied to new ... SAs": live IKE and IPsec SAs keep what they were negotiated with until they
   * expire, are rekeyed (with the new configuration) or are cleared, and `show ... detail` says they
   * were negotiated under an older configuration. Only an SA that cannot go on (its es- interface, its
   * SA name, its tunnel endpoints or its IKE policy gone) is deleted, the peer told, the reason logged.
   */
  configure(model: RouterModel, esIfls: Array<{ name: string; ipsecSa?: string; tunnel?: { source: number; destination: number }; inFilter?: string }>): void {
    this.model = model;
    const seen = new Set<string>();
    const ikeFps = new Map<number, string>();
    for (const [peer, pol] of model.ike.policies) {
      const n = ipToIntSafe(peer);
      if (n === undefined) continue;
      ikeFps.set(n, digest({ pol, props: pol.proposals.map(x => model.ike.proposals.get(x)) }));
    }
    for (const [peer, fp] of this.ikeFps) {
      if (ikeFps.get(peer) === fp) continue;
      for (const s of [...this.ikeSas.values()]) {
        if (s.peer !== peer) continue;
        if (!ikeFps.has(peer)) this.deleteIke(s, 'its IKE policy was removed (commit)');
        else this.host.log(`KMD_PM_P1_KEPT: IKE SA with ${intToIp(peer)}: its IKE policy changed (commit); the SA keeps what it was negotiated with until it expires, is rekeyed or is cleared (clear ike security-associations)`);
      }
    }
    this.ikeFps = ikeFps;
    for (const l of esIfls) {
      const sa = l.ipsecSa ? model.sas.get(l.ipsecSa) : undefined;
      if (!sa?.dynamic || !l.tunnel) continue;
      const policy = model.ipsec.policies.get(sa.dynamic.ipsecPolicy);
      if (!policy) continue;
      seen.add(l.name);
      const prev = this.tunnels.get(l.name);
      const ike = model.ike.policies.get(intToIp(l.tunnel.destination));
      const proposals = policy.proposals.map(n => model.ipsec.proposals.get(n)!).filter(Boolean);
      const proxy = proxyIds(l.inFilter ? model.filters.get(l.inFilter) : undefined);
      const replayWindow = sa.dynamic.replayWindow ?? 64;
      const fingerprint = digest({ peer: l.tunnel.destination, local: l.tunnel.source, ike: ikeFps.get(l.tunnel.destination), policy, proposals, proxy, replayWindow, sa: sa.name });
      const t: DynTunnel = {
        ifl: l.name, saName: sa.name, peer: l.tunnel.destination, local: l.tunnel.source,
        ike, policy, proposals, pfsGroup: policy.pfs === 'group1' ? 1 : policy.pfs === 'group2' ? 2 : undefined,
        replayWindow, proxy, fingerprint, installed: prev?.installed ?? [], rekeys: prev?.rekeys ?? 0, ...(prev?.upAt !== undefined ? { upAt: prev.upAt } : {}),
        ...(prev?.negotiating !== undefined && prev.fingerprint === fingerprint ? { negotiating: prev.negotiating } : {}),
      };
      if (prev && prev.fingerprint !== fingerprint && prev.installed.length) {
        const gone = prev.saName !== sa.name ? `its SA name ${prev.saName} is gone (commit)` : !ike ? `its IKE policy ${intToIp(prev.peer)} is gone (commit)`
          : prev.peer !== t.peer || prev.local !== t.local ? 'its tunnel source or destination changed (commit)' : undefined;
        if (gone) {
          // the SA cannot go on: the peer is told, traffic negotiates anew
          this.deleteIpsec(prev, prev.installed.slice(), gone);
          t.installed = [];
          this.host.tunnelReady(t.ifl, false);
        } else this.host.log(`KMD_PM_SA_KEPT: IPsec SA ${t.saName} on ${t.ifl} with ${intToIp(t.peer)}: its configuration changed (commit); the SA keeps what it was negotiated with until it expires, is rekeyed or is cleared (clear ipsec security-associations)`);
      }
      this.trace(`tunnel ${t.ifl}: SA ${t.saName} with ${intToIp(t.peer)} from ${intToIp(t.local)}, IPsec policy ${policy.name} (${proposals.map(p => p.name).join(', ') || 'no proposals'}${t.pfsGroup ? `, PFS group${t.pfsGroup}` : ''}), IKE policy ${ike ? `${ike.peer} (${ike.mode} mode, ${ike.proposals.join(', ')})` : 'none'}, proxy identities ${describeSelector(proxy.local)} <-> ${describeSelector(proxy.remote)}${prev && prev.fingerprint === fingerprint ? ' (unchanged)' : ''}`, 'parse');
      this.tunnels.set(l.name, t);
    }
    for (const [name, t] of this.tunnels) {
      if (seen.has(name)) continue;
      if (t.installed.length) this.deleteIpsec(t, t.installed.slice(), 'its configuration was removed (commit)');
      this.tunnels.delete(name);
      this.trace(`tunnel ${name}: removed`, 'parse');
    }
    this.trace(`configuration: ${this.tunnels.size} dynamic tunnel(s), ${model.ike.policies.size} IKE policy(ies)`, 'general');
  }

  // ------------------------------------------------------------------------- from the PFE

  /** Traffic for a dynamic SA that has no outbound SA: negotiate one (or wait for the one under way). */
  acquire(ifl: string): void {
    const t = this.tunnels.get(ifl);
    this.trace(`acquire for ${ifl}${t ? ` (SA ${t.saName}, peer ${intToIp(t.peer)})` : ': no dynamic SA'}`, 'routing-socket');
    if (!t) { this.host.tunnelReady(ifl, false, 'no dynamic SA'); return; }
    if (t.installed.length) { this.host.tunnelReady(ifl, true); return; }
    if (t.negotiating !== undefined) return;
    if (t.failedAt !== undefined && this.host.now() - t.failedAt < KMD_LIMITS.retryBackoffMs) {
      this.trace(`${ifl}: the last negotiation failed ${this.host.now() - t.failedAt} ms ago: not before ${KMD_LIMITS.retryBackoffMs} ms`, 'timer');
      this.host.tunnelReady(ifl, false, t.lastError); return;
    }
    this.negotiate(t);
  }

  /** Quick mode for a tunnel, on the newest IKE SA with its peer (phase 1 first if there is none). */
  private negotiate(t: DynTunnel): void {
    if (!t.ike) return this.fail(t, `no IKE policy for the peer ${intToIp(t.peer)}`, 'no-policy');
    t.negotiating = -1;   // phase 1 first
    const go = (s: IkeSa) => QuickMode.initiate(this, s, t);
    const ready = this.ikeFor(t.peer), pending = this.pendingIke(t.peer);
    // an IKE SA past its soft lifetime is on its way out: when its successor is under way, quick
    // mode waits for that one rather than race the old one's hard lifetime
    if (ready && !(ready.rekeyed && pending)) { go(ready); return; }
    if (pending) { pending.waiting.push(() => go(pending)); return; }
    const s = this.startPhase1(t.peer, t.local, t.ike);
    if (s instanceof IkeSa) s.waiting.push(() => go(s));
    else this.fail(t, s?.cannot ?? `IKE policy ${t.ike.peer} has no usable proposal`, s?.cannot ? 'cert' : 'no-proposal');
  }

  /** The newest matured IKE SA with a peer that is not being replaced. */
  private ikeFor(peer: number): IkeSa | undefined {
    let best: IkeSa | undefined;
    for (const s of this.ikeSas.values()) if (s.peer === peer && s.matured && s.retireAt === undefined && (!best || (s.maturedAt ?? 0) >= (best.maturedAt ?? 0))) best = s;
    return best;
  }
  /** A phase 1 we started with a peer and that is still under way. */
  private pendingIke(peer: number): IkeSa | undefined {
    for (const s of this.ikeSas.values()) if (s.peer === peer && !s.matured && s.state !== 'DEAD' && s.role === 'initiator') return s;
    return undefined;
  }

  fail(t: DynTunnel, why: string, kind: FailureKind = 'other'): void {
    t.negotiating = undefined;
    t.lastError = why; t.lastErrorKind = kind; t.failedAt = this.host.now();
    this.host.log(`KMD_PM_SA_ESTABLISH_FAILED: IPsec SA ${t.saName} on ${t.ifl} with ${intToIp(t.peer)} not established: ${why}`);
    // a failed rekey leaves the SA in use alone: traffic goes on until its hard lifetime
    if (!t.installed.length) { this.trace(`${t.ifl}: negotiation failed; waiting packets dropped`, 'routing-socket'); this.host.tunnelReady(t.ifl, false, why); }
  }

  /**
   * A UDP datagram for port 500 of one of the router's addresses, or for port 4500 (`natt`: an IKE
   * message that floated there, its non-ESP marker already taken off).
   */
  receive(msg: Buffer, src: number, dst: number, srcPort: number, natt = false): void {
    const h = decodeHeader(msg);
    if (!h.ok) return this.drop(`ike-${h.reason}`, intToIp(src));
    const hd = h.value;
    const m = msg.subarray(0, hd.length);
    const key = `${src}/${hex(hd.icookie)}`;
    const sa = this.ikeSas.get(key);
    if (sa) { sa.stats.inBytes += m.length; sa.stats.inPackets++; }
    // the peer moved to UDP 4500 (RFC 3947 4), or a NAT gave it another port: taken once the message
    // proves itself (its hash), so that a forged datagram cannot move the SA
    this.floatTo = sa && natt && (!sa.natt.floated || sa.port !== srcPort) ? { sa, port: srcPort } : undefined;
    try { this.dispatch(sa, hd, m, src, dst, srcPort, natt); } finally { this.floatTo = undefined; }
  }
  private floatTo?: { sa: IkeSa; port: number };
  /** The message that came on UDP 4500 authenticated: the SA answers there from now on. */
  acceptFloat(sa: IkeSa): void {
    const f = this.floatTo;
    if (!f || f.sa !== sa) return;
    this.trace(`${intToIp(sa.peer)} floats to UDP ${NATT_PORT} (its port ${f.port})`);
    sa.natt.floated = true; sa.port = f.port;
    this.floatTo = undefined;
  }
  private dispatch(sa: IkeSa | undefined, hd: Header, m: Buffer, src: number, dst: number, srcPort: number, natt: boolean): void {
    this.trace(`<- ${intToIp(src)}:${srcPort} ${EXCHANGE_NAMES[hd.exchange] ?? `exchange ${hd.exchange}`} ${m.length} bytes, cookies ${hex(hd.icookie)}/${hex(hd.rcookie)}${hd.mid ? `, message ID 0x${hd.mid.toString(16)}` : ''}${hd.flags & FLAG_ENCRYPTION ? ', encrypted' : ''}`);
    // The responder cookie proves a round trip (the sender got our answer): once an SA knows it,
    // every message must carry it, or a blind spoofer could walk a half-open SA past message 3
    // (never evicted) and notify our negotiations to death. A retransmitted first message (no
    // responder cookie yet) only gets our answer again.
    if (sa && !sa.rcookie.every(b => b === 0) && !hd.rcookie.equals(sa.rcookie)) {
      if (sa.role === 'responder' && hd.rcookie.every(b => b === 0) && this.exchanges.duplicate(sa, sa, m)) return;
      return this.drop('ike-bad-cookie', `${EXCHANGE_NAMES[hd.exchange] ?? hd.exchange} from ${intToIp(src)}`);
    }
    if (hd.exchange === Xchg.INFORMATIONAL) return informational(this, sa, hd, m, src);
    if (!sa) {
      const first = (hd.exchange === Xchg.MAIN || hd.exchange === Xchg.AGGRESSIVE) && hd.rcookie.every(b => b === 0) && !(hd.flags & FLAG_ENCRYPTION);
      if (!first || natt) return this.drop('ike-unknown-sa', `${EXCHANGE_NAMES[hd.exchange] ?? hd.exchange} from ${intToIp(src)}`);
      const f = P1.readFirst(this, hd, m, src, dst, srcPort);
      if (f) (f.mode === 'aggressive' ? AggressiveMode : MainMode).respond(this, f);
      return;
    }
    // a retransmission of what we already answered: the same answer again
    if (this.exchanges.duplicate(sa, sa, m)) return;
    if (hd.exchange === Xchg.MAIN) return sa.mode === 'main' ? MainMode.process(this, sa, hd, m) : this.drop('ike-unexpected-main-mode', intToIp(src));
    if (hd.exchange === Xchg.AGGRESSIVE) return sa.mode === 'aggressive' ? AggressiveMode.process(this, sa, hd, m) : this.drop('ike-unexpected-aggressive-mode', intToIp(src));
    if (hd.exchange === Xchg.QUICK) return QuickMode.process(this, sa, hd, m);
    this.drop('ike-unsupported-exchange', `${EXCHANGE_NAMES[hd.exchange] ?? hd.exchange}`);
  }

  /**
   * ESP or AH for one of our addresses with an SPI we do not know: the peer has SAs we lost (we
   * restarted) or deleted. Tell it (INVALID-SPI) inside an IKE SA, starting one if need be; a new IKE
   * SA after a restart carries INITIAL-CONTACT, which makes the peer drop everything stale at once.
   */
  badSpi(proto: number, spi: number, src: number, dst: number): void {
    const t = [...this.tunnels.values()].find(x => x.peer === src && x.local === dst);
    this.trace(`${proto === 51 ? 'AH' : 'ESP'} with unknown SPI 0x${spi.toString(16)} from ${intToIp(src)}${t ? ` (tunnel ${t.ifl})` : ''}`, 'routing-socket');
    if (!t?.ike) return;
    const now = this.host.now(), last = this.badSpiAt.get(src);
    if (last !== undefined && now - last < KMD_LIMITS.badSpiMs) return;
    this.badSpiAt.set(src, now);
    this.host.log(`KMD_PM_BAD_SPI: ${proto === 51 ? 'AH' : 'ESP'} from ${intToIp(src)} with SPI 0x${spi.toString(16)}, which no SA here has: telling the peer (INVALID-SPI)`);
    const spiB = Buffer.alloc(4); spiB.writeUInt32BE(spi >>> 0);
    const tell = (s: IkeSa) => informationalOut(this, s, [{ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: proto === 51 ? Proto.AH : Proto.ESP, spi: spiB, type: N.INVALID_SPI, data: Buffer.alloc(0) }) }]);
    const ike = this.ikeFor(src);
    if (ike) return tell(ike);
    const pending = this.pendingIke(src);
    if (pending) { pending.waiting.push(() => tell(pending)); return; }
    const s = this.startPhase1(src, dst, t.ike);
    if (s instanceof IkeSa) s.waiting.push(() => tell(s));
  }

  /** An IKE message to the peer: from UDP 500, or from 4500 with the non-ESP marker once the SA floated. */
  send(sa: IkeSa, msg: Buffer): void {
    sa.stats.outBytes += msg.length; sa.stats.outPackets++;
    if (sa.natt.floated) this.host.sendUdp(sa.local, sa.peer, NATT_PORT, sa.port, Buffer.concat([NON_ESP_MARKER, msg]));
    else this.host.sendUdp(sa.local, sa.peer, ISAKMP_PORT, sa.port, msg);
  }

  // ------------------------------------------------------------------------- the SA database

  /** A phase 1 with a peer in the policy's mode; `cannot` when our own credentials are not ready, undefined without a usable proposal. */
  private startPhase1(peer: number, local: number, policy: IkePolicyModel): IkeSa | { cannot: string } | undefined {
    return policy.mode === 'aggressive' ? AggressiveMode.initiate(this, peer, local, policy) : MainMode.initiate(this, peer, local, policy);
  }

  /** An IKE SA that will not mature: its waiting quick modes fail, and the reason is kept for `show`. */
  dead(sa: IkeSa, why: string, kind: FailureKind = 'other'): void {
    if (sa.state === 'DEAD') return;
    sa.state = 'DEAD'; sa.failure = why; this.exchanges.settle(sa);
    this.failures.set(sa.peer, { why, at: this.host.now(), role: sa.role, kind, mode: sa.mode });
    this.host.log(`KMD_PM_P1_FAILED: IKE phase 1 (${MODE_NAME[sa.mode]} mode) with ${intToIp(sa.peer)} failed: ${why}`);
    this.trace(`IKE SA ${hex(sa.icookie)} with ${intToIp(sa.peer)} removed (failed)`, 'database');
    for (const t of this.tunnels.values()) if (t.peer === sa.peer && t.negotiating === -1) this.fail(t, `IKE phase 1 failed: ${why}`, kind);
    sa.waiting = [];
    // kept a while for `show ike security-associations`, then forgotten
    this.ikeSas.delete(sa.key);
    this.deadSas.set(sa.peer, sa);
  }

  /** Delete an IKE SA: the peer is told when it can be (matured), then it is gone here. */
  private deleteIke(s: IkeSa, why: string): void {
    if (s.state === 'DEAD') return;
    if (s.matured) informationalOut(this, s, [{ type: Pt.D, body: encodeDelete({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spis: [Buffer.concat([s.icookie, s.rcookie])] }) }]);
    s.state = 'DEAD'; this.ikeSas.delete(s.key);
    this.host.log(`KMD_PM_P1_DELETED: IKE SA with ${intToIp(s.peer)} deleted: ${why}`);
    this.trace(`IKE SA ${hex(s.icookie)} with ${intToIp(s.peer)} removed (${why})`, 'database');
    for (const t of this.tunnels.values()) if (t.peer === s.peer && t.negotiating === -1 && !this.pendingIke(s.peer) && !this.ikeFor(s.peer)) t.negotiating = undefined;
  }


  /** The peer has lost its state (it restarted): every other SA with it is stale. */
  initialContact(sa: IkeSa): void {
    this.host.log(`KMD_PM_INITIAL_CONTACT: ${intToIp(sa.peer)} starts afresh (INITIAL-CONTACT): its older IKE and IPsec SAs are removed`);
    for (const o of [...this.ikeSas.values()]) if (o !== sa && o.peer === sa.peer && o.matured) {
      o.state = 'DEAD'; this.ikeSas.delete(o.key);
      this.trace(`IKE SA ${hex(o.icookie)} with ${intToIp(o.peer)} removed (INITIAL-CONTACT)`, 'database');
    }
    for (const t of this.tunnels.values()) {
      if (t.peer !== sa.peer) continue;
      if (t.negotiating !== undefined && t.negotiating > 0) {
        for (const q of this.exchanges.quick.values()) if (q.tunnel === t && !q.done && q.ike !== sa) this.qmDone(q);
        if (t.negotiating > 0 && ![...this.exchanges.quick.values()].some(q => q.tunnel === t && !q.done)) t.negotiating = undefined;
      }
      if (t.installed.length) { this.uninstall(t, t.installed.slice(), `${intToIp(sa.peer)} restarted (INITIAL-CONTACT)`); this.host.tunnelReady(t.ifl, false); }
    }
  }

  /** An SPI no other SA has (reserved until its SA goes, or its quick mode fails). */
  allocSpi(): Buffer {
    for (;;) {
      const b = randomBytes(4);
      const n = b.readUInt32BE(0);
      if (n > 0x10000 && !this.spis.has(n)) { this.spis.add(n); this.trace(`SPI 0x${n.toString(16)} reserved`, 'database'); return b; }
    }
  }
  /** A quick mode is over: its SPIs go back unless installed, its tunnel negotiates no more. */
  qmDone(qm: Qm): void {
    if (!qm.done && !qm.installed) for (const b of [qm.mySpi.esp, qm.mySpi.ah]) { this.spis.delete(b.readUInt32BE(0)); this.trace(`SPI 0x${b.readUInt32BE(0).toString(16)} released (quick mode 0x${qm.mid.toString(16)} failed)`, 'database'); }
    qm.done = true; this.exchanges.settle(qm); if (qm.tunnel.negotiating === qm.mid) qm.tunnel.negotiating = undefined;
  }

  uninstall(t: DynTunnel, which: Installed[], why: string): void {
    for (const x of which) {
      const inbound = [...(x.inSpi.esp !== undefined && x.choice.protocol === 'esp' ? [{ proto: 50, spi: x.inSpi.esp, dst: t.local }] : []), ...(x.inSpi.ah !== undefined ? [{ proto: 51, spi: x.inSpi.ah, dst: t.local }] : [])];
      this.trace(`remove from ${t.ifl}: inbound SPI ${inbound.map(i => `0x${i.spi.toString(16)}`).join(' ')}, outbound ${Object.values(x.outSpi).map(v => `0x${(v as number).toString(16)}`).join(' ')}`, 'routing-socket');
      this.host.remove(t.ifl, inbound, Object.values(x.outSpi));
      for (const s of Object.values(x.inSpi)) { this.spis.delete(s); this.trace(`SPI 0x${s.toString(16)} released`, 'database'); }
      const ike = this.ikeSas.get(x.ike); if (ike) ike.ipsecDeleted++;
      this.host.log(`KMD_PM_SA_DELETED: IPsec SA ${t.saName} on ${t.ifl} with ${intToIp(t.peer)} removed: ${why}`);
    }
    const had = t.installed.length;
    t.installed = t.installed.filter(x => !which.includes(x));
    // no outbound SA any more: the PFE queues the next packets and asks for a new one
    if (had && !t.installed.length) this.host.tunnelReady(t.ifl, false);
  }

  /** Tell the peer the SAs are gone (DELETE), then remove them here. */
  private deleteIpsec(t: DynTunnel, which: Installed[], why: string): void {
    const ike = this.ikeFor(t.peer) ?? [...this.ikeSas.values()].find(s => s.peer === t.peer && s.matured);
    for (const x of which) {
      if (ike) {
        for (const [p, v] of Object.entries(x.inSpi)) {
          const spi = Buffer.alloc(4); spi.writeUInt32BE(v as number);
          informationalOut(this, ike, [{ type: Pt.D, body: encodeDelete({ doi: DOI_IPSEC, protocol: p === 'ah' ? Proto.AH : Proto.ESP, spis: [spi] }) }]);
        }
      }
    }
    this.uninstall(t, which, why);
  }

  // ------------------------------------------------------------------------- operations

  /** `clear ike security-associations [PEER]`: delete the IKE SAs (the peer is told). */
  clearIke(peer?: number): number {
    let n = 0;
    for (const s of [...this.ikeSas.values()]) {
      if (peer !== undefined && s.peer !== peer) continue;
      this.deleteIke(s, 'cleared by root'); n++;
    }
    for (const t of this.tunnels.values()) if ((peer === undefined || t.peer === peer) && t.negotiating !== undefined) t.negotiating = undefined;
    this.trace(`clear ike security-associations${peer !== undefined ? ` ${intToIp(peer)}` : ''}: ${n} deleted`, 'general');
    return n;
  }
  /** `clear ipsec security-associations [SA]`: delete the negotiated pairs (the peer is told); traffic negotiates new ones. */
  clearIpsec(saName?: string): void {
    for (const t of this.tunnels.values()) {
      if (saName !== undefined && t.saName !== saName) continue;
      if (t.installed.length) this.deleteIpsec(t, t.installed.slice(), 'cleared by root');
      t.failedAt = undefined; t.lastError = undefined; t.lastErrorKind = undefined;
      this.host.tunnelReady(t.ifl, false);
    }
    this.trace(`clear ipsec security-associations${saName !== undefined ? ` ${saName}` : ''}`, 'general');
  }

  /**
   * An ES PIC lost its state (its worker died or hung and was replaced): the SAs kmd installed on its
   * es- interfaces are gone with it. The peer is told (DELETE) and new ones are negotiated at once,
   * so traffic resumes after one quick mode instead of waiting for the peer's INVALID-SPI.
   */
  picLost(ifls: string[], why: string): void {
    for (const t of this.tunnels.values()) {
      if (!ifls.includes(t.ifl) || !t.installed.length) continue;
      this.host.log(`KMD_PM_PIC_RESTART: IPsec SA ${t.saName} on ${t.ifl} with ${intToIp(t.peer)}: ${why}; deleted and negotiated again`);
      this.deleteIpsec(t, t.installed.slice(), why);
      t.failedAt = undefined; t.lastError = undefined; t.lastErrorKind = undefined;
      if (t.negotiating === undefined) this.negotiate(t);
    }
  }


  /** Timers: retransmissions, half-open expiry, lifetimes and rekeys. Called a few times a second. */
  tick(): void {
    const now = this.host.now(), life = this.life();
    for (const s of [...this.ikeSas.values()]) this.tickIke(s, now, life);
    this.keepalives(now);
    this.exchanges.tickQuickModes(now, ike => this.ikeSas.has(ike.key), (q, why, kind) => { this.qmDone(q); this.fail(q.tunnel, why, kind); });
    for (const t of this.tunnels.values()) this.tickTunnel(t, now, life);
  }

  /** An IKE SA's timers: half-open expiry, its unanswered message, its hard and soft lifetimes, its retirement. */
  private tickIke(s: IkeSa, now: number, life: number): void {
    const mode = MODE_NAME[s.mode];
    if (!s.matured && now - s.created > KMD_LIMITS.halfOpenMs) {
      this.trace(`half-open IKE SA ${hex(s.icookie)} with ${intToIp(s.peer)} expired after ${KMD_LIMITS.halfOpenMs} ms`, 'timer');
      this.dead(s, s.role === 'initiator' ? `the peer ${intToIp(s.peer)} did not complete ${mode} mode (does it answer UDP 500?)` : `the initiator did not complete ${mode} mode`, s.role === 'initiator' ? 'no-answer' : 'other');
      return;
    }
    if (this.exchanges.retransmit(s, s, now, () => `${mode} mode (${s.state})`) === 'gave-up') {
      const u = P1.unanswered(s);
      return this.dead(s, u.why, u.kind);
    }
    if (!s.matured) return;
    if (s.expiresAt !== undefined && life >= s.expiresAt) {
      // a quick mode under way on it ends first: the peer's last message must find it (bounded)
      if ([...this.exchanges.quick.values()].some(q => q.ike === s && !q.done)) {
        if (s.graceUntil === undefined) {
          s.graceUntil = now + KMD_LIMITS.expiryGraceMs;
          this.trace(`IKE SA ${hex(s.icookie)} with ${intToIp(s.peer)}: hard lifetime, kept until its quick mode ends`, 'timer');
        }
        if (now < s.graceUntil) return;
      }
      this.trace(`IKE SA ${hex(s.icookie)} with ${intToIp(s.peer)}: hard lifetime`, 'timer');
      return this.deleteIke(s, 'hard lifetime expired');
    }
    if (s.retireAt !== undefined && now >= s.retireAt) return this.deleteIke(s, 'replaced by a new IKE SA (rekey)');
    if (!s.rekeyed && s.softAt !== undefined && life >= s.softAt && s.retireAt === undefined) {
      s.rekeyed = true;
      const t = [...this.tunnels.values()].find(x => x.peer === s.peer && x.ike);
      const newer = [...this.ikeSas.values()].some(o => o !== s && o.peer === s.peer && o.state !== 'DEAD' && o.created > s.created);
      this.trace(`IKE SA ${hex(s.icookie)} with ${intToIp(s.peer)}: soft lifetime${!t ? ' (no tunnel needs it: not renewed)' : newer ? ' (a newer one exists)' : ''}`, 'timer');
      if (t && !newer) {
        this.host.log(`KMD_PM_P1_REKEY: IKE SA with ${intToIp(s.peer)} reaches its soft lifetime: negotiating a new one`);
        this.startPhase1(s.peer, s.local, t.ike!);
      }
    }
  }

  /** NAT keepalives (RFC 3948 4): a NAT before us forgets an idle mapping; one byte 0xff keeps it. */
  private keepalives(now: number): void {
    for (const s of this.ikeSas.values()) {
      if (!s.matured || !s.natt.here || !s.natt.floated || s.retireAt !== undefined) continue;
      if (s.keepaliveAt === undefined) s.keepaliveAt = now + KMD_LIMITS.keepaliveMs;
      if (now < s.keepaliveAt) continue;
      s.keepaliveAt = now + KMD_LIMITS.keepaliveMs;
      this.trace(`NAT keepalive to ${intToIp(s.peer)}:${s.port}`, 'timer');
      this.host.sendUdp(s.local, s.peer, NATT_PORT, s.port, Buffer.from([0xff]));
    }
  }

  /** A tunnel's SAs: hard lifetimes, retirement after a rekey, and the rekey at the soft lifetime. */
  private tickTunnel(t: DynTunnel, now: number, life: number): void {
    // hard lifetimes: the SA goes, the peer is told
    const gone = t.installed.filter(x => life >= x.created + x.lifetime * 1000);
    if (gone.length) { this.trace(`SA ${t.saName}: hard lifetime`, 'timer'); this.deleteIpsec(t, gone, 'hard lifetime expired'); }
    // replaced by a rekey a moment ago
    const retired = t.installed.filter(x => x.retireAt !== undefined && now >= x.retireAt);
    if (retired.length) this.deleteIpsec(t, retired, 'replaced by a new SA (rekey)');
    // soft lifetime of the SA in use: a new one before the hard lifetime
    const cur = t.installed[t.installed.length - 1];
    if (cur && cur.retireAt === undefined && life >= cur.softAt && t.negotiating === undefined && (cur.rekeyAt === undefined || now - cur.rekeyAt >= KMD_LIMITS.retryBackoffMs)) {
      this.trace(`SA ${t.saName}: soft lifetime (${cur.role}${cur.rekeyAt !== undefined ? ', the last attempt failed' : ''})`, 'timer');
      this.host.log(`KMD_PM_SA_REKEY: IPsec SA ${t.saName} on ${t.ifl} reaches its soft lifetime: negotiating a new one`);
      cur.rekeyAt = now;
      this.negotiate(t);
    }
  }

  /** What a tunnel has installed, for `show` and the diagnosis: SPIs, role, age and lifetimes. */
  installedOf(ifl: string): ReadonlyArray<Readonly<Installed>> { return this.tunnels.get(ifl)?.installed ?? []; }
  /** The lifetime clock, in seconds since an SA was created and until it expires. */
  lifeSeconds(x: Readonly<Installed>): { age: number; remaining: number; soft: number } {
    const life = this.life();
    return { age: Math.floor((life - x.created) / 1000), remaining: Math.max(0, Math.ceil((x.created + x.lifetime * 1000 - life) / 1000)), soft: Math.max(0, Math.ceil((x.softAt - life) / 1000)) };
  }
  /** Seconds until an IKE SA's hard lifetime, on the lifetime clock. */
  ikeRemaining(s: IkeSa): number | undefined { return s.expiresAt === undefined ? undefined : Math.max(0, Math.ceil((s.expiresAt - this.life()) / 1000)); }

  /** `show ike security-associations detail`: what kmd adds for one IKE SA (the chapter's update rule). */
  ikeDetailLines(s: IkeSa): string[] {
    return s.configFp !== undefined && s.configFp !== this.ikeFps.get(s.peer) ? ['  Negotiated under an older configuration: updates apply to new SAs (clear ike security-associations to apply them now)'] : [];
  }
  /** `show ipsec security-associations detail`: the proxy identities of a negotiated SA, and whether its configuration changed since. */
  saDetailLines(ifl: string, x: Readonly<Installed>): string[] {
    const t = this.tunnels.get(ifl);
    return [`    Local identity: ${junosIdentity(x.ids.local)}`, `    Remote identity: ${junosIdentity(x.ids.remote)}`,
      ...(t && t.fingerprint !== x.fingerprint ? ['    Negotiated under an older configuration: updates apply to new SAs (clear ipsec security-associations to apply them now)'] : [])];
  }

  /** how many SPIs are reserved (installed SAs' and quick modes' under way): a failed quick mode gives its back */
  reservedSpis(): number { return this.spis.size; }

  /** IKE SAs for `show ike security-associations` (failed ones too, so a learner sees why). */
  ikeSnapshot(): IkeSa[] { return [...this.ikeSas.values()]; }
}

function ipToIntSafe(s: string): number | undefined { try { return ipToInt(s); } catch { return undefined; } }
