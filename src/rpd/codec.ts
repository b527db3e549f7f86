/**
 * BGP-4 messages (RFC 4271 4): OPEN with capabilities (RFC 5492: multiprotocol RFC 4760, route
 * refresh RFC 2918, 4-octet AS RFC 6793), UPDATE, KEEPALIVE, NOTIFICATION, ROUTE-REFRESH. Pure: a
 * Buffer in, a message out, or the NOTIFICATION the receiver must send. Never throws on input.
 */
import { decodeAttrs, encodeAttrs, PathAttrs, AS_TRANS } from './attributes.js';
import type { Prefix } from '../net/ip.js';
import { maskOf } from '../net/ip.js';

export const OPEN = 1, UPDATE = 2, NOTIFICATION = 3, KEEPALIVE = 4, ROUTE_REFRESH = 5;
export const HEADER = 19, MAX_MESSAGE = 4096;
/** error codes (RFC 4271 4.5) */
export const E_HEADER = 1, E_OPEN = 2, E_UPDATE = 3, E_HOLD = 4, E_FSM = 5, E_CEASE = 6;
export const CEASE_MAX_PREFIXES = 1, CEASE_ADMIN_SHUTDOWN = 2, CEASE_PEER_DECONFIGURED = 3, CEASE_ADMIN_RESET = 4, CEASE_COLLISION = 7;

export interface Notify { code: number; subcode: number; data: Buffer }
export interface Capabilities { as4?: number; routeRefresh: boolean; mpIpv4Unicast: boolean; unknown: number[] }
export interface OpenMsg { type: 'open'; version: number; as: number; holdTime: number; bgpId: number; caps: Capabilities }
export interface UpdateMsg {
  type: 'update'; withdrawn: Prefix[]; nlri: Prefix[]; attrs?: PathAttrs;
  /** RFC 7606: the attributes were bad in a way that withdraws the NLRI rather than resets the session */
  treatAsWithdraw?: string;
}
export type BgpMessage = OpenMsg | UpdateMsg | { type: 'keepalive' } | { type: 'notification'; n: Notify } | { type: 'route-refresh'; afi: number; safi: number };
export type Decoded = { msg: BgpMessage; error?: undefined } | { error: Notify; msg?: undefined };

const notify = (code: number, subcode: number, data: Buffer = Buffer.alloc(0)): { error: Notify } => ({ error: { code, subcode, data } });
const u16 = (n: number) => Buffer.from([n >> 8 & 255, n & 255]);

/** NLRI / withdrawn routes: length-prefixed prefixes; undefined when malformed (RFC 7606 5.3: reset). */
export function decodePrefixes(b: Buffer): Prefix[] | undefined {
  const out: Prefix[] = [];
  let o = 0;
  while (o < b.length) {
    const len = b[o]!;
    const n = (len + 7) >> 3;
    if (len > 32 || o + 1 + n > b.length) return undefined;
    let addr = 0;
    for (let i = 0; i < 4; i++) addr = (addr << 8) | (i < n ? b[o + 1 + i]! : 0);
    out.push({ addr: (addr & maskOf(len)) >>> 0, len });
    o += 1 + n;
  }
  return out;
}
export function encodePrefixes(ps: Prefix[]): Buffer {
  const parts: number[] = [];
  for (const p of ps) {
    parts.push(p.len);
    for (let i = 0; i < (p.len + 7) >> 3; i++) parts.push((p.addr >>> (24 - 8 * i)) & 255);
  }
  return Buffer.from(parts);
}

function decodeCaps(b: Buffer, caps: Capabilities): Notify | undefined {
  let o = 0;
  while (o < b.length) {
    if (o + 2 > b.length) return { code: E_OPEN, subcode: 0, data: Buffer.alloc(0) };
    const code = b[o]!, len = b[o + 1]!;
    if (o + 2 + len > b.length) return { code: E_OPEN, subcode: 0, data: Buffer.alloc(0) };
    const v = b.subarray(o + 2, o + 2 + len);
    if (code === 1 && len === 4) { if (v.readUInt16BE(0) === 1 && v[3] === 1) caps.mpIpv4Unicast = true; }
    else if (code === 2 && len === 0) caps.routeRefresh = true;
    else if (code === 65 && len === 4) caps.as4 = v.readUInt32BE(0);
    else caps.unknown.push(code);
    o += 2 + len;
  }
  return undefined;
}

function decodeOpen(b: Buffer): Decoded {
  if (b.length < 10) return notify(E_HEADER, 2, u16(b.length + HEADER));
  const version = b[0]!, as = b.readUInt16BE(1), holdTime = b.readUInt16BE(3), bgpId = b.readUInt32BE(5), plen = b[9]!;
  if (version !== 4) return notify(E_OPEN, 1, u16(4));
  if (holdTime === 1 || holdTime === 2) return notify(E_OPEN, 6);
  if (bgpId === 0 || bgpId === 0xffffffff) return notify(E_OPEN, 3);
  if (10 + plen !== b.length) return notify(E_OPEN, 0);
  const caps: Capabilities = { routeRefresh: false, mpIpv4Unicast: false, unknown: [] };
  let o = 10;
  while (o < 10 + plen) {
    if (o + 2 > b.length) return notify(E_OPEN, 0);
    const t = b[o]!, l = b[o + 1]!;
    if (o + 2 + l > b.length) return notify(E_OPEN, 0);
    if (t !== 2) return notify(E_OPEN, 4); // only capabilities (RFC 5492); authentication is gone
    const bad = decodeCaps(b.subarray(o + 2, o + 2 + l), caps);
    if (bad) return { error: bad };
    o += 2 + l;
  }
  return { msg: { type: 'open', version, as, holdTime, bgpId, caps } };
}

function decodeUpdate(b: Buffer, asSize: 2 | 4, ibgp: boolean): Decoded {
  if (b.length < 4) return notify(E_UPDATE, 1);
  const wl = b.readUInt16BE(0);
  if (2 + wl + 2 > b.length) return notify(E_UPDATE, 1);
  const withdrawn = decodePrefixes(b.subarray(2, 2 + wl));
  if (!withdrawn) return notify(E_UPDATE, 10);
  const al = b.readUInt16BE(2 + wl);
  if (4 + wl + al > b.length) return notify(E_UPDATE, 1);
  const nlri = decodePrefixes(b.subarray(4 + wl + al));
  if (!nlri) return notify(E_UPDATE, 10);
  if (al === 0) return { msg: { type: 'update', withdrawn: [...withdrawn, ...nlri], nlri: [], ...(nlri.length ? { treatAsWithdraw: 'missing attributes' } : {}) } };
  const r = decodeAttrs(b.subarray(4 + wl, 4 + wl + al), asSize, nlri.length > 0, ibgp);
  if (r.error) return { error: r.error };
  if (r.withdraw) return { msg: { type: 'update', withdrawn: [...withdrawn, ...nlri], nlri: [], treatAsWithdraw: r.withdraw } };
  return { msg: { type: 'update', withdrawn, nlri, ...(nlri.length ? { attrs: r.attrs as PathAttrs } : {}) } };
}

/** One whole message (header included). `asSize` is 4 once both sides announced 4-octet ASes. */
export function decodeMessage(m: Buffer, asSize: 2 | 4 = 4, ibgp = false): Decoded {
  if (m.length < HEADER) return notify(E_HEADER, 2, u16(m.length));
  for (let i = 0; i < 16; i++) if (m[i] !== 0xff) return notify(E_HEADER, 1);
  const len = m.readUInt16BE(16), type = m[18]!;
  if (len !== m.length || len < HEADER || len > MAX_MESSAGE) return notify(E_HEADER, 2, u16(len));
  const body = m.subarray(HEADER);
  const min: Record<number, number> = { [OPEN]: 29, [UPDATE]: 23, [NOTIFICATION]: 21, [KEEPALIVE]: 19, [ROUTE_REFRESH]: 23 };
  if (!(type in min)) return notify(E_HEADER, 3, Buffer.from([type]));
  if (len < min[type]! || (type === KEEPALIVE && len !== 19) || (type === ROUTE_REFRESH && len !== 23)) return notify(E_HEADER, 2, u16(len));
  switch (type) {
    case OPEN: return decodeOpen(body);
    case UPDATE: return decodeUpdate(body, asSize, ibgp);
    case KEEPALIVE: return { msg: { type: 'keepalive' } };
    case NOTIFICATION: return { msg: { type: 'notification', n: { code: body[0]!, subcode: body[1]!, data: Buffer.from(body.subarray(2)) } } };
    default: return { msg: { type: 'route-refresh', afi: body.readUInt16BE(0), safi: body[3]! } };
  }
}

/**
 * Splits a TCP byte stream into messages. At most one message's worth (4096 bytes) is buffered: a
 * bad length is known from the header, before the body arrives.
 */
export class Framer {
  private buf: Buffer = Buffer.alloc(0);
  /** Appends bytes; returns whole messages, or the header error that ends the session. */
  push(chunk: Buffer): { messages: Buffer[]; error?: Notify } {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const messages: Buffer[] = [];
    while (this.buf.length >= HEADER) {
      for (let i = 0; i < 16; i++) if (this.buf[i] !== 0xff) return { messages, error: { code: E_HEADER, subcode: 1, data: Buffer.alloc(0) } };
      const len = this.buf.readUInt16BE(16);
      if (len < HEADER || len > MAX_MESSAGE) return { messages, error: { code: E_HEADER, subcode: 2, data: u16(len) } };
      if (this.buf.length < len) break;
      messages.push(Buffer.from(this.buf.subarray(0, len)));
      this.buf = this.buf.subarray(len);
    }
    return { messages };
  }
}

function frame(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(HEADER, 0xff);
  h.writeUInt16BE(HEADER + body.length, 16);
  h[18] = type;
  return Buffer.concat([h, body]);
}
export function encodeOpen(as: number, holdTime: number, bgpId: number): Buffer {
  const caps = Buffer.from([1, 4, 0, 1, 0, 1, 2, 0, 65, 4, as >>> 24, (as >>> 16) & 255, (as >>> 8) & 255, as & 255]);
  const b = Buffer.alloc(10);
  b[0] = 4; b.writeUInt16BE(as > 65535 ? AS_TRANS : as, 1); b.writeUInt16BE(holdTime, 3); b.writeUInt32BE(bgpId >>> 0, 5); b[9] = caps.length + 2;
  return frame(OPEN, Buffer.concat([b, Buffer.from([2, caps.length]), caps]));
}
export const encodeKeepalive = () => frame(KEEPALIVE, Buffer.alloc(0));
export const encodeNotification = (n: Notify) => frame(NOTIFICATION, Buffer.concat([Buffer.from([n.code, n.subcode]), n.data]));
export const encodeRouteRefresh = () => frame(ROUTE_REFRESH, Buffer.from([0, 1, 0, 1]));

/**
 * UPDATEs for withdrawals and for routes that share `attrs`, each within 4096 bytes (as many as it
 * takes).
 */
export function encodeUpdates(withdrawn: Prefix[], nlri: Prefix[], attrs: PathAttrs | undefined, asSize: 2 | 4): Buffer[] {
  const out: Buffer[] = [];
  const room = MAX_MESSAGE - HEADER - 4;
  for (let i = 0; i < withdrawn.length; i += Math.floor(room / 5)) {
    const w = encodePrefixes(withdrawn.slice(i, i + Math.floor(room / 5)));
    out.push(frame(UPDATE, Buffer.concat([u16(w.length), w, u16(0)])));
  }
  if (nlri.length && attrs) {
    const a = encodeAttrs(attrs, asSize);
    // little room left (a long path): a prefix an UPDATE, only those that fit; never one over 4096 bytes (see updateFits)
    if (a.length + 5 > room) {
      for (const x of nlri) { const n = encodePrefixes([x]); if (a.length + n.length <= room) out.push(frame(UPDATE, Buffer.concat([u16(0), u16(a.length), a, n]))); }
      return out;
    }
    const per = Math.max(1, Math.floor((room - a.length) / 5));
    for (let i = 0; i < nlri.length; i += per) out.push(frame(UPDATE, Buffer.concat([u16(0), u16(a.length), a, encodePrefixes(nlri.slice(i, i + per))])));
  }
  return out;
}

/** Whether an UPDATE with these attributes and one prefix of `prefixBytes` (5 for a /32) fits in 4096 bytes. */
export function updateFits(attrs: PathAttrs, asSize: 2 | 4, prefixBytes = 5): boolean {
  return HEADER + 4 + encodeAttrs(attrs, asSize).length + prefixBytes <= MAX_MESSAGE;
}

export const NOTIFY_NAMES: Record<number, string> = { 1: 'Message Header Error', 2: 'OPEN Message Error', 3: 'UPDATE Message Error', 4: 'Hold Timer Expired', 5: 'Finite State Machine Error', 6: 'Cease' };
