/** vrouter graph: the lab's nodes, links and es- tunnels in dot and mermaid, and SVG from Graphviz's real dot. */
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { loadTopology } from './topology.js';
import { labGraph, graph } from './graph.js';

const topo = (f: string) => loadTopology(join(import.meta.dirname, '../../topologies', f));

describe('vrouter graph', () => {
  it('gw-a-b: routers with their chassis, hosts, links with interface names, one tunnel between the gateways', () => {
    const g = labGraph(topo('gw-a-b.yaml'));
    expect(g.nodes.map(n => n.name)).toEqual(['gw-a', 'gw-b', 'host-a', 'host-b']);
    expect(g.nodes[0]!.label).toEqual(['gw-a', 'M10: 0/0 4x-fe, 0/1 es']);
    expect(g.nodes[2]!.label).toEqual(['host-a', 'linux', '10.1.1.1/24']);
    expect(g.links).toContainEqual({ a: 'gw-a', aIf: 'fe-0/0/0', b: 'gw-b', bIf: 'fe-0/0/0' });
    expect(g.tunnels).toEqual([{ a: 'gw-a', aIf: 'es-0/1/0.0', b: 'gw-b', bIf: 'es-0/1/0.0', sa: 'manual-sa1', source: '10.5.5.5', destination: '10.6.6.6' }]);
  });

  it('m20: two ES PICs, two tunnels; strongSwan peer: the tunnel ends at the linux node with the address', () => {
    expect(labGraph(topo('m20.yaml')).tunnels.map(t => `${t.a}:${t.aIf} ${t.b}:${t.bIf}`).sort()).toEqual(['gw-a:es-0/1/0.0 gw-b:es-0/1/0.0', 'gw-a:es-1/1/0.0 gw-b:es-1/1/0.0']);
    const sw = labGraph(topo('gw-a-strongswan.yaml'));
    expect(sw.tunnels).toHaveLength(1);
    expect(sw.tunnels[0]).toMatchObject({ a: 'gw-a', b: 'sw', destination: '10.6.6.6' });
    expect(sw.tunnels[0]!.bIf).toBeUndefined();
  });

  it('dot: boxes for routers, solid links with head and tail labels, the tunnel dashed', () => {
    const d = graph(topo('gw-a-b.yaml'), 'dot');
    expect(d).toMatch(/^graph "gw-a-b" \{/);
    expect(d).toContain('"gw-a" [label="gw-a\nM10: 0/0 4x-fe, 0/1 es", shape=box');
    expect(d).toContain('"host-a" [label="host-a\nlinux\n10.1.1.1/24", shape=ellipse');
    expect(d).toContain('"gw-a" -- "host-a" [taillabel="fe-0/0/1", headlabel="eth1"];');
    expect(d).toMatch(/"gw-a" -- "gw-b" \[style=dashed, [^\]]*label="manual-sa1 10\.5\.5\.5 - 10\.6\.6\.6", taillabel="es-0\/1\/0\.0", headlabel="es-0\/1\/0\.0"\]/);
    expect(d.match(/ -- /g)).toHaveLength(4);
  });

  it('mermaid: a flowchart with the links labelled and the tunnel dotted', () => {
    const m = graph(topo('gw-a-b.yaml'), 'mermaid');
    expect(m.split('\n')[0]).toBe('flowchart LR');
    expect(m).toContain('n0_gw_a["gw-a<br/>M10: 0/0 4x-fe, 0/1 es"]');
    expect(m).toContain('n2_host_a(["host-a<br/>linux<br/>10.1.1.1/24"])');
    expect(m).toContain('n0_gw_a ---|"fe-0/0/1 - eth1"| n2_host_a');
    expect(m).toContain('n0_gw_a -. "es-0/1/0.0 - es-0/1/0.0: manual-sa1 10.5.5.5 - 10.6.6.6" .- n1_gw_b');
  });

  it('svg: made by Graphviz dot (scripts/deps.sh installs graphviz), with every node and the dashed tunnel', () => {
    const s = graph(topo('gw-a-b.yaml'), 'svg').replace(/&#45;/g, '-');
    expect(s).toMatch(/<svg[\s\S]*<\/svg>\s*$/);
    for (const n of ['gw-a', 'gw-b', 'host-a', 'host-b', 'fe-0/0/1', 'es-0/1/0.0']) expect(s).toContain(`>${n}</text>`);
    expect(s).toMatch(/stroke-dasharray/);
  });

  it('an unknown format is refused', () => { expect(() => graph(topo('gw-a-b.yaml'), 'png')).toThrow(/dot, mermaid or svg/); });
});
