/**
 * vrouter against strongSwan with certificates from one real CA (topologies/gw-a-strongswan-pki.yaml):
 * strongSwan enrolls with Debian's scepclient at start, gw-a with its own commands; the tunnel comes up
 * with rsa-signatures whichever side starts it, identities as certificate DNs; a policy identity that
 * the peer's certificate does not carry is refused on gw-a, and strongSwan hears why.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, waitUntil, Lab } from './helpers.js';

describe.skipIf(!canRun)(`vrouter and strongSwan with certificates ${skipReason}`, () => {
  let lab: Lab;
  let uri: string;
  const exec = async (...cmds: string[]) => await vrouter('exec', lab.file, 'gw-a', ...cmds);
  const swanctl = async (...args: string[]) => await inNs(`${lab.name}-sw`, 'swanctl', ...args, '--uri', uri);
  const ping = async () => (await inNs(`${lab.name}-host-a`, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '10.2.2.1')).out;
  const none = async () => {
    await exec('clear ike security-associations', 'clear ipsec security-associations');
    await swanctl('--terminate', '--ike', 'gw-a');
    return waitUntil(async () => !/ESTABLISHED/.test((await swanctl('--list-sas')).out) && !/Matured/.test((await exec('show ike security-associations')).out), 'both sides to hold no SA');
  };
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('gw-a-strongswan-pki', 'q');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
    uri = `unix:///var/lib/vrouter/${lab.name}/sw/charon.vici`;
    // gw-a enrolls: a key pair, the CA's certificate, its own
    await exec('request security key-pair gw-a-key', 'request security certificate enroll filename lab-ca.crt certification-authority lab-ca');
    await waitUntil(async () => /KMD_CERT_CA_RECEIVED/.test((await exec('show log kmd | match CERT')).out), 'the CA certificate');
    await exec('request security certificate enroll filename gw-a.crt subject c=us,o=vrouter-lab,cn=gw-a certification-authority lab-ca key-file gw-a-key');
    await waitUntil(async () => /KMD_CERT_ENROLLED/.test((await exec('show log kmd | match CERT')).out), 'gw-a\'s certificate');
  }, 60000);
  afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

  it('strongSwan holds its certificate from the lab\'s CA (scepclient), and loaded it', async () => {
    const certs = (await swanctl('--list-certs')).out;
    expect(certs).toMatch(/subject:\s+"C=US, O=vrouter-lab, OU=ipsec, CN=sw"/);
    expect(certs).toMatch(/issuer:\s+"C=US, O=vrouter-lab, OU=SCEP CA"/);
  });

  it('gw-a initiates: main mode with rsa-signatures, both sides see the other\'s DN; pings pass', async () => {
    expect(await ping()).toMatch(/3 received/);
    const sas = (await swanctl('--list-sas')).out;
    expect(sas).toMatch(/gw-a: #\d+, ESTABLISHED, IKEv1/);
    expect(sas).toMatch(/remote 'C=US, O=vrouter-lab, CN=gw-a' @ 10\.5\.5\.5/);
    const d = (await exec('show ike security-associations detail')).out;
    expect(d).toMatch(/Role: Initiator/);
    expect(d).toMatch(/Authentication method: RSA-signatures/);
    expect(d).toMatch(/Remote identity: C=US, O=vrouter-lab, OU=ipsec, CN=sw/);
    expect((await exec('show ipsec certificates brief')).out).toMatch(/10\.6\.6\.6\s+peer\s+\d+\s+C=US, O=vrouter-lab, OU=ipsec, CN=sw/);
  }, 30000);

  it('strongSwan initiates: gw-a answers with its certificate', async () => {
    await none();
    const i = await swanctl('--initiate', '--child', 'lan');
    expect(i.out).toMatch(/initiate completed successfully/);
    expect((await exec('show ike security-associations detail')).out).toMatch(/Role: Responder, State: Matured/);
    expect(await ping()).toMatch(/3 received/);
  }, 30000);

  it('an identity the peer\'s certificate does not carry: gw-a refuses it, with the reason, and strongSwan is told', async () => {
    await none();
    expect((await exec('configure', 'set security ike policy 10.6.6.6 identity c=us,o=vrouter-lab,ou=ipsec,cn=not-sw', 'commit and-quit')).code).toBe(0);
    expect(await ping()).toMatch(/0 received/);
    expect((await exec('show log kmd | match FAILED')).out).toMatch(/certificate refused \(identity\): the peer's certificate \(C=US, O=vrouter-lab, OU=ipsec, CN=sw\) does not match the policy's identity c=us,o=vrouter-lab,ou=ipsec,cn=not-sw/);
    expect((await exec('show ipsec diagnosis')).out).toMatch(/certificate authentication failed, .*identity/);
    await waitUntil(async () => /received (INVALID_ID_INFORMATION|DELETE for IKE_SA)|INVALID_ID_INFORMATION/.test((await inNs(`${lab.name}-sw`, 'cat', `/var/lib/vrouter/${lab.name}/sw/charon.log`)).out), 'strongSwan to log our refusal');
    expect((await exec('configure', 'delete security ike policy 10.6.6.6 identity', 'commit and-quit')).code).toBe(0);
    await none();
    expect(await ping()).toMatch(/[1-3] received/);
  }, 40000);
});
