/**
 * A chain of N routers, each with a manual-SA ES PIC tunnel to its neighbour: the scale lab of
 * `scripts/bench-lab.sh`. `node dist/test/bench/chain.js N DIR` writes DIR/chainN.yaml and the
 * routers' configurations. r1 - r2 - ... - rN over fe-0/0/0 (to the next) and fe-0/0/1 (to the
 * previous); tunnel endpoints on lo0 (10.255.0.i); the tunnel from ri to ri+1 is es-0/1/0 unit 0 on
 * ri and unit 1 on ri+1, with es- addresses 10.253.i.1 and 10.253.i.2, so `ping 10.253.i.2` on ri
 * crosses it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function chainLab(n: number, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const name = `chain${n}`;
  const nodes: string[] = [], links: string[] = [];
  for (let i = 1; i <= n; i++) {
    const fe: string[] = [], es: string[] = [], routes: string[] = [], sas: string[] = [];
    const tunnel = (unit: number, peer: number, pair: number, mine: 1 | 2) => {
      es.push(`unit ${unit} { tunnel { source 10.255.0.${i}; destination 10.255.0.${peer}; } family inet { ipsec-sa sa${pair}; address 10.253.${pair}.${mine}/32 { destination 10.253.${pair}.${3 - mine}; } } }`);
      sas.push(`security-association sa${pair} { manual { direction bidirectional { protocol esp; spi ${1000 + pair}; authentication { algorithm hmac-sha1-96; key ascii-text "chain-auth-key-${String(pair).padStart(5, '0')}"; } encryption { algorithm 3des-cbc; key ascii-text "chain-encryption-key-${String(pair).padStart(3, '0')}"; } } } }`);
    };
    if (i < n) { fe.push(`fe-0/0/0 { unit 0 { family inet { address 10.254.${i}.1/30; } } }`); routes.push(`route 10.255.0.${i + 1}/32 next-hop 10.254.${i}.2;`); tunnel(0, i + 1, i, 1); }
    if (i > 1) { fe.push(`fe-0/0/1 { unit 0 { family inet { address 10.254.${i - 1}.2/30; } } }`); routes.push(`route 10.255.0.${i - 1}/32 next-hop 10.254.${i - 1}.1;`); tunnel(1, i - 1, i - 1, 2); }
    const conf = `system { host-name r${i}; }
interfaces { ${fe.join(' ')} es-0/1/0 { ${es.join(' ')} } lo0 { unit 0 { family inet { address 10.255.0.${i}/32; } } } }
routing-options { static { ${routes.join(' ')} } }
security { ipsec { ${sas.join(' ')} } }
`;
    writeFileSync(join(dir, `r${i}.conf`), conf);
    nodes.push(`    r${i}: { kind: juniper_m10, startup-config: r${i}.conf }`);
    if (i < n) links.push(`    - endpoints: ["r${i}:fe-0/0/0", "r${i + 1}:fe-0/0/1"]`);
  }
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `# ${n} routers in a chain, a manual-SA tunnel between each pair (test/bench/chain.ts)\nname: ${name}\ntopology:\n  nodes:\n${nodes.join('\n')}\n  links:\n${links.join('\n')}\n`);
  return file;
}

if (process.argv[1]?.endsWith('chain.js')) console.log(chainLab(Number(process.argv[2] ?? 16), process.argv[3] ?? '/tmp/vrouter-chain'));
