import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { parseEth, buildEth, parseArp, buildArp, macFrom, macStr } from './ethernet.js';
import { parseIpv4, buildIpv4, ipv4ChecksumOk, PROTO_UDP, PROTO_TCP } from './ipv4.js';
import { parseIcmp, buildIcmp, parseUdp, buildUdp, parseTcp, buildTcp } from './l4.js';
import { fragment, Reassembler } from './frag.js';
import { ipToInt, intToIp, parsePrefix } from './ip.js';

const src = ipToInt('10.1.1.1'), dst = ipToInt('10.2.2.2');

describe('codecs', () => {
  it('Ethernet and ARP round-trip', () => {
    const f = buildEth(macFrom('ff:ff:ff:ff:ff:ff'), macFrom('02:00:00:00:00:01'), 0x0806, buildArp({ op: 1, sha: macFrom('02:00:00:00:00:01'), spa: src, tha: Buffer.alloc(6), tpa: dst }));
    const e = parseEth(f);
    expect(e.ok && macStr(e.value.src)).toBe('02:00:00:00:00:01');
    const a = e.ok ? parseArp(e.value.payload) : null;
    expect(a?.ok && a.value).toMatchObject({ op: 1, spa: src, tpa: dst });
    expect(parseEth(Buffer.alloc(3)).ok).toBe(false);
    expect(parseArp(Buffer.alloc(10)).ok).toBe(false);
  });
  it('IPv4 builds with a valid checksum and refuses malformed headers with a reason', () => {
    const p = buildIpv4({ protocol: 1, src, dst, id: 7, ttl: 5, df: true }, Buffer.alloc(10));
    expect(ipv4ChecksumOk(p)).toBe(true);
    expect(parseIpv4(p)).toMatchObject({ ok: true, value: { ttl: 5, id: 7, df: true, totalLength: 30, src, dst } });
    expect(parseIpv4(Buffer.alloc(10))).toEqual({ ok: false, error: 'short-packet' });
    const bad = Buffer.from(p); bad[0] = 0x65;
    expect(parseIpv4(bad)).toEqual({ ok: false, error: 'bad-version' });
    const long = Buffer.from(p); long.writeUInt16BE(999, 2);
    expect(parseIpv4(long)).toEqual({ ok: false, error: 'bad-total-length' });
    for (let i = 0; i < 500; i++) parseIpv4(randomBytes(i % 60)); // never throws
  });
  it('ICMP, UDP and TCP checksums verify and catch corruption', () => {
    const ic = buildIcmp(8, 0, 0x00010002, Buffer.from('hello'));
    expect(parseIcmp(ic).ok).toBe(true);
    ic[9]! ^= 1;
    expect(parseIcmp(ic)).toEqual({ ok: false, error: 'bad-checksum' });
    const u = buildUdp({ src, dst }, 1234, 53, Buffer.from('query'));
    expect(parseUdp(u, { src, dst })).toMatchObject({ ok: true, value: { srcPort: 1234, dstPort: 53 } });
    expect(parseUdp(u, { src: src + 1, dst }).ok).toBe(false);
    const t = buildTcp({ src, dst }, { srcPort: 5555, dstPort: 80, seq: 1, ack: 0, flags: 2, window: 65535, data: Buffer.alloc(0) });
    expect(parseTcp(t, { src, dst })).toMatchObject({ ok: true, value: { dstPort: 80, flags: 2 } });
    t[4]! ^= 1;
    expect(parseTcp(t, { src, dst }).ok).toBe(false);
  });
  it('fragments and reassembles in any order', () => {
    const data = randomBytes(3000);
    const p = buildIpv4({ protocol: PROTO_UDP, src, dst, id: 99, ttl: 64 }, data);
    const frags = fragment(p, 576)!;
    expect(frags.length).toBe(6);
    for (const f of frags) expect(f.length).toBeLessThanOrEqual(576);
    const r = new Reassembler();
    let whole: Buffer | null = null;
    for (const f of [...frags].reverse()) { const x = r.add(f, 0); if (x.kind === 'whole') whole = x.pkt; }
    expect(whole!.subarray(20).equals(data)).toBe(true);
    expect(ipv4ChecksumOk(whole!)).toBe(true);
    expect(fragment(buildIpv4({ protocol: PROTO_TCP, src, dst, df: true }, data), 1500)).toBeNull();
  });
  it('reassembly gives up on stale fragments and bounds its memory', () => {
    const r = new Reassembler({ timeoutMs: 1000, maxDatagrams: 4 });
    for (let id = 0; id < 10; id++) r.add(fragment(buildIpv4({ protocol: PROTO_UDP, src, dst, id }, Buffer.alloc(2000)), 576)![0]!, 0);
    expect(r.size).toBeLessThanOrEqual(4);
    r.expire(5000);
    expect(r.size).toBe(0);
  });
  it('addresses and prefixes', () => {
    expect(intToIp(ipToInt('192.168.1.254'))).toBe('192.168.1.254');
    expect(parsePrefix('10.1.1.77/24')).toEqual({ addr: ipToInt('10.1.1.0'), len: 24 });
  });
});
