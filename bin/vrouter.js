#!/usr/bin/env node
// The vrouter command. The TypeScript sources are compiled to dist/ by `npm ci` (the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// a reader that goes away (`vrouter exec ... | head`) ends the command quietly, not with a stack trace
for (const s of [process.stdout, process.stderr]) s.on('error', e => { if (e.code === 'EPIPE') process.exit(0); throw e; });
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('vrouter: dist/ is missing; run `npm ci` (or `npm run build`) in the checkout first');
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
