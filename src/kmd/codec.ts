/**
 * The ISAKMP message codec (RFC 2408 section 3), pure: a Buffer in, a typed message out, or a drop
 * with a reason; typed payloads in, bytes out. Nothing here throws on input from the wire.
 */
import { Pt, ISAKMP_VERSION } from './constants.js';

export interface Header {
  icookie: Buffer; rcookie: Buffer;   // 8 bytes each
  next: number; version: number; exchange: number; flags: number; mid: number; length: number;
}
/** One payload: its type, its body (after the 4-byte generic header) and its whole bytes. */
export interface RawPayload { type: number; body: Buffer; raw: Buffer }
export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

const fail = <T>(reason: string): Decoded<T> => ({ ok: false, reason });

export const HEADER_LEN = 28;
/** The largest message kmd accepts (a UDP datagram); certificate chains of issue 16 fit. */
export const MAX_MESSAGE = 16384;
/** The most payloads one message may carry. */
export const MAX_PAYLOADS = 64;

export function decodeHeader(b: Buffer): Decoded<Header> {
  if (b.length < HEADER_LEN) return fail('short-message');
  if (b.length > MAX_MESSAGE) return fail('oversized-message');
  const version = b[17]!;
  if (version >> 4 !== 1) return fail('bad-version');
  const length = b.readUInt32BE(24);
  if (length < HEADER_LEN || length > b.length) return fail('bad-length');
  return {
    ok: true,
    value: { icookie: b.subarray(0, 8), rcookie: b.subarray(8, 16), next: b[16]!, version, exchange: b[18]!, flags: b[19]!, mid: b.readUInt32BE(20), length },
  };
}

/**
 * The payload chain starting with type `first` in `b`. Bytes after the last payload are allowed only
 * when `trailing` (the padding of an encrypted message).
 */
export function decodePayloads(b: Buffer, first: number, trailing: boolean): Decoded<RawPayload[]> {
  const out: RawPayload[] = [];
  let type = first, off = 0;
  while (type !== Pt.NONE) {
    if (out.length >= MAX_PAYLOADS) return fail('too-many-payloads');
    if (off + 4 > b.length) return fail('truncated-payload');
    const next = b[off]!, len = b.readUInt16BE(off + 2);
    if (b[off + 1] !== 0 && type !== Pt.NONE) { /* the reserved byte should be 0: tolerated, as peers differ */ }
    if (len < 4 || off + len > b.length) return fail('bad-payload-length');
    out.push({ type, body: b.subarray(off + 4, off + len), raw: b.subarray(off, off + len) });
    off += len;
    type = next;
  }
  if (off !== b.length && !trailing) return fail('trailing-bytes');
  return { ok: true, value: out };
}

/** A whole plaintext message: header and payloads. */
export function decodeMessage(b: Buffer): Decoded<{ header: Header; payloads: RawPayload[] }> {
  const h = decodeHeader(b);
  if (!h.ok) return h;
  const p = decodePayloads(b.subarray(HEADER_LEN, h.value.length), h.value.next, false);
  if (!p.ok) return p;
  return { ok: true, value: { header: h.value, payloads: p.value } };
}

export interface OutPayload { type: number; body: Buffer }

/** The payload chain of `payloads`, each with its generic header. */
export function encodePayloads(payloads: OutPayload[]): Buffer {
  const parts: Buffer[] = [];
  payloads.forEach((p, i) => {
    const g = Buffer.alloc(4);
    g[0] = payloads[i + 1]?.type ?? Pt.NONE;
    g.writeUInt16BE(4 + p.body.length, 2);
    parts.push(g, p.body);
  });
  return Buffer.concat(parts);
}

export function encodeHeader(h: Omit<Header, 'version' | 'length'>, length: number): Buffer {
  const b = Buffer.alloc(HEADER_LEN);
  h.icookie.copy(b, 0); h.rcookie.copy(b, 8);
  b[16] = h.next; b[17] = ISAKMP_VERSION; b[18] = h.exchange; b[19] = h.flags;
  b.writeUInt32BE(h.mid >>> 0, 20);
  b.writeUInt32BE(length, 24);
  return b;
}

/** A plaintext message. */
export function encodeMessage(h: Omit<Header, 'version' | 'length' | 'next'>, payloads: OutPayload[]): Buffer {
  const body = encodePayloads(payloads);
  return Buffer.concat([encodeHeader({ ...h, next: payloads[0]?.type ?? Pt.NONE }, HEADER_LEN + body.length), body]);
}

// ----------------------------------------------------------------------------- SA attributes

/** An attribute: a number (TV when it fits 16 bits) or bytes (TLV). */
export interface Attr { type: number; value: number | Buffer }

export function encodeAttrs(attrs: Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    if (typeof a.value === 'number' && a.value <= 0xffff) {
      const b = Buffer.alloc(4); b.writeUInt16BE(0x8000 | a.type, 0); b.writeUInt16BE(a.value, 2); parts.push(b);
    } else {
      const v = typeof a.value === 'number' ? (() => { const x = Buffer.alloc(4); x.writeUInt32BE(a.value >>> 0); return x; })() : a.value;
      const b = Buffer.alloc(4); b.writeUInt16BE(a.type & 0x7fff, 0); b.writeUInt16BE(v.length, 2); parts.push(b, v);
    }
  }
  return Buffer.concat(parts);
}

/** Attributes in order; a TLV value of up to 4 bytes is read as a number too. */
export function decodeAttrs(b: Buffer): Decoded<Array<{ type: number; value: number; bytes?: Buffer }>> {
  const out: Array<{ type: number; value: number; bytes?: Buffer }> = [];
  let off = 0;
  while (off < b.length) {
    if (off + 4 > b.length) return fail('truncated-attribute');
    const t = b.readUInt16BE(off);
    if (t & 0x8000) { out.push({ type: t & 0x7fff, value: b.readUInt16BE(off + 2) }); off += 4; continue; }
    const len = b.readUInt16BE(off + 2);
    if (off + 4 + len > b.length) return fail('bad-attribute-length');
    const v = b.subarray(off + 4, off + 4 + len);
    let n = 0;
    if (len <= 4) for (const x of v) n = n * 256 + x;
    out.push({ type: t, value: len <= 4 ? n : -1, bytes: v });
    off += 4 + len;
  }
  return { ok: true, value: out };
}

// ----------------------------------------------------------------------------- SA, proposals, transforms

export interface Transform { num: number; id: number; attrs: Array<{ type: number; value: number; bytes?: Buffer }> }
export interface Proposal { num: number; protocol: number; spi: Buffer; transforms: Transform[] }
export interface SaPayload { doi: number; situation: number; proposals: Proposal[] }

export function decodeSa(body: Buffer): Decoded<SaPayload> {
  if (body.length < 8) return fail('short-sa');
  const doi = body.readUInt32BE(0), situation = body.readUInt32BE(4);
  const chain = decodePayloads(body.subarray(8), Pt.P, false);
  if (!chain.ok) return fail(`sa: ${chain.reason}`);
  const proposals: Proposal[] = [];
  for (const p of chain.value) {
    if (p.type !== Pt.P) return fail('sa: not a proposal');
    const pb = p.body;
    if (pb.length < 4) return fail('short-proposal');
    const spiSize = pb[2]!, nt = pb[3]!;
    if (4 + spiSize > pb.length) return fail('bad-spi-size');
    const tchain = decodePayloads(pb.subarray(4 + spiSize), nt ? Pt.T : Pt.NONE, false);
    if (!tchain.ok) return fail(`proposal: ${tchain.reason}`);
    if (tchain.value.length !== nt) return fail('transform-count');
    const transforms: Transform[] = [];
    for (const t of tchain.value) {
      if (t.type !== Pt.T || t.body.length < 4) return fail('bad-transform');
      const attrs = decodeAttrs(t.body.subarray(4));
      if (!attrs.ok) return fail(`transform: ${attrs.reason}`);
      transforms.push({ num: t.body[0]!, id: t.body[1]!, attrs: attrs.value });
    }
    proposals.push({ num: pb[0]!, protocol: pb[1]!, spi: Buffer.from(pb.subarray(4, 4 + spiSize)), transforms });
  }
  return { ok: true, value: { doi, situation, proposals } };
}

export function encodeSa(sa: { doi: number; situation: number; proposals: Array<{ num: number; protocol: number; spi: Buffer; transforms: Array<{ num: number; id: number; attrs: Attr[] }> }> }): Buffer {
  const props = sa.proposals.map(p => {
    const tbody = p.transforms.map(t => ({ type: Pt.T, body: Buffer.concat([Buffer.from([t.num, t.id, 0, 0]), encodeAttrs(t.attrs)]) }));
    return { type: Pt.P, body: Buffer.concat([Buffer.from([p.num, p.protocol, p.spi.length, p.transforms.length]), p.spi, encodePayloads(tbody)]) };
  });
  const head = Buffer.alloc(8);
  head.writeUInt32BE(sa.doi, 0); head.writeUInt32BE(sa.situation, 4);
  return Buffer.concat([head, encodePayloads(props)]);
}

// ----------------------------------------------------------------------------- ID, notify, delete

export interface IdPayload { type: number; protocol: number; port: number; data: Buffer }
export function decodeId(body: Buffer): Decoded<IdPayload> {
  if (body.length < 4) return fail('short-id');
  return { ok: true, value: { type: body[0]!, protocol: body[1]!, port: body.readUInt16BE(2), data: body.subarray(4) } };
}
export function encodeId(id: IdPayload): Buffer {
  const b = Buffer.alloc(4);
  b[0] = id.type; b[1] = id.protocol; b.writeUInt16BE(id.port, 2);
  return Buffer.concat([b, id.data]);
}

export interface NotifyPayload { doi: number; protocol: number; spi: Buffer; type: number; data: Buffer }
export function decodeNotify(body: Buffer): Decoded<NotifyPayload> {
  if (body.length < 8) return fail('short-notify');
  const spiSize = body[5]!;
  if (8 + spiSize > body.length) return fail('bad-notify-spi');
  return { ok: true, value: { doi: body.readUInt32BE(0), protocol: body[4]!, type: body.readUInt16BE(6), spi: body.subarray(8, 8 + spiSize), data: body.subarray(8 + spiSize) } };
}
export function encodeNotify(n: NotifyPayload): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(n.doi, 0); b[4] = n.protocol; b[5] = n.spi.length; b.writeUInt16BE(n.type, 6);
  return Buffer.concat([b, n.spi, n.data]);
}

export interface DeletePayload { doi: number; protocol: number; spis: Buffer[] }
export function decodeDelete(body: Buffer): Decoded<DeletePayload> {
  if (body.length < 8) return fail('short-delete');
  const spiSize = body[5]!, n = body.readUInt16BE(6);
  if (spiSize === 0 || 8 + spiSize * n !== body.length) return fail('bad-delete-length');
  const spis: Buffer[] = [];
  for (let i = 0; i < n; i++) spis.push(body.subarray(8 + i * spiSize, 8 + (i + 1) * spiSize));
  return { ok: true, value: { doi: body.readUInt32BE(0), protocol: body[4]!, spis } };
}
export function encodeDelete(d: DeletePayload): Buffer {
  const size = d.spis[0]?.length ?? 4;
  const b = Buffer.alloc(8);
  b.writeUInt32BE(d.doi, 0); b[4] = d.protocol; b[5] = size; b.writeUInt16BE(d.spis.length, 6);
  return Buffer.concat([b, ...d.spis]);
}
