import { it, expect } from 'vitest';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { expectGolden } from './golden.js';

it('a missing golden file fails and is not written', () => {
  const f = join(tmpdir(), `vrouter-no-such-golden-${process.pid}.golden`);
  const saved = process.env.UPDATE_GOLDEN;
  delete process.env.UPDATE_GOLDEN;
  try {
    expect(() => expectGolden(f, 'anything')).toThrow(/is missing/);
    expect(existsSync(f)).toBe(false);
  } finally { if (saved !== undefined) process.env.UPDATE_GOLDEN = saved; }
});
