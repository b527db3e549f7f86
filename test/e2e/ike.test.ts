/**
 * The IKE lab for real (topologies/gw-a-b-ike.yaml): the first packets from host-a start IKE between
 * the router processes, the ping passes, gw-a shows the peer Matured, and the transit wire carries only
 * UDP 500 and ESP. A wrong pre-shared key leaves the tunnel down with the reason on both sides; fixing
 * it with a commit brings it up, the lab untouched.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, capture, linkOf, waitUntil, Lab } from './helpers.js';

describe.skipIf(!canRun)(`the IKE lab ${skipReason}`, () => {
  let lab: Lab;
  const exec = async (node: string, ...cmds: string[]) => await vrouter('exec', lab.file, node, ...cmds);
  const ping = async (n = 3) => (await inNs(`${lab.name}-host-a`, 'ping', '-c', String(n), '-i', '0.2', '-W', '2', '10.2.2.2')).out;
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('gw-a-b-ike', 'k');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
  });
  afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

  it('the first ping starts IKE and passes; gw-a shows 10.6.6.6 Matured; the wire carries only UDP 500 and ESP', async () => {
    expect((await exec('gw-a', 'show ike security-associations')).out.trim()).toBe('');
    const t = await linkOf(lab.file, 'gw-a:fe-0/0/0', 'gw-b:fe-0/0/0');
    // main mode (6) and quick mode (3) messages, then 3 pings each way: 15 IP packets at least
    const lines = await capture(t.netns, t.device, async () => { expect(await ping(3)).toMatch(/3 received/); }, 15);
    expect(lines.length).toBeGreaterThanOrEqual(15);
    for (const l of lines) expect(l).toMatch(/IP 10\.(5\.5\.5|6\.6\.6)\.500 > 10\.(6\.6\.6|5\.5\.5)\.500: isakmp|IP 10\.(5\.5\.5|6\.6\.6) > 10\.(6\.6\.6|5\.5\.5): ESP/);
    expect(lines.some(l => /isakmp/.test(l))).toBe(true);
    expect(lines.some(l => /ESP/.test(l))).toBe(true);
    const a = (await exec('gw-a', 'show ike security-associations', 'show ipsec security-associations brief')).out;
    expect(a).toMatch(/10\.6\.6\.6\s+Matured\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+Main/);
    expect(a).toMatch(/dynamic-sa1\s+es-0\/1\/0\.0\s+inbound\s+\d+\s+ESP\s+tunnel\s+Installed/);
    expect((await exec('gw-b', 'show ike security-associations detail')).out).toMatch(/Role: Responder, State: Matured/);
  });

  it('a wrong pre-shared key: down, nothing installed, both sides say why; a commit fixes it', async () => {
    const bad = await exec('gw-b', 'configure', 'set security ike policy 10.5.5.5 pre-shared-key ascii-text "not-the-same-key"', 'commit and-quit');
    expect(bad.out).toContain('commit complete');
    expect(bad.out).not.toContain('not-the-same-key');
    await exec('gw-a', 'clear ike security-associations', 'clear ipsec security-associations');
    await exec('gw-b', 'clear ike security-associations', 'clear ipsec security-associations');
    expect(await ping(2)).toMatch(/0 received/);
    await waitUntil(async () => /pre-shared key/.test((await exec('gw-b', 'show log kmd')).out), 'gw-b to log the failure');
    expect((await exec('gw-b', 'show ike security-associations')).out).toMatch(/Last failure with 10\.5\.5\.5 .*authentication failed.*pre-shared key/);
    await waitUntil(async () => /pre-shared key/.test((await exec('gw-a', 'show ike security-associations')).out), 'gw-a to say why');
    expect((await exec('gw-a', 'show ipsec security-associations dynamic-sa1')).out).toMatch(/No IPsec SA negotiated yet[\s\S]*Last negotiation failed: .*pre-shared key/);
    for (const n of ['gw-a', 'gw-b']) expect((await exec(n, 'show log kmd')).out).not.toMatch(/example-pre-shared-key|not-the-same-key/);
    // the fix: the same key again, committed; the tunnel comes back without touching the lab
    expect((await exec('gw-b', 'configure', 'set security ike policy 10.5.5.5 pre-shared-key ascii-text "example-pre-shared-key"', 'commit and-quit')).out).toContain('commit complete');
    await waitUntil(async () => /[1-9] received/.test(await ping(1)), 'the tunnel to come back', 20000);
    expect(await ping(3)).toMatch(/3 received/);
  });
});
