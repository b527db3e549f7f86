/** vrouter list: the labs up on this machine, their nodes and since when; inspect of a lab that is not up says so. */
import { describe, it, expect, afterAll } from 'vitest';
import { canRun, skipReason, buildOnce, labCopy, vrouter, leftovers, cleanup, Lab } from './helpers.js';

let lab: Lab | undefined;
afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

describe.skipIf(!canRun)(`vrouter list ${skipReason}`, () => {
  // steps as tests of their own, so that vitest's worker can report between the blocking vrouter calls
  let l: Lab, t0: number;
  it('inspect of a lab that is not up says so', async () => {
    buildOnce();
    l = lab = labCopy('gw-a-b', 'l');
    const before = await vrouter('inspect', l.file, '--json');
    expect(before.code).toBe(1);
    expect(before.err).toContain(`lab ${l.name} is not up (vrouter list shows the labs that are`);
    expect((await vrouter('list')).out).not.toMatch(new RegExp(`^${l.name} `, 'm'));
  }, 200000);
  it('list shows the lab while it is up, with its nodes and since when', async () => {
    t0 = Date.now();
    const u = await vrouter('up', l.file, '--detach');
    expect(u.code, u.out + u.err).toBe(0);
    const text = await vrouter('list');
    expect(text.code).toBe(0);
    const block = text.out.split(/\n(?=\S)/).find(b => b.startsWith(`${l.name} `));
    expect(block, text.out).toBeDefined();
    expect(block).toMatch(new RegExp(`^${l.name}  up since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC \\(\\d\\d:\\d\\d:\\d\\d ago\\)  ${l.file.replace(/[.]/g, '\\.')}  netns vr-${l.name}`));
    expect(block).toMatch(/\n  gw-a +juniper_m10 +pid \d+/);
    expect(block).toMatch(new RegExp(`\\n  host-b +linux +netns ${l.name}-host-b`));
    const json = JSON.parse((await vrouter('list', '--json')).out) as Array<{ name: string; started: string; file: string; nodes: Record<string, { kind: string; pid: number | null; running: boolean }> }>;
    const me = json.find(x => x.name === l.name)!;
    expect(me.file).toBe(l.file);
    expect(Date.parse(me.started)).toBeGreaterThanOrEqual(t0 - 1000);
    expect(Object.keys(me.nodes)).toEqual(['gw-a', 'gw-b', 'host-a', 'host-b']);
    expect(me.nodes['gw-b']).toMatchObject({ kind: 'juniper_m10', running: true });
  }, 200000);
  it('a lab that is down is not listed', async () => {
    expect((await vrouter('down', l.file)).code).toBe(0);
    expect(JSON.parse((await vrouter('list', '--json')).out).map((x: { name: string }) => x.name)).not.toContain(l.name);
    expect((await vrouter('inspect', l.file)).code).toBe(1);
  }, 200000);
});
