/**
 * Every configuration example of the chapter, as a golden test: it either commits (alone or with the
 * few statements it needs) or fails with the error JUNOS would give. The table says which and why;
 * the .golden file beside each example holds the exact output of `vrouter check`.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAndCheck, formatDiagnostics, showConfig, showSet, loadText } from '../../src/config/index.js';
import { Chassis } from '../../chassis/chassis.js';
import { expectGolden } from '../helpers/golden.js';

const dir = join(import.meta.dirname, 'chapter');
type Expect = { commits: true } | { commits: false; because: string };
const TABLE: Record<string, Expect> = {
  '01-inbound-outbound': { commits: false, because: 'KEY_LENGTH' },
  '02-inbound-outbound-corrected': { commits: true },
  '03-bidirectional-ah': { commits: false, because: 'RANGE' },
  '04-ike-proposal': { commits: true },
  '05-ike-policy': { commits: false, because: 'syntax error' },
  '06-ike-policy-alone': { commits: false, because: 'IKE_PEER_NOT_TUNNEL' },
  '07-ike-policy-with-tunnels': { commits: true },
  '08-ipsec-policy': { commits: true },
  '09-certificate-authority': { commits: true },
  '10-es-pic': { commits: false, because: 'syntax error' },
  '11-es-pic-corrected': { commits: false, because: 'NO_ES_PIC' },
  '12-figure11-gateway-a': { commits: true },
  '13-figure11-gateway-b': { commits: true },
  '14-figure11-sa-and-es-only': { commits: false, because: 'TUNNEL_SOURCE_NOT_LOCAL' },
  '15-inbound-filter-es-1-2-0': { commits: false, because: 'NO_ES_PIC' },
  '16-traceoptions': { commits: true },
  '17-junoscript-ssl': { commits: true },
  '18-minimum-ike': { commits: false, because: 'syntax error' },
  '19-minimum-certificates': { commits: true },
  '20-transport-bgp': { commits: true },
  '21-ipsec-proposal-description': { commits: true },
  '22-bundle': { commits: true },
};

function check(name: string) {
  const file = `${name}.conf`;
  const r = loadAndCheck(readFileSync(join(dir, file), 'utf8'), { file, chassis: new Chassis('m10') });
  const output = r.ok
    ? (r.warnings.length ? formatDiagnostics(r.warnings) + '\n' : '') + 'configuration check succeeds\n'
    : r.output + '\n';
  return { r, output };
}

describe('chapter examples', () => {
  for (const [name, exp] of Object.entries(TABLE)) {
    it(`${name} ${exp.commits ? 'commits' : `is refused (${exp.because})`}`, () => {
      const { r, output } = check(name);
      expectGolden(join(dir, `${name}.golden`), output);
      expect(r.ok).toBe(exp.commits);
      if (!exp.commits && !r.ok) {
        if (exp.because === 'syntax error') expect(r.output).toContain('syntax error');
        else expect(r.diagnostics.filter(d => d.severity === 'error').map(d => d.code)).toContain(exp.because);
      }
    });
  }

  it('every example that loads round-trips through both display forms', () => {
    for (const name of Object.keys(TABLE)) {
      let tree;
      try { tree = loadText(readFileSync(join(dir, `${name}.conf`), 'utf8')); } catch { continue; }
      const brace = showConfig(tree), set = showSet(tree);
      expect(showConfig(loadText(brace)), name).toBe(brace);
      expect(showSet(loadText(set)), name).toBe(set);
      expect(showConfig(loadText(set)), name).toBe(brace);
    }
  });

  it('the canonical display of gateway A is stable (golden) and never shows a key in clear', () => {
    const tree = loadText(readFileSync(join(dir, '12-figure11-gateway-a.conf'), 'utf8'));
    const brace = showConfig(tree), set = showSet(tree);
    expectGolden(join(dir, '12-figure11-gateway-a.show.golden'), brace);
    expectGolden(join(dir, '12-figure11-gateway-a.set.golden'), set);
    for (const secret of ['1234123412341234', '123456789009876543211234']) {
      expect(brace).not.toContain(secret);
      expect(set).not.toContain(secret);
    }
    expect(brace).toContain('## SECRET-DATA');
  });
});
