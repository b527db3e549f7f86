/**
 * The certificate lab (topologies/gw-a-b-pki.yaml): a real SCEP CA (Debian's scepserver) in a Linux
 * node. Each router reaches it through its own Routing Engine stack and PFE: key pairs, the CA's
 * certificate by SCEP (GetCACaps, GetCACert) with its fingerprints in the kmd log, the router's files,
 * each router's own certificate by SCEP (PKCSReq), the tunnel with rsa-signatures, and a revocation
 * published by the CA's LDAP server (slapd) that ends it.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { routerDir } from '../../src/lab/save.js';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, waitUntil, Lab } from './helpers.js';

describe.skipIf(!canRun)(`the certificate lab ${skipReason}`, () => {
  let lab: Lab;
  const exec = async (node: string, ...cmds: string[]) => await vrouter('exec', lab.file, node, ...cmds);
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('gw-a-b-pki', 'p');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
  });
  afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

  it('key pairs: RSA by default; the private key is owner-only and never shown; DSA 512 refused with a reason', async () => {
    expect((await exec('gw-a', 'request security key-pair gw-a-key')).out).toBe('Generated key pair, key size 1024, file gw-a-key Algorithm RSA\n');
    expect((await exec('gw-a', 'request security key-pair gw-a-2048 size 2048 type rsa')).out).toMatch(/Generated key pair, key size 2048, file gw-a-2048 Algorithm RSA/);
    expect((await exec('gw-a', 'request security key-pair gw-a-dsa type dsa')).out).toMatch(/Generated key pair, key size 1024, file gw-a-dsa Algorithm DSA/);
    expect((await exec('gw-a', 'request security key-pair x size 777')).out).toMatch(/error: size 777: the key size is one of 512, 1024, 1596, 2048/);
    expect((await exec('gw-a', 'request security key-pair x size 512 type dsa')).out).toMatch(/error: could not generate a 512-bit DSA key pair: .*refuses DSA keys under 1024 bits/);
    const list = (await exec('gw-a', 'file list /var/etc/ikecert detail')).out;
    expect(list).toMatch(/-rw-------  root\s+\d+ .* gw-a-key\n/);
    const shown = (await exec('gw-a', 'file show /var/etc/ikecert/gw-a-key')).out;
    expect(shown).toMatch(/error: \/var\/etc\/ikecert\/gw-a-key holds a private key: not shown/);
    expect(shown).not.toMatch(/BEGIN/);
  });

  it('the CA certificate by SCEP through the router\'s own stack, with its fingerprints for checking offline', async () => {
    const out = (await exec('gw-a', 'request security certificate enroll filename lab-ca.crt ca-name lab-ca url http://10.9.9.1/scep')).out;
    expect(out).toBe('URL: http://10.9.9.1/scep CA name: lab-ca CA file: lab-ca.crt Encoding: binary\nCertificate enrollment has started. To see the certificate enrollment status, check\nthe key management process (kmd) log file at /var/log/kmd.\n');
    const log = await waitUntil(async () => { const l = (await exec('gw-a', 'show log kmd | match CERT')).out; return /KMD_CERT_CA_(RECEIVED|FAILED)/.test(l) && l; }, 'the enrollment\'s outcome in the kmd log');
    expect(log).toMatch(/KMD_CERT_CA_CAPS: .*SCEPStandard/);
    expect(log).toMatch(/KMD_CERT_CA_RECEIVED: Received CA certificate: Subject C=US, O=vrouter-lab, OU=SCEP CA; .*Fingerprint ([0-9A-F]{2}:){19}[0-9A-F]{2} \(sha1\)/);
    // the same fingerprint as the CA's own file, computed here independently
    const der = (await inNs(`${lab.name}-ca`, 'sh', '-c', `openssl x509 -in /var/lib/vrouter/${lab.name}/ca/depot/ca.pem -outform der | base64 -w0`)).out.trim();
    const sha1 = createHash('sha1').update(Buffer.from(der, 'base64')).digest('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
    expect(log).toContain(`Fingerprint ${sha1} (sha1)`);
    expect((await exec('gw-a', 'show ipsec certificates brief')).out).toMatch(/lab-ca\.crt\s+CA\s+1\s+C=US, O=vrouter-lab, OU=SCEP CA/);
    expect((await exec('gw-a', 'show ipsec certificates detail')).out).toMatch(/Certificate: lab-ca\.crt, Type: CA\n  Serial number: 1\n  Issuer: C=US, O=vrouter-lab, OU=SCEP CA\n  Subject: C=US, O=vrouter-lab, OU=SCEP CA\n  Validity: Not before .*\n  Public key: RSA, 2048 bits/);
  });

  it('gw-b, with the profile\'s URL and CA name, across the transit link; the files survive a restart of the router', async () => {
    await exec('gw-b', 'request security certificate enroll filename lab-ca.crt certification-authority lab-ca');
    await waitUntil(async () => /KMD_CERT_CA_RECEIVED/.test((await exec('gw-b', 'show log kmd | match CERT')).out), 'gw-b\'s CA certificate');
    const st = JSON.parse((await vrouter('inspect', lab.file, '--json')).out) as { nodes: Record<string, { pid: number | null }> };
    process.kill(st.nodes['gw-b']!.pid!, 'SIGKILL');
    await waitUntil(() => { try { process.kill(st.nodes['gw-b']!.pid!, 0); return false; } catch { return true; } }, 'gw-b to die');
    expect((await vrouter('up', lab.file, '--detach')).out).toMatch(/restarting gw-b/);
    expect((await exec('gw-b', 'show ipsec certificates brief')).out).toMatch(/lab-ca\.crt\s+CA\s+1/);
  });

  it('each router enrolls its own certificate (SCEP PKCSReq with a PKCS#10 request); a DSA key and a DN the CA issued already are refused', async () => {
    await exec('gw-b', 'request security key-pair gw-b-key');
    const out = (await exec('gw-a', 'request security certificate enroll filename gw-a.crt subject c=us,o=vrouter-lab,cn=gw-a alternative-subject 10.5.5.5 certification-authority lab-ca key-file gw-a-key domain-name gw-a.lab.example')).out;
    expect(out).toBe('CA name: lab-ca CA file: lab-ca.crt\nlocal pub/private key pair: gw-a-key\nsubject: c=us,o=vrouter-lab,cn=gw-a domain name: gw-a.lab.example\nalternative subject: 10.5.5.5\nEncoding: binary\n'
      + 'Certificate enrollment has started. To see the certificate enrollment status, check\nthe key management process (kmd) log file at /var/log/kmd.\n');
    await exec('gw-b', 'request security certificate enroll filename gw-b.crt subject c=us,o=vrouter-lab,cn=gw-b alternative-subject 10.6.6.6 certification-authority lab-ca key-file gw-b-key');
    for (const gw of ['gw-a', 'gw-b']) {
      const log = await waitUntil(async () => { const l = (await exec(gw, 'show log kmd | match ENROLL')).out; return /KMD_CERT_ENROLLED|ENROLL_FAILED/.test(l) && l; }, `${gw}'s certificate`);
      expect(log).toMatch(new RegExp(`KMD_CERT_ENROLLED: Received local certificate: Subject C=US, O=vrouter-lab, CN=${gw}; Issuer C=US, O=vrouter-lab, OU=SCEP CA; .*saved in /var/etc/ikecert/${gw}\\.crt`));
    }
    // what the CA issued, read by OpenSSL: the subject and the alternative subject asked for
    const der = execFileSync('openssl', ['x509', '-inform', 'der', '-in', join(routerDir(lab, 'gw-a'), 'fs/var/etc/ikecert/gw-a.crt'), '-noout', '-subject', '-ext', 'subjectAltName']).toString();
    expect(der).toMatch(/subject=C = US, O = vrouter-lab, CN = gw-a/);
    expect(der).toMatch(/DNS:gw-a\.lab\.example, IP Address:10\.5\.5\.5/);
    expect((await exec('gw-a', 'show ipsec certificates brief')).out).toMatch(/gw-a\.crt\s+local\s+\d+\s+C=US, O=vrouter-lab, CN=gw-a/);
    expect((await exec('gw-a', 'request security certificate enroll filename x.crt subject c=us,o=x certification-authority lab-ca key-file gw-a-dsa')).out).toMatch(/error: gw-a-dsa is a DSA key pair: SCEP enrolls RSA keys only/);
    // the CA (scepserver) refuses a second certificate for a DN it has issued: FAILURE, badRequest
    await exec('gw-a', 'request security certificate enroll filename again.crt subject c=us,o=vrouter-lab,cn=gw-a certification-authority lab-ca key-file gw-a-2048');
    expect(await waitUntil(async () => { const l = (await exec('gw-a', 'show log kmd | match ENROLL_FAILED')).out; return l.length > 0 && l; }, 'the refusal')).toMatch(/KMD_CERT_ENROLL_FAILED: lab-ca refused the request for c=us,o=vrouter-lab,cn=gw-a: badRequest/);
  });

  it('the tunnel with rsa-signatures: certificates from the lab\'s CA, identities as DNs; ping passes', async () => {
    const toCerts = (peer: string, me: string) => ['configure',
      'set security ike proposal ike-proposal authentication-method rsa-signatures',
      `delete security ike policy ${peer} pre-shared-key`,
      `set security ike policy ${peer} local-certificate ${me}.crt`,
      `set security ike policy ${peer} local-key-pair ${me}-key`,
      `set security ike policy ${peer} identity c=us,o=vrouter-lab,cn=${me === 'gw-a' ? 'gw-b' : 'gw-a'}`,
      'commit and-quit'];
    for (const [gw, peer] of [['gw-a', '10.6.6.6'], ['gw-b', '10.5.5.5']] as const) {
      const r = await exec(gw, ...toCerts(peer, gw));
      expect(r.code, r.out).toBe(0);
    }
    await waitUntil(async () => / 0% packet loss/.test((await inNs(`${lab.name}-host-a`, 'ping', '-n', '-c', '1', '-W', '1', '10.2.2.2')).out), 'a ping through the tunnel', 20000);
    expect((await inNs(`${lab.name}-host-a`, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '10.2.2.2')).out).toMatch(/3 received/);
    const sa = (await exec('gw-a', 'show ike security-associations detail')).out;
    expect(sa).toMatch(/Authentication method: RSA-signatures/);
    expect(sa).toMatch(/Remote identity: C=US, O=vrouter-lab, CN=gw-b/);
    expect((await exec('gw-a', 'show ipsec certificates brief')).out).toMatch(/10\.6\.6\.6\s+peer\s+\d+\s+C=US, O=vrouter-lab, CN=gw-b/);
  }, 40000);

  it('gw-b\'s certificate revoked at the CA: gw-a fetches the CRL from the CA\'s LDAP server (slapd) and refuses it', async () => {
    // fetched after the commit that made gw-a use certificates: empty
    expect(await waitUntil(async () => { const l = (await exec('gw-a', 'show log kmd | match CRL')).out; return /KMD_CERT_CRL_LOADED/.test(l) && l; }, 'the first CRL'))
      .toMatch(/KMD_CERT_CRL_LOADED: CRL of lab-ca from ldap:\/\/10\.9\.9\.1 \(ou=SCEP CA,o=vrouter-lab,c=US\): 0 revoked/);
    const r = await inNs(`${lab.name}-ca`, 'env', `VROUTER_STATE=/var/lib/vrouter/${lab.name}/ca`, 'sh', join(lab.dir, 'lab-ca.sh'), 'revoke', join(routerDir(lab, 'gw-b'), 'fs/var/etc/ikecert/gw-b.crt'));
    expect(r.code, r.out).toBe(0);
    await exec('gw-a', 'clear ipsec certificates');
    await waitUntil(async () => /KMD_CERT_CRL_LOADED: CRL of lab-ca .*: 1 revoked/.test((await exec('gw-a', 'show log kmd | match CRL')).out), 'the CRL with gw-b\'s serial');
    await exec('gw-a', 'clear ike security-associations', 'clear ipsec security-associations');
    expect((await inNs(`${lab.name}-host-a`, 'ping', '-n', '-c', '2', '-i', '0.3', '-W', '1', '10.2.2.2')).out).toMatch(/ 0 received/);
    expect((await exec('gw-a', 'show log kmd | match FAILED')).out).toMatch(/certificate refused \(revoked\): the peer's certificate \(serial \d+\) is revoked since .* \(CRL ldap:\/\/10\.9\.9\.1 \(ou=SCEP CA,o=vrouter-lab,c=US\)\)/);
    expect((await exec('gw-a', 'show ipsec diagnosis')).out).toMatch(/certificate authentication failed, .*revoked[\s\S]*Change: the peer needs a certificate that is not revoked/);
  }, 40000);

  it('a CA that does not answer: the reason in the kmd log, nothing saved', async () => {
    await exec('gw-a', 'request security certificate enroll filename nope.crt ca-name x url http://10.9.9.2/scep');
    await waitUntil(async () => /KMD_CERT_CA_FAILED: CA certificate from http:\/\/10\.9\.9\.2\/scep .*not obtained: /.test((await exec('gw-a', 'show log kmd | match CERT')).out), 'the failure', 30000);
    expect((await exec('gw-a', 'file list /var/etc/ikecert')).out).not.toMatch(/nope\.crt/);
  }, 40000);
});
