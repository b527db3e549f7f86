/** The capture list's decoder: packets made by the router's own builders, the scapy ESP vectors, kmd's ISAKMP header, random bytes. */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePacket, decodeIpv4 } from './decode.js';
import { buildEth, buildArp, ETH_ARP, ETH_IPV4, macFrom, BROADCAST } from '../net/ethernet.js';
import { buildIpv4, PROTO_ICMP, PROTO_UDP } from '../net/ipv4.js';
import { buildIcmp, buildUdp } from '../net/l4.js';
import { ipToInt } from '../net/ip.js';
import { encodeHeader } from '../kmd/codec.js';

const A = macFrom('02:00:00:00:00:0a'), B = macFrom('02:00:00:00:00:0b');
const src = ipToInt('10.1.1.2'), dst = ipToInt('10.2.2.2');
const vectors = JSON.parse(readFileSync(join(import.meta.dirname, '../../test/vectors/ipsec.json'), 'utf8')) as { vectors: Array<{ name: string; protocol: string; spi: number; seq: number; ciphertext: string }> };

describe('capture decode (one line per packet)', () => {
  it('Ethernet and ARP', () => {
    const req = buildEth(BROADCAST, A, ETH_ARP, buildArp({ op: 1, sha: A, spa: src, tha: Buffer.alloc(6), tpa: ipToInt('10.1.1.1') }));
    expect(decodePacket(req, 'eth')).toMatchObject({ proto: 'arp', line: '02:00:00:00:00:0a > ff:ff:ff:ff:ff:ff, ARP request who-has 10.1.1.1 tell 10.1.1.2' });
    const rep = buildEth(A, B, ETH_ARP, buildArp({ op: 2, sha: B, spa: ipToInt('10.1.1.1'), tha: A, tpa: src }));
    expect(decodePacket(rep, 'eth').line).toBe('02:00:00:00:00:0b > 02:00:00:00:00:0a, ARP reply 10.1.1.1 is-at 02:00:00:00:00:0b');
    expect(decodePacket(buildEth(A, B, 0x86dd, Buffer.alloc(40)), 'eth').line).toMatch(/ethertype 0x86dd, length 54$/);
  });

  it('IPv4 and ICMP', () => {
    const echo = buildIpv4({ protocol: PROTO_ICMP, src, dst, ttl: 63, id: 7 }, buildIcmp(8, 0, (0x1234 << 16) | 3, Buffer.alloc(56)));
    const d = decodePacket(buildEth(B, A, ETH_IPV4, echo), 'eth');
    expect(d).toMatchObject({ proto: 'icmp', src: '10.1.1.2', dst: '10.2.2.2' });
    expect(d.line).toBe('02:00:00:00:00:0a > 02:00:00:00:00:0b, IP 10.1.1.2 > 10.2.2.2: ICMP echo request, id 4660, seq 3, ttl 63, length 64');
    const unreach = buildIpv4({ protocol: PROTO_ICMP, src: dst, dst: src }, buildIcmp(3, 4, 1400, echo.subarray(0, 28)));
    expect(decodePacket(unreach, 'ip').line).toMatch(/^IP 10\.2\.2\.2 > 10\.1\.1\.2: ICMP destination unreachable \(need to frag\)/);
  });

  it('ESP with its SPI and sequence number (the scapy vectors)', () => {
    const esp = vectors.vectors.filter(v => v.protocol === 'esp');
    expect(esp.length).toBeGreaterThan(1);
    for (const v of esp) {
      const d = decodePacket(Buffer.from(v.ciphertext, 'hex'), 'ip');
      expect(d).toMatchObject({ proto: 'esp', spi: v.spi, seq: v.seq });
      expect(d.line).toContain(`ESP SPI 0x${v.spi.toString(16).padStart(8, '0')} seq ${v.seq}`);
    }
    const ah = vectors.vectors.find(v => v.protocol === 'ah');
    if (ah) expect(decodePacket(Buffer.from(ah.ciphertext, 'hex'), 'ip')).toMatchObject({ proto: 'ah', spi: ah.spi, seq: ah.seq });
  });

  it('ISAKMP with its exchange type, on 500 and behind the non-ESP marker on 4500', () => {
    const hdr = (exchange: number) => encodeHeader({ icookie: Buffer.from('0102030405060708', 'hex'), rcookie: Buffer.alloc(8), next: 1, exchange, flags: 0, mid: 0 }, 28);
    const on = (sp: number, dp: number, data: Buffer) => buildIpv4({ protocol: PROTO_UDP, src: ipToInt('10.5.5.5'), dst: ipToInt('10.6.6.6') }, buildUdp({ src: ipToInt('10.5.5.5'), dst: ipToInt('10.6.6.6') }, sp, dp, data));
    expect(decodeIpv4(on(500, 500, hdr(2))).line).toBe('IP 10.5.5.5.500 > 10.6.6.6.500: ISAKMP 1.0 Identity Protection (Main Mode), cookies 0102030405060708->0000000000000000, msgid 0x00000000, length 28');
    expect(decodeIpv4(on(500, 500, hdr(32))).exchange).toBe('Quick Mode');
    expect(decodeIpv4(on(500, 500, hdr(4))).exchange).toBe('Aggressive');
    expect(decodeIpv4(on(4500, 4500, Buffer.concat([Buffer.alloc(4), hdr(5)])))).toMatchObject({ proto: 'isakmp', exchange: 'Informational' });
    const encap = Buffer.alloc(16); encap.writeUInt32BE(0x1234, 0); encap.writeUInt32BE(9, 4);
    expect(decodeIpv4(on(4500, 4500, encap))).toMatchObject({ proto: 'esp', spi: 0x1234, seq: 9 });
    expect(decodeIpv4(on(500, 500, Buffer.alloc(5))).line).toMatch(/ISAKMP truncated/);
  });

  it('never throws on random or cut bytes, and always says something', () => {
    let rnd = 7;
    const rand = () => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const seeds = [
      buildEth(B, A, ETH_IPV4, buildIpv4({ protocol: PROTO_ICMP, src, dst }, buildIcmp(8, 0, 1, Buffer.alloc(8)))),
      buildEth(B, A, ETH_IPV4, Buffer.from(vectors.vectors[0]!.ciphertext, 'hex')),
      buildEth(B, A, ETH_ARP, buildArp({ op: 1, sha: A, spa: src, tha: Buffer.alloc(6), tpa: dst })),
    ];
    for (let i = 0; i < 5000; i++) {
      const s = Buffer.from(seeds[i % seeds.length]!);
      for (let k = 0; k < 4; k++) s[Math.floor(rand() * s.length)] = Math.floor(rand() * 256);
      const cut = s.subarray(0, Math.floor(rand() * (s.length + 1)));
      for (const kind of ['eth', 'ip'] as const) {
        const d = decodePacket(cut, kind);
        expect(typeof d.line).toBe('string');
        expect(d.line.length).toBeGreaterThan(0);
      }
    }
  });
});
