/**
 * Issue 21 item 5: a class without the `secret` permission (read-only, operator) reads no secret
 * through the API: get-configuration (xml, text, set, compare), NETCONF get-config and get, and
 * `<command>show configuration</command>` show `/* SECRET-DATA *\/` where the $9$ value, the password
 * hash and the private key were; a super-user still sees them. `file show` shows no private key.
 */
import { describe, it, expect, afterAll } from 'vitest';
// the router daemon loads the CLI, which gives mgd the shell `<command>` runs in (src/mgd/shell.ts)
import '../cli/interp.js';
import { Duplex } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from '../router/router.js';
import { CommitDb } from '../cli/commitdb.js';
import { junoscriptSession } from './junoscript.js';
import { netconfSession } from './netconf.js';
import { redactSecrets, SECRET_SHOWN } from '../config/redact.js';
import { showFile } from '../pki/certs.js';

const dir = mkdtempSync(join(tmpdir(), 'sec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=api', '-days', '2'], { stdio: 'ignore' });
const PEM = readFileSync(join(dir, 'c.pem'), 'utf8') + readFileSync(join(dir, 'k.pem'), 'utf8');
const KEY_LINE = readFileSync(join(dir, 'k.pem'), 'utf8').split('\n')[1]!;
const hash = (pw: string) => execFileSync('openssl', ['passwd', '-6', pw]).toString().trim();

const r = new Router({ name: 'gw-a', ipsec: 'inline' });
afterAll(() => r.stop());
const HASH_SU = hash('pw-1'), HASH_RO = hash('pw-2');
const BASE = readFileSync(new URL('../../topologies/gw-a-ike.conf', import.meta.url), 'utf8');
const cfg = (adminCls?: string) => BASE.replace('system {\n    host-name gw-a;\n}', `system { host-name gw-a; login {
  ${adminCls ? `user admin { class ${adminCls}; authentication { encrypted-password "${HASH_SU}"; } }` : ''}
  user viewer { class read-only; authentication { encrypted-password "${HASH_RO}"; } }
  user op { class operator; authentication { encrypted-password "${HASH_RO}"; } } } }`)
  .replace('security {\n    ike {', `security {\n certificates { local api { certificate-key-string ${JSON.stringify(PEM)}; } }\n    ike {`);
const c = r.commitText(cfg('super-user'), 't');
if (!c.ok) throw new Error(c.output);
const db = new CommitDb(r);
const NINE = /\$9\$/;

function js(user: string, pw: string, rpcs: string[]): Promise<string> {
  let out = '';
  return new Promise(res => {
    const sock = new Duplex({ read() {}, write(chunk, _e, cb) { out += String(chunk); cb(); }, final(cb) { res(out); cb(); } });
    junoscriptSession(r, db, sock, '10.1.1.1');
    sock.push(`<junoscript version="1.0"><rpc><request-login><username>${user}</username><challenge-response>${pw}</challenge-response></request-login></rpc>`);
    for (const x of rpcs) sock.push(`<rpc>${x}</rpc>`);
    sock.push('<rpc><request-end-session/></rpc>');
  });
}
function nc(user: { name: string; cls: string }, rpcs: string[]): Promise<string> {
  let out = '';
  return new Promise(res => {
    const sock = new Duplex({ read() {}, write(chunk, _e, cb) { out += String(chunk); cb(); }, final(cb) { res(out); cb(); } });
    netconfSession(r, db, user, sock, '10.1.1.1');
    sock.push('<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]>');
    rpcs.forEach((x, i) => sock.push(`<rpc message-id="${i}">${x}</rpc>]]>]]>`));
    sock.push(`<rpc message-id="end"><close-session/></rpc>]]>]]>`);
  });
}
const RPCS = [
  '<get-configuration/>', '<get-configuration format="text"/>', '<get-configuration format="set"/>',
  '<command>show configuration</command>', '<command>show configuration | display set</command>',
  '<command>show configuration security</command>', '<command>show configuration | display xml</command>',
];

describe('secrets and classes without the secret permission', () => {
  for (const [user, pw] of [['viewer', 'pw-2'], ['op', 'pw-2']] as const) {
    it(`${user}: JUNOScript configuration in every format shows /* SECRET-DATA */, never the secret`, async () => {
      const o = await js(user, pw, RPCS);
      expect(o).toMatch(/success/);
      for (const bad of [HASH_SU, HASH_RO, KEY_LINE, 'PRIVATE KEY']) expect(o).not.toContain(bad);
      expect(o).not.toMatch(NINE);
      expect(o).toContain(`encrypted-password ${SECRET_SHOWN}; ## SECRET-DATA`);
      expect(o).toContain(`pre-shared-key ascii-text ${SECRET_SHOWN}; ## SECRET-DATA`);
      expect(o).toContain(`<encrypted-password>${SECRET_SHOWN}</encrypted-password>`);
      expect(o).toMatch(/set security ike policy 10\.6\.6\.6 pre-shared-key ascii-text \/\* SECRET-DATA \*\/;? ## SECRET-DATA/);
      expect(o.split(SECRET_SHOWN).length).toBeGreaterThan(20);
    });
  }
  it('NETCONF get-config and get of a read-only user: no secret', async () => {
    const o = await nc({ name: 'viewer', cls: 'read-only' }, ['<get-config><source><running/></source></get-config>', '<get/>', '<get-configuration format="text"/>']);
    expect(o).toContain(`<encrypted-password>${SECRET_SHOWN}</encrypted-password>`);
    for (const bad of [HASH_SU, KEY_LINE, 'PRIVATE KEY']) expect(o).not.toContain(bad);
    expect(o).not.toMatch(NINE);
  });
  it('a super-user still sees the $9$ values and hashes', async () => {
    const o = await js('admin', 'pw-1', RPCS.slice(0, 2));
    expect(o).toMatch(NINE);
    expect(o).toContain(HASH_RO);
  });
  it('a session follows its user: made read-only, it sees no secret; deleted, it ends', async () => {
    let out = '';
    const sock = new Duplex({ read() {}, write(chunk, _e, cb) { out += String(chunk); cb(); }, final(cb) { cb(); } });
    junoscriptSession(r, db, sock, '10.1.1.1');
    sock.push('<junoscript version="1.0"><rpc><request-login><username>admin</username><challenge-response>pw-1</challenge-response></request-login></rpc><rpc><get-configuration format="text"/></rpc>');
    while (!/<\/configuration-text>/.test(out)) await new Promise(res => setTimeout(res, 10));
    expect(out).toMatch(NINE);
    expect(r.commitText(cfg('read-only'), 't').ok).toBe(true);
    out = '';
    sock.push('<rpc><get-configuration format="text"/></rpc>');
    while (!/<\/configuration-text>/.test(out)) await new Promise(res => setTimeout(res, 10));
    expect(out).not.toMatch(NINE);
    expect(out).toContain(SECRET_SHOWN);
    expect(r.commitText(cfg(), 't').ok).toBe(true);
    out = '';
    sock.push('<rpc><get-configuration format="text"/></rpc>');
    while (!/<\/junoscript>/.test(out)) await new Promise(res => setTimeout(res, 10));
    expect(out).toMatch(/user admin may no longer log in/);
    expect(out).not.toMatch(NINE);
  });
  it('file show never shows a private key, to any class, whatever the file mode', () => {
    r.files.write('/var/tmp/api.pem', PEM);            // 0644, as a user may write it
    expect(() => showFile(r.files, '/var/tmp/api.pem')).toThrow(/private key/);
    r.files.write('/var/tmp/c.pem', readFileSync(join(dir, 'c.pem')));
    expect(showFile(r.files, '/var/tmp/c.pem')).toMatch(/BEGIN CERTIFICATE/);
    r.files.write('/var/tmp/k.der', execFileSync('openssl', ['pkey', '-in', join(dir, 'k.pem'), '-outform', 'DER']));
    expect(() => showFile(r.files, '/var/tmp/k.der')).toThrow(/private key/);
  });
  it('the text redaction: every form, XML-escaped too, an unterminated key block to the end; linear', () => {
    expect(redactSecrets('key ascii-text &quot;$9$abc&quot;; ## SECRET-DATA')).toBe(`key ascii-text ${SECRET_SHOWN}; ## SECRET-DATA`);
    expect(redactSecrets('encrypted-password "not a hash \\" x"; ## SECRET-DATA')).toBe(`encrypted-password ${SECRET_SHOWN}; ## SECRET-DATA`);
    expect(redactSecrets('a\n-----BEGIN RSA PRIVATE KEY-----\\nMII\\n-----END RSA PRIVATE KEY-----\\nb')).toBe(`a\n${SECRET_SHOWN}\\nb`);
    expect(redactSecrets('x -----BEGIN PRIVATE KEY-----\nMIIE never ends')).toBe(`x ${SECRET_SHOWN}`);
    const big = '-----BEGIN '.repeat(50_000) + '"'.repeat(100_000) + ' ## SECRET-DATA';
    const t0 = performance.now();
    redactSecrets(big);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});


describe('key-pair and certificate file names', () => {
  it('`..` and `.` as a key-pair name are refused and leave no temporary file', async () => {
    const { makeKeyPair } = await import('../pki/certs.js');
    const { readdirSync } = await import('node:fs');
    const all = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap(e => (e.isDirectory() ? all(join(d, e.name)) : [join(d, e.name)]));
    for (const n of ['..', '.', '../x', 'a/b']) await expect(makeKeyPair(r.files, n, 512, 'rsa')).rejects.toThrow(/invalid file name/);
    expect(all(r.files.root).filter(f => /\.tmp-/.test(f))).toEqual([]);
  });
});

describe('load errors', () => {
  it('plain-text-password "x" is not echoed in the load error', () => {
    const r2 = new Router({ name: 'g', ipsec: 'inline' });
    try {
      const out = r2.commitText('system { login { user a { class super-user; authentication { plain-text-password "hunter2secret"; } } } }', 't').output;
      expect(out).toMatch(/syntax error/);
      expect(out).not.toContain('hunter2secret');
    } finally { r2.stop(); }
  });
});
