/**
 * IKEv1 key derivation and hashes, exactly as RFC 2409 defines them (section 5 and appendix B), with
 * node:crypto's HMAC as the prf. The test vectors in test/vectors/ike.json come from an independent
 * implementation of the same formulas (scripts/ike-vectors.py, Python's hmac and hashlib).
 */
import { createHmac, createHash, createCipheriv, createDecipheriv } from 'node:crypto';

export type HashAlg = 'md5' | 'sha1';
export type CipherAlg = 'des-cbc' | '3des-cbc';

/** prf(key, data...) = HMAC with the negotiated hash (RFC 2409: the HMAC version of the hash is the prf). */
export function prf(alg: HashAlg, key: Buffer, ...data: Buffer[]): Buffer {
  const h = createHmac(alg, key);
  for (const d of data) h.update(d);
  return h.digest();
}
export function hash(alg: HashAlg, ...data: Buffer[]): Buffer {
  const h = createHash(alg);
  for (const d of data) h.update(d);
  return h.digest();
}

/** SKEYID for pre-shared keys: prf(pre-shared-key, Ni_b | Nr_b). */
export const skeyidPsk = (alg: HashAlg, psk: Buffer, ni: Buffer, nr: Buffer) => prf(alg, psk, ni, nr);
/** SKEYID for signatures: prf(Ni_b | Nr_b, g^xy). */
export const skeyidSig = (alg: HashAlg, ni: Buffer, nr: Buffer, gxy: Buffer) => prf(alg, Buffer.concat([ni, nr]), gxy);

export interface Skeyids { d: Buffer; a: Buffer; e: Buffer }
/**
 * SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
 * SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
 * SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
 */
export function deriveSkeyids(alg: HashAlg, skeyid: Buffer, gxy: Buffer, cki: Buffer, ckr: Buffer): Skeyids {
  const d = prf(alg, skeyid, gxy, cki, ckr, Buffer.from([0]));
  const a = prf(alg, skeyid, d, gxy, cki, ckr, Buffer.from([1]));
  const e = prf(alg, skeyid, a, gxy, cki, ckr, Buffer.from([2]));
  return { d, a, e };
}

export const CIPHERS: Record<CipherAlg, { keyLen: number; blockSize: number }> = {
  'des-cbc': { keyLen: 8, blockSize: 8 },
  '3des-cbc': { keyLen: 24, blockSize: 8 },
};

/**
 * The phase 1 encryption key from SKEYID_e: its first bytes, or, when it is too short (SHA-1's 20
 * bytes for 3DES's 24), the appendix B expansion Ka = K1 | K2 | ..., K1 = prf(SKEYID_e, 0),
 * Kn = prf(SKEYID_e, Kn-1).
 */
export function encryptionKey(alg: HashAlg, skeyidE: Buffer, keyLen: number): Buffer {
  if (skeyidE.length >= keyLen) return Buffer.from(skeyidE.subarray(0, keyLen));
  const parts: Buffer[] = [];
  let k = prf(alg, skeyidE, Buffer.from([0]));
  parts.push(k);
  while (Buffer.concat(parts).length < keyLen) { k = prf(alg, skeyidE, k); parts.push(k); }
  return Buffer.concat(parts).subarray(0, keyLen);
}

/** The first phase 1 IV: hash(g^xi | g^xr), cut to the block size. */
export const phase1Iv = (alg: HashAlg, gxi: Buffer, gxr: Buffer, bs: number) => hash(alg, gxi, gxr).subarray(0, bs);
/** The first IV of a phase 2 exchange: hash(last phase 1 CBC block | M-ID). */
export function phase2Iv(alg: HashAlg, lastP1Block: Buffer, mid: number, bs: number): Buffer {
  const m = Buffer.alloc(4); m.writeUInt32BE(mid >>> 0);
  return hash(alg, lastP1Block, m).subarray(0, bs);
}

/** HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b) */
export const hashI = (alg: HashAlg, skeyid: Buffer, gxi: Buffer, gxr: Buffer, cki: Buffer, ckr: Buffer, saiB: Buffer, idiiB: Buffer) => prf(alg, skeyid, gxi, gxr, cki, ckr, saiB, idiiB);
/** HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b) */
export const hashR = (alg: HashAlg, skeyid: Buffer, gxi: Buffer, gxr: Buffer, cki: Buffer, ckr: Buffer, saiB: Buffer, idirB: Buffer) => prf(alg, skeyid, gxr, gxi, ckr, cki, saiB, idirB);

const mid4 = (mid: number) => { const m = Buffer.alloc(4); m.writeUInt32BE(mid >>> 0); return m; };
/** HASH(1) of quick mode, and the hash of an informational exchange: prf(SKEYID_a, M-ID | the message after the HASH payload). */
export const hash1 = (alg: HashAlg, skeyidA: Buffer, mid: number, rest: Buffer) => prf(alg, skeyidA, mid4(mid), rest);
/** HASH(2) = prf(SKEYID_a, M-ID | Ni_b | the message after the HASH payload) */
export const hash2 = (alg: HashAlg, skeyidA: Buffer, mid: number, ni: Buffer, rest: Buffer) => prf(alg, skeyidA, mid4(mid), ni, rest);
/** HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b) */
export const hash3 = (alg: HashAlg, skeyidA: Buffer, mid: number, ni: Buffer, nr: Buffer) => prf(alg, skeyidA, Buffer.from([0]), mid4(mid), ni, nr);

/**
 * KEYMAT for one IPsec SA (RFC 2409 5.5): K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b),
 * Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b), concatenated to `len` bytes.
 * `spi` is the SPI of the SA the keys are for: the receiver's. The encryption key comes first.
 */
export function keymat(alg: HashAlg, skeyidD: Buffer, gxyQm: Buffer | undefined, protocol: number, spi: Buffer, ni: Buffer, nr: Buffer, len: number): Buffer {
  const seed = Buffer.concat([gxyQm ?? Buffer.alloc(0), Buffer.from([protocol]), spi, ni, nr]);
  const parts: Buffer[] = [];
  let prev: Buffer = Buffer.alloc(0), have = 0;
  while (have < len) { prev = prf(alg, skeyidD, prev, seed); parts.push(prev); have += prev.length; }
  return Buffer.concat(parts).subarray(0, len);
}

/** Phase 1 encryption: CBC, no padding (the caller pads to the block size). DES runs as 3DES with K|K|K. */
function cipherName(alg: CipherAlg, key: Buffer): [string, Buffer] {
  return alg === 'des-cbc' ? ['des-ede3-cbc', Buffer.concat([key, key, key])] : ['des-ede3-cbc', key];
}
export function cbcEncrypt(alg: CipherAlg, key: Buffer, iv: Buffer, plain: Buffer): Buffer {
  const [name, k] = cipherName(alg, key);
  const c = createCipheriv(name, k, iv); c.setAutoPadding(false);
  return Buffer.concat([c.update(plain), c.final()]);
}
export function cbcDecrypt(alg: CipherAlg, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const [name, k] = cipherName(alg, key);
  const d = createDecipheriv(name, k, iv); d.setAutoPadding(false);
  return Buffer.concat([d.update(data), d.final()]);
}
