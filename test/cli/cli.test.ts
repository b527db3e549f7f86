/** The CLI interpreter on the in-memory Figure 11 lab: golden transcripts and table tests. */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { until } from '../helpers/settle.js';
import { join } from 'node:path';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { figure11 } from '../../src/lab/memlab.js';
import { Interpreter } from '../../src/cli/interp.js';
import { CommitDb } from '../../src/cli/commitdb.js';
import { transcript } from '../../src/cli/transcript.js';
import { expectGolden } from '../helpers/golden.js';

const topo = join(import.meta.dirname, '../../topologies');
const golden = (n: string) => join(import.meta.dirname, 'golden', `${n}.golden`);
/** Times, dates and PIDs vary from run to run: replace them so goldens compare. */
export function normalize(s: string): string {
  return s
    .replace(/time=\d+\.\d+ ms/g, 'time=T ms')
    .replace(/min\/avg\/max\/stddev = [\d./]+ ms/g, 'min/avg/max/stddev = T ms')
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/g, 'DATE')
    .replace(/\(\d\d:\d\d:\d\d ago\)/g, '(T ago)')
    .replace(/\] \d\d:\d\d:\d\d/g, '] T')
    .replace(/^\d\d:\d\d {2}up \d+ mins?/gm, 'HH:MM  up N mins')
    .replace(/ {2}\d+\.\d{3} ms/g, '  T ms')
    .replace(/^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d/gm, 'TIMESTAMP')
    .replace(/mgd\[\d+\]/g, 'mgd[PID]');
}

let t: Awaited<ReturnType<typeof figure11>>;
let it_: Interpreter;
let dir: string;
beforeAll(async () => {
  t = await figure11(topo);
  dir = mkdtempSync(join(tmpdir(), 'vrouter-cli-'));
  it_ = new Interpreter(t.gwA, new CommitDb(t.gwA, dir));
  expect(await t.hostA.ping('10.2.2.2', { count: 3 })).toHaveLength(3);
});
afterAll(async () => { await t.lab.close(); rmSync(dir, { recursive: true, force: true }); });
const run = async (...cmds: string[]) => normalize(await transcript(it_, cmds));

describe('operational commands (golden)', () => {
  const cases: Record<string, string[]> = {
    'show-interfaces-terse': ['show interfaces terse'],
    'show-interfaces-fe-0-0-1': ['show interfaces fe-0/0/1'],
    'show-interfaces-es-extensive': ['show interfaces es-0/1/0 extensive'],
    'show-route': ['show route', 'show route 10.2.2.2', 'show route 10.6.6.6/32'],
    'show-firewall': ['show firewall', 'show firewall filter ipsec-decrypt-policy-filter'],
    'show-ipsec-sa': ['show ipsec security-associations', 'show ipsec security-associations brief', 'show security ipsec security-associations detail manual-sa1'],
    'show-ike-sa': ['show ike security-associations', 'show security ike security-associations'],
    'show-chassis-hardware': ['show chassis hardware'],
    'show-chassis-pic-status': ['show chassis fpc pic-status'],
    'show-system-uptime': ['show system uptime'],
    'show-pfe-statistics': ['clear pfe statistics traffic', 'show pfe statistics traffic'],
    'show-configuration': ['show configuration interfaces es-0/1/0', 'show configuration security | display set', 'show configuration firewall | count'],
    'show-configuration-leaf': ['show configuration system host-name', 'show configuration system host-name | display set', 'show configuration security ipsec security-association manual-sa1 manual direction bidirectional spi',
      'show configuration interfaces es-0/1/0 unit 0 tunnel destination | display set', 'show configuration security ipsec security-association manual-sa1 manual direction bidirectional authentication key', 'configure', 'show system host-name', 'edit interfaces es-0/1/0 unit 0', 'show tunnel source | display set', 'exit configuration-mode'],
    'ping': ['ping 10.2.2.2 count 2', 'ping 10.2.2.2 rapid count 3', 'ping 10.1.1.1 count 1 source 10.1.1.254', 'ping 10.9.9.9 count 1 wait 1'],
    'traceroute': ['traceroute 10.0.0.2 wait 1'],
    'syntax-errors': ['show foo', 'sh i', 'show chassis hardware extra', 'show interfaces terse extra', 'ping', 'frobnicate', 'show route | frob', 'show interfaces | display set'],
    'help': ['show ?', 'show interfaces ?', 'ping 10.2.2.2 ?', 'show route | ?'],
  };
  for (const [name, cmds] of Object.entries(cases)) {
    it(name, async () => expectGolden(golden(name), await run(...cmds)));
  }
});

describe('counters rise after pings', () => {
  it('SA, interface and filter counters agree with the pings sent', async () => {
    const num = (s: string, re: RegExp) => [...s.matchAll(re)].map(m => Number(m[1]));
    const before = await run('show ipsec security-associations manual-sa1');
    const ifBefore = await run('show interfaces es-0/1/0.0');
    await t.hostA.ping('10.2.2.2', { count: 4 });
    const after = await run('show ipsec security-associations manual-sa1');
    const ifAfter = await run('show interfaces es-0/1/0.0');
    const pk = /Packets: (\d+),/g;
    expect(num(after, pk).map((v, i) => v - num(before, pk)[i]!)).toEqual([4, 4]);
    const out = /Output packets: (\d+)/g;
    expect(num(ifAfter, out)[0]! - num(ifBefore, out)[0]!).toBe(4);
    await run('clear ipsec security-associations');
    expect(num(await run('show ipsec security-associations manual-sa1'), pk)).toEqual([0, 0]);
  });
});

describe('abbreviations, help, completion and errors (table)', () => {
  const table: Array<[string, RegExp]> = [
    ['sh int te', /^fe-0\/0\/0\s+up\s+up$/m],
    ['sho chas hard', /1x ES, ENCRYPTION SERVICES/],
    ['sh ip sec br', /manual-sa1\s+es-0\/1\/0\.0\s+inbound\s+2312/],
    ['sh sec ipsec sec', /Security association: manual-sa1/],
    ['sh route 10.2.2.9', /10\.2\.2\.0\/24\s+\*\[Static\/5\]/],
    ['sh i', /'i' is ambiguous\.\nPossible completions:\n {2}interfaces/],
    ['show interfaces fe-9/9/9', /error: device fe-9\/9\/9 not found/],
    ['show log nosuch', /error: could not resolve file: nosuch/],
    // an output level is one of them
    ['show ipsec security-associations brief detail', /security-associations brief detail\n {50}\^\nsyntax error\./],
    ['show interfaces terse extensive', /\^\nsyntax error\./],
    ['ping 10.2.2.2 count', /syntax error, expecting <count>\./],
    ['ping host.example', /cannot resolve host\.example/],
    // every ping/traceroute option has JUNOS's range, checked where it is typed
    ['ping 10.2.2.2 interval 0', /\^\nValue 0 is not within range \(0\.1\.\.10000\) at '0'/],
    ['ping 10.2.2.2 size 65508', /Value 65508 is not within range \(0\.\.65468\)/],
    ['ping 10.2.2.2 ttl 999', /Value 999 is not within range \(0\.\.255\)/],
    ['ping 10.2.2.2 count 0', /Value 0 is not within range \(1\.\.2000000000\)/],
    ['ping 10.2.2.2 count abc', /syntax error, expecting <count>\./],
    ['traceroute 10.2.2.2 ttl 0', /Value 0 is not within range \(1\.\.255\)/],
    ['monitor traffic interface fe-0/0/0 count -1', /syntax error, expecting <count>\./],
  ];
  for (const [cmd, re] of table) it(cmd, async () => expect(await run(cmd)).toMatch(re));

  it('the caret sits under the offending word', async () => {
    const out = await run('show chassis hardware extra');
    const lines = out.split('\n');
    expect(lines[1]!.indexOf('^')).toBe('root@gw-a> show chassis hardware '.length);
    expect(lines[2]).toBe('syntax error.');
  });
  it('completion', () => {
    expect(it_.complete('sh int te').line).toBe('sh int terse ');
    expect(it_.complete('show ipsec sec').line).toBe('show ipsec security-associations ');
    expect(it_.complete('show ipsec security-associations m').line).toBe('show ipsec security-associations manual-sa1 ');
    expect(it_.complete('show i').choices).toEqual(['ike', 'interfaces', 'ipsec']);
    expect(it_.complete('show interfaces es').line).toBe('show interfaces es-0/1/0');
  });
  it('help lists what may come next, with names defined in the configuration', () => {
    expect(it_.help('show ipsec security-associations ')).toMatch(/<sa-name>[\s\S]*brief[\s\S]*detail[\s\S]*manual-sa1/);
  });
});

describe('configuration mode and the commit database', () => {
  it('edit, set, compare, a failing commit that changes nothing, then rollback', async () => {
    const activeBefore = await run('show configuration');
    const out = await run('configure', 'edit security ipsec security-association manual-sa1 manual direction bidirectional', 'set spi 300', 'set encryption key ascii-text tooshort', 'show | compare', 'commit', 'top', 'exit', 'show configuration security ipsec security-association manual-sa1 manual direction bidirectional spi');
    expectGolden(golden('config-failing-commit'), out);
    expect(await run('show configuration')).toBe(activeBefore);
    expect(await t.hostA.ping('10.2.2.2')).toHaveLength(1);
    await run('configure', 'rollback 0', 'exit');
  });
  it('a good commit reaches the PFE without a restart, and rollback 1 + commit undoes it', async () => {
    const out = await run('configure', 'set firewall filter ipsec-encrypt-policy-filter term block from protocol icmp', 'set firewall filter ipsec-encrypt-policy-filter term block then discard',
      'commit', 'exit');
    expect(out).toContain('commit complete');
    // term order: block is after term1 (it was appended), so pings still flow
    expect(await t.hostA.ping('10.2.2.2')).toHaveLength(1);
    await run('configure', 'delete firewall filter ipsec-encrypt-policy-filter term term1', 'deactivate firewall filter ipsec-encrypt-policy-filter term default', 'commit', 'exit');
    expect(await t.hostA.ping('10.2.2.2', { timeoutMs: 300 })).toHaveLength(0);  // now block discards the ICMP
    expect(t.gwA.pfe.filters.get('ipsec-encrypt-policy-filter')!.terms.find(x => x.name === 'block')!.hits.packets).toBe(1);
    const r = await run('configure', 'rollback 1', 'show | compare', 'commit', 'exit');
    expect(r).toMatch(/\+ {3}term term1 \{/);
    expect(await t.hostA.ping('10.2.2.2')).toHaveLength(1);
    // rollbacks are on disk
    expect(existsSync(join(dir, 'juniper.conf.0'))).toBe(true);
    const rb1 = readFileSync(join(dir, 'juniper.conf.1'), 'utf8');
    expect(rb1).toContain('term block');
    expect(rb1).toContain('inactive: term default');
    expect(rb1.match(/term term1/g)).toHaveLength(1);   // only the decrypt filter's term1 is left
    await run('configure', 'rollback 3', 'commit', 'exit');
    expect(await run('show configuration firewall')).not.toContain('term block');
  });
  it('load set terminal, load merge of a file, run, and syntax errors in set', async () => {
    const out = await run('configure', 'load set terminal', 'set interfaces fe-0/0/3 description spare', 'set interfaces fe-0/0/3 disable', '\x04', 'show interfaces fe-0/0/3', 'set interfaces fe-0/0/3 bogus', 'set security ipsec security-association x manual direction sideways', 'run show interfaces terse | match fe-0/0/3', 'exit', 'configure', 'rollback 0', 'exit');
    expectGolden(golden('config-load-run-errors'), out);
  });
  it('set refuses an out-of-range number where it is typed, and changes nothing', async () => {
    const out = await run('configure', 'set security ipsec security-association manual-sa1 manual direction bidirectional spi 100', 'show | compare', 'exit');
    const lines = out.split('\n');
    const i = lines.findIndex(l => l.includes('spi 100'));
    expect(lines[i + 1]!.indexOf('^')).toBe(lines[i]!.indexOf('100'));
    expect(lines[i + 2]).toBe("Value 100 is not within range (256..16639) at '100'");
    expect(out).not.toContain('+   spi 100;');
  });

  it('help and completion in configuration mode come from the schema and the configuration', async () => {
    await run('configure');
    try {
      expect(it_.help('set security ipsec ')).toMatch(/policy[\s\S]*proposal[\s\S]*security-association/);
      expect(it_.help('set interfaces es-0/1/0 unit 0 family inet ipsec-sa ')).toContain('manual-sa1');
      expect(it_.complete('set sec ips security-association manual-sa1 man').line).toBe('set sec ips security-association manual-sa1 manual ');
      expect(it_.help('set security ipsec security-association manual-sa1 manual direction ')).toMatch(/bidirectional[\s\S]*inbound[\s\S]*outbound/);
      expect(await run('set sec ipsec security-association manual-sa1 man dir bi spi 999', 'show | compare')).toContain('+   spi 999;');
    } finally { await run('rollback 0', 'exit'); }
  });
  it('several sibling statements in one set line, abbreviated, with ? and Tab offering the siblings (golden)', async () => {
    try {
      const out = await run('configure',
        'set interfaces es-0/1/0 unit 0 tunnel source 10.5.5.5 destination 10.6.6.7',
        'set sec ike proposal p2 authentication-method pre-shared-keys dh-group group2 lifetime-seconds 600',
        'set security ipsec security-association manual-sa1 manual direction bidirectional protocol esp spi 2400',
        'set system login user ops class super-user authentication encrypted-password "$1$abc$0123456789abcdefghijk."',
        'set interfaces es-0/1/0 unit 0 tunnel source 10.5.5.5 frobnicate',
        'show | compare', 'set interfaces es-0/1/0 unit 0 tunnel source 10.5.5.5 ?');
      expectGolden(golden('config-set-siblings'), out);
      expect(it_.complete('set interfaces es-0/1/0 unit 0 tunnel source 10.5.5.5 dest').line).toBe('set interfaces es-0/1/0 unit 0 tunnel source 10.5.5.5 destination ');
      expect(it_.complete('set security ike proposal p2 dh-group group2 auth').line).toBe('set security ike proposal p2 dh-group group2 authentication-');
      expect(it_.help('set security ike proposal p2 authentication-method ')).toMatch(/pre-shared-keys[\s\S]*rsa-signatures/);
      expect(it_.help('set security ike proposal p2 authentication-method pre-shared-keys ')).toMatch(/<\[Enter\]>[\s\S]*dh-group/);
    } finally { await run('rollback 0', 'exit'); }
  });
});

describe('long-running commands', () => {
  it('a ping without count runs until cancelled, and the router keeps forwarding meanwhile', async () => {
    const ac = new AbortController();
    let out = '';
    const p = it_.exec('ping 10.2.2.2 interval 0.1', { write: s => { out += s; }, signal: ac.signal });
    // the event loop keeps turning: timers fire while the ping runs (its replies are printed)
    await until(() => (out.match(/bytes from 10\.2\.2\.2/g) ?? []).length >= 2, 'two replies of the running ping');
    expect(await t.hostA.ping('10.2.2.2')).toHaveLength(1);
    ac.abort();
    await p;
    expect(out).toMatch(/\d+ packets transmitted, \d+ packets received/);
    expect(Number(/(\d+) packets received/.exec(out)![1])).toBeGreaterThanOrEqual(2);
  });
  it('monitor packet-trace shows every stage a packet crosses, through the ES PIC and out (golden)', async () => {
    let out = '';
    const p = it_.exec('monitor packet-trace interface fe-0/0/1 count 1', { write: s => { out += s; } });
    await t.hostA.ping('10.2.2.2', { count: 1 });
    await p;
    expectGolden(golden('monitor-packet-trace'), out);
    for (const stage of ['ethernet-input', 'ip4-input', 'ip4-filter-in', 'ipsec-out', 'ip4-lookup', 'ip4-rewrite', 'interface-output']) expect(out).toContain(stage);
  });
  it('monitor traffic shows decoded packets until its count', async () => {
    let out = '';
    const p = it_.exec('monitor traffic interface fe-0/0/0 count 4', { write: s => { out += s; } });
    await t.hostA.ping('10.2.2.2', { count: 2 });
    await p;
    expect(out).toMatch(/Out IP 10\.5\.5\.5 > 10\.6\.6\.6: ESP\(spi=0x00000908,seq=0x\w+\)/);
    expect(out).toMatch(/ In IP 10\.6\.6\.6 > 10\.5\.5\.5: ESP/);
    expect(out).toContain('4 packets received by filter');
  });
  it('monitor traffic without count reports the packets it saw when it is stopped', async () => {
    const ac = new AbortController();
    let out = '';
    const p = it_.exec('monitor traffic interface fe-0/0/0', { write: s => { out += s; }, signal: ac.signal });
    await t.hostA.ping('10.2.2.2', { count: 2 });
    const seen = out.split('\n').filter(l => /^\d\d:\d\d:\d\d\.\d{3} ( In|Out) /.test(l)).length;
    ac.abort();
    await p;
    expect(seen).toBeGreaterThanOrEqual(4);
    expect(Number(/(\d+) packets received by filter/.exec(out)![1])).toBe(out.split('\n').filter(l => /^\d\d:\d\d:\d\d\.\d{3} ( In|Out) /.test(l)).length);
  });
  it('the logs exist before their first line: show log kmd is the empty file, file list /var/log lists them', async () => {
    const r = new (await import('../../src/router/router.js')).Router({ name: 'fresh', ipsec: 'inline' });
    try {
      const fresh = new Interpreter(r, new CommitDb(r));
      expect(await transcript(fresh, ['show log kmd'])).toBe('root@fresh> show log kmd\n');
      expect(await transcript(fresh, ['file list /var/log'])).toBe('root@fresh> file list /var/log\n/var/log:\nkmd\nmessages\n');
    } finally { await r.stop(); }
    const out = await run('file list /var/log detail');
    expect(out).toMatch(/-rw-r--r-- {2}root +\d+ DATE|-rw-r--r-- {2}root +\d+ \d{4}-\d\d-\d\d \d\d:\d\d kmd\n/);
    expect(out).toMatch(/ messages\n/);
  });
});

describe('errors in output', () => {
  it('outputHasError recognises every kind of failure and nothing else', async () => {
    const { outputHasError } = await import('../../src/cli/interp.js');
    expect(outputHasError(await run('show foo'))).toBe(true);
    expect(outputHasError(await run('sh i'))).toBe(true);
    expect(outputHasError(await run('show interfaces fe-9/9/9'))).toBe(true);
    expect(outputHasError(await run('configure', 'set security ipsec security-association manual-sa1 manual direction bidirectional spi 9', 'exit'))).toBe(true);
    expect(outputHasError(await run('show chassis hardware', 'show route'))).toBe(false);
  });
});
