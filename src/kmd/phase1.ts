/**
 * What Main mode and Aggressive mode share (strongSwan's phase1.c, in shape): the proposals a policy
 * offers and the responder's choice, the peer's KE and nonce, the keys (SKEYID), the responder's
 * handling of a first message (policy, proposal, rationing, half-open bound), INITIAL-CONTACT, and the
 * ends of a phase 1: matured, or failed authentication.
 */
import type { IkePolicyModel, IkeProposalModel } from '../config/model.js';
import type { KmdContext } from './context.js';
import type { IkeChoice } from './proposals.js';
import { IkeSa, newCookie } from './ike-sa.js';
import { Pt, N, Proto, DOI_IPSEC, DH_GROUPS, Xchg, FLAG_ENCRYPTION, ISAKMP_PORT } from './constants.js';
import { decodePayloads, decodeSa, decodeNotify, encodeNotify, encodeDelete, HEADER_LEN, type Header, type RawPayload, type OutPayload } from './codec.js';
import { chooseIke, readIkeTransform, describeIke, describeIkeOffer } from './proposals.js';
import { sig, authReady } from './auth.js';
import { peerVid } from './natt.js';
import { informationalOut, notifyClear } from './tasks/informational.js';
import { KMD_LIMITS, MODE_NAME, hex, type FailureKind } from './types.js';
import { intToIp } from '../net/ip.js';

/** The IKE proposals of a policy that kmd can use (signatures need the PKI). */
export function ikeProposals(k: KmdContext, policy: IkePolicyModel): IkeProposalModel[] {
  return policy.proposals.map(n => k.model?.ike.proposals.get(n)).filter((p): p is IkeProposalModel => !!p && (p.authenticationMethod === 'pre-shared-keys' || !!k.host.pki));
}

// ------------------------------------------------------------------------- the initiator

/** A new IKE SA we initiate with a peer (not yet in the SA database). */
export function newInitiator(k: KmdContext, peer: number, local: number, policy: IkePolicyModel): IkeSa {
  const sa = new IkeSa('initiator', peer, local, policy, newCookie(), k.host.now(), ISAKMP_PORT, policy.mode);
  sa.configFp = k.ikeFps.get(peer);
  return sa;
}
/** Into the SA database, with the offer it makes. */
export function registerInitiator(k: KmdContext, sa: IkeSa, props: IkeProposalModel[], saiB: Buffer): void {
  k.ikeSas.set(sa.key, sa);
  sa.saiB = saiB;
  sa.offered = props.map(p => describeIke({ encryption: p.encryptionAlgorithm, hash: p.authenticationAlgorithm, method: p.authenticationMethod, group: p.dhGroup })).join(', ');
  k.trace(`IKE policy ${sa.policy.peer} for ${intToIp(sa.peer)}: ${MODE_NAME[sa.policy.mode]} mode, proposals ${props.map(p => p.name).join(', ')}`, 'policy-manager');
  k.trace(`IKE SA ${hex(sa.icookie)} with ${intToIp(sa.peer)} created (initiator)`, 'database');
  k.host.log(`KMD_PM_P1_START: IKE phase 1 (${MODE_NAME[sa.mode]} mode) with ${intToIp(sa.peer)} initiated`);
}

/** The responder's choice in message 2: one of the proposals we offered, or why not. */
export function readChoice(k: KmdContext, sa: IkeSa, saP: RawPayload | undefined): 'malformed' | string | true {
  const d = saP && decodeSa(saP.body);
  const t = d?.ok ? d.value.proposals[0]?.transforms[0] : undefined;
  const c = t && readIkeTransform(t);
  if (!c) return 'malformed';
  const offered = ikeProposals(k, sa.policy).find(p => p.encryptionAlgorithm === c.encryption && p.authenticationAlgorithm === c.hash && p.dhGroup === c.group && p.authenticationMethod === c.method);
  if (!offered) return `the peer chose a proposal that was not offered (${describeIke(c)})`;
  sa.choice = { ...c, lifetimeSeconds: Math.min(k.fromWire(c.lifetimeSeconds), offered.lifetimeSeconds) };
  k.trace(`${intToIp(sa.peer)} chose ${describeIke(c)}: our proposal ${offered.name}`, 'policy-manager');
  return true;
}

// ------------------------------------------------------------------------- the responder's first message

/** The first message of a phase 1 from a peer, read: its policy, payloads and SA offer. */
export interface FirstMessage {
  hd: Header; m: Buffer; src: number; dst: number; srcPort: number; mode: 'main' | 'aggressive';
  policy: IkePolicyModel; payloads: RawPayload[]; saBody: Buffer; offer: Extract<ReturnType<typeof decodeSa>, { ok: true }>;
  get(type: number): RawPayload | undefined;
}
export type Chosen = Exclude<ReturnType<typeof chooseIke>, { error: string }>;

/** Main mode message 1 or Aggressive mode message 1 from a peer: its policy and its SA payload, or dropped. */
export function readFirst(k: KmdContext, hd: Header, m: Buffer, src: number, dst: number, srcPort: number): FirstMessage | undefined {
  const mode = hd.exchange === Xchg.AGGRESSIVE ? 'aggressive' : 'main';
  const policy = k.model?.ike.policies.get(intToIp(src));
  if (!policy) {
    // anyone can send this from any address: answer and log a source once in a while, and all sources
    // together at a bounded rate, so kmd is neither a reflector nor a way to wipe its log
    if (!k.quiet(`no-policy/${src}`, KMD_LIMITS.quietPerPeerMs) && !k.quiet('no-policy', KMD_LIMITS.quietAllMs)) {
      k.host.log(`KMD_PM_NO_POLICY: IKE from ${intToIp(src)} refused: no IKE policy for that peer`);
      notifyClear(k, hd, src, dst, srcPort, N.NO_PROPOSAL_CHOSEN);
    }
    k.drop('ike-no-policy', intToIp(src)); return undefined;
  }
  const p = decodePayloads(m.subarray(HEADER_LEN), hd.next, false);
  const saP = p.ok ? p.value.find(x => x.type === Pt.SA) : undefined;
  const sa = saP ? decodeSa(saP.body) : undefined;
  if (!p.ok || !saP || !sa?.ok) { k.drop('ike-malformed', p.ok ? (sa && !sa.ok ? sa.reason : 'no SA payload') : p.reason); return undefined; }
  const payloads = p.value;
  return { hd, m, src, dst, srcPort, mode, policy, payloads, saBody: saP.body, offer: sa, get: t => payloads.find(x => x.type === t) };
}

/** Our choice among the peer's proposals (and a pre-shared key for it), or refused with a clear notify. */
export function choose(k: KmdContext, f: FirstMessage): Chosen | undefined {
  const { src, policy } = f;
  const ours = ikeProposals(k, policy);
  const chosen = chooseIke(f.offer.value, ours);
  if ('error' in chosen) {
    const offer = describeIkeOffer(f.offer.value);
    const mine = ours.map(o => describeIke({ encryption: o.encryptionAlgorithm, hash: o.authenticationAlgorithm, method: o.authenticationMethod, group: o.dhGroup })).join(', ');
    const loud = !k.quiet(`no-proposal/${src}`, KMD_LIMITS.noProposalMs);
    if (loud) k.host.log(`KMD_PM_P1_NO_PROPOSAL: IKE phase 1 from ${intToIp(src)}: no proposal chosen (peer offered: ${offer}; ours: ${mine || 'none'})`);
    k.lastOffers.set(src, { theirs: offer, ours: mine, at: k.host.now(), phase: 1 });
    k.failures.set(src, { why: `no proposal chosen: the peer offered ${offer}; ours are ${mine || 'none'}`, at: k.host.now(), role: 'responder', kind: 'no-proposal', mode: f.mode });
    if (loud) notifyClear(k, f.hd, src, f.dst, f.srcPort, N.NO_PROPOSAL_CHOSEN);
    k.drop('ike-no-proposal-chosen', intToIp(src)); return undefined;
  }
  k.trace(`IKE policy ${policy.peer} for ${intToIp(src)}: chose ${describeIke(chosen.choice)} (our proposal ${chosen.ours.name}) from ${describeIkeOffer(f.offer.value)}`, 'policy-manager');
  if (chosen.choice.method === 'pre-shared-keys' && !policy.preSharedKey) {
    notifyClear(k, f.hd, src, f.dst, f.srcPort, N.AUTHENTICATION_FAILED);
    k.drop('ike-no-pre-shared-key', intToIp(src)); return undefined;
  }
  return chosen;
}

/**
 * Room for a new responder SA: the mode noted when it is not our policy's, the Diffie-Hellman work
 * rationed when it comes now (`dhNow`: Aggressive mode), and half-open state bounded.
 */
export function admit(k: KmdContext, f: FirstMessage, dhNow: boolean): boolean {
  const { src, mode, policy } = f;
  if (policy.mode !== mode) {
    // the chapter: "the remote peer accepts the mode sent by the peer"
    k.modeNotes.set(src, { theirs: mode, ours: policy.mode, at: k.host.now() });
    k.host.log(`KMD_PM_P1_MODE: ${intToIp(src)} initiates in ${MODE_NAME[mode]} mode; the IKE policy says ${policy.mode}: accepted (the responder accepts the initiator's mode)`);
  }
  if (dhNow && !k.dhBudget.take(src, intToIp(src))) { k.drop('ike-dh-rate-limited', intToIp(src)); return false; }
  if (!makeRoom(k)) { k.drop('ike-half-open-full', intToIp(src)); return false; }
  return true;
}

/** The responder's IKE SA, in the SA database; undefined (refused in clear) when we cannot authenticate. */
export function newResponder(k: KmdContext, f: FirstMessage, chosen: Chosen): IkeSa | undefined {
  const { src, dst, srcPort, mode, hd } = f;
  const s = new IkeSa('responder', src, dst, f.policy, Buffer.from(hd.icookie), k.host.now(), srcPort, mode);
  s.configFp = k.ikeFps.get(src);
  s.rcookie = newCookie();
  s.choice = { ...chosen.choice, lifetimeSeconds: Math.min(k.fromWire(chosen.choice.lifetimeSeconds), chosen.ours.lifetimeSeconds) };
  const notReady = authReady(k, s);
  if (notReady) {
    k.host.log(`KMD_PM_P1_FAILED: IKE phase 1 from ${intToIp(src)} refused: we cannot authenticate with ${chosen.choice.method}: ${notReady}`);
    k.failures.set(src, { why: `we cannot authenticate with ${chosen.choice.method}: ${notReady}`, at: k.host.now(), role: 'responder', kind: 'cert', mode });
    notifyClear(k, hd, src, dst, srcPort, N.AUTHENTICATION_FAILED);
    k.drop('ike-no-local-credentials', intToIp(src)); return undefined;
  }
  s.saiB = Buffer.from(f.saBody);
  s.offered = describeIkeOffer(f.offer.value);
  k.ikeSas.set(s.key, s);
  k.exchanges.received(s, f.m);
  peerVid(k.natx, s, f.payloads);
  k.trace(`IKE SA ${hex(s.icookie)} with ${intToIp(src)} created (responder)`, 'database');
  k.host.log(`KMD_PM_P1_START: IKE phase 1 (${MODE_NAME[mode]} mode) from ${intToIp(src)}`);
  return s;
}

/**
 * Half-open state is bounded: at the limit, the oldest responder negotiation that has not had its
 * message 3 goes (a flood of first messages, spoofed or not, cannot lock the real peers out for
 * good); one past message 3 (Main mode: the peer came back with our cookie) is never evicted, and
 * when all are, the new one is refused.
 */
function makeRoom(k: KmdContext): boolean {
  const halfOpen = [...k.ikeSas.values()].filter(s => !s.matured && s.role === 'responder' && s.state !== 'DEAD');
  if (halfOpen.length < KMD_LIMITS.halfOpen) return true;
  const victim = halfOpen.find(s => s.state === 'MM3' || s.state === 'AM2');
  if (!victim) return false;
  k.ikeSas.delete(victim.key); victim.state = 'DEAD';
  k.drop('ike-half-open-evicted', intToIp(victim.peer));
  return true;
}

// ------------------------------------------------------------------------- key exchange

/** A nonce of 8 to 256 bytes (RFC 2409 5) */
export const nonceOk = (n: RawPayload | undefined): n is RawPayload => !!n && n.body.length >= 8 && n.body.length <= 256;
/** the size of a KE payload of the Diffie-Hellman group chosen */
export const keBytes = (group: IkeChoice['group']) => DH_GROUPS[group === 'group1' ? 1 : 2]!.bytes;

/** The peer's KE and nonce, of the group chosen and of a nonce's size; undefined when either is not. */
export function keNonce(sa: IkeSa, payloads: RawPayload[]): { ke: Buffer; nonce: Buffer } | undefined {
  const ke = payloads.find(x => x.type === Pt.KE), nonce = payloads.find(x => x.type === Pt.NONCE);
  if (!ke || ke.body.length !== keBytes(sa.choice!.group) || !nonceOk(nonce)) return undefined;
  return { ke: Buffer.from(ke.body), nonce: Buffer.from(nonce.body) };
}

/** Derive the keys (SKEYID from the pre-shared key or from g^xy); false (and the SA dead) if it fails. */
export function derive(k: KmdContext, sa: IkeSa): boolean {
  try { sa.deriveKeys(sig(sa) ? undefined : sa.policy.preSharedKey); return true; } catch { k.dead(sa, 'Diffie-Hellman failed (a bad public value)'); return false; }
}

/** The payloads of a phase 1 message (decrypted when it is encrypted), or undefined (dropped, or the SA failed). */
export function payloadsOf(k: KmdContext, sa: IkeSa, hd: Header, m: Buffer, what: string): { payloads: RawPayload[]; commit: () => void } | undefined {
  if (hd.flags & FLAG_ENCRYPTION) {
    if (!sa.ka) { k.drop('ike-encrypted-too-early'); return undefined; }
    const o = sa.open(hd, m);
    if (!o.ok) { authFailed(k, sa, hd, `${o.reason}: ${what} did not decrypt`); return undefined; }
    return o.value;
  }
  const p = decodePayloads(m.subarray(HEADER_LEN, hd.length), hd.next, false);
  if (!p.ok) { k.drop(`ike-${p.reason}`); return undefined; }
  return { payloads: p.value, commit: () => {} };
}

// ------------------------------------------------------------------------- INITIAL-CONTACT

/** Notifies that ride in an authenticated phase 1 message (INITIAL-CONTACT). */
export function phase1Notifies(k: KmdContext, sa: IkeSa, payloads: RawPayload[]): void {
  for (const p of payloads) {
    if (p.type !== Pt.N) continue;
    const d = decodeNotify(p.body);
    if (d.ok && d.value.type === N.INITIAL_CONTACT) k.initialContact(sa);
  }
}
/** INITIAL-CONTACT for a new phase 1 with us, if we have had none with this peer since we started. */
export function initialContactPayload(k: KmdContext, sa: IkeSa): OutPayload[] {
  if (k.contacted.has(sa.peer)) return [];
  k.trace(`first IKE SA with ${intToIp(sa.peer)} since kmd started: INITIAL-CONTACT`, 'general');
  return [{ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spi: Buffer.concat([sa.icookie, sa.rcookie]), type: N.INITIAL_CONTACT, data: Buffer.alloc(0) }) }];
}

// ------------------------------------------------------------------------- the ends of phase 1

export function matured(k: KmdContext, sa: IkeSa): void {
  const now = k.host.now(), life = k.life();
  sa.state = 'MATURED'; sa.maturedAt = now; k.exchanges.settle(sa);
  const ms = sa.choice!.lifetimeSeconds * 1000;
  sa.expiresAt = life + ms;
  sa.softAt = k.softAt(life, ms, sa.role);
  sa.failure = undefined;
  k.contacted.add(sa.peer);
  k.failures.delete(sa.peer);
  k.host.log(`KMD_PM_P1_ESTABLISHED: IKE SA with ${intToIp(sa.peer)} established (${sa.role}, ${MODE_NAME[sa.mode]} mode, ${describeIke(sa.choice!)}, lifetime ${sa.choice!.lifetimeSeconds} s)`);
  // an older IKE SA with the peer is replaced: deleted a moment later (quick modes on it finish)
  for (const o of k.ikeSas.values()) {
    if (o !== sa && o.peer === sa.peer && o.matured && o.retireAt === undefined) {
      o.retireAt = now + KMD_LIMITS.rekeyGraceMs;
      k.trace(`IKE SA ${hex(o.icookie)} with ${intToIp(o.peer)} replaced by ${hex(sa.icookie)}: deleted in ${KMD_LIMITS.rekeyGraceMs} ms`, 'timer');
    }
  }
  const w = sa.waiting; sa.waiting = [];
  const run = () => { for (const f of w) { try { f(); } catch (e) { k.host.log(`KMD_PM_INTERNAL: ${(e as Error).message}`); } } };
  // in Aggressive mode our message 3 ends phase 1: a quick mode right behind it can reach a peer
  // that has not taken message 3 yet (strongSwan: "ignoring QUICK_MODE request while phase 1 is
  // incomplete"), so it waits a moment
  if (sa.mode === 'aggressive' && sa.role === 'initiator' && w.length) k.later(KMD_LIMITS.outboundDelayMs, run);
  else run();
}

/** Authentication failed: with pre-shared keys, almost always keys that differ. */
export function authFailed(k: KmdContext, sa: IkeSa, hd: Header, why: string, o: { kind: FailureKind; notify: number } = { kind: 'auth', notify: N.AUTHENTICATION_FAILED }): void {
  const reason = sig(sa) ? `authentication failed (${why})` : `authentication failed (${why}; is the pre-shared key the same on both sides?)`;
  k.drop(o.kind === 'cert' ? 'ike-certificate-refused' : 'ike-authentication-failed', intToIp(sa.peer));
  if (sig(sa) && sa.role === 'initiator' && sa.mode === 'main' && sa.state === 'MM5' && sa.keys) {
    // Main mode message 6 refused: the responder has matured its side; it shares our keys, so it is
    // told in an authenticated informational (the notify, and the IKE SA deleted)
    const spi = Buffer.concat([sa.icookie, sa.rcookie]);
    informationalOut(k, sa, [
      { type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spi, type: o.notify, data: Buffer.alloc(0) }) },
      { type: Pt.D, body: encodeDelete({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spis: [spi] }) },
    ]);
    return k.dead(sa, reason, o.kind);
  }
  // the peer cannot read what we encrypt with keys it does not share: say it in clear
  notifyClear(k, hd, sa.peer, sa.local, sa.port, o.notify);
  k.dead(sa, reason, o.kind);
}

/** A phase 1 whose message went unanswered KMD_LIMITS.retransmits times: why it failed, for the log and the diagnosis. */
export function unanswered(s: IkeSa): { why: string; kind: FailureKind } {
  const mode = MODE_NAME[s.mode];
  const stage = s.state === 'MM1' || s.state === 'AM1' ? `${mode} mode message 1 (does the peer answer UDP 500?)`
    : s.state === 'MM3' ? 'Main mode message 3' : s.state === 'AM2' ? 'Aggressive mode message 2 (a pre-shared key mismatch makes the peer drop it)' : 'Main mode message 5 (a pre-shared key mismatch makes the peer drop it)';
  return { why: `no answer from ${intToIp(s.peer)} to ${stage}`, kind: s.state === 'MM1' || s.state === 'AM1' ? 'no-answer' : s.state === 'MM5' || s.state === 'AM2' ? 'auth' : 'other' };
}
