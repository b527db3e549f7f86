/**
 * Main mode (RFC 2409 5): six messages, identities encrypted (strongSwan's main_mode task, in shape).
 * The initiator builds messages 1, 3 and 5 and processes 2, 4 and 6; the responder processes 1, 3 and
 * 5 and builds 2, 4 and 6. The state (MM1, MM3, MM5) names the message awaited; the exchange manager
 * keeps what was sent and retransmits it.
 */
import { randomBytes } from 'node:crypto';
import type { IkePolicyModel } from '../../config/model.js';
import type { IkeSa } from '../ike-sa.js';
import type { KmdContext } from '../context.js';
import { Pt, Xchg, FLAG_ENCRYPTION, ISAKMP_PORT } from '../constants.js';
import { encodeMessage, type Header, type RawPayload } from '../codec.js';
import { ikeSaBody, ikeSaReply, describeIke } from '../proposals.js';
import { sig, authReady, authIn, authOut, certReq, myId } from '../auth.js';
import { NATT_VID, peerVid, natdPayloads, processNatd, float } from '../natt.js';
import * as P1 from '../phase1.js';
import * as K from '../keymat.js';
import { describeId } from '../types.js';
import { intToIp } from '../../net/ip.js';

type Payloads = { payloads: RawPayload[]; commit: () => void };
const clear = (sa: IkeSa) => ({ icookie: sa.icookie, rcookie: sa.rcookie, exchange: Xchg.MAIN, flags: 0, mid: 0 });

// ------------------------------------------------------------------------- initiator

/** Message 1: our SA offer. Undefined when the policy has no usable proposal. */
export function initiate(k: KmdContext, peer: number, local: number, policy: IkePolicyModel): IkeSa | undefined {
  const props = P1.ikeProposals(k, policy);
  if (!props.length) return undefined;
  const sa = P1.newInitiator(k, peer, local, policy);
  P1.registerInitiator(k, sa, props, ikeSaBody(k.wireProps(props)));
  k.trace(`-> ${intToIp(peer)} Main mode message 1: SA (${sa.offered})`);
  k.exchanges.send(sa, sa, encodeMessage(clear(sa), [{ type: Pt.SA, body: sa.saiB! }, NATT_VID]), true);
  return sa;
}

/** Message 2, the responder's choice; -> message 3: KE, Ni. */
function message2(k: KmdContext, sa: IkeSa, hd: Header, m: Buffer, x: Payloads, encrypted: boolean): void {
  if (encrypted) return k.drop('ike-unexpected-encryption');
  const c = P1.readChoice(k, sa, x.payloads.find(p => p.type === Pt.SA));
  if (typeof c === 'string') return c === 'malformed' ? k.drop('ike-malformed', 'message 2 without a usable SA') : k.dead(sa, c);
  sa.rcookie = Buffer.from(hd.rcookie);
  const notReady = authReady(k, sa);
  if (notReady) return k.dead(sa, `we cannot authenticate with ${sa.choice!.method}: ${notReady}`, 'cert');
  peerVid(k.natx, sa, x.payloads);
  sa.gxi = sa.startDh(); sa.ni = randomBytes(32);
  k.exchanges.received(sa, m);
  k.trace(`<- ${intToIp(sa.peer)} Main mode message 2: chose ${describeIke(sa.choice!)}; -> message 3: KE, Ni${sig(sa) ? ', CERT_REQ' : ''}${sa.natt.peerSupports ? ', NAT-D' : ''}`);
  k.exchanges.send(sa, sa, encodeMessage(clear(sa), [{ type: Pt.KE, body: sa.gxi }, { type: Pt.NONCE, body: sa.ni }, ...certReq(k, sa), ...natdPayloads(sa)]), true);
  sa.state = 'MM3';
}

/** Message 4: KE, Nr; keys derived; -> message 5: ID, HASH_I (or CERT, SIG_I). */
function message4(k: KmdContext, sa: IkeSa, m: Buffer, x: Payloads, encrypted: boolean): void {
  if (encrypted) return k.drop('ike-unexpected-encryption');
  const kn = P1.keNonce(sa, x.payloads);
  if (!kn) return k.drop('ike-malformed', 'message 4');
  sa.gxr = kn.ke; sa.nr = kn.nonce;
  if (!P1.derive(k, sa)) return;
  k.exchanges.received(sa, m);
  processNatd(k.natx, sa, x.payloads, ISAKMP_PORT);
  float(k.natx, sa);
  const id = myId(k, sa);
  sa.idMineB = id;
  const hash = K.hashI(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr, sa.icookie, sa.rcookie, sa.saiB!, id);
  k.trace(`<- ${intToIp(sa.peer)} Main mode message 4: KE, Nr; keys derived; -> message 5: ID, ${sig(sa) ? 'CERT, SIG_I' : 'HASH_I'}`);
  k.exchanges.send(sa, sa, sa.seal({ exchange: Xchg.MAIN, mid: 0 }, [{ type: Pt.ID, body: id }, ...authOut(sa, hash), ...P1.initialContactPayload(k, sa)]), true);
  sa.state = 'MM5';
}

/** Message 6: ID, HASH_R (or CERT, SIG_R): the responder authenticated, phase 1 done. */
function message6(k: KmdContext, sa: IkeSa, hd: Header, m: Buffer, x: Payloads): void {
  const idP = x.payloads.find(p => p.type === Pt.ID);
  if (!idP || !x.payloads.some(p => p.type === (sig(sa) ? Pt.SIG : Pt.HASH))) return P1.authFailed(k, sa, hd, `message 6 without ID and ${sig(sa) ? 'SIG' : 'HASH'}: the keys differ`);
  const want = K.hashR(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr!, sa.icookie, sa.rcookie, sa.saiB!, idP.body);
  const bad = authIn(k, sa, x.payloads, idP.body, want);
  // with signatures the message decrypted with keys both sides share: the IV chain goes on, so
  // that the peer (which thinks phase 1 done) can read why we refuse it
  if (bad && sig(sa)) x.commit();
  if (bad) return P1.authFailed(k, sa, hd, bad.kind === 'auth' && !sig(sa) ? 'HASH_R does not match' : bad.why, bad);
  x.commit(); k.acceptFloat(sa);
  sa.remoteId = describeId(idP.body);
  k.exchanges.received(sa, m);
  P1.phase1Notifies(k, sa, x.payloads);
  P1.matured(k, sa);
}

// ------------------------------------------------------------------------- responder

/** Message 1 from a peer: our choice; -> message 2. */
export function respond(k: KmdContext, f: P1.FirstMessage): void {
  const chosen = P1.choose(k, f);
  if (!chosen || !P1.admit(k, f, false)) return;
  const s = P1.newResponder(k, f, chosen);
  if (!s) return;
  k.trace(`<- ${intToIp(f.src)} Main mode message 1; chose ${describeIke(s.choice!)}; -> message 2`);
  k.exchanges.send(s, s, encodeMessage(clear(s), [{ type: Pt.SA, body: ikeSaReply(chosen.transform) }, ...(s.natt.peerSupports ? [NATT_VID] : [])]), false);
  s.state = 'MM3';
}

/** Message 3: KE, Ni (the Diffie-Hellman work, rationed); -> message 4: KE, Nr. */
function message3(k: KmdContext, sa: IkeSa, m: Buffer, x: Payloads, encrypted: boolean): void {
  if (encrypted) return k.drop('ike-unexpected-encryption');
  const kn = P1.keNonce(sa, x.payloads);
  if (!kn) return k.drop('ike-malformed', 'message 3');
  if (!k.dhBudget.take(sa.peer, intToIp(sa.peer))) return k.drop('ike-dh-rate-limited', intToIp(sa.peer));   // the initiator retransmits
  sa.gxi = kn.ke; sa.ni = kn.nonce;
  sa.gxr = sa.startDh(); sa.nr = randomBytes(32);
  if (!P1.derive(k, sa)) return;
  k.exchanges.received(sa, m);
  processNatd(k.natx, sa, x.payloads, ISAKMP_PORT);
  k.trace(`<- ${intToIp(sa.peer)} Main mode message 3: KE, Ni; -> message 4: KE, Nr${sig(sa) ? ', CERT_REQ' : ''}`);
  k.exchanges.send(sa, sa, encodeMessage(clear(sa), [{ type: Pt.KE, body: sa.gxr }, { type: Pt.NONCE, body: sa.nr }, ...certReq(k, sa), ...natdPayloads(sa)]), false);
  sa.state = 'MM5';
}

/** Message 5: ID, HASH_I (or CERT, SIG_I): the initiator authenticated; -> message 6, phase 1 done. */
function message5(k: KmdContext, sa: IkeSa, hd: Header, m: Buffer, x: Payloads, encrypted: boolean): void {
  if (!encrypted) return k.drop('ike-unexpected-cleartext', 'message 5');
  const idP = x.payloads.find(p => p.type === Pt.ID);
  if (!idP || !x.payloads.some(p => p.type === (sig(sa) ? Pt.SIG : Pt.HASH))) return P1.authFailed(k, sa, hd, `message 5 did not decrypt to ID and ${sig(sa) ? 'SIG' : 'HASH'}: ${sig(sa) ? 'the keys differ' : 'the pre-shared keys differ'}`);
  const want = K.hashI(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr!, sa.icookie, sa.rcookie, sa.saiB!, idP.body);
  const bad = authIn(k, sa, x.payloads, idP.body, want);
  if (bad) return P1.authFailed(k, sa, hd, bad.kind === 'auth' && !sig(sa) ? 'HASH_I does not match' : bad.why, bad);
  x.commit(); k.acceptFloat(sa);
  sa.remoteId = describeId(idP.body);
  k.exchanges.received(sa, m);
  const id = myId(k, sa);
  sa.idMineB = id;
  const hash = K.hashR(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr!, sa.icookie, sa.rcookie, sa.saiB!, id);
  k.trace(`<- ${intToIp(sa.peer)} Main mode message 5: peer authenticated; -> message 6: ID, ${sig(sa) ? 'CERT, SIG_R' : 'HASH_R'}`);
  k.exchanges.send(sa, sa, sa.seal({ exchange: Xchg.MAIN, mid: 0 }, [{ type: Pt.ID, body: id }, ...authOut(sa, hash)]), false);
  P1.phase1Notifies(k, sa, x.payloads);
  P1.matured(k, sa);
}

// ------------------------------------------------------------------------- process

/** A Main mode message on an IKE SA under negotiation: the one its role and state await. */
export function process(k: KmdContext, sa: IkeSa, hd: Header, m: Buffer): void {
  if (sa.matured) return k.drop('ike-unexpected-main-mode', intToIp(sa.peer));
  const encrypted = (hd.flags & FLAG_ENCRYPTION) !== 0;
  const x = P1.payloadsOf(k, sa, hd, m, 'the message');
  if (!x) return;
  if (sa.role === 'initiator') {
    if (sa.state === 'MM1') return message2(k, sa, hd, m, x, encrypted);
    if (sa.state === 'MM3') return message4(k, sa, m, x, encrypted);
    if (sa.state === 'MM5') return message6(k, sa, hd, m, x);
  } else {
    if (sa.state === 'MM3') return message3(k, sa, m, x, encrypted);
    if (sa.state === 'MM5') return message5(k, sa, hd, m, x, encrypted);
  }
  k.drop('ike-unexpected-main-mode');
}
