/**
 * Impaired links for real (vrouter netem): with a fixed seed the loss measured by ping is the loss the
 * seed gives; a delay shows in every round trip; IKE converges over loss and delay on the gateways'
 * link; TCP through the tunnel over a slow link (--rate) takes at least what the rate allows; a linux
 * node's port gets tc netem or a clear error; inspect shows what is set, with its counters.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, sh, leftovers, cleanup, waitUntil, Lab } from './helpers.js';
import { NetemQueue } from '../../src/pfe/netem.js';

/**
 * Has this kernel a netem qdisc? Asked of tc itself, on a veth pair in a namespace of its own (removed
 * again), not of vrouter: the test then expects vrouter's success or its error.
 */
let hasNetem: boolean | undefined;
async function kernelHasNetem(): Promise<boolean> {
  if (hasNetem !== undefined) return hasNetem;
  const ns = `netem-probe-${process.pid}`;
  try {
    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['-n', ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
    hasNetem = (await inNs(ns, 'tc', 'qdisc', 'add', 'dev', 'p0', 'root', 'netem', 'delay', '1ms')).code === 0;
  } finally { await sh('ip', ['netns', 'del', ns]); }
  return hasNetem;
}

let lab: Lab | undefined;
let server: ChildProcess | undefined;
afterAll(async () => { server?.kill(); if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

describe.skipIf(!canRun)(`vrouter netem ${skipReason}`, () => {
  let l: Lab;
  const netem = async (...a: string[]) => await vrouter('netem', l.file, ...a);
  const exec = async (node: string, ...cmds: string[]) => await vrouter('exec', l.file, node, ...cmds);
  const inspect = async () => JSON.parse((await vrouter('inspect', l.file, '--json')).out) as { netem: Record<string, { params: Record<string, number>; counters: Record<string, number> }> };
  const hostA = async (...cmd: string[]) => await inNs(`${l.name}-host-a`, ...cmd);

  it('the lab comes up', async () => {
    buildOnce();
    l = lab = labCopy('gw-a-b-ike', 'n');
    const r = await vrouter('up', l.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
  }, 300000);

  it('a fixed seed: the loss ping measures is the loss the seed gives; a delay is in every round trip', async () => {
    expect((await hostA('ping', '-c', '1', '-W', '2', '10.1.1.254')).out).toMatch(/1 received/);   // ARP resolved first
    const set = await netem('gw-a:fe-0/0/1', '--loss', '30', '--seed', '42');
    expect(set.code, set.err).toBe(0);
    expect(set.out.trim()).toBe('gw-a:fe-0/0/1: loss 30%, seed 42');
    const N = 100;
    const p = (await hostA('ping', '-c', String(N), '-i', '0.02', '-W', '1', '10.1.1.254')).out;
    const received = Number(/(\d+) received/.exec(p)![1]);
    const s = (await inspect()).netem['gw-a:fe-0/0/1']!;
    expect(s.params).toEqual({ lossPct: 30, seed: 42 });
    // every echo reply went out of fe-0/0/1 through the impairment: what it lost is what ping missed
    expect(s.counters.lost).toBe(N - received);
    expect(N - received).toBeGreaterThan(15);
    expect(N - received).toBeLessThan(45);
    if (s.counters.packets === N) {
      // nothing but the N replies crossed it: the seed's own count, frame for frame
      const q = new NetemQueue({ lossPct: 30, seed: 42 });
      for (let i = 0; i < N; i++) q.enqueue(Buffer.alloc(98), 0);
      expect(s.counters.lost).toBe(q.counters.lost);
    }
    expect((await exec('gw-a', 'show interfaces fe-0/0/1 extensive')).code).toBe(0);
    expect((await vrouter('inspect', l.file)).out).toMatch(/netem gw-a:fe-0\/0\/1: loss 30%, seed 42: 100 packets, \d+ sent, \d+ lost/);

    expect((await netem('gw-a:fe-0/0/1', '--delay', '40')).code).toBe(0);
    const d = (await hostA('ping', '-c', '5', '-i', '0.2', '-W', '3', '10.1.1.254')).out;
    expect(d).toMatch(/5 received/);
    const rtts = [...d.matchAll(/time=([\d.]+) ms/g)].map(m => Number(m[1]));
    expect(rtts).toHaveLength(5);
    for (const t of rtts) expect(t).toBeGreaterThanOrEqual(39);
    expect((await netem('gw-a:fe-0/0/1', '--clear')).out.trim()).toBe('gw-a:fe-0/0/1: impairment cleared');
    expect((await inspect()).netem).toEqual({});
  }, 120000);

  it('bad requests are refused: a port without a link, a bad value, --clear with options', async () => {
    expect((await netem('gw-a:fe-0/0/3', '--loss', '5')).err).toContain('gw-a has no link on fe-0/0/3 (its links: gw-a:fe-0/0/1, gw-a:fe-0/0/0)');
    expect((await netem('gw-a:fe-0/0/0', '--loss', '120')).err).toMatch(/--loss: expected a percentage, 0\.\.100/);
    expect((await netem('gw-a:fe-0/0/0', '--jitter', '5')).err).toMatch(/--jitter needs a --delay/);
    expect((await netem('gw-a:fe-0/0/0', '--clear', '--loss', '1')).err).toContain('--clear takes no other option');
  }, 60000);

  it("a linux node's port: tc netem where the kernel has it, else a clear error naming the router's end", async () => {
    const lx = await netem('host-a:eth1', '--delay', '10', '--loss', '5');
    if (await kernelHasNetem()) {
      expect(lx.code, lx.err).toBe(0);
      expect(lx.out.trim()).toBe('host-a:eth1: delay 10 ms, loss 5% (tc netem)');
      expect((await vrouter('inspect', l.file)).out).toMatch(/netem host-a:eth1: qdisc netem .*delay 10ms/);
      expect((await netem('host-a:eth1', '--clear')).out.trim()).toBe('host-a:eth1: impairment cleared');
    } else {
      // this kernel (the guide says so): refused, exit 1, the reason and what to do instead
      expect(lx.code).toBe(1);
      expect(lx.err).toContain('host-a:eth1: this kernel has no netem qdisc (sch_netem), so a linux node\'s port cannot be impaired here (tc: Error: Specified qdisc kind is unknown.)');
      expect(lx.err).toContain(`impair the router's end of the link instead (vrouter netem ${l.file} gw-a:fe-0/0/1 ...)`);
      expect(lx.out).toBe('');
    }
    expect((await netem('host-a:eth1')).out.trim()).toBe('host-a:eth1: no impairment');
    expect((await inspect()).netem['host-a:eth1']).toBeUndefined();
  }, 60000);

  it("IKE converges over loss and delay on the gateways' link", async () => {
    expect((await netem('gw-a:fe-0/0/0', '--delay', '30', '--jitter', '10', '--loss', '20', '--seed', '5')).code).toBe(0);
    expect((await netem('gw-b:fe-0/0/0', '--delay', '30', '--loss', '20', '--seed', '6')).code).toBe(0);
    await waitUntil(async () => /1 received/.test((await hostA('ping', '-c', '1', '-W', '2', '10.2.2.2')).out), 'a ping through the tunnel over the impaired link', 120000);
    expect((await exec('gw-a', 'show ike security-associations')).out).toMatch(/10\.6\.6\.6\s+Matured/);
    const n = (await inspect()).netem;
    expect(n['gw-a:fe-0/0/0']!.counters.packets).toBeGreaterThan(0);
    expect(n['gw-b:fe-0/0/0']!.counters.delayed).toBeGreaterThan(0);
    // the round trip carries both delays
    const rtt = Number(/time=([\d.]+) ms/.exec((await hostA('ping', '-c', '1', '-W', '3', '10.2.2.2')).out)?.[1] ?? 1e9);
    if (rtt < 1e9) expect(rtt).toBeGreaterThanOrEqual(49);
    await netem('gw-a:fe-0/0/0', '--clear'); await netem('gw-b:fe-0/0/0', '--clear');
  }, 150000);

  it('TCP through the tunnel over a slow link: the transfer completes, no faster than the rate', async () => {
    const dir = join(l.dir, 'www');
    mkdirSync(dir);
    const size = 150000;
    writeFileSync(join(dir, 'blob'), Buffer.alloc(size, 0x5a));
    server = spawn('ip', ['netns', 'exec', `${l.name}-host-b`, 'python3', '-m', 'http.server', '8080', '--bind', '10.2.2.2', '--directory', dir], { stdio: 'ignore' });
    await waitUntil(async () => /:8080/.test((await inNs(`${l.name}-host-b`, 'ss', '-ltn')).out), 'the HTTP server in host-b to listen');
    // without --seed the router picks one and says it, so that the run can be repeated
    expect((await netem('gw-b:fe-0/0/0', '--rate', '600')).out.trim()).toMatch(/^gw-b:fe-0\/0\/0: rate 600 kbit\/s, seed \d+$/);
    const r = await hostA('curl', '-s', '-o', '/dev/null', '--max-time', '60', '-w', '%{size_download} %{time_total}', 'http://10.2.2.2:8080/blob');
    const [got, secs] = r.out.trim().split(' ').map(Number);
    expect(got, r.out).toBe(size);
    // 150,000 bytes at 600 kbit/s take 2 s on the wire at least (ESP adds to that, a busy machine more)
    expect(secs).toBeGreaterThanOrEqual((size * 8) / 600000 * 0.95);
    const s = (await inspect()).netem['gw-b:fe-0/0/0']!;
    expect(s.params).toMatchObject({ rateKbit: 600 });
    expect(s.counters.delayed).toBeGreaterThan(100);
    server.kill(); server = undefined;
  }, 150000);
});
