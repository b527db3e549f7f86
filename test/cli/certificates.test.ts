/**
 * `show ipsec certificates` against fixed certificates made by OpenSSL (scripts/pki-fixtures.sh):
 * the standard, brief and detail levels, one serial number, a CRL's entries, and the errors.
 * Golden file: test/cli/golden/show-ipsec-certificates.golden.
 */
import { describe, it, afterAll } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Router } from '../../src/router/router.js';
import { Interpreter } from '../../src/cli/interp.js';
import { transcript } from '../../src/cli/transcript.js';
import { expectGolden } from '../helpers/golden.js';

const FIX = join(import.meta.dirname, 'fixtures/pki');
const r = new Router({ name: 'gw-a', ipsec: 'inline' });
afterAll(() => r.stop());

describe('show ipsec certificates (golden)', () => {
  it('local and CA certificates, a serial number, a CRL; errors', async () => {
    for (const f of ['lab-ca.crt', 'gw-a.crt', 'lab-ca.crl']) r.files.write(`/var/etc/ikecert/${f}`, readFileSync(join(FIX, f)));
    const c = r.commitText(`system { host-name gw-a; }
security { certificates { certification-authority lab-ca { ca-name lab-ca; file lab-ca.crt; crl lab-ca.crl; } } }`, 'test');
    if (!c.ok) throw new Error(c.output);
    const out = await transcript(new Interpreter(r), ['show ipsec certificates', 'show ipsec certificates brief', 'show ipsec certificates detail 4096',
      'show ipsec certificates crl lab-ca', 'show ipsec certificates 77', 'show ipsec certificates crl nope']);
    expectGolden(join(import.meta.dirname, 'golden/show-ipsec-certificates.golden'), out);
  });
});
