/**
 * The Informational exchange (RFC 2408 4.8, RFC 2409 5.7; strongSwan's informational task, in shape):
 * what we send (a notify or a delete, encrypted under an IKE SA, or a notify in clear before keys
 * agree) and what the peer's tell us (a phase 1 refused, a quick mode refused, INVALID-SPI,
 * INITIAL-CONTACT, DELETE).
 */
import { randomBytes } from 'node:crypto';
import type { IkeSa } from '../ike-sa.js';
import type { KmdContext } from '../context.js';
import { Pt, Xchg, N, NOTIFY_NAMES, Proto, DOI_IPSEC, FLAG_ENCRYPTION, ISAKMP_PORT } from '../constants.js';
import { decodePayloads, decodeNotify, decodeDelete, encodeMessage, encodeNotify, encodePayloads, HEADER_LEN, type Header, type OutPayload, type RawPayload } from '../codec.js';
import { sig } from '../auth.js';
import { describeIpsec } from '../proposals.js';
import { describeSelector } from '../proxy.js';
import * as K from '../keymat.js';
import { MODE_NAME, hashEq, hex, spiNum } from '../types.js';
import { intToIp } from '../../net/ip.js';

const CERT_NOTIFIES = new Set<number>([N.INVALID_CERTIFICATE, N.INVALID_CERT_AUTHORITY, N.INVALID_ID_INFORMATION, N.INVALID_SIGNATURE, N.INVALID_CERT_ENCODING, N.CERTIFICATE_UNAVAILABLE, N.AUTHENTICATION_FAILED]);

// ------------------------------------------------------------------------- build

/** An informational exchange of its own under a matured IKE SA: HASH(1), then the payloads. */
export function informationalOut(k: KmdContext, ike: IkeSa, payloads: OutPayload[]): void {
  const mid = randomBytes(4).readUInt32BE(0) || 1;
  const rest = encodePayloads(payloads);
  const hash = K.hash1(ike.hashAlg, ike.keys!.a, mid, rest);
  k.send(ike, ike.seal({ exchange: Xchg.INFORMATIONAL, mid }, [{ type: Pt.HASH, body: hash }, ...payloads]));
}

/** An unencrypted informational notify (before keys exist, or when they do not agree). */
export function notifyClear(k: KmdContext, hd: Header, peer: number, local: number, port: number, type: number): void {
  const spi = Buffer.concat([hd.icookie, hd.rcookie]);
  const msg = encodeMessage({ icookie: hd.icookie, rcookie: hd.rcookie, exchange: Xchg.INFORMATIONAL, flags: 0, mid: randomBytes(4).readUInt32BE(0) },
    [{ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spi, type, data: Buffer.alloc(0) }) }]);
  k.trace(`-> ${intToIp(peer)} Informational: ${NOTIFY_NAMES[type] ?? type} (in clear)`);
  k.host.sendUdp(local, peer, ISAKMP_PORT, port, msg);
}

// ------------------------------------------------------------------------- process

/** An informational message from a peer, under the IKE SA its cookies name (if any). */
export function informational(k: KmdContext, ike: IkeSa | undefined, hd: Header, m: Buffer, src: number): void {
  if (!(hd.flags & FLAG_ENCRYPTION)) return clearNotify(k, ike, hd, m, src);
  if (ike && !ike.matured && ike.role === 'initiator' && (ike.state === 'MM5' || ike.state === 'AM1' && ike.ka)) {
    // an encrypted notify while our message 5 waits for its answer: the peer could not read it
    // (strongSwan sends PAYLOAD-MALFORMED encrypted with its own keys). If it does not open with
    // ours either, the keys differ: the pre-shared keys are not the same
    const o = ike.open(hd, m);
    const ok = o.ok && o.value.payloads[0]?.type === Pt.HASH && hashEq(K.hash1(ike.hashAlg, ike.keys!.a, hd.mid, Buffer.concat(o.value.payloads.slice(1).map(p => p.raw))), o.value.payloads[0].body);
    if (!ok) {
      k.drop('ike-informational-unreadable', intToIp(src));
      k.host.log(`KMD_PM_P1_NOTIFY: ${intToIp(src)} answered message 5 with an encrypted notify that our keys cannot read`);
      return k.dead(ike, 'the peer could not read our message 5, and its notify does not decrypt with our keys: is the pre-shared key the same on both sides?', 'auth');
    }
  }
  if (!ike?.matured) return k.drop('ike-unknown-sa', `informational from ${intToIp(src)}`);
  const o = ike.open(hd, m);
  if (!o.ok) return k.drop(`ike-${o.reason}`, 'informational');
  const pl = o.value.payloads;
  if (pl[0]?.type !== Pt.HASH) return k.drop('ike-malformed', 'informational without HASH');
  const rest = Buffer.concat(pl.slice(1).map(p => p.raw));
  if (!hashEq(K.hash1(ike.hashAlg, ike.keys!.a, hd.mid, rest), pl[0].body)) return k.drop('ike-bad-hash', 'informational');
  o.value.commit(); k.acceptFloat(ike);
  for (const p of pl.slice(1)) {
    if (p.type === Pt.N) notify(k, ike, p, src);
    else if (p.type === Pt.D) {
      const d = decodeDelete(p.body);
      if (!d.ok) continue;
      peerDelete(k, ike, d.value.protocol, d.value.spis);
    }
  }
}

/** A clear notify only ends a negotiation that has not matured (it is not authenticated). */
function clearNotify(k: KmdContext, ike: IkeSa | undefined, hd: Header, m: Buffer, src: number): void {
  const p = decodePayloads(m.subarray(HEADER_LEN, hd.length), hd.next, false);
  const n = p.ok ? p.value.find(x => x.type === Pt.N) : undefined;
  const d = n ? decodeNotify(n.body) : undefined;
  if (!d?.ok) return k.drop('ike-malformed', 'informational');
  const name = NOTIFY_NAMES[d.value.type] ?? `notify ${d.value.type}`;
  const target = ike ?? [...k.ikeSas.values()].find(s => s.peer === src && hex(s.icookie) === hex(hd.icookie));
  if (!target || target.matured) return k.drop('ike-unauthenticated-notify', `${name} from ${intToIp(src)}`);
  const type = d.value.type;
  const auth = type === N.AUTHENTICATION_FAILED || type === N.INVALID_HASH_INFORMATION || type === N.PAYLOAD_MALFORMED && (target.state === 'MM5' || target.state === 'AM2');
  const certs = sig(target) && (auth || type === N.INVALID_CERTIFICATE || type === N.INVALID_CERT_AUTHORITY || type === N.INVALID_ID_INFORMATION || type === N.INVALID_SIGNATURE || type === N.INVALID_CERT_ENCODING || type === N.CERTIFICATE_UNAVAILABLE);
  if (certs) {
    k.host.log(`KMD_PM_P1_NOTIFY: ${intToIp(src)} sent ${name}`);
    return k.dead(target, `the peer refused our certificate or signature (${name}): see its log; is our certificate issued by a CA it trusts, and does it match its policy's identity?`, 'cert');
  }
  const why = auth ? `the peer refused our authentication (${name}): is the pre-shared key the same on both sides?`
    : type === N.NO_PROPOSAL_CHOSEN ? `the peer chose none of our proposals (${name}; we offered ${target.offered ?? '?'}${target.mode === 'aggressive' ? ', in Aggressive mode: does the peer accept Aggressive mode?' : ''})`
    : `the peer says ${name}`;
  k.host.log(`KMD_PM_P1_NOTIFY: ${intToIp(src)} sent ${name}`);
  k.dead(target, why, auth ? 'auth' : type === N.NO_PROPOSAL_CHOSEN ? 'no-proposal' : 'other');
}

/** An authenticated notify. */
function notify(k: KmdContext, ike: IkeSa, p: RawPayload, src: number): void {
  const d = decodeNotify(p.body);
  if (!d.ok) return;
  const type = d.value.type;
  const name = NOTIFY_NAMES[type] ?? `notify ${type}`;
  k.host.log(`KMD_PM_NOTIFY: ${intToIp(src)} sent ${name}`);
  if (CERT_NOTIFIES.has(type) && ike.role === 'responder' && ike.maturedAt !== undefined && k.host.now() - ike.maturedAt < 60_000) {
    // the initiator refused our certificate or signature in Main mode message 6
    const why = `the peer refused our certificate or signature (${name}): see its log; is our certificate issued by a CA it trusts, and does it match its policy's identity?`;
    k.failures.set(src, { why, at: k.host.now(), role: 'responder', kind: 'cert', mode: ike.mode });
    k.host.log(`KMD_PM_P1_FAILED: IKE phase 1 (${MODE_NAME[ike.mode]} mode) with ${intToIp(src)} failed: ${why}`);
  } else if (type === N.NO_PROPOSAL_CHOSEN || type === N.INVALID_ID_INFORMATION || type === N.INVALID_KEY_INFORMATION) {
    for (const t of k.tunnels.values()) if (t.peer === src && t.negotiating !== undefined && t.negotiating > 0) {
      const qm = k.exchanges.quickMode(ike, t.negotiating);
      if (qm) k.qmDone(qm);
      if (type === N.INVALID_ID_INFORMATION) k.fail(t, `the peer refused our proxy identities (${name}): ${describeSelector(t.proxy.local)} <-> ${describeSelector(t.proxy.remote)}`, 'proxy');
      else k.fail(t, `the peer refused quick mode (${name}${type === N.INVALID_KEY_INFORMATION ? ': PFS differs?' : ''}; we offered ${t.proposals.map(describeIpsec).join(', ')}${t.pfsGroup ? `, PFS group${t.pfsGroup}` : ', no PFS'})`, 'no-proposal');
    }
  } else if (type === N.INVALID_SPI) {
    // the peer does not know an SPI we send to: that SA is stale, traffic negotiates a new one
    const spi = spiNum(d.value.spi.length === 4 ? d.value.spi : undefined);
    if (spi === undefined) return;
    for (const t of k.tunnels.values()) {
      if (t.peer !== src) continue;
      const gone = t.installed.filter(x => Object.values(x.outSpi).includes(spi));
      if (gone.length) k.uninstall(t, gone, `${intToIp(src)} does not know SPI 0x${spi.toString(16)} (INVALID-SPI)`);
    }
  } else if (type === N.INITIAL_CONTACT) k.initialContact(ike);
}

/** The peer deleted SAs: IKE SAs (by cookies) or IPsec SAs (by the SPIs it received on: our outbound). */
function peerDelete(k: KmdContext, ike: IkeSa, protocol: number, spis: Buffer[]): void {
  if (protocol === Proto.ISAKMP) {
    for (const spi of spis) {
      const s = spi.length === 16 ? [...k.ikeSas.values()].find(x => x.peer === ike.peer && x.icookie.equals(spi.subarray(0, 8)) && x.rcookie.equals(spi.subarray(8))) : undefined;
      if (!s) { k.drop('ike-delete-unknown-sa', intToIp(ike.peer)); continue; }
      k.host.log(`KMD_PM_P1_DELETED: ${intToIp(s.peer)} deleted the IKE SA ${hex(s.icookie)}`);
      k.trace(`IKE SA ${hex(s.icookie)} with ${intToIp(s.peer)} removed (the peer deleted it)`, 'database');
      s.state = 'DEAD'; k.ikeSas.delete(s.key);
    }
    return;
  }
  const nums = spis.map(s => spiNum(s)).filter((x): x is number => x !== undefined);
  for (const t of k.tunnels.values()) {
    if (t.peer !== ike.peer) continue;
    const gone = t.installed.filter(x => Object.values(x.outSpi).some(v => nums.includes(v)));
    if (gone.length) k.uninstall(t, gone, `${intToIp(ike.peer)} deleted it`);
  }
}
