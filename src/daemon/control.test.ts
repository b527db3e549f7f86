/**
 * The control socket under hostile clients: malformed and random requests, a character split
 * across chunks, an endless line, a capture client that never reads. The router answers every
 * request (or ignores it) and keeps serving; nothing it buffers grows without bound.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createConnection, Socket, Server } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from '../router/router.js';
import { CommitDb } from '../cli/commitdb.js';
import { serveControl, parseRequest, ControlClient, CONTROL_LIMITS } from './control.js';
import { delivered } from '../../test/helpers/settle.js';
import { Wire } from '../lab/wire.js';
import { buildEth, ETH_IPV4 } from '../net/ethernet.js';
import { buildIpv4, PROTO_UDP } from '../net/ipv4.js';
import { ipToInt } from '../net/ip.js';

const TOPO = join(import.meta.dirname, '../../topologies');
let dir: string, path: string, router: Router, server: Server, wire: Wire;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vrouter-ctl-'));
  path = join(dir, 'r.sock');
  router = new Router({ name: 'gw-a', ipsec: 'inline' });
  expect(router.commitText(readFileSync(join(TOPO, 'gw-a.conf'), 'utf8')).ok).toBe(true);
  wire = new Wire();
  router.pfe.attach('fe-0/0/1', wire.b);
  server = serveControl(path, router, new CommitDb(router));
  await new Promise<void>(r => server.once('listening', () => r()));
});
afterAll(async () => { server.close(); await router.stop(); rmSync(dir, { recursive: true, force: true }); });

/** A raw client: send lines, collect reply lines. */
function raw(): { sock: Socket; lines: () => Array<Record<string, unknown>>; closed: Promise<void>; waitFor: (pred: (m: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>> } {
  const sock = createConnection(path);
  let buf = '';
  const got: Array<Record<string, unknown>> = [];
  const waiters: Array<[(m: Record<string, unknown>) => boolean, (m: Record<string, unknown>) => void]> = [];
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const m = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
      buf = buf.slice(i + 1);
      got.push(m);
      for (const w of waiters.slice()) if (w[0](m)) { waiters.splice(waiters.indexOf(w), 1); w[1](m); }
    }
  });
  const closed = new Promise<void>(r => sock.on('close', () => r()));
  sock.on('error', () => {});
  return { sock, lines: () => got, closed, waitFor: pred => new Promise(r => { const m = got.find(pred); if (m) r(m); else waiters.push([pred, r]); }) };
}

async function stillServes(): Promise<void> {
  const c = new ControlClient(path);
  await c.connect();
  let out = '';
  const r = await c.exec('show interfaces terse', s => { out += s; });
  expect(r.error).toBe(false);
  expect(out).toMatch(/es-0\/1\/0\.0\s+up\s+up\s+inet\s+10\.1\.1\.8/);
  c.close();
}

describe('control socket requests', () => {
  it('parseRequest refuses every malformed shape with a reason', () => {
    for (const line of ['null', '5', '"x"', '[]', '{}', '{"capture":5}', '{"id":1,"capture":5}', '{"id":1,"help":5}', '{"id":1,"complete":null}',
      '{"id":-1,"cmd":"x"}', '{"id":1.5,"cmd":"x"}', '{"id":1,"cmd":"x","help":"y"}', '{"id":1,"status":"yes"}', '{"id":1,"capture":"fe-0/0/0","count":0}', '{', '{"id":1}']) {
      expect(parseRequest(line), line).toHaveProperty('error');
    }
    expect(parseRequest('{"id":3,"cmd":"show route"}')).toEqual({ id: 3, kind: 'cmd', cmd: 'show route' });
    // help and completion run inline on the router's thread: their text is bounded (a 500k-character word cost 0.3 s)
    for (const k of ['help', 'complete']) {
      expect(parseRequest(JSON.stringify({ id: 4, [k]: 'show ' + 'a'.repeat(CONTROL_LIMITS.helpText) }))).toMatchObject({ id: 4, error: expect.stringMatching(/longer than 4096/) });
      expect(parseRequest(JSON.stringify({ id: 4, [k]: 'show ' }))).toEqual({ id: 4, kind: k, text: 'show ' });
    }
  });

  it('malformed lines each get an error reply, and the router keeps serving', async () => {
    const c = raw();
    const bad = ['null', '{"capture":5}', '{"help":5}', '{"complete":null}', '{"id":7,"capture":5}', '{"id":8,"help":5}', '{"id":9,"complete":null}', 'garbage', '[1,2]'];
    c.sock.write(bad.join('\n') + '\n');
    c.sock.write('{"id":10,"hello":true}\n');
    await c.waitFor(m => m.id === 10);
    expect(c.lines().filter(m => typeof m.error === 'string' && m.error.startsWith('bad request'))).toHaveLength(bad.length);
    c.sock.destroy();
    await stillServes();
  });

  it('random requests never take it down', async () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    const vals = ['null', 'true', '1', '-3', '1e309', '"show route"', '"\\u0000"', '{}', '[]', '"' + 'x'.repeat(300) + '"'];
    const keys = ['id', 'cmd', 'cancel', 'hello', 'help', 'complete', 'status', 'capture', 'count', '__proto__', 'constructor'];
    const c = raw();
    for (let i = 0; i < 3000; i++) {
      const n = rnd() % 4;
      const fields = Array.from({ length: n }, () => `"${keys[rnd() % keys.length]}":${vals[rnd() % vals.length]}`);
      const line = rnd() % 10 === 0 ? Buffer.from(Array.from({ length: rnd() % 64 }, () => rnd() & 255)).toString('latin1').replace(/\n/g, '') : `{${fields.join(',')}}`;
      c.sock.write(line + '\n');
    }
    c.sock.write('{"id":424242,"hello":true}\n');
    await c.waitFor(m => m.id === 424242);
    c.sock.destroy();
    await stillServes();
  });

  it('a character split across two chunks arrives whole (UTF-8 decoding across chunks)', async () => {
    const c = raw();
    const line = Buffer.from('{"id":1,"cmd":"show log caf\u00e9"}\n', 'utf8');
    const cut = line.indexOf(0xc3) + 1;   // between the two bytes of é
    // the second half goes once the router has read the first alone (its socket's data event), so the
    // two halves really are two chunks
    const firstRead = new Promise<void>(res => server.once('connection', (srv: Socket) => srv.once('data', () => res())));
    await new Promise(r => c.sock.once('connect', r));
    c.sock.write(line.subarray(0, cut));
    await firstRead;
    c.sock.write(line.subarray(cut));
    const m = await c.waitFor(x => x.id === 1 && typeof x.out === 'string');
    expect(m.out).toContain('could not resolve file: caf\u00e9');
    c.sock.destroy();
  });

  it('an endless line closes that connection only', async () => {
    const c = raw();
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < (CONTROL_LIMITS.lineBytes / chunk.length) + 4 && !c.sock.destroyed; i++) c.sock.write(chunk);
    await c.closed;
    expect(c.lines().some(m => m.error === 'request too long')).toBe(true);
    await stillServes();
  });

  it('the socket is created owner-only', () => {
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('a capture client that never reads: the router drops and counts, its memory stays bounded', async () => {
    const c = raw();
    c.sock.write('{"id":1,"capture":"fe-0/0/1"}\n');
    await c.waitFor(m => m.id === 1 && m.capturing === true);
    c.sock.pause();                      // and never read again
    // garbage collected before each measure: what stays is what the router keeps, not what it threw away
    v8.setFlagsFromString('--expose_gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const heap0 = process.memoryUsage().heapUsed + process.memoryUsage().external;
    const mac = router.pfe.ifds.get('fe-0/0/1')!.mac;
    const frame = buildEth(mac, Buffer.from('02aa00000001', 'hex'), ETH_IPV4, buildIpv4({ protocol: PROTO_UDP, src: ipToInt('10.1.1.1'), dst: ipToInt('10.1.1.254'), id: 1 }, Buffer.alloc(1400)));
    for (let i = 0; i < 40000; i++) { wire.a.send(frame); if (i % 1000 === 0) await new Promise(r => setImmediate(r)); }
    await delivered({ wires: new Map([['w', wire]]) });
    gc();
    const grown = process.memoryUsage().heapUsed + process.memoryUsage().external - heap0;
    // 40,000 frames are about 75 MB as base64 JSON: the router keeps only a few MB of them
    expect(grown).toBeLessThan(40 << 20);
    c.sock.resume();
    c.sock.write('{"id":1,"cancel":true}\n');
    const done = await c.waitFor(m => m.id === 1 && m.done === true);
    expect(Number(done.dropped)).toBeGreaterThan(10000);
    expect(router.pfe.drops.get('internal-error') ?? 0, 'internal-error drops').toBe(0);
    c.sock.destroy();
    await stillServes();
  });
});
