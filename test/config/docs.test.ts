import { it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { statementReference } from '../../src/config/reference.js';

it('docs/configuration.md lists exactly the statements of the schema', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/configuration.md'), 'utf8');
  const start = doc.indexOf('<!-- statements:begin -->\n') + '<!-- statements:begin -->\n'.length;
  const end = doc.indexOf('<!-- statements:end -->');
  expect(doc.slice(start, end)).toBe(statementReference());
});
