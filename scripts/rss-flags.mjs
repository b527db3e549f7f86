// What V8 and Node flags do to a router's resident memory (issue 27's 50 MB goal), measured on the
// in-memory Figure 11 lab: both gateways and both ES PIC workers in this one process, 2,000 pings
// through the tunnel to warm the path, then a forced collection. Needs `npm ci` (dist/).
// Usage: node --expose-gc [FLAGS...] scripts/rss-flags.mjs [LABEL]
//        (scripts/rss-flags.sh runs it once per flag set, with the router's own flags first)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const keep = setInterval(() => {}, 1000);   // the ES PIC workers are unref'd: keep the loop alive
const kb = (s, k) => Number(s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm'))[1]) / 1024;
const { gateways } = await import(join(root, 'dist/src/lab/memlab.js'));
await import(join(root, 'dist/src/daemon/control.js'));
await import(join(root, 'dist/src/api/services.js'));
const t = await gateways(readFileSync(join(root, 'topologies/gw-a.conf'), 'utf8'), readFileSync(join(root, 'topologies/gw-b.conf'), 'utf8'));
const pings = [];
for (let i = 0; i < 2000; i++) {
  pings.push(t.hostA.ping('10.2.2.2', { count: 1, timeoutMs: 2000 }));
  if (i % 50 === 0) await new Promise(r => setImmediate(r));
}
const answered = (await Promise.all(pings)).filter(r => r.length > 0).length;
globalThis.gc?.(); await new Promise(r => setTimeout(r, 300)); globalThis.gc?.();
const s = readFileSync('/proc/self/smaps_rollup', 'utf8');
console.log(`${(process.argv[2] ?? '').padEnd(50)} RSS ${kb(s, 'Rss').toFixed(1)} MB, anonymous ${kb(s, 'Anonymous').toFixed(1)} MB, heap used ${(process.memoryUsage().heapUsed / 1e6).toFixed(1)} MB, pings answered ${answered}/2000`);
await t.lab.close();
clearInterval(keep);
process.exit(0);
