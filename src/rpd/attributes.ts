/**
 * BGP path attributes (RFC 4271 4.3, 5; RFC 6793 for 4-octet ASes; RFC 7606 for errors): pure,
 * Buffer in, attributes out, or the error the session answers with. An attribute error that RFC 7606
 * allows to contain is reported as `withdraw` (the UPDATE's routes are withdrawn, the session stays).
 */
export const ORIGIN = 1, AS_PATH = 2, NEXT_HOP = 3, MED = 4, LOCAL_PREF = 5, ATOMIC_AGGREGATE = 6, AGGREGATOR = 7;
export const AS4_PATH = 17, AS4_AGGREGATOR = 18, MP_REACH = 14, MP_UNREACH = 15;
export const AS_SET = 1, AS_SEQUENCE = 2;
export const AS_TRANS = 23456;
const F_OPTIONAL = 0x80, F_TRANSITIVE = 0x40, F_PARTIAL = 0x20, F_EXTENDED = 0x10;

export type Origin = 0 | 1 | 2; // IGP, EGP, INCOMPLETE
export interface Segment { type: 1 | 2; asns: number[] }
export interface UnknownAttr { flags: number; type: number; value: Buffer }
export interface PathAttrs {
  origin: Origin;
  asPath: Segment[];
  nextHop: number;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { as: number; address: number };
  /** optional transitive attributes we do not know: passed on with the partial bit set */
  unknown: UnknownAttr[];
}
export interface AttrError { code: 3; subcode: number; data: Buffer }
export type AttrResult = { attrs: Partial<PathAttrs> & { unknown: UnknownAttr[] }; withdraw?: string; error?: undefined } | { error: AttrError; attrs?: undefined };

const ERR = (subcode: number, data: Buffer = Buffer.alloc(0)): { error: AttrError } => ({ error: { code: 3, subcode, data } });
/** the well-known ones and the flags they must carry (optional, transitive) */
const KNOWN: Record<number, number> = {
  [ORIGIN]: F_TRANSITIVE, [AS_PATH]: F_TRANSITIVE, [NEXT_HOP]: F_TRANSITIVE, [MED]: F_OPTIONAL, [LOCAL_PREF]: F_TRANSITIVE,
  [ATOMIC_AGGREGATE]: F_TRANSITIVE, [AGGREGATOR]: F_OPTIONAL | F_TRANSITIVE, [AS4_PATH]: F_OPTIONAL | F_TRANSITIVE, [AS4_AGGREGATOR]: F_OPTIONAL | F_TRANSITIVE,
};

/** An AS_PATH value; undefined when malformed (RFC 7606 5: treat-as-withdraw). */
export function decodeAsPath(v: Buffer, asSize: 2 | 4): Segment[] | undefined {
  const segs: Segment[] = [];
  let o = 0;
  while (o < v.length) {
    if (o + 2 > v.length) return undefined;
    const type = v[o]!, n = v[o + 1]!;
    if ((type !== AS_SET && type !== AS_SEQUENCE) || n === 0 || o + 2 + n * asSize > v.length) return undefined;
    const asns: number[] = [];
    for (let i = 0; i < n; i++) asns.push(asSize === 4 ? v.readUInt32BE(o + 2 + i * 4) : v.readUInt16BE(o + 2 + i * 2));
    segs.push({ type: type as 1 | 2, asns });
    o += 2 + n * asSize;
  }
  return segs;
}
export function encodeAsPath(segs: Segment[], asSize: 2 | 4): Buffer {
  const parts: Buffer[] = [];
  for (const s of segs) {
    for (let i = 0; i < s.asns.length; i += 255) {
      const chunk = s.asns.slice(i, i + 255);
      const b = Buffer.alloc(2 + chunk.length * asSize);
      b[0] = s.type; b[1] = chunk.length;
      chunk.forEach((a, j) => (asSize === 4 ? b.writeUInt32BE(a, 2 + j * 4) : b.writeUInt16BE(a > 65535 ? AS_TRANS : a, 2 + j * 2)));
      parts.push(b);
    }
  }
  return Buffer.concat(parts);
}
/** AS path length as best path counts it: a set counts as one. */
export const asPathLength = (segs: Segment[]) => segs.reduce((n, s) => n + (s.type === AS_SET ? 1 : s.asns.length), 0);
export const asPathText = (segs: Segment[]) => segs.map(s => (s.type === AS_SET ? `{${s.asns.join(' ')}}` : s.asns.join(' '))).join(' ');
export const firstAs = (segs: Segment[]) => (segs[0]?.type === AS_SEQUENCE ? segs[0].asns[0] : undefined);
export const pathHas = (segs: Segment[], as: number) => segs.some(s => s.asns.includes(as));

/** RFC 6793 4.2.3: a 2-octet AS_PATH with AS4_PATH: the leading ASes of AS_PATH, then AS4_PATH. */
function mergeAs4(asPath: Segment[], as4: Segment[]): Segment[] {
  const extra = asPathLength(asPath) - asPathLength(as4);
  if (extra < 0) return asPath;
  const out: Segment[] = [];
  let left = extra;
  for (const s of asPath) {
    if (left <= 0) break;
    if (s.type === AS_SET) { out.push(s); left -= 1; continue; }
    const take = s.asns.slice(0, left);
    out.push({ type: AS_SEQUENCE, asns: take }); left -= take.length;
  }
  return [...out, ...as4];
}

interface Walk { flags: number; type: number; value: Buffer }
/** The attribute list's framing; a list that overruns is RFC 7606's session reset (3/1). */
function splitAttrs(b: Buffer): Walk[] | { error: AttrError } {
  const out: Walk[] = [];
  let o = 0;
  while (o < b.length) {
    if (o + 3 > b.length) return ERR(1);
    const flags = b[o]!, type = b[o + 1]!;
    const ext = (flags & F_EXTENDED) !== 0;
    if (o + (ext ? 4 : 3) > b.length) return ERR(1);
    const len = ext ? b.readUInt16BE(o + 2) : b[o + 2]!;
    const start = o + (ext ? 4 : 3);
    if (start + len > b.length) return ERR(1);
    out.push({ flags, type, value: b.subarray(start, start + len) });
    o = start + len;
  }
  return out;
}

/** One known attribute into `a`; a string is a treat-as-withdraw reason, `discard` drops the attribute. */
function known(w: Walk, a: Partial<PathAttrs>, asSize: 2 | 4, extra: { as4Path?: Segment[]; as4Agg?: { as: number; address: number } }): string | 'discard' | undefined {
  const v = w.value;
  switch (w.type) {
    case ORIGIN: if (v.length !== 1 || v[0]! > 2) return 'origin'; a.origin = v[0] as Origin; return;
    case AS_PATH: { const p = decodeAsPath(v, asSize); if (!p) return 'as-path'; a.asPath = p; return; }
    case NEXT_HOP: if (v.length !== 4) return 'next-hop'; a.nextHop = v.readUInt32BE(0); return;
    case MED: if (v.length !== 4) return 'med'; a.med = v.readUInt32BE(0); return;
    case LOCAL_PREF: if (v.length !== 4) return 'local-pref'; a.localPref = v.readUInt32BE(0); return;
    case ATOMIC_AGGREGATE: if (v.length !== 0) return 'discard'; a.atomicAggregate = true; return;
    case AGGREGATOR: {
      if (v.length !== asSize + 4) return 'discard';
      a.aggregator = { as: asSize === 4 ? v.readUInt32BE(0) : v.readUInt16BE(0), address: v.readUInt32BE(asSize) };
      return;
    }
    case AS4_PATH: { if (asSize === 4) return 'discard'; const p = decodeAsPath(v, 4); if (p) extra.as4Path = p; return p ? undefined : 'discard'; }
    case AS4_AGGREGATOR: if (asSize === 4 || v.length !== 8) return 'discard'; extra.as4Agg = { as: v.readUInt32BE(0), address: v.readUInt32BE(4) }; return;
  }
  return undefined;
}

/**
 * The attribute list of an UPDATE. `nlri`: whether it announces routes (then ORIGIN, AS_PATH and
 * NEXT_HOP are mandatory, RFC 4271 6.3; missing, they are RFC 7606's treat-as-withdraw).
 */
export function decodeAttrs(b: Buffer, asSize: 2 | 4, nlri: boolean, ibgp: boolean): AttrResult {
  const ws = splitAttrs(b);
  if (!Array.isArray(ws)) return ws;
  const a: Partial<PathAttrs> & { unknown: UnknownAttr[] } = { unknown: [] };
  const seen = new Set<number>();
  const extra: { as4Path?: Segment[]; as4Agg?: { as: number; address: number } } = {};
  let withdraw: string | undefined;
  for (const w of ws) {
    if (w.type === MP_REACH || w.type === MP_UNREACH) continue; // only IPv4 unicast, in the classic fields
    if (seen.has(w.type)) continue; // RFC 7606 3(g): all but the first are discarded
    seen.add(w.type);
    const want = KNOWN[w.type];
    if (want === undefined) {
      if (!(w.flags & F_OPTIONAL)) return ERR(2, attrData(w)); // an unrecognized well-known attribute
      if (w.flags & F_TRANSITIVE) a.unknown.push({ flags: (w.flags & ~F_EXTENDED) | F_PARTIAL, type: w.type, value: Buffer.from(w.value) });
      continue;
    }
    if ((w.flags & (F_OPTIONAL | F_TRANSITIVE)) !== want) { withdraw ??= `flags of attribute ${w.type}`; continue; }
    const r = known(w, a, asSize, extra);
    if (r && r !== 'discard') withdraw ??= r;
  }
  if (a.asPath && extra.as4Path) a.asPath = mergeAs4(a.asPath, extra.as4Path);
  if (a.aggregator?.as === AS_TRANS && extra.as4Agg) a.aggregator = extra.as4Agg;
  if (nlri && !withdraw) {
    if (a.origin === undefined) withdraw = 'missing origin';
    else if (!a.asPath) withdraw = 'missing as-path';
    else if (a.nextHop === undefined) withdraw = 'missing next-hop';
    else if (ibgp && a.localPref === undefined) a.localPref = 100;
  }
  return withdraw ? { attrs: a, withdraw } : { attrs: a };
}
function attrData(w: Walk): Buffer {
  const ext = w.value.length > 255;
  const h = Buffer.from(ext ? [w.flags | F_EXTENDED, w.type, w.value.length >> 8, w.value.length & 255] : [w.flags & ~F_EXTENDED, w.type, w.value.length]);
  return Buffer.concat([h, w.value]);
}

function attr(flags: number, type: number, value: Buffer): Buffer {
  const ext = value.length > 255;
  const h = ext ? Buffer.from([flags | F_EXTENDED, type, value.length >> 8, value.length & 255]) : Buffer.from([flags & ~F_EXTENDED, type, value.length]);
  return Buffer.concat([h, value]);
}
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };

/** The attribute list of an UPDATE we send; `asSize` 2 adds AS4_PATH when an AS does not fit. */
export function encodeAttrs(a: PathAttrs, asSize: 2 | 4): Buffer {
  const out: Buffer[] = [attr(F_TRANSITIVE, ORIGIN, Buffer.from([a.origin])), attr(F_TRANSITIVE, AS_PATH, encodeAsPath(a.asPath, asSize)), attr(F_TRANSITIVE, NEXT_HOP, u32(a.nextHop))];
  if (a.med !== undefined) out.push(attr(F_OPTIONAL, MED, u32(a.med)));
  if (a.localPref !== undefined) out.push(attr(F_TRANSITIVE, LOCAL_PREF, u32(a.localPref)));
  if (a.atomicAggregate) out.push(attr(F_TRANSITIVE, ATOMIC_AGGREGATE, Buffer.alloc(0)));
  if (a.aggregator) {
    const v = Buffer.alloc(asSize + 4);
    if (asSize === 4) v.writeUInt32BE(a.aggregator.as); else v.writeUInt16BE(a.aggregator.as > 65535 ? AS_TRANS : a.aggregator.as);
    v.writeUInt32BE(a.aggregator.address, asSize);
    out.push(attr(F_OPTIONAL | F_TRANSITIVE, AGGREGATOR, v));
  }
  if (asSize === 2 && a.asPath.some(s => s.asns.some(x => x > 65535))) out.push(attr(F_OPTIONAL | F_TRANSITIVE, AS4_PATH, encodeAsPath(a.asPath, 4)));
  for (const u of a.unknown) out.push(attr(u.flags, u.type, u.value));
  return Buffer.concat(out);
}
