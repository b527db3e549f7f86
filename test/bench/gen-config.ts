/** A large, valid configuration for benchmarks: many SAs on es- units, filters and static routes. */
export function bigConfig(targetLines = 20000): string {
  const L: string[] = ['system { host-name big; }', 'interfaces {', 'lo0 { unit 0 { family inet { address 10.5.5.5/32; } } }',
    'fe-0/0/0 { unit 0 { family inet { address 10.0.0.1/30; } } }'];
  const nSa = Math.floor(targetLines / 60);
  L.push('es-0/1/0 {');
  for (let i = 0; i < nSa; i++) {
    L.push(`unit ${i} {`, 'tunnel {', 'source 10.5.5.5;', `destination 10.${100 + (i >> 8)}.${i & 255}.1;`, '}', 'family inet {',
      `ipsec-sa sa${i};`, `filter { input dec${i}; }`, `address 172.16.${i >> 6}.${(i & 63) * 4 + 1}/32 { destination 172.16.${i >> 6}.${(i & 63) * 4 + 2}; }`, '}', '}');
  }
  L.push('}', '}', 'security { ipsec {');
  for (let i = 0; i < nSa; i++) {
    L.push(`security-association sa${i} {`, 'manual {', 'direction bidirectional {', 'protocol esp;', `spi ${256 + i};`,
      'authentication {', 'algorithm hmac-sha1-96;', `key ascii-text k${String(i).padStart(19, '0')};`, '}',
      'encryption {', 'algorithm 3des-cbc;', `key ascii-text e${String(i).padStart(23, 'x')};`, '}', '}', '}', '}');
  }
  L.push('} }', 'firewall {');
  for (let i = 0; i < nSa; i++) {
    L.push(`filter dec${i} {`, 'term t1 {', 'from {', `source-address { 10.${100 + (i >> 8)}.${i & 255}.0/24; }`,
      'destination-address { 10.1.1.0/24; }', 'protocol [ tcp udp icmp ];', 'destination-port [ 22 80 443 1000-2000 ];', '}', 'then accept;', '}', '}');
  }
  L.push('}', 'routing-options { static {');
  let r = 0;
  while (L.length < targetLines - 2) L.push(`route 20.${(r >> 8) & 255}.${r++ & 255}.0/24 next-hop 10.0.0.2;`);
  L.push('} }');
  return L.join('\n') + '\n';
}
