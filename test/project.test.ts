import { it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
it('.ci/run runs exactly the test line of the README quick start', () => {
  const ci = readFileSync(join(root, '.ci/run'), 'utf8').trim().split('\n').pop()!;
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  expect(readme.split('\n').map(l => l.trim())).toContain(ci);
});
