import { it, expect } from 'vitest';
import { refuseSyn } from './guard.js';
import { buildTcp, parseTcp } from '../net/l4.js';
import { buildIpv4, parseIpv4, PROTO_TCP } from '../net/ipv4.js';
import { ipToInt } from '../net/ip.js';

const A = ipToInt('10.9.9.9'), R = ipToInt('10.0.0.1');
const seg = (flags: number, dstPort = 179, data = Buffer.alloc(0)) => buildIpv4({ protocol: PROTO_TCP, src: A, dst: R, id: 7, ttl: 64 }, buildTcp({ src: A, dst: R }, { srcPort: 40000, dstPort, seq: 1000, ack: 0, flags, window: 1024, data }));
const never = () => false;

it('a SYN to 179 from no neighbor: RST+ACK from the router, seq 0, ack = seq + 1, checksums right', () => {
  const rst = refuseSyn(seg(0x02), never, () => 42)!;
  const ip = parseIpv4(rst);
  expect(ip.ok).toBe(true);
  if (!ip.ok) return;
  expect([ip.value.src, ip.value.dst, ip.value.protocol]).toEqual([R, A, PROTO_TCP]);
  const t = parseTcp(rst.subarray(20), { src: R, dst: A });
  expect(t.ok).toBe(true);
  if (t.ok) expect([t.value.srcPort, t.value.dstPort, t.value.seq, t.value.ack, t.value.flags]).toEqual([179, 40000, 0, 1001, 0x14]);
});
it('no reset for a neighbor, another port, a segment that is no bare SYN, a bad checksum or junk', () => {
  expect(refuseSyn(seg(0x02), src => src === A, () => 1)).toBeUndefined();
  expect(refuseSyn(seg(0x02, 22), never, () => 1)).toBeUndefined();
  expect(refuseSyn(seg(0x12), never, () => 1)).toBeUndefined(); // SYN+ACK
  expect(refuseSyn(seg(0x10), never, () => 1)).toBeUndefined(); // ACK: the kernel answers (it has no such connection)
  const bad = seg(0x02); bad[20 + 16] ^= 0xff;
  expect(refuseSyn(bad, never, () => 1)).toBeUndefined();
  for (let n = 0; n < 60; n++) expect(() => refuseSyn(seg(0x02).subarray(0, n), never, () => 1)).not.toThrow();
});
