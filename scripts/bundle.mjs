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

// The web page (src/web/page, docs/web.md): TypeScript for the browser with cytoscape and xterm inside,
// into dist/web with xterm's stylesheet beside it; the server (vrouter web) serves that folder only.
const page = join(root, 'src/web/page');
await build({
  entryPoints: [join(page, 'lab.ts'), join(page, 'cli.ts')],
  outdir: join(root, 'dist/web'), entryNames: '[name]',
  bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap: true,
  tsconfig: join(page, 'tsconfig.json'), logLevel: 'warning',
});
const { copyFileSync } = await import('node:fs');
copyFileSync(join(page, 'lab.css'), join(root, 'dist/web/lab.css'));
copyFileSync(join(root, 'node_modules/@xterm/xterm/css/xterm.css'), join(root, 'dist/web/xterm.css'));
