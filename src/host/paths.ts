/** Where the checkout is, from compiled (dist/) or source (src/) code alike. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) { const p = dirname(d); if (p === d) break; d = p; }
  return d;
}
