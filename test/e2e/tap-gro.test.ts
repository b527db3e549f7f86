/**
 * GRO on the router's TAP writes, for real: a TCP transfer host-a -> host-b through the default lab
 * arrives whole (a SHA-256 of every byte on both sides), once with GRO as shipped (on) and once with
 * VROUTER_TAP_GRO=0. Without GRO host-b's kernel counts at least the segments the transfer needs at
 * the tunnel's MSS (which checks that MSS too); with it, clearly fewer: gw-b handed it
 * segments that it had merged, which the kernel took as large ones (GSO through the bridge and the veth).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn } from 'node:child_process';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, waitUntil } from './helpers.js';

const BYTES = 8 << 20;
// the sender: BYTES of counter-mode SHA-256 output (not compressible, the same on both sides of a bug
// that shifts, drops or repeats bytes), then its own digest of what it sent
const SEND = `
import hashlib, socket, sys
s = socket.create_connection(('10.2.2.2', 7001)); h = hashlib.sha256(); n = 0; i = 0
while n < ${BYTES}:
    b = b''.join(hashlib.sha256(str(i * 64 + k).encode()).digest() for k in range(64)); i += 1
    b = b[:${BYTES} - n]; s.sendall(b); h.update(b); n += len(b)
s.shutdown(socket.SHUT_WR); s.recv(1); print(n, h.hexdigest())
`;
const RECV = `
import hashlib, socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('10.2.2.2', 7001)); l.listen(1)
print('listening', flush=True)
c, _ = l.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
c.close(); print(n, h.hexdigest(), flush=True)
`;
const nstat = async (ns: string) => {
  const o = (await inNs(ns, 'nstat', '-az', 'TcpInSegs', 'TcpInErrs', 'TcpExtTCPCsumErrors', 'TcpInCsumErrors')).out;
  const v: Record<string, number> = {};
  for (const m of o.matchAll(/^(\w+)\s+(\d+)/gm)) v[m[1]!] = Number(m[2]);
  return v;
};

/** Brings the lab up with GRO as `gro` says (undefined: as shipped), sends BYTES host-a -> host-b, takes it down: the TCP segments host-b counted. */
async function transfer(tag: string, gro: string | undefined): Promise<number> {
  const lab = labCopy('gw-a-b', tag);
  try {
    if (gro === undefined) delete process.env.VROUTER_TAP_GRO; else process.env.VROUTER_TAP_GRO = gro;   // `up`'s router processes take it with the environment
    const r = await vrouter('up', lab.file, '--detach');
    delete process.env.VROUTER_TAP_GRO;
    expect(r.code, r.out + r.err).toBe(0);
    const s = JSON.parse((await vrouter('inspect', lab.file, '--json')).out);
    const hostA: string = s.nodes['host-a'].netns, hostB: string = s.nodes['host-b'].netns;
    expect((await inNs(hostA, 'ping', '-c', '1', '-W', '5', '10.2.2.2')).out).toMatch(/1 received/);
    const before = await nstat(hostB);
    const recv = spawn('ip', ['netns', 'exec', hostB, 'python3', '-c', RECV], { stdio: ['ignore', 'pipe', 'pipe'] });
    let rout = '';
    recv.stdout.setEncoding('utf8').on('data', (d: string) => { rout += d; });
    const done = new Promise<void>(r => recv.on('close', () => r()));
    await waitUntil(() => rout.includes('listening'), 'the receiver to listen');
    const sent = await inNs(hostA, 'python3', '-c', SEND);
    expect(sent.code, sent.out).toBe(0);
    await done;
    const [sn, sh] = sent.out.trim().split(' ');
    const [rn, rh] = rout.trim().split('\n').pop()!.split(' ');
    expect(Number(rn)).toBe(BYTES);
    expect(Number(sn)).toBe(BYTES);
    expect(rh).toBe(sh);
    const after = await nstat(hostB);
    expect((after.TcpInErrs ?? 0) - (before.TcpInErrs ?? 0)).toBe(0);
    expect((after.TcpInCsumErrors ?? 0) - (before.TcpInCsumErrors ?? 0)).toBe(0);
    return after.TcpInSegs! - before.TcpInSegs!;
  } finally {
    delete process.env.VROUTER_TAP_GRO;
    await cleanup(lab);
    expect(await leftovers(lab.name)).toEqual([]);
  }
}

// the tunnel's MSS: 1446-byte path MTU less 40 bytes of headers and 12 of timestamps
const atMss = Math.ceil(BYTES / 1394);

describe.skipIf(!canRun)(`GRO on the TAP writes ${skipReason}`, () => {
  beforeAll(() => { buildOnce(); });

  it('without GRO (VROUTER_TAP_GRO=0): the transfer arrives whole, every segment on its own', async () => {
    const segs = await transfer('g0', '0');
    console.log(`GRO off: host-b received ${BYTES} bytes in ${segs} TCP segments (${atMss} at the MSS)`);
    expect(segs).toBeGreaterThanOrEqual(atMss);
  }, 120000);

  it('with GRO as shipped: the transfer arrives whole, and host-b took merged segments', async () => {
    const segs = await transfer('gr', undefined);
    console.log(`GRO on: host-b received ${BYTES} bytes in ${segs} TCP segments (${atMss} at the MSS without merging)`);
    // unmerged, the count cannot fall below atMss (the control above); how much merges depends on how
    // many segments gw-b writes per turn, which load changes (1,187-1,452 quiet, 3,020 under
    // scripts/ci-under-load.sh): a tenth fewer is already hundreds of merged writes
    expect(segs).toBeLessThan(atMss * 0.9);
  }, 120000);
});
