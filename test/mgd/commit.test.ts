/**
 * mgd's one commit path: the CLI's commit, the API's commit and a configuration committed from a
 * file all write one UI_COMMIT line, in one format, from the commit itself.
 */
import { it, expect, afterAll } from 'vitest';
import { Router } from '../../src/router/router.js';
import { CommitDb } from '../../src/mgd/commitdb.js';
import { Interpreter } from '../../src/cli/interp.js';
import { ApiSession } from '../../src/api/engine.js';
import { parseDocument } from '../../src/mgd/xml.js';
import { readCommits } from '../../src/mgd/read/commits.js';
import { commitHistory } from '../../src/cli/show.js';

const r = new Router({ name: 'r1', ipsec: 'inline' });
afterAll(() => r.stop());

it('CLI, API and file commits log UI_COMMIT once each, in one format; a failed commit logs nothing', async () => {
  expect(r.commitText('system { host-name r1; }', 'r1.conf').ok).toBe(true);
  const db = new CommitDb(r);
  const cli = new Interpreter(r, db);
  let out = '';
  for (const c of ['configure', 'set system host-name r2', 'commit', 'set security ipsec security-association sa1 manual direction bidirectional spi 300', 'commit', 'rollback 0', 'exit']) await cli.exec(c, { write: s => { out += s; } });
  expect(out).toMatch(/commit complete/);
  expect(out).toMatch(/configuration check-out failed/);
  const api = new ApiSession(r, db, { name: 'netops', cls: 'super-user' }, 'netconf', 'test');
  const d = parseDocument('<commit/>');
  if (!d.ok) throw new Error(d.why);
  expect(await api.run(d.root)).toBe('<ok/>');
  const lines = (r.log.read('messages') ?? []).filter(l => l.includes('UI_COMMIT'));
  const tail = lines.map(l => l.replace(/^.*?mgd\[\d+\]: /, ''));
  expect(tail).toEqual([
    "UI_COMMIT: User 'root' requested 'commit' operation (file r1.conf)",
    "UI_COMMIT: User 'root' requested 'commit' operation (cli)",
    `UI_COMMIT: User 'netops' requested 'commit' operation (NETCONF session ${api.id})`,
  ]);
  expect(commitHistory(readCommits(db))).toMatch(/^0 +\S+ \S+ UTC by netops via netconf\n1 +\S+ \S+ UTC by root via cli\n/);
});
