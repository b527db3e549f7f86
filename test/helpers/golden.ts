/** Golden files: compare with the stored text; UPDATE_GOLDEN=1 rewrites them (review the diff). */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';

export function expectGolden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
    if (process.env.CI) throw new Error(`golden file ${path} is missing (run with UPDATE_GOLDEN=1 locally and commit it)`);
    writeFileSync(path, actual);
    return;
  }
  expect(actual).toBe(readFileSync(path, 'utf8'));
}
