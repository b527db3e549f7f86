/**
 * Golden files: compare with the stored text. A missing golden fails (a test must never bless its
 * own output); `UPDATE_GOLDEN=1` writes them, and the diff is reviewed before it is committed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';

export function expectGolden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1') { writeFileSync(path, actual); return; }
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing: write it with UPDATE_GOLDEN=1, check it against Juniper's documented output, and commit it`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}
