/** `vrouter netem`'s impairments outlive the router process: kept in a file beside its control socket. */
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withNetem, netemRequest, keepNetem } from '../pfe/netem.js';
import { Wire } from './wire.js';
import { netemParams } from './netem.js';

let dir: string | undefined;
afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); dir = undefined; });

/** A router's PFE as far as impairments go: its ports on wires, its drop counters. */
function pfe() {
  const drops: string[] = [];
  const p = { ifds: new Map([['fe-0/0/0', { counters: { drop: (r: string) => drops.push(r) } }], ['fe-0/0/1', { counters: { drop: (r: string) => drops.push(r) } }]]) };
  const w0 = new Wire(), w1 = new Wire();
  withNetem(p, 'fe-0/0/0', w0.a); withNetem(p, 'fe-0/0/1', w1.a);
  return p;
}

describe('impairments kept across a router restart', () => {
  it('a set or clear is written; a new process with the file has the same impairment and seed', () => {
    dir = mkdtempSync(join(tmpdir(), 'netem-'));
    const file = join(dir, 'gw-a.netem.json');
    const first = pfe();
    expect(keepNetem(first, file)).toEqual([]);
    netemRequest(first, { ifname: 'fe-0/0/0', set: netemParams({ delay: '30', loss: '20' }) });
    netemRequest(first, { ifname: 'fe-0/0/1', set: netemParams({ duplicate: '100', seed: '9' }) });
    netemRequest(first, { ifname: 'fe-0/0/1', clear: true });
    const before = netemRequest(first, {});
    const seed = 'netem' in before ? before.netem[0]!.params.seed : -1;   // the seed the router picked
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([{ ifname: 'fe-0/0/0', params: { delayMs: 30, lossPct: 20, seed } }]);
    const again = pfe();
    expect(keepNetem(again, file)).toEqual([]);
    const after = netemRequest(again, {});
    expect('netem' in after && after.netem.map(s => [s.ifname, s.params, s.counters.packets])).toEqual([['fe-0/0/0', { delayMs: 30, lossPct: 20, seed }, 0]]);
  });

  it('a file that is not what it should be: each wrong port said, the rest applied, nothing thrown', () => {
    dir = mkdtempSync(join(tmpdir(), 'netem-'));
    const file = join(dir, 'gw-a.netem.json');
    writeFileSync(file, JSON.stringify([{ ifname: 'fe-0/0/9', params: { lossPct: 5 } }, { ifname: 'fe-0/0/0', params: { lossPct: 500 } }, { ifname: 'fe-0/0/1', params: { lossPct: 5, seed: 1 } }]));
    const p = pfe();
    const errs = keepNetem(p, file);
    expect(errs).toHaveLength(2);
    expect(errs[0]).toContain('fe-0/0/9 is not a port of this router');
    expect(errs[1]).toContain('lossPct: expected a percentage');
    const s = netemRequest(p, {});
    expect('netem' in s && s.netem.map(x => x.ifname)).toEqual(['fe-0/0/1']);
    writeFileSync(file, '{not json');
    expect(keepNetem(pfe(), file)[0]).toMatch(/gw-a\.netem\.json: .*JSON/);
  });
});
