import { describe, it, expect } from 'vitest';
import { decodeMessage, encodeOpen, encodeKeepalive, encodeNotification, encodeUpdates, encodeRouteRefresh, Framer, E_HEADER, E_OPEN, E_UPDATE } from './codec.js';
import { PathAttrs, AS_SEQUENCE, AS_SET, encodeAsPath } from './attributes.js';
import { parsePrefix, prefixStr } from '../net/ip.js';

const ATTRS: PathAttrs = { origin: 0, asPath: [{ type: AS_SEQUENCE, asns: [65002, 4200000001] }], nextHop: 0x0a070702, med: 10, localPref: 200, atomicAggregate: true, aggregator: { as: 65002, address: 0x0a000001 }, unknown: [] };
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const MARK = 'ff'.repeat(16);
const update = (attrs: string, nlri = '180a0101') => { const a = hex(attrs), n = hex(nlri); const b = Buffer.concat([Buffer.from([0, 0, a.length >> 8, a.length & 255]), a, n]); const h = Buffer.alloc(19, 0xff); h.writeUInt16BE(19 + b.length, 16); h[18] = 2; return Buffer.concat([h, b]); };
const ORIGIN = '40010100', PATH = '4002060201 0000fdea'.replace(' ', ''), NH = '4003040a070702';

describe('BGP codec', () => {
  it('OPEN round trip with the three capabilities', () => {
    const r = decodeMessage(encodeOpen(4200000001, 90, 0x0a050505));
    expect(r.msg).toEqual({ type: 'open', version: 4, as: 23456, holdTime: 90, bgpId: 0x0a050505, caps: { as4: 4200000001, routeRefresh: true, mpIpv4Unicast: true, unknown: [] } });
  });
  it('UPDATE round trip, 4-octet and 2-octet ASes (AS4_PATH)', () => {
    const ps = ['10.1.1.0/24', '10.2.0.0/16', '0.0.0.0/0', '192.168.1.128/25'].map(parsePrefix);
    for (const size of [4, 2] as const) {
      const [m] = encodeUpdates([], ps, ATTRS, size);
      const r = decodeMessage(m!, size);
      expect(r.msg?.type).toBe('update');
      if (r.msg?.type !== 'update') return;
      expect(r.msg.nlri.map(prefixStr)).toEqual(ps.map(prefixStr));
      expect(r.msg.attrs).toEqual(ATTRS);
    }
  });
  it('withdrawals and large announcements split into 4096-byte UPDATEs', () => {
    const ps = Array.from({ length: 3000 }, (_, i) => ({ addr: (0x0b000000 + i * 256) >>> 0, len: 24 }));
    const ms = encodeUpdates(ps, ps, ATTRS, 4);
    expect(ms.length).toBeGreaterThan(4);
    let w = 0, n = 0;
    for (const m of ms) { expect(m.length).toBeLessThanOrEqual(4096); const r = decodeMessage(m); if (r.msg?.type === 'update') { w += r.msg.withdrawn.length; n += r.msg.nlri.length; } }
    expect([w, n]).toEqual([3000, 3000]);
  });
  it('KEEPALIVE, NOTIFICATION, ROUTE-REFRESH', () => {
    expect(decodeMessage(encodeKeepalive()).msg).toEqual({ type: 'keepalive' });
    expect(decodeMessage(encodeNotification({ code: 6, subcode: 4, data: Buffer.alloc(0) })).msg).toEqual({ type: 'notification', n: { code: 6, subcode: 4, data: Buffer.alloc(0) } });
    expect(decodeMessage(encodeRouteRefresh()).msg).toEqual({ type: 'route-refresh', afi: 1, safi: 1 });
  });
  // the RFC's error for each malformed message (RFC 4271 6, RFC 7606)
  const ERRORS: Array<[string, Buffer, number, number]> = [
    ['marker not all ones', hex('00' + MARK.slice(2) + '001304'), E_HEADER, 1],
    ['length beyond 4096', hex(MARK + '100104'), E_HEADER, 2],
    ['KEEPALIVE with a body', hex(MARK + '00140400'), E_HEADER, 2],
    ['unknown type', hex(MARK + '001309'), E_HEADER, 3],
    ['OPEN version 3', (() => { const b = encodeOpen(65001, 90, 1); b[19] = 3; return b; })(), E_OPEN, 1],
    ['OPEN hold time 2', (() => { const b = encodeOpen(65001, 2, 1); return b; })(), E_OPEN, 6],
    ['OPEN BGP identifier 0', encodeOpen(65001, 90, 0), E_OPEN, 3],
    ['OPEN optional parameter 1', (() => { const b = encodeOpen(65001, 90, 1); b[29] = 1; return b; })(), E_OPEN, 4],
    ['UPDATE withdrawn length overruns', hex(MARK + '0017020010' + '0000'), E_UPDATE, 1],
    ['UPDATE NLRI prefix length 33', update(ORIGIN + PATH + NH, '210a010101'), E_UPDATE, 10],
    ['UPDATE attribute overruns the list', update('400105' + '00'), E_UPDATE, 1],
    ['UPDATE unrecognized well-known attribute', update(ORIGIN + PATH + NH + '406301ff'), E_UPDATE, 2],
  ];
  for (const [name, m, code, sub] of ERRORS) it(`${name}: NOTIFICATION ${code}/${sub}`, () => expect(decodeMessage(m).error).toMatchObject({ code, subcode: sub }));
  const WITHDRAW: Array<[string, string]> = [
    ['ORIGIN 3', '40010103' + PATH + NH], ['ORIGIN length 2', '4001020000' + PATH + NH], ['no NEXT_HOP', ORIGIN + PATH],
    ['no AS_PATH', ORIGIN + NH], ['AS_PATH segment type 3', ORIGIN + '4002060301 0000fdea'.replace(' ', '') + NH],
    ['AS_PATH count overruns', ORIGIN + '4002060202 0000fdea'.replace(' ', '') + NH], ['NEXT_HOP length 3', ORIGIN + PATH + '4003030a0707'],
    ['MED length 2', ORIGIN + PATH + NH + '80040200 01'.replace(' ', ''), ], ['ORIGIN flagged optional', 'c0010100' + PATH + NH],
  ];
  for (const [name, attrs] of WITHDRAW) it(`${name}: treat-as-withdraw (RFC 7606)`, () => {
    const r = decodeMessage(update(attrs));
    expect(r.error).toBeUndefined();
    expect(r.msg).toMatchObject({ type: 'update', nlri: [], withdrawn: [parsePrefix('10.1.1.0/24')] });
    expect((r.msg as { treatAsWithdraw?: string }).treatAsWithdraw).toBeTruthy();
  });
  it('an unknown optional transitive attribute is passed on, partial; a bad AGGREGATOR is discarded', () => {
    const r = decodeMessage(update(ORIGIN + PATH + NH + 'c0630201 02' .replace(' ', '') + 'c00703 000102'.replace(' ', '')));
    expect(r.msg?.type === 'update' && r.msg.attrs).toMatchObject({ unknown: [{ flags: 0xe0, type: 0x63, value: Buffer.from([1, 2]) }] });
    expect(r.msg?.type === 'update' && r.msg.attrs?.aggregator).toBeUndefined();
  });
  it('an AS_SET counts once and round-trips', () => {
    const segs = [{ type: AS_SEQUENCE as 2, asns: [1, 2] }, { type: AS_SET as 1, asns: [3, 4, 5] }];
    expect(encodeAsPath(segs, 4).length).toBe(2 + 8 + 2 + 12);
  });
  it('the framer splits a stream byte by byte and stops at a bad header', () => {
    const f = new Framer();
    const stream = Buffer.concat([encodeOpen(65001, 90, 1), encodeKeepalive(), ...encodeUpdates([], [parsePrefix('10.9.0.0/16')], ATTRS, 4)]);
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...f.push(stream.subarray(i, i + 1)).messages);
    expect(got.map(m => decodeMessage(m).msg?.type)).toEqual(['open', 'keepalive', 'update']);
    expect(new Framer().push(hex(MARK + '000104')).error).toMatchObject({ code: 1, subcode: 2 });
  });
  it('fuzz: mutated and random messages get a message or a NOTIFICATION, never a throw', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 0x1000000;
    const seeds = [encodeOpen(65001, 90, 1), encodeKeepalive(), ...encodeUpdates([parsePrefix('10.8.0.0/16')], [parsePrefix('10.1.0.0/16')], ATTRS, 4), update(ORIGIN + PATH + NH + 'c0630201 02'.replace(' ', ''))];
    let errors = 0;
    for (let i = 0; i < 20000; i++) {
      const base = Buffer.from(seeds[i % seeds.length]!);
      const n = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < n; k++) { const at = 19 + Math.floor(rnd() * Math.max(1, base.length - 19)); if (at < base.length) base[at] = Math.floor(rnd() * 256); }
      const cut = rnd() < 0.2 ? base.subarray(0, Math.floor(rnd() * base.length)) : base;
      const m = Buffer.from(cut);
      if (m.length >= 19) m.writeUInt16BE(m.length, 16);
      for (const size of [2, 4] as const) {
        const r = decodeMessage(m, size, rnd() < 0.5);
        expect(!!r.msg !== !!r.error).toBe(true);
        if (r.error) { errors++; expect(r.error.code).toBeGreaterThanOrEqual(1); expect(r.error.code).toBeLessThanOrEqual(6); }
      }
      const f = new Framer();
      expect(() => f.push(m)).not.toThrow();
    }
    expect(errors).toBeGreaterThan(100);
  });
});
