/** Topology files: every mistake is refused with its line and field, before anything is created. */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopology } from './topology.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vrouter-topo-'));
  copyFileSync(join(import.meta.dirname, '../../topologies/gw-a.conf'), join(dir, 'gw-a.conf'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const load = (yaml: string) => { const f = join(dir, 't.yaml'); writeFileSync(f, yaml); return () => loadTopology(f); };
const OK = `name: lab1
topology:
  nodes:
    gw-a: { kind: juniper_m10, startup-config: gw-a.conf }
    h1:
      kind: linux
      exec: [ "ip addr add 10.1.1.1/24 dev eth1" ]
  links:
    - endpoints: ["gw-a:fe-0/0/1", "h1:eth1"]
`;

describe('topology files', () => {
  it('loads the default lab', () => {
    const t = loadTopology(join(import.meta.dirname, '../../topologies/gw-a-b.yaml'));
    expect(t.name).toBe('gw-a-b');
    expect([...t.nodes.keys()]).toEqual(['gw-a', 'gw-b', 'host-a', 'host-b']);
    expect(t.links[1]!.endpoints).toEqual([{ node: 'gw-a', ifname: 'fe-0/0/0' }, { node: 'gw-b', ifname: 'fe-0/0/0' }]);
    expect(t.nodes.get('gw-a')!.pics).toHaveLength(2);
  });
  it('accepts a correct small file', () => {
    expect(load(OK)().links).toHaveLength(1);
  });
  const bad: Array<[string, string, RegExp]> = [
    ['unknown kind', OK.replace('juniper_m10', 'juniper_m7'), /t\.yaml:4: topology\.nodes\.gw-a\.kind: 'juniper_m7' is not one of/],
    ['missing startup config', OK.replace('gw-a.conf', 'nope.conf'), /t\.yaml:4: topology\.nodes\.gw-a\.startup-config: nope\.conf: no such file/],
    ['unknown node in a link', OK.replace('"h1:eth1"', '"h2:eth1"'), /t\.yaml:9: topology\.links\[0\]\.endpoints: no node named 'h2'/],
    ['router port that does not exist', OK.replace('gw-a:fe-0/0/1', 'gw-a:fe-0/0/7'), /t\.yaml:9: .*gw-a has no Ethernet port fe-0\/0\/7/],
    ['es- ports carry no wire', OK.replace('gw-a:fe-0/0/1', 'gw-a:es-0/1/0'), /has no Ethernet port es-0\/1\/0/],
    ['an endpoint used twice', OK + '    - endpoints: ["gw-a:fe-0/0/1", "h1:eth2"]\n', /t\.yaml:10: .*gw-a:fe-0\/0\/1 is already used/],
    ['unknown field', OK.replace('kind: linux', 'kind: linux\n      image: alpine:3\n      colour: red'), /t\.yaml:8: topology\.nodes\.h1\.colour: unknown field/],
    ['exec on a router', OK.replace('startup-config: gw-a.conf }', 'startup-config: gw-a.conf, exec: ["true"] }'), /topology\.nodes\.gw-a\.exec: only linux nodes run exec lines/],
    ['bad lab name', OK.replace('name: lab1', 'name: Lab_1'), /t\.yaml:1: name: 'Lab_1' must be lowercase/],
    ['bad PIC placement', OK.replace('startup-config: gw-a.conf }', 'startup-config: gw-a.conf, pics: ["0/9:es"] }'), /topology\.nodes\.gw-a\.pics: FPC 0 has no PIC slot 9/],
    ['not YAML', 'name: [unclosed\n', /t\.yaml:\d+: /],
    ['clock-rate out of range', OK.replace('startup-config: gw-a.conf }', 'startup-config: gw-a.conf, clock-rate: 0 }'), /topology\.nodes\.gw-a\.clock-rate: expected an integer from 1 to 1000/],
    ['clock-rate on a host', OK.replace('kind: linux', 'kind: linux\n      clock-rate: 10'), /topology\.nodes\.h1\.clock-rate: only routers have SA lifetimes/],
  ];
  for (const [what, text, re] of bad) it(`refuses: ${what}`, () => expect(load(text)).toThrow(re));
});
