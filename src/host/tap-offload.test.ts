/**
 * The TAP addon's offloads (native/tap.cc): a read that carries a virtio-net header becomes the
 * frames the host would have sent without offloads. A large TCP segment (GSO TCPv4) is cut at the
 * host's MSS with whole IPv4 and TCP checksums, sequence numbers and IP IDs counted on, FIN and PSH
 * on the last segment only and CWR on the first; a partial checksum is completed; a header the TAP
 * did not ask for, or a frame too short for its header, is dropped.
 */
import { describe, it, expect } from 'vitest';
import { loadAddon } from './tap.js';
import { csumPartial, csumFinish, checksum } from '../net/checksum.js';

function vnet(o: { flags?: number; gsoType?: number; hdrLen?: number; gsoSize?: number; csumStart?: number; csumOffset?: number }): Buffer {
  const h = Buffer.alloc(10);
  h[0] = o.flags ?? 0; h[1] = o.gsoType ?? 0;
  h.writeUInt16LE(o.hdrLen ?? 0, 2); h.writeUInt16LE(o.gsoSize ?? 0, 4); h.writeUInt16LE(o.csumStart ?? 0, 6); h.writeUInt16LE(o.csumOffset ?? 0, 8);
  return h;
}
const SRC = [10, 1, 1, 1], DST = [10, 2, 2, 2];
/** Ethernet + IPv4 + `l4` (protocol `proto`), the IPv4 checksum filled in, the L4 checksum field left as given. */
function frame(proto: number, l4: Buffer, id = 0x1234): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45; ip.writeUInt16BE(20 + l4.length, 2); ip.writeUInt16BE(id, 4); ip[6] = 0x40; ip[8] = 64; ip[9] = proto;
  Buffer.from(SRC).copy(ip, 12); Buffer.from(DST).copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  return Buffer.concat([Buffer.from('020000000001020000000a010800', 'hex'), ip, l4]);
}
/** The pseudo-header's sum for `len` bytes of protocol `proto` (what a host leaves in a partial checksum field). */
const pseudo = (proto: number, len: number) => csumPartial(Buffer.from([...SRC, ...DST, 0, proto, len >> 8, len & 255]), 0, 12);
const l4Valid = (f: Buffer) => { const ihl = (f[14]! & 15) * 4, len = f.readUInt16BE(16) - ihl; return csumFinish(csumPartial(f, 14 + ihl, 14 + ihl + len, pseudo(f[14 + 9]!, len))) === 0; };

// npm ci builds the addon: a checkout without it fails here rather than passing with nothing checked
describe('TAP offloads: what the PFE gets from a read with a virtio-net header', () => {
  const finish = (h: Buffer, f: Buffer) => loadAddon().finish(h, f);

  it('a large TCP segment is cut at the MSS, each frame whole and valid, in order', () => {
    const payload = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 255));
    const tcp = Buffer.alloc(32);   // 12 bytes of options (doff 8)
    tcp.writeUInt16BE(40000, 0); tcp.writeUInt16BE(5201, 2); tcp.writeUInt32BE(0xfffff000, 4); tcp.writeUInt32BE(77, 8);
    tcp[12] = 8 << 4; tcp[13] = 0x80 | 0x10 | 0x08 | 0x01;   // CWR ACK PSH FIN
    tcp.writeUInt16BE(65535, 14);
    tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10;   // NOP NOP timestamps
    const l4 = Buffer.concat([tcp, payload]);
    l4.writeUInt16BE(pseudo(6, l4.length) & 0xffff, 16);   // as a host leaves it: partial
    const f = frame(6, l4);
    const out = finish(vnet({ flags: 1, gsoType: 1, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 }), f)!;
    expect(out.map(x => x.length - 66)).toEqual([1448, 1448, 1448, 656]);
    const seen: Buffer[] = [];
    out.forEach((x, i) => {
      expect(x.subarray(0, 14)).toEqual(f.subarray(0, 14));
      expect(x.readUInt16BE(16)).toBe(x.length - 14);           // IPv4 total length
      expect(x.readUInt16BE(18)).toBe(0x1234 + i);               // IP ID counted on
      expect(checksum(x, 14, 34)).toBe(0);                        // IPv4 checksum whole
      expect(l4Valid(x)).toBe(true);                              // TCP checksum whole
      expect(x.readUInt32BE(34 + 4)).toBe((0xfffff000 + i * 1448) >>> 0);   // sequence numbers (wrapping)
      const fl = x[34 + 13]!;
      expect(fl & 0x10).toBe(0x10);
      expect(!!(fl & 0x80)).toBe(i === 0);                        // CWR on the first only
      expect(!!(fl & 0x09)).toBe(i === out.length - 1);            // FIN, PSH on the last only
      expect(x.subarray(34 + 20, 34 + 32)).toEqual(tcp.subarray(20));   // options kept
      seen.push(x.subarray(66));
    });
    expect(Buffer.concat(seen)).toEqual(payload);
  });

  it('a partial checksum is completed (TCP and UDP); a frame without flags is handed over as it is', () => {
    const udp = Buffer.alloc(8 + 33, 0xab);
    udp.writeUInt16BE(5000, 0); udp.writeUInt16BE(53, 2); udp.writeUInt16BE(udp.length, 4);
    udp.writeUInt16BE(pseudo(17, udp.length) & 0xffff, 6);
    const f = frame(17, udp);
    const [u] = finish(vnet({ flags: 1, csumStart: 34, csumOffset: 6 }), f)!;
    expect(l4Valid(u!)).toBe(true);
    expect(u!.readUInt16BE(34 + 6)).not.toBe(0);
    const plain = frame(17, Buffer.alloc(20, 1));
    expect(finish(vnet({}), plain)).toEqual([plain]);
  });

  it('drops what it cannot finish: unknown segmentation, no MSS, a checksum place outside the frame, not IPv4/TCP', () => {
    const f = frame(6, Buffer.concat([Buffer.from('9c40145100000001000000005010ffff00000000', 'hex'), Buffer.alloc(100)]));
    expect(finish(vnet({ gsoType: 4 }), f)).toBeNull();                 // UDP (UFO): not offered
    expect(finish(vnet({ gsoType: 1, gsoSize: 0 }), f)).toBeNull();
    expect(finish(vnet({ flags: 1, csumStart: 200, csumOffset: 16 }), f)).toBeNull();
    expect(finish(vnet({ gsoType: 1, gsoSize: 50 }), frame(17, Buffer.alloc(100)))).toBeNull();
    expect(finish(vnet({ gsoType: 1, gsoSize: 50 }), f.subarray(0, 40))).toBeNull();
    // and what it can: 100 bytes at an MSS of 50
    expect(finish(vnet({ gsoType: 1, gsoSize: 50 }), f)!.map(x => x.length - 54)).toEqual([50, 50]);
  });

  it('refuses a frame that would become more than 2,048 segments (a sender chooses gso_size), or whose IP header does not fit its read', () => {
    const tcp = (n: number) => frame(6, Buffer.concat([Buffer.from('9c40145100000001000000005010ffff00000000', 'hex'), Buffer.alloc(n)]));
    expect(finish(vnet({ gsoType: 1, gsoSize: 1 }), tcp(20000))).toBeNull();          // 20,000 one-byte segments
    expect(finish(vnet({ gsoType: 1, gsoSize: 1 }), tcp(2048))!.length).toBe(2048);    // the bound itself
    expect(finish(vnet({ gsoType: 1, gsoSize: 1 }), tcp(2049))).toBeNull();
    expect(finish(vnet({ gsoType: 1, gsoSize: 36 }), tcp(65000))!.length).toBe(1806);  // the smallest MSS Linux sends, with timestamps
    expect(finish(vnet({ gsoType: 1, gsoSize: 65535 }), tcp(100))).toBeNull();         // a segment's IP length would pass 65,535
    const f = tcp(100);
    expect(finish(vnet({ gsoType: 1, gsoSize: 50 }), Buffer.concat([f, Buffer.alloc(8)]))).toBeNull();  // bytes beyond the IP length
    const frag = Buffer.from(f); frag.writeUInt16BE(0x2000, 20);                                         // MF set
    expect(finish(vnet({ gsoType: 1, gsoSize: 50 }), frag)).toBeNull();
  });
});

describe('TAP offloads: GRO on write (what the kernel gets for the frames the PFE writes in one turn)', () => {
  const { finish, coalesce } = { finish: (h: Buffer, f: Buffer) => loadAddon().finish(h, f), coalesce: (fs: Buffer[]) => loadAddon().coalesce(fs) };
  /** The frames a host's `bytes`-byte TCP send becomes at `mss` (ACK, PSH on the last, timestamps), cut by the addon itself. */
  function stream(bytes: number, mss: number, o: { seq?: number; id?: number; sport?: number; psh?: boolean } = {}): Buffer[] {
    const tcp = Buffer.alloc(32);
    tcp.writeUInt16BE(o.sport ?? 40000, 0); tcp.writeUInt16BE(5201, 2); tcp.writeUInt32BE(o.seq ?? 1000, 4); tcp.writeUInt32BE(77, 8);
    tcp[12] = 8 << 4; tcp[13] = 0x10 | (o.psh === false ? 0 : 0x08);
    tcp.writeUInt16BE(502, 14);
    tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10; tcp.writeUInt32BE(123456, 24); tcp.writeUInt32BE(654321, 28);
    const l4 = Buffer.concat([tcp, Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 13 + (o.seq ?? 0)) & 255))]);
    l4.writeUInt16BE(pseudo(6, l4.length) & 0xffff, 16);
    return finish(vnet({ flags: 1, gsoType: 1, hdrLen: 66, gsoSize: mss, csumStart: 34, csumOffset: 16 }), frame(6, l4, o.id ?? 0x1234))!;
  }
  const none = Buffer.alloc(10);

  it('one flow\'s segments become one large segment that cuts back into exactly those frames', () => {
    const frames = stream(10000, 1448);
    expect(frames.length).toBe(7);
    const out = coalesce(frames);
    expect(out.length).toBe(1);
    const [h, big] = out[0]!;
    expect(h[0]).toBe(1);                       // NEEDS_CSUM
    expect(h[1]).toBe(1);                       // GSO TCPv4
    expect(h.readUInt16LE(2)).toBe(66);         // header length
    expect(h.readUInt16LE(4)).toBe(1448);       // gso_size: the first segment's payload
    expect(h.readUInt16LE(6)).toBe(34);
    expect(h.readUInt16LE(8)).toBe(16);
    expect(big.length).toBe(66 + 10000);
    expect(big.readUInt16BE(16)).toBe(big.length - 14);
    expect(checksum(big, 14, 34)).toBe(0);
    // the TCP field holds the pseudo-header's sum over the whole TCP length (what tcp_gso_segment and
    // a NIC's TSO complete), the sum's complement over the segment from there is the checksum
    let ps = pseudo(6, big.length - 34);
    while (ps >> 16) ps = (ps & 0xffff) + (ps >>> 16);
    expect(big.readUInt16BE(34 + 16)).toBe(ps);
    const whole = Buffer.from(big); whole.writeUInt16BE(0, 34 + 16); whole.writeUInt16BE(csumFinish(csumPartial(whole, 34, whole.length, pseudo(6, whole.length - 34))), 34 + 16);
    expect(l4Valid(whole)).toBe(true);
    expect(finish(h, big)).toEqual(frames);     // byte for byte: IDs, sequence numbers, PSH on the last, checksums
  });

  it('merges only what Linux\'s GRO would, keeps the order, and writes the rest as it came', () => {
    const a = stream(4000, 1000, { psh: false }), b = stream(3000, 1000, { sport: 40001, seq: 9, psh: false });
    const udp = frame(17, Buffer.alloc(100, 3));
    const badSum = Buffer.from(a[1]!); badSum[100] ^= 0xff;                 // a payload byte changed: the TCP checksum fails
    const syn = Buffer.from(a[2]!); syn[34 + 13] = 0x12; syn.writeUInt16BE(0, 34 + 16);
    syn.writeUInt16BE(csumFinish(csumPartial(syn, 34, syn.length, pseudo(6, syn.length - 34))) , 34 + 16);
    const cases: [string, Buffer[], number[]][] = [
      ['interleaved flows', [a[0]!, b[0]!, a[1]!, b[1]!], [1, 1, 1, 1]],
      ['a UDP frame between', [a[0]!, a[1]!, udp, a[2]!, a[3]!], [2, 1, 2]],
      ['a segment that fails its checksum', [a[0]!, badSum, a[2]!], [1, 1, 1]],
      ['a sequence gap', [a[0]!, a[2]!, a[3]!], [1, 2]],
      ['a SYN', [a[0]!, a[1]!, syn], [2, 1]],
      ['a longer segment after the first', [stream(500, 500, { psh: false })[0]!, stream(1000, 1000, { seq: 1500, id: 0x1235, psh: false })[0]!], [1, 1]],
    ];
    /** a copy of a[1] changed by `fn`, both checksums made whole again (so only the change keeps it apart) */
    const mut = (fn: (f: Buffer) => void, f0 = a[1]!) => {
      const f = Buffer.from(f0); fn(f);
      f.writeUInt16BE(0, 24); f.writeUInt16BE(checksum(f, 14, 34), 24);
      f.writeUInt16BE(0, 34 + 16); f.writeUInt16BE(csumFinish(csumPartial(f, 34, f.length, pseudo(6, f.length - 34))), 34 + 16);
      return f;
    };
    const apart: [string, (f: Buffer) => void][] = [
      ['TTL', f => { f[22] = 63; }], ['TOS', f => { f[15] = 0x10; }], ['ECN CE', f => { f[15] = 0x03; }], ['DF', f => { f[20] = 0; }],
      ['IP ID', f => { f.writeUInt16BE(0x9999, 18); }], ['ACK number', f => { f.writeUInt32BE(78, 34 + 8); }], ['window', f => { f.writeUInt16BE(503, 34 + 14); }],
      ['CWR', f => { f[34 + 13] |= 0x80; }], ['ECE', f => { f[34 + 13] |= 0x40; }], ['URG', f => { f[34 + 13] |= 0x20; f.writeUInt16BE(5, 34 + 18); }],
      ['FIN', f => { f[34 + 13] |= 0x01; }], ['RST', f => { f[34 + 13] |= 0x04; }], ['MF', f => { f[20] |= 0x20; }], ['a fragment offset', f => { f.writeUInt16BE(0x4001, 20); }],
      ['an urgent pointer without URG', f => { f.writeUInt16BE(5, 34 + 18); }], ['the IP reserved bit', f => { f[20] |= 0x80; }],
    ];
    for (const [what, fn] of apart) cases.push([what, [a[0]!, mut(fn), a[2]!], [1, 1, 1]]);
    // a reserved-bit frame is refused as a fragment would be, even when every frame carries it (so the header byte alone cannot tell)
    const rb = (f: Buffer) => { f[20] |= 0x80; };
    cases.push(['the IP reserved bit on every frame', [mut(rb, a[0]!), mut(rb), mut(rb, a[2]!)], [1, 1, 1]]);
    const badIp = Buffer.from(a[1]!); badIp[24] ^= 0xff;                   // the IP checksum field alone
    cases.push(['a bad IP checksum', [a[0]!, badIp, a[2]!], [1, 1, 1]]);
    // IP options: a 24-byte IP header (a NOP option word) in front of the same TCP segment
    const opt = Buffer.concat([a[1]!.subarray(0, 34), Buffer.from([1, 1, 1, 0]), a[1]!.subarray(34)]);
    opt[14] = 0x46; opt.writeUInt16BE(opt.length - 14, 16); opt.writeUInt16BE(0, 24); opt.writeUInt16BE(checksum(opt, 14, 38), 24);
    cases.push(['IP options', [a[0]!, opt, a[2]!], [1, 1, 1]]);
    for (const [what, input, groups] of cases) {
      const out = coalesce(input);
      expect(out.map(([h, f]) => h[1] === 1 ? (f.length - 66 + (1000 - 1)) / 1000 | 0 : 1), what).toEqual(groups);
      // cut back, the frames are the ones written, in order
      expect(out.flatMap(([h, f]) => h[1] === 1 ? finish(h, f)! : [f]), what).toEqual(input);
      for (const [h] of out) if (h[1] !== 1) expect(h, what).toEqual(none);
    }
  });

  it('a frame whose options differ (a new timestamp) starts a new segment; PSH or a short segment ends one', () => {
    const a = stream(3000, 1000, { psh: false });
    const ts = Buffer.from(a[1]!); ts.writeUInt32BE(123457, 34 + 24);
    ts.writeUInt16BE(0, 34 + 16); ts.writeUInt16BE(csumFinish(csumPartial(ts, 34, ts.length, pseudo(6, ts.length - 34))), 34 + 16);
    const ts2 = Buffer.from(a[2]!); ts2.writeUInt32BE(123457, 34 + 24);
    ts2.writeUInt16BE(0, 34 + 16); ts2.writeUInt16BE(csumFinish(csumPartial(ts2, 34, ts2.length, pseudo(6, ts2.length - 34))), 34 + 16);
    expect(coalesce([a[0]!, ts, ts2]).map(([, f]) => f.length - 66)).toEqual([1000, 2000]);
    const pshFull = stream(1000, 1000);                                   // one full segment with PSH
    const after = stream(2000, 1000, { seq: 2000, id: 0x1235, psh: false });
    expect(coalesce([...pshFull, ...after]).map(([, f]) => f.length - 66)).toEqual([1000, 2000]);
    const short = stream(1500, 1000, { psh: false });                      // 1000, then 500 without PSH
    const more = stream(2000, 1000, { seq: 2500, id: 0x1236, psh: false });
    expect(coalesce([...short, ...more]).map(([, f]) => f.length - 66)).toEqual([1500, 2000]);
    const p = stream(2500, 1000);                                         // 1000, 1000, 500 + PSH
    const next = stream(2000, 1000, { seq: 1000 + 2500, id: 0x1234 + 3, psh: false });
    const out = coalesce([...p, ...next]);
    expect(out.map(([, f]) => f.length - 66)).toEqual([2500, 2000]);
  });

  it('a large segment holds at most 64 frames and 64 KB', () => {
    expect(coalesce(stream(64 * 200, 200, { psh: false })).length).toBe(1);
    expect(coalesce(stream(65 * 200, 200, { psh: false })).map(([, f]) => (f.length - 66) / 200)).toEqual([64, 1]);
    const small = stream(100 * 200, 200, { psh: false });
    expect(coalesce(small).map(([, f]) => (f.length - 66) / 200)).toEqual([64, 36]);
    const big = [...stream(43 * 1448, 1448, { psh: false }), ...stream(7 * 1448, 1448, { seq: 1000 + 43 * 1448, id: 0x1234 + 43, psh: false })];
    const out = coalesce(big);
    expect(out.map(([, f]) => (f.length - 66) / 1448)).toEqual([45, 5]);   // a 46th would pass 65,535
    for (const [, f] of out) expect(f.length - 14).toBeLessThanOrEqual(65535);
    expect(out.flatMap(([h, f]) => finish(h, f)!)).toEqual(big);
  });
});

describe('TAP offloads: the write side over a kernel that refuses (native/tap.cc TxPath, the code a TAP runs)', () => {
  type Turns = { writes: [Buffer, Buffer][]; results: number[]; stats: { tx: number; txDrops: number; gro: number; groSegments: number; groFailed: number; groOff: boolean; attempts: number } };
  const turns = (frames: (Buffer | null)[], refuse: 'none' | 'einval' | 'enobufs' | 'eio') =>
    (loadAddon() as unknown as { writeTurns(f: (Buffer | null)[], r: string): Turns }).writeTurns(frames, refuse);
  const finish = (h: Buffer, f: Buffer) => loadAddon().finish(h, f)!;
  /** `n` segments of `mss` bytes of one flow (ACK only), cut by the addon from one large one. */
  function flow(n: number, mss: number, sport: number, seq = 1000): Buffer[] {
    const tcp = Buffer.alloc(20);
    tcp.writeUInt16BE(sport, 0); tcp.writeUInt16BE(5201, 2); tcp.writeUInt32BE(seq, 4); tcp.writeUInt32BE(77, 8);
    tcp[12] = 5 << 4; tcp[13] = 0x10; tcp.writeUInt16BE(502, 14);
    const l4 = Buffer.concat([tcp, Buffer.alloc(n * mss, sport & 255)]);
    l4.writeUInt16BE(pseudo(6, l4.length) & 0xffff, 16);
    return finish(vnet({ flags: 1, gsoType: 1, hdrLen: 54, gsoSize: mss, csumStart: 34, csumOffset: 16 }), frame(6, l4, sport));
  }
  /** What the kernel took, as the frames a host would see, in order. */
  const seen = (t: Turns) => t.writes.flatMap(([h, f]) => h[1] === 1 ? finish(h, f) : [f]);

  it('a kernel that takes everything: one write per turn and flow, the frames in order', () => {
    const a = flow(10, 1000, 40000), b = flow(3, 1000, 40001);
    const t = turns([...a, null, ...b], 'none');
    expect(t.writes.length).toBe(2);
    expect(seen(t)).toEqual([...a, ...b]);
    expect(t.stats).toMatchObject({ tx: 13, txDrops: 0, gro: 2, groSegments: 13, groFailed: 0, groOff: false, attempts: 2 });
    expect(t.results).toEqual(Array(13).fill(2));     // each held until the turn ends
  });

  it('EINVAL for a large segment: it is written frame by frame, GRO goes off, and no later frame overtakes one held', () => {
    const a = flow(4, 1000, 40000), b = flow(3, 1000, 40001);
    const t = turns([...a, ...b, null, ...flow(2, 1000, 40002)], 'einval');
    // a is refused when b[0] arrives; b[0] must still go before b[1] (it was being held)
    expect(seen(t)).toEqual([...a, ...b, ...flow(2, 1000, 40002)]);
    for (const [h] of t.writes) expect(h[1]).toBe(0);
    expect(t.stats).toMatchObject({ tx: 9, txDrops: 0, gro: 0, groFailed: 1, groOff: true });
    expect(t.results.slice(4)).toEqual(Array(5).fill(1));   // off: every frame is written at once
  });

  it('ENOBUFS for a large segment: written frame by frame, GRO stays on for the next turn', () => {
    const a = flow(4, 1000, 40000), b = flow(2, 1000, 40001);
    const t = turns([...a, null, ...b], 'enobufs');
    expect(seen(t)).toEqual([...a, ...b]);
    expect(t.stats).toMatchObject({ tx: 6, txDrops: 0, groFailed: 2, groOff: false, attempts: 2 + 6 });
  });

  it('EIO (the link is gone): every frame a counted drop, a refused large segment not tried again frame by frame', () => {
    const a = flow(5, 1000, 40000);
    const udp = frame(17, Buffer.alloc(100, 3));
    const t = turns([...a, udp], 'eio');
    expect(t.writes.length).toBe(0);
    expect(t.stats).toMatchObject({ tx: 0, txDrops: 6, groFailed: 1, attempts: 2 });
    expect(t.results).toEqual([2, 2, 2, 2, 2, 0]);
  });
});
