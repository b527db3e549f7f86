/**
 * `[edit security traceoptions]`: each flag decides what kmd writes to the trace file; the important
 * events are logged whatever the flags; no key or pre-shared key ever appears; `show log NAME` with
 * `| match` and `| last N` reads it.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { MemLab } from '../../src/lab/memlab.js';
import { delivered } from '../helpers/settle.js';
import { Interpreter } from '../../src/cli/interp.js';
import { transcript } from '../../src/cli/transcript.js';
import type { Router } from '../../src/router/router.js';
import type { DynamicSaPair } from '../../pics/es/core.js';

const TOPO = join(import.meta.dirname, '../../topologies');
const CONF = { a: readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8'), b: readFileSync(join(TOPO, 'gw-b-ike.conf'), 'utf8') };
const FLAGS = ['database', 'general', 'ike', 'parse', 'policy-manager', 'routing-socket', 'timer'] as const;
let lab: MemLab | undefined;
afterEach(async () => { await lab?.close(); lab = undefined; });

const withTrace = (conf: string, flags: string[], file = 'kmd-trace files 3 size 10k') =>
  conf.replace(/security \{\n/, `security {\n    traceoptions {\n        file ${file};\n${flags.map(f => `        flag ${f};\n`).join('')}    }\n`);

async function build(flags: string[]) {
  lab = new MemLab();
  let skew = 0;
  const now = () => Date.now() + skew;
  const gwA = lab.router('gw-a', withTrace(CONF.a, flags), { ipsec: 'inline', now });
  const gwB = lab.router('gw-b', CONF.b, { ipsec: 'inline' });
  const hostA = lab.host('host-a', '10.1.1.1', 24, '10.1.1.254');
  lab.host('host-b', '10.2.2.2', 24, '10.2.2.254');
  lab.link('gw-a:fe-0/0/1', 'host-a');
  lab.link('gw-a:fe-0/0/0', 'gw-b:fe-0/0/0');
  lab.link('gw-b:fe-0/0/1', 'host-b');
  await lab.ready();
  // keys handed to the ES PIC, to look for them in the trace
  const keys: Buffer[] = [];
  const install = gwA.ipsec.installDynamic!.bind(gwA.ipsec);
  gwA.ipsec.installDynamic = (ifl: string, pair: DynamicSaPair) => {
    for (const s of [pair.inbound, pair.outbound]) { if (s?.enc) keys.push(s.enc.key); if (s?.auth) keys.push(s.auth.key); }
    install(ifl, pair);
  };
  return { gwA, gwB, hostA, keys, skew: (ms: number) => { skew += ms; } };
}

/** A tunnel's life that touches every flag: config, IKE, a retransmission, an SA installed, a clear. */
async function exercise(t: Awaited<ReturnType<typeof build>>) {
  // the first IKE message goes unanswered once (a retransmission: timer)
  const listener = t.gwB.pfe.udp.get(500)!;
  t.gwB.pfe.udp.delete(500);
  const first = t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 });
  await delivered(lab!);   // message 1 reached gw-b, which had no listener
  t.gwB.pfe.udp.set(500, listener);
  t.skew(KMD_RETRANSMIT + 10);
  t.gwA.kmd.tick();
  expect(await first).toHaveLength(1);
  await transcript(new Interpreter(t.gwA), ['clear ipsec security-associations']);
}
const KMD_RETRANSMIT = 2000;
const traceOf = (r: Router) => (r.log.read('kmd-trace') ?? []).join('\n');

describe('security traceoptions', () => {
  for (const flag of FLAGS) {
    it(`flag ${flag}: its traces, and only those, besides the events kmd always logs`, async () => {
      const t = await build([flag]);
      await exercise(t);
      const trace = traceOf(t.gwA);
      expect(trace).toMatch(new RegExp(`\\[${flag}\\] `));
      for (const other of FLAGS) if (other !== flag) expect(trace).not.toMatch(new RegExp(`\\[${other}\\] `));
      expect(trace).toMatch(/KMD_PM_SA_ESTABLISHED/);
    });
  }

  it('no flag: only the events; flag all: every kind of trace, and never a key or the pre-shared key', async () => {
    const quiet = await build([]);
    await exercise(quiet);
    expect(traceOf(quiet.gwA)).not.toMatch(/\] \[/);
    expect(traceOf(quiet.gwA)).toMatch(/KMD_PM_P1_ESTABLISHED[\s\S]*KMD_PM_SA_ESTABLISHED/);
    await lab!.close(); lab = undefined;

    const t = await build(['all']);
    await exercise(t);
    const trace = traceOf(t.gwA) + (t.gwA.log.read('kmd-trace.0') ?? []).join('\n') + (t.gwA.log.read('kmd') ?? []).join('\n');
    for (const f of FLAGS) expect(trace).toMatch(new RegExp(`\\[${f}\\] `));
    const psk = 'example-pre-shared-key';
    const secrets = [psk, Buffer.from(psk).toString('hex'), ...t.keys.map(k => k.toString('hex'))];
    for (const s of t.gwA.kmd.ikeSnapshot()) secrets.push(...[s.skeyid, s.keys?.d, s.keys?.a, s.keys?.e, s.ka].filter((b): b is Buffer => !!b).map(b => b.toString('hex')));
    expect(t.keys.length).toBeGreaterThanOrEqual(4);
    for (const s of secrets) expect(trace.toLowerCase()).not.toContain(s.toLowerCase());
  });

  it('show log NAME, | match, | last N; the file rotates at its size', async () => {
    const t = await build(['all']);
    await exercise(t);
    // until the 10k file has rotated: each negotiation writes about 3k of traces
    for (let i = 0; i < 40 && !t.gwA.log.names().includes('kmd-trace.1'); i++) { await transcript(new Interpreter(t.gwA), ['clear ipsec security-associations', 'clear ike security-associations']); await t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 3000 }); }
    const cli = new Interpreter(t.gwA);
    const last = await transcript(cli, ['show log kmd-trace | last 3']);
    expect(last.trim().split('\n').filter(l => !l.startsWith('root@'))).toHaveLength(3);
    const m = await transcript(cli, ['show log kmd-trace | match KMD_PM_SA_ESTABLISHED | last 1']);
    expect(m.trim().split('\n').filter(l => !l.startsWith('root@'))).toEqual([expect.stringMatching(/KMD_PM_SA_ESTABLISHED/)]);
    expect(await transcript(cli, ['show log kmd-trace | last 0'])).toMatch(/value is not within range/);
    // 10k per file, 3 files: the trace has rotated, no file is bigger than its size
    expect(t.gwA.log.names()).toEqual(expect.arrayContaining(['kmd-trace', 'kmd-trace.0', 'kmd-trace.1']));
    for (const n of ['kmd-trace', 'kmd-trace.0', 'kmd-trace.1']) expect(t.gwA.log.size(n) ?? 0).toBeLessThanOrEqual(10 * 1024);
    expect(t.gwA.log.names()).not.toContain('kmd-trace.2');
    expect(await transcript(cli, ['show log kmd-trace.0 | last 1'])).toMatch(/kmd: /);
  });
});
