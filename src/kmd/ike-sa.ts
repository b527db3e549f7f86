/**
 * One IKE (phase 1) SA: its cookies, the choice made, the keys, the IV chains (RFC 2409 appendix B:
 * phase 1's, then one per phase 2 or informational exchange, derived from phase 1's last block), and
 * the encryption of ISAKMP messages.
 */
import { randomBytes, X509Certificate, KeyObject } from 'node:crypto';
import { DhKey } from './dh.js';
import type { IkePolicyModel } from '../config/model.js';
import type { IkeChoice } from './proposals.js';
import * as K from './keymat.js';
import { encodeHeader, encodePayloads, decodePayloads, OutPayload, RawPayload, Decoded, HEADER_LEN, Header } from './codec.js';
import { FLAG_ENCRYPTION } from './constants.js';

/** Main mode: MM1, MM3, MM5 (the message awaited or sent next); Aggressive mode: AM1 (initiator awaits
 *  message 2), AM2 (responder awaits message 3). */
export type IkeState = 'MM1' | 'MM3' | 'MM5' | 'AM1' | 'AM2' | 'MATURED' | 'DEAD';
export interface Exchange { iv: Buffer; lastSent?: Buffer; lastRecv?: Buffer }

export class IkeSa {
  state: IkeState = 'MM1';
  rcookie = Buffer.alloc(8);
  choice?: IkeChoice;
  dh?: DhKey;
  gxi?: Buffer; gxr?: Buffer; ni?: Buffer; nr?: Buffer;
  /** the body of the initiator's SA payload (HASH_I and HASH_R cover it) */
  saiB?: Buffer;
  skeyid?: Buffer; keys?: K.Skeyids; ka?: Buffer;
  /** phase 1's IV chain (message ID 0), and after phase 1 the last CBC block, seed of every phase 2 IV */
  p1: Exchange = { iv: Buffer.alloc(0) };
  readonly exchanges = new Map<number, Exchange>();
  /** phase 1's last message each way, and the retransmission of lastSent while a reply is awaited: the exchange manager's (exchanges.ts) */
  lastSent?: Buffer; lastRecv?: Buffer;
  /** the lastRecv that lastSent answers: only a retransmission of that gets lastSent again */
  sentFor?: Buffer;
  retries = 0; nextRetry = 0; awaiting = false;
  created: number; maturedAt?: number;
  /** lifetimes on kmd's lifetime clock: the soft one starts a new IKE SA, the hard one ends this one */
  expiresAt?: number; softAt?: number; rekeyed?: boolean;
  /** past its hard lifetime, kept until then (monotonic ms) for a quick mode still under way on it */
  graceUntil?: number;
  /** replaced by a newer IKE SA: deleted (DELETE to the peer) at this time */
  retireAt?: number;
  /** the ID payload bodies of both sides (Aggressive mode: HASH_I covers the initiator's) */
  idMineB?: Buffer; idPeerB?: Buffer;
  stats = { inBytes: 0, outBytes: 0, inPackets: 0, outPackets: 0 };
  ipsecCreated = 0; ipsecDeleted = 0;
  failure?: string;
  localId?: string; remoteId?: string;
  /** quick modes waiting for this SA to mature */
  waiting: Array<() => void> = [];
  /** the IKE policy's configuration it was negotiated under (a commit since may have changed it) */
  configFp?: string;
  /** the initiator's SA offer, kept for the diagnosis of "no proposal chosen" */
  offered?: string;

  /**
   * NAT traversal (RFC 3947): whether the peer said it speaks it (vendor ID), whether a NAT is before
   * us (`here`) or before the peer (`there`, or the peer fakes one to force UDP encapsulation), and
   * whether the exchange moved to UDP 4500 (`floated`: every message then carries the non-ESP marker).
   */
  natt = { peerSupports: false, here: false, there: false, floated: false, detected: false };
  /** the next NAT keepalive (we are behind a NAT) */
  keepaliveAt?: number;

  constructor(readonly role: 'initiator' | 'responder', readonly peer: number, readonly local: number, readonly policy: IkePolicyModel, readonly icookie: Buffer, now: number, public port = 500, readonly mode: 'main' | 'aggressive' = 'main') {
    this.created = now;
  }
  get matured(): boolean { return this.state === 'MATURED'; }
  /** a NAT between the peers (or one the peer pretends): ESP goes in UDP */
  get behindNat(): boolean { return this.natt.here || this.natt.there; }
  get key(): string { return `${this.peer}/${this.icookie.toString('hex')}`; }
  get hashAlg(): K.HashAlg { return this.choice!.hash; }

  startDh(group = this.choice!.group): Buffer {
    this.dh = new DhKey(group === 'group1' ? 1 : 2);
    return this.dh.pub;
  }
  /** our certificate and key pair (signature authentication), and the peer's certificate once checked */
  auth?: { cert: X509Certificate; key: KeyObject; chain: X509Certificate[] };
  peerCert?: X509Certificate;
  /** the authentication method: the one chosen, or (Aggressive mode initiator, before the answer) the one offered */
  method?: 'pre-shared-keys' | 'rsa-signatures' | 'dsa-signatures';

  /** The keys, once both nonces and public values are known: SKEYID from the pre-shared key, or (signatures) from g^xy. */
  deriveKeys(psk: Buffer | undefined): void {
    const other = this.role === 'initiator' ? this.gxr! : this.gxi!;
    const gxy = this.dh!.secret(other);
    const alg = this.hashAlg;
    this.skeyid = psk ? K.skeyidPsk(alg, psk, this.ni!, this.nr!) : K.skeyidSig(alg, this.ni!, this.nr!, gxy);
    this.keys = K.deriveSkeyids(alg, this.skeyid, gxy, this.icookie, this.rcookie);
    this.ka = K.encryptionKey(alg, this.keys.e, K.CIPHERS[this.choice!.encryption].keyLen);
    this.p1.iv = K.phase1Iv(alg, this.gxi!, this.gxr!, 8);
    gxy.fill(0);
  }

  /** The IV state of exchange `mid` (0: phase 1; else a new one starts from phase 1's last block). */
  exchange(mid: number): Exchange {
    if (mid === 0) return this.p1;
    let x = this.exchanges.get(mid);
    if (!x) {
      x = { iv: K.phase2Iv(this.hashAlg, this.p1.iv, mid, 8) };
      this.exchanges.set(mid, x);
      if (this.exchanges.size > 32) this.exchanges.delete(this.exchanges.keys().next().value!);
    }
    return x;
  }

  private keep(mid: number, x: Exchange): void {
    this.exchanges.set(mid, x);
    if (this.exchanges.size > 32) this.exchanges.delete(this.exchanges.keys().next().value!);
  }

  /** An encrypted message of exchange `mid`; the exchange's IV moves to its last block. */
  seal(h: { exchange: number; mid: number; flags?: number }, payloads: OutPayload[]): Buffer {
    const x = this.exchange(h.mid);
    const plain = encodePayloads(payloads);
    const padded = Buffer.alloc(Math.ceil(plain.length / 8) * 8);   // zero padding to the block size
    plain.copy(padded);
    const ct = K.cbcEncrypt(this.choice!.encryption, this.ka!, x.iv, padded);
    x.iv = Buffer.from(ct.subarray(ct.length - 8));
    const hdr = encodeHeader({ icookie: this.icookie, rcookie: this.rcookie, next: payloads[0]!.type, exchange: h.exchange, flags: (h.flags ?? 0) | FLAG_ENCRYPTION, mid: h.mid }, HEADER_LEN + ct.length);
    return Buffer.concat([hdr, ct]);
  }
  /**
   * The payloads of an encrypted message. The exchange's IV moves on only when `commit` is called
   * (after the message's hash checked out), so a forged message cannot derail the chain.
   */
  open(h: Header, msg: Buffer): Decoded<{ payloads: RawPayload[]; commit: () => void }> {
    const ct = msg.subarray(HEADER_LEN, h.length);
    if (ct.length === 0 || ct.length % 8) return { ok: false, reason: 'encrypted-length' };
    // a new exchange's IV slot is made only once the message authenticates (commit): forged
    // datagrams with made-up message IDs cannot evict the slots of real exchanges
    const known = h.mid === 0 ? this.p1 : this.exchanges.get(h.mid);
    const x = known ?? { iv: K.phase2Iv(this.hashAlg, this.p1.iv, h.mid, 8) };
    let plain: Buffer;
    try { plain = K.cbcDecrypt(this.choice!.encryption, this.ka!, x.iv, ct); } catch { return { ok: false, reason: 'decrypt-failed' }; }
    const p = decodePayloads(plain, h.next, true);
    if (!p.ok) return { ok: false, reason: `decrypted-${p.reason}` };
    const last = Buffer.from(ct.subarray(ct.length - 8));
    return { ok: true, value: { payloads: p.value, commit: () => { if (!known) this.keep(h.mid, x); x.iv = last; } } };
  }
}

export const newCookie = () => { let c; do c = randomBytes(8); while (c.every(b => b === 0)); return c; };
export function pad(b: Buffer, n: number): Buffer {
  if (b.length >= n) return b;
  const out = Buffer.alloc(n);
  b.copy(out, n - b.length);
  return out;
}
