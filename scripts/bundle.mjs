// The router process in one file each for its main thread and its ES PIC worker (dist/bundle/),
// made from the compiled dist/ by `npm run build` and `npm ci`. A router process that loads one
// file instead of about a hundred ES modules starts with a third less CPU (module resolution and
// loading were 230 ms of about 490), which is what a lab of 16 routers on two cores waits for
// (docs/performance.md, Scale). Libraries loaded on first use (src/util/lazy.ts) and the native
// addons stay outside the bundle; nothing is minified, so stack traces stay readable.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'dist/src/daemon/router-main.js'), join(root, 'dist/pics/es/worker.js')],
  outdir: join(root, 'dist/bundle'),
  entryNames: '[name]',   // router-main.js and worker.js side by side: es-pic finds ./worker.js beside it
  bundle: true, platform: 'node', format: 'esm', target: 'node20',
  external: ['pkijs', 'asn1js', 'ldapts', 'ssh2', 'saxes', '*.node'],
  // CommonJS libraries inside an ES module bundle still call require()
  banner: { js: "import { createRequire as __vrouterRequire } from 'node:module'; const require = __vrouterRequire(import.meta.url);" },
  logLevel: 'warning',
});
