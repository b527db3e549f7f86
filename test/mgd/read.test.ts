/**
 * mgd's read models: the CLI's text and the XML API's reply of an operational command come from the
 * same value. The route lookup first: `show route 10.2.2.9` is the longest match in both.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { figure11 } from '../../src/lab/memlab.js';
import { CommitDb } from '../../src/cli/commitdb.js';
import { Interpreter } from '../../src/cli/interp.js';
import { ApiSession, errorXml } from '../../src/api/engine.js';
import { cliOutput, rpcReply } from './sessions.js';

const topo = join(import.meta.dirname, '../../topologies');
let t: Awaited<ReturnType<typeof figure11>>;
let cli: Interpreter, api: ApiSession;
beforeAll(async () => {
  t = await figure11(topo, { ipsec: 'inline' });
  const db = new CommitDb(t.gwA);
  cli = new Interpreter(t.gwA, db);
  api = new ApiSession(t.gwA, db, { name: 'netops', cls: 'super-user' }, 'junoscript', 'test');
});
afterAll(async () => { await t.lab.close(); });

const run = (line: string) => cliOutput(cli, line);
async function rpc(xml: string): Promise<string> {
  try { return await rpcReply(api, xml); } catch (e) { return errorXml('junoscript', e); }
}
const destinations = (xml: string) => [...xml.matchAll(/<rt-destination>([^<]+)</g)].map(m => m[1]);

describe('show route DESTINATION', () => {
  it('a bare address is its longest match in the text, in | display xml and in the API', async () => {
    const text = await run('show route 10.2.2.9');
    expect(text).toMatch(/^10\.2\.2\.0\/24 /m);
    expect(destinations(await run('show route 10.2.2.9 | display xml'))).toEqual(['10.2.2.0/24']);
    expect(destinations(await rpc('<get-route-information><destination>10.2.2.9</destination></get-route-information>'))).toEqual(['10.2.2.0/24']);
    expect(destinations(await rpc('<command>show route 10.2.2.9</command>'))).toEqual(['10.2.2.0/24']);
  });
  it('a prefix is that route exactly, or none', async () => {
    expect(destinations(await run('show route 10.2.2.0/24 | display xml'))).toEqual(['10.2.2.0/24']);
    expect(destinations(await run('show route 10.2.2.0/25 | display xml'))).toEqual([]);
    expect(await run('show route 10.2.2.0/25')).not.toMatch(/^10\.2\.2/m);
  });
  it('a destination that is no address is an error in both', async () => {
    expect(await run('show route 10.2.2')).toMatch(/^error: invalid prefix 10\.2\.2$/m);
    expect(await run('show route 10.2.2 | display xml')).toMatch(/<message>invalid prefix 10\.2\.2<\/message>/);
  });
});

describe('| display xml and <command> take the CLI\'s own parse', () => {
  it('abbreviated flags are flags (a re-parse took "br" for an SA name)', async () => {
    for (const x of [await run('show ipsec security-associations br | display xml'), await rpc('<command>show ipsec sec br</command>')]) {
      expect(x).toMatch(/<total-active-tunnels>/);
      expect(x).not.toMatch(/not found/);
    }
    expect(await rpc('<command>show int te</command>')).toMatch(/<interface-information[^>]*style="terse"/);
  });
  it('a line the CLI refuses is the CLI\'s syntax error, not some RPC', async () => {
    await expect(rpc('<command>show interfaces bogus-flag extra</command>')).resolves.toMatch(/syntax error/);
  });
  it('a command without an RPC is the CLI\'s text', async () => {
    expect(await run('ping 10.1.1.1 count 1 | display xml')).toMatch(/<output>PING 10\.1\.1\.1/);
    expect(await run('show ipsec diagnosis | display xml')).toMatch(/<ipsec-diagnosis-information>\s*<tunnel>\s*<interface-name>es-/);   // vrouter's own RPC
    expect(await run('show system commit | display xml')).toMatch(/<commit-information>\s*<commit-history>/);
  });
});
