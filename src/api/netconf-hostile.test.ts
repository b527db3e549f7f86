/**
 * Issue 21 items 7 and 8: the NETCONF framer is linear (a 4 MB message in 1 KB pieces), a client that
 * sends many requests and never reads holds bounded memory (NETCONF and JUNOScript), and a session's
 * commands stop when it closes (50 closed sessions leave no ping running); a ping without a count
 * sends API_PING_COUNT requests.
 */
import { describe, it, expect, afterAll } from 'vitest';
// the router daemon loads the CLI, which gives mgd the shell `<command>` runs in (src/mgd/shell.ts)
import '../cli/interp.js';
import { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Router } from '../router/router.js';
import { CommitDb } from '../cli/commitdb.js';
import { Framer, netconfSession, NETCONF_LIMITS } from './netconf.js';
import { junoscriptSession } from './junoscript.js';
import { PUMP_LIMITS, API_PING_COUNT } from './pump.js';
import { maxLag, LAG_BOUND_MS } from '../../test/helpers/lag.js';

const r = new Router({ name: 'gw-a', ipsec: 'inline' });
afterAll(() => r.stop());
const hash = execFileSync('openssl', ['passwd', '-6', 'pw-1']).toString().trim();
const c = r.commitText(readFileSync(new URL('../../topologies/gw-a-ike.conf', import.meta.url), 'utf8').replace('host-name gw-a;', `host-name gw-a; login { user netops { class super-user; authentication { encrypted-password "${hash}"; } } }`), 't');
if (!c.ok) throw new Error(c.output);
const db = new CommitDb(r);
const SU = { name: 'netops', cls: 'super-user' };
const until = async (cond: () => boolean) => { while (!cond()) await new Promise(res => setTimeout(res, 10)); };
const HELLO = '<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>]]>]]>';

/** A stream whose reader reads only when `hold` is off. */
function stream() {
  let hold = false, out = '', bytes = 0;
  const held: Array<() => void> = [];
  const s = new Duplex({ highWaterMark: 16 * 1024, read() {}, write(chunk, _e, cb) { bytes += chunk.length; out += String(chunk); if (hold) held.push(cb); else cb(); }, final(cb) { cb(); } });
  return { s, out: () => out, bytes: () => bytes, hold: () => { hold = true; }, release: () => { hold = false; for (const cb of held.splice(0)) cb(); } };
}

describe('NETCONF framer', () => {
  for (const chunked of [false, true]) {
    it(`one 4 MB message in 1 KB pieces (${chunked ? 'chunked, base:1.1' : ']]>]]>, base:1.0'}): whole, in linear time`, async () => {
      const got: string[] = [];
      const f = new Framer({ message: m => got.push(m), error: why => { throw new Error(why); } });
      f.chunked = chunked;
      const body = `<rpc message-id="1"><get-config><source><running/></source></get-config>${' '.repeat(NETCONF_LIMITS.messageBytes - 200)}</rpc>`;
      let wire = chunked ? '' : `${body}]]>]]>`;
      if (chunked) { for (let i = 0; i < body.length; i += 4000) wire += `\n#${Math.min(4000, body.length - i)}\n${body.slice(i, i + 4000)}`; wire += '\n##\n'; }
      const buf = Buffer.from(wire);
      const t0 = performance.now();
      const { lagMs } = await maxLag(async () => {
        for (let i = 0; i < buf.length; i += 1024) { f.push(buf.subarray(i, i + 1024)); if (i % (256 * 1024) === 0) await new Promise(res => setImmediate(res)); }
      });
      const ms = performance.now() - t0;
      expect(got).toEqual([body]);
      expect(lagMs).toBeLessThan(LAG_BOUND_MS);
      expect(ms).toBeLessThan(3000);   // was 4.4-11.7 s (quadratic)
    });
  }
  it('a message over the bound is refused, the UTF-8 of chunks split mid-character is kept', () => {
    const errs: string[] = [], got: string[] = [];
    const f = new Framer({ message: m => got.push(m), error: why => errs.push(why) });
    f.push(Buffer.alloc(NETCONF_LIMITS.messageBytes + 100, 0x20));
    expect(errs[0]).toMatch(/longer than/);
    const g = new Framer({ message: m => got.push(m), error: why => errs.push(why) });
    g.chunked = true;
    const w = Buffer.from('\n#4\n\u00e9\u00e9\n##\n');
    for (let i = 0; i < w.length; i++) g.push(w.subarray(i, i + 1));
    expect(got).toEqual(['\u00e9\u00e9']);
  });
});

describe('sessions that never read', () => {
  it('NETCONF: 4.5 MB of requests, a reader that never reads: the stream paused, replies bounded', async () => {
    const t = stream();
    netconfSession(r, db, SU, t.s, '10.1.1.1');
    t.s.push(HELLO);
    await until(() => /<\/hello>/.test(t.out()));
    t.hold();
    const rpc = (i: number) => { const m = `<rpc message-id="${i}"><get-config><source><running/></source></get-config></rpc>`; return `\n#${Buffer.byteLength(m)}\n${m}\n##\n`; };
    let sent = 0, i = 0;
    const { lagMs } = await maxLag(async () => {
      while (sent < 4.5 * 1024 * 1024) { const x = rpc(i++).repeat(100); t.s.push(x); sent += x.length; if (i % 1000 === 0) await new Promise(res => setImmediate(res)); }
      await until(() => t.s.isPaused() && t.s.writableNeedDrain);
    });
    expect(lagMs).toBeLessThan(LAG_BOUND_MS * 4);
    const replies = t.out().split('<rpc-reply').length - 1;
    expect(replies).toBeLessThan(PUMP_LIMITS.queued + 2);
    expect(t.s.writableLength).toBeLessThan(256 * 1024);
    expect(t.bytes()).toBeLessThan(2 * 1024 * 1024);
    t.s.destroy();
  });
  it('JUNOScript: the same flood after login: paused, bounded', async () => {
    const t = stream();
    junoscriptSession(r, db, t.s, '10.1.1.1');
    t.s.push('<junoscript version="1.0"><rpc><request-login><username>netops</username><challenge-response>pw-1</challenge-response></request-login></rpc>');
    await until(() => /success/.test(t.out()));
    t.hold();
    for (let k = 0; k < 300; k++) t.s.push('<rpc><get-configuration/></rpc>'.repeat(500));
    await until(() => t.s.isPaused() && t.s.writableNeedDrain);
    expect(t.out().split('<rpc-reply').length - 1).toBeLessThan(PUMP_LIMITS.queued + 3);
    expect(t.s.writableLength).toBeLessThan(256 * 1024);
    t.s.destroy();
  });
});

describe("a session's commands end with it", () => {
  it('50 closed sessions (JUNOScript and NETCONF) leave no ping running', async () => {
    let running = 0;
    const add = r.pfe.addListener.bind(r.pfe);
    r.pfe.addListener = ((l: Parameters<typeof add>[0]) => { running++; const off = add(l); let done = false; return () => { if (!done) { done = true; running--; } off(); }; }) as typeof add;
    try {
      const base = running;
      const streams: Duplex[] = [];
      for (let k = 0; k < 50; k++) {
        const t = stream();
        streams.push(t.s);
        if (k % 2) {
          netconfSession(r, db, SU, t.s, '10.1.1.1');
          t.s.push(HELLO);
          const m = '<rpc message-id="p"><command>ping 10.0.0.2 count 1000000 interval 0.1</command></rpc>';
          t.s.push(`\n#${m.length}\n${m}\n##\n`);
        } else {
          junoscriptSession(r, db, t.s, '10.1.1.1');
          t.s.push('<junoscript version="1.0"><rpc><request-login><username>netops</username><challenge-response>pw-1</challenge-response></request-login></rpc><rpc><command>ping 10.0.0.2 count 1000000 interval 0.1</command></rpc>');
        }
      }
      await until(() => running - base === 50);
      for (const s of streams) s.destroy();
      await until(() => running === base);
      expect(running).toBe(base);
    } finally { r.pfe.addListener = add; }
  }, 60_000);
  it(`a ping without a count sends ${API_PING_COUNT} requests`, async () => {
    const t = stream();
    netconfSession(r, db, SU, t.s, '10.1.1.1');
    t.s.push(HELLO);
    const m = '<rpc message-id="p"><command>ping 10.0.0.2 interval 0.1</command></rpc>';
    t.s.push(`\n#${m.length}\n${m}\n##\n`);
    await until(() => /packets transmitted/.test(t.out()));
    expect(t.out()).toMatch(new RegExp(`${API_PING_COUNT} packets transmitted`));
    t.s.destroy();
  }, 30_000);
});
