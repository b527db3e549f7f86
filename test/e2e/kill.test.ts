/**
 * A router process killed with SIGKILL while its tunnel carries traffic (topologies/gw-a-b-ike.yaml):
 * `vrouter up --detach` brings it back with its last commit, its first IKE SA with gw-b says
 * INITIAL-CONTACT, gw-b (which still held the old SAs) drops them, and the ping that ran through the
 * kill gets replies again. Nothing threw in either PFE.
 */
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { canRun, skipReason, vrouter, inNs, waitUntil, processGone } from './helpers.js';
import { labForSuite } from './suite.js';

describe.skipIf(!canRun)(`a router killed under traffic ${skipReason}`, () => {
  const suite = labForSuite('gw-a-b-ike', 'kl'), { exec, internalErrors: internal } = suite;
  const pid = async (node: string): Promise<number> => JSON.parse((await vrouter('inspect', suite.lab.file, '--json')).out).nodes[node].pid;

  it('SIGKILL of gw-a under a running ping: up --detach restarts it, INITIAL-CONTACT clears gw-b\'s stale SAs, the ping resumes', async () => {
    const lab = suite.lab;
    const hostA = `${lab.name}-host-a`;
    await waitUntil(async () => /1 received/.test((await inNs(hostA, 'ping', '-c', '1', '-W', '2', '10.2.2.2')).out), 'the tunnel to come up', 30000);
    expect(await exec('gw-b', 'show ike security-associations')).toMatch(/10\.5\.5\.5\s+Matured/);
    // a ping every 100 ms, printing each reply as it comes (-O: and each one missing)
    const p = spawn('ip', ['netns', 'exec', hostA, 'ping', '-O', '-i', '0.1', '-W', '1', '10.2.2.2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', d => { out += d; });
    const exited = new Promise(r => p.on('exit', r));
    try {
      const replies = () => (out.match(/bytes from 10\.2\.2\.2/g) ?? []).length;
      await waitUntil(() => replies() >= 5, 'the ping to run through the tunnel');
      const old = await pid('gw-a');
      process.kill(old, 'SIGKILL');
      const t0 = Date.now();
      await waitUntil(() => processGone(old), 'gw-a to die');
      const atKill = replies();
      const r = await vrouter('up', lab.file, '--detach');
      expect(r.code, r.out + r.err).toBe(0);
      expect(r.out + r.err).toMatch(/restarting gw-a/);
      expect(await pid('gw-a')).not.toBe(old);
      await waitUntil(() => replies() >= atKill + 5, 'the ping to get replies again', 60000);
      console.log(`gw-a SIGKILLed under a 10/s ping: replies again ${((Date.now() - t0) / 1000).toFixed(1)} s after the kill (${atKill} replies before it)`);
    } finally { p.kill('SIGINT'); await exited; }
    expect(await exec('gw-b', 'show log kmd')).toMatch(/KMD_PM_INITIAL_CONTACT: 10\.5\.5\.5 starts afresh/);
    // one IKE SA each side, not the stale one beside the new
    expect((await exec('gw-b', 'show ike security-associations')).match(/10\.5\.5\.5\s+Matured/g)).toHaveLength(1);
    expect(await internal('gw-a')).toBe(0);
    expect(await internal('gw-b')).toBe(0);
  }, 120000);
});
