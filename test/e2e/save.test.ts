/**
 * Labs that last, for real: a commit, a file and a generated key pair on a router's disk, and a file in a
 * linux node's state directory survive save, down and up; rollback 1
 * after the restart; --reconfigure starts from the startup configuration; vrouter cp both ways;
 * --cleanup leaves nothing.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { canRun, skipReason, buildOnce, labCopy, vrouter, leftovers, cleanup, inNs, waitUntil, Lab } from './helpers.js';

let lab: Lab | undefined;
afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

describe.skipIf(!canRun)(`the lab directory ${skipReason}`, () => {
  // one lab through the steps, in order; each step is its own test so that vitest's worker can report
  // between the blocking vrouter calls
  let l: Lab, dir: string, pair: string;
  const up = async (...a: string[]) => { const r = await vrouter('up', l.file, '--detach', ...a); expect(r.code, r.out + r.err).toBe(0); return r.out; };
  const exec = async (...cmds: string[]) => await vrouter('exec', l.file, 'gw-a', ...cmds);
  it('a commit and a file on the disk, saved', async () => {
    buildOnce();
    l = lab = labCopy('gw-a-b', 's');
    dir = join(l.dir, `vrouter-${l.name}`);
    expect(await up()).not.toContain('saved configuration');
    expect((await exec('configure', 'set system host-name gw-a-saved', 'commit and-quit')).code).toBe(0);
    const src = join(l.dir, 'note.txt');
    writeFileSync(src, 'kept\n');
    expect((await vrouter('cp', l.file, src, 'gw-a:/var/tmp/note.txt')).code).toBe(0);
    // a generated key pair on the router's disk, a file in a linux node's state directory
    expect((await exec('request security key-pair kept-pair size 1024')).out).toContain('Generated key pair, key size 1024, file kept-pair');
    writeFileSync(`/var/lib/vrouter/${l.name}/host-a/state.txt`, 'host-a kept\n');
    expect(readFileSync(join(dir, 'host-a', 'state.txt'), 'utf8')).toBe('host-a kept\n');
    pair = readFileSync(join(dir, 'gw-a', 'fs/var/etc/ikecert/kept-pair'), 'utf8');
    expect(pair).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const s = await vrouter('save', l.file);
    expect(s.out).toContain(`gw-a: saved ${join(dir, 'gw-a', 'juniper.conf')}`);
    expect(readFileSync(join(dir, 'gw-a', 'juniper.conf'), 'utf8')).toContain('host-name gw-a-saved;');
    expect((await vrouter('down', l.file)).code).toBe(0);
    expect(existsSync(join(dir, 'gw-a', 'juniper.conf.0'))).toBe(true);
  }, 200000);

  it('up starts from them: the commit, the file, the history, cp back, file copy from a URL, rollback 1', async () => {

    expect(await up()).toMatch(/gw-a: starting from its saved configuration .*juniper\.conf\.0 \(1 rollback,/);
    expect((await exec('show configuration system')).out).toContain('gw-a-saved');
    expect((await exec('file show /var/tmp/note.txt')).out).toContain('kept');
    expect(readFileSync(join(dir, 'gw-a', 'fs/var/etc/ikecert/kept-pair'), 'utf8')).toBe(pair);
    expect((await exec('file list /var/etc/ikecert')).out).toContain('kept-pair');
    expect(readFileSync(`/var/lib/vrouter/${l.name}/host-a/state.txt`, 'utf8')).toBe('host-a kept\n');
    expect((await exec('show system commit')).out).toMatch(/^0 +\S+ \S+ UTC by root via cli\n1 +\S+ \S+ UTC by root via other\n$/);
    // file copy from a URL: an HTTP server in host-a, reached over gw-a's Routing Engine stack
    const srv = spawn('ip', ['netns', 'exec', `${l.name}-host-a`, 'python3', '-m', 'http.server', '8000', '--bind', '10.1.1.1', '--directory', l.dir], { stdio: 'ignore' });
    try {
      await waitUntil(async () => /10\.1\.1\.1:8000/.test((await inNs(`${l.name}-host-a`, 'ss', '-ltn')).out), 'the HTTP server in host-a');
      expect((await exec('file copy http://10.1.1.1:8000/note.txt /var/tmp/fetched.txt')).out).toBe('http://10.1.1.1:8000/note.txt: 5 bytes to /var/tmp/fetched.txt\n');
      expect(readFileSync(join(dir, 'gw-a', 'fs/var/tmp/fetched.txt'), 'utf8')).toBe('kept\n');
      expect((await exec('file copy http://10.1.1.1:8000/missing /var/tmp/m')).out).toMatch(/HTTP 404/);
    } finally { srv.kill(); }
    const back = join(l.dir, 'back.txt');
    expect((await vrouter('cp', l.file, 'gw-a:/var/tmp/note.txt', back)).code).toBe(0);
    expect(readFileSync(back, 'utf8')).toBe('kept\n');
    expect((await exec('configure', 'rollback 1', 'commit and-quit')).code).toBe(0);
    expect((await exec('show configuration system')).out).not.toContain('gw-a-saved');
    expect((await vrouter('down', l.file)).code).toBe(0);
  }, 200000);

  it('a saved configuration that no longer commits stops up; --reconfigure; --cleanup', async () => {
    // a saved configuration that no longer commits stops up before anything is created
    const saved = join(dir, 'gw-a', 'juniper.conf.0'), good = readFileSync(saved, 'utf8');
    writeFileSync(saved, good + 'interfaces { fe-0/0/1 { unit 0 { family inet { address 10.1.1.300/24; } } } }\n');
    const bad = await vrouter('up', l.file, '--detach');
    expect(bad.code).not.toBe(0);
    expect(bad.out + bad.err).toContain(`gw-a: saved configuration ${saved} does not commit`);
    expect(await leftovers(l.name)).toEqual([]);
    writeFileSync(saved, good);

    expect(await up('--reconfigure')).toContain('--reconfigure: removed the lab directory');
    expect((await exec('show system commit')).out.trim().split('\n')).toHaveLength(1);
    expect((await exec('file show /var/tmp/note.txt')).out).toContain('could not resolve file');
    const d = await vrouter('down', l.file, '--cleanup');
    expect(d.out).toContain(`removed the lab directory ${dir}`);
    expect(existsSync(dir)).toBe(false);
    expect(await leftovers(l.name)).toEqual([]);
  }, 200000);
});
