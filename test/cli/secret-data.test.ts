/**
 * Issue 21 item 5, the CLI's side: a CLI session whose login class lacks the `secret` permission
 * (here read-only; the XML API's `<command>` opens such sessions for its users) sees
 * `/* SECRET-DATA *\/` wherever the configuration is shown: show configuration in every form,
 * | display set and xml, | match, configuration mode's show and show | compare, run show
 * configuration. Root (super-user, the console's user) sees the `$9$` and `$6$` values.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { gateways } from '../../src/lab/memlab.js';
import { CommitDb } from '../../src/mgd/commitdb.js';
import { Interpreter } from '../../src/cli/interp.js';
import { ApiSession } from '../../src/api/engine.js';
import { parseDocument } from '../../src/api/xml.js';
import { SECRET_SHOWN } from '../../src/config/redact.js';

const TOPO = join(import.meta.dirname, '../../topologies');
const HASH = '$6$abcdefgh$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789abcdefghijkl';
let t: Awaited<ReturnType<typeof gateways>>;
let db: CommitDb, root: Interpreter, ro: Interpreter;
beforeAll(async () => {
  t = await gateways(readFileSync(join(TOPO, 'gw-a-ike.conf'), 'utf8'), readFileSync(join(TOPO, 'gw-b-ike.conf'), 'utf8'), { ipsec: 'inline' });
  db = new CommitDb(t.gwA);
  root = new Interpreter(t.gwA, db);
  ro = new Interpreter(t.gwA, db, { name: 'viewer', cls: 'read-only' });
  for (const l of ['configure', 'set system login user viewer class read-only', `set system login user netops class super-user authentication encrypted-password "${HASH}"`, 'commit', 'exit'])
    await run(root, l);
});
afterAll(async () => { await t?.lab.close(); });

async function run(it: Interpreter, line: string): Promise<string> {
  let out = '';
  await it.exec(line, { write: s => { out += s; } });
  return out;
}
/** no $9$ string, no crypt hash, and the marker where each was */
function noSecret(out: string): void {
  expect(out).not.toMatch(/\$9\$|\$6\$/);
  expect(out).toContain(SECRET_SHOWN);
}

describe('a CLI session without the secret permission', () => {
  it('root sees the secrets (the check below can fail)', async () => {
    const out = await run(root, 'show configuration');
    expect(out).toMatch(/pre-shared-key ascii-text "\$9\$[^"]+"; ## SECRET-DATA/);
    expect(out).toContain(HASH);
    expect(root.prompt).toBe(`root@${t.gwA.name}> `);
  });

  it('operational mode: show configuration, its set, XML and | match forms, a subtree', async () => {
    expect(ro.prompt).toBe(`viewer@${t.gwA.name}> `);
    for (const l of ['show configuration', 'show configuration | display set', 'show configuration | display xml', 'show configuration | match "pre-shared|encrypted"', 'show configuration security ike', 'show configuration system login'])
      noSecret(await run(ro, l));
    expect(await run(ro, 'show configuration | display set | match pre-shared')).toMatch(new RegExp(`pre-shared-key ascii-text ${SECRET_SHOWN.replace(/[*/]/g, '\\$&')}`));
  });

  it('configuration mode: show, show | display set, show | compare, run show configuration', async () => {
    await run(root, 'configure');
    await run(root, 'set security ike policy 10.6.6.6 pre-shared-key ascii-text "another-key"');
    await run(ro, 'configure');
    try {
      const cmp = await run(ro, 'show | compare');
      expect(cmp).toMatch(/^[-+] /m);
      noSecret(cmp);
      for (const l of ['show', 'show | display set', 'show security ike', 'run show configuration', 'show | compare rollback 0']) noSecret(await run(ro, l));
      expect(await run(root, 'show | compare')).toMatch(/\$9\$/);
    } finally {
      await run(root, 'rollback 0');
      await run(root, 'exit');
      await run(ro, 'exit');
    }
  });

  it("the XML API's <command> runs its CLI session as the API user", async () => {
    const api = new ApiSession(t.gwA, db, { name: 'viewer', cls: 'read-only' }, 'junoscript', 'test');
    const d = parseDocument('<command format="text">show configuration</command>');
    if (!d.ok) throw new Error(d.why);
    noSecret(await api.run(d.root));
  });
});
