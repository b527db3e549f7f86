/**
 * Diffie-Hellman for IKE (RFC 2409 6.1, 6.2: MODP groups 1 and 2) through OpenSSL's key objects.
 * `getDiffieHellman()` checks its prime each time it is called (25-75 ms of main-thread CPU for one
 * modp2 object on this machine); `generateKeyPairSync('dh', { group })` and `diffieHellman()` cost
 * about a millisecond together (docs/performance.md). Public values travel as the big-endian integer
 * of the group's length (the KE payload); the peer's is wrapped in a SubjectPublicKeyInfo with the
 * group's parameters, taken from our own key.
 */
import { generateKeyPairSync, diffieHellman, createPublicKey, KeyObject } from 'node:crypto';
import { DH_GROUPS } from './constants.js';

/** DER length octets */
function derLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const b: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) b.unshift(x & 0xff);
  return Buffer.from([0x80 | b.length, ...b]);
}
const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), derLen(body.length), body]);

/** One element of a DER buffer at `at`: where its body starts and ends. */
function element(d: Buffer, at: number): { body: number; end: number } {
  let i = at + 1, len = d[i++]!;
  if (len & 0x80) { const n = len & 0x7f; len = 0; for (let j = 0; j < n; j++) len = len * 256 + d[i++]!; }
  return { body: i, end: i + len };
}

/** A Diffie-Hellman key pair of one group: our public value, and the shared secret with a peer's. */
export class DhKey {
  readonly bytes: number;
  /** our public value, the KE payload's body (the group's length, zero-padded on the left) */
  readonly pub: Buffer;
  private readonly key: KeyObject;
  /** the DER of the SubjectPublicKeyInfo's AlgorithmIdentifier: the group's parameters */
  private readonly algId: Buffer;

  constructor(group: number) {
    const g = DH_GROUPS[group];
    if (!g) throw new Error(`Diffie-Hellman group ${group} is not supported`);
    this.bytes = g.bytes;
    // (@types/node has no overload for 'dh'; node has it since 15.0)
    const { publicKey, privateKey } = (generateKeyPairSync as unknown as (t: 'dh', o: { group: string }) => { publicKey: KeyObject; privateKey: KeyObject })('dh', { group: g.name });
    this.key = privateKey;
    // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING (INTEGER y) }
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const outer = element(spki, 0);
    const alg = element(spki, outer.body);
    this.algId = Buffer.from(spki.subarray(outer.body, alg.end));
    const bits = element(spki, alg.end);
    const int = element(spki, bits.body + 1);   // after the unused-bits octet
    let y = spki.subarray(int.body, int.end);
    while (y.length > 1 && y[0] === 0) y = y.subarray(1);
    this.pub = leftPad(y, this.bytes);
  }

  /** g^xy with the peer's public value, the group's length; throws on a value that is not one (0, 1, p-1, too long). */
  secret(peerPub: Buffer): Buffer {
    if (peerPub.length !== this.bytes) throw new Error('public value of another length than the group\'s');
    let y = peerPub;
    while (y.length > 1 && y[0] === 0) y = y.subarray(1);
    const int = tlv(0x02, y[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), y]) : y);
    const spki = tlv(0x30, Buffer.concat([this.algId, tlv(0x03, Buffer.concat([Buffer.from([0]), int]))]));
    const peer = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    return leftPad(diffieHellman({ privateKey: this.key, publicKey: peer }), this.bytes);
  }
}

function leftPad(b: Buffer, n: number): Buffer {
  if (b.length >= n) return Buffer.from(b);
  const out = Buffer.alloc(n);
  b.copy(out, n - b.length);
  return out;
}
