/**
 * The hostile-input suite, on a real lab (router processes, TAPs, ES PIC worker threads): 100,000
 * malformed frames, fragment trains, malformed and oversized control-socket requests, a capture
 * client that never reads. After each, gw-a answers a ping and a `show` within a second, its memory
 * stays under the documented bound (docs/architecture.md, "Limits"), and every frame the router had
 * to drop is counted under its reason, exactly.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, sh, waitUntil, ROOT, Lab } from './helpers.js';
import { ControlClient } from '../../src/daemon/control.js';
import { ROUTER_RSS_BOUND_MB } from '../../src/lab/v8-limits.js';
import { collectedMemory, hwmMbOf, rssMbOf } from '../helpers/memory.js';

/**
 * The most a router process may hold (resident), whatever it is sent: docs/architecture.md. Its V8
 * limits make it so by construction; the test asserts it with a margin (the peak, VmHWM, at 80% of it).
 */
const RSS_ASSERT_MB = ROUTER_RSS_BOUND_MB * 0.8;
const PY = '/usr/bin/python3';

describe.skipIf(!canRun)(`hostile input on a real lab ${skipReason}`, () => {
  let lab: Lab;
  let hostA: string, mac: string, pid: number, sock: string, runDir: string;
  let idle: { rssMb: number; heapUsedMb: number; externalMb: number };
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('gw-a-b', 'x');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
    const s = JSON.parse((await vrouter('inspect', lab.file, '--json')).out);
    hostA = s.nodes['host-a'].netns; pid = s.nodes['gw-a'].pid;
    runDir = `/run/vrouter/${lab.name}`;
    sock = `${runDir}/gw-a.sock`;
    // the TAPs' kernel queues hold 10,000 frames, not 500: the counts below are exact only if gw-a reads
    // every frame, and on a busy machine it can be descheduled for longer than 500 frames take to arrive
    for (const dev of (await sh('ip', ['netns', 'exec', `vr-${lab.name}`, 'ip', '-o', 'link', 'show', 'type', 'tun'])).out.matchAll(/^\d+: ([^:@]+)/gm)) await sh('ip', ['netns', 'exec', `vr-${lab.name}`, 'ip', 'link', 'set', dev[1]!, 'txqueuelen', '10000']);
    mac = /Current address: ([0-9a-f:]{17})/.exec((await vrouter('exec', lab.file, 'gw-a', 'show interfaces fe-0/0/1')).out)![1]!;
  });
  beforeAll(async () => {
    idle = await collectedMemory(runDir, 'gw-a', pid);
    console.log(`gw-a idle, after a collection: ${idle.rssMb.toFixed(1)} MB resident, ${idle.heapUsedMb.toFixed(1)} MB heap, ${idle.externalMb.toFixed(1)} MB external`);
  });
  afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

  const exec = async (...cmds: string[]) => (await vrouter('exec', lab.file, 'gw-a', ...cmds)).out;
  const drops = async (): Promise<Record<string, number>> => Object.fromEntries([...(await exec('show pfe statistics traffic')).matchAll(/^ {4}([a-z0-9-]+)\s+:\s+(\d+)$/gm)].map(m => [m[1]!, Number(m[2])]));
  const picDrops = async (): Promise<Record<string, number>> => {
    const line = /Drops: (.*)/.exec((await exec('show interfaces es-0/1/0 extensive')).split('IPSec statistics:')[1] ?? '')?.[1] ?? '';
    return Object.fromEntries([...line.matchAll(/([a-z-]+): (\d+)/g)].map(m => [m[1]!, Number(m[2])]));
  };
  const rssMb = () => rssMbOf(pid);
  /**
   * gw-a answers a show over its control socket in time (5 s: a router stalled by the attack never
   * answers; a test process on a machine loaded by scripts/ci-under-load.sh may wait a second), and forwards a ping.
   */
  async function alive(): Promise<void> {
    const c = new ControlClient(sock);
    await c.connect(5000);
    let out = '';
    const t0 = Date.now();
    const done = c.exec('show interfaces terse', s => { out += s; });
    const r = await Promise.race([done, new Promise<null>(res => setTimeout(() => res(null), 5000))]);
    c.close();
    expect(r, `show took ${Date.now() - t0} ms`).not.toBeNull();
    expect(out).toContain('es-0/1/0.0');
    expect((await inNs(hostA, 'ping', '-c', '1', '-W', '1', '10.2.2.2')).out).toMatch(/1 received/);
    expect(hwmMbOf(pid), 'gw-a\'s peak resident size').toBeLessThan(RSS_ASSERT_MB);
    // no stage threw: Pfe.guard would have counted (and logged) it as internal-error
    expect((await drops())['internal-error'] ?? 0, 'internal-error drops (see gw-a\'s messages log)').toBe(0);
  }
  /** The kernel's own drops on gw-a's TAPs: zero, or the counts below could not be exact. */
  const tapDrops = async () => [...(await sh('ip', ['netns', 'exec', `vr-${lab.name}`, 'ip', '-s', 'link'])).out.matchAll(/TX:[^\n]*\n\s+\d+\s+\d+\s+\d+\s+(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  const inject = async (phase: string) => {
    const r = await inNs(hostA, PY, join(ROOT, 'test/e2e/hostile.py'), 'eth1', mac, '10.1.1.1', '10.5.5.5', phase);
    expect(r.code, r.out).toBe(0);
    return JSON.parse(r.out.trim().split('\n').pop()!) as Record<string, number>;
  };

  it('100,000 malformed and random frames: each malformed one counted under its reason, exactly; the router stays up', async () => {
    await exec('clear pfe statistics traffic', 'clear ipsec security-associations');
    const tap0 = await tapDrops();
    const sent = await inject('frames');
    expect(Object.values(sent).reduce((a, b) => a + b, 0)).toBe(85_000);
    const expectPfe = ['ip-bad-checksum', 'ip-bad-version', 'ip-short-packet', 'ip-bad-total-length', 'ipsec-no-sa'];
    const d = await waitUntil(async () => { const x = await drops(); return expectPfe.every(k => (x[k] ?? 0) >= sent[k]!) && x; }, 'the drops to be counted', 30000);
    expect(await tapDrops() - tap0, 'the kernel dropped frames before gw-a read them').toBe(0);
    for (const k of expectPfe) expect(d[k], k).toBe(sent[k]);
    await waitUntil(async () => (await picDrops())['bad-icv'] === sent['bad-icv'], `the ES PIC to count ${sent['bad-icv']} bad-icv drops`);
    await alive();
    // and 15,000 frames of random bytes: whatever they are, the router counts and survives
    await exec('clear pfe statistics traffic');
    const rnd = await inject('random');
    await waitUntil(async () => Object.values(await drops()).reduce((a, b) => a + b, 0) >= rnd.random! * 0.5, 'most random frames to be counted as drops');
    expect(await tapDrops() - tap0).toBe(0);
    await alive();
  });

  it('fragment trains (oversize, overlapping, duplicated, thousands of datagrams) are dropped and counted, memory bounded', async () => {
    await exec('clear pfe statistics traffic');
    const sent = await inject('frags');
    const d = await waitUntil(async () => { const x = await drops(); return (x['frag-evicted'] ?? 0) >= sent['frag-flood']! - 256 && x; }, 'the fragments to be counted', 30000);
    expect(d['frag-too-big']).toBe(sent['frag-too-big']);
    expect(d['frag-overlap']).toBe(sent['frag-overlap']);
    expect(d['frag-duplicate']).toBe(sent['frag-duplicate']! - 1);
    // 5,000 datagrams and the one duplicated: 256 stay (the limit), the rest are evicted
    expect(d['frag-evicted']).toBe(sent['frag-flood']! + 1 - 256);
    await alive();
  });

  it('malformed, random and oversized control-socket requests get errors; the router serves on', async () => {
    const s = createConnection(sock);
    let replies = '';
    s.on('data', d => { replies += d; });
    s.on('error', () => {});
    await new Promise(r => s.once('connect', r));
    let seed = 99;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    const lines = ['null', '{"capture":5}', '{"help":5}', '{"complete":null}', '[]', '"x"', '{"id":1,"cmd":5}'];
    for (let i = 0; i < 2000; i++) lines.push(rnd() % 2 ? `{"id":${rnd() % 100},"${['cmd', 'help', 'complete', 'capture', 'status', 'x'][rnd() % 6]}":${['1', 'null', '"show version"', '{}', 'true'][rnd() % 5]}}` : Buffer.from(Array.from({ length: rnd() % 80 }, () => 32 + (rnd() % 90))).toString());
    s.write(lines.join('\n') + '\n');
    s.write('{"id":777,"hello":true}\n');
    await waitUntil(() => replies.includes('"id":777'), 'the hello after the garbage');
    expect(replies.split('\n').filter(l => l.includes('bad request')).length).toBeGreaterThan(900);
    // a line that never ends closes that connection only
    const closed = new Promise(r => s.on('close', r));
    const chunk = 'y'.repeat(256 * 1024);
    for (let i = 0; i < 8 && !s.destroyed; i++) s.write(chunk);
    await closed;
    await alive();
  });

  it('a capture client that never reads, under a flood: the router drops the capture\'s packets, not its memory', async () => {
    const s = createConnection(sock);
    let replies = '';
    s.on('error', () => {});
    await new Promise(r => s.once('connect', r));
    s.on('data', d => { replies += d; });
    s.write('{"id":1,"capture":"fe-0/0/0"}\n');
    await waitUntil(() => replies.includes('"capturing":true'), 'the capture to start');
    s.pause();
    const rss0 = rssMb();
    // 3 seconds of full-size pings, 64 in flight (each crosses fe-0/0/0 twice): far more than the capture may buffer
    const f = await inNs(hostA, 'ping', '-f', '-l', '64', '-s', '1400', '-w', '3', '10.2.2.2');
    expect(f.out).toMatch(/[1-9]\d* received/);
    const flood = rssMb();
    expect(flood).toBeLessThan(RSS_ASSERT_MB);
    s.resume();
    s.write('{"id":1,"cancel":true}\n');
    const done = await waitUntil(() => replies.split('\n').find(l => l.includes('"done":true') && l.includes('"id":1')), 'the capture to end');
    expect(JSON.parse(done).dropped).toBeGreaterThan(0);
    s.destroy();
    // what the flood left behind, once collected: back near idle
    const after = await collectedMemory(runDir, 'gw-a', pid);
    console.log(`gw-a under the capture flood: ${rss0.toFixed(1)} MB resident before, ${flood.toFixed(1)} MB at its end, peak ${hwmMbOf(pid).toFixed(1)} MB (bound ${ROUTER_RSS_BOUND_MB} MB); after a collection ${after.rssMb.toFixed(1)} MB resident, ${after.heapUsedMb.toFixed(1)} MB heap`);
    expect(after.heapUsedMb - idle.heapUsedMb, 'heap the flood left behind').toBeLessThan(16);
    await alive();
  });
});
