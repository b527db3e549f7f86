/**
 * `show ipsec certificates` against fixed certificates made by OpenSSL (scripts/pki-fixtures.sh):
 * the standard, brief and detail levels, one serial number, a CRL's entries, and the errors.
 * Golden file: test/cli/golden/show-ipsec-certificates.golden.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Router } from '../../src/router/router.js';
import { Interpreter } from '../../src/cli/interp.js';
import { transcript } from '../../src/cli/transcript.js';
import { expectGolden } from '../helpers/golden.js';
import { CommitDb } from '../../src/cli/commitdb.js';
import { ApiSession } from '../../src/api/engine.js';
import { parseDocument } from '../../src/api/xml.js';

const FIX = join(import.meta.dirname, 'fixtures/pki');
const r = new Router({ name: 'gw-a', ipsec: 'inline' });
afterAll(() => r.stop());

describe('show ipsec certificates (golden)', () => {
  it('local and CA certificates, a serial number, a CRL; errors', async () => {
    for (const f of ['lab-ca.crt', 'gw-a.crt', 'lab-ca.crl']) r.files.write(`/var/etc/ikecert/${f}`, readFileSync(join(FIX, f)));
    const c = r.commitText(`system { host-name gw-a; }
security { certificates { certification-authority lab-ca { ca-name lab-ca; file lab-ca.crt; encoding pem; crl lab-ca.crl; } } }`, 'test');
    if (!c.ok) throw new Error(c.output);
    const out = await transcript(new Interpreter(r), ['show ipsec certificates', 'show ipsec certificates brief', 'show ipsec certificates detail 4096',
      'show ipsec certificates crl lab-ca', 'show ipsec certificates 77', 'show ipsec certificates crl nope']);
    expectGolden(join(import.meta.dirname, 'golden/show-ipsec-certificates.golden'), out);
  });
});

describe('the same through the XML API', () => {
  const api = async (xml: string) => {
    const s = new ApiSession(r, new CommitDb(r), { name: 'viewer', cls: 'read-only' }, 'netconf', 'test');
    const d = parseDocument(xml);
    if (!d.ok) throw new Error(d.why);
    return s.run(d.root);
  };
  it('get-certificates-information and get-crl-information (JUNOS\'s RPC names), and | display xml', async () => {
    const all = await api('<get-certificates-information/>');
    expect(all).toMatch(/^<certificates-information style="normal"><database>\/var\/etc\/ikecert<\/database><certificate><file-name>gw-a\.crt<\/file-name><certificate-type>local<\/certificate-type><serial-number>4096<\/serial-number><issuer>[^<]*OU=Lab CA<\/issuer><subject>[^<]*CN=gw-a<\/subject><alternate-subject>10\.5\.5\.5<\/alternate-subject>/);
    expect(all).toContain('<file-name>lab-ca.crt</file-name><certificate-type>CA</certificate-type>');
    expect(await api('<get-certificates-information><detail/><serial-number>4096</serial-number></get-certificates-information>')).toMatch(/<certificate-type>local<\/certificate-type>.*<public-key-algorithm>RSA<\/public-key-algorithm><public-key-length>\d+<\/public-key-length><fingerprint-sha1>([0-9A-F]{2}:){19}[0-9A-F]{2}<\/fingerprint-sha1>/);
    expect(await api('<get-certificates-information><serial-number>77</serial-number></get-certificates-information>')).toBe('<certificates-information><xnm:error xmlns:xnm="http://xml.juniper.net/xnm/1.1/xnm"><message>no certificate with serial number 77</message></xnm:error></certificates-information>');
    expect(await api('<get-crl-information><crl-name>lab-ca</crl-name></get-crl-information>')).toMatch(/^<crl-information><crl><crl-source>lab-ca\.crl<\/crl-source><ca-profile-name>lab-ca<\/ca-profile-name><crl-status>available<\/crl-status>.*<revoked-certificate-count>(\d+)<\/revoked-certificate-count><revoked-certificate><serial-number>\d+<\/serial-number>/);
    expect(await api('<command>show ipsec certificates brief</command>')).toMatch(/^<certificates-information style="brief">/);
    const cli = await transcript(new Interpreter(r, new CommitDb(r)), ['show ipsec certificates crl lab-ca | display xml']);
    expect(cli).toMatch(/<rpc-reply[^>]*>\n {4}<crl-information>\n {8}<crl>/);
  });
  it('file-list, file-show and get-log; a private key is never shown', async () => {
    r.files.write('/var/etc/ikecert/gw-a-key', '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n', { secret: true });
    const list = await api('<file-list><detail/><path>/var/etc/ikecert</path></file-list>');
    expect(list).toMatch(/^<directory-list root-path="\/var\/etc\/ikecert"><directory name="\/var\/etc\/ikecert"><file-information><file-name>gw-a-key<\/file-name><file-permissions>-rw-------<\/file-permissions>/);
    expect(list).toContain('<file-name>lab-ca.crt</file-name><file-permissions>-rw-r--r--</file-permissions>');
    expect(await api('<file-show><filename>/var/etc/ikecert/gw-a-key</filename></file-show>')).toBe('<file-content><xnm:error xmlns:xnm="http://xml.juniper.net/xnm/1.1/xnm"><message>/var/etc/ikecert/gw-a-key holds a private key: not shown</message></xnm:error></file-content>');
    expect(await api('<file-show><filename>/var/etc/ikecert/gw-a.crt</filename></file-show>')).toMatch(/^<file-content filename="\/var\/etc\/ikecert\/gw-a\.crt">(-----BEGIN CERTIFICATE-----|Database: )/);
    expect(await api('<file-show><filename>/var/etc/nope</filename></file-show>')).toMatch(/<xnm:error xmlns:xnm="http:\/\/xml\.juniper\.net\/xnm\/1\.1\/xnm"><message>could not resolve file: \/var\/etc\/nope<\/message>/);
    expect(await api('<get-log><filename>messages</filename></get-log>')).toMatch(/^<file-content filename="messages">[^<]*UI_COMMIT/);
    expect(await api('<get-log><filename>nope</filename></get-log>')).toMatch(/could not resolve file: nope/);
  });
});
