/**
 * kmd, the router's key management daemon: IKEv1 (RFC 2407, 2408, 2409) with pre-shared keys, as
 * initiator and responder. Main mode builds an IKE SA with a peer; quick mode negotiates the IPsec SA
 * pair a dynamic security association asks for, and kmd installs it in the ES PIC. It runs in the
 * router process (as kmd runs on the Routing Engine) and speaks UDP 500 through the PFE like any
 * traffic for the router. Every malformed, unexpected or unauthenticated message is dropped and
 * counted with a reason; half-open state is bounded and expires; keys never reach a log.
 */
import { randomBytes, getDiffieHellman, DiffieHellmanGroup } from 'node:crypto';
import type { RouterModel, IkePolicyModel, IpsecProposalModel, IpsecPolicyModel, IkeProposalModel } from '../config/model.js';
import type { DynamicSaPair } from '../../pics/es/core.js';
import type { SaSpec } from '../../pics/es/sa.js';
import { intToIp } from '../net/ip.js';
import {
  Pt, Xchg, N, NOTIFY_NAMES, Proto, DOI_IPSEC, IdType, DH_GROUPS, FLAG_ENCRYPTION, EXCHANGE_NAMES, ISAKMP_PORT,
} from './constants.js';
import {
  decodeHeader, decodePayloads, decodeSa, decodeId, decodeNotify, decodeDelete, encodeMessage, encodeId, encodeNotify, encodeDelete,
  RawPayload, Header, HEADER_LEN, OutPayload,
} from './codec.js';
import { IkeSa, newCookie, pad } from './ike-sa.js';
import * as K from './keymat.js';
import { ikeSaBody, ikeSaReply, chooseIke, readIkeTransform, describeIke, describeIkeOffer, ipsecSaBody, ipsecSaReply, chooseIpsec, readIpsecReply, IpsecChoice, describeIpsec, describeIpsecOffer } from './proposals.js';
import { proxyIds, ProxyIds, selectorId, idSelector, within, describeSelector, Selector } from './proxy.js';

/** What kmd needs of its router. */
export interface KmdHost {
  now(): number;
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
  trace?(flag: 'ike' | 'policy-manager' | 'database' | 'timer' | 'general' | 'parse' | 'routing-socket', msg: string): void;
}

export const KMD_LIMITS = {
  halfOpen: 64,            // IKE SAs not yet matured, at once
  halfOpenMs: 30_000,      // and how long one may stay so
  retransmitMs: 2000,      // first retransmission of an unanswered message; doubles each time
  retransmits: 4,          // then the exchange fails
  quickModes: 32,          // quick modes in progress per IKE SA
  retryBackoffMs: 5000,    // after a failed negotiation, traffic does not restart one before this
};

interface Installed {
  inSpi: { esp?: number; ah?: number }; outSpi: { esp?: number; ah?: number };
  created: number; lifetime: number; ike: string; choice: IpsecChoice;
}
/** A dynamic SA on an es- interface: what to negotiate, with whom, and what is installed. */
export interface DynTunnel {
  ifl: string; saName: string; peer: number; local: number;
  ike?: IkePolicyModel; policy: IpsecPolicyModel; proposals: IpsecProposalModel[]; pfsGroup?: number;
  replayWindow: 32 | 64; proxy: ProxyIds;
  installed: Installed[];
  negotiating?: number;   // quick mode M-ID
  lastError?: string; failedAt?: number;
}

interface QuickMode {
  mid: number; role: 'initiator' | 'responder'; tunnel: DynTunnel; ike: IkeSa;
  ni: Buffer; nr?: Buffer; dh?: DiffieHellmanGroup;
  gx?: Buffer; gyPeer?: Buffer;
  mySpi: { esp: Buffer; ah: Buffer };
  choice?: IpsecChoice;
  ids: { ci: Selector; cr: Selector };
  lastSent?: Buffer; lastRecv?: Buffer; retries: number; nextRetry: number; awaiting: boolean;
  done: boolean;
}

const hex = (b: Buffer) => b.toString('hex');
const spiNum = (b: Buffer | undefined) => (b && b.length === 4 ? b.readUInt32BE(0) : undefined);

export class Kmd {
  readonly ikeSas = new Map<string, IkeSa>();
  readonly tunnels = new Map<string, DynTunnel>();
  private qms = new Map<string, QuickMode>();   // `${ike key}/${mid}`
  readonly drops = new Map<string, number>();
  model?: RouterModel;
  /** the SPIs we handed out, so no two SAs share one */
  private spis = new Set<number>();

  constructor(private host: KmdHost) {}

  private drop(reason: string, detail?: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    this.host.trace?.('ike', `dropped: ${reason}${detail ? ` (${detail})` : ''}`);
  }
  private trace(msg: string): void { this.host.trace?.('ike', msg); }

  // ------------------------------------------------------------------------- configuration

  /**
   * A committed configuration: the dynamic SAs on es- interfaces become tunnels to negotiate. Changed
   * proposals and policies apply to new SAs (the chapter); installed ones stay until they expire or
   * are cleared.
   */
  configure(model: RouterModel, esIfls: Array<{ name: string; ipsecSa?: string; tunnel?: { source: number; destination: number }; inFilter?: string }>): void {
    this.model = model;
    const seen = new Set<string>();
    for (const l of esIfls) {
      const sa = l.ipsecSa ? model.sas.get(l.ipsecSa) : undefined;
      if (!sa?.dynamic || !l.tunnel) continue;
      const policy = model.ipsec.policies.get(sa.dynamic.ipsecPolicy);
      if (!policy) continue;
      seen.add(l.name);
      const prev = this.tunnels.get(l.name);
      const t: DynTunnel = {
        ifl: l.name, saName: sa.name, peer: l.tunnel.destination, local: l.tunnel.source,
        ike: model.ike.policies.get(intToIp(l.tunnel.destination)), policy,
        proposals: policy.proposals.map(n => model.ipsec.proposals.get(n)!).filter(Boolean),
        pfsGroup: policy.pfs === 'group1' ? 1 : policy.pfs === 'group2' ? 2 : undefined,
        replayWindow: sa.dynamic.replayWindow ?? 64,
        proxy: proxyIds(l.inFilter ? model.filters.get(l.inFilter) : undefined),
        installed: prev && prev.peer === l.tunnel.destination && prev.local === l.tunnel.source ? prev.installed : [],
        ...(prev?.negotiating ? { negotiating: prev.negotiating } : {}),
      };
      // a commit may have fixed what made the last negotiation fail: the next packet tries at once
      if (prev && !t.installed.length && prev.installed.length) this.uninstall(prev, prev.installed, 'its tunnel changed');
      this.tunnels.set(l.name, t);
    }
    for (const [name, t] of this.tunnels) if (!seen.has(name)) { this.uninstall(t, t.installed, 'its configuration was removed'); this.tunnels.delete(name); }
  }

  // ------------------------------------------------------------------------- from the PFE

  /** Traffic for a dynamic SA that has no outbound SA: negotiate one (or wait for the one under way). */
  acquire(ifl: string): void {
    const t = this.tunnels.get(ifl);
    if (!t) { this.host.tunnelReady(ifl, false, 'no dynamic SA'); return; }
    if (t.installed.length) { this.host.tunnelReady(ifl, true); return; }
    if (t.negotiating !== undefined) return;
    if (t.failedAt !== undefined && this.host.now() - t.failedAt < KMD_LIMITS.retryBackoffMs) { this.host.tunnelReady(ifl, false, t.lastError); return; }
    if (!t.ike) return this.fail(t, `no IKE policy for the peer ${intToIp(t.peer)}`);
    const sa = [...this.ikeSas.values()].find(s => s.peer === t.peer && s.state !== 'DEAD' && (s.matured || s.role === 'initiator'));
    t.negotiating = -1;   // phase 1 first
    const go = (s: IkeSa) => this.startQuickMode(s, t);
    if (sa?.matured) { go(sa); return; }
    if (sa) { sa.waiting.push(() => go(sa)); return; }
    const s = this.startMainMode(t.peer, t.local, t.ike);
    if (s) s.waiting.push(() => go(s));
  }

  private fail(t: DynTunnel, why: string): void {
    t.negotiating = undefined;
    t.lastError = why; t.failedAt = this.host.now();
    this.host.log(`KMD_PM_SA_ESTABLISH_FAILED: IPsec SA ${t.saName} on ${t.ifl} with ${intToIp(t.peer)} not established: ${why}`);
    this.host.tunnelReady(t.ifl, false, why);
  }

  /** A UDP datagram for port 500 of one of the router's addresses. */
  receive(msg: Buffer, src: number, dst: number, srcPort: number): void {
    const h = decodeHeader(msg);
    if (!h.ok) return this.drop(`ike-${h.reason}`, intToIp(src));
    const hd = h.value;
    const m = msg.subarray(0, hd.length);
    const key = `${src}/${hex(hd.icookie)}`;
    let sa = this.ikeSas.get(key);
    if (sa) { sa.stats.inBytes += m.length; sa.stats.inPackets++; }
    if (hd.exchange === Xchg.INFORMATIONAL) return this.informational(sa, hd, m, src);
    if (!sa) {
      if (hd.exchange !== Xchg.MAIN || !hd.rcookie.every(b => b === 0) || hd.flags & FLAG_ENCRYPTION) return this.drop('ike-unknown-sa', `${EXCHANGE_NAMES[hd.exchange] ?? hd.exchange} from ${intToIp(src)}`);
      sa = this.respondMainMode(hd, m, src, dst, srcPort);
      return;
    }
    // a retransmission of what we already answered: the same answer again
    if (sa.lastRecv && m.equals(sa.lastRecv) && sa.lastSent) { this.send(sa, sa.lastSent); return this.drop('ike-retransmission'); }
    if (hd.exchange === Xchg.MAIN) return this.mainMode(sa, hd, m);
    if (hd.exchange === Xchg.QUICK) return this.quickMode(sa, hd, m);
    this.drop('ike-unsupported-exchange', `${EXCHANGE_NAMES[hd.exchange] ?? hd.exchange}`);
  }

  private send(sa: IkeSa, msg: Buffer): void {
    sa.stats.outBytes += msg.length; sa.stats.outPackets++;
    this.host.sendUdp(sa.local, sa.peer, ISAKMP_PORT, sa.port, msg);
  }
  /** Send, remember as the last message, and retransmit it until a reply comes when `await` is set. */
  private sendMain(sa: IkeSa, msg: Buffer, awaitReply: boolean): void {
    sa.lastSent = msg;
    sa.awaiting = awaitReply; sa.retries = 0; sa.nextRetry = this.host.now() + KMD_LIMITS.retransmitMs;
    this.send(sa, msg);
  }

  // ------------------------------------------------------------------------- main mode

  private startMainMode(peer: number, local: number, policy: IkePolicyModel): IkeSa | undefined {
    const props = this.ikeProposals(policy);
    if (!props.length) return undefined;
    const sa = new IkeSa('initiator', peer, local, policy, newCookie(), this.host.now());
    this.ikeSas.set(sa.key, sa);
    sa.saiB = ikeSaBody(props);
    sa.offered = props.map(p => describeIke({ encryption: p.encryptionAlgorithm, hash: p.authenticationAlgorithm, method: p.authenticationMethod, group: p.dhGroup })).join(', ');
    this.host.log(`KMD_PM_P1_START: IKE phase 1 (Main mode) with ${intToIp(peer)} initiated`);
    this.trace(`-> ${intToIp(peer)} Main mode message 1: SA (${sa.offered})`);
    this.sendMain(sa, encodeMessage({ icookie: sa.icookie, rcookie: sa.rcookie, exchange: Xchg.MAIN, flags: 0, mid: 0 }, [{ type: Pt.SA, body: sa.saiB }]), true);
    return sa;
  }

  private ikeProposals(policy: IkePolicyModel): IkeProposalModel[] {
    // pre-shared keys only in this release: signature proposals need certificates (issue 16)
    return policy.proposals.map(n => this.model?.ike.proposals.get(n)).filter((p): p is IkeProposalModel => !!p && p.authenticationMethod === 'pre-shared-keys');
  }

  private respondMainMode(hd: Header, m: Buffer, src: number, dst: number, srcPort: number): IkeSa | undefined {
    // half-open state is bounded: at the limit, the oldest half-open negotiation goes (a flood of
    // first messages, spoofed or not, cannot lock the real peers out for good)
    const halfOpen = [...this.ikeSas.values()].filter(s => !s.matured && s.role === 'responder');
    if (halfOpen.length >= KMD_LIMITS.halfOpen) {
      const oldest = halfOpen[0]!;
      this.ikeSas.delete(oldest.key); oldest.state = 'DEAD';
      this.drop('ike-half-open-evicted', intToIp(oldest.peer));
    }
    const policy = this.model?.ike.policies.get(intToIp(src));
    if (!policy) {
      this.host.log(`KMD_PM_NO_POLICY: IKE from ${intToIp(src)} refused: no IKE policy for that peer`);
      this.notifyClear(hd, src, dst, srcPort, N.NO_PROPOSAL_CHOSEN);
      return this.drop('ike-no-policy', intToIp(src)) as undefined;
    }
    const p = decodePayloads(m.subarray(HEADER_LEN), hd.next, false);
    const saP = p.ok ? p.value.find(x => x.type === Pt.SA) : undefined;
    const sa = saP ? decodeSa(saP.body) : undefined;
    if (!sa?.ok) return this.drop('ike-malformed', p.ok ? (sa && !sa.ok ? sa.reason : 'no SA payload') : p.reason) as undefined;
    const ours = this.ikeProposals(policy);
    const chosen = chooseIke(sa.value, ours);
    if ('error' in chosen) {
      const offer = describeIkeOffer(sa.value);
      const mine = ours.map(o => describeIke({ encryption: o.encryptionAlgorithm, hash: o.authenticationAlgorithm, method: o.authenticationMethod, group: o.dhGroup })).join(', ');
      this.host.log(`KMD_PM_P1_NO_PROPOSAL: IKE phase 1 from ${intToIp(src)}: no proposal chosen (peer offered: ${offer}; ours: ${mine || 'none'})`);
      this.lastOffers.set(src, { theirs: offer, ours: mine, at: this.host.now() });
      this.notifyClear(hd, src, dst, srcPort, N.NO_PROPOSAL_CHOSEN);
      return this.drop('ike-no-proposal-chosen', intToIp(src)) as undefined;
    }
    const s = new IkeSa('responder', src, dst, policy, Buffer.from(hd.icookie), this.host.now(), srcPort);
    s.rcookie = newCookie();
    s.choice = { ...chosen.choice, lifetimeSeconds: Math.min(chosen.choice.lifetimeSeconds, chosen.ours.lifetimeSeconds) };
    s.saiB = Buffer.from(saP!.body);
    s.offered = describeIkeOffer(sa.value);
    this.ikeSas.set(s.key, s);
    s.lastRecv = Buffer.from(m);
    this.host.log(`KMD_PM_P1_START: IKE phase 1 (Main mode) from ${intToIp(src)}`);
    this.trace(`<- ${intToIp(src)} Main mode message 1; chose ${describeIke(s.choice)}`);
    this.sendMain(s, encodeMessage({ icookie: s.icookie, rcookie: s.rcookie, exchange: Xchg.MAIN, flags: 0, mid: 0 }, [{ type: Pt.SA, body: ikeSaReply(chosen.transform) }]), false);
    s.state = 'MM3';
    return s;
  }
  /** the peers' offers when a negotiation found no proposal (for the diagnosis command) */
  readonly lastOffers = new Map<number, { theirs: string; ours: string; at: number; phase?: 1 | 2 }>();

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
    const psk = sa.policy.preSharedKey;
    if (!psk) return this.dead(sa, 'no pre-shared key in the IKE policy');
    if (sa.role === 'initiator') {
      if (sa.state === 'MM1') {                                      // message 2: the responder's choice
        if (encrypted) return this.drop('ike-unexpected-encryption');
        const saP = get(Pt.SA);
        const d = saP && decodeSa(saP.body);
        const t = d?.ok ? d.value.proposals[0]?.transforms[0] : undefined;
        const c = t && readIkeTransform(t);
        if (!c) return this.drop('ike-malformed', 'message 2 without a usable SA');
        const offered = this.ikeProposals(sa.policy).find(p => p.encryptionAlgorithm === c.encryption && p.authenticationAlgorithm === c.hash && p.dhGroup === c.group && p.authenticationMethod === c.method);
        if (!offered) return this.dead(sa, `the peer chose a proposal that was not offered (${describeIke(c)})`);
        sa.rcookie = Buffer.from(hd.rcookie);
        this.ikeSas.delete(sa.key); this.ikeSas.set(sa.key, sa);
        sa.choice = { ...c, lifetimeSeconds: Math.min(c.lifetimeSeconds, offered.lifetimeSeconds) };
        sa.gxi = sa.startDh(); sa.ni = randomBytes(32);
        sa.lastRecv = Buffer.from(m);
        this.trace(`<- ${intToIp(sa.peer)} Main mode message 2: chose ${describeIke(c)}; -> message 3: KE, Ni`);
        this.sendMain(sa, encodeMessage({ icookie: sa.icookie, rcookie: sa.rcookie, exchange: Xchg.MAIN, flags: 0, mid: 0 }, [{ type: Pt.KE, body: sa.gxi }, { type: Pt.NONCE, body: sa.ni }]), true);
        sa.state = 'MM3';
        return;
      }
      if (sa.state === 'MM3') {                                      // message 4: KE, Nr
        if (encrypted) return this.drop('ike-unexpected-encryption');
        const ke = get(Pt.KE), nonce = get(Pt.NONCE);
        const bytes = DH_GROUPS[sa.choice!.group === 'group1' ? 1 : 2]!.bytes;
        if (!ke || ke.body.length !== bytes || !nonce || nonce.body.length < 8 || nonce.body.length > 256) return this.drop('ike-malformed', 'message 4');
        sa.gxr = Buffer.from(ke.body); sa.nr = Buffer.from(nonce.body);
        try { sa.deriveKeys(psk); } catch { return this.dead(sa, 'Diffie-Hellman failed (a bad public value)'); }
        sa.lastRecv = Buffer.from(m);
        const id = this.myId(sa);
        const hash = K.hashI(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr, sa.icookie, sa.rcookie, sa.saiB!, id);
        this.trace(`<- ${intToIp(sa.peer)} Main mode message 4: KE, Nr; keys derived; -> message 5: ID, HASH_I`);
        this.sendMain(sa, sa.seal({ exchange: Xchg.MAIN, mid: 0 }, [{ type: Pt.ID, body: id }, { type: Pt.HASH, body: hash }]), true);
        sa.state = 'MM5';
        return;
      }
      if (sa.state === 'MM5') {                                      // message 6: ID, HASH_R
        const idP = get(Pt.ID), hashP = get(Pt.HASH);
        if (!idP || !hashP) return this.authFailed(sa, hd, 'message 6 without ID and HASH: the keys differ');
        const want = K.hashR(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr!, sa.icookie, sa.rcookie, sa.saiB!, idP.body);
        if (!want.equals(hashP.body)) return this.authFailed(sa, hd, 'HASH_R does not match');
        commit();
        sa.remoteId = describeId(idP.body);
        sa.lastRecv = Buffer.from(m);
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
      sa.gxi = Buffer.from(ke.body); sa.ni = Buffer.from(nonce.body);
      sa.gxr = sa.startDh(); sa.nr = randomBytes(32);
      try { sa.deriveKeys(psk); } catch { return this.dead(sa, 'Diffie-Hellman failed (a bad public value)'); }
      sa.lastRecv = Buffer.from(m);
      this.trace(`<- ${intToIp(sa.peer)} Main mode message 3: KE, Ni; -> message 4: KE, Nr`);
      this.sendMain(sa, encodeMessage({ icookie: sa.icookie, rcookie: sa.rcookie, exchange: Xchg.MAIN, flags: 0, mid: 0 }, [{ type: Pt.KE, body: sa.gxr }, { type: Pt.NONCE, body: sa.nr }]), false);
      sa.state = 'MM5';
      return;
    }
    if (sa.state === 'MM5') {                                        // message 5: ID, HASH_I
      if (!encrypted) return this.drop('ike-unexpected-cleartext', 'message 5');
      const idP = get(Pt.ID), hashP = get(Pt.HASH);
      if (!idP || !hashP) return this.authFailed(sa, hd, 'message 5 did not decrypt to ID and HASH: the pre-shared keys differ');
      const want = K.hashI(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr!, sa.icookie, sa.rcookie, sa.saiB!, idP.body);
      if (!want.equals(hashP.body)) return this.authFailed(sa, hd, 'HASH_I does not match');
      commit();
      sa.remoteId = describeId(idP.body);
      sa.lastRecv = Buffer.from(m);
      const id = this.myId(sa);
      const hash = K.hashR(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr!, sa.icookie, sa.rcookie, sa.saiB!, id);
      this.trace(`<- ${intToIp(sa.peer)} Main mode message 5: peer authenticated; -> message 6: ID, HASH_R`);
      this.sendMain(sa, sa.seal({ exchange: Xchg.MAIN, mid: 0 }, [{ type: Pt.ID, body: id }, { type: Pt.HASH, body: hash }]), false);
      return this.matured(sa);
    }
    this.drop('ike-unexpected-main-mode');
  }

  /** Our phase 1 identity: the address we speak from (ID_IPV4_ADDR). */
  private myId(sa: IkeSa): Buffer {
    const d = Buffer.alloc(4); d.writeUInt32BE(sa.local >>> 0);
    sa.localId = intToIp(sa.local);
    return encodeId({ type: IdType.IPV4_ADDR, protocol: 0, port: 0, data: d });
  }

  private matured(sa: IkeSa): void {
    const now = this.host.now();
    sa.state = 'MATURED'; sa.maturedAt = now; sa.awaiting = false;
    sa.expiresAt = now + sa.choice!.lifetimeSeconds * 1000;
    sa.failure = undefined;
    this.host.log(`KMD_PM_P1_ESTABLISHED: IKE SA with ${intToIp(sa.peer)} established (${sa.role}, Main mode, ${describeIke(sa.choice!)}, lifetime ${sa.choice!.lifetimeSeconds} s)`);
    const w = sa.waiting; sa.waiting = [];
    for (const f of w) f();
  }

  /** Authentication failed: with pre-shared keys, almost always keys that differ. */
  private authFailed(sa: IkeSa, hd: Header, why: string): void {
    const reason = `authentication failed (${why}; is the pre-shared key the same on both sides?)`;
    this.drop('ike-authentication-failed', intToIp(sa.peer));
    // the peer cannot read what we encrypt with keys it does not share: say it in clear
    this.notifyClear(hd, sa.peer, sa.local, sa.port, N.AUTHENTICATION_FAILED);
    this.dead(sa, reason);
  }

  /** An IKE SA that will not mature: its waiting quick modes fail, and the reason is kept for `show`. */
  private dead(sa: IkeSa, why: string): void {
    if (sa.state === 'DEAD') return;
    sa.state = 'DEAD'; sa.failure = why; sa.awaiting = false;
    this.failures.set(sa.peer, { why, at: this.host.now(), role: sa.role });
    this.host.log(`KMD_PM_P1_FAILED: IKE phase 1 with ${intToIp(sa.peer)} failed: ${why}`);
    for (const t of this.tunnels.values()) if (t.peer === sa.peer && t.negotiating === -1) this.fail(t, `IKE phase 1 failed: ${why}`);
    sa.waiting = [];
    // kept a while for `show ike security-associations`, then forgotten
    this.ikeSas.delete(sa.key);
    this.deadSas.set(sa.peer, sa);
  }
  /** the last failure with each peer, and the last IKE SA that failed, for `show` and the diagnosis */
  readonly failures = new Map<number, { why: string; at: number; role: string }>();
  readonly deadSas = new Map<number, IkeSa>();

  /** An unencrypted informational notify (before keys exist, or when they do not agree). */
  private notifyClear(hd: Header, peer: number, local: number, port: number, type: number): void {
    const spi = Buffer.concat([hd.icookie, hd.rcookie]);
    const msg = encodeMessage({ icookie: hd.icookie, rcookie: hd.rcookie, exchange: Xchg.INFORMATIONAL, flags: 0, mid: randomBytes(4).readUInt32BE(0) },
      [{ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spi, type, data: Buffer.alloc(0) }) }]);
    this.host.sendUdp(local, peer, ISAKMP_PORT, port, msg);
  }

  // ------------------------------------------------------------------------- quick mode

  private allocSpi(): Buffer {
    for (;;) {
      const b = randomBytes(4);
      const n = b.readUInt32BE(0);
      if (n > 0x10000 && !this.spis.has(n)) { this.spis.add(n); return b; }
    }
  }

  private startQuickMode(ike: IkeSa, t: DynTunnel): void {
    if (!t.proposals.length) return this.fail(t, `IPsec policy ${t.policy.name} has no usable proposal`);
    let mid: number;
    do mid = randomBytes(4).readUInt32BE(0); while (mid === 0 || this.qms.has(`${ike.key}/${mid}`));
    const qm: QuickMode = {
      mid, role: 'initiator', tunnel: t, ike, ni: randomBytes(32), mySpi: { esp: this.allocSpi(), ah: this.allocSpi() },
      ids: { ci: t.proxy.local, cr: t.proxy.remote }, retries: 0, nextRetry: 0, awaiting: true, done: false,
    };
    t.negotiating = mid;
    const sa = ipsecSaBody(t.proposals, qm.mySpi, t.pfsGroup, false);
    const payloads: OutPayload[] = [{ type: Pt.SA, body: sa }, { type: Pt.NONCE, body: qm.ni }];
    if (t.pfsGroup) {
      const g = DH_GROUPS[t.pfsGroup]!;
      qm.dh = getDiffieHellman(g.name);
      qm.dh.generateKeys();
      qm.gx = pad(qm.dh.getPublicKey(), g.bytes);
      payloads.push({ type: Pt.KE, body: qm.gx });
    }
    payloads.push({ type: Pt.ID, body: selectorId(qm.ids.ci) }, { type: Pt.ID, body: selectorId(qm.ids.cr) });
    const rest = encodePayloadsBody(payloads);
    const hash = K.hash1(ike.hashAlg, ike.keys!.a, mid, rest);
    this.qms.set(`${ike.key}/${mid}`, qm);
    this.trace(`-> ${intToIp(ike.peer)} Quick mode message 1 for ${t.saName}: ${t.proposals.map(describeIpsec).join(', ')}${t.pfsGroup ? `, PFS group${t.pfsGroup}` : ''}; ${describeSelector(qm.ids.ci)} <-> ${describeSelector(qm.ids.cr)}`);
    this.sendQm(qm, ike.seal({ exchange: Xchg.QUICK, mid }, [{ type: Pt.HASH, body: hash }, ...payloads]), true);
  }

  private sendQm(qm: QuickMode, msg: Buffer, awaitReply: boolean): void {
    qm.lastSent = msg; qm.awaiting = awaitReply; qm.retries = 0; qm.nextRetry = this.host.now() + KMD_LIMITS.retransmitMs;
    this.send(qm.ike, msg);
  }

  private quickMode(ike: IkeSa, hd: Header, m: Buffer): void {
    if (!ike.matured) return this.drop('ike-quick-mode-before-phase1', intToIp(ike.peer));
    if (!(hd.flags & FLAG_ENCRYPTION)) return this.drop('ike-unexpected-cleartext', 'quick mode');
    if (hd.mid === 0) return this.drop('ike-malformed', 'quick mode with message ID 0');
    const qkey = `${ike.key}/${hd.mid}`;
    let qm = this.qms.get(qkey);
    if (qm?.lastRecv && m.equals(qm.lastRecv)) { if (qm.lastSent) this.send(ike, qm.lastSent); return this.drop('ike-retransmission'); }
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
      if (!K.hash1(alg, a, hd.mid, rest).equals(pl[0].body)) return this.drop('ike-bad-hash', 'quick mode message 1');
      o.value.commit();
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
      if (!ci || !cr) return this.qmRefuse(ike, hd.mid, N.INVALID_ID_INFORMATION, 'proxy identities that are not IPv4 addresses or subnets');
      const t = [...this.tunnels.values()].find(x => x.peer === ike.peer && within(ci, x.proxy.remote) && within(cr, x.proxy.local));
      if (!t) {
        const mine = [...this.tunnels.values()].filter(x => x.peer === ike.peer).map(x => `${describeSelector(x.proxy.local)} <-> ${describeSelector(x.proxy.remote)}`).join('; ');
        this.lastProxyMismatch.set(ike.peer, { theirs: `${describeSelector(cr)} <-> ${describeSelector(ci)}`, ours: mine || 'no dynamic SA for this peer', at: this.host.now() });
        return this.qmRefuse(ike, hd.mid, N.INVALID_ID_INFORMATION, `proxy identities do not match: the peer wants ${describeSelector(ci)} <-> ${describeSelector(cr)} (its side first); ours are ${mine || 'none for this peer'}`);
      }
      const chosen = chooseIpsec(sa.value, t.proposals, t.pfsGroup, false);
      if ('error' in chosen) {
        const offer = describeIpsecOffer(sa.value);
        const ours = `${t.proposals.map(describeIpsec).join(', ')}${t.pfsGroup ? `, PFS group${t.pfsGroup}` : ', no PFS'}`;
        this.lastOffers.set(ike.peer, { theirs: offer, ours, at: this.host.now(), phase: 2 });
        return this.qmRefuse(ike, hd.mid, N.NO_PROPOSAL_CHOSEN, `no IPsec proposal chosen (peer offered: ${offer}; ours: ${ours})`, t);
      }
      if (t.pfsGroup && (!ke || ke.body.length !== DH_GROUPS[t.pfsGroup]!.bytes)) return this.qmRefuse(ike, hd.mid, N.INVALID_KEY_INFORMATION, 'PFS wanted, but no or a bad KE payload', t);
      qm = {
        mid: hd.mid, role: 'responder', tunnel: t, ike, ni: Buffer.from(nonce.body), nr: randomBytes(32),
        mySpi: { esp: this.allocSpi(), ah: this.allocSpi() }, ids: { ci, cr }, retries: 0, nextRetry: 0, awaiting: false, done: false,
        choice: { ...chosen.choice, lifetimeSeconds: Math.min(chosen.choice.lifetimeSeconds, chosen.ours.lifetimeSeconds) },
      };
      const out: OutPayload[] = [{ type: Pt.SA, body: ipsecSaReply(chosen.parts, chosen.choice.proposalNum, qm.mySpi) }, { type: Pt.NONCE, body: qm.nr! }];
      if (t.pfsGroup) {
        const g = DH_GROUPS[t.pfsGroup]!;
        const d = getDiffieHellman(g.name); d.generateKeys();
        qm.dh = d;
        qm.gx = pad(d.getPublicKey(), g.bytes); qm.gyPeer = Buffer.from(ke!.body);
        out.push({ type: Pt.KE, body: qm.gx });
      }
      if (ids.length >= 2) out.push({ type: Pt.ID, body: Buffer.from(ids[0]!.body) }, { type: Pt.ID, body: Buffer.from(ids[1]!.body) });
      // our lifetime is shorter than the one offered: say so (RFC 2407 4.6.3.1)
      if (chosen.ours.lifetimeSeconds < chosen.choice.lifetimeSeconds) {
        const attrs = Buffer.alloc(10); attrs.writeUInt16BE(0x8001, 0); attrs.writeUInt16BE(1, 2); attrs.writeUInt16BE(2, 4); attrs.writeUInt16BE(4, 6);
        const life = Buffer.alloc(4); life.writeUInt32BE(chosen.ours.lifetimeSeconds);
        out.push({ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: chosen.parts[chosen.parts.length - 1]!.protocol, spi: chosen.choice.peerSpi.esp ?? chosen.choice.peerSpi.ah!, type: N.RESPONDER_LIFETIME, data: Buffer.concat([attrs.subarray(0, 8), life]) }) });
      }
      const hash = K.hash2(alg, a, hd.mid, qm.ni, encodePayloadsBody(out));
      qm.lastRecv = Buffer.from(m);
      this.qms.set(qkey, qm);
      t.negotiating = hd.mid;
      this.trace(`<- ${intToIp(ike.peer)} Quick mode message 1 for ${t.saName}; chose ${describeIpsec(chosen.ours)}; -> message 2`);
      this.sendQm(qm, ike.seal({ exchange: Xchg.QUICK, mid: hd.mid }, [{ type: Pt.HASH, body: hash }, ...out]), true);
      return;
    }
    if (qm.role === 'initiator' && !qm.nr) {                        // message 2: the responder's choice
      const nonce = get(Pt.NONCE);
      if (!nonce) return this.drop('ike-malformed', 'quick mode message 2');
      if (!K.hash2(alg, a, hd.mid, qm.ni, rest).equals(pl[0].body)) return this.drop('ike-bad-hash', 'quick mode message 2');
      o.value.commit();
      const saP = get(Pt.SA);
      const sa = saP && decodeSa(saP.body);
      if (!sa?.ok) return this.drop('ike-malformed', 'quick mode message 2');
      const c = readIpsecReply(sa.value, qm.tunnel.proposals, qm.tunnel.pfsGroup);
      if ('error' in c) { this.qmDone(qm); return this.fail(qm.tunnel, `quick mode: ${c.error}`); }
      let lifetime = Math.min(c.lifetimeSeconds, qm.tunnel.proposals[c.proposalNum - 1]!.lifetimeSeconds);
      for (const n of pl.filter(x => x.type === Pt.N)) {
        const d = decodeNotify(n.body);
        if (d.ok && d.value.type === N.RESPONDER_LIFETIME && d.value.data.length >= 8) {
          const at = d.value.data.readUInt16BE(0) & 0x7fff;
          if (at === 1 && d.value.data.readUInt16BE(2) === 1 && d.value.data.length >= 12) lifetime = Math.min(lifetime, d.value.data.readUInt32BE(8));
        }
      }
      qm.choice = { ...c, lifetimeSeconds: lifetime };
      qm.nr = Buffer.from(nonce.body);
      if (qm.tunnel.pfsGroup) {
        const ke = get(Pt.KE);
        if (!ke || ke.body.length !== DH_GROUPS[qm.tunnel.pfsGroup]!.bytes) { this.qmDone(qm); return this.fail(qm.tunnel, 'quick mode: the reply has no KE payload for PFS'); }
        qm.gyPeer = Buffer.from(ke.body);
      }
      qm.lastRecv = Buffer.from(m);
      const h3 = K.hash3(alg, a, hd.mid, qm.ni, qm.nr);
      qm.lastSent = ike.seal({ exchange: Xchg.QUICK, mid: hd.mid }, [{ type: Pt.HASH, body: h3 }]);
      qm.awaiting = false;
      this.send(ike, qm.lastSent);
      this.trace(`<- ${intToIp(ike.peer)} Quick mode message 2; -> message 3`);
      return this.installQm(qm);
    }
    if (qm.role === 'responder' && !qm.done) {                      // message 3
      if (!K.hash3(alg, a, hd.mid, qm.ni, qm.nr!).equals(pl[0].body)) return this.drop('ike-bad-hash', 'quick mode message 3');
      o.value.commit();
      qm.lastRecv = Buffer.from(m); qm.awaiting = false;
      this.trace(`<- ${intToIp(ike.peer)} Quick mode message 3`);
      return this.installQm(qm);
    }
    this.drop('ike-unexpected-quick-mode');
  }
  lastProxyMismatch = new Map<number, { theirs: string; ours: string; at: number }>();

  private qmCount(ike: IkeSa): number { let n = 0; for (const q of this.qms.values()) if (q.ike === ike && !q.done) n++; return n; }
  private qmDone(qm: QuickMode): void { qm.done = true; qm.awaiting = false; if (qm.tunnel.negotiating === qm.mid) qm.tunnel.negotiating = undefined; }

  /** Refuse a quick mode with an encrypted notify, and say why in the log. */
  private qmRefuse(ike: IkeSa, mid: number, type: number, why: string, t?: DynTunnel): void {
    this.host.log(`KMD_PM_P2_REFUSED: quick mode from ${intToIp(ike.peer)} refused: ${why}`);
    this.drop(`ike-${(NOTIFY_NAMES[type] ?? 'refused').toLowerCase()}`, intToIp(ike.peer));
    if (t) { t.lastError = why; t.failedAt = this.host.now(); }
    this.informationalOut(ike, [{ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spi: Buffer.concat([ike.icookie, ike.rcookie]), type, data: Buffer.alloc(0) }) }]);
  }

  /** Both directions' keys from KEYMAT, into the ES PIC. */
  private installQm(qm: QuickMode): void {
    this.qmDone(qm);
    const t = qm.tunnel, ike = qm.ike, c = qm.choice!;
    let gxy: Buffer | undefined;
    if (qm.gyPeer && qm.dh) {
      try { gxy = pad(qm.dh.computeSecret(qm.gyPeer), DH_GROUPS[t.pfsGroup!]!.bytes); } catch { return this.fail(t, 'PFS Diffie-Hellman failed (a bad public value)'); }
    }
    const [ni, nr] = [qm.ni, qm.nr!];
    const encLen = c.encryption ? K.CIPHERS[c.encryption].keyLen : 0;
    const authLen = c.authentication ? (c.authentication === 'hmac-md5-96' ? 16 : 20) : 0;
    const km = (proto: number, spi: Buffer, len: number) => K.keymat(ike.hashAlg, ike.keys!.d, gxy, proto, spi, ni, nr, len);
    const mySpi = { esp: qm.mySpi.esp, ah: qm.mySpi.ah }, peerSpi = c.peerSpi;
    const spec = (dir: 'inbound' | 'outbound'): SaSpec => {
      const spis = dir === 'inbound' ? mySpi : { esp: peerSpi.esp!, ah: peerSpi.ah! };
      const base = { name: t.saName, direction: dir, protocol: c.protocol, mode: 'tunnel' as const, manual: false,
        tunnel: dir === 'outbound' ? { source: t.local, destination: t.peer } : { source: t.peer, destination: t.local },
        replayWindow: t.replayWindow, lifetime: { hardSeconds: c.lifetimeSeconds } };
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
    this.host.install(t.ifl, pair, inbound);
    t.installed.push({ inSpi, outSpi, created: this.host.now(), lifetime: c.lifetimeSeconds, ike: ike.key, choice: c });
    t.lastError = undefined; t.failedAt = undefined;
    ike.ipsecCreated++;
    const show = (x: { esp?: number; ah?: number }) => Object.entries(x).map(([p, v]) => `${p.toUpperCase()} 0x${(v as number).toString(16)}`).join(' ');
    this.host.log(`KMD_PM_SA_ESTABLISHED: IPsec SA ${t.saName} on ${t.ifl} with ${intToIp(t.peer)} established (${qm.role}, ${c.protocol} ${[c.encryption, c.authentication].filter(Boolean).join(' ')}${t.pfsGroup ? ` PFS group${t.pfsGroup}` : ''}, inbound ${show(inSpi)}, outbound ${show(outSpi)}, lifetime ${c.lifetimeSeconds} s)`);
    this.host.tunnelReady(t.ifl, true);
  }

  private uninstall(t: DynTunnel, which: Installed[], why: string): void {
    for (const x of which) {
      const inbound = [...(x.inSpi.esp !== undefined && x.choice.protocol === 'esp' ? [{ proto: 50, spi: x.inSpi.esp, dst: t.local }] : []), ...(x.inSpi.ah !== undefined ? [{ proto: 51, spi: x.inSpi.ah, dst: t.local }] : [])];
      this.host.remove(t.ifl, inbound, Object.values(x.outSpi));
      for (const s of Object.values(x.inSpi)) this.spis.delete(s);
      const ike = this.ikeSas.get(x.ike); if (ike) ike.ipsecDeleted++;
      this.host.log(`KMD_PM_SA_DELETED: IPsec SA ${t.saName} on ${t.ifl} with ${intToIp(t.peer)} removed: ${why}`);
    }
    t.installed = t.installed.filter(x => !which.includes(x));
  }

  // ------------------------------------------------------------------------- informational

  private informationalOut(ike: IkeSa, payloads: OutPayload[]): void {
    const mid = randomBytes(4).readUInt32BE(0) || 1;
    const rest = encodePayloadsBody(payloads);
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
      const why = d.value.type === N.AUTHENTICATION_FAILED || d.value.type === N.INVALID_HASH_INFORMATION || d.value.type === N.PAYLOAD_MALFORMED && target.state === 'MM5'
        ? `the peer refused our authentication (${name}): is the pre-shared key the same on both sides?`
        : d.value.type === N.NO_PROPOSAL_CHOSEN ? `the peer chose none of our proposals (${name}; we offered ${target.offered ?? '?'})` : `the peer says ${name}`;
      this.host.log(`KMD_PM_P1_NOTIFY: ${intToIp(src)} sent ${name}`);
      return this.dead(target, why);
    }
    if (!ike?.matured) return this.drop('ike-unknown-sa', `informational from ${intToIp(src)}`);
    const o = ike.open(hd, m);
    if (!o.ok) return this.drop(`ike-${o.reason}`, 'informational');
    const pl = o.value.payloads;
    if (pl[0]?.type !== Pt.HASH) return this.drop('ike-malformed', 'informational without HASH');
    const rest = Buffer.concat(pl.slice(1).map(p => p.raw));
    if (!K.hash1(ike.hashAlg, ike.keys!.a, hd.mid, rest).equals(pl[0].body)) return this.drop('ike-bad-hash', 'informational');
    o.value.commit();
    for (const p of pl.slice(1)) {
      if (p.type === Pt.N) {
        const d = decodeNotify(p.body);
        if (!d.ok) continue;
        const name = NOTIFY_NAMES[d.value.type] ?? `notify ${d.value.type}`;
        this.host.log(`KMD_PM_NOTIFY: ${intToIp(src)} sent ${name}`);
        if (d.value.type === N.NO_PROPOSAL_CHOSEN || d.value.type === N.INVALID_ID_INFORMATION || d.value.type === N.INVALID_KEY_INFORMATION) {
          for (const t of this.tunnels.values()) if (t.peer === src && t.negotiating !== undefined && t.negotiating > 0) {
            const qm = this.qms.get(`${ike.key}/${t.negotiating}`);
            if (qm) this.qmDone(qm);
            this.fail(t, d.value.type === N.INVALID_ID_INFORMATION ? `the peer refused our proxy identities (${name}): ${describeSelector(t.proxy.local)} <-> ${describeSelector(t.proxy.remote)}` : `the peer refused quick mode (${name})`);
          }
        }
      } else if (p.type === Pt.D) {
        const d = decodeDelete(p.body);
        if (!d.ok) continue;
        this.peerDelete(ike, d.value.protocol, d.value.spis);
      }
    }
  }

  /** The peer deleted SAs: an IKE SA (by cookies) or IPsec SAs (by the SPIs it received on: our outbound). */
  private peerDelete(ike: IkeSa, protocol: number, spis: Buffer[]): void {
    if (protocol === Proto.ISAKMP) {
      this.host.log(`KMD_PM_P1_DELETED: ${intToIp(ike.peer)} deleted the IKE SA`);
      ike.state = 'DEAD'; this.ikeSas.delete(ike.key);
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
    const ike = [...this.ikeSas.values()].find(s => s.peer === t.peer && s.matured);
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
      if (s.matured) this.informationalOut(s, [{ type: Pt.D, body: encodeDelete({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spis: [Buffer.concat([s.icookie, s.rcookie])] }) }]);
      s.state = 'DEAD'; this.ikeSas.delete(s.key); n++;
      this.host.log(`KMD_PM_P1_DELETED: IKE SA with ${intToIp(s.peer)} cleared by root`);
    }
    for (const t of this.tunnels.values()) if ((peer === undefined || t.peer === peer) && t.negotiating !== undefined) t.negotiating = undefined;
    return n;
  }
  /** `clear ipsec security-associations [SA]`: delete the negotiated pairs (the peer is told); traffic negotiates new ones. */
  clearIpsec(saName?: string): void {
    for (const t of this.tunnels.values()) {
      if (saName !== undefined && t.saName !== saName) continue;
      if (t.installed.length) this.deleteIpsec(t, t.installed.slice(), 'cleared by root');
      t.failedAt = undefined; t.lastError = undefined;
      this.host.tunnelReady(t.ifl, false);
    }
  }

  /** Timers: retransmissions, half-open expiry, IKE SA lifetimes. Called a few times a second. */
  tick(): void {
    const now = this.host.now();
    for (const s of [...this.ikeSas.values()]) {
      if (!s.matured && now - s.created > KMD_LIMITS.halfOpenMs) { this.dead(s, s.role === 'initiator' ? `the peer ${intToIp(s.peer)} did not complete Main mode (does it answer UDP 500?)` : 'the initiator did not complete Main mode'); continue; }
      if (s.awaiting && s.lastSent && now >= s.nextRetry) {
        if (s.retries >= KMD_LIMITS.retransmits) {
          const stage = s.state === 'MM1' ? 'message 1 (does the peer answer UDP 500?)' : s.state === 'MM3' ? 'message 3' : 'message 5 (a pre-shared key mismatch makes the peer drop it)';
          this.dead(s, `no answer from ${intToIp(s.peer)} to ${stage}`);
          continue;
        }
        s.retries++; s.nextRetry = now + KMD_LIMITS.retransmitMs * 2 ** s.retries;
        this.host.trace?.('timer', `retransmitting Main mode to ${intToIp(s.peer)} (${s.retries})`);
        this.send(s, s.lastSent);
      }
      if (s.matured && s.expiresAt !== undefined && now >= s.expiresAt) {
        this.host.log(`KMD_PM_P1_EXPIRED: IKE SA with ${intToIp(s.peer)} expired`);
        s.state = 'DEAD'; this.ikeSas.delete(s.key);
      }
    }
    for (const [k, q] of this.qms) {
      if (q.done) { if (now - (q.nextRetry || now) > 60_000 || !this.ikeSas.has(q.ike.key)) this.qms.delete(k); continue; }
      if (!this.ikeSas.has(q.ike.key)) { this.qms.delete(k); this.qmDone(q); this.fail(q.tunnel, 'the IKE SA went away during quick mode'); continue; }
      if (q.awaiting && q.lastSent && now >= q.nextRetry) {
        if (q.retries >= KMD_LIMITS.retransmits) { this.qms.delete(k); this.qmDone(q); this.fail(q.tunnel, `no answer from ${intToIp(q.ike.peer)} to quick mode`); continue; }
        q.retries++; q.nextRetry = now + KMD_LIMITS.retransmitMs * 2 ** q.retries;
        this.send(q.ike, q.lastSent);
      }
    }
    // hard lifetimes of IPsec SAs (the ES PIC reports them too; this keeps kmd's books straight)
    for (const t of this.tunnels.values()) {
      const gone = t.installed.filter(x => now >= x.created + x.lifetime * 1000);
      if (gone.length) { this.uninstall(t, gone, 'hard lifetime'); if (!t.installed.length) this.host.tunnelReady(t.ifl, false); }
    }
  }

  /** IKE SAs for `show ike security-associations` (failed ones too, so a learner sees why). */
  ikeSnapshot(): IkeSa[] { return [...this.ikeSas.values()]; }
}

function encodePayloadsBody(payloads: OutPayload[]): Buffer {
  // the bytes of the payloads after HASH, as they will be sent (with generic headers and chaining)
  const parts: Buffer[] = [];
  payloads.forEach((p, i) => {
    const g = Buffer.alloc(4);
    g[0] = payloads[i + 1]?.type ?? Pt.NONE;
    g.writeUInt16BE(4 + p.body.length, 2);
    parts.push(g, p.body);
  });
  return Buffer.concat(parts);
}

function describeId(body: Buffer): string {
  const d = decodeId(body);
  if (!d.ok) return '?';
  const v = d.value;
  if (v.type === IdType.IPV4_ADDR && v.data.length === 4) return intToIp(v.data.readUInt32BE(0));
  if (v.type === IdType.FQDN || v.type === IdType.USER_FQDN) return v.data.toString('latin1');
  const s = idSelector(v);
  return s ? describeSelector(s) : `id type ${v.type}`;
}

