/** The setup a describe block of end-to-end tests shares (not in helpers.ts: vitest's global setup imports that, and vitest cannot be imported there). */
import { beforeAll, afterAll, expect } from 'vitest';
import { buildOnce, labCopy, vrouter, leftovers, cleanup, Lab } from './helpers.js';

/**
 * A lab for one describe block: topologies/<base>.yaml copied under a unique name (`tag`), up
 * detached before the tests, down and checked for leftovers after them (even when one failed or `up`
 * did). `exec` runs CLI commands on a router; `internalErrors` reads its PFE's internal-error drops.
 */
export function labForSuite(base: string, tag: string) {
  const s = {
    lab: undefined as unknown as Lab,
    exec: async (node: string, ...cmds: string[]) => (await vrouter('exec', s.lab.file, node, ...cmds)).out,
    internalErrors: async (node: string) => Number(/internal-error\s+:\s+(\d+)/.exec(await s.exec(node, 'show pfe statistics traffic'))?.[1] ?? 0),
  };
  beforeAll(async () => {
    buildOnce();
    s.lab = labCopy(base, tag);
    const r = await vrouter('up', s.lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
  }, 300000);
  afterAll(async () => { if (s.lab) { await cleanup(s.lab); expect(await leftovers(s.lab.name)).toEqual([]); } });
  return s;
}
