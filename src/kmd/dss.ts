/**
 * DSS signatures as IKEv1 makes them (RFC 2409 5.1, dsa-signatures): the signature is over HASH_I or
 * HASH_R itself, used as the digest, and travels as r | s (each as long as q).
 *
 * Why by hand: node:crypto signs a message it hashes itself; it has no way to sign a digest given to
 * it for DSA, and the RFC signs the prf's output directly. The arithmetic is FIPS 186's, over the key
 * node:crypto generated (read from its PKCS#8/SPKI DER with asn1js); k comes from randomBytes with 64
 * extra bits reduced mod q. The tests check these signatures with OpenSSL (`openssl pkeyutl -verify`).
 */
import { KeyObject, createPublicKey, randomBytes } from 'node:crypto';
import type * as asn1jsT from 'asn1js';
import { lazy } from '../util/lazy.js';

const asn1js = lazy<typeof asn1jsT>('asn1js');

interface DsaParams { p: bigint; q: bigint; g: bigint }
const big = (b: Uint8Array) => (b.length ? BigInt(`0x${Buffer.from(b).toString('hex')}`) : 0n);
const intOf = (x: asn1jsT.AsnType) => big((x as asn1jsT.Integer).valueBlock.valueHexView);

function paramsOf(alg: asn1jsT.Sequence): DsaParams {
  const ps = (alg.valueBlock.value[1] as asn1jsT.Sequence).valueBlock.value;
  return { p: intOf(ps[0]!), q: intOf(ps[1]!), g: intOf(ps[2]!) };
}
function privateParts(key: KeyObject): DsaParams & { x: bigint } {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const a = asn1js.fromBER(new Uint8Array(der)).result as asn1jsT.Sequence;
  const v = a.valueBlock.value;
  const octets = (v[2] as asn1jsT.OctetString).valueBlock.valueHexView;
  return { ...paramsOf(v[1] as asn1jsT.Sequence), x: intOf(asn1js.fromBER(octets).result) };
}
function publicParts(key: KeyObject): DsaParams & { y: bigint } {
  const der = (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
  const a = asn1js.fromBER(new Uint8Array(der)).result as asn1jsT.Sequence;
  const v = a.valueBlock.value;
  const bits = (v[1] as asn1jsT.BitString).valueBlock.valueHexView;
  return { ...paramsOf(v[0] as asn1jsT.Sequence), y: intOf(asn1js.fromBER(bits).result) };
}

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n; b %= m;
  while (e > 0n) { if (e & 1n) r = (r * b) % m; e >>= 1n; b = (b * b) % m; }
  return r;
}
function modInv(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [((a % m) + m) % m, m, 1n, 0n];
  while (r1 !== 0n) { const q = r0 / r1; [r0, r1] = [r1, r0 - q * r1]; [s0, s1] = [s1, s0 - q * s1]; }
  return ((s0 % m) + m) % m;
}
const qBytes = (q: bigint) => Math.ceil(q.toString(16).length / 2);
/** the digest as an integer: its leftmost bits up to q's length (FIPS 186-4 4.6) */
function digestInt(h: Buffer, q: bigint): bigint {
  const n = q.toString(2).length;
  let z = big(h);
  const extra = h.length * 8 - n;
  if (extra > 0) z >>= BigInt(extra);
  return z;
}
const toBytes = (x: bigint, n: number) => Buffer.from(x.toString(16).padStart(n * 2, '0'), 'hex');

/** r | s over the digest `h` with the DSA private key. */
export function dssSign(h: Buffer, key: KeyObject): Buffer {
  const { p, q, g, x } = privateParts(key);
  const n = qBytes(q), z = digestInt(h, q);
  for (;;) {
    const k = big(randomBytes(n + 8)) % (q - 1n) + 1n;
    const r = modPow(g, k, p) % q;
    if (r === 0n) continue;
    const s = (modInv(k, q) * (z + x * r)) % q;
    if (s === 0n) continue;
    return Buffer.concat([toBytes(r, n), toBytes(s, n)]);
  }
}

/** Whether `sig` (r | s) is a DSA signature of the digest `h` under the public key. */
export function dssVerify(h: Buffer, sig: Buffer, key: KeyObject): boolean {
  let pp: DsaParams & { y: bigint };
  try { pp = publicParts(key); } catch { return false; }
  const { p, q, g, y } = pp;
  const n = qBytes(q);
  if (sig.length !== 2 * n) return false;
  const r = big(sig.subarray(0, n)), s = big(sig.subarray(n));
  if (r <= 0n || r >= q || s <= 0n || s >= q) return false;
  const w = modInv(s, q), z = digestInt(h, q);
  const v = ((modPow(g, (z * w) % q, p) * modPow(y, (r * w) % q, p)) % p) % q;
  return v === r;
}
