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
