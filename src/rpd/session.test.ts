/**
 * The FSM and the speaker: speakers joined by in-memory wires (and once by duplex streams), timers
 * on a clock the test moves.
 */
import { describe, it, expect } from 'vitest';
import { Duplex, PassThrough } from 'node:stream';
import { Session, Timers, Wire, CONNECT_RETRY, IDLE_HOLD, State, MAX_PENDING } from './session.js';
import { Bgp, streamWire, EXPORT_PAUSE } from './bgp.js';
import { Rib } from './rib.js';
import { compileRouting } from './config.js';
import { loadText } from '../config/load.js';
import { decodeMessage, encodeUpdates, encodeNotification, E_CEASE } from './codec.js';
import { AS_SEQUENCE } from './attributes.js';
import { ipToInt, parsePrefix as P, prefixStr } from '../net/ip.js';

class Clock implements Timers {
  t = 0; private q: Array<{ at: number; fn: () => void; id: number }> = []; private n = 0;
  now() { return this.t; }
  set(ms: number, fn: () => void) { const id = ++this.n; this.q.push({ at: this.t + ms, fn, id }); return id; }
  clear(h: unknown) { this.q = this.q.filter(x => x.id !== h); }
  /** fire what is due up to now + ms, in order, delivering the wires between timers */
  advance(ms: number, net: Net) {
    const end = this.t + ms;
    net.pump();
    for (;;) {
      this.q.sort((a, b) => a.at - b.at || a.id - b.id);
      const x = this.q[0];
      if (!x || x.at > end) break;
      this.q.shift(); this.t = x.at; x.fn(); net.pump();
    }
    this.t = end;
  }
}

/** In-memory wires: bytes wait in a queue until pump() delivers them (or the test holds them). */
class Net {
  queue: Array<() => void> = [];
  held = false;
  /** bytes each side's peer has left unread (a peer that does not read) */
  unread = new Map<string, number>();
  sent: Array<{ from: string; type: string; code?: number; subcode?: number }> = [];
  pump() { while (!this.held && this.queue.length) this.queue.shift()!(); }
  pair(a: { s: Session; name: string }, b: { s: Session; name: string }, late = false): void {
    let open = true;
    const mk = (from: typeof a, to: typeof b, self: () => Wire, other: () => Wire): Wire => ({
      write: buf => {
        if (!open) return;
        const d = decodeMessage(buf);
        this.sent.push({ from: from.name, type: d.msg?.type ?? '?', ...(d.msg?.type === 'notification' ? { code: d.msg.n.code, subcode: d.msg.n.subcode } : {}) });
        const copy = Buffer.from(buf);
        this.queue.push(() => to.s.data(other(), copy));
      },
      close: () => { if (!open) return; open = false; this.queue.push(() => { from.s.closed(self()); to.s.closed(other()); }); },
      pending: () => this.unread.get(from.name) ?? 0,
    });
    const wa: Wire = mk(a, b, () => wa, () => wb), wb: Wire = mk(b, a, () => wb, () => wa);
    a.s.outgoing(wa);
    // late: a connection b accepted before its other one was Established (both now send OPENs)
    if (late) b.s.outgoing(wb); else b.s.incoming(wb);
  }
}

interface Sp { name: string; addr: number; bgp: Bgp; rib: Rib; log: string[]; connects: number; reachable: boolean }
function lab(confs: Record<string, { addr: string; conf: string }>) {
  const clock = new Clock(), net = new Net();
  const sp = new Map<number, Sp>();
  for (const [name, c] of Object.entries(confs)) {
    const addr = ipToInt(c.addr);
    let bgp!: Bgp;
    const rib = new Rib({ now: () => clock.now(), onChange: p => bgp.ribChanged(p) });
    const me: Sp = { name, addr, rib, log: [], connects: 0, reachable: true, bgp: undefined as unknown as Bgp };
    bgp = new Bgp({
      timers: clock, rib,
      localAddress: () => addr,
      log: m => me.log.push(m),
      connect: (n, s) => {
        me.connects++;
        net.queue.push(() => {
          const peer = sp.get(n.address);
          const ps = peer?.bgp.session(addr);
          if (!peer || !peer.reachable || !me.reachable || !ps || !ps.enabled) s.connectFailed();
          else net.pair({ s, name }, { s: ps, name: peer.name });
        });
      },
    });
    me.bgp = bgp;
    sp.set(addr, me);
  }
  const byName = (n: string) => [...sp.values()].find(x => x.name === n)!;
  const start = () => { for (const [name, c] of Object.entries(confs)) byName(name).bgp.configure(compileRouting(loadText(c.conf))); };
  const state = (a: string, b: string) => byName(a).bgp.peers.get(byName(b).addr)!.s.state;
  return { clock, net, sp: byName, start, state, run: (ms = 0) => clock.advance(ms, net) };
}
const conf = (as: number, id: string, neighbors: Array<[string, string, number?]>, extra = '') => `
routing-options { autonomous-system ${as}; router-id ${id}; }
protocols { bgp { ${neighbors.map(([g, addr, pas]) => `group ${g} { type ${pas === undefined ? 'internal' : 'external'}; hold-time 30; neighbor ${addr} { ${pas !== undefined ? `peer-as ${pas};` : ''} } }`).join(' ')} } }
${extra}`;
const EXPORT_STATIC = `policy-options { policy-statement out { term s { from protocol static; then accept; } } }`;
const twoAs = (extraA = '', extraB = '') => ({
  a: { addr: '10.7.7.1', conf: conf(65001, '1.1.1.1', [['up', '10.7.7.2', 65002]], extraA) },
  b: { addr: '10.7.7.2', conf: conf(65002, '2.2.2.2', [['down', '10.7.7.1', 65001]], extraB) },
});
const direct = (l: ReturnType<typeof lab>, n: string) => l.sp(n).rib.add({ prefix: P('10.7.7.0/24'), protocol: 'Direct', source: 0, ifl: 'fe-0/0/0.0' });

describe('BGP FSM', () => {
  it('Idle, Connect, OpenSent, OpenConfirm, Established, in that order', () => {
    const l = lab(twoAs());
    const seen: Record<string, State[]> = { a: [], b: [] };
    l.start();
    const sa = l.sp('a').bgp.peers.get(ipToInt('10.7.7.2'))!.s, sb = l.sp('b').bgp.peers.get(ipToInt('10.7.7.1'))!.s;
    const record = () => { for (const [k, x] of [['a', sa], ['b', sb]] as const) if (seen[k]!.at(-1) !== x.state) seen[k]!.push(x.state); };
    record();
    while (l.net.queue.length) { l.net.queue.shift()!(); record(); }
    l.run(); record();
    expect(seen).toEqual({ a: ['Connect', 'OpenSent', 'OpenConfirm', 'Established'], b: ['Connect', 'OpenSent', 'OpenConfirm', 'Established'] });
    const s = sa;
    expect(l.state('b', 'a')).toBe('Established');
    expect(s.holdTime).toBe(30);
    expect(s.asSize).toBe(4);
  });
  it('keepalives every hold/3 keep it up; a silent peer is cut at the hold time, and the session starts again', () => {
    const l = lab(twoAs());
    l.start(); l.run();
    l.run(300_000);
    expect(l.state('a', 'b')).toBe('Established');
    const ka = l.net.sent.filter(x => x.from === 'a' && x.type === 'keepalive').length;
    expect(ka).toBeGreaterThanOrEqual(300 / 10);
    l.net.held = true;
    l.clock.advance(30_000, l.net);
    expect(l.state('a', 'b')).toBe('Idle');
    expect(l.sp('a').log.join('\n')).toMatch(/hold time expired: NOTIFICATION 4\/0 sent/);
    l.net.held = false; l.net.queue = [];
    l.run(IDLE_HOLD);
    expect(l.state('a', 'b')).not.toBe('Idle');
    l.run(CONNECT_RETRY + IDLE_HOLD);
    expect(l.state('a', 'b')).toBe('Established');
    expect(l.sp('a').bgp.peers.get(ipToInt('10.7.7.2'))!.s.flaps).toBe(1);
  });
  it('connect fails: Active; the connect-retry timer tries again', () => {
    const l = lab(twoAs());
    l.sp('b').reachable = false;
    l.start(); l.run();
    expect(l.state('a', 'b')).toBe('Active');
    const n = l.sp('a').connects;
    l.sp('b').reachable = true;
    l.sp('b').bgp.peers.get(ipToInt('10.7.7.1'))!.s.stop(undefined, false); // b waits passively
    l.sp('b').bgp.peers.get(ipToInt('10.7.7.1'))!.s.enabled = true;
    l.run(CONNECT_RETRY);
    expect(l.sp('a').connects).toBe(n + 1);
    expect(l.state('a', 'b')).toBe('Established');
  });
  it('a wrong peer AS: OPEN Message Error 2/2 (Bad Peer AS), Idle', () => {
    const l = lab({ a: { addr: '10.7.7.1', conf: conf(65001, '1.1.1.1', [['up', '10.7.7.2', 65009]]) }, b: twoAs().b });
    l.start(); l.run();
    expect(l.net.sent).toContainEqual({ from: 'a', type: 'notification', code: 2, subcode: 2 });
    expect(l.state('a', 'b')).toBe('Idle');
  });
  it('collision: both connect at once, one connection survives (the higher BGP identifier\'s)', () => {
    const l = lab(twoAs());
    const a = l.sp('a'), b = l.sp('b');
    a.bgp.configure(compileRouting(loadText(twoAs().a.conf)));
    b.bgp.configure(compileRouting(loadText(twoAs().b.conf)));
    l.run();
    expect(l.state('a', 'b')).toBe('Established');
    expect(l.state('b', 'a')).toBe('Established');
    const cease = l.net.sent.filter(x => x.type === 'notification');
    // 1.1.1.1 < 2.2.2.2: the connection a opened goes, with Cease / connection collision resolution
    expect(cease).toEqual([{ from: 'a', type: 'notification', code: 6, subcode: 7 }]);
    expect(a.log.join('\n') + b.log.join('\n')).toMatch(/connection collision/);
  });
  it('collision with an Established connection: the new connection goes, whichever identifier is higher', () => {
    const l = lab(twoAs());
    l.start(); l.run();
    const sa = l.sp('a').bgp.peers.get(ipToInt('10.7.7.2'))!.s, sb = l.sp('b').bgp.peers.get(ipToInt('10.7.7.1'))!.s;
    l.net.sent = [];
    l.net.pair({ s: sa, name: 'a' }, { s: sb, name: 'b' }, true);
    l.run();
    expect(l.net.sent.filter(x => x.type === 'notification').every(x => x.code === 6 && x.subcode === 7)).toBe(true);
    expect([l.state('a', 'b'), l.state('b', 'a'), sa.flaps, sb.flaps]).toEqual(['Established', 'Established', 0, 0]);
  });
  it('a malformed UPDATE gets its NOTIFICATION and the session goes Idle, no throw', () => {
    const l = lab(twoAs());
    l.start(); l.run();
    const s = l.sp('b').bgp.peers.get(ipToInt('10.7.7.1'))!.s;
    const bad = encodeUpdates([], [P('10.1.0.0/16')], { origin: 0, asPath: [{ type: AS_SEQUENCE, asns: [65002] }], nextHop: 1, unknown: [] }, 4)[0]!;
    bad[bad.length - 3] = 40; // NLRI prefix length 40
    s.sendEstablished(bad);
    l.run();
    expect(l.net.sent).toContainEqual({ from: 'a', type: 'notification', code: 3, subcode: 10 });
    expect(l.state('a', 'b')).toBe('Idle');
  });
  it('a NOTIFICATION from the peer: Idle, with the error kept for show bgp neighbor', () => {
    const l = lab(twoAs());
    l.start(); l.run();
    l.sp('b').bgp.clear();
    l.run();
    const s = l.sp('a').bgp.peers.get(ipToInt('10.7.7.2'))!.s;
    expect(s.lastError).toMatchObject({ sent: false, n: { code: E_CEASE, subcode: 4 } });
    l.run(IDLE_HOLD + 1);
    expect(l.state('a', 'b')).toBe('Established');
  });
});

describe('BGP speaker', () => {
  it('exports by policy, learns with the AS path, withdraws; default export sends no static route', () => {
    const l = lab(twoAs('', `protocols { bgp { group down { export out; } } } ${EXPORT_STATIC}`));
    direct(l, 'a'); direct(l, 'b');
    l.sp('b').rib.add({ prefix: P('10.2.2.0/24'), protocol: 'Static', source: 0, nextHop: ipToInt('10.7.7.9'), ifl: 'fe-0/0/1.0' });
    l.sp('a').rib.add({ prefix: P('10.1.1.0/24'), protocol: 'Static', source: 0, nextHop: ipToInt('10.7.7.8'), ifl: 'fe-0/0/1.0' });
    l.start(); l.run(); l.run();
    const r = l.sp('a').rib.active(P('10.2.2.0/24'))!;
    expect(r.protocol).toBe('BGP');
    expect(r.bgp!.attrs.asPath).toEqual([{ type: AS_SEQUENCE, asns: [65002] }]);
    expect(r.nextHop).toBe(ipToInt('10.7.7.2'));
    expect(l.sp('a').rib.forwarding(r)).toMatchObject({ ifl: 'fe-0/0/0.0', gateway: ipToInt('10.7.7.2') });
    expect(l.sp('b').rib.routes(P('10.1.1.0/24'))).toEqual([]); // a exports no static route by default
    l.sp('b').rib.remove(P('10.2.2.0/24'), 'Static');
    l.run(); l.run();
    expect(l.sp('a').rib.active(P('10.2.2.0/24'))).toBeUndefined();
  });
  it('import policy: reject and local-preference; the Adj-RIB-In keeps what was refused', () => {
    const imp = `protocols { bgp { group up { import in; } } } policy-options { policy-statement in { term no { from route-filter 10.2.9.0/24 exact; then reject; } term lp { then local-preference 250; } } }`;
    const l = lab(twoAs(imp, `protocols { bgp { group down { export out; } } } ${EXPORT_STATIC}`));
    direct(l, 'a'); direct(l, 'b');
    for (const p of ['10.2.2.0/24', '10.2.9.0/24']) l.sp('b').rib.add({ prefix: P(p), protocol: 'Static', source: 0, nextHop: 1, ifl: 'x' });
    l.start(); l.run(); l.run();
    expect(l.sp('a').rib.active(P('10.2.2.0/24'))!.bgp!.attrs.localPref).toBe(250);
    expect(l.sp('a').rib.active(P('10.2.9.0/24'))).toBeUndefined();
    const adj = [...l.sp('a').bgp.peers.get(ipToInt('10.7.7.2'))!.adjIn.values()].map(x => `${prefixStr(x.prefix)} ${x.accepted}`).sort();
    expect(adj).toEqual(['10.2.2.0/24 true', '10.2.9.0/24 false']);
  });
  it('a path with our own AS is dropped (loop detection)', () => {
    const l = lab(twoAs());
    direct(l, 'a');
    l.start(); l.run();
    const s = l.sp('b').bgp.peers.get(ipToInt('10.7.7.1'))!.s;
    for (const m of encodeUpdates([], [P('10.3.0.0/16')], { origin: 0, asPath: [{ type: AS_SEQUENCE, asns: [65002, 65001] }], nextHop: ipToInt('10.7.7.2'), unknown: [] }, 4)) s.sendEstablished(m);
    l.run();
    expect(l.sp('a').rib.routes(P('10.3.0.0/16'))).toEqual([]);
    expect(l.sp('a').bgp.peers.get(ipToInt('10.7.7.2'))!.looped).toBe(1);
  });
  it('prefix-limit with teardown: Cease 6/1 beyond the maximum', () => {
    const l = lab(twoAs('protocols { bgp { group up { family inet unicast prefix-limit { maximum 3; teardown; } } } }', `protocols { bgp { group down { export out; } } } ${EXPORT_STATIC}`));
    direct(l, 'a'); direct(l, 'b');
    for (let i = 0; i < 5; i++) l.sp('b').rib.add({ prefix: P(`10.9.${i}.0/24`), protocol: 'Static', source: 0, nextHop: 1, ifl: 'x' });
    l.start(); l.run(); l.run();
    expect(l.net.sent).toContainEqual({ from: 'a', type: 'notification', code: 6, subcode: 1 });
    expect(l.sp('a').rib.count).toBe(1); // the direct route only
  });
  it('iBGP-learned routes go to eBGP peers only; eBGP-learned to iBGP with the next hop kept', () => {
    const l = lab({
      a: { addr: '10.7.7.1', conf: conf(65001, '1.1.1.1', [['up', '10.7.7.2', 65002], ['in', '10.7.7.3']]) },
      b: { addr: '10.7.7.2', conf: conf(65002, '2.2.2.2', [['down', '10.7.7.1', 65001]], `protocols { bgp { group down { export out; } } } ${EXPORT_STATIC}`) },
      c: { addr: '10.7.7.3', conf: conf(65001, '3.3.3.3', [['in', '10.7.7.1'], ['in2', '10.7.7.4']]) },
      d: { addr: '10.7.7.4', conf: conf(65001, '4.4.4.4', [['in', '10.7.7.3']]) },
    });
    for (const n of ['a', 'b', 'c', 'd']) direct(l, n);
    l.sp('b').rib.add({ prefix: P('10.2.2.0/24'), protocol: 'Static', source: 0, nextHop: 1, ifl: 'x' });
    l.start(); l.run(); l.run(); l.run();
    const c = l.sp('c').rib.active(P('10.2.2.0/24'))!;
    expect(c.bgp).toMatchObject({ ebgp: false, attrs: { nextHop: ipToInt('10.7.7.2'), localPref: 100, asPath: [{ type: AS_SEQUENCE, asns: [65002] }] } });
    expect(l.sp('d').rib.routes(P('10.2.2.0/24'))).toEqual([]);
  });
});

describe('a peer that does not read', () => {
  it(`exports wait while it has more than ${EXPORT_PAUSE} bytes unread and go out when it reads; beyond ${MAX_PENDING} it is cut (Cease 6/8)`, () => {
    const l = lab(twoAs('', `protocols { bgp { group down { export out; } } } ${EXPORT_STATIC}`));
    direct(l, 'a'); direct(l, 'b');
    l.start(); l.run(); l.run();
    expect(l.state('a', 'b')).toBe('Established');
    l.net.unread.set('b', EXPORT_PAUSE + 1);
    l.sp('b').rib.add({ prefix: P('10.2.2.0/24'), protocol: 'Static', source: 0, nextHop: ipToInt('10.7.7.9'), ifl: 'fe-0/0/1.0' });
    l.run(1000);
    expect(l.sp('a').rib.routes(P('10.2.2.0/24'))).toEqual([]); // held back
    l.net.unread.set('b', 0);
    l.run(1000);
    expect(l.sp('a').rib.active(P('10.2.2.0/24'))?.protocol).toBe('BGP');
    // it stops reading altogether: the next message b sends (a keepalive) finds 4 MiB unread, and b cuts it
    l.net.unread.set('b', MAX_PENDING + 1);
    l.run(60_000);
    expect(l.net.sent).toContainEqual({ from: 'b', type: 'notification', code: E_CEASE, subcode: 8 });
    expect(l.sp('b').log.join('\n')).toMatch(/peer does not read/);
    expect(l.state('b', 'a')).not.toBe('Established');
  });
});

describe('ROUTE-REFRESH (RFC 2918)', () => {
  it('a ROUTE-REFRESH received: the Adj-RIB-Out sent again; soft-inbound asks the peer; soft sends again; no flap', () => {
    const l = lab(twoAs('', `protocols { bgp { group down { export out; } } } ${EXPORT_STATIC}`));
    direct(l, 'a'); direct(l, 'b');
    l.sp('b').rib.add({ prefix: P('10.2.2.0/24'), protocol: 'Static', source: 0, nextHop: 1, ifl: 'x' });
    l.start(); l.run(); l.run();
    const sa = l.sp('a').bgp.peers.get(ipToInt('10.7.7.2'))!.s, sb = l.sp('b').bgp.peers.get(ipToInt('10.7.7.1'))!.s;
    expect(l.sp('a').rib.active(P('10.2.2.0/24'))?.protocol).toBe('BGP');
    const updatesFromB = () => l.net.sent.filter(x => x.from === 'b' && x.type === 'update').length;
    const u0 = updatesFromB();
    // a asks b (clear bgp neighbor 10.7.7.2 soft-inbound): b's route comes again
    expect(l.sp('a').bgp.soft(ipToInt('10.7.7.2'), true)).toBe(1);
    l.run(); l.run();
    expect(l.net.sent.filter(x => x.from === 'a' && x.type === 'route-refresh')).toHaveLength(1);
    expect(sb.counters.inRefresh).toBe(1);
    expect(updatesFromB()).toBe(u0 + 1);
    // nothing changed in between: without the refresh b would have sent nothing
    l.run(); l.run();
    expect(updatesFromB()).toBe(u0 + 1);
    // clear bgp neighbor 10.7.7.1 soft on b: the routes again, no ROUTE-REFRESH, no flap
    l.sp('b').bgp.soft(ipToInt('10.7.7.1'), false);
    l.run(); l.run();
    expect(updatesFromB()).toBe(u0 + 2);
    expect(l.net.sent.filter(x => x.type === 'route-refresh')).toHaveLength(1);
    expect([sa.flaps, sb.flaps, sa.state, sb.state]).toEqual([0, 0, 'Established', 'Established']);
  });
  it('soft-inbound evaluates the import policy anew on what the peer sent', () => {
    const l = lab(twoAs('', `protocols { bgp { group down { export out; } } } ${EXPORT_STATIC}`));
    direct(l, 'a'); direct(l, 'b');
    l.sp('b').rib.add({ prefix: P('10.2.2.0/24'), protocol: 'Static', source: 0, nextHop: 1, ifl: 'x' });
    l.start(); l.run(); l.run();
    // the policy changes under a's feet (as a commit would have it), then soft-inbound
    const m = compileRouting(loadText(twoAs(`protocols { bgp { group up { import in; } } } policy-options { policy-statement in { then local-preference 300; } }`).a.conf));
    l.sp('a').bgp.model = m;
    l.sp('a').bgp.peers.get(ipToInt('10.7.7.2'))!.n = m.neighbors[0]!;
    l.sp('a').bgp.soft(undefined, true);
    l.run();
    expect(l.sp('a').rib.active(P('10.2.2.0/24'))!.bgp!.attrs.localPref).toBe(300);
  });
  it('a ROUTE-REFRESH for another AFI/SAFI is ignored (logged)', () => {
    const l = lab(twoAs('', `protocols { bgp { group down { export out; } } } ${EXPORT_STATIC}`));
    direct(l, 'a'); direct(l, 'b');
    l.sp('b').rib.add({ prefix: P('10.2.2.0/24'), protocol: 'Static', source: 0, nextHop: 1, ifl: 'x' });
    l.start(); l.run(); l.run();
    const u0 = l.net.sent.filter(x => x.from === 'b' && x.type === 'update').length;
    const sa = l.sp('a').bgp.peers.get(ipToInt('10.7.7.2'))!.s;
    const rr = Buffer.alloc(23, 0xff); rr.writeUInt16BE(23, 16); rr[18] = 5; rr.writeUInt16BE(2, 19); rr[21] = 0; rr[22] = 1; // IPv6 unicast
    sa.sendEstablished(rr);
    l.run(); l.run();
    expect(l.net.sent.filter(x => x.from === 'b' && x.type === 'update').length).toBe(u0);
    expect(l.sp('b').log.join('\n')).toMatch(/ROUTE-REFRESH for AFI 2 SAFI 1 ignored/);
    expect(l.state('b', 'a')).toBe('Established');
  });
});

describe('BGP over duplex streams', () => {
  it('two speakers reach Established and exchange a route over stream wires', async () => {
    const real: Timers = { now: Date.now, set: (ms, fn) => setTimeout(fn, ms), clear: h => clearTimeout(h as NodeJS.Timeout) };
    const ab = new PassThrough(), ba = new PassThrough();
    const ends = [Duplex.from({ readable: ba, writable: ab }), Duplex.from({ readable: ab, writable: ba })];
    const ribs: Rib[] = [], bgps: Bgp[] = [];
    const confs = [twoAs(), twoAs('', `protocols { bgp { group down { export out; } } } ${EXPORT_STATIC}`)];
    let got!: () => void;
    const learned = new Promise<void>(r => (got = r));
    for (const i of [0, 1]) {
      const me = ipToInt(i ? '10.7.7.2' : '10.7.7.1');
      const rib = new Rib({ onChange: (p, a) => { bgps[i]!.ribChanged(p); if (i === 0 && a?.protocol === 'BGP') got(); } });
      ribs.push(rib);
      bgps.push(new Bgp({ timers: real, rib, localAddress: () => me, log: () => {}, connect: (_n, s) => { if (i === 0) s.outgoing(streamWire(ends[0]!, s)); } }));
    }
    ribs[0]!.add({ prefix: P('10.7.7.0/24'), protocol: 'Direct', source: 0, ifl: 'fe-0/0/0.0' });
    ribs[1]!.add({ prefix: P('10.2.2.0/24'), protocol: 'Static', source: 0, nextHop: 1, ifl: 'x' });
    bgps[1]!.configure(compileRouting(loadText((i => confs[1]!.b.conf)(1))));
    const sb = bgps[1]!.session(ipToInt('10.7.7.1'))!;
    sb.incoming(streamWire(ends[1]!, sb));
    bgps[0]!.configure(compileRouting(loadText(confs[0]!.a.conf)));
    try {
      await learned;
      expect(ribs[0]!.active(P('10.2.2.0/24'))!.bgp!.attrs.asPath[0]!.asns).toEqual([65002]);
    } finally { bgps.forEach(b => b.shutdown()); ends.forEach(e => e.destroy()); }
  });
});
