/**
 * A lossy wire (topologies/gw-a-b-ike.yaml): nftables on the lab's transit bridge drops 20% of the
 * frames between the gateways at random (numgen random; this kernel has no netem). IKE still converges
 * (its retransmissions carry it), and after a clear of the IPsec SAs and then of the IKE SAs the tunnel
 * comes back each time. The convergence times are printed.
 */
import { describe, it, expect } from 'vitest';
import { canRun, skipReason, inNs, sh, linkOf } from './helpers.js';
import { labForSuite } from './suite.js';

describe.skipIf(!canRun)(`IKE over a wire that loses 20% of its frames ${skipReason}`, () => {
  const suite = labForSuite('gw-a-b-ike', 'ls'), { exec } = suite;

  /** Ping once a second until a reply comes; the seconds it took. */
  async function converge(what: string): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      if (/1 received/.test((await inNs(`${suite.lab.name}-host-a`, 'ping', '-c', '1', '-W', '1', '10.2.2.2')).out)) break;
      if (Date.now() - t0 > 120000) throw new Error(`${what}: no reply in 120 s`);
    }
    const s = (Date.now() - t0) / 1000;
    console.log(`20% loss: ${what} in ${s.toFixed(1)} s`);
    return s;
  }

  it('IKE converges, and a clear of the IPsec SAs and of the IKE SAs comes back', async () => {
    const t = await linkOf(suite.lab.file, 'gw-a:fe-0/0/0', 'gw-b:fe-0/0/0');
    const nft = async (...a: string[]) => { const r = await sh('ip', ['netns', 'exec', t.netns, 'nft', ...a]); expect(r.code, r.out).toBe(0); return r.out; };
    await nft('add', 'table', 'bridge', 'lossy');
    await nft('add', 'chain', 'bridge', 'lossy', 'loss', '{ type filter hook forward priority 0; }');
    // the transit bridge's ports (this kernel's nftables has no meta ibrname): frames either way between the gateways
    const ports = [...(await sh('ip', ['netns', 'exec', t.netns, 'ip', '-o', 'link', 'show', 'master', t.device])).out.matchAll(/^\d+: ([^:@]+)/gm)].map(m => m[1]!);
    expect(ports.length).toBe(2);
    await nft('add', 'rule', 'bridge', 'lossy', 'loss', 'iifname', `{ ${ports.join(', ')} }`, 'numgen', 'random', 'mod', '100', '<', '20', 'counter', 'drop');
    await converge('the tunnel came up');
    await exec('gw-a', 'clear ipsec security-associations');
    await converge('the IPsec SAs came back after a clear');
    await exec('gw-a', 'clear ike security-associations', 'clear ipsec security-associations');
    await converge('the IKE and IPsec SAs came back after a clear');
    const dropped = Number(/counter packets (\d+)/.exec(await nft('list', 'table', 'bridge', 'lossy'))?.[1] ?? 0);
    console.log(`20% loss: ${dropped} frames dropped by nftables`);
    expect(dropped).toBeGreaterThan(0);
    expect(await exec('gw-a', 'show ike security-associations')).toMatch(/10\.6\.6\.6\s+Matured/);
    for (const n of ['gw-a', 'gw-b']) expect(await suite.internalErrors(n), n).toBe(0);
  }, 400000);
});
