/**
 * The page's capture and packet trace against an in-memory Figure 11 lab (two real routers with the
 * manual SA, simulated hosts, wires), each router behind its real control socket: a capture's live
 * lines show the ESP SPI, its pcap reads in tcpdump; a trace gives a ping's path on both routers
 * with its PFE stages and the ES PIC, and the stage and reason of a drop; bad requests are refused.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:net';
import WebSocket from 'ws';
import { figure11 } from '../lab/memlab.js';
import type { SimHost } from '../lab/host.js';
import { CommitDb } from '../cli/commitdb.js';
import { serveControl } from '../daemon/control.js';
import { loadTopology } from '../lab/topology.js';
import { readPcap } from '../net/pcap.js';
import { startWeb, WebServer } from './server.js';
import type { TraceRecord } from './tracer.js';
import { tracePath, traceKeys } from './tracepath.js';
import { labJson } from './server.js';

const TOPO = join(import.meta.dirname, '../../topologies');
const TOKEN = 'lab-test-token-0123456789';
let dir: string, web: WebServer, lab: Awaited<ReturnType<typeof figure11>>, ctls: Server[] = [];
let hostA: SimHost;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vrouter-weblab-'));
  lab = await figure11(TOPO, { ipsec: 'inline' });
  hostA = lab.hostA;
  for (const r of [lab.gwA, lab.gwB]) {
    const s = serveControl(join(dir, `${r.name}.sock`), r, new CommitDb(r));
    await new Promise<void>(res => s.once('listening', () => res()));
    ctls.push(s);
  }
  web = await startWeb({ topology: loadTopology(join(TOPO, 'gw-a-b.yaml')), sockets: dir, token: TOKEN });
  expect((await hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 })).length).toBe(1);   // ARP settled, the tunnel carries
});
afterAll(async () => { await web?.close(); for (const s of ctls) s.close(); await lab?.lab.close(); rmSync(dir, { recursive: true, force: true }); });

type Msg = Record<string, unknown>;
function wsOpen(path: string): Promise<{ ws: WebSocket; msgs: Msg[]; next: (pred: (m: Msg) => boolean) => Promise<Msg> }> {
  return new Promise((res, rej) => {
    const ws = new WebSocket(`ws://127.0.0.1:${web.port}${path}?token=${TOKEN}`);
    const msgs: Msg[] = [];
    const waiters: Array<[(m: Msg) => boolean, (m: Msg) => void]> = [];
    ws.on('message', d => { const m = JSON.parse(String(d)) as Msg; msgs.push(m); for (const w of waiters.splice(0)) if (w[0](m)) w[1](m); else waiters.push(w); });
    const next = (pred: (m: Msg) => boolean) => new Promise<Msg>(r => { const f = msgs.find(pred); if (f) r(f); else waiters.push([pred, r]); });
    ws.once('open', () => res({ ws, msgs, next }));
    ws.once('error', rej);
  });
}
/** ping until `cond` holds (each round waits for the replies, not for a guessed time) */
async function pingUntil(cond: () => boolean, rounds = 40): Promise<void> {
  for (let i = 0; i < rounds && !cond(); i++) await hostA.ping('10.2.2.2', { count: 1, timeoutMs: 2000 });
  expect(cond()).toBe(true);
}

describe('capture from the page', () => {
  it('captures N packets of a port: live lines with ESP SPIs, a pcap that tcpdump reads', async () => {
    const { ws, msgs, next } = await wsOpen('/ws/capture');
    ws.send(JSON.stringify({ start: { node: 'gw-a', ifname: 'fe-0/0/0', count: 6 } }));
    const started = await next(m => !!m.started);
    expect(started).toMatchObject({ node: 'gw-a', ifname: 'fe-0/0/0', linktype: 1, count: 6 });
    await pingUntil(() => msgs.some(m => m.done));
    const done = await next(m => !!m.done);
    ws.close();
    expect(done).toMatchObject({ packets: 6, reason: '6 packets' });
    const lines = msgs.filter(m => typeof m.n === 'number');
    expect(lines.length).toBe(6 - Number(done.unsent));
    const esp = lines.filter(m => m.proto === 'esp');
    expect(esp.length).toBeGreaterThan(0);
    for (const m of esp) expect(String(m.line)).toMatch(/IP 10\.(5\.5\.5 > 10\.6\.6\.6|6\.6\.6 > 10\.5\.5\.5): ESP SPI 0x00000908 seq \d+/);
    const r = await fetch(`http://127.0.0.1:${web.port}/api/capture/${String(done.id)}?token=${TOKEN}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toMatch(/attachment; filename="gw-a-b-gw-a-fe-0_0_0\.pcap"/);
    const pcap = Buffer.from(await r.arrayBuffer());
    expect(readPcap(pcap).packets.length).toBe(6);
    if (existsSync('/usr/bin/tcpdump')) {
      const f = join(dir, 'c.pcap');
      writeFileSync(f, pcap);
      const out = execFileSync('/usr/bin/tcpdump', ['-n', '-r', f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out.trim().split('\n').length).toBe(6);
      expect(out).toMatch(/ESP\(spi=0x00000908,seq=0x[0-9a-f]+\)/);
    }
    expect((await fetch(`http://127.0.0.1:${web.port}/api/capture/${String(done.id)}`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${web.port}/api/capture/nope?token=${TOKEN}`)).status).toBe(404);
  });

  it('an es- interface is raw IP; a capture for N seconds ends by itself; stop ends one early', async () => {
    const { ws, msgs, next } = await wsOpen('/ws/capture');
    ws.send(JSON.stringify({ start: { node: 'gw-b', ifname: 'es-0/1/0', seconds: 1 } }));
    expect(await next(m => !!m.started)).toMatchObject({ linktype: 101, seconds: 1 });
    await hostA.ping('10.2.2.2', { count: 2, timeoutMs: 2000 });
    const done = await next(m => !!m.done);
    expect(done.reason).toBe('1 seconds');
    const icmp = msgs.filter(m => m.proto === 'icmp').map(m => String(m.line));
    expect(icmp.some(l => /^IP 10\.1\.1\.1 > 10\.2\.2\.2: ICMP echo request/.test(l))).toBe(true);
    ws.send(JSON.stringify({ start: { node: 'gw-a', ifname: 'fe-0/0/1' } }));
    expect(await next(m => !!m.started && m.ifname === 'fe-0/0/1')).toMatchObject({ seconds: 600 });
    ws.send(JSON.stringify({ stop: true }));
    expect((await next(m => !!m.done && m.reason === 'stopped'))).not.toHaveProperty('error');
    ws.close();
  });

  it('refuses bad requests with a reason', async () => {
    const { ws, next } = await wsOpen('/ws/capture');
    const ask = async (start: unknown) => { ws.send(JSON.stringify({ start })); return String((await next(m => typeof m.error === 'string' && !m.seen && ((m.seen = true)))).error); };
    expect(await ask({ node: 'host-a', ifname: 'eth1' })).toMatch(/no router host-a/);
    expect(await ask({ node: 'gw-a', ifname: '; rm -rf /' })).toMatch(/interface name/);
    expect(await ask({ node: 'gw-a', ifname: 'fe-0/0/0', count: 0 })).toMatch(/count must be 1\.\.100000/);
    expect(await ask({ node: 'gw-a', ifname: 'fe-0/0/0', seconds: 10000 })).toMatch(/seconds must be 1\.\.600/);
    ws.send(JSON.stringify({ start: { node: 'gw-a', ifname: 'fe-9/9/9' } }));
    const bad = await next(m => !!m.done);
    expect(bad).toMatchObject({ error: 'device fe-9/9/9 not found', packets: 0 });
    expect(bad).not.toHaveProperty('id');   // nothing to download
    ws.close();
  });
});

describe('packet trace from the page', () => {
  const traces = (msgs: Msg[], router: string) => msgs.filter(m => m.router === router && m.trace).map(m => m.trace as TraceRecord);

  it('a ping: both routers, their PFE stages and the ES PIC, joined by the packet key', async () => {
    const { ws, msgs, next } = await wsOpen('/ws/trace');
    ws.send(JSON.stringify({ start: { src: '10.1.1.1', dst: '10.2.2.2', count: 2 } }));
    await next(m => m.router === 'gw-a' && !!m.tracing);
    await next(m => m.router === 'gw-b' && !!m.tracing);
    await hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 });
    await next(m => m.done === true && m.router === undefined);
    ws.close();
    const a = traces(msgs, 'gw-a'), b = traces(msgs, 'gw-b');
    const req = a.find(t => !t.continued && /echo-request/.test(t.key ?? ''))!;
    expect(req.key).toMatch(/^10\.1\.1\.1>10\.2\.2\.2 icmp echo-request id \d+ seq 1$/);
    expect(req.head).toMatch(/^received on fe-0\/0\/1, \d+ bytes$/);
    expect(req.steps.map(s => s.stage)).toEqual(expect.arrayContaining(['ethernet-input', 'ip4-input', 'ip4-filter-in', 'ipsec-out']));
    const sealed = a.find(t => t.continued && t.num === req.num)!;
    expect(sealed.key).toBe(req.key);
    expect(sealed.head).toMatch(/^ES PIC sealed it for es-0\/1\/0\.0/);
    expect(sealed.steps.at(-1)).toMatchObject({ stage: 'interface-output', text: expect.stringMatching(/^sent on fe-0\/0\/0/) });
    // gw-b: the same packet, decrypted by its ES PIC, out to host-b
    const there = b.find(t => t.key === req.key)!;
    expect(there.head).toMatch(/^received on es-0\/1\/0/);
    expect(there.steps.at(-1)).toMatchObject({ stage: 'interface-output', text: expect.stringMatching(/^sent on fe-0\/0\/1/) });
    // the reply, both ways matched by default
    const reply = req.key!.replace(/^(\S+)>(\S+) icmp echo-request/, '$2>$1 icmp echo-reply');
    expect(b.some(t => t.key === reply)).toBe(true);
    expect(a.some(t => t.key === reply)).toBe(true);
    // the map's walk: host-a, gw-a's stages, its ES PIC, gw-a out, gw-b's ES PIC and stages, host-b
    const links = labJson(loadTopology(join(TOPO, 'gw-a-b.yaml'))).links;
    const parts = [...a.map(trace => ({ router: 'gw-a', trace })), ...b.map(trace => ({ router: 'gw-b', trace }))];
    expect(traceKeys(parts).slice(0, 2)).toEqual([req.key, reply]);
    const walk = tracePath(req.key!, parts, links);
    const names = walk.steps.map(s => s.stage ? `${s.at}:${s.stage}` : s.at);
    expect(names[0]).toBe('host-a');
    expect(names.at(-1)).toBe('host-b');
    expect(names.indexOf('gw-a:ipsec-out')).toBeLessThan(names.indexOf('gw-a:ES PIC'));
    expect(names.indexOf('gw-a:ES PIC')).toBeLessThan(names.lastIndexOf('gw-a:interface-output'));
    expect(names.lastIndexOf('gw-a:interface-output')).toBeLessThan(names.indexOf('gw-b:ES PIC'));
    expect(names.indexOf('gw-b:ES PIC')).toBeLessThan(names.lastIndexOf('gw-b:interface-output'));
    expect(walk).toMatchObject({ reached: 'host-b' });
    expect(walk.drop).toBeUndefined();
    // the routers' clocks and report times do not order the walk: gw-b reporting first changes nothing
    const skewed = parts.map(x => x.router === 'gw-b' ? { ...x, trace: { ...x.trace, at: x.trace.at - 1000 } } : x);
    expect(tracePath(req.key!, skewed, links).steps).toEqual(walk.steps);
    const back = tracePath(reply, parts, links).steps;
    expect(tracePath(reply, skewed.map(x => x.router === 'gw-a' ? { ...x, trace: { ...x.trace, at: x.trace.at - 5000 } } : x), links).steps).toEqual(back);
    expect([back[0]!.at, back.at(-1)!.at]).toEqual(['host-b', 'host-a']);
  });

  it('a dropped packet: the stage and the reason', async () => {
    const { ws, msgs, next } = await wsOpen('/ws/trace');
    ws.send(JSON.stringify({ start: { src: '10.1.1.1', dst: '10.2.2.2', count: 1, both: false, seconds: 30 } }));
    await next(m => m.router === 'gw-a' && !!m.tracing);
    await hostA.ping('10.2.2.2', { count: 1, ttl: 1, timeoutMs: 500 });   // TTL 1: gw-a cannot forward it
    const got = await next(m => m.router === 'gw-a' && !!m.trace);
    ws.send(JSON.stringify({ stop: true }));
    await next(m => m.done === true && m.router === undefined);
    ws.close();
    const t = got.trace as TraceRecord;
    expect(t.key).toMatch(/^10\.1\.1\.1>10\.2\.2\.2 icmp echo-request id \d+ seq 1$/);
    expect(t.steps.at(-1)).toEqual({ stage: 'ip4-filter-in', text: 'drop: ttl-expired', drop: 'ttl-expired' });
    const walk = tracePath(t.key!, [{ router: 'gw-a', trace: t }], labJson(loadTopology(join(TOPO, 'gw-a-b.yaml'))).links);
    expect(walk.drop).toEqual({ router: 'gw-a', stage: 'ip4-filter-in', reason: 'ttl-expired' });
    expect(walk.steps[0]!.at).toBe('host-a');
    expect(walk.reached).toBeUndefined();
    expect(traces(msgs, 'gw-b')).toEqual([]);
  });

  it('refuses bad requests with a reason', async () => {
    const { ws, next } = await wsOpen('/ws/trace');
    ws.send(JSON.stringify({ start: { src: 'not-an-ip' } }));
    expect((await next(m => typeof m.error === 'string')).error).toMatch(/src must be an IPv4 address/);
    ws.send(JSON.stringify({ start: { count: 1000 } }));
    expect((await next(m => typeof m.error === 'string' && /count/.test(String(m.error)))).error).toMatch(/count must be 1\.\.100/);
    ws.close();
  });
});
