/**
 * The lab directory: commits and their history survive a restart of the router (a new process reads
 * the same directory), a saved configuration that no longer commits is refused with its file, save,
 * --cleanup, and `vrouter cp` both ways with the router's own path rules.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync, copyFileSync, readFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopology, type Topology } from './topology.js';
import { labDir, routerDir, savedConfig, checkStartConfigs, startLines, save, removeLabDir } from './save.js';
import { cp } from './cp.js';
import { Router } from '../router/router.js';
import { CommitDb } from '../cli/commitdb.js';
import { showConfig } from '../config/display.js';
import { Interpreter } from '../cli/interp.js';

/** A CLI session: each line's output. */
const cliOf = (r: Router, db: CommitDb) => { const it = new Interpreter(r, db); return { run: async (l: string) => { let o = ''; await it.exec(l, { write: s => { o += s; } }); return o; } }; };

let dir: string, t: Topology;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vrouter-save-'));
  copyFileSync(join(import.meta.dirname, '../../topologies/gw-a.conf'), join(dir, 'gw-a.conf'));
  writeFileSync(join(dir, 't.yaml'), 'name: lab1\ntopology:\n  nodes:\n    gw-a: { kind: juniper_m10, startup-config: gw-a.conf }\n    h1: { kind: linux }\n  links:\n    - endpoints: ["gw-a:fe-0/0/1", "h1:eth1"]\n');
  t = loadTopology(join(dir, 't.yaml'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What router-main does: commit the start configuration, then open the commit database in its directory. */
function boot(): { r: Router; db: CommitDb } {
  const r = new Router({ name: 'gw-a', ipsec: 'inline', filesDir: join(routerDir(t, 'gw-a'), 'fs') });
  const file = existsSync(savedConfig(t, 'gw-a')) ? savedConfig(t, 'gw-a') : join(dir, 'gw-a.conf');
  const c = r.commitText(readFileSync(file, 'utf8'), file);
  if (!c.ok) throw new Error(c.output);
  return { r, db: new CommitDb(r, routerDir(t, 'gw-a')) };
}

describe('the lab directory', () => {
  it('lies beside the topology file as vrouter-NAME', () => {
    expect(labDir(t)).toBe(join(dir, 'vrouter-lab1'));
    expect(startLines(t)).toEqual([]);   // nothing saved yet: the startup-config
  });

  it('keeps commits, their history and rollback across a restart; show system commit lists them', async () => {
    let { r, db } = boot();
    const cli = cliOf(r, db);
    await cli.run('configure');
    await cli.run('set system host-name saved-name');
    expect(await cli.run('commit')).toContain('commit complete');
    await cli.run('exit');
    await r.stop();
    ({ r, db } = boot());   // a new router process, the same directory
    try {
      expect(showConfig(r.tree!)).toContain('host-name saved-name;');
      const hist = cliOf(r, db);
      const lines = (await hist.run('show system commit')).trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^0   \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by root via cli$/);
      expect(lines[1]).toMatch(/^1   .* by root via other$/);
      await hist.run('configure');
      expect(await hist.run('rollback 1')).toContain('load complete');
      expect(await hist.run('commit')).toContain('commit complete');
      expect(showConfig(r.tree!)).not.toContain('saved-name');
      expect(startLines(t)[0]).toMatch(/^gw-a: starting from its saved configuration .*juniper\.conf\.0 \(2 rollbacks/);
    } finally { await r.stop(); }
  });

  it('save writes juniper.conf in the brace format; a linux node is named, an unknown one refused', () => {
    expect(save(t)).toEqual([`gw-a: saved ${join(routerDir(t, 'gw-a'), 'juniper.conf')}`]);
    expect(readFileSync(join(routerDir(t, 'gw-a'), 'juniper.conf'), 'utf8')).toMatch(/^system \{\n/m);
    expect(save(t, ['h1'])[0]).toMatch(/linux node/);
    expect(() => save(t, ['nope'])).toThrow(/has no node nope/);
  });

  it('a saved configuration that no longer commits is refused with the file to fix', () => {
    const good = readFileSync(savedConfig(t, 'gw-a'), 'utf8');
    writeFileSync(savedConfig(t, 'gw-a'), good + 'interfaces { fe-0/0/1 { unit 0 { family inet { address 10.1.1.300/24; } } } }\n');
    const errs = checkStartConfigs(t);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toContain(`gw-a: saved configuration ${savedConfig(t, 'gw-a')} does not commit`);
    expect(errs[0]).toMatch(/--reconfigure/);
    writeFileSync(savedConfig(t, 'gw-a'), good);
    expect(checkStartConfigs(t)).toEqual([]);
    // a changed chassis: the topology now places no ES PIC, so the saved es-0/1/0 has no PIC to run on
    const moved = { ...t, nodes: new Map([...t.nodes].map(([k, n]) => [k, k === 'gw-a' ? { ...n, pics: [{ fpc: 0, pic: 0, type: '4x-fe' as const }] } : n])) } as Topology;
    const chassis = checkStartConfigs(moved);
    expect(chassis).toHaveLength(1);
    expect(chassis[0]).toContain(`gw-a: saved configuration ${savedConfig(t, 'gw-a')} does not commit`);
    expect(chassis[0]).toMatch(/es-0\/1\/0/);
  });

  it('cp copies both ways, keeps private keys owner-only, and refuses paths leaving the disk', () => {
    const f = join(dir, 'api.pem');
    writeFileSync(f, 'PEM', { mode: 0o600 });
    expect(cp(t, f, 'gw-a:/var/tmp/api.pem')).toBe(`copied ${f} to gw-a:/var/tmp/api.pem`);
    const onDisk = join(routerDir(t, 'gw-a'), 'fs', 'var/tmp/api.pem');
    expect(readFileSync(onDisk, 'utf8')).toBe('PEM');
    expect(statSync(onDisk).mode & 0o077).toBe(0);
    cp(t, f, 'gw-a:/var/tmp');   // into a directory: its name
    mkdirSync(join(dir, 'out'));
    cp(t, 'gw-a:/var/tmp/api.pem', join(dir, 'out'));
    expect(readFileSync(join(dir, 'out', 'api.pem'), 'utf8')).toBe('PEM');
    expect(() => cp(t, 'gw-a:/var/../../etc/passwd', join(dir, 'x'))).toThrow(/no such file/);   // the disk's /etc, not the host's
    expect(() => cp(t, 'gw-a:/var/tmp/none', join(dir, 'x'))).toThrow(/no such file/);
    expect(() => cp(t, f, join(dir, 'y'))).toThrow(/one side is NODE:PATH/);
    expect(() => cp(t, f, 'h1:/tmp/x')).toThrow(/linux node/);
    expect(() => cp(t, f, 'zz:/tmp/x')).toThrow(/no node zz/);
  });

  it('file copy on the router copies on its disk, into a directory too, keeping a key owner-only', async () => {
    const { r, db } = boot();
    try {
      const cli = cliOf(r, db);
      r.files.write('/var/tmp/k.pem', 'KEY', { secret: true });
      expect(await cli.run('file copy /var/tmp/k.pem /var/tmp/k2.pem')).toBe('');
      expect(r.files.read('/var/tmp/k2.pem').toString()).toBe('KEY');
      expect(r.files.isSecret('/var/tmp/k2.pem')).toBe(true);
      expect(await cli.run('file copy /var/tmp/k.pem /var/log')).toBe('');
      expect(r.files.read('/var/log/k.pem').toString()).toBe('KEY');
      expect(await cli.run('file copy /var/tmp/none /var/tmp/x')).toBe('error: could not resolve file: /var/tmp/none\n');
      expect(await cli.run('file copy /var/tmp/k.pem')).toMatch(/^error: file copy takes a source and a destination/);
      expect(await cli.run('file copy ftp://10.0.0.1/x /var/tmp/x')).toBe('error: file copy: ftp:// is not supported: http:// URLs only\n');
      expect(await cli.run('file copy /var/tmp/k.pem http://10.0.0.1/x')).toMatch(/^error: file copy: the destination is a path on the router's disk/);
    } finally { await r.stop(); }
  });

  it('file copy from an http:// URL (a real server on loopback; in a lab it is the Routing Engine stack): into a file or a directory; a 404 writes nothing', async () => {
    const { createServer } = await import('node:http');
    const body = Buffer.alloc(70000, 0x41);
    const srv = createServer((q, s) => { if (q.url === '/pub/big.bin') s.end(body); else { s.statusCode = 404; s.end('no'); } });
    await new Promise<void>(res => srv.listen(0, '127.0.0.1', () => res()));
    const port = (srv.address() as { port: number }).port;
    const { r, db } = boot();
    try {
      const cli = cliOf(r, db);
      expect(await cli.run(`file copy http://127.0.0.1:${port}/pub/big.bin /var/tmp/b.bin`)).toBe(`http://127.0.0.1:${port}/pub/big.bin: 70000 bytes to /var/tmp/b.bin\n`);
      expect(r.files.read('/var/tmp/b.bin').equals(body)).toBe(true);
      expect(await cli.run(`file copy http://127.0.0.1:${port}/pub/big.bin /var/log`)).toContain('70000 bytes to /var/log/big.bin');
      expect(await cli.run(`file copy http://127.0.0.1:${port}/none /var/tmp/n`)).toBe(`error: file copy http://127.0.0.1:${port}/none: the server answered HTTP 404 Not Found\n`);
      expect(r.files.exists('/var/tmp/n')).toBe(false);
    } finally { await r.stop(); srv.close(); }
  });

  it('--cleanup removes it', () => {
    expect(removeLabDir(t)).toBe(true);
    expect(existsSync(labDir(t))).toBe(false);
    expect(removeLabDir(t)).toBe(false);
  });
});
