/**
 * Aggressive mode (RFC 2409 5.4): three messages, identities in the clear (strongSwan's
 * aggressive_mode task, in shape). The initiator builds messages 1 and 3 and processes 2; the
 * responder processes 1 and 3 and builds 2. AM1: the initiator awaits message 2; AM2: the responder
 * awaits message 3.
 */
import { randomBytes } from 'node:crypto';
import type { IkePolicyModel } from '../../config/model.js';
import type { IkeSa } from '../ike-sa.js';
import type { KmdContext } from '../context.js';
import { Pt, Xchg, FLAG_ENCRYPTION, ISAKMP_PORT, NATT_PORT } from '../constants.js';
import { encodeMessage, decodePayloads, HEADER_LEN, type Header } from '../codec.js';
import { ikeSaBody, ikeSaReply, describeIke } from '../proposals.js';
import { sig, authReady, authIn, authOut, certReq, myId } from '../auth.js';
import { NATT_VID, peerVid, natdPayloads, processNatd, float } from '../natt.js';
import * as P1 from '../phase1.js';
import * as K from '../keymat.js';
import { describeId } from '../types.js';
import { intToIp } from '../../net/ip.js';

const clear = (sa: IkeSa) => ({ icookie: sa.icookie, rcookie: sa.rcookie, exchange: Xchg.AGGRESSIVE, flags: 0, mid: 0 });

// ------------------------------------------------------------------------- initiator

/**
 * Message 1: SA, KE, Ni, IDii. One KE and one ID go with the offer: only the proposals of the first
 * one's Diffie-Hellman group and authentication method are offered. `cannot` when our own
 * credentials are not ready; undefined when the policy has no usable proposal.
 */
export function initiate(k: KmdContext, peer: number, local: number, policy: IkePolicyModel): IkeSa | { cannot: string } | undefined {
  const all = P1.ikeProposals(k, policy);
  if (!all.length) return undefined;
  const g = all[0]!.dhGroup, method = all[0]!.authenticationMethod;
  const props = all.filter(p => p.dhGroup === g && p.authenticationMethod === method);
  if (props.length < all.length) k.trace(`Aggressive mode with ${intToIp(peer)}: only the proposals of ${g} and ${method} are offered (${all.filter(p => !props.includes(p)).map(p => p.name).join(', ')} left out)`, 'policy-manager');
  const sa = P1.newInitiator(k, peer, local, policy);
  sa.method = method;
  const notReady = authReady(k, sa);
  if (notReady) {
    const cannot = `we cannot authenticate with ${sa.method}: ${notReady}`;
    k.host.log(`KMD_PM_P1_FAILED: IKE phase 1 with ${intToIp(peer)} not started: ${cannot}`);
    k.failures.set(peer, { why: cannot, at: k.host.now(), role: 'initiator', kind: 'cert', mode: 'aggressive' });
    return { cannot };
  }
  P1.registerInitiator(k, sa, props, ikeSaBody(k.wireProps(props)));
  sa.state = 'AM1';
  sa.gxi = sa.startDh(g); sa.ni = randomBytes(32);
  sa.idMineB = myId(k, sa);
  k.trace(`-> ${intToIp(peer)} Aggressive mode message 1: SA (${sa.offered}), KE, Ni, IDii ${sa.localId}${sig(sa) ? ', CERT_REQ' : ''}`);
  k.exchanges.send(sa, sa, encodeMessage(clear(sa),
    [{ type: Pt.SA, body: sa.saiB! }, { type: Pt.KE, body: sa.gxi }, { type: Pt.NONCE, body: sa.ni }, { type: Pt.ID, body: sa.idMineB }, ...certReq(k, sa), NATT_VID]), true);
  return sa;
}

/** Message 2: SA, KE, Nr, IDir, HASH_R (or CERT, SIG_R); -> message 3: HASH_I (or CERT, SIG_I), phase 1 done. */
function message2(k: KmdContext, sa: IkeSa, hd: Header, m: Buffer): void {
  if (hd.flags & FLAG_ENCRYPTION) return k.drop('ike-unexpected-encryption');
  const p = decodePayloads(m.subarray(HEADER_LEN, hd.length), hd.next, false);
  if (!p.ok) return k.drop(`ike-${p.reason}`);
  const get = (t: number) => p.value.find(x => x.type === t);
  const ke = get(Pt.KE), nonce = get(Pt.NONCE), idP = get(Pt.ID);
  if (!ke || !P1.nonceOk(nonce) || !idP || !get(sig(sa) ? Pt.SIG : Pt.HASH)) return k.drop('ike-malformed', 'Aggressive mode message 2');
  const group = sa.choice?.group;
  const c = P1.readChoice(k, sa, get(Pt.SA));
  if (typeof c === 'string') return c === 'malformed' ? k.drop('ike-malformed', 'Aggressive mode message 2 without a usable SA') : k.dead(sa, c);
  if (group !== undefined && sa.choice!.group !== group || ke.body.length !== P1.keBytes(sa.choice!.group)) return k.dead(sa, 'the peer chose another Diffie-Hellman group than our KE payload\'s');
  sa.rcookie = Buffer.from(hd.rcookie);
  peerVid(k.natx, sa, p.value);
  sa.gxr = Buffer.from(ke.body); sa.nr = Buffer.from(nonce.body);
  if (!P1.derive(k, sa)) return;
  const want = K.hashR(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr, sa.icookie, sa.rcookie, sa.saiB!, idP.body);
  const bad = authIn(k, sa, p.value, idP.body, want);
  if (bad) return P1.authFailed(k, sa, hd, bad.kind === 'auth' && !sig(sa) ? 'HASH_R does not match' : bad.why, bad);
  sa.remoteId = describeId(idP.body);
  k.exchanges.received(sa, m);
  const hash = K.hashI(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr, sa.icookie, sa.rcookie, sa.saiB!, sa.idMineB!);
  k.trace(`<- ${intToIp(sa.peer)} Aggressive mode message 2 (IDir ${sa.remoteId}): peer authenticated; -> message 3: ${sig(sa) ? 'CERT, SIG_I' : 'HASH_I'}`);
  processNatd(k.natx, sa, p.value, ISAKMP_PORT);
  float(k.natx, sa);
  // message 3 goes encrypted (strongSwan and most implementations expect it so); both are accepted
  k.exchanges.send(sa, sa, sa.seal({ exchange: Xchg.AGGRESSIVE, mid: 0 }, [...authOut(sa, hash), ...natdPayloads(sa), ...P1.initialContactPayload(k, sa)]), false);
  P1.phase1Notifies(k, sa, p.value);
  P1.matured(k, sa);
}

// ------------------------------------------------------------------------- responder

/** Message 1 from a peer: our choice, the Diffie-Hellman work (rationed); -> message 2, which awaits message 3. */
export function respond(k: KmdContext, f: P1.FirstMessage): void {
  const ke = f.get(Pt.KE), nonce = f.get(Pt.NONCE), idP = f.get(Pt.ID);
  if (!ke || !P1.nonceOk(nonce) || !idP) return k.drop('ike-malformed', 'Aggressive mode message 1 without KE, nonce and ID');
  const chosen = P1.choose(k, f);
  if (!chosen) return;
  if (ke.body.length !== P1.keBytes(chosen.choice.group)) return k.drop('ike-malformed', 'Aggressive mode KE of another group than the proposal chosen');
  // the Diffie-Hellman work comes now, before any round trip: rationed
  if (!P1.admit(k, f, true)) return;
  const s = P1.newResponder(k, f, chosen);
  if (!s) return;
  s.gxi = Buffer.from(ke.body); s.ni = Buffer.from(nonce.body);
  s.idPeerB = Buffer.from(idP.body); s.remoteId = describeId(idP.body);
  s.gxr = s.startDh(); s.nr = randomBytes(32);
  if (!P1.derive(k, s)) return;
  s.idMineB = myId(k, s);
  const hash = K.hashR(s.hashAlg, s.skeyid!, s.gxi, s.gxr, s.icookie, s.rcookie, s.saiB!, s.idMineB);
  k.trace(`<- ${intToIp(f.src)} Aggressive mode message 1 (IDii ${s.remoteId}); chose ${describeIke(s.choice!)}; -> message 2: SA, KE, Nr, IDir, ${sig(s) ? 'CERT, SIG_R' : 'HASH_R'}`);
  s.state = 'AM2';
  // awaited: message 3 authenticates the initiator; without it (lost) this message goes again
  k.exchanges.send(s, s, encodeMessage(clear(s),
    [{ type: Pt.SA, body: ikeSaReply(chosen.transform) }, { type: Pt.KE, body: s.gxr }, { type: Pt.NONCE, body: s.nr }, { type: Pt.ID, body: s.idMineB }, ...certReq(k, s), ...authOut(s, hash),
      ...(s.natt.peerSupports ? [NATT_VID, ...natdPayloads(s)] : [])]), true);
}

/** Message 3: HASH_I (or CERT, SIG_I), encrypted or not: the initiator authenticated, phase 1 done. */
function message3(k: KmdContext, sa: IkeSa, hd: Header, m: Buffer): void {
  const x = P1.payloadsOf(k, sa, hd, m, 'message 3');
  if (!x) return;
  if (!x.payloads.some(p => p.type === (sig(sa) ? Pt.SIG : Pt.HASH))) return P1.authFailed(k, sa, hd, `message 3 without ${sig(sa) ? 'SIG_I' : 'HASH_I'}: the keys differ`);
  const want = K.hashI(sa.hashAlg, sa.skeyid!, sa.gxi!, sa.gxr!, sa.icookie, sa.rcookie, sa.saiB!, sa.idPeerB!);
  const bad = authIn(k, sa, x.payloads, sa.idPeerB!, want);
  if (bad) return P1.authFailed(k, sa, hd, bad.kind === 'auth' && !sig(sa) ? 'HASH_I does not match' : bad.why, bad);
  x.commit(); k.acceptFloat(sa);
  k.exchanges.received(sa, m);
  processNatd(k.natx, sa, x.payloads, sa.natt.floated ? NATT_PORT : ISAKMP_PORT);
  k.trace(`<- ${intToIp(sa.peer)} Aggressive mode message 3: peer authenticated`);
  P1.phase1Notifies(k, sa, x.payloads);
  P1.matured(k, sa);
}

// ------------------------------------------------------------------------- process

/** An Aggressive mode message on an IKE SA under negotiation. */
export function process(k: KmdContext, sa: IkeSa, hd: Header, m: Buffer): void {
  if (sa.matured) return k.drop('ike-unexpected-aggressive-mode', intToIp(sa.peer));
  if (sa.role === 'initiator' && sa.state === 'AM1') return message2(k, sa, hd, m);
  if (sa.role === 'responder' && sa.state === 'AM2') return message3(k, sa, hd, m);
  k.drop('ike-unexpected-aggressive-mode');
}
