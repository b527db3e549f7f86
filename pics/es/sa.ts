/**
 * One IPsec security association's state: keys, sequence number, replay window, lifetime and
 * counters; `encapsulate` and `decapsulate` turn whole IPv4 packets into whole IPv4 packets
 * (tunnel or transport mode; ESP, AH or bundle) or into a drop with a reason. Never throws on
 * packet contents.
 */
import { ENC, AUTH } from './algorithms.js';
import { espSeal, espOpen, espQueueOpen, espOpened, EspKeys, QueuedOpen } from './esp.js';
import { ahSeal, ahOpen, AhKeys } from './ah.js';
import { ReplayWindow } from './replay.js';
import { parseIpv4, buildIpv4, writeIpv4Header, PROTO_ESP, PROTO_AH, PROTO_IPIP, PROTO_UDP, Ipv4Header, ipv4Fields } from '../../src/net/ipv4.js';
import type { AuthAlg, EncAlg, IpsecProtocol } from '../../src/config/model.js';

export const DROP_REASONS = ['no-sa', 'bad-icv', 'replay', 'too-old', 'bad-padding', 'short-packet', 'malformed', 'bad-next-header', 'expired', 'seq-exhausted', 'oversize', 'pic-busy', 'pic-offline'] as const;
export type DropReason = typeof DROP_REASONS[number];
export type SaResult = { ok: true; packet: Buffer } | { ok: false; reason: DropReason };

export interface SaSpec {
  name: string;
  direction: 'inbound' | 'outbound';
  protocol: IpsecProtocol;
  mode: 'tunnel' | 'transport';
  spi: number;
  auxSpi?: number;
  enc?: { algorithm: EncAlg; key: Buffer };
  auth?: { algorithm: AuthAlg; key: Buffer };
  tunnel?: { source: number; destination: number };
  replayWindow?: 0 | 32 | 64;          // 0 or absent: none (manual SAs)
  lifetime?: { hardSeconds: number };   // dynamic SAs only
  manual: boolean;
  /** tunnel-mode ESP through a NAT: each packet goes in UDP (RFC 3948) between these ports */
  encap?: { sport: number; dport: number };
}

/** Each SA's mutable state as doubles (its own, or a slot of a PIC's SaStateTable): the offsets. */
const S_SEQ = 0, S_OUTER_ID = 1, S_PACKETS = 2, S_BYTES = 3, S_STATE = 4, S_ICV_FIRST = 5, S_DROPS = 6;
const S_WINDOW = S_DROPS + DROP_REASONS.length;   // the replay window: its top, then 64 slots
/** Doubles per SA (S_WINDOW + 1 + 64 = 84, rounded up). */
export const SA_SLOT = 96;
// a slot must hold the largest replay window whole: a window cut short would take replays as new
if (S_WINDOW + 1 + 64 > SA_SLOT) throw new Error(`SA_SLOT ${SA_SLOT} is too small for ${DROP_REASONS.length} drop reasons and a 64-packet window`);
const DROP_INDEX = Object.fromEntries(DROP_REASONS.map((r, i) => [r, S_DROPS + i])) as Record<DropReason, number>;
const STATES = ['active', 'soft-expired', 'expired'] as const;

/**
 * The SAs' mutable state of one ES PIC in shared memory (sequence numbers, replay windows, counters,
 * lifetime states), so that the PIC's worker and the router's main thread (the express path,
 * es-pic.ts) can each seal and open on the same SAs, one at a time under the PIC's lock. Each side
 * has its own table object over the same memory; slots are handed out deterministically (the lowest
 * free), so two cores that apply the same SA changes in the same order give each SA the same slot.
 * A full table gives the SA private state (-1): such an SA is never taken on the express path.
 */
export class SaStateTable {
  readonly f: Float64Array;
  private readonly used: Uint8Array;
  constructor(readonly sab: SharedArrayBuffer) {
    this.f = new Float64Array(sab);
    this.used = new Uint8Array(Math.floor(this.f.length / SA_SLOT));
  }
  static create(slots = 1024): SaStateTable { return new SaStateTable(new SharedArrayBuffer(slots * SA_SLOT * 8)); }
  alloc(): number { const i = this.used.indexOf(0); if (i >= 0) this.used[i] = 1; return i; }
  free(i: number): void { if (i >= 0) this.used[i] = 0; }
  view(i: number): Float64Array { return this.f.subarray(i * SA_SLOT, (i + 1) * SA_SLOT); }
  get inUse(): number { let n = 0; for (const u of this.used) n += u; return n; }
}
/** Where a new SA keeps its state: a slot of `table`; `init` false on the side that only views it (the express path). */
export interface SaStore { table: SaStateTable; init: boolean }

export interface SaCounters {
  packets: number; bytes: number;       // processed successfully (encrypted or decrypted)
  drops: Record<DropReason, number>;
}
export const newDrops = (): Record<DropReason, number> => Object.fromEntries(DROP_REASONS.map(r => [r, 0])) as Record<DropReason, number>;

/**
 * An inbound packet whose ESP open waits in a multi-buffer batch (decapsulate with `defer`): everything
 * before the open is checked; SecurityAssociation.opened finishes it after the batch.
 */
export interface PendingOpen { readonly ok: 'pending'; readonly sa: SecurityAssociation; readonly seq: number; readonly h: Ipv4Header; readonly open: QueuedOpen }

export interface EncapOptions { iv?: Buffer; seq?: number; outerId?: number; ttl?: number }

const SEQ_MAX = 0xffffffff;
/** After a packet with a wrong ICV, this many opens of the SA take the single chain (ICV before decryption). */
export const ICV_FIRST = 1024;

/** Bytes an SA of this shape adds to a packet of `len` bytes; needs no keys (the PFE computes MTUs). */
export function overheadFor(s: Pick<SaSpec, 'protocol' | 'mode' | 'enc' | 'auth' | 'encap'>, len: number): number {
  const tunnel = s.mode === 'tunnel';
  let o = (tunnel ? 20 : 0) + (s.encap ? 8 : 0);
  const icv = s.auth ? AUTH[s.auth.algorithm].icvLen : 0;
  if (s.protocol !== 'ah') {
    const enc = s.enc ? ENC[s.enc.algorithm] : undefined;
    const blk = enc ? enc.blockSize : 4;
    const payload = tunnel ? len : len - 20;
    o += 8 + (enc ? enc.ivLen : 0) + (blk - ((payload + 2) % blk)) % blk + 2 + (s.protocol === 'esp' ? icv : 0);
  }
  if (s.protocol !== 'esp') o += 12 + icv;
  return o;
}

export class SecurityAssociation {
  readonly esp?: EspKeys;
  readonly ah?: AhKeys;
  readonly window?: ReplayWindow;
  readonly created: number;
  /** the mutable state (S_* offsets): a slot of the PIC's shared table, or the SA's own */
  private readonly s: Float64Array;
  /** its slot in the table (-1: own state, never on the express path) */
  readonly slot: number;
  private readonly table?: SaStateTable;

  constructor(readonly spec: SaSpec, now = Date.now(), store?: SaStore) {
    this.created = now;
    // the keys first: whatever throws here (an unknown algorithm) throws before a slot is taken
    const enc = spec.enc ? { spec: ENC[spec.enc.algorithm], key: ENC[spec.enc.algorithm].expandKey(spec.enc.key) } : undefined;
    const auth = spec.auth ? { spec: AUTH[spec.auth.algorithm], key: spec.auth.key } : undefined;
    if (spec.protocol === 'esp') this.esp = { spi: spec.spi, ...(enc ? { enc } : {}), ...(auth ? { auth } : {}) };
    if (spec.protocol === 'ah') this.ah = { spi: spec.spi, auth: auth! };
    if (spec.protocol === 'bundle') { this.ah = { spi: spec.spi, auth: auth! }; this.esp = { spi: spec.auxSpi!, ...(enc ? { enc } : {}) }; }
    const slot = store ? store.table.alloc() : -1;
    this.slot = slot;
    this.table = slot >= 0 ? store!.table : undefined;   // always assigned: one object shape for every SA
    this.s = slot >= 0 ? store!.table.view(slot) : new Float64Array(SA_SLOT);
    const init = slot < 0 || store!.init;
    if (init) { this.s.fill(0); this.s[S_SEQ] = 1; }
    if (!spec.manual && spec.replayWindow) this.window = new ReplayWindow(spec.replayWindow, this.s.subarray(S_WINDOW, S_WINDOW + 1 + spec.replayWindow), init);
  }
  /** The SA is gone from its PIC: its slot is free for the next (both sides free it as they drop it). */
  release(): void { this.table?.free(this.slot); }

  private get nextSeq(): number { return this.s[S_SEQ]!; }
  private set nextSeq(v: number) { this.s[S_SEQ] = v; }
  private get icvFirst(): number { return this.s[S_ICV_FIRST]!; }
  private set icvFirst(v: number) { this.s[S_ICV_FIRST] = v; }
  get state(): 'active' | 'soft-expired' | 'expired' { return STATES[this.s[S_STATE]!]!; }
  set state(v: 'active' | 'soft-expired' | 'expired') { this.s[S_STATE] = STATES.indexOf(v); }
  /** The SA's counters, as they are now (a copy). */
  get counters(): SaCounters {
    const drops = newDrops();
    for (const r of DROP_REASONS) drops[r] = this.s[DROP_INDEX[r]]!;
    return { packets: this.s[S_PACKETS]!, bytes: this.s[S_BYTES]!, drops };
  }
  /** A seal counted that the multi-buffer library then refused: counted as a `malformed` drop instead. */
  unseal(bytes: number): void { this.s[S_PACKETS]--; this.s[S_BYTES] -= bytes; this.s[DROP_INDEX.malformed]++; }
  private counted(bytes: number): void { this.s[S_PACKETS]++; this.s[S_BYTES] += bytes; }

  get name() { return this.spec.name; }
  /** The sequence number the next outbound packet will carry. */
  get sequence() { return this.nextSeq; }
  get softSeconds(): number | undefined { return this.spec.lifetime ? Math.floor(this.spec.lifetime.hardSeconds * 0.9) : undefined; }

  /** Advance lifetimes; returns the event this call crossed, if any (for the key manager). */
  tick(now: number): 'soft' | 'hard' | null {
    const lt = this.spec.lifetime;
    if (!lt || this.state === 'expired') return null;
    const age = (now - this.created) / 1000;
    if (age >= lt.hardSeconds) { this.state = 'expired'; return 'hard'; }
    if (this.state === 'active' && age >= this.softSeconds!) { this.state = 'soft-expired'; return 'soft'; }
    return null;
  }
  remainingSeconds(now: number): number | undefined {
    const lt = this.spec.lifetime;
    return lt ? Math.max(0, Math.ceil(lt.hardSeconds - (now - this.created) / 1000)) : undefined;
  }

  /** Bytes this SA adds to a packet of `len` bytes (for the es- interface MTU). */
  overhead(len: number): number { return overheadFor(this.spec, len); }

  private drop(reason: DropReason): SaResult {
    this.s[DROP_INDEX[reason]]++;
    return { ok: false, reason };
  }

  /** Outbound: an IPv4 packet in, the protected IPv4 packet out. */
  encapsulate(pkt: Buffer, o: EncapOptions = {}): SaResult {
    if (this.state === 'expired') return this.drop('expired');
    const ip = parseIpv4(pkt);
    if (!ip.ok) return this.drop('malformed');
    const h = ip.value;
    // the protected packet must still fit an IPv4 packet (a transport SA sees the router's own
    // packets whole, up to 65,535 bytes): too big is a drop, never an exception
    if (h.totalLength + this.overhead(h.totalLength) > 65535) return this.drop('oversize');
    let seq: number;
    if (o.seq !== undefined) seq = o.seq;
    else {
      if (this.nextSeq > SEQ_MAX) return this.drop('seq-exhausted');  // never wraps (RFC 4303 3.3.3)
      seq = this.nextSeq++;
    }
    let outer: Buffer;
    if (this.spec.mode === 'tunnel') {
      const t = this.spec.tunnel!;
      const id = o.outerId ?? (this.s[S_OUTER_ID] = (this.s[S_OUTER_ID]! + 1) & 0xffff);
      const ttl = o.ttl ?? 64;
      const inner = pkt.subarray(0, h.totalLength);
      const u = this.spec.encap;
      if (this.spec.protocol === 'esp') {
        // the outer header's fields in their one full shape (ipv4Fields: no spread of a partial object)
        const f = ipv4Fields(u ? PROTO_UDP : PROTO_ESP, t.source, t.destination, h.tos, id, ttl);
        // sealed with room for the outer header in front (and, through a NAT, UDP): no second copy
        outer = espSeal(this.esp!, seq, inner, PROTO_IPIP, o.iv, u ? 28 : 20, true);
        writeIpv4Header(outer, 0, f, outer.length);
        // through a NAT: IP, UDP (checksum 0, as RFC 3948 allows for IPv4), then the ESP packet
        if (u) { outer.writeUInt16BE(u.sport, 20); outer.writeUInt16BE(u.dport, 22); outer.writeUInt16BE(outer.length - 20, 24); outer.writeUInt16BE(0, 26); }
      }
      else {
        const fields = { tos: h.tos, id, ttl, src: t.source, dst: t.destination };
        outer = this.spec.protocol === 'ah' ? ahSeal(this.ah!, seq, fields, inner, PROTO_IPIP) : ahSeal(this.ah!, seq, fields, espSeal(this.esp!, seq, inner, PROTO_IPIP, o.iv), PROTO_ESP);
      }
    } else {
      const payload = pkt.subarray(h.ihl, h.totalLength);
      if (this.spec.protocol === 'esp') outer = buildIpv4(ipv4Fields(PROTO_ESP, h.src, h.dst, h.tos, h.id, h.ttl, h.df), espSeal(this.esp!, seq, payload, h.protocol, o.iv));
      else {
        const fields = { tos: h.tos, id: h.id, ttl: h.ttl, df: h.df, src: h.src, dst: h.dst };
        outer = this.spec.protocol === 'ah' ? ahSeal(this.ah!, seq, fields, payload, h.protocol) : ahSeal(this.ah!, seq, fields, espSeal(this.esp!, seq, payload, h.protocol, o.iv), PROTO_ESP);
      }
    }
    this.counted(h.totalLength);
    return { ok: true, packet: outer };
  }

  /**
   * Inbound: the protected IPv4 packet in (already matched to this SA), the original packet out. With
   * `defer`, inside a multi-buffer batch, the ESP open is queued and a PendingOpen comes back instead:
   * `opened` finishes it once the batch has ended.
   */
  decapsulate(pkt: Buffer): SaResult;
  decapsulate(pkt: Buffer, defer: boolean): SaResult | PendingOpen;
  decapsulate(pkt: Buffer, defer = false): SaResult | PendingOpen {
    if (this.state === 'expired') return this.drop('expired');
    const ip = parseIpv4(pkt);
    if (!ip.ok) return this.drop(ip.error === 'short-packet' ? 'short-packet' : 'malformed');
    const h = ip.value;
    const p = pkt.subarray(0, h.totalLength);
    // the sequence number sits at the same offset for AH (outermost in a bundle) and ESP
    if (p.length < h.ihl + 12) return this.drop('short-packet');
    const seq = p.readUInt32BE(h.ihl + (this.ah ? 8 : 4));
    if (this.window) {
      const v = this.window.check(seq);
      if (v !== 'ok') return this.drop(v);
    }
    let espBytes: Buffer | undefined;
    if (this.ah) {
      if (h.protocol !== PROTO_AH) return this.drop('malformed');
      const r = ahOpen(this.ah, p);
      if (!r.ok) return this.drop(r.reason);
      if (this.spec.protocol !== 'bundle') return this.inner(seq, h, r.payload, r.nextHeader);
      if (r.nextHeader !== PROTO_ESP) return this.drop('bad-next-header');
      espBytes = r.payload;
    } else {
      if (h.protocol !== PROTO_ESP) return this.drop('malformed');
      espBytes = p.subarray(h.ihl);
    }
    // an SA that met forged packets lately opens on the single chain, which checks the ICV before it
    // decrypts (a multi-buffer job decrypts whatever it is given: a forged flood would cost 3DES each)
    if (defer && this.icvFirst === 0) {
      const q = espQueueOpen(this.esp!, espBytes);
      if (q) return { ok: 'pending', sa: this, seq, h, open: q };
    }
    if (this.icvFirst > 0) this.icvFirst--;
    const r = espOpen(this.esp!, espBytes);
    if (!r.ok) { if (r.reason === 'bad-icv') this.icvFirst = ICV_FIRST; return this.drop(r.reason); }
    return this.inner(seq, h, r.payload, r.nextHeader);
  }

  /**
   * A deferred open after its batch ended (the verdict is in `p.open`, see espOpened). The replay window
   * is checked again: another packet with the same sequence number may have been accepted in the batch.
   */
  opened(p: PendingOpen): SaResult {
    if (p.sa !== this) return { ok: false, reason: 'malformed' };   // not this SA's: nothing of it is read, nothing counted here
    const r = espOpened(this.esp!, p.open);
    if (!r.ok) { if (r.reason === 'bad-icv') this.icvFirst = ICV_FIRST; return this.drop(r.reason); }
    if (this.window) {
      const v = this.window.check(p.seq);
      if (v !== 'ok') return this.drop(v);
    }
    return this.inner(p.seq, p.h, r.payload, r.nextHeader);
  }

  /** The opened payload: the inner packet (tunnel mode) or the original rebuilt (transport); the window and counters move. */
  private inner(seq: number, h: Ipv4Header, payload: Buffer, nextHeader: number): SaResult {
    let out: Buffer;
    if (this.spec.mode === 'tunnel') {
      if (nextHeader !== PROTO_IPIP) return this.drop('bad-next-header');
      const inner = parseIpv4(payload);
      if (!inner.ok) return this.drop('malformed');
      out = payload.subarray(0, inner.value.totalLength);
    } else {
      out = buildIpv4(ipv4Fields(nextHeader, h.src, h.dst, h.tos, h.id, h.ttl, h.df), payload);
    }
    this.window?.update(seq);
    this.counted(out.length);
    return { ok: true, packet: out };
  }
}
