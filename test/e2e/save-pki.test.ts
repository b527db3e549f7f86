/**
 * An enrolled certificate survives save, down and up (topologies/gw-a-b-pki.yaml): gw-a enrolls the CA's
 * certificate and its own by SCEP from the CA node; after `vrouter down` and `up` both are on its disk
 * again, and the CA node (its state directory in the lab directory) is the same CA, still serving.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, skipReason, buildOnce, labCopy, vrouter, leftovers, cleanup, waitUntil, Lab } from './helpers.js';

let lab: Lab | undefined;
afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

describe.skipIf(!canRun)(`an enrolled certificate across down and up ${skipReason}`, () => {
  let l: Lab, dir: string, caPem: string, cert: Buffer;
  const exec = async (node: string, ...cmds: string[]) => await vrouter('exec', l.file, node, ...cmds);
  const up = async () => { const r = await vrouter('up', l.file, '--detach'); expect(r.code, r.out + r.err).toBe(0); return r.out; };

  it('gw-a enrolls the CA certificate and its own', async () => {
    buildOnce();
    l = lab = labCopy('gw-a-b-pki', 'q');
    dir = join(l.dir, `vrouter-${l.name}`);
    await up();
    expect((await exec('gw-a', 'request security key-pair gw-a-key')).out).toContain('Generated key pair');
    await exec('gw-a', 'request security certificate enroll filename lab-ca.crt ca-name lab-ca url http://10.9.9.1/scep');
    await waitUntil(async () => /KMD_CERT_CA_RECEIVED/.test((await exec('gw-a', 'show log kmd | match CERT')).out), "gw-a's CA certificate", 60000);
    await exec('gw-a', 'request security certificate enroll filename gw-a.crt subject c=us,o=vrouter-lab,cn=gw-a alternative-subject 10.5.5.5 certification-authority lab-ca key-file gw-a-key');
    const log = await waitUntil(async () => { const x = (await exec('gw-a', 'show log kmd | match ENROLL')).out; return /KMD_CERT_ENROLLED|ENROLL_FAILED/.test(x) && x; }, "gw-a's certificate", 60000);
    expect(log).toMatch(/KMD_CERT_ENROLLED: Received local certificate: Subject C=US, O=vrouter-lab, CN=gw-a/);
    caPem = readFileSync(join(dir, 'ca', 'depot', 'ca.pem'), 'utf8');
    cert = readFileSync(join(dir, 'gw-a', 'fs/var/etc/ikecert/gw-a.crt'));
    expect((await vrouter('save', l.file)).code).toBe(0);
    expect((await vrouter('down', l.file)).code).toBe(0);
    expect(await leftovers(l.name)).toEqual([]);
  }, 300000);

  it('after up: the certificates are on gw-a\'s disk and shown; the CA is the same CA and serves again', async () => {
    expect(await up()).toMatch(/gw-a: starting from its saved configuration/);
    expect(readFileSync(join(dir, 'gw-a', 'fs/var/etc/ikecert/gw-a.crt')).equals(cert)).toBe(true);
    const brief = (await exec('gw-a', 'show ipsec certificates brief')).out;
    expect(brief).toMatch(/gw-a\.crt\s+local\s+\d+\s+C=US, O=vrouter-lab, CN=gw-a/);
    expect(brief).toMatch(/lab-ca\.crt\s+CA\s+1\s+C=US, O=vrouter-lab, OU=SCEP CA/);
    // the CA kept its key: the depot is the one it had, and gw-b gets the same certificate from it now
    expect(readFileSync(join(dir, 'ca', 'depot', 'ca.pem'), 'utf8')).toBe(caPem);
    await exec('gw-b', 'request security certificate enroll filename lab-ca.crt ca-name lab-ca url http://10.9.9.1/scep');
    await waitUntil(async () => /KMD_CERT_CA_RECEIVED/.test((await exec('gw-b', 'show log kmd | match CERT')).out), "gw-b's CA certificate from the restarted CA", 60000);
    expect(readFileSync(join(dir, 'gw-b', 'fs/var/etc/ikecert/lab-ca.crt')).equals(readFileSync(join(dir, 'gw-a', 'fs/var/etc/ikecert/lab-ca.crt'))) ).toBe(true);
  }, 300000);
});
