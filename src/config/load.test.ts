import { describe, it, expect } from 'vitest';
import { loadText, LoadFailure, looksLikeSetFormat } from './load.js';
import { showConfig, showSet } from './display.js';
import { decodeSecret9, secretBytes } from './secret.js';
import { lookup, CNode } from './tree.js';

const err = (text: string, into?: CNode) => {
  try { loadText(text, { file: 't.conf', into }); } catch (e) { if (e instanceof LoadFailure) return e; throw e; }
  throw new Error('expected a load failure');
};

describe('loading configuration text', () => {
  it('accepts the chapter spelling bi-directional and shows bidirectional', () => {
    const t = loadText('set security ipsec security-association s manual direction bi-directional spi 300');
    expect(showSet(t)).toBe('set security ipsec security-association s manual direction bidirectional spi 300\n');
  });
  it('reports an unknown statement as a syntax error with its line and column, never dropping it', () => {
    const e = err('system {\n    host-name a;\n    frobnicate on;\n}\n');
    expect(e.errors).toHaveLength(1);
    expect(e.errors[0]).toMatchObject({ line: 3, col: 5, token: 'frobnicate', path: ['system'] });
    expect(e.message).toContain("t.conf:3:(5) syntax error: frobnicate");
  });
  it('reports a bad enum value and a non-number', () => {
    expect(err('set security ipsec proposal p protocol gre').errors[0]!.token).toBe('gre');
    expect(err('set security ipsec security-association s manual direction inbound spi x').errors[0]!.token).toBe('x');
  });
  it('reports unbalanced braces', () => {
    expect(err('system { host-name a;').message).toContain("missing '}'");
    expect(err('system { host-name a; } }').message).toContain("unmatched '}'");
  });
  it('collects every error of a file', () => {
    expect(err('set foo\nset system host-name a\nset bar\n').errors.map(e => e.line)).toEqual([1, 3]);
  });
  it('never changes the tree it loads into when anything fails', () => {
    const base = loadText('set system host-name keep');
    err('set system host-name changed\nset nonsense', base);
    expect(showSet(base)).toBe('set system host-name keep\n');
  });
  it('handles delete, deactivate and activate', () => {
    const base = loadText('set firewall filter f term a then accept\nset firewall filter f term b then discard\nset firewall filter f term b from protocol [ tcp udp ]');
    const t = loadText('delete firewall filter f term a\ndeactivate firewall filter f term b\ndelete firewall filter f term b from protocol udp', { into: base });
    expect(showConfig(t)).toBe('firewall {\n    filter f {\n        inactive: term b {\n            from {\n                protocol tcp;\n            }\n            then discard;\n        }\n    }\n}\n');
    expect(showSet(loadText('activate firewall filter f term b', { into: t }))).not.toContain('deactivate');
    expect(err('delete firewall filter f term zzz', t).errors[0]!.message).toContain('statement not found');
  });
  it('keeps comments out, quoted strings in, and reads [ ] lists', () => {
    const t = loadText('/* c */ interfaces { fe-0/0/1 { description "LAN side; #1"; # trailing\n } }\nsecurity { ike { policy 10.6.6.6 { proposals [ a b ]; } } }');
    expect(showConfig(t)).toContain('description "LAN side; #1";');
    expect(lookup(t, ['security', 'ike', 'policy', '10.6.6.6', 'proposals'])!.values).toEqual(['a', 'b']);
  });
  it('stores keys as $9$ and loading the displayed form gives back the same key', () => {
    const t = loadText('set security ike policy 10.6.6.6 pre-shared-key ascii-text "my secret key"');
    const shown = showConfig(t);
    expect(shown).not.toContain('my secret key');
    const again = loadText(shown);
    const v = lookup(again, ['security', 'ike', 'policy', '10.6.6.6', 'pre-shared-key'])!.values;
    expect(v[0]).toBe('ascii-text');
    expect(decodeSecret9(v[1]!)).toBe('my secret key');
    expect(showConfig(again)).toBe(shown);
  });
  it('an error in a key statement never shows the key in clear', () => {
    const e = err('security { ike { policy 10.6.6.6 { pre-shared-key ascii-text my-very-secret extra; } } }');
    expect(e.message).not.toContain('my-very-secret');
    expect(e.message).toMatch(/'pre-shared-key ascii-text "\$9\$[^"]+" extra;'/);
  });

  it('inactive: in brace form marks the statement', () => {
    const t = loadText('interfaces { inactive: fe-0/0/2 { disable; } }');
    expect(showSet(t)).toBe('set interfaces fe-0/0/2 disable\ndeactivate interfaces fe-0/0/2\n');
  });
  it('displays oneliners the JUNOS way', () => {
    const t = loadText('set routing-options static route 10.6.6.6/32 next-hop 10.0.0.2\nset routing-options static route 0.0.0.0/0 next-hop [ 10.0.0.2 10.0.0.6 ]');
    expect(showConfig(t)).toContain('route 10.6.6.6/32 next-hop 10.0.0.2;');
    expect(showConfig(t)).toContain('route 0.0.0.0/0 next-hop [ 10.0.0.2 10.0.0.6 ];');
  });
  it('tells the two formats apart', () => {
    expect(looksLikeSetFormat('# x\nset system host-name a')).toBe(true);
    expect(looksLikeSetFormat('system { host-name a; }')).toBe(false);
  });
  it('reads traceoptions file options', () => {
    const t = loadText('security { traceoptions { file kmd files 3 size 1m; flag ike; } }');
    expect(showConfig(t)).toContain('file kmd files 3 size 1m;');
    expect(err('security { traceoptions { file kmd files x; } }').errors[0]!.token).toBe('x');
  });

  it('certificate-key-string is a secret: $9$ in both display forms, its line breaks kept', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n';
    const t = loadText(`security { certificates { local c { certificate-key-string ${JSON.stringify(pem)}; } } }`);
    const brace = showConfig(t), set = showSet(t);
    for (const out of [brace, set]) { expect(out).not.toContain('BEGIN'); expect(out).toContain('## SECRET-DATA'); }
    const stored = lookup(t, ['security', 'certificates', 'local', 'c'])!.value('certificate-key-string')!;
    expect(secretBytes(stored).toString('utf8')).toBe(pem);
    // and back: what is displayed loads to the same bytes (a rollback file, say)
    const again = lookup(loadText(brace), ['security', 'certificates', 'local', 'c'])!.value('certificate-key-string')!;
    expect(secretBytes(again).toString('utf8')).toBe(pem);
  });

  it('a mistyped key statement never echoes the key, whatever the typo', () => {
    for (const text of [
      'set security ike policy 10.6.6.6 pre-shared-key ascii "my-very-secret"',
      'set security ike policy 10.6.6.6 pre-shard-key ascii-text my-very-secret',
      'set security ipsec security-association s manual direction bidirectional authentication key asci my-very-secret',
      'sett security ike policy 10.6.6.6 pre-shared-key ascii-text my-very-secret',
      'security { ike { policy 10.6.6.6 { pre-shared-key ascii my-very-secret; } } }',
      'security { ike { policy 10.6.6.6 { pre-shared-key ascii-text my-very-secret; proposal [ a ]; } } }',
    ]) {
      const e = err(text);
      expect(e.message, text).not.toContain('my-very-secret');
      if (!text.includes('proposal [')) expect(e.message, text).toContain('$9$');
    }
  });
});
