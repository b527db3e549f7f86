import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { SecurityAssociation, SaSpec } from './sa.js';
import { ReplayWindow } from './replay.js';
import { buildIpv4, PROTO_ICMP } from '../../src/net/ipv4.js';
import { ipToInt } from '../../src/net/ip.js';

const key = (s: string) => Buffer.from(s);
const tunnel = { source: ipToInt('10.5.5.5'), destination: ipToInt('10.6.6.6') };
const inner = (n = 56, id = 1) => buildIpv4({ protocol: PROTO_ICMP, src: ipToInt('10.1.1.1'), dst: ipToInt('10.2.2.2'), id, ttl: 63 }, Buffer.alloc(n, 0xab));

function pair(over: Partial<SaSpec> = {}): [SecurityAssociation, SecurityAssociation] {
  const base: SaSpec = {
    name: 'sa', direction: 'outbound', protocol: 'esp', mode: 'tunnel', spi: 2312, manual: true, tunnel,
    enc: { algorithm: '3des-cbc', key: key('123456789009876543211234') },
    auth: { algorithm: 'hmac-md5-96', key: key('1234123412341234') },
    ...over,
  };
  return [new SecurityAssociation({ ...base, direction: 'outbound' }), new SecurityAssociation({ ...base, direction: 'inbound' })];
}
const PROTOS: Array<Partial<SaSpec>> = [
  { protocol: 'esp' },
  { protocol: 'ah', enc: undefined },
  { protocol: 'bundle', spi: 4000, auxSpi: 4001, auth: { algorithm: 'hmac-sha1-96', key: key('12345678901234567890') } },
  { protocol: 'esp', auth: undefined },
  { protocol: 'esp', mode: 'transport', enc: { algorithm: 'des-cbc', key: key('8bytekey') } },
];

describe('security association', () => {
  for (const p of PROTOS) {
    const label = `${p.protocol} ${p.mode ?? 'tunnel'}${p.auth === undefined && 'auth' in p ? ' (no auth)' : ''}`;
    it(`${label}: round-trips packets of every size`, () => {
      const [o, i] = pair(p);
      for (let n = 0; n < 1480; n += 37) {
        const pkt = inner(n, n);
        const e = o.encapsulate(pkt);
        expect(e.ok).toBe(true);
        const d = i.decapsulate((e as { packet: Buffer }).packet);
        expect(d).toMatchObject({ ok: true });
        expect((d as { packet: Buffer }).packet.equals(pkt)).toBe(true);
      }
    });
    it(`${label}: truncated and garbage packets are dropped with a reason, never thrown`, () => {
      const [o, i] = pair(p);
      const good = (o.encapsulate(inner()) as { packet: Buffer }).packet;
      let dropped = 0;
      for (let cut = 0; cut < good.length; cut++) {
        const r = i.decapsulate(good.subarray(0, cut));
        if (!r.ok) dropped++;
      }
      for (let k = 0; k < 300; k++) {
        const g = randomBytes(k % 200);
        if (k % 3 === 0 && g.length > 20) good.subarray(0, 20).copy(g); // a plausible header, garbage after it
        const r = i.decapsulate(g);
        expect(r.ok).toBe(false);
        dropped++;
      }
      const total = Object.values(i.counters.drops).reduce((a, b) => a + b, 0);
      expect(total).toBe(dropped);
      expect(i.counters.packets).toBe(0);
    });
  }

  it('a tampered packet is dropped and counted (any protected byte)', () => {
    for (const p of PROTOS.filter(x => !('auth' in x && x.auth === undefined))) {
      const [o, i] = pair(p);
      const good = (o.encapsulate(inner()) as { packet: Buffer }).packet;
      const from = p.protocol === 'esp' ? 20 : 12; // AH covers the immutable header fields too
      for (let b = from; b < good.length; b++) {
        if (p.protocol !== 'esp' && [1, 6, 7, 8, 10, 11].includes(b)) continue; // mutable fields
        const t = Buffer.from(good);
        t[b]! ^= 0x01;
        const r = i.decapsulate(t);
        expect(r.ok, `${p.protocol} byte ${b}`).toBe(false);
      }
      expect(i.counters.drops['bad-icv']).toBeGreaterThan(0);
    }
  });

  it('manual SAs have no replay window: a repeated packet is accepted (the chapter)', () => {
    const [o, i] = pair();
    const e = (o.encapsulate(inner()) as { packet: Buffer }).packet;
    expect(i.decapsulate(e).ok).toBe(true);
    expect(i.decapsulate(e).ok).toBe(true);
    expect(i.window).toBeUndefined();
  });

  for (const size of [32, 64] as const) {
    it(`a dynamic SA with a ${size}-packet window drops replays and too-old packets`, () => {
      const [o, i] = pair({ manual: false, replayWindow: size });
      const pkts = Array.from({ length: size + 10 }, (_, k) => (o.encapsulate(inner(20, k)) as { packet: Buffer }).packet);
      expect(i.decapsulate(pkts[0]!).ok).toBe(true);
      expect(i.decapsulate(pkts[0]!)).toEqual({ ok: false, reason: 'replay' });
      expect(i.decapsulate(pkts[size + 9]!).ok).toBe(true); // seq size+10: window moves
      // seq 11 is exactly size-1 below the top: still inside; seq 10 is exactly `size` below: too old
      expect(i.decapsulate(pkts[10]!).ok).toBe(true);
      expect(i.decapsulate(pkts[9]!)).toEqual({ ok: false, reason: 'too-old' });
      expect(i.decapsulate(pkts[10]!)).toEqual({ ok: false, reason: 'replay' });
      // out of order inside the window is fine, once
      expect(i.decapsulate(pkts[size + 5]!).ok).toBe(true);
      expect(i.decapsulate(pkts[size + 5]!)).toEqual({ ok: false, reason: 'replay' });
      expect(i.counters.drops.replay).toBe(3);
      expect(i.counters.drops['too-old']).toBe(1);
    });
  }

  it('a forged packet does not move the replay window (update only after the ICV)', () => {
    const [o, i] = pair({ manual: false, replayWindow: 32 });
    const p1 = (o.encapsulate(inner(), { seq: 1 }) as { packet: Buffer }).packet;
    const forged = Buffer.from((o.encapsulate(inner(), { seq: 1000 }) as { packet: Buffer }).packet);
    forged[forged.length - 1]! ^= 1;
    expect(i.decapsulate(forged)).toEqual({ ok: false, reason: 'bad-icv' });
    expect(i.decapsulate(p1).ok).toBe(true);
  });

  it('sequence numbers never wrap: the SA stops sending at 2^32-1', () => {
    const [o] = pair();
    (o as unknown as { nextSeq: number }).nextSeq = 0xffffffff;
    expect(o.encapsulate(inner()).ok).toBe(true);
    expect(o.encapsulate(inner())).toEqual({ ok: false, reason: 'seq-exhausted' });
    expect(o.counters.drops['seq-exhausted']).toBe(1);
  });

  it('lifetimes: soft is derived from hard, and a hard-expired SA drops', () => {
    const t0 = 1_000_000;
    const sa = new SecurityAssociation({ ...pair()[0].spec, manual: false, lifetime: { hardSeconds: 3600 } }, t0);
    expect(sa.softSeconds).toBe(3240);
    expect(sa.tick(t0 + 3000_000)).toBeNull();
    expect(sa.tick(t0 + 3240_000)).toBe('soft');
    expect(sa.tick(t0 + 3300_000)).toBeNull();
    expect(sa.tick(t0 + 3600_000)).toBe('hard');
    expect(sa.encapsulate(inner())).toEqual({ ok: false, reason: 'expired' });
  });

  it('RFC 4303 appendix A window arithmetic on its own', () => {
    const w = new ReplayWindow(32);
    expect(w.check(0)).toBe('replay');
    w.update(5); expect(w.check(5)).toBe('replay'); expect(w.check(4)).toBe('ok');
    w.update(100); expect(w.check(69)).toBe('ok'); expect(w.check(68)).toBe('too-old'); expect(w.check(5)).toBe('too-old');
  });

  it('overhead matches what encapsulation really adds', () => {
    for (const p of PROTOS) {
      const [o] = pair(p);
      for (const n of [0, 1, 7, 100, 1400]) {
        const pkt = inner(n);
        expect((o.encapsulate(pkt) as { packet: Buffer }).packet.length - pkt.length, `${p.protocol} ${n}`).toBe(o.overhead(pkt.length));
      }
    }
  });

  it('a packet that would not fit an IPv4 packet once protected is an oversize drop, never an exception', () => {
    for (const p of PROTOS) {
      const [o] = pair(p);
      const big = buildIpv4({ protocol: PROTO_ICMP, src: ipToInt('10.1.1.1'), dst: ipToInt('10.2.2.2'), id: 1 }, Buffer.alloc(65535 - 20 - 8));
      let r: ReturnType<SecurityAssociation['encapsulate']> | undefined;
      expect(() => { r = o.encapsulate(big); }).not.toThrow();
      expect(r).toEqual({ ok: false, reason: 'oversize' });
      expect(o.counters.drops.oversize).toBe(1);
    }
  });
});
