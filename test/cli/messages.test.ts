/** Messages a new user meets: each was confusing or wrong once; each has its test. */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Router } from '../../src/router/router.js';
import { Interpreter } from '../../src/cli/interp.js';
import { transcript } from '../../src/cli/transcript.js';
import { loadText, LoadFailure } from '../../src/config/index.js';

const topo = join(import.meta.dirname, '../../topologies');
let routers: Router[] = [];
afterEach(async () => { for (const r of routers) await r.stop(); routers = []; });
function cli(conf: string): { r: Router; it: Interpreter; run: (...c: string[]) => Promise<string> } {
  const r = new Router({ name: 'x', ipsec: 'inline' });
  routers.push(r);
  const c = r.commitText(readFileSync(join(topo, conf), 'utf8'));
  expect(c.ok, c.output).toBe(true);
  const it = new Interpreter(r);
  return { r, it, run: (...cmds) => transcript(it, cmds) };
}

describe('messages', () => {
  it('? help keeps a space between a long name and its description', () => {
    const { it } = cli('gw-a.conf');
    it.mode = 'config';
    const h = it.help('set security certificates ');
    expect(h).toMatch(/^ {2}cache-timeout-negative Time for which/m);
    expect(h).toMatch(/^ {2}certification-authority CA profile/m);
  });

  it('show interfaces of a unit that does not exist is an error, not the physical interface', async () => {
    const { run } = cli('gw-a.conf');
    expect(await run('show interfaces es-0/1/0.5')).toContain('error: device es-0/1/0.5 not found');
    expect(await run('show interfaces es-0/1/0.0')).toContain('Logical interface es-0/1/0.0');
  });

  it('brief SA lines of a transport SA keep their columns', async () => {
    const { run } = cli('transport-gw-a.conf');
    const out = await run('show ipsec security-associations brief');
    const rows = out.split('\n').filter(l => l.startsWith('bgp-sa'));
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r).toMatch(/^bgp-sa\s{18}-\s{13}(inbound |outbound)\s+\d+\s+(ESP|AH|BUNDLE)\s/);
  });

  it('clear ipsec security-associations clears transport SAs too, and one SA by name', async () => {
    const { r, run } = cli('transport-gw-a.conf');
    await run('ping 10.0.0.2 rapid count 2 wait 0');
    const before = (await r.reIpsec.snapshot()).sas.find(s => s.direction === 'outbound')!;
    expect(before.sequence).toBeGreaterThan(1);
    expect(await run('clear ipsec security-associations nope')).toContain('error: security association nope not found');
    await run('clear ipsec security-associations bgp-sa');
    expect((await r.reIpsec.snapshot()).sas.find(s => s.direction === 'outbound')!.sequence).toBe(1);
    await run('ping 10.0.0.2 rapid count 1 wait 0');
    await run('clear ipsec security-associations');
    expect((await r.reIpsec.snapshot()).sas.find(s => s.direction === 'outbound')!.sequence).toBe(1);
  });

  it('load merge terminal relative loads the chapter fragments at the current level', async () => {
    const { run } = cli('gw-a.conf');
    const out = await run('configure', 'edit security ipsec', 'load merge terminal relative',
      'proposal dynamic-1 {', '    protocol esp;', '    authentication-algorithm hmac-md5-96;', '    encryption-algorithm 3des-cbc;', '}', '\x04',
      'top', 'show security ipsec proposal dynamic-1', 'edit firewall', 'load set terminal relative', 'set filter f2 term t then accept', '\x04', 'top', 'show firewall filter f2', 'rollback 0', 'exit');
    expect(out).toContain('load complete');
    expect(out).toMatch(/protocol esp;\n\s*authentication-algorithm hmac-md5-96;/);
    expect(out).toMatch(/term t \{\n\s*then accept;/);
    expect(out).not.toContain('syntax error');
  });

  it('an unclosed brace is reported once, naming the block left open', () => {
    let e: LoadFailure | undefined;
    try { loadText('security {\n  ike {\n    proposal p { dh-group group1; }\n', { file: 'u.conf' }); } catch (x) { e = x as LoadFailure; }
    expect(e!.errors).toHaveLength(1);
    expect(e!.message).toContain("[edit security]\n    'ike {'\n      syntax error, missing '}'");
  });

  it('a mistyped statement gets a hint (the chapter\'s proposal [ ... ] under an IKE policy is proposals)', async () => {
    const { run } = cli('gw-a.conf');
    // typed, `proposal` is an abbreviation of `proposals` (as in JUNOS); a real typo gets the hint
    const out = await run('configure', 'set security ike proposal p1 dh-grup group1', 'exit');
    expect(out).toMatch(/\^\nsyntax error\.\n\(did you mean 'dh-group'\?\)/);
    let e: LoadFailure | undefined;
    try { loadText('security { ike { policy 10.6.6.6 { proposal [ p1 ]; } } }'); } catch (x) { e = x as LoadFailure; }
    expect(e!.message).toContain("(did you mean 'proposals'?)");
  });

  it('an address with a leading zero is refused everywhere, never read as octal', async () => {
    const { run } = cli('gw-a.conf');
    for (const stmt of ['set interfaces fe-0/0/2 unit 0 family inet address 010.1.1.1/24', 'set interfaces es-0/1/0 unit 0 tunnel destination 010.6.6.6', 'set routing-options static route 10.9.0.0/16 next-hop 010.0.0.2']) {
      expect(await run('configure', stmt, 'exit configuration-mode'), stmt).toMatch(/\^\nsyntax error\./);
    }
    expect(await run('ping 10.2.2.2 source 010.1.1.254 count 1')).toMatch(/\^\nsyntax error, expecting <source>\./);
    expect(await run('show route 010.2.2.2')).toContain('error: invalid prefix 010.2.2.2');
  });
});
