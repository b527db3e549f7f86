/**
 * Issue 24: `load-key-file` is read at load wherever the configuration comes from — a startup
 * configuration (Router.commitText), `vrouter check FILE`, `load merge FILE` — or the load is refused
 * with the reason; and the log says when xnm-ssl has no usable certificate.
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Router } from '../../src/router/router.js';
import { CommitDb } from '../../src/mgd/commitdb.js';
import { activate, xnmSslCertificateProblem } from '../../src/mgd/commit.js';
import { Interpreter } from '../../src/cli/interp.js';
import { run as vrouter } from '../../src/cli/main.js';
import { showConfig } from '../../src/config/display.js';

const d = mkdtempSync(join(tmpdir(), 'mgd-keyfile-'));
let pem = '';
const r = new Router({ name: 'gw-a', ipsec: 'inline' });
beforeAll(() => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', join(d, 'k.pem'), '-out', join(d, 'c.pem'), '-subj', '/CN=gw-a', '-days', '2'], { stdio: 'ignore' });
  pem = readFileSync(join(d, 'c.pem'), 'utf8') + readFileSync(join(d, 'k.pem'), 'utf8');
  r.files.write('/var/tmp/api.pem', pem);
  writeFileSync(join(d, 'api.pem'), pem);
});
afterAll(async () => { await r.stop(); rmSync(d, { recursive: true, force: true }); });

const conf = (path: string) => `system { host-name gw-a; services { xnm-ssl { local-certificate api; } } }
security { certificates { local api { load-key-file ${path}; } } }`;

describe('load-key-file at load', () => {
  it('a startup configuration: the file is read into certificate-key-string; a missing file refuses the commit', () => {
    const bad = r.commitText(conf('/var/tmp/nothing.pem'), 'gw-a.conf');
    expect(bad.ok).toBe(false);
    expect(bad.output).toBe('error: load-key-file /var/tmp/nothing.pem: could not resolve file: /var/tmp/nothing.pem');
    expect(r.tree).toBeUndefined();
    const good = r.commitText(conf('/var/tmp/api.pem'), 'gw-a.conf');
    expect(good.output).toMatch(/commit complete$/);
    const text = showConfig(r.tree!);
    expect(text).toMatch(/certificate-key-string "\$9\$[^"]+"; ## SECRET-DATA/);
    expect(text).not.toMatch(/load-key-file/);
    expect(r.model!.certificates.local.get('api')!.keyString).toContain('-----BEGIN CERTIFICATE-----');
    expect(r.log.read('messages')!.join('\n')).not.toMatch(/UI_SERVICE_NO_CERTIFICATE/);
  });

  it('vrouter check FILE: the file is read (relative to the configuration), a missing one is the error', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out.push(String(s)); return true; });
    try {
      writeFileSync(join(d, 'good.conf'), conf('api.pem'));
      writeFileSync(join(d, 'bad.conf'), conf('gone.pem'));
      expect(await vrouter(['check', join(d, 'good.conf')])).toBe(0);
      expect(await vrouter(['check', join(d, 'bad.conf')])).toBe(1);
    } finally { spy.mockRestore(); }
    expect(out.join('')).toMatch(/^configuration check succeeds\nerror: load-key-file gone\.pem: .*gone\.pem/);
  });

  it('load merge FILE: the file is read, a missing one refuses the load and leaves the candidate', async () => {
    const db = new CommitDb(r);
    const it = new Interpreter(r, db);
    let out = '';
    const cmd = async (c: string) => { out = ''; await it.exec(c, { write: s => { out += s; } }); return out; };
    await cmd('configure');
    writeFileSync(join(d, 'more.conf'), 'security { certificates { local other { load-key-file /var/tmp/nothing.pem; } } }');
    const before = showConfig(db.candidate);
    expect(await cmd(`load merge ${join(d, 'more.conf')}`)).toMatch(/^error: load-key-file \/var\/tmp\/nothing\.pem: could not resolve file/);
    expect(showConfig(db.candidate)).toBe(before);
    writeFileSync(join(d, 'more.conf'), 'security { certificates { local other { load-key-file /var/tmp/api.pem; } } }');
    expect(await cmd(`load merge ${join(d, 'more.conf')}`)).toBe('load complete\n');
    expect(showConfig(db.candidate)).toMatch(/local other \{\n\s+certificate-key-string "\$9\$/);
  });
});

describe('xnm-ssl without a usable certificate', () => {
  it('is said in the log at commit, with the reason', () => {
    const m = r.model!;
    expect(xnmSslCertificateProblem(m)).toBeUndefined();
    expect(xnmSslCertificateProblem(m, new Date(Date.now() + 10 * 86400_000))).toMatch(/^local certificate api expired /);
    const unread = { ...m, certificates: { ...m.certificates, local: new Map([['api', { loadKeyFile: '/var/tmp/x.pem', hasKeyString: false }]]) } };
    activate(r, r.tree!, unread, { user: 'root', via: 'cli' });
    expect(r.log.read('messages')!.at(-1)).toMatch(/mgd\[\d+\]: UI_SERVICE_NO_CERTIFICATE: xnm-ssl: local certificate api: its load-key-file \/var\/tmp\/x\.pem was not read: the JUNOScript SSL service has no usable certificate/);
  });
});
