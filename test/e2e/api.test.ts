/**
 * The XML API against clients nobody here wrote, on the default lab (topologies/gw-a-b.yaml): gw-a
 * gets users, `netconf ssh`, and `xnm-ssl` with a certificate loaded from a file by `load-key-file`.
 * `openssl s_client` fed a JUNOScript session from a file logs in, reads the configuration, loads and
 * commits a change that a ping then shows live; ncclient (Debian's python3-ncclient) gets the
 * configuration, edits and commits under a lock, reads the SAs; a wrong password is refused and
 * logged; a malformed document ends only its own session.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, sh, leftovers, cleanup, waitUntil, Lab } from './helpers.js';
import { routerDir } from '../../src/lab/save.js';

const PASSWORD = 'lab-password-1';
const CLIENTS = join(import.meta.dirname, 'clients');

describe.skipIf(!canRun)(`the XML API (JUNOScript over TLS, NETCONF over SSH) ${skipReason}`, () => {
  let lab: Lab;
  let tmp: string;
  const exec = async (...cmds: string[]) => await vrouter('exec', lab.file, 'gw-a', ...cmds);
  const netconf = async (user: string, ...steps: string[]) => await inNs(`${lab.name}-host-a`, '/usr/bin/python3', join(CLIENTS, 'netconf.py'), '10.1.1.254', user, PASSWORD, ...steps);
  const sClient = async (input: string, extra: string[] = []) => {
    const f = join(tmp, `in-${Math.random().toString(36).slice(2)}.xml`);
    writeFileSync(f, input);
    return (await sh('sh', ['-c', `ip netns exec ${lab.name}-host-a timeout 20 openssl s_client -connect 10.1.1.254:3220 -quiet -ign_eof ${extra.join(' ')} < ${f}`])).out;
  };
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('gw-a-b', 'j');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
    tmp = mkdtempSync(join(tmpdir(), 'vrouter-api-'));
    // the SSL certificate and key, as a file on the router (the chapter: load-key-file)
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(tmp, 'k.pem'), '-out', join(tmp, 'c.pem'), '-subj', '/CN=gw-a', '-days', '30'], { stdio: 'ignore' });
    writeFileSync(join(routerDir(lab, 'gw-a'), 'fs/var/tmp/api.pem'), readFileSync(join(tmp, 'c.pem'), 'utf8') + readFileSync(join(tmp, 'k.pem'), 'utf8'));
    const hash = execFileSync('openssl', ['passwd', '-6', PASSWORD]).toString().trim();
    const c = await exec('configure', 'set system login user netops class super-user', `set system login user netops authentication encrypted-password "${hash}"`,
      'set system login user viewer class read-only', `set system login user viewer authentication encrypted-password "${hash}"`,
      'set system services netconf ssh', 'set security certificates local api-cert load-key-file /var/tmp/api.pem',
      'set system services xnm-ssl local-certificate api-cert', 'commit and-quit');
    expect(c.code, c.out).toBe(0);
  });
  afterAll(async () => { if (tmp) rmSync(tmp, { recursive: true, force: true }); if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

  it('load-key-file: the certificate and key are kept as certificate-key-string, a secret; a missing file changes nothing', async () => {
    const shown = (await exec('show configuration security certificates')).out;
    expect(shown).toMatch(/local api-cert \{\n\s+certificate-key-string "\$9\$[^"]+"; ## SECRET-DATA\n\s*\}/);
    expect(shown).not.toMatch(/BEGIN|load-key-file/);
    const bad = await exec('configure', 'set security certificates local other load-key-file /var/tmp/nope.pem', 'show security certificates local other', 'exit');
    expect(bad.out).toMatch(/error: load-key-file \/var\/tmp\/nope\.pem: could not resolve file/);
    expect(bad.out).not.toMatch(/local other/);
  });

  it('JUNOScript over TLS with openssl s_client: login, configuration, a committed change that a ping shows live; the loaded certificate is served', async () => {
    expect((await inNs(`${lab.name}-host-a`, 'ping', '-c', '1', '-W', '1', '10.1.1.253')).out).toMatch(/ 0 received/);
    const out = await sClient(readFileSync(join(CLIENTS, 'junoscript-session.xml'), 'utf8').replace('PASSWORD', PASSWORD));
    expect(out).toMatch(/<junoscript xmlns="http:\/\/xml\.juniper\.net\/xnm\/1\.1\/xnm"[^>]* hostname="gw-a" version="1\.0">/);
    expect(out).toMatch(/<authentication-response><status>success<\/status><message>netops<\/message><login-name>netops<\/login-name><\/authentication-response>/);
    expect(out).toMatch(/<configuration-text>system \{\n    host-name gw-a;\n\}\n<\/configuration-text>/);
    expect(out).toMatch(/<load-configuration-results><load-success\/><\/load-configuration-results>/);
    expect(out).toMatch(/<commit-results><routing-engine><name>re0<\/name><commit-success\/><\/routing-engine><\/commit-results>/);
    expect(out).toMatch(/<sa-name>manual-sa1<\/sa-name>/);
    expect(out).toMatch(/<end-session\/><\/rpc-reply>\n<\/junoscript>/);
    await waitUntil(async () => / 1 received/.test((await inNs(`${lab.name}-host-a`, 'ping', '-c', '1', '-W', '1', '10.1.1.253')).out), 'the new address to answer');
    // the server's certificate is the one load-key-file read
    const hello = (await sh('sh', ['-c', `ip netns exec ${lab.name}-host-a timeout 10 openssl s_client -connect 10.1.1.254:3220 -showcerts </dev/null`])).out;
    const served = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(hello)![0];
    const fp = (pem: string) => execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: pem }).toString();
    expect(fp(served)).toBe(fp(readFileSync(join(tmp, 'c.pem'), 'utf8')));
    expect((await exec('show log messages | match UI_')).out).toMatch(/UI_LOGIN_EVENT: User 'netops' login from 10\.1\.1\.1[\s\S]*UI_COMMIT: User 'netops' requested 'commit' operation \(JUNOScript session/);
  }, 40000);

  it('NETCONF over SSH with ncclient: capabilities, get-config, edit-config and commit under a lock, the SAs; a read-only user may not lock', async () => {
    const r = await netconf('netops', 'get-config', 'edit-commit=set over NETCONF', 'sa');
    const lines = r.out.trim().split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>);
    expect(lines, r.out).toHaveLength(3);
    expect(lines[0]!.caps).toEqual(expect.arrayContaining(['urn:ietf:params:netconf:base:1.0', 'urn:ietf:params:netconf:base:1.1', 'urn:ietf:params:netconf:capability:candidate:1.0']));
    expect(lines[0]!.reply).toMatch(/<data><configuration[^>]*><system><host-name>gw-a<\/host-name><\/system><\/configuration><\/data>/);
    expect(lines[1]).toMatchObject({ ok: true });
    expect((await exec('show interfaces fe-0/0/1')).out).toMatch(/Description: set over NETCONF/);
    expect(lines[2]!.reply).toMatch(/<sa-direction>outbound<\/sa-direction><sa-spi>2312<\/sa-spi>/);
    const ro = await netconf('viewer', 'edit-commit=nope');
    expect(ro.out).toMatch(/permission denied: user viewer \(class read-only\)/);
  }, 60000);

  it('a wrong password is refused after a delay and logged', async () => {
    const t0 = Date.now();
    const r = await netconf('netops', 'wrong-password');
    expect(r.out).toMatch(/"refused": true/);
    expect(Date.now() - t0).toBeGreaterThan(1000);
    expect((await exec('show log messages | match UI_AUTH_FAILED')).out).toMatch(/UI_AUTH_FAILED: Authentication failed for user 'netops' from 10\.1\.1\.1/);
    const js = await sClient(`<?xml version="1.0"?><junoscript version="1.0"><rpc><request-login><username>netops</username><challenge-response>no</challenge-response></request-login></rpc><rpc><get-configuration/></rpc></junoscript>`);
    expect(js).toMatch(/<status>fail<\/status><message>Authentication failed for user netops<\/message>/);
    expect(js).toMatch(/login first/);
  }, 40000);

  it('the services are reached through the PFE: lo0\'s input filter can close NETCONF to a subnet, counted', async () => {
    const tcp = async () => (await sh('sh', ['-c', `ip netns exec ${lab.name}-host-a timeout 3 bash -c 'exec 3<>/dev/tcp/10.1.1.254/830; head -c 7 <&3'`])).out;
    expect(await tcp()).toBe('SSH-2.0');
    const c = await exec('configure', 'set firewall filter protect-re term no-netconf from source-address 10.1.1.0/24', 'set firewall filter protect-re term no-netconf from protocol tcp',
      'set firewall filter protect-re term no-netconf from destination-port 830', 'set firewall filter protect-re term no-netconf then discard',
      'set firewall filter protect-re term rest then accept', 'set interfaces lo0 unit 0 family inet filter input protect-re', 'commit and-quit');
    expect(c.code, c.out).toBe(0);
    expect(await tcp()).not.toMatch(/SSH/);
    expect((await exec('show pfe statistics traffic')).out).toMatch(/lo0-filter-discard\s+[1-9]/);
    expect((await inNs(`${lab.name}-host-a`, 'ping', '-c', '1', '-W', '2', '10.1.1.254')).out).toMatch(/ 1 received/);
    expect((await exec('configure', 'delete interfaces lo0 unit 0 family inet filter', 'commit and-quit')).code).toBe(0);
    await waitUntil(async () => await tcp() === 'SSH-2.0', 'NETCONF to answer again');
  }, 40000);

  it('a malformed document ends its own session only; the router and other sessions go on', async () => {
    const out = await sClient(`<?xml version="1.0"?><junoscript version="1.0"><rpc><request-login><username>netops</username><challenge-response>${PASSWORD}</challenge-response></request-login></rpc><rpc><get-configuration></rpc>`);
    expect(out).toMatch(/<xnm:error[^>]*><message>malformed XML: [^<]+<\/message><\/xnm:error>\n<\/junoscript>/);
    expect((await netconf('netops', 'get-config')).out).toMatch(/"step": "get-config"/);
    expect((await inNs(`${lab.name}-host-a`, 'ping', '-c', '1', '-W', '2', '10.2.2.2')).out).toMatch(/ 1 received/);
  }, 40000);
});
