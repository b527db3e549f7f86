/**
 * kmd, the router's key management daemon: IKEv1 (RFC 2407, 2408, 2409) with pre-shared keys, as
 * initiator and responder. Main mode builds an IKE SA with a peer; quick mode negotiates the IPsec SA
 * pair a dynamic security association asks for, and kmd installs it in the ES PIC. It runs in the
 * router process (as kmd runs on the Routing Engine) and speaks UDP 500 through the PFE like any
 * traffic for the router. Every malformed, unexpected or unauthenticated message is dropped and
 * counted with a reason; half-open state is bounded and expires; keys never reach a log.
 */
import { randomBytes, createHash, timingSafeEqual, X509Certificate, privateEncrypt, publicDecrypt, constants as cc } from 'node:crypto';
import type { RouterModel, IkePolicyModel, IpsecProposalModel, IpsecPolicyModel, IkeProposalModel } from '../config/model.js';
import type { DynamicSaPair } from '../../pics/es/core.js';
import type { SaSpec } from '../../pics/es/sa.js';
import { intToIp, ipToInt } from '../net/ip.js';
import {
  CERT_X509_SIG, Pt, Xchg, N, NOTIFY_NAMES, Proto, DOI_IPSEC, IdType, DH_GROUPS, FLAG_ENCRYPTION, EXCHANGE_NAMES, ISAKMP_PORT, NATT_PORT, VID_RFC3947,
} from './constants.js';
import {
  decodeHeader, decodePayloads, encodePayloads, decodeSa, decodeId, decodeNotify, decodeDelete, encodeMessage, encodeId, encodeNotify, encodeDelete,
  RawPayload, Header, HEADER_LEN, OutPayload,
} from './codec.js';
import { IkeSa, newCookie } from './ike-sa.js';
import { DhKey } from './dh.js';
import { DhBudget } from './dh-budget.js';
import { NATT_VID, NattContext, peerVid, natdPayloads, processNatd, float } from './natt.js';
import * as K from './keymat.js';
import { ikeSaBody, ikeSaReply, chooseIke, readIkeTransform, describeIke, describeIkeOffer, ipsecSaBody, ipsecSaReply, chooseIpsec, readIpsecReply, IpsecChoice, describeIpsec, describeIpsecOffer } from './proposals.js';
import type { PkiStore } from '../pki/store.js';
import { subjectDer, nameToString } from '../pki/store.js';
import { dssSign, dssVerify } from './dss.js';
import { proxyIds, ProxyIds, selectorId, idSelector, within, describeSelector, Selector } from './proxy.js';

/** What kmd needs of its router. */
export interface KmdHost {
  /** wall-clock milliseconds: retransmissions, back-offs, half-open expiry */
  now(): number;
  /** the clock SA lifetimes run on (a lab may run it faster to watch rekeys): milliseconds; `now` if absent */
  clock?(): number;
  /**
   * how much faster that clock runs than the wall clock (1 if absent). Lifetimes on the wire are in the
   * peer's seconds, the wall clock's: 180 of our seconds at rate 60 go out as 3, and a peer's 8 are 480 here.
   */
  clockRate?: number;
  /** send a UDP datagram from the router's own address */
  sendUdp(src: number, dst: number, srcPort: number, dstPort: number, payload: Buffer): void;
  /** install a negotiated pair for an es- interface (ES PIC, and the PFE's inbound SPI map) */
  install(ifl: string, pair: DynamicSaPair, inbound: Array<{ proto: number; spi: number; dst: number }>): void;
  remove(ifl: string, inbound: Array<{ proto: number; spi: number; dst: number }>, outboundSpis: number[]): void;
  /** the tunnel has an outbound SA (true: send what waited) or its negotiation failed (false: drop it) */
  tunnelReady(ifl: string, ready: boolean, why?: string): void;
  /** the kmd log (SA up and down, failures): never keys */
  log(msg: string): void;
  /** traceoptions (`flag` as in [edit security traceoptions]) */
  trace?(flag: TraceFlag, msg: string): void;
  /** the router's certificates (rsa-signatures, dsa-signatures); without it only pre-shared keys work */
  pki?: PkiStore;
}
export type TraceFlag = 'ike' | 'policy-manager' | 'database' | 'timer' | 'general' | 'parse' | 'routing-socket';

export const KMD_LIMITS = {
  halfOpen: 64,            // IKE SAs not yet matured, at once
  halfOpenMs: 30_000,      // and how long one may stay so
  retransmitMs: 2000,      // first retransmission of an unanswered message; doubles each time
  retransmits: 4,          // then the exchange fails
  quickModes: 32,          // quick modes in progress per IKE SA
  retryBackoffMs: 5000,    // after a failed negotiation, traffic does not restart one before this
  rekeyGraceMs: 1000,      // an SA replaced by a rekey is deleted this long after the new one is in
  badSpiMs: 5000,          // at most one INVALID-SPI (or IKE start for one) per peer in this time
  outboundDelayMs: 50,     // an Aggressive mode initiator's first quick mode waits this long after message 3
  peerInstallMs: 50,       // a quick mode initiator's outbound SA goes in this long after message 3 (the peer installs on it)
  expiryGraceMs: 10_000,   // an IKE SA past its hard lifetime lives on this long at most for a quick mode under way on it
  keepaliveMs: 5_000,      // NAT keepalives (RFC 3948 4) when a NAT is before us (later JUNOS: nat-keepalive 5 s)
  /** responder Diffie-Hellman exchanges (Aggressive mode message 1, Main mode message 3): per peer, and in all */
  dhPerPeer: { rate: 10, burst: 3 },
  dhTotal: { rate: 40, burst: 8 },
};
/**
 * Soft lifetimes, as a share of the hard one: the side that negotiated an SA renegotiates it first;
 * the other side only if nothing new came by its later soft lifetime (so both do not at once).
 */
export const SOFT = { initiator: 0.9, responder: 0.95 } as const;
/**
 * ...and at least this long (wall ms) before the hard lifetime, so that a negotiation (phase 1 and
 * quick mode, a retransmission) fits before the old SA goes, even on a lab's faster clock.
 */
export const SOFT_MARGIN_MS = { initiator: 1500, responder: 750 } as const;

/** Why a negotiation failed, for the diagnosis. */
export type FailureKind = 'no-answer' | 'no-proposal' | 'auth' | 'cert' | 'proxy' | 'no-policy' | 'mode' | 'other';

interface Installed {
  inSpi: { esp?: number; ah?: number }; outSpi: { esp?: number; ah?: number };
  /** on the lifetime clock */
  created: number; softAt: number; lifetime: number;
  ike: string; choice: IpsecChoice; role: 'initiator' | 'responder';
  /** when a rekey of it started (wall clock) */
  rekeyAt?: number;
  /** replaced: deleted (DELETE to the peer) at this time (wall clock) */
  retireAt?: number;
  /** the tunnel's configuration it was negotiated under (a commit since may have changed it) */
  fingerprint: string;
  /** the proxy identities it was negotiated for: our side and the peer's */
  ids: { local: Selector; remote: Selector };
}
/** A dynamic SA on an es- interface: what to negotiate, with whom, and what is installed. */
export interface DynTunnel {
  ifl: string; saName: string; peer: number; local: number;
  ike?: IkePolicyModel; policy: IpsecPolicyModel; proposals: IpsecProposalModel[]; pfsGroup?: number;
  replayWindow: 32 | 64; proxy: ProxyIds;
  /** what the negotiation depends on: installed SAs negotiated under another one say so in `show` */
  fingerprint: string;
  installed: Installed[];
  negotiating?: number;   // quick mode M-ID (-1: waiting for phase 1)
  lastError?: string; lastErrorKind?: FailureKind; failedAt?: number;
  /** rekeys done, for `show` and tests */
  rekeys: number;
  /** when an SA was last installed (wall clock): failures before it are history */
  upAt?: number;
}

interface QuickMode {
  mid: number; role: 'initiator' | 'responder'; tunnel: DynTunnel; ike: IkeSa;
  ni: Buffer; nr?: Buffer; dh?: DhKey;
  gx?: Buffer; gyPeer?: Buffer;
  mySpi: { esp: Buffer; ah: Buffer };
  choice?: IpsecChoice;
  ids: { ci: Selector; cr: Selector };
  lastSent?: Buffer; lastRecv?: Buffer; retries: number; nextRetry: number; awaiting: boolean;
  /** the lastRecv that lastSent answers (see IkeSa.sentFor) */
  sentFor?: Buffer;
  done: boolean;
  /** installed: its SPIs are the SAs' (else a failed quick mode gives them back) */
  installed?: boolean;
}

const hex = (b: Buffer) => b.toString('hex');
/** IKE hashes and signatures compared in constant time */
const hashEq = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
/** RFC 3948 2.2: IKE on UDP 4500 starts with four zero bytes (an SPI no ESP packet has) */
const NON_ESP_MARKER = Buffer.alloc(4);
const spiNum = (b: Buffer | undefined) => (b && b.length === 4 ? b.readUInt32BE(0) : undefined);
const MODE_NAME = { main: 'Main', aggressive: 'Aggressive' } as const;
const digest = (x: unknown) => createHash('sha256').update(JSON.stringify(x, (_k, v) => (Buffer.isBuffer(v) || (v && v.type === 'Buffer') ? createHash('sha256').update(Buffer.from(v)).digest('hex') : v))).digest('hex').slice(0, 16);

export class Kmd {
  readonly ikeSas = new Map<string, IkeSa>();
  readonly tunnels = new Map<string, DynTunnel>();
  private qms = new Map<string, QuickMode>();   // `${ike key}/${mid}`
  readonly drops = new Map<string, number>();
  model?: RouterModel;
  /** the SPIs we handed out, so no two SAs share one */
  private spis = new Set<number>();
  /** peers with which an IKE SA matured since kmd started (the first one says INITIAL-CONTACT) */
  private contacted = new Set<number>();
  private badSpiAt = new Map<number, number>();
  private ikeFps = new Map<number, string>();
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
  constructor(private host: KmdHost) {
    this.dhBudget = new DhBudget(() => host.now(), m => host.log(m), KMD_LIMITS.dhPerPeer, KMD_LIMITS.dhTotal);
  }

  /** events that are no drops (NAT keepalives received, ...) */
  readonly counters = new Map<string, number>();
  count(what: string): void { this.counters.set(what, (this.counters.get(what) ?? 0) + 1); }
  private get rate(): number { return this.host.clockRate ?? 1; }
  /** our lifetime (seconds on the lifetime clock) as the peer counts it, and back */
  private toWire(s: number): number { return Math.max(1, Math.round(s / this.rate)); }
  private fromWire(s: number): number { return s * this.rate; }
  private wireProps<T extends { lifetimeSeconds: number }>(props: T[]): T[] { return this.rate === 1 ? props : props.map(p => ({ ...p, lifetimeSeconds: this.toWire(p.lifetimeSeconds) })); }
  private life(): number { return this.host.clock?.() ?? this.host.now(); }
  /** The soft lifetime of an SA of `ms` (lifetime clock) made now in `role`, on the lifetime clock. */
  private softAt(life: number, ms: number, role: 'initiator' | 'responder'): number {
    return life + Math.max(ms * 0.5, Math.min(ms * SOFT[role], ms - SOFT_MARGIN_MS[role] * this.rate));
  }
  private drop(reason: string, detail?: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.host.trace?.('ike', `dropped: ${reason}${detail ? ` (${detail})` : ''}`);
  }
  private trace(msg: string, flag: TraceFlag = 'ike'): void { this.host.trace?.(flag, msg); }

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
    const go = (s: IkeSa) => this.startQuickMode(s, t);
    const ready = this.ikeFor(t.peer), pending = this.pendingIke(t.peer);
    // an IKE SA past its soft lifetime is on its way out: when its successor is under way, quick
    // mode waits for that one rather than race the old one's hard lifetime
    if (ready && !(ready.rekeyed && pending)) { go(ready); return; }
    if (pending) { pending.waiting.push(() => go(pending)); return; }
    const s = this.startPhase1(t.peer, t.local, t.ike);
    if (s) s.waiting.push(() => go(s));
    else this.fail(t, this.cannotStart ?? `IKE policy ${t.ike.peer} has no usable proposal`, this.cannotStart ? 'cert' : 'no-proposal');
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

  private fail(t: DynTunnel, why: string, kind: FailureKind = 'other'): void {
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
  private acceptFloat(sa: IkeSa): void {
    const f = this.floatTo;
    if (!f || f.sa !== sa) return;
    this.trace(`${intToIp(sa.peer)} floats to UDP ${NATT_PORT} (its port ${f.port})`);
    sa.natt.floated = true; sa.port = f.port;
    this.floatTo = undefined;
  }
  private dispatch(sa: IkeSa | undefined, hd: Header, m: Buffer, src: number, dst: number, srcPort: number, natt: boolean): void {
    this.trace(`<- ${intToIp(src)}:${srcPort} ${EXCHANGE_NAMES[hd.exchange] ?? `exchange ${hd.exchange}`} ${m.length} bytes, cookies ${hex(hd.icookie)}/${hex(hd.rcookie)}${hd.mid ? `, message ID 0x${hd.mid.toString(16)}` : ''}${hd.flags & FLAG_ENCRYPTION ? ', encrypted' : ''}`);
    if (hd.exchange === Xchg.INFORMATIONAL) return this.informational(sa, hd, m, src);
    if (!sa) {
      const first = (hd.exchange === Xchg.MAIN || hd.exchange === Xchg.AGGRESSIVE) && hd.rcookie.every(b => b === 0) && !(hd.flags & FLAG_ENCRYPTION);
      if (!first || natt) return this.drop('ike-unknown-sa', `${EXCHANGE_NAMES[hd.exchange] ?? hd.exchange} from ${intToIp(src)}`);
      this.respondPhase1(hd, m, src, dst, srcPort);
      return;
    }
    // a retransmission of what we already answered: the same answer again. Only an answer is sent
    // again, and not while we wait for the peer's (our timer resends then): a copy of the peer's answer
    // gets nothing, else one duplicated frame sets off an endless exchange of copies (each side's
    // resend the other's duplicate), and a link that duplicates doubles every message of the exchange
    if (sa.lastRecv && m.equals(sa.lastRecv)) { if (sa.lastSent && sa.sentFor === sa.lastRecv && !sa.awaiting) this.send(sa, sa.lastSent); return this.drop('ike-retransmission'); }
    if (hd.exchange === Xchg.MAIN) return sa.mode === 'main' ? this.mainMode(sa, hd, m) : this.drop('ike-unexpected-main-mode', intToIp(src));
    if (hd.exchange === Xchg.AGGRESSIVE) return sa.mode === 'aggressive' ? this.aggressiveMode(sa, hd, m) : this.drop('ike-unexpected-aggressive-mode', intToIp(src));
    if (hd.exchange === Xchg.QUICK) return this.quickMode(sa, hd, m);
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
    const tell = (s: IkeSa) => this.informationalOut(s, [{ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: proto === 51 ? Proto.AH : Proto.ESP, spi: spiB, type: N.INVALID_SPI, data: Buffer.alloc(0) }) }]);
    const ike = this.ikeFor(src);
    if (ike) return tell(ike);
    const pending = this.pendingIke(src);
    if (pending) { pending.waiting.push(() => tell(pending)); return; }
    const s = this.startPhase1(src, dst, t.ike);
    if (s) s.waiting.push(() => tell(s));
  }

  private send(sa: IkeSa, msg: Buffer): void {
    sa.stats.outBytes += msg.length; sa.stats.outPackets++;
    if (sa.natt.floated) this.host.sendUdp(sa.local, sa.peer, NATT_PORT, sa.port, Buffer.concat([NON_ESP_MARKER, msg]));
    else this.host.sendUdp(sa.local, sa.peer, ISAKMP_PORT, sa.port, msg);
  }

  // ------------------------------------------------------------------------- NAT traversal (RFC 3947)

  private static readonly VID = NATT_VID;
  private natx: NattContext = { trace: (m, f) => this.trace(m, f), log: m => this.host.log(m) };
  private peerVid(sa: IkeSa, payloads: RawPayload[]): void { peerVid(this.natx, sa, payloads); }
  private natdPayloads(sa: IkeSa): OutPayload[] { return natdPayloads(sa); }
  private processNatd(sa: IkeSa, payloads: RawPayload[], myPort: number): void { processNatd(this.natx, sa, payloads, myPort); }
  private float(sa: IkeSa): void { float(this.natx, sa); }
  /** Send, remember as the last message, and retransmit it until a reply comes when `await` is set. */
  private sendMain(sa: IkeSa, msg: Buffer, awaitReply: boolean): void {
    sa.lastSent = msg; sa.sentFor = sa.lastRecv;
    sa.awaiting = awaitReply; sa.retries = 0; sa.nextRetry = this.host.now() + KMD_LIMITS.retransmitMs;
    this.send(sa, msg);
  }

  // ------------------------------------------------------------------------- phase 1

  /** why the last startPhase1 could not start (our own credentials) */
  private cannotStart?: string;
  private startPhase1(peer: number, local: number, policy: IkePolicyModel): IkeSa | undefined {
    this.cannotStart = undefined;
    let props = this.ikeProposals(policy);
    if (!props.length) return undefined;
    if (policy.mode === 'aggressive') {
      // one KE payload goes with the offer: only proposals of the first one's Diffie-Hellman group
      const g = props[0]!.dhGroup;
      const all = props;
      // and of its authentication method: the ID payload goes with the offer too (an address, or a DN)
      const m = props[0]!.authenticationMethod;
      props = props.filter(p => p.dhGroup === g && p.authenticationMethod === m);
      if (props.length < all.length) this.trace(`Aggressive mode with ${intToIp(peer)}: only the proposals of ${g} and ${m} are offered (${all.filter(p => !props.includes(p)).map(p => p.name).join(', ')} left out)`, 'policy-manager');
    }
    const sa = new IkeSa('initiator', peer, local, policy, newCookie(), this.host.now(), ISAKMP_PORT, policy.mode);
    sa.configFp = this.ikeFps.get(peer);
    if (policy.mode === 'aggressive') {
      sa.method = props[0]!.authenticationMethod;
      const notReady = this.authReady(sa);
      if (notReady) {
        this.cannotStart = `we cannot authenticate with ${sa.method}: ${notReady}`;
        this.host.log(`KMD_PM_P1_FAILED: IKE phase 1 with ${intToIp(peer)} not started: ${this.cannotStart}`);
        this.failures.set(peer, { why: this.cannotStart, at: this.host.now(), role: 'initiator', kind: 'cert', mode: 'aggressive' });
        return undefined;
      }
    }
    this.ikeSas.set(sa.key, sa);
    sa.saiB = ikeSaBody(this.wireProps(props));
    sa.offered = props.map(p => describeIke({ encryption: p.encryptionAlgorithm, hash: p.authenticationAlgorithm, method: p.authenticationMethod, group: p.dhGroup })).join(', ');
    this.trace(`IKE policy ${policy.peer} for ${intToIp(peer)}: ${MODE_NAME[policy.mode]} mode, proposals ${props.map(p => p.name).join(', ')}`, 'policy-manager');
    this.trace(`IKE SA ${hex(sa.icookie)} with ${intToIp(peer)} created (initiator)`, 'database');
    this.host.log(`KMD_PM_P1_START: IKE phase 1 (${MODE_NAME[sa.mode]} mode) with ${intToIp(peer)} initiated`);
    if (sa.mode === 'main') {
      this.trace(`-> ${intToIp(peer)} Main mode message 1: SA (${sa.offered})`);
      this.sendMain(sa, encodeMessage({ icookie: sa.icookie, rcookie: sa.rcookie, exchange: Xchg.MAIN, flags: 0, mid: 0 }, [{ type: Pt.SA, body: sa.saiB }, Kmd.VID]), true);
      return sa;
    }
    sa.state = 'AM1';
    sa.gxi = sa.startDh(props[0]!.dhGroup); sa.ni = randomBytes(32);
    sa.idMineB = this.myId(sa);
    this.trace(`-> ${intToIp(peer)} Aggressive mode message 1: SA (${sa.offered}), KE, Ni, IDii ${sa.localId}${this.sig(sa) ? ', CERT_REQ' : ''}`);
    this.sendMain(sa, encodeMessage({ icookie: sa.icookie, rcookie: sa.rcookie, exchange: Xchg.AGGRESSIVE, flags: 0, mid: 0 },
      [{ type: Pt.SA, body: sa.saiB }, { type: Pt.KE, body: sa.gxi }, { type: Pt.NONCE, body: sa.ni }, { type: Pt.ID, body: sa.idMineB }, ...this.certReq(sa), Kmd.VID]), true);
    return sa;
  }

  private ikeProposals(policy: IkePolicyModel): IkeProposalModel[] {
    return policy.proposals.map(n => this.model?.ike.proposals.get(n)).filter((p): p is IkeProposalModel => !!p && (p.authenticationMethod === 'pre-shared-keys' || !!this.host.pki));
  }

  // ------------------------------------------------------------------------- authentication

  private sig(sa: IkeSa): boolean { return (sa.choice?.method ?? sa.method) !== 'pre-shared-keys'; }
  /**
   * Ready to authenticate with the method chosen: the pre-shared key, or our certificate and key pair
   * (of the method's kind). Undefined when ready, else why not.
   */
  private authReady(sa: IkeSa): string | undefined {
    const method = sa.choice?.method ?? sa.method ?? 'pre-shared-keys';
    if (method === 'pre-shared-keys') return sa.policy.preSharedKey ? undefined : `IKE policy ${sa.policy.peer} has no pre-shared-key`;
    if (sa.auth) return undefined;
    const pki = this.host.pki;
    if (!pki) return 'no certificate support';
    void pki.refreshLdap();   // CRLs from LDAP not fetched within the hour: fetched now, for the next negotiation
    const l = pki.local(sa.policy);
    if ('error' in l) return l.error;
    const want = method === 'rsa-signatures' ? 'rsa' : 'dsa';
    if (l.key.asymmetricKeyType !== want) return `${method} needs a ${want.toUpperCase()} key pair; local-key-pair ${sa.policy.localKeyPair} is ${l.key.asymmetricKeyType?.toUpperCase()}`;
    if (l.warning) this.host.log(`KMD_CERT_LOCAL_INVALID: ${l.warning}`);
    sa.auth = l;
    return undefined;
  }
  /** Derive the keys (SKEYID from the pre-shared key or from g^xy); false (and the SA dead) if it fails. */
  private derive(sa: IkeSa): boolean {
    try { sa.deriveKeys(this.sig(sa) ? undefined : sa.policy.preSharedKey); return true; } catch { this.dead(sa, 'Diffie-Hellman failed (a bad public value)'); return false; }
  }
  /** CERT_REQ payloads naming our CAs (signatures only): the peer sends its certificate for one of them. */
  private certReq(sa: IkeSa): OutPayload[] {
    if (!this.sig(sa) || !this.host.pki) return [];
    const names = this.host.pki.caNames();
    return (names.length ? names : [Buffer.alloc(0)]).slice(0, 8).map(n => ({ type: Pt.CR, body: Buffer.concat([Buffer.from([CERT_X509_SIG]), n]) }));
  }
  /** What proves us: HASH (pre-shared keys), or our certificate(s) and SIG, the signature of the hash. */
  private authOut(sa: IkeSa, hash: Buffer): OutPayload[] {
    if (!this.sig(sa)) return [{ type: Pt.HASH, body: hash }];
    const a = sa.auth!;
    const sigBody = a.key.asymmetricKeyType === 'rsa' ? privateEncrypt({ key: a.key, padding: cc.RSA_PKCS1_PADDING }, hash) : dssSign(hash, a.key);
    return [a.cert, ...a.chain].map(c => ({ type: Pt.CERT, body: Buffer.concat([Buffer.from([CERT_X509_SIG]), c.raw]) } as OutPayload)).concat([{ type: Pt.SIG, body: sigBody }]);
  }
  /**
   * Does the peer prove itself? HASH against the hash we compute, or (signatures) its certificate checked
   * against our CAs, its ID against the certificate and the policy's identity, and SIG against the hash.
   */
  private authIn(sa: IkeSa, payloads: RawPayload[], idBody: Buffer, want: Buffer): { why: string; kind: FailureKind; notify: number } | undefined {
    if (!this.sig(sa)) {
      const h = payloads.find(x => x.type === Pt.HASH);
      return h && hashEq(want, h.body) ? undefined : { why: h ? 'HASH does not match' : 'no HASH payload', kind: 'auth', notify: N.AUTHENTICATION_FAILED };
    }
    const sigP = payloads.find(x => x.type === Pt.SIG);
    if (!sigP) return { why: 'no SIG payload: the keys differ or the peer authenticates otherwise', kind: 'auth', notify: N.AUTHENTICATION_FAILED };
    const certs: X509Certificate[] = [];
    for (const p of payloads.filter(x => x.type === Pt.CERT).slice(0, 8)) {
      if (p.body[0] !== CERT_X509_SIG) continue;
      try { certs.push(new X509Certificate(p.body.subarray(1))); } catch { return { why: 'a CERT payload is not an X.509 certificate', kind: 'cert', notify: N.INVALID_CERT_ENCODING }; }
    }
    // the certificate whose key signs comes first; a peer that sent none may be one we know already
    const pki = this.host.pki!;
    if (!certs.length) {
      const known = [...pki.peers.values()].filter(c => c.peer === intToIp(sa.peer)).pop();
      if (known) certs.push(known.cert);
    }
    const id = decodeId(idBody);
    if (!id.ok) return { why: 'the peer\'s ID payload is malformed', kind: 'auth', notify: N.INVALID_ID_INFORMATION };
    const v = pki.check(certs, { type: id.value.type, data: id.value.data }, sa.policy);
    if (!v.ok) {
      this.trace(`certificate of ${intToIp(sa.peer)} refused: ${v.why}`, 'policy-manager');
      return { why: `certificate refused (${v.kind}): ${v.why}`, kind: 'cert', notify: v.kind === 'identity' ? N.INVALID_ID_INFORMATION : v.kind === 'untrusted' ? N.INVALID_CERT_AUTHORITY : N.INVALID_CERTIFICATE };
    }
    const key = v.cert.publicKey;
    const method = sa.choice!.method;
    const ok = method === 'rsa-signatures'
      ? key.asymmetricKeyType === 'rsa' && (() => { try { return hashEq(publicDecrypt({ key, padding: cc.RSA_PKCS1_PADDING }, sigP.body), want); } catch { return false; } })()
      : key.asymmetricKeyType === 'dsa' && dssVerify(want, sigP.body, key);
    if (!ok) return { why: `the signature does not verify with the peer's certificate (${v.cert.subject.split('\n').join(', ')}, ${key.asymmetricKeyType?.toUpperCase()} key, ${method})`, kind: 'auth', notify: N.INVALID_SIGNATURE };
    sa.peerCert = v.cert;
    pki.seen(intToIp(sa.peer), v.cert);
    this.trace(`certificate of ${intToIp(sa.peer)} accepted: ${v.cert.subject.split('\n').join(', ')} (serial ${BigInt(`0x${v.cert.serialNumber}`)}), by ${v.anchor.profile}`, 'policy-manager');
    return undefined;
  }

  /** The first message of a phase 1 from a peer: Main mode message 1, or Aggressive mode message 1. */
  private respondPhase1(hd: Header, m: Buffer, src: number, dst: number, srcPort: number): void {
    const mode = hd.exchange === Xchg.AGGRESSIVE ? 'aggressive' : 'main';
    const policy = this.model?.ike.policies.get(intToIp(src));
    if (!policy) {
      this.host.log(`KMD_PM_NO_POLICY: IKE from ${intToIp(src)} refused: no IKE policy for that peer`);
      this.notifyClear(hd, src, dst, srcPort, N.NO_PROPOSAL_CHOSEN);
      return this.drop('ike-no-policy', intToIp(src));
    }
    const p = decodePayloads(m.subarray(HEADER_LEN), hd.next, false);
    const saP = p.ok ? p.value.find(x => x.type === Pt.SA) : undefined;
    const sa = saP ? decodeSa(saP.body) : undefined;
    if (!sa?.ok) return this.drop('ike-malformed', p.ok ? (sa && !sa.ok ? sa.reason : 'no SA payload') : p.reason);
    const get = (t: number) => (p.ok ? p.value.find(x => x.type === t) : undefined);
    const ke = get(Pt.KE), nonce = get(Pt.NONCE), idP = get(Pt.ID);
    if (mode === 'aggressive' && (!ke || !nonce || nonce.body.length < 8 || nonce.body.length > 256 || !idP)) return this.drop('ike-malformed', 'Aggressive mode message 1 without KE, nonce and ID');
    const ours = this.ikeProposals(policy);
    const chosen = chooseIke(sa.value, ours);
    if ('error' in chosen) {
      const offer = describeIkeOffer(sa.value);
      const mine = ours.map(o => describeIke({ encryption: o.encryptionAlgorithm, hash: o.authenticationAlgorithm, method: o.authenticationMethod, group: o.dhGroup })).join(', ');
      this.host.log(`KMD_PM_P1_NO_PROPOSAL: IKE phase 1 from ${intToIp(src)}: no proposal chosen (peer offered: ${offer}; ours: ${mine || 'none'})`);
      this.lastOffers.set(src, { theirs: offer, ours: mine, at: this.host.now(), phase: 1 });
      this.failures.set(src, { why: `no proposal chosen: the peer offered ${offer}; ours are ${mine || 'none'}`, at: this.host.now(), role: 'responder', kind: 'no-proposal', mode });
      this.notifyClear(hd, src, dst, srcPort, N.NO_PROPOSAL_CHOSEN);
      return this.drop('ike-no-proposal-chosen', intToIp(src));
    }
    this.trace(`IKE policy ${policy.peer} for ${intToIp(src)}: chose ${describeIke(chosen.choice)} (our proposal ${chosen.ours.name}) from ${describeIkeOffer(sa.value)}`, 'policy-manager');
    if (chosen.choice.method === 'pre-shared-keys' && !policy.preSharedKey) {
      this.notifyClear(hd, src, dst, srcPort, N.AUTHENTICATION_FAILED);
      return this.drop('ike-no-pre-shared-key', intToIp(src));
    }
    if (mode === 'aggressive' && ke!.body.length !== DH_GROUPS[chosen.choice.group === 'group1' ? 1 : 2]!.bytes) return this.drop('ike-malformed', 'Aggressive mode KE of another group than the proposal chosen');
    if (policy.mode !== mode) {
      // the chapter: "the remote peer accepts the mode sent by the peer"
      this.modeNotes.set(src, { theirs: mode, ours: policy.mode, at: this.host.now() });
      this.host.log(`KMD_PM_P1_MODE: ${intToIp(src)} initiates in ${MODE_NAME[mode]} mode; the IKE policy says ${policy.mode}: accepted (the responder accepts the initiator's mode)`);
    }
    // Aggressive mode: the Diffie-Hellman work comes now, before any round trip: rationed
    if (mode === 'aggressive' && !this.dhBudget.take(src, intToIp(src))) return this.drop('ike-dh-rate-limited', intToIp(src));
    if (!this.makeRoom()) return this.drop('ike-half-open-full', intToIp(src));
    const s = new IkeSa('responder', src, dst, policy, Buffer.from(hd.icookie), this.host.now(), srcPort, mode);
    s.configFp = this.ikeFps.get(src);
    s.rcookie = newCookie();
    s.choice = { ...chosen.choice, lifetimeSeconds: Math.min(this.fromWire(chosen.choice.lifetimeSeconds), chosen.ours.lifetimeSeconds) };
    const notReady = this.authReady(s);
    if (notReady) {
      this.host.log(`KMD_PM_P1_FAILED: IKE phase 1 from ${intToIp(src)} refused: we cannot authenticate with ${chosen.choice.method}: ${notReady}`);
      this.failures.set(src, { why: `we cannot authenticate with ${chosen.choice.method}: ${notReady}`, at: this.host.now(), role: 'responder', kind: 'cert', mode });
      this.notifyClear(hd, src, dst, srcPort, N.AUTHENTICATION_FAILED);
      return this.drop('ike-no-local-credentials', intToIp(src));
    }
    s.saiB = Buffer.from(saP!.body);
    s.offered = describeIkeOffer(sa.value);
    this.ikeSas.set(s.key, s);
    s.lastRecv = Buffer.from(m);
    if (p.ok) this.peerVid(s, p.value);
    this.trace(`IKE SA ${hex(s.icookie)} with ${intToIp(src)} created (responder)`, 'database');
    this.host.log(`KMD_PM_P1_START: IKE phase 1 (${MODE_NAME[mode]} mode) from ${intToIp(src)}`);
    if (mode === 'main') {
      this.trace(`<- ${intToIp(src)} Main mode message 1; chose ${describeIke(s.choice)}; -> message 2`);
      this.sendMain(s, encodeMessage({ icookie: s.icookie, rcookie: s.rcookie, exchange: Xchg.MAIN, flags: 0, mid: 0 }, [{ type: Pt.SA, body: ikeSaReply(chosen.transform) }, ...(s.natt.peerSupports ? [Kmd.VID] : [])]), false);
      s.state = 'MM3';
      return;
    }
    s.gxi = Buffer.from(ke!.body); s.ni = Buffer.from(nonce!.body);
    s.idPeerB = Buffer.from(idP!.body); s.remoteId = describeId(idP!.body);
    s.gxr = s.startDh(); s.nr = randomBytes(32);
    if (!this.derive(s)) return;
    s.idMineB = this.myId(s);
    const hash = K.hashR(s.hashAlg, s.skeyid!, s.gxi, s.gxr, s.icookie, s.rcookie, s.saiB, s.idMineB);
    this.trace(`<- ${intToIp(src)} Aggressive mode message 1 (IDii ${s.remoteId}); chose ${describeIke(s.choice)}; -> message 2: SA, KE, Nr, IDir, ${this.sig(s) ? 'CERT, SIG_R' : 'HASH_R'}`);
    s.state = 'AM2';
    // awaited: message 3 authenticates the initiator; without it (lost) this message goes again
    this.sendMain(s, encodeMessage({ icookie: s.icookie, rcookie: s.rcookie, exchange: Xchg.AGGRESSIVE, flags: 0, mid: 0 },
      [{ type: Pt.SA, body: ikeSaReply(chosen.transform) }, { type: Pt.KE, body: s.gxr }, { type: Pt.NONCE, body: s.nr }, { type: Pt.ID, body: s.idMineB }, ...this.certReq(s), ...this.authOut(s, hash),
        ...(s.natt.peerSupports ? [Kmd.VID, ...this.natdPayloads(s)] : [])]), true);
  }

  /**
   * Half-open state is bounded: at the limit, the oldest responder negotiation that has not had its
   * message 3 goes (a flood of first messages, spoofed or not, cannot lock the real peers out for
   * good); one past message 3 (Main mode: the peer came back with our cookie) is never evicted, and
   * when all are, the new one is refused.
   */
  private makeRoom(): boolean {
    const halfOpen = [...this.ikeSas.values()].filter(s => !s.matured && s.role === 'responder' && s.state !== 'DEAD');
    if (halfOpen.length < KMD_LIMITS.halfOpen) return true;
    const victim = halfOpen.find(s => s.state === 'MM3' || s.state === 'AM2');
    if (!victim) return false;
    this.ikeSas.delete(victim.key); victim.state = 'DEAD';
    this.drop('ike-half-open-evicted', intToIp(victim.peer));
    return true;
  }

  /** Notifies that ride in an authenticated phase 1 message (INITIAL-CONTACT). */
  private phase1Notifies(sa: IkeSa, payloads: RawPayload[]): void {
    for (const p of payloads) {
      if (p.type !== Pt.N) continue;
      const d = decodeNotify(p.body);
      if (d.ok && d.value.type === N.INITIAL_CONTACT) this.initialContact(sa);
    }
  }
  /** INITIAL-CONTACT for a new phase 1 with us, if we have had none with this peer since we started. */
  private initialContactPayload(sa: IkeSa): OutPayload[] {
    if (this.contacted.has(sa.peer)) return [];
    this.trace(`first IKE SA with ${intToIp(sa.peer)} since kmd started: INITIAL-CONTACT`, 'general');
    return [{ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spi: Buffer.concat([sa.icookie, sa.rcookie]), type: N.INITIAL_CONTACT, data: Buffer.alloc(0) }) }];
  }
  /** The peer has lost its state (it restarted): every other SA with it is stale. */
  private initialContact(sa: IkeSa): void {
    this.host.log(`KMD_PM_INITIAL_CONTACT: ${intToIp(sa.peer)} starts afresh (INITIAL-CONTACT): its older IKE and IPsec SAs are removed`);
    for (const o of [...this.ikeSas.values()]) if (o !== sa && o.peer === sa.peer && o.matured) {
      o.state = 'DEAD'; this.ikeSas.delete(o.key);
      this.trace(`IKE SA ${hex(o.icookie)} with ${intToIp(o.peer)} removed (INITIAL-CONTACT)`, 'database');
    }
    for (const t of this.tunnels.values()) {
      if (t.peer !== sa.peer) continue;
      if (t.negotiating !== undefined && t.negotiating > 0) {
        for (const q of this.qms.values()) if (q.tunnel === t && !q.done && q.ike !== sa) this.qmDone(q);
        if (t.negotiating > 0 && ![...this.qms.values()].some(q => q.tunnel === t && !q.done)) t.negotiating = undefined;
      }
      if (t.installed.length) { this.uninstall(t, t.installed.slice(), `${intToIp(sa.peer)} restarted (INITIAL-CONTACT)`); this.host.tunnelReady(t.ifl, false); }
    }
  }

  private mainMode(sa: IkeSa, hd: Header, m: Buffer): void {
    if (sa.matured) return this.drop('ike-unexpected-main-mode', intToIp(sa.peer));
    const encrypted = (hd.flags & FLAG_ENCRYPTION) !== 0;
    let payloads: RawPayload[];
    let commit = () => {};
    if (encrypted) {
      if (!sa.ka) return this.drop('ike-encrypted-too-early');
      const o = sa.open(hd, m);
      if (!o.ok) return this.authFailed(sa, hd, `${o.reason}: the message did not decrypt`);
      payloads = o.value.payloads; commit = o.value.commit;
    } else {
      const p = decodePayloads(m.subarray(HEADER_LEN, hd.length), hd.next, false);
      if (!p.ok) return this.drop(`ike-${p.reason}`);
      payloads = p.value;
    }
    const get = (t: number) => payloads.find(x => x.type === t);
    if (sa.role === 'initiator') {
      if (sa.state === 'MM1') {                                      // message 2: the responder's choice
        if (encrypted) return this.drop('ike-unexpected-encryption');
        const c = this.readChoice(sa, get(Pt.SA));
        if (typeof c === 'string') return c === 'malformed' ? this.drop('ike-malformed', 'message 2 without a usable SA') : this.dead(sa, c);
        sa.rcookie = Buffer.from(hd.rcookie);
        const notReady = this.authReady(sa);
        if (notReady) return this.dead(sa, `we cannot authenticate with ${sa.choice!.method}: ${notReady}`, 'cert');
        this.peerVid(sa, payloads);
        sa.gxi = sa.startDh(); sa.ni = randomBytes(32);
        sa.lastRecv = Buffer.from(m);
        this.trace(`<- ${intToIp(sa.peer)} Main mode message 2: chose ${describeIke(sa.choice!)}; -> message 3: KE, Ni${this.sig(sa) ? ', CERT_REQ' : ''}${sa.natt.peerSupports ? ', NAT-D' : ''}`);
        this.sendMain(sa, encodeMessage({ icookie: sa.icookie, rcookie: sa.rcookie, exchange: Xchg.MAIN, flags: 0, mid: 0 }, [{ type: Pt.KE, body: sa.gxi }, { type: Pt.NONCE, body: sa.ni }, ...this.certReq(sa), ...this.natdPayloads(sa)]), true);
        sa.state = 'MM3';
        return;
      }
      if (sa.state === 'MM3') {                                      // message 4: KE, Nr
        if (encrypted) return this.drop('ike-unexpected-encryption');
        const ke = get(Pt.KE), nonce = get(Pt.NONCE);
        const bytes = DH_GROUPS[sa.choice!.group === 'group1' ? 1 : 2]!.bytes;
        if (!ke || ke.body.length !== bytes || !nonce || nonce.body.length < 8 || nonce.body.length > 256) return this.drop('ike-malformed', 'message 4');
        sa.gxr = Buffer.from(ke.body); sa.nr = Buffer.from(nonce.body);
        if (!this.derive(sa)) return;
        sa.lastRecv = Buffer.from(m);
        this.processNatd(sa, payloads, ISAKMP_PORT);
        this.float(sa);
        const id = this.myId(sa);
        sa.idMineB = id;
        const hash = K.hashI(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr, sa.icookie, sa.rcookie, sa.saiB!, id);
        this.trace(`<- ${intToIp(sa.peer)} Main mode message 4: KE, Nr; keys derived; -> message 5: ID, ${this.sig(sa) ? 'CERT, SIG_I' : 'HASH_I'}`);
        this.sendMain(sa, sa.seal({ exchange: Xchg.MAIN, mid: 0 }, [{ type: Pt.ID, body: id }, ...this.authOut(sa, hash), ...this.initialContactPayload(sa)]), true);
        sa.state = 'MM5';
        return;
      }
      if (sa.state === 'MM5') {                                      // message 6: ID, HASH_R (or CERT, SIG_R)
        const idP = get(Pt.ID);
        if (!idP || !get(this.sig(sa) ? Pt.SIG : Pt.HASH)) return this.authFailed(sa, hd, `message 6 without ID and ${this.sig(sa) ? 'SIG' : 'HASH'}: the keys differ`);
        const want = K.hashR(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr!, sa.icookie, sa.rcookie, sa.saiB!, idP.body);
        const bad = this.authIn(sa, payloads, idP.body, want);
        // with signatures the message decrypted with keys both sides share: the IV chain goes on, so
        // that the peer (which thinks phase 1 done) can read why we refuse it
        if (bad && this.sig(sa)) commit();
        if (bad) return this.authFailed(sa, hd, bad.kind === 'auth' && !this.sig(sa) ? 'HASH_R does not match' : bad.why, bad);
        commit(); this.acceptFloat(sa);
        sa.remoteId = describeId(idP.body);
        sa.lastRecv = Buffer.from(m);
        this.phase1Notifies(sa, payloads);
        return this.matured(sa);
      }
      return this.drop('ike-unexpected-main-mode');
    }
    // responder
    if (sa.state === 'MM3') {                                        // message 3: KE, Ni
      if (encrypted) return this.drop('ike-unexpected-encryption');
      const ke = get(Pt.KE), nonce = get(Pt.NONCE);
      const bytes = DH_GROUPS[sa.choice!.group === 'group1' ? 1 : 2]!.bytes;
      if (!ke || ke.body.length !== bytes || !nonce || nonce.body.length < 8 || nonce.body.length > 256) return this.drop('ike-malformed', 'message 3');
      if (!this.dhBudget.take(sa.peer, intToIp(sa.peer))) return this.drop('ike-dh-rate-limited', intToIp(sa.peer));   // the initiator retransmits
      sa.gxi = Buffer.from(ke.body); sa.ni = Buffer.from(nonce.body);
      sa.gxr = sa.startDh(); sa.nr = randomBytes(32);
      if (!this.derive(sa)) return;
      sa.lastRecv = Buffer.from(m);
      this.processNatd(sa, payloads, ISAKMP_PORT);
      this.trace(`<- ${intToIp(sa.peer)} Main mode message 3: KE, Ni; -> message 4: KE, Nr${this.sig(sa) ? ', CERT_REQ' : ''}`);
      this.sendMain(sa, encodeMessage({ icookie: sa.icookie, rcookie: sa.rcookie, exchange: Xchg.MAIN, flags: 0, mid: 0 }, [{ type: Pt.KE, body: sa.gxr }, { type: Pt.NONCE, body: sa.nr }, ...this.certReq(sa), ...this.natdPayloads(sa)]), false);
      sa.state = 'MM5';
      return;
    }
    if (sa.state === 'MM5') {                                        // message 5: ID, HASH_I (or CERT, SIG_I)
      if (!encrypted) return this.drop('ike-unexpected-cleartext', 'message 5');
      const idP = get(Pt.ID);
      if (!idP || !get(this.sig(sa) ? Pt.SIG : Pt.HASH)) return this.authFailed(sa, hd, `message 5 did not decrypt to ID and ${this.sig(sa) ? 'SIG' : 'HASH'}: ${this.sig(sa) ? 'the keys differ' : 'the pre-shared keys differ'}`);
      const want = K.hashI(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr!, sa.icookie, sa.rcookie, sa.saiB!, idP.body);
      const bad = this.authIn(sa, payloads, idP.body, want);
      if (bad) return this.authFailed(sa, hd, bad.kind === 'auth' && !this.sig(sa) ? 'HASH_I does not match' : bad.why, bad);
      commit(); this.acceptFloat(sa);
      sa.remoteId = describeId(idP.body);
      sa.lastRecv = Buffer.from(m);
      const id = this.myId(sa);
      sa.idMineB = id;
      const hash = K.hashR(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr!, sa.icookie, sa.rcookie, sa.saiB!, id);
      this.trace(`<- ${intToIp(sa.peer)} Main mode message 5: peer authenticated; -> message 6: ID, ${this.sig(sa) ? 'CERT, SIG_R' : 'HASH_R'}`);
      this.sendMain(sa, sa.seal({ exchange: Xchg.MAIN, mid: 0 }, [{ type: Pt.ID, body: id }, ...this.authOut(sa, hash)]), false);
      this.phase1Notifies(sa, payloads);
      return this.matured(sa);
    }
    this.drop('ike-unexpected-main-mode');
  }

  /** The responder's choice in message 2: one of the proposals we offered, or why not. */
  private readChoice(sa: IkeSa, saP: RawPayload | undefined): 'malformed' | string | true {
    const d = saP && decodeSa(saP.body);
    const t = d?.ok ? d.value.proposals[0]?.transforms[0] : undefined;
    const c = t && readIkeTransform(t);
    if (!c) return 'malformed';
    const offered = this.ikeProposals(sa.policy).find(p => p.encryptionAlgorithm === c.encryption && p.authenticationAlgorithm === c.hash && p.dhGroup === c.group && p.authenticationMethod === c.method);
    if (!offered) return `the peer chose a proposal that was not offered (${describeIke(c)})`;
    sa.choice = { ...c, lifetimeSeconds: Math.min(this.fromWire(c.lifetimeSeconds), offered.lifetimeSeconds) };
    this.trace(`${intToIp(sa.peer)} chose ${describeIke(c)}: our proposal ${offered.name}`, 'policy-manager');
    return true;
  }

  /** Aggressive mode (RFC 2409 5.4): three messages, identities in the clear. */
  private aggressiveMode(sa: IkeSa, hd: Header, m: Buffer): void {
    if (sa.matured) return this.drop('ike-unexpected-aggressive-mode', intToIp(sa.peer));
    const encrypted = (hd.flags & FLAG_ENCRYPTION) !== 0;
    if (sa.role === 'initiator' && sa.state === 'AM1') {             // message 2: SA, KE, Nr, IDir, HASH_R (or CERT, SIG_R)
      if (encrypted) return this.drop('ike-unexpected-encryption');
      const p = decodePayloads(m.subarray(HEADER_LEN, hd.length), hd.next, false);
      if (!p.ok) return this.drop(`ike-${p.reason}`);
      const get = (t: number) => p.value.find(x => x.type === t);
      const ke = get(Pt.KE), nonce = get(Pt.NONCE), idP = get(Pt.ID);
      if (!ke || !nonce || nonce.body.length < 8 || nonce.body.length > 256 || !idP || !get(this.sig(sa) ? Pt.SIG : Pt.HASH)) return this.drop('ike-malformed', 'Aggressive mode message 2');
      const group = sa.choice?.group;
      const c = this.readChoice(sa, get(Pt.SA));
      if (typeof c === 'string') return c === 'malformed' ? this.drop('ike-malformed', 'Aggressive mode message 2 without a usable SA') : this.dead(sa, c);
      if (group !== undefined && sa.choice!.group !== group || ke.body.length !== DH_GROUPS[sa.choice!.group === 'group1' ? 1 : 2]!.bytes) return this.dead(sa, 'the peer chose another Diffie-Hellman group than our KE payload\'s');
      sa.rcookie = Buffer.from(hd.rcookie);
      this.peerVid(sa, p.value);
      sa.gxr = Buffer.from(ke.body); sa.nr = Buffer.from(nonce.body);
      if (!this.derive(sa)) return;
      const want = K.hashR(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr, sa.icookie, sa.rcookie, sa.saiB!, idP.body);
      const bad = this.authIn(sa, p.value, idP.body, want);
      if (bad) return this.authFailed(sa, hd, bad.kind === 'auth' && !this.sig(sa) ? 'HASH_R does not match' : bad.why, bad);
      sa.remoteId = describeId(idP.body);
      sa.lastRecv = Buffer.from(m);
      const hash = K.hashI(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr, sa.icookie, sa.rcookie, sa.saiB!, sa.idMineB!);
      this.trace(`<- ${intToIp(sa.peer)} Aggressive mode message 2 (IDir ${sa.remoteId}): peer authenticated; -> message 3: ${this.sig(sa) ? 'CERT, SIG_I' : 'HASH_I'}`);
      this.processNatd(sa, p.value, ISAKMP_PORT);
      this.float(sa);
      // message 3 goes encrypted (strongSwan and most implementations expect it so); both are accepted
      this.sendMain(sa, sa.seal({ exchange: Xchg.AGGRESSIVE, mid: 0 }, [...this.authOut(sa, hash), ...this.natdPayloads(sa), ...this.initialContactPayload(sa)]), false);
      this.phase1Notifies(sa, p.value);
      return this.matured(sa);
    }
    if (sa.role === 'responder' && sa.state === 'AM2') {             // message 3: HASH_I
      let payloads: RawPayload[];
      let commit = () => {};
      if (encrypted) {
        const o = sa.open(hd, m);
        if (!o.ok) return this.authFailed(sa, hd, `${o.reason}: message 3 did not decrypt`);
        payloads = o.value.payloads; commit = o.value.commit;
      } else {
        const p = decodePayloads(m.subarray(HEADER_LEN, hd.length), hd.next, false);
        if (!p.ok) return this.drop(`ike-${p.reason}`);
        payloads = p.value;
      }
      if (!payloads.some(x => x.type === (this.sig(sa) ? Pt.SIG : Pt.HASH))) return this.authFailed(sa, hd, `message 3 without ${this.sig(sa) ? 'SIG_I' : 'HASH_I'}: the keys differ`);
      const want = K.hashI(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr!, sa.icookie, sa.rcookie, sa.saiB!, sa.idPeerB!);
      const bad = this.authIn(sa, payloads, sa.idPeerB!, want);
      if (bad) return this.authFailed(sa, hd, bad.kind === 'auth' && !this.sig(sa) ? 'HASH_I does not match' : bad.why, bad);
      commit(); this.acceptFloat(sa);
      sa.lastRecv = Buffer.from(m);
      this.processNatd(sa, payloads, sa.natt.floated ? NATT_PORT : ISAKMP_PORT);
      this.trace(`<- ${intToIp(sa.peer)} Aggressive mode message 3: peer authenticated`);
      this.phase1Notifies(sa, payloads);
      return this.matured(sa);
    }
    this.drop('ike-unexpected-aggressive-mode');
  }

  /** Our phase 1 identity: the address we speak from (ID_IPV4_ADDR), or with certificates our certificate's subject (ID_DER_ASN1_DN). */
  private myId(sa: IkeSa): Buffer {
    if (this.sig(sa) && sa.auth && this.host.pki) {
      sa.localId = sa.auth.cert.subject.split('\n').join(', ');
      return encodeId({ type: IdType.DER_ASN1_DN, protocol: 0, port: 0, data: subjectDer(sa.auth.cert) });
    }
    const d = Buffer.alloc(4); d.writeUInt32BE(sa.local >>> 0);
    sa.localId = intToIp(sa.local);
    return encodeId({ type: IdType.IPV4_ADDR, protocol: 0, port: 0, data: d });
  }

  private matured(sa: IkeSa): void {
    const now = this.host.now(), life = this.life();
    sa.state = 'MATURED'; sa.maturedAt = now; sa.awaiting = false;
    const ms = sa.choice!.lifetimeSeconds * 1000;
    sa.expiresAt = life + ms;
    sa.softAt = this.softAt(life, ms, sa.role);
    sa.failure = undefined;
    this.contacted.add(sa.peer);
    this.failures.delete(sa.peer);
    this.host.log(`KMD_PM_P1_ESTABLISHED: IKE SA with ${intToIp(sa.peer)} established (${sa.role}, ${MODE_NAME[sa.mode]} mode, ${describeIke(sa.choice!)}, lifetime ${sa.choice!.lifetimeSeconds} s)`);
    // an older IKE SA with the peer is replaced: deleted a moment later (quick modes on it finish)
    for (const o of this.ikeSas.values()) {
      if (o !== sa && o.peer === sa.peer && o.matured && o.retireAt === undefined) {
        o.retireAt = now + KMD_LIMITS.rekeyGraceMs;
        this.trace(`IKE SA ${hex(o.icookie)} with ${intToIp(o.peer)} replaced by ${hex(sa.icookie)}: deleted in ${KMD_LIMITS.rekeyGraceMs} ms`, 'timer');
      }
    }
    const w = sa.waiting; sa.waiting = [];
    const run = () => { for (const f of w) { try { f(); } catch (e) { this.host.log(`KMD_PM_INTERNAL: ${(e as Error).message}`); } } };
    // in Aggressive mode our message 3 ends phase 1: a quick mode right behind it can reach a peer
    // that has not taken message 3 yet (strongSwan: "ignoring QUICK_MODE request while phase 1 is
    // incomplete"), so it waits a moment
    if (sa.mode === 'aggressive' && sa.role === 'initiator' && w.length) setTimeout(run, KMD_LIMITS.outboundDelayMs).unref?.();
    else run();
  }

  /** Authentication failed: with pre-shared keys, almost always keys that differ. */
  private authFailed(sa: IkeSa, hd: Header, why: string, o: { kind: FailureKind; notify: number } = { kind: 'auth', notify: N.AUTHENTICATION_FAILED }): void {
    const reason = this.sig(sa) ? `authentication failed (${why})` : `authentication failed (${why}; is the pre-shared key the same on both sides?)`;
    this.drop(o.kind === 'cert' ? 'ike-certificate-refused' : 'ike-authentication-failed', intToIp(sa.peer));
    if (this.sig(sa) && sa.role === 'initiator' && sa.mode === 'main' && sa.state === 'MM5' && sa.keys) {
      // Main mode message 6 refused: the responder has matured its side; it shares our keys, so it is
      // told in an authenticated informational (the notify, and the IKE SA deleted)
      const spi = Buffer.concat([sa.icookie, sa.rcookie]);
      this.informationalOut(sa, [
        { type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spi, type: o.notify, data: Buffer.alloc(0) }) },
        { type: Pt.D, body: encodeDelete({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spis: [spi] }) },
      ]);
      return this.dead(sa, reason, o.kind);
    }
    // the peer cannot read what we encrypt with keys it does not share: say it in clear
    this.notifyClear(hd, sa.peer, sa.local, sa.port, o.notify);
    this.dead(sa, reason, o.kind);
  }

  /** An IKE SA that will not mature: its waiting quick modes fail, and the reason is kept for `show`. */
  private dead(sa: IkeSa, why: string, kind: FailureKind = 'other'): void {
    if (sa.state === 'DEAD') return;
    sa.state = 'DEAD'; sa.failure = why; sa.awaiting = false;
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
    if (s.matured) this.informationalOut(s, [{ type: Pt.D, body: encodeDelete({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spis: [Buffer.concat([s.icookie, s.rcookie])] }) }]);
    s.state = 'DEAD'; this.ikeSas.delete(s.key);
    this.host.log(`KMD_PM_P1_DELETED: IKE SA with ${intToIp(s.peer)} deleted: ${why}`);
    this.trace(`IKE SA ${hex(s.icookie)} with ${intToIp(s.peer)} removed (${why})`, 'database');
    for (const t of this.tunnels.values()) if (t.peer === s.peer && t.negotiating === -1 && !this.pendingIke(s.peer) && !this.ikeFor(s.peer)) t.negotiating = undefined;
  }

  /** An unencrypted informational notify (before keys exist, or when they do not agree). */
  private notifyClear(hd: Header, peer: number, local: number, port: number, type: number): void {
    const spi = Buffer.concat([hd.icookie, hd.rcookie]);
    const msg = encodeMessage({ icookie: hd.icookie, rcookie: hd.rcookie, exchange: Xchg.INFORMATIONAL, flags: 0, mid: randomBytes(4).readUInt32BE(0) },
      [{ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spi, type, data: Buffer.alloc(0) }) }]);
    this.trace(`-> ${intToIp(peer)} Informational: ${NOTIFY_NAMES[type] ?? type} (in clear)`);
    this.host.sendUdp(local, peer, ISAKMP_PORT, port, msg);
  }

  // ------------------------------------------------------------------------- quick mode

  private allocSpi(): Buffer {
    for (;;) {
      const b = randomBytes(4);
      const n = b.readUInt32BE(0);
      if (n > 0x10000 && !this.spis.has(n)) { this.spis.add(n); this.trace(`SPI 0x${n.toString(16)} reserved`, 'database'); return b; }
    }
  }

  private startQuickMode(ike: IkeSa, t: DynTunnel): void {
    if (!t.proposals.length) return this.fail(t, `IPsec policy ${t.policy.name} has no usable proposal`, 'no-proposal');
    this.trace(`IPsec policy ${t.policy.name} for ${t.saName}: proposals ${t.proposals.map(p => p.name).join(', ')}${t.pfsGroup ? `, PFS group${t.pfsGroup}` : ', no PFS'}, on IKE SA ${hex(ike.icookie)}`, 'policy-manager');
    let mid: number;
    do mid = randomBytes(4).readUInt32BE(0); while (mid === 0 || this.qms.has(`${ike.key}/${mid}`));
    const qm: QuickMode = {
      mid, role: 'initiator', tunnel: t, ike, ni: randomBytes(32), mySpi: { esp: this.allocSpi(), ah: this.allocSpi() },
      ids: { ci: t.proxy.local, cr: t.proxy.remote }, retries: 0, nextRetry: 0, awaiting: true, done: false,
    };
    t.negotiating = mid;
    const sa = ipsecSaBody(this.wireProps(t.proposals), qm.mySpi, t.pfsGroup, ike.behindNat);
    const payloads: OutPayload[] = [{ type: Pt.SA, body: sa }, { type: Pt.NONCE, body: qm.ni }];
    if (t.pfsGroup) {
      qm.dh = new DhKey(t.pfsGroup);
      qm.gx = qm.dh.pub;
      payloads.push({ type: Pt.KE, body: qm.gx });
    }
    payloads.push({ type: Pt.ID, body: selectorId(qm.ids.ci) }, { type: Pt.ID, body: selectorId(qm.ids.cr) });
    const rest = encodePayloads(payloads);
    const hash = K.hash1(ike.hashAlg, ike.keys!.a, mid, rest);
    this.qms.set(`${ike.key}/${mid}`, qm);
    this.trace(`-> ${intToIp(ike.peer)} Quick mode message 1 for ${t.saName}: ${t.proposals.map(describeIpsec).join(', ')}${t.pfsGroup ? `, PFS group${t.pfsGroup}` : ''}; ${describeSelector(qm.ids.ci)} <-> ${describeSelector(qm.ids.cr)}`);
    this.sendQm(qm, ike.seal({ exchange: Xchg.QUICK, mid }, [{ type: Pt.HASH, body: hash }, ...payloads]), true);
  }

  private sendQm(qm: QuickMode, msg: Buffer, awaitReply: boolean): void {
    qm.lastSent = msg; qm.sentFor = qm.lastRecv; qm.awaiting = awaitReply; qm.retries = 0; qm.nextRetry = this.host.now() + KMD_LIMITS.retransmitMs;
    this.send(qm.ike, msg);
  }

  private quickMode(ike: IkeSa, hd: Header, m: Buffer): void {
    if (!ike.matured) return this.drop('ike-quick-mode-before-phase1', intToIp(ike.peer));
    if (!(hd.flags & FLAG_ENCRYPTION)) return this.drop('ike-unexpected-cleartext', 'quick mode');
    if (hd.mid === 0) return this.drop('ike-malformed', 'quick mode with message ID 0');
    const qkey = `${ike.key}/${hd.mid}`;
    let qm = this.qms.get(qkey);
    if (qm?.lastRecv && m.equals(qm.lastRecv)) { if (qm.lastSent && qm.sentFor === qm.lastRecv && !qm.awaiting) this.send(ike, qm.lastSent); return this.drop('ike-retransmission'); }
    if (!qm && this.qmCount(ike) >= KMD_LIMITS.quickModes) return this.drop('ike-quick-mode-limit', intToIp(ike.peer));
    const o = ike.open(hd, m);
    if (!o.ok) return this.drop(`ike-${o.reason}`, 'quick mode');
    const pl = o.value.payloads;
    if (pl[0]?.type !== Pt.HASH) return this.drop('ike-malformed', 'quick mode without a HASH first');
    const rest = m.length && pl.length > 1 ? Buffer.concat(pl.slice(1).map(p => p.raw)) : Buffer.alloc(0);
    const get = (t: number) => pl.find(x => x.type === t);
    const ids = pl.filter(x => x.type === Pt.ID);
    const alg = ike.hashAlg, a = ike.keys!.a;

    if (!qm) {                                                     // message 1: we respond
      if (!hashEq(K.hash1(alg, a, hd.mid, rest), pl[0].body)) return this.drop('ike-bad-hash', 'quick mode message 1');
      o.value.commit(); this.acceptFloat(ike);
      const saP = get(Pt.SA), nonce = get(Pt.NONCE), ke = get(Pt.KE);
      const sa = saP && decodeSa(saP.body);
      if (!sa?.ok || !nonce) return this.drop('ike-malformed', 'quick mode message 1');
      // the initiator's IDci is its side (our remote), IDcr ours; none: the two gateways themselves
      const sel = (p: RawPayload | undefined, dflt: number): Selector | undefined => {
        if (!p) return { prefix: { addr: dflt, len: 32 }, protocol: 0, port: 0 };
        const d = decodeId(p.body);
        return d.ok ? idSelector(d.value) : undefined;
      };
      const ci = sel(ids[0], ike.peer), cr = sel(ids[1], ike.local);
      if (!ci || !cr) return this.qmRefuse(ike, hd.mid, N.INVALID_ID_INFORMATION, 'proxy identities that are not IPv4 addresses or subnets', 'proxy');
      const t = [...this.tunnels.values()].find(x => x.peer === ike.peer && within(ci, x.proxy.remote) && within(cr, x.proxy.local));
      if (!t) {
        const mine = [...this.tunnels.values()].filter(x => x.peer === ike.peer).map(x => `${describeSelector(x.proxy.local)} <-> ${describeSelector(x.proxy.remote)}`).join('; ');
        this.lastProxyMismatch.set(ike.peer, { theirs: `${describeSelector(cr)} <-> ${describeSelector(ci)}`, ours: mine || 'no dynamic SA for this peer', at: this.host.now() });
        return this.qmRefuse(ike, hd.mid, N.INVALID_ID_INFORMATION, `proxy identities do not match: the peer wants ${describeSelector(ci)} <-> ${describeSelector(cr)} (its side first); ours are ${mine || 'none for this peer'}`, 'proxy', [...this.tunnels.values()].filter(x => x.peer === ike.peer));
      }
      const chosen = chooseIpsec(sa.value, t.proposals, t.pfsGroup, ike.behindNat);
      if ('error' in chosen) {
        const offer = describeIpsecOffer(sa.value);
        const ours = `${t.proposals.map(describeIpsec).join(', ')}${t.pfsGroup ? `, PFS group${t.pfsGroup}` : ', no PFS'}`;
        this.lastOffers.set(ike.peer, { theirs: offer, ours, at: this.host.now(), phase: 2 });
        return this.qmRefuse(ike, hd.mid, N.NO_PROPOSAL_CHOSEN, `no IPsec proposal chosen (peer offered: ${offer}; ours: ${ours})`, 'no-proposal', [t]);
      }
      if (t.pfsGroup && (!ke || ke.body.length !== DH_GROUPS[t.pfsGroup]!.bytes)) {
        const ours = `${t.proposals.map(describeIpsec).join(', ')}, PFS group${t.pfsGroup}`;
        this.lastOffers.set(ike.peer, { theirs: `${describeIpsecOffer(sa.value)}${ke ? ', PFS of another group' : ', no PFS'}`, ours, at: this.host.now(), phase: 2 });
        return this.qmRefuse(ike, hd.mid, N.INVALID_KEY_INFORMATION, `PFS group${t.pfsGroup} wanted, but the peer sent ${ke ? 'a KE payload of another group' : 'no KE payload (no PFS)'}`, 'no-proposal', [t]);
      }
      qm = {
        mid: hd.mid, role: 'responder', tunnel: t, ike, ni: Buffer.from(nonce.body), nr: randomBytes(32),
        mySpi: { esp: this.allocSpi(), ah: this.allocSpi() }, ids: { ci, cr }, retries: 0, nextRetry: 0, awaiting: false, done: false,
        choice: { ...chosen.choice, lifetimeSeconds: Math.min(this.fromWire(chosen.choice.lifetimeSeconds), chosen.ours.lifetimeSeconds) },
      };
      const out: OutPayload[] = [{ type: Pt.SA, body: ipsecSaReply(chosen.parts, chosen.choice.proposalNum, qm.mySpi) }, { type: Pt.NONCE, body: qm.nr! }];
      if (t.pfsGroup) {
        qm.dh = new DhKey(t.pfsGroup);
        qm.gx = qm.dh.pub; qm.gyPeer = Buffer.from(ke!.body);
        out.push({ type: Pt.KE, body: qm.gx });
      }
      if (ids.length >= 2) out.push({ type: Pt.ID, body: Buffer.from(ids[0]!.body) }, { type: Pt.ID, body: Buffer.from(ids[1]!.body) });
      // our lifetime is shorter than the one offered: say so (RFC 2407 4.6.3.1)
      if (chosen.ours.lifetimeSeconds < this.fromWire(chosen.choice.lifetimeSeconds)) {
        const attrs = Buffer.alloc(10); attrs.writeUInt16BE(0x8001, 0); attrs.writeUInt16BE(1, 2); attrs.writeUInt16BE(2, 4); attrs.writeUInt16BE(4, 6);
        const life = Buffer.alloc(4); life.writeUInt32BE(this.toWire(chosen.ours.lifetimeSeconds));
        out.push({ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: chosen.parts[chosen.parts.length - 1]!.protocol, spi: chosen.choice.peerSpi.esp ?? chosen.choice.peerSpi.ah!, type: N.RESPONDER_LIFETIME, data: Buffer.concat([attrs.subarray(0, 8), life]) }) });
      }
      const hash = K.hash2(alg, a, hd.mid, qm.ni, encodePayloads(out));
      qm.lastRecv = Buffer.from(m);
      this.qms.set(qkey, qm);
      t.negotiating = hd.mid;
      this.trace(`IPsec policy ${t.policy.name} for ${t.saName}: chose ${describeIpsec(chosen.ours)} (proposal ${chosen.ours.name}) from ${describeIpsecOffer(sa.value)}`, 'policy-manager');
      this.trace(`<- ${intToIp(ike.peer)} Quick mode message 1 for ${t.saName}; chose ${describeIpsec(chosen.ours)}; -> message 2`);
      this.sendQm(qm, ike.seal({ exchange: Xchg.QUICK, mid: hd.mid }, [{ type: Pt.HASH, body: hash }, ...out]), true);
      return;
    }
    if (qm.role === 'initiator' && !qm.nr) {                        // message 2: the responder's choice
      const nonce = get(Pt.NONCE);
      if (!nonce) return this.drop('ike-malformed', 'quick mode message 2');
      if (!hashEq(K.hash2(alg, a, hd.mid, qm.ni, rest), pl[0].body)) return this.drop('ike-bad-hash', 'quick mode message 2');
      o.value.commit(); this.acceptFloat(ike);
      const saP = get(Pt.SA);
      const sa = saP && decodeSa(saP.body);
      if (!sa?.ok) return this.drop('ike-malformed', 'quick mode message 2');
      const c = readIpsecReply(sa.value, qm.tunnel.proposals, qm.tunnel.pfsGroup);
      if ('error' in c) { this.qmDone(qm); return this.fail(qm.tunnel, `quick mode: ${c.error}`, 'no-proposal'); }
      let lifetime = Math.min(this.fromWire(c.lifetimeSeconds), qm.tunnel.proposals[c.proposalNum - 1]!.lifetimeSeconds);
      for (const n of pl.filter(x => x.type === Pt.N)) {
        const d = decodeNotify(n.body);
        if (d.ok && d.value.type === N.RESPONDER_LIFETIME && d.value.data.length >= 8) {
          const at = d.value.data.readUInt16BE(0) & 0x7fff;
          if (at === 1 && d.value.data.readUInt16BE(2) === 1 && d.value.data.length >= 12) lifetime = Math.min(lifetime, this.fromWire(d.value.data.readUInt32BE(8)));
        }
      }
      qm.choice = { ...c, lifetimeSeconds: lifetime };
      qm.nr = Buffer.from(nonce.body);
      if (qm.tunnel.pfsGroup) {
        const ke = get(Pt.KE);
        if (!ke || ke.body.length !== DH_GROUPS[qm.tunnel.pfsGroup]!.bytes) { this.qmDone(qm); return this.fail(qm.tunnel, 'quick mode: the reply has no KE payload for PFS', 'no-proposal'); }
        qm.gyPeer = Buffer.from(ke.body);
      }
      qm.lastRecv = Buffer.from(m);
      const h3 = K.hash3(alg, a, hd.mid, qm.ni, qm.nr);
      qm.lastSent = ike.seal({ exchange: Xchg.QUICK, mid: hd.mid }, [{ type: Pt.HASH, body: h3 }]); qm.sentFor = qm.lastRecv;
      qm.awaiting = false;
      this.send(ike, qm.lastSent);
      this.trace(`<- ${intToIp(ike.peer)} Quick mode message 2; -> message 3`);
      return this.installQm(qm);
    }
    if (qm.role === 'responder' && !qm.done) {                      // message 3
      if (!hashEq(K.hash3(alg, a, hd.mid, qm.ni, qm.nr!), pl[0].body)) return this.drop('ike-bad-hash', 'quick mode message 3');
      o.value.commit(); this.acceptFloat(ike);
      qm.lastRecv = Buffer.from(m); qm.awaiting = false;
      this.trace(`<- ${intToIp(ike.peer)} Quick mode message 3`);
      return this.installQm(qm);
    }
    this.drop('ike-unexpected-quick-mode');
  }

  private qmCount(ike: IkeSa): number { let n = 0; for (const q of this.qms.values()) if (q.ike === ike && !q.done) n++; return n; }
  private qmDone(qm: QuickMode): void {
    if (!qm.done && !qm.installed) for (const b of [qm.mySpi.esp, qm.mySpi.ah]) { this.spis.delete(b.readUInt32BE(0)); this.trace(`SPI 0x${b.readUInt32BE(0).toString(16)} released (quick mode 0x${qm.mid.toString(16)} failed)`, 'database'); }
    qm.done = true; qm.awaiting = false; if (qm.tunnel.negotiating === qm.mid) qm.tunnel.negotiating = undefined;
  }

  /** Refuse a quick mode with an encrypted notify, and say why in the log (and on the tunnels concerned). */
  private qmRefuse(ike: IkeSa, mid: number, type: number, why: string, kind: FailureKind, ts: DynTunnel[] = []): void {
    this.host.log(`KMD_PM_P2_REFUSED: quick mode from ${intToIp(ike.peer)} refused: ${why}`);
    this.drop(`ike-${(NOTIFY_NAMES[type] ?? 'refused').toLowerCase()}`, intToIp(ike.peer));
    for (const t of ts) { t.lastError = why; t.lastErrorKind = kind; t.failedAt = this.host.now(); }
    this.informationalOut(ike, [{ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spi: Buffer.concat([ike.icookie, ike.rcookie]), type, data: Buffer.alloc(0) }) }]);
    void mid;
  }

  /** Both directions' keys from KEYMAT, into the ES PIC. */
  private installQm(qm: QuickMode): void {
    const t = qm.tunnel, ike = qm.ike, c = qm.choice!;
    let gxy: Buffer | undefined;
    if (qm.gyPeer && qm.dh) {
      try { gxy = qm.dh.secret(qm.gyPeer); } catch { this.qmDone(qm); return this.fail(t, 'PFS Diffie-Hellman failed (a bad public value)'); }
    }
    qm.installed = true;
    this.qmDone(qm);
    const now = this.host.now(), life = this.life();
    const [ni, nr] = [qm.ni, qm.nr!];
    const encLen = c.encryption ? K.CIPHERS[c.encryption].keyLen : 0;
    const authLen = c.authentication ? (c.authentication === 'hmac-md5-96' ? 16 : 20) : 0;
    const km = (proto: number, spi: Buffer, len: number) => K.keymat(ike.hashAlg, ike.keys!.d, gxy, proto, spi, ni, nr, len);
    const mySpi = { esp: qm.mySpi.esp, ah: qm.mySpi.ah }, peerSpi = c.peerSpi;
    const spec = (dir: 'inbound' | 'outbound'): SaSpec => {
      const spis = dir === 'inbound' ? mySpi : { esp: peerSpi.esp!, ah: peerSpi.ah! };
      const base = { name: t.saName, direction: dir, protocol: c.protocol, mode: 'tunnel' as const, manual: false,
        tunnel: dir === 'outbound' ? { source: t.local, destination: t.peer } : { source: t.peer, destination: t.local },
        replayWindow: t.replayWindow, lifetime: { hardSeconds: Math.ceil(c.lifetimeSeconds / this.rate) },   // the ES PIC counts wall seconds
        // through a NAT: ESP in UDP (RFC 3948) from our port 4500 to the peer's (a NAT may have mapped it)
        ...(dir === 'outbound' && c.udpEncap ? { encap: { sport: NATT_PORT, dport: ike.port } } : {}) };
      if (c.protocol === 'esp') {
        const k = km(Proto.ESP, spis.esp, encLen + authLen);
        return { ...base, spi: spis.esp.readUInt32BE(0), ...(c.encryption ? { enc: { algorithm: c.encryption, key: k.subarray(0, encLen) } } : {}), ...(c.authentication ? { auth: { algorithm: c.authentication, key: k.subarray(encLen) } } : {}) };
      }
      if (c.protocol === 'ah') {
        const k = km(Proto.AH, spis.ah, authLen);
        return { ...base, spi: spis.ah.readUInt32BE(0), auth: { algorithm: c.authentication!, key: k } };
      }
      const ke = km(Proto.ESP, spis.esp, encLen), ka = km(Proto.AH, spis.ah, authLen);
      return { ...base, spi: spis.ah.readUInt32BE(0), auxSpi: spis.esp.readUInt32BE(0), enc: { algorithm: c.encryption!, key: ke }, auth: { algorithm: c.authentication!, key: ka } };
    };
    const pair: DynamicSaPair = { inbound: spec('inbound'), outbound: spec('outbound') };
    gxy?.fill(0);
    const inSpi = { ...(c.protocol !== 'ah' ? { esp: spiNum(mySpi.esp)! } : {}), ...(c.protocol !== 'esp' ? { ah: spiNum(mySpi.ah)! } : {}) };
    const outSpi = { ...(c.protocol !== 'ah' ? { esp: spiNum(peerSpi.esp)! } : {}), ...(c.protocol !== 'esp' ? { ah: spiNum(peerSpi.ah)! } : {}) };
    // the SPIs we allocated and did not use go back
    for (const [p, b] of Object.entries(mySpi)) if ((inSpi as Record<string, number | undefined>)[p] === undefined) this.spis.delete(b.readUInt32BE(0));
    const inbound = [...(inSpi.esp !== undefined && c.protocol === 'esp' ? [{ proto: 50, spi: inSpi.esp, dst: t.local }] : []), ...(inSpi.ah !== undefined ? [{ proto: 51, spi: inSpi.ah, dst: t.local }] : [])];
    const show = (x: { esp?: number; ah?: number }) => Object.entries(x).map(([p, v]) => `${p.toUpperCase()} 0x${(v as number).toString(16)}`).join(' ');
    const older = t.installed.slice();
    const ids = qm.role === 'initiator' ? { local: qm.ids.ci, remote: qm.ids.cr } : { local: qm.ids.cr, remote: qm.ids.ci };
    const entry: Installed = { inSpi, outSpi, created: life, softAt: this.softAt(life, c.lifetimeSeconds * 1000, qm.role), lifetime: c.lifetimeSeconds, ike: ike.key, choice: c, role: qm.role, fingerprint: t.fingerprint, ids };
    t.installed.push(entry);
    // Inside the router no wait is needed: the ES PIC takes the SAs in order with the packets (its
    // ring), and the PFE hands kmd a quick mode message before the ESP behind it. The wait here is for
    // the peer: the responder installs when message 3 reaches it, and some (strongSwan) take a moment,
    // so the initiator's outbound SA goes in a moment after its inbound one, lest the first packets
    // overtake the peer's install (test/e2e/strongswan.test.ts loses its first ping without it).
    if (qm.role === 'responder') {
      this.trace(`install on ${t.ifl}: inbound ${show(inSpi)}, outbound ${show(outSpi)} (the outbound one replaces the current)`, 'routing-socket');
      this.host.install(t.ifl, pair, inbound);
    } else {
      this.trace(`install on ${t.ifl}: inbound ${show(inSpi)} now, outbound ${show(outSpi)} in ${KMD_LIMITS.peerInstallMs} ms`, 'routing-socket');
      this.host.install(t.ifl, { inbound: pair.inbound! }, inbound);
      const go = () => {
        if (!this.tunnels.get(t.ifl)?.installed.includes(entry)) return;   // gone meanwhile
        this.trace(`install on ${t.ifl}: outbound ${show(outSpi)} (it replaces the current)`, 'routing-socket');
        this.host.install(t.ifl, { outbound: pair.outbound! }, []);
        this.host.tunnelReady(t.ifl, true);
      };
      const timer = setTimeout(() => { try { go(); } catch (e) { this.host.log(`KMD_PM_INTERNAL: ${(e as Error).message}`); } }, KMD_LIMITS.peerInstallMs);
      timer.unref?.();
    }
    this.trace(`SA ${t.saName}: ${show(inSpi)} in, ${show(outSpi)} out, ${qm.role}, soft lifetime ${Math.round((entry.softAt - life) / 1000)} s, hard ${c.lifetimeSeconds} s`, 'database');
    t.lastError = undefined; t.lastErrorKind = undefined; t.failedAt = undefined; t.upAt = now;
    ike.ipsecCreated++;
    const rekey = older.length > 0;
    if (rekey) t.rekeys++;
    this.host.log(`KMD_PM_SA_ESTABLISHED: IPsec SA ${t.saName} on ${t.ifl} with ${intToIp(t.peer)} established (${qm.role}${rekey ? ', rekey' : ''}, ${c.protocol}${c.udpEncap ? ` in UDP ${NATT_PORT}` : ''} ${[c.encryption, c.authentication].filter(Boolean).join(' ')}${t.pfsGroup ? ` PFS group${t.pfsGroup}` : ''}, inbound ${show(inSpi)}, outbound ${show(outSpi)}, lifetime ${c.lifetimeSeconds} s)`);
    // the SAs it replaces: deleted a moment later (packets already on their way still decrypt); the
    // side that started the rekey tells the peer, the other side waits for that DELETE a while longer
    for (const x of older) if (x.retireAt === undefined) {
      x.retireAt = now + KMD_LIMITS.rekeyGraceMs * (qm.role === 'initiator' ? 1 : 3);
      this.trace(`SA ${t.saName} ${show(x.inSpi)} replaced: deleted in ${x.retireAt - now} ms`, 'timer');
    }
    if (qm.role === 'responder') this.host.tunnelReady(t.ifl, true);
  }

  private uninstall(t: DynTunnel, which: Installed[], why: string): void {
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

  // ------------------------------------------------------------------------- informational

  private informationalOut(ike: IkeSa, payloads: OutPayload[]): void {
    const mid = randomBytes(4).readUInt32BE(0) || 1;
    const rest = encodePayloads(payloads);
    const hash = K.hash1(ike.hashAlg, ike.keys!.a, mid, rest);
    this.send(ike, ike.seal({ exchange: Xchg.INFORMATIONAL, mid }, [{ type: Pt.HASH, body: hash }, ...payloads]));
  }

  private informational(ike: IkeSa | undefined, hd: Header, m: Buffer, src: number): void {
    if (!(hd.flags & FLAG_ENCRYPTION)) {
      // a clear notify only ends a negotiation that has not matured (it is not authenticated)
      const p = decodePayloads(m.subarray(HEADER_LEN, hd.length), hd.next, false);
      const n = p.ok ? p.value.find(x => x.type === Pt.N) : undefined;
      const d = n ? decodeNotify(n.body) : undefined;
      if (!d?.ok) return this.drop('ike-malformed', 'informational');
      const name = NOTIFY_NAMES[d.value.type] ?? `notify ${d.value.type}`;
      const target = ike ?? [...this.ikeSas.values()].find(s => s.peer === src && hex(s.icookie) === hex(hd.icookie));
      if (!target || target.matured) return this.drop('ike-unauthenticated-notify', `${name} from ${intToIp(src)}`);
      const type = d.value.type;
      const auth = type === N.AUTHENTICATION_FAILED || type === N.INVALID_HASH_INFORMATION || type === N.PAYLOAD_MALFORMED && (target.state === 'MM5' || target.state === 'AM2');
      const certs = this.sig(target) && (auth || type === N.INVALID_CERTIFICATE || type === N.INVALID_CERT_AUTHORITY || type === N.INVALID_ID_INFORMATION || type === N.INVALID_SIGNATURE || type === N.INVALID_CERT_ENCODING || type === N.CERTIFICATE_UNAVAILABLE);
      if (certs) {
        this.host.log(`KMD_PM_P1_NOTIFY: ${intToIp(src)} sent ${name}`);
        return this.dead(target, `the peer refused our certificate or signature (${name}): see its log; is our certificate issued by a CA it trusts, and does it match its policy's identity?`, 'cert');
      }
      const why = auth ? `the peer refused our authentication (${name}): is the pre-shared key the same on both sides?`
        : type === N.NO_PROPOSAL_CHOSEN ? `the peer chose none of our proposals (${name}; we offered ${target.offered ?? '?'}${target.mode === 'aggressive' ? ', in Aggressive mode: does the peer accept Aggressive mode?' : ''})`
        : `the peer says ${name}`;
      this.host.log(`KMD_PM_P1_NOTIFY: ${intToIp(src)} sent ${name}`);
      return this.dead(target, why, auth ? 'auth' : type === N.NO_PROPOSAL_CHOSEN ? 'no-proposal' : 'other');
    }
    if (ike && !ike.matured && ike.role === 'initiator' && (ike.state === 'MM5' || ike.state === 'AM1' && ike.ka)) {
      // an encrypted notify while our message 5 waits for its answer: the peer could not read it
      // (strongSwan sends PAYLOAD-MALFORMED encrypted with its own keys). If it does not open with
      // ours either, the keys differ: the pre-shared keys are not the same
      const o = ike.open(hd, m);
      const ok = o.ok && o.value.payloads[0]?.type === Pt.HASH && hashEq(K.hash1(ike.hashAlg, ike.keys!.a, hd.mid, Buffer.concat(o.value.payloads.slice(1).map(p => p.raw))), o.value.payloads[0].body);
      if (!ok) {
        this.drop('ike-informational-unreadable', intToIp(src));
        this.host.log(`KMD_PM_P1_NOTIFY: ${intToIp(src)} answered message 5 with an encrypted notify that our keys cannot read`);
        return this.dead(ike, 'the peer could not read our message 5, and its notify does not decrypt with our keys: is the pre-shared key the same on both sides?', 'auth');
      }
    }
    if (!ike?.matured) return this.drop('ike-unknown-sa', `informational from ${intToIp(src)}`);
    const o = ike.open(hd, m);
    if (!o.ok) return this.drop(`ike-${o.reason}`, 'informational');
    const pl = o.value.payloads;
    if (pl[0]?.type !== Pt.HASH) return this.drop('ike-malformed', 'informational without HASH');
    const rest = Buffer.concat(pl.slice(1).map(p => p.raw));
    if (!hashEq(K.hash1(ike.hashAlg, ike.keys!.a, hd.mid, rest), pl[0].body)) return this.drop('ike-bad-hash', 'informational');
    o.value.commit(); this.acceptFloat(ike);
    for (const p of pl.slice(1)) {
      if (p.type === Pt.N) {
        const d = decodeNotify(p.body);
        if (!d.ok) continue;
        const type = d.value.type;
        const name = NOTIFY_NAMES[type] ?? `notify ${type}`;
        this.host.log(`KMD_PM_NOTIFY: ${intToIp(src)} sent ${name}`);
        if (CERT_NOTIFIES.has(type) && ike.role === 'responder' && ike.maturedAt !== undefined && this.host.now() - ike.maturedAt < 60_000) {
          // the initiator refused our certificate or signature in Main mode message 6
          const why = `the peer refused our certificate or signature (${name}): see its log; is our certificate issued by a CA it trusts, and does it match its policy's identity?`;
          this.failures.set(src, { why, at: this.host.now(), role: 'responder', kind: 'cert', mode: ike.mode });
          this.host.log(`KMD_PM_P1_FAILED: IKE phase 1 (${MODE_NAME[ike.mode]} mode) with ${intToIp(src)} failed: ${why}`);
        } else if (type === N.NO_PROPOSAL_CHOSEN || type === N.INVALID_ID_INFORMATION || type === N.INVALID_KEY_INFORMATION) {
          for (const t of this.tunnels.values()) if (t.peer === src && t.negotiating !== undefined && t.negotiating > 0) {
            const qm = this.qms.get(`${ike.key}/${t.negotiating}`);
            if (qm) this.qmDone(qm);
            if (type === N.INVALID_ID_INFORMATION) this.fail(t, `the peer refused our proxy identities (${name}): ${describeSelector(t.proxy.local)} <-> ${describeSelector(t.proxy.remote)}`, 'proxy');
            else this.fail(t, `the peer refused quick mode (${name}${type === N.INVALID_KEY_INFORMATION ? ': PFS differs?' : ''}; we offered ${t.proposals.map(describeIpsec).join(', ')}${t.pfsGroup ? `, PFS group${t.pfsGroup}` : ', no PFS'})`, 'no-proposal');
          }
        } else if (type === N.INVALID_SPI) {
          // the peer does not know an SPI we send to: that SA is stale, traffic negotiates a new one
          const spi = spiNum(d.value.spi.length === 4 ? d.value.spi : undefined);
          if (spi === undefined) continue;
          for (const t of this.tunnels.values()) {
            if (t.peer !== src) continue;
            const gone = t.installed.filter(x => Object.values(x.outSpi).includes(spi));
            if (gone.length) this.uninstall(t, gone, `${intToIp(src)} does not know SPI 0x${spi.toString(16)} (INVALID-SPI)`);
          }
        } else if (type === N.INITIAL_CONTACT) this.initialContact(ike);
      } else if (p.type === Pt.D) {
        const d = decodeDelete(p.body);
        if (!d.ok) continue;
        this.peerDelete(ike, d.value.protocol, d.value.spis);
      }
    }
  }

  /** The peer deleted SAs: IKE SAs (by cookies) or IPsec SAs (by the SPIs it received on: our outbound). */
  private peerDelete(ike: IkeSa, protocol: number, spis: Buffer[]): void {
    if (protocol === Proto.ISAKMP) {
      for (const spi of spis) {
        const s = spi.length === 16 ? [...this.ikeSas.values()].find(x => x.peer === ike.peer && x.icookie.equals(spi.subarray(0, 8)) && x.rcookie.equals(spi.subarray(8))) : undefined;
        if (!s) { this.drop('ike-delete-unknown-sa', intToIp(ike.peer)); continue; }
        this.host.log(`KMD_PM_P1_DELETED: ${intToIp(s.peer)} deleted the IKE SA ${hex(s.icookie)}`);
        this.trace(`IKE SA ${hex(s.icookie)} with ${intToIp(s.peer)} removed (the peer deleted it)`, 'database');
        s.state = 'DEAD'; this.ikeSas.delete(s.key);
      }
      return;
    }
    const nums = spis.map(s => spiNum(s)).filter((x): x is number => x !== undefined);
    for (const t of this.tunnels.values()) {
      if (t.peer !== ike.peer) continue;
      const gone = t.installed.filter(x => Object.values(x.outSpi).some(v => nums.includes(v)));
      if (gone.length) this.uninstall(t, gone, `${intToIp(ike.peer)} deleted it`);
    }
  }

  /** Tell the peer the SAs are gone (DELETE), then remove them here. */
  private deleteIpsec(t: DynTunnel, which: Installed[], why: string): void {
    const ike = this.ikeFor(t.peer) ?? [...this.ikeSas.values()].find(s => s.peer === t.peer && s.matured);
    for (const x of which) {
      if (ike) {
        for (const [p, v] of Object.entries(x.inSpi)) {
          const spi = Buffer.alloc(4); spi.writeUInt32BE(v as number);
          this.informationalOut(ike, [{ type: Pt.D, body: encodeDelete({ doi: DOI_IPSEC, protocol: p === 'ah' ? Proto.AH : Proto.ESP, spis: [spi] }) }]);
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
    for (const s of [...this.ikeSas.values()]) {
      const mode = MODE_NAME[s.mode];
      if (!s.matured && now - s.created > KMD_LIMITS.halfOpenMs) {
        this.trace(`half-open IKE SA ${hex(s.icookie)} with ${intToIp(s.peer)} expired after ${KMD_LIMITS.halfOpenMs} ms`, 'timer');
        this.dead(s, s.role === 'initiator' ? `the peer ${intToIp(s.peer)} did not complete ${mode} mode (does it answer UDP 500?)` : `the initiator did not complete ${mode} mode`, s.role === 'initiator' ? 'no-answer' : 'other');
        continue;
      }
      if (s.awaiting && s.lastSent && now >= s.nextRetry) {
        if (s.retries >= KMD_LIMITS.retransmits) {
          const stage = s.state === 'MM1' || s.state === 'AM1' ? `${mode} mode message 1 (does the peer answer UDP 500?)`
            : s.state === 'MM3' ? 'Main mode message 3' : s.state === 'AM2' ? 'Aggressive mode message 2 (a pre-shared key mismatch makes the peer drop it)' : 'Main mode message 5 (a pre-shared key mismatch makes the peer drop it)';
          this.dead(s, `no answer from ${intToIp(s.peer)} to ${stage}`, s.state === 'MM1' || s.state === 'AM1' ? 'no-answer' : s.state === 'MM5' || s.state === 'AM2' ? 'auth' : 'other');
          continue;
        }
        s.retries++; s.nextRetry = now + KMD_LIMITS.retransmitMs * 2 ** s.retries;
        this.trace(`retransmitting ${mode} mode (${s.state}) to ${intToIp(s.peer)} (${s.retries} of ${KMD_LIMITS.retransmits})`, 'timer');
        this.send(s, s.lastSent);
      }
      if (!s.matured) continue;
      if (s.expiresAt !== undefined && life >= s.expiresAt) {
        // a quick mode under way on it ends first: the peer's last message must find it (bounded)
        if ([...this.qms.values()].some(q => q.ike === s && !q.done)) {
          if (s.graceUntil === undefined) {
            s.graceUntil = now + KMD_LIMITS.expiryGraceMs;
            this.trace(`IKE SA ${hex(s.icookie)} with ${intToIp(s.peer)}: hard lifetime, kept until its quick mode ends`, 'timer');
          }
          if (now < s.graceUntil) continue;
        }
        this.trace(`IKE SA ${hex(s.icookie)} with ${intToIp(s.peer)}: hard lifetime`, 'timer');
        this.deleteIke(s, 'hard lifetime expired');
        continue;
      }
      if (s.retireAt !== undefined && now >= s.retireAt) { this.deleteIke(s, 'replaced by a new IKE SA (rekey)'); continue; }
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
    // NAT keepalives (RFC 3948 4): a NAT before us forgets an idle mapping; one byte 0xff keeps it
    for (const s of this.ikeSas.values()) {
      if (!s.matured || !s.natt.here || !s.natt.floated || s.retireAt !== undefined) continue;
      if (s.keepaliveAt === undefined) s.keepaliveAt = now + KMD_LIMITS.keepaliveMs;
      if (now < s.keepaliveAt) continue;
      s.keepaliveAt = now + KMD_LIMITS.keepaliveMs;
      this.trace(`NAT keepalive to ${intToIp(s.peer)}:${s.port}`, 'timer');
      this.host.sendUdp(s.local, s.peer, NATT_PORT, s.port, Buffer.from([0xff]));
    }
    for (const [k, q] of this.qms) {
      if (q.done) { if (now - (q.nextRetry || now) > 60_000 || !this.ikeSas.has(q.ike.key)) this.qms.delete(k); continue; }
      if (!this.ikeSas.has(q.ike.key)) { this.qms.delete(k); this.qmDone(q); this.fail(q.tunnel, 'the IKE SA went away during quick mode'); continue; }
      if (q.awaiting && q.lastSent && now >= q.nextRetry) {
        if (q.retries >= KMD_LIMITS.retransmits) { this.qms.delete(k); this.qmDone(q); this.fail(q.tunnel, `no answer from ${intToIp(q.ike.peer)} to quick mode`, 'no-answer'); continue; }
        q.retries++; q.nextRetry = now + KMD_LIMITS.retransmitMs * 2 ** q.retries;
        this.trace(`retransmitting quick mode 0x${q.mid.toString(16)} to ${intToIp(q.ike.peer)} (${q.retries} of ${KMD_LIMITS.retransmits})`, 'timer');
        this.send(q.ike, q.lastSent);
      }
    }
    for (const t of this.tunnels.values()) {
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


const CERT_NOTIFIES = new Set<number>([N.INVALID_CERTIFICATE, N.INVALID_CERT_AUTHORITY, N.INVALID_ID_INFORMATION, N.INVALID_SIGNATURE, N.INVALID_CERT_ENCODING, N.CERTIFICATE_UNAVAILABLE, N.AUTHENTICATION_FAILED]);

function describeId(body: Buffer): string {
  const d = decodeId(body);
  if (!d.ok) return '?';
  const v = d.value;
  if (v.type === IdType.IPV4_ADDR && v.data.length === 4) return intToIp(v.data.readUInt32BE(0));
  if (v.type === IdType.FQDN || v.type === IdType.USER_FQDN) return v.data.toString('latin1');
  if (v.type === IdType.DER_ASN1_DN) return nameToString(v.data) ?? 'DN ?';
  const s = idSelector(v);
  return s ? describeSelector(s) : `id type ${v.type}`;
}


/** A proxy identity as JUNOS prints it: ipv4_subnet(any:0,[0..7]=10.1.1.0/24), or ipv4(tcp:80,[0..3]=10.1.1.1). */
function junosIdentity(s: Selector): string {
  const proto = s.protocol === 0 ? 'any' : s.protocol === 6 ? 'tcp' : s.protocol === 17 ? 'udp' : s.protocol === 1 ? 'icmp' : String(s.protocol);
  return s.prefix.len === 32 ? `ipv4(${proto}:${s.port},[0..3]=${intToIp(s.prefix.addr)})` : `ipv4_subnet(${proto}:${s.port},[0..7]=${intToIp(s.prefix.addr)}/${s.prefix.len})`;
}

function ipToIntSafe(s: string): number | undefined { try { return ipToInt(s); } catch { return undefined; } }
