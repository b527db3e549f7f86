/**
 * The responder's Diffie-Hellman cost per IKE SA (issue 21 item 2), old way and new, in one run:
 * `npx tsx scripts/bench-kmd-dh.ts`. Old: getDiffieHellman(group) + generateKeys + computeSecret (what
 * kmd did per SA); new: src/kmd/dh.ts's DhKey (generateKeyPairSync('dh') + diffieHellman()).
 */
import { getDiffieHellman } from 'node:crypto';
import { DhKey } from '../src/kmd/dh.js';
import { DH_GROUPS } from '../src/kmd/constants.js';

function per(n: number, f: () => void): number {
  f();   // warm
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  return (performance.now() - t) / n;
}
for (const group of [1, 2]) {
  const peer = new DhKey(group).pub;
  const name = DH_GROUPS[group]!.name;
  const old = per(20, () => { const d = getDiffieHellman(name); d.generateKeys(); d.computeSecret(peer); });
  const now = per(200, () => { const k = new DhKey(group); k.secret(peer); });
  console.log(`group${group} (${name}): old ${old.toFixed(2)} ms per SA, new ${now.toFixed(2)} ms per SA, ${(old / now).toFixed(0)}x`);
}
