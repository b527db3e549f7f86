/**
 * ESP (RFC 4303; RFC 2406 wire format): the bytes from the SPI to the ICV. Pure functions: the
 * caller supplies sequence number and IV (random when omitted), so tests repeat exactly.
 */
import { createCipheriv, createDecipheriv, createHmac, randomFillSync, timingSafeEqual, Cipher, Decipher } from 'node:crypto';
import type { EncSpec, AuthSpec } from './algorithms.js';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/host/paths.js';

/**
 * The native kernel (native/esp.cc): CBC and HMAC in one call per packet with contexts that take each
 * packet's IV. Used when built (`npm ci` builds it) and not turned off with VROUTER_ESP_NATIVE=0;
 * otherwise the node:crypto path below does the same, byte for byte.
 */
interface NativeEspCtx { seal(buf: Buffer, off: number, ptLen: number): void; open(esp: Buffer, out: Buffer): boolean; queueSeal(buf: Buffer, off: number, ptLen: number): number; queueOpen(esp: Buffer, out: Buffer): number; readonly mb: boolean }
export interface NativeAddon {
  EspCtx: NonNullable<typeof nativeCtor>; mbArch(): string; mbFast(): boolean; flush(): Uint8Array;
  Waker: new (fn: () => void) => { readonly id: number; close(): void }; wake(id: number): void;
}
let nativeCtor: (new (cipher: string, key: Buffer, digest: string, authKey: Buffer, icvLen: number, mb: boolean) => NativeEspCtx) | null | undefined;
let addon: NativeAddon | null | undefined;
function native(): typeof nativeCtor {
  if (nativeCtor !== undefined) return nativeCtor;
  nativeCtor = process.env.VROUTER_ESP_NATIVE === '0' ? null : espAddon()?.EspCtx ?? null;
  return nativeCtor;
}
/** The addon itself (also the ES PIC's Waker), loaded once per thread; undefined when not built. */
export function espAddon(): NativeAddon | undefined {
  if (addon !== undefined) return addon ?? undefined;
  addon = null;
  const file = join(repoRoot(), 'build', 'Release', 'vrouter_esp.node');
  try { if (existsSync(file)) addon = createRequire(import.meta.url)(file) as NativeAddon; } catch { addon = null; }
  return addon ?? undefined;
}

/**
 * Multi-buffer seals and opens (native/esp.cc with intel-ipsec-mb): inside a batch (espBatchBegin ..
 * espBatchEnd, the worker's drained ring), ESP packets are queued as jobs and sealed or opened 16 at a
 * time. On by default where the library's DES and 3DES are multi-buffer, i.e. on AVX-512
 * (des_x16_avx512): there a seal of 1,400 bytes costs about half of OpenSSL's single chain
 * (docs/performance.md, 2026-12-07). Everywhere else the library falls back to
 * lib/x86_64/des_basic.c, one block at a time in C, 16-80 times slower than OpenSSL, and the OpenSSL
 * path stays. VROUTER_ESP_MB=1 forces it on (any architecture the library runs on), VROUTER_ESP_MB=0 off.
 */
export function espMbArch(): string { return native() && addon ? addon.mbArch() : 'none'; }
/** Whether intel-ipsec-mb's DES would be multi-buffer on this CPU (AVX-512), asked without making a manager. */
export function espMbVectorised(): boolean { return !!(native() && addon?.mbFast()); }
function mbWanted(): boolean {
  const v = process.env.VROUTER_ESP_MB;
  if (v === '0' || !native() || !addon) return false;
  // the manager (espMbArch) costs 2 MB resident: made only when it will be used
  // unset: only where the library itself runs its AVX-512 manager (a CPU that shows AVX-512 but hides
  // AES-NI or BMI2 gets another manager, whose DES is the slow C one)
  return v === '1' ? espMbArch() !== 'none' : espMbVectorised() && espMbArch() === 'avx512';
}
let mbOn: boolean | undefined, batching = false, queued = 0;
// what the queued jobs read and write stays alive until the flush, whatever the SAs and callers do:
// the contexts (their key schedules), each seal's buffer, each open (its ESP bytes and plaintext buffer)
const keep = new Set<NativeEspCtx>();
const sealBufs: Buffer[] = [];
let opens: QueuedOpen[] = [];
// a job's queue position as the native side gave it differed from this count: the batch's statuses
// cannot be matched to its packets, and every job of it counts as refused
let desync = false;
/** Whether this thread seals and opens with multi-buffer jobs in batches (decided once, from VROUTER_ESP_MB and the CPU). */
export function espMbOn(): boolean { return mbOn ??= mbWanted(); }
/** Start a batch; true when its seals are deferred to espBatchEnd (multi-buffer on). */
export function espBatchBegin(): boolean { batching = espMbOn(); return batching; }
/** How many seals the current batch holds (a packet's position in it is this count before its seal). */
export const espQueued = (): number => queued;
/** A job of the batch that failed: the library refused it (`refused`), or an open's ICV did not match. */
export type BatchFailure = 'refused' | 'bad-icv';
/**
 * Finish everything queued (the ESP bytes of every queued seal are final then, and every queued open's
 * plaintext is written); returns the failures by queue position. Usually empty: a shared empty map.
 * The verdict is positive: a job is done only where the native side says so for its position (one
 * status per job); anything else (a missing status, a batch whose positions went astray) is refused.
 */
export function espBatchEnd(): ReadonlyMap<number, BatchFailure> {
  batching = false;
  if (!queued) return NO_FAILURES;
  const n = queued, batch = opens, astray = desync;
  queued = 0; opens = []; desync = false;
  const st = addon!.flush();
  keep.clear();
  sealBufs.length = 0;
  let failures: Map<number, BatchFailure> | undefined;
  for (let pos = 0; pos < n; pos++) {
    const s = !astray && st.length === n ? st[pos] : 0;
    if (s !== 1) (failures ??= new Map()).set(pos, s === 3 ? 'bad-icv' : 'refused');
  }
  // each open of the batch gets its verdict here, once: espOpened reads it, and only once
  for (const q of batch) settle(q, failures?.get(q.pos) ?? 'ok');
  return failures ?? NO_FAILURES;
}
const NO_FAILURES: ReadonlyMap<number, BatchFailure> = new Map();
/** Tests: choose the multi-buffer path again from VROUTER_ESP_MB. */
export function espMbReset(): void { mbOn = undefined; }
/** The SA's native context (encryption and authentication both): made once, or null (the JS path). */
function nativeOf(k: EspKeys): NativeEspCtx | null {
  if (k.nativeCtx !== undefined) return k.nativeCtx;
  const N = k.enc && k.auth ? native() : null;
  // multi-buffer capable only in a thread that batches (the worker: its first turn decides it, before
  // any SA there seals); elsewhere (the router's main thread: transport SAs, the warm-up) no manager is made
  try { k.nativeCtx = N ? new N(k.enc!.spec.openssl, k.enc!.key, k.auth!.spec.digest, k.auth!.key, k.auth!.spec.icvLen, mbOn ?? false) : null; } catch { k.nativeCtx = null; }
  return k.nativeCtx;
}
/** Whether this process seals and opens ESP with the native kernel (benchmarks print it). */
export const espNative = () => !!native();

export interface EspKeys {
  spi: number;
  enc?: { spec: EncSpec; key: Buffer };   // key already expanded for OpenSSL
  auth?: { spec: AuthSpec; key: Buffer };
  /**
   * One CBC context each way, kept for the SA's life instead of one per packet (Node cannot give an
   * OpenSSL context a new IV). See espSeal and espOpen for how each packet still gets its own IV.
   */
  encCtx?: Cipher;
  decCtx?: Decipher;
  /** the native kernel's contexts (null: not available for this SA) */
  nativeCtx?: NativeEspCtx | null;
}
export type OpenResult = { ok: true; payload: Buffer; nextHeader: number; seq: number } | { ok: false; reason: 'short-packet' | 'bad-icv' | 'bad-padding' | 'malformed' };

/** Overhead in bytes ESP adds to `len` bytes of payload (header, IV, padding, trailer, ICV). */
export function espOverhead(k: EspKeys, len: number): number {
  const blk = k.enc ? k.enc.spec.blockSize : 4;
  const pad = (blk - ((len + 2) % blk)) % blk;
  return 8 + (k.enc ? k.enc.spec.ivLen : 0) + pad + 2 + (k.auth ? k.auth.spec.icvLen : 0);
}

const ZERO_IV = Buffer.alloc(16);

// IVs come from a pool of CSPRNG output refilled 64 KiB at a time: one OpenSSL call per ~8000
// packets instead of one per packet (it was the worker's second-largest cost). Every byte is used
// once, so IVs stay unpredictable as CBC requires (RFC 4303 section 3.3.2).
const IV_POOL = Buffer.allocUnsafe(64 * 1024);
let ivOff = IV_POOL.length;
function freshIv(out: Buffer): void {
  if (ivOff + out.length > IV_POOL.length) { randomFillSync(IV_POOL); ivOff = 0; }
  IV_POOL.copy(out, 0, ivOff, ivOff + out.length);
  ivOff += out.length;
}

/**
 * Seal `payload` as ESP. The result has `headroom` free bytes in front (room for the outer IPv4
 * header). With `iv` given (test vectors), a fresh cipher context uses exactly that IV. Otherwise the
 * SA's long-lived CBC context is used, and the packet's IV is the encryption of a fresh random block
 * through it: E_K(R xor C_prev) for a random R, which is unpredictable as CBC requires (RFC 4303
 * 3.3.2; NIST SP 800-38A appendix C: an IV may be the forward cipher of a nonce). The ciphertext
 * that follows is then CBC with exactly that IV, as the receiver decrypts it. With `defer` inside a
 * multi-buffer batch the seal is queued (see espBatchBegin).
 */
export function espSeal(k: EspKeys, seq: number, payload: Buffer, nextHeader: number, iv?: Buffer, headroom = 0, defer = false): Buffer {
  const blk = k.enc ? k.enc.spec.blockSize : 4;
  const padLen = (blk - ((payload.length + 2) % blk)) % blk;
  const ivLen = k.enc ? k.enc.spec.ivLen : 0;
  const icvLen = k.auth ? k.auth.spec.icvLen : 0;
  const total = 8 + ivLen + payload.length + padLen + 2 + icvLen;
  const buf = Buffer.allocUnsafe(headroom + total);
  const out = headroom ? buf.subarray(headroom) : buf;
  out.writeUInt32BE(k.spi >>> 0, 0);
  out.writeUInt32BE(seq >>> 0, 4);
  // RFC 4303 2.4 default padding: 1, 2, 3, ...; then pad length and next header
  const trailer = Buffer.allocUnsafe(padLen + 2);
  for (let i = 0; i < padLen; i++) trailer[i] = i + 1;
  trailer[padLen] = padLen;
  trailer[padLen + 1] = nextHeader;
  const nk = nativeOf(k);
  if (nk) {
    // the IV (given, or fresh from the pool), the plaintext behind it, then one call seals in place
    if (iv) iv.copy(out, 8, 0, ivLen); else freshIv(out.subarray(8, 8 + ivLen));
    payload.copy(out, 8 + ivLen);
    trailer.copy(out, 8 + ivLen + payload.length);
    // `defer`: the caller reads only the headroom before espBatchEnd (the ESP bytes are final then)
    const pos = defer && batching && nk.mb ? nk.queueSeal(buf, headroom, payload.length + padLen + 2) : -1;
    if (pos >= 0) { if (pos !== queued) desync = true; queued++; keep.add(nk); sealBufs.push(buf); }
    else nk.seal(buf, headroom, payload.length + padLen + 2);
    return buf;
  }
  if (k.enc) {
    let o = 8 + ivLen;
    if (iv) {
      iv.copy(out, 8, 0, ivLen);
      const c = createCipheriv(k.enc.spec.openssl, k.enc.key, out.subarray(8, 8 + ivLen));
      c.setAutoPadding(false);
      o += c.update(payload).copy(out, o);
      o += c.update(trailer).copy(out, o);
      c.final().copy(out, o);
    } else {
      let c = k.encCtx;
      if (!c) {
        const seed = Buffer.allocUnsafe(ivLen); freshIv(seed);
        c = k.encCtx = createCipheriv(k.enc.spec.openssl, k.enc.key, seed);
        c.setAutoPadding(false);
      }
      const r = Buffer.allocUnsafe(ivLen); freshIv(r);
      c.update(r).copy(out, 8);                 // the IV: E_K(R xor previous block)
      o += c.update(payload).copy(out, o);
      c.update(trailer).copy(out, o);           // payload + trailer fill whole blocks: nothing stays behind
    }
  } else {
    payload.copy(out, 8);
    trailer.copy(out, 8 + payload.length);
  }
  if (k.auth) {
    const h = createHmac(k.auth.spec.digest, k.auth.key);
    h.update(out.subarray(0, total - icvLen));
    h.digest().copy(out, total - icvLen, 0, icvLen);
  }
  return buf;
}

type Verdict = 'queued' | 'ok' | BatchFailure | 'finished';
let settle: (q: QueuedOpen, v: Verdict) => void;
let take: (q: QueuedOpen) => Verdict;
/**
 * An open queued in a multi-buffer batch, for the SA keys `keys`. Its verdict is private to this
 * module: 'queued' until the batch ends, then the flush's ('ok': the ICV matched and `pt` holds the
 * plaintext), then 'finished' once espOpened has read it. An open finished before its batch ended,
 * twice, with other keys, or not made here is refused and never read.
 */
export class QueuedOpen {
  #verdict: Verdict = 'queued';
  static {
    settle = (q, v) => { if (q.#verdict === 'queued') q.#verdict = v; };
    take = q => { if (!(#verdict in q)) return 'finished'; const v = q.#verdict; q.#verdict = 'finished'; return v; };
  }
  constructor(readonly esp: Buffer, readonly pt: Buffer, readonly pos: number, readonly keys: EspKeys) {}
}
/**
 * Inside a multi-buffer batch, queue `esp`'s open (ICV and decryption in one job); undefined when it
 * cannot be queued (no batch, no multi-buffer context, a length that is not whole blocks, a full
 * queue), and the caller opens it with espOpen. After espBatchEnd, espOpened finishes it.
 */
export function espQueueOpen(k: EspKeys, esp: Buffer): QueuedOpen | undefined {
  if (!batching || !k.enc || !k.auth) return undefined;
  const nk = nativeOf(k);
  if (!nk?.mb) return undefined;
  const ct = esp.length - 8 - k.enc.spec.ivLen - k.auth.spec.icvLen;
  if (ct < k.enc.spec.blockSize || ct % k.enc.spec.blockSize) return undefined;
  const pt = Buffer.allocUnsafe(ct);
  const pos = nk.queueOpen(esp, pt);
  if (pos < 0) return undefined;
  if (pos !== queued) desync = true;
  queued++; keep.add(nk);
  const q = new QueuedOpen(esp, pt, pos, k);
  opens.push(q);
  return q;
}
/**
 * A queued open after its batch: the verdict the flush gave it, then the padding, as espOpen checks
 * them. A job the library refused is opened again on the single chain (ICV first). An open whose
 * batch has not ended, or that was already finished, is refused (malformed): it is never read.
 */
export function espOpened(k: EspKeys, q: QueuedOpen): OpenResult {
  const v = take(q);
  if (q.keys !== k) return { ok: false, reason: 'malformed' };
  if (v === 'ok') return trailerOf(q.pt, q.esp);
  if (v === 'bad-icv') return { ok: false, reason: 'bad-icv' };
  if (v === 'refused') return espOpen(k, q.esp);
  return { ok: false, reason: 'malformed' };
}

/** Verify (ICV first, in constant time), then decrypt and check the padding. */
export function espOpen(k: EspKeys, esp: Buffer): OpenResult {
  const blk = k.enc ? k.enc.spec.blockSize : 4;
  const ivLen = k.enc ? k.enc.spec.ivLen : 0;
  const icvLen = k.auth ? k.auth.spec.icvLen : 0;
  if (esp.length < 8 + ivLen + (k.enc ? blk : 2) + icvLen) return { ok: false, reason: 'short-packet' };
  const end = esp.length - icvLen;
  const nk = nativeOf(k);
  // a ciphertext of whole blocks goes to the native kernel; any other (forged) length takes the path
  // below, which checks the ICV first all the same
  if (nk && (esp.length - 8 - ivLen - icvLen) % blk === 0) {
    const pt = Buffer.allocUnsafe(esp.length - 8 - ivLen - icvLen);
    if (!nk.open(esp, pt)) return { ok: false, reason: 'bad-icv' };
    return trailerOf(pt, esp);
  }
  if (k.auth) {
    const h = createHmac(k.auth.spec.digest, k.auth.key);
    h.update(esp.subarray(0, end));
    const icv = h.digest().subarray(0, icvLen);
    if (!timingSafeEqual(icv, esp.subarray(end))) return { ok: false, reason: 'bad-icv' };
  }
  const ct = esp.subarray(8 + ivLen, end);
  let pt: Buffer;
  if (k.enc) {
    if (ct.length % blk !== 0) return { ok: false, reason: 'malformed' };
    // the SA's long-lived context: fed the IV block first (its output is discarded), the context's
    // chaining block is then this packet's IV, and the ciphertext decrypts as CBC with it
    let d = k.decCtx;
    if (!d) { d = k.decCtx = createDecipheriv(k.enc.spec.openssl, k.enc.key, ZERO_IV.subarray(0, ivLen || 8)); d.setAutoPadding(false); }
    if (ivLen) d.update(esp.subarray(8, 8 + ivLen));
    pt = d.update(ct);
  } else pt = ct;
  return trailerOf(pt, esp);
}

/** The padding and next header at the end of the plaintext, checked. */
function trailerOf(pt: Buffer, esp: Buffer): OpenResult {
  if (pt.length < 2) return { ok: false, reason: 'short-packet' };
  const padLen = pt[pt.length - 2]!;
  const nextHeader = pt[pt.length - 1]!;
  if (padLen + 2 > pt.length) return { ok: false, reason: 'bad-padding' };
  const padStart = pt.length - 2 - padLen;
  for (let i = 0; i < padLen; i++) if (pt[padStart + i] !== i + 1) return { ok: false, reason: 'bad-padding' };
  return { ok: true, payload: pt.subarray(0, padStart), nextHeader, seq: esp.readUInt32BE(4) };
}
