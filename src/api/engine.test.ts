/**
 * The XML API without a transport: RPCs against a router of the in-memory lab, the configuration in
 * XML both ways, errors as the CLI says them, a failed commit that changes nothing, the lock against
 * the CLI; then the transports' readers fuzzed (NETCONF framing, the XML stream).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { figure11 } from '../lab/memlab.js';
import { CommitDb } from '../mgd/commitdb.js';
import { Interpreter } from '../cli/interp.js';
import { transcript } from '../cli/transcript.js';
import { showConfig } from '../config/display.js';
import { loadText } from '../config/load.js';
import { ApiSession, errorXml } from './engine.js';
import { parseDocument, XmlStream, El } from './xml.js';
import { treeToXml, xmlToLines } from './config-xml.js';
import { Framer } from './netconf.js';

const topo = join(import.meta.dirname, '../../topologies');
let t: Awaited<ReturnType<typeof figure11>>;
let db: CommitDb;
beforeAll(async () => { t = await figure11(topo, { ipsec: 'inline' }); db = new CommitDb(t.gwA); await t.hostA.ping('10.2.2.2', { count: 2 }); });
afterAll(async () => { await t.lab.close(); });

const rpc = (xml: string): El => { const d = parseDocument(xml); if (!d.ok) throw new Error(d.why); return d.root; };
async function call(s: ApiSession, xml: string): Promise<string> {
  try { return await s.run(rpc(xml)); } catch (e) { return errorXml(s.proto, e); }
}

describe('configuration RPCs', () => {
  it('get-configuration: XML, text, set, and a subtree', async () => {
    const s = new ApiSession(t.gwA, db, { name: 'netops', cls: 'super-user' }, 'junoscript', 'test');
    const x = await call(s, '<get-configuration/>');
    expect(x).toMatch(/^<configuration[^>]*><system><host-name>gw-a<\/host-name><\/system><interfaces><interface><name>fe-0\/0\/0<\/name>/);
    // secrets as the CLI shows them
    expect(x).toMatch(/<key><ascii-text>\$9\$/);
    expect(await call(s, '<get-configuration format="text"><configuration><interfaces><interface><name>es-0/1/0</name></interface></interfaces></configuration></get-configuration>')).toMatch(/^<configuration-text>interfaces \{\n    es-0\/1\/0 \{/);
    expect(await call(s, '<get-configuration format="set"><configuration><system/></configuration></get-configuration>')).toBe('<configuration-set>set system host-name gw-a\n</configuration-set>');
  });

  it('the configuration in XML and back gives the same configuration', () => {
    const x = parseDocument(treeToXml(t.gwA.tree!));
    if (!x.ok) throw new Error(x.why);
    const back = loadText(xmlToLines(x.root).join('\n'), { file: 'x', format: 'set' });
    expect(showConfig(back)).toBe(showConfig(t.gwA.tree!));
  });

  it('load-configuration and commit-configuration; a bad statement is the CLI\'s error; a failed commit changes nothing', async () => {
    const s = new ApiSession(t.gwA, db, { name: 'netops', cls: 'super-user' }, 'junoscript', 'test');
    expect(await call(s, '<load-configuration action="merge" format="xml"><configuration><interfaces><interface><name>fe-0/0/1</name><description>loaded by the API</description></interface></interfaces></configuration></load-configuration>')).toBe('<load-configuration-results><load-success/></load-configuration-results>');
    expect(await call(s, '<commit-configuration/>')).toMatch(/<commit-success\/>/);
    expect(t.gwA.model!.interfaces.find(i => i.name === 'fe-0/0/1')!.description).toBe('loaded by the API');
    expect(await call(s, '<load-configuration action="set"><configuration-set>set system frobnicate 1</configuration-set></load-configuration>'))
      .toMatch(/<xnm:error[^>]*><message>[\s\S]*syntax error[\s\S]*<\/message>/);
    const before = showConfig(t.gwA.tree!);
    expect(await call(s, '<load-configuration action="set"><configuration-set>set interfaces es-0/1/0 unit 0 family inet ipsec-sa no-such-sa</configuration-set></load-configuration>')).toMatch(/load-success/);
    expect(await call(s, '<commit-configuration/>')).toMatch(/<xnm:error[^>]*><message>[\s\S]*no-such-sa[\s\S]*<\/message>/);
    expect(showConfig(t.gwA.tree!)).toBe(before);
    expect(await call(s, '<load-configuration rollback="0"/>')).toMatch(/load-success/);
  });

  it('load-configuration format="set": several sibling statements in one set line, as the CLI takes them', async () => {
    const s = new ApiSession(t.gwA, db, { name: 'netops', cls: 'super-user' }, 'junoscript', 'test');
    try {
      expect(await call(s, '<load-configuration action="set"><configuration-set>set security ike proposal p2 authentication-method pre-shared-keys dh-group group2 lifetime-seconds 600\nset interfaces es-0/1/0 unit 0 tunnel source 10.5.5.5 destination 10.6.6.6</configuration-set></load-configuration>')).toMatch(/load-success/);
      expect(await call(s, '<get-configuration database="candidate" format="set"><configuration><security><ike/></security></configuration></get-configuration>'))
        .toBe('<configuration-set>set security ike proposal p2 authentication-method pre-shared-keys\nset security ike proposal p2 dh-group group2\nset security ike proposal p2 lifetime-seconds 600\n</configuration-set>');
    } finally { await call(s, '<load-configuration rollback="0"/>'); }
  });

  it('NETCONF: get-config, edit-config on the candidate, validate, commit, discard-changes; errors as rpc-error', async () => {
    const s = new ApiSession(t.gwA, db, { name: 'netops', cls: 'super-user' }, 'netconf', 'test');
    expect(await call(s, '<get-config><source><running/></source><filter type="subtree"><configuration><system/></configuration></filter></get-config>')).toMatch(/^<data><configuration[^>]*><system><host-name>gw-a<\/host-name><\/system><\/configuration><\/data>$/);
    expect(await call(s, '<edit-config><target><candidate/></target><config><configuration><system><host-name>gw-a-nc</host-name></system></configuration></config></edit-config>')).toBe('<ok/>');
    expect(await call(s, '<validate><source><candidate/></source></validate>')).toBe('<ok/>');
    expect(await call(s, '<get-config><source><candidate/></source><filter><configuration><system><host-name/></system></configuration></filter></get-config>')).toMatch(/gw-a-nc/);
    expect(await call(s, '<discard-changes/>')).toBe('<ok/>');
    expect(await call(s, '<get-config><source><candidate/></source></get-config>')).not.toMatch(/gw-a-nc/);
    expect(await call(s, '<edit-config><target><running/></target><config><configuration/></config></edit-config>')).toMatch(/<error-tag>operation-not-supported<\/error-tag>/);
    expect(await call(s, '<edit-config><target><candidate/></target><config><configuration><system><no-such>1</no-such></system></configuration></config></edit-config>')).toMatch(/<rpc-error>.*<error-message>syntax error: system no-such: 'no-such' is not a statement here<\/error-message>/);
    expect(await call(s, '<edit-config><target><candidate/></target><config><configuration><system><host-name operation="delete"/></system></configuration></config></edit-config>')).toBe('<ok/>');
    expect(showConfig(db.candidate)).not.toMatch(/host-name/);
    expect(await call(s, '<discard-changes/>')).toBe('<ok/>');
    expect(await call(s, '<frobnicate/>')).toMatch(/<error-tag>operation-not-supported<\/error-tag>.*&lt;frobnicate&gt; is not an RPC/);
  });

  it('a read-only user may read, not change; operational RPCs answer in JUNOS\'s XML; <command> runs the CLI', async () => {
    const ro = new ApiSession(t.gwA, db, { name: 'viewer', cls: 'read-only' }, 'netconf', 'test');
    expect(await call(ro, '<lock><target><candidate/></target></lock>')).toMatch(/<error-tag>access-denied<\/error-tag>/);
    const sa = await call(ro, '<get-security-associations-information/>');
    expect(sa).toMatch(/<ipsec-security-associations-block><sa-name>manual-sa1<\/sa-name><sa-interface>es-0\/1\/0\.0<\/sa-interface><sa-block-state>up<\/sa-block-state>/);
    expect(sa).toMatch(/<sa-direction>inbound<\/sa-direction><sa-spi>2312<\/sa-spi>/);
    expect(await call(ro, '<get-interface-information><terse/></get-interface-information>')).toMatch(/<physical-interface><name>es-0\/1\/0<\/name><admin-status>up<\/admin-status><oper-status>up<\/oper-status><logical-interface><name>es-0\/1\/0\.0<\/name>/);
    expect(await call(ro, '<command>show route 10.2.2.0/24</command>')).toMatch(/<rt-destination>10\.2\.2\.0\/24<\/rt-destination>/);
    expect(await call(ro, '<command format="text">show chassis hardware</command>')).toMatch(/^<output>Hardware inventory:/);
    expect(await call(ro, '<command>show frob</command>')).toMatch(/syntax error/);
    expect(await call(ro, '<get-system-uptime-information/>')).toMatch(/^<system-uptime-information><current-time><date-time junos:seconds="\d+">[\d-]+ [\d:]+ UTC<\/date-time><\/current-time><system-booted-time>/);
    expect(await call(ro, '<command>show firewall</command>')).toMatch(/<filter-information><filter-name>ipsec-encrypt-policy-filter<\/filter-name>.*<term><term-name>term1<\/term-name><packet-count>\d+<\/packet-count>/);
    expect(await call(ro, '<get-pfe-statistics/>')).toMatch(/<pfe-traffic-statistics><input-packets>\d+<\/input-packets>/);
  });
});

describe('| display xml in the CLI', () => {
  it('prints the reply the API gives for the same command', async () => {
    const s = new ApiSession(t.gwA, db, { name: 'netops', cls: 'super-user' }, 'junoscript', 'test');
    const cli = await transcript(new Interpreter(t.gwA, db), ['show ipsec security-associations | display xml', 'show configuration system | display xml', 'show ipsec diagnosis | display xml']);
    const api = await call(s, '<get-security-associations-information/>');
    const flat = (x: string) => x.replace(/>\s+</g, '><').trim();
    expect(flat(cli)).toContain(flat(api));
    expect(cli).toMatch(/<rpc-reply xmlns:junos="http:\/\/xml\.juniper\.net\/junos\/7\.4R1\/junos">\n    <ipsec-security-associations-information>/);
    expect(cli).toMatch(/<configuration>\n        <system>\n            <host-name>gw-a<\/host-name>/);
    expect(cli).toMatch(/<ipsec-diagnosis-information>\s*<tunnel>\s*<interface-name>es-0\/1\/0\.0<\/interface-name>/);
  });
});

describe('the lock', () => {
  it('one session\'s lock refuses the CLI and other sessions until it unlocks or its session ends', async () => {
    const a = new ApiSession(t.gwA, db, { name: 'netops', cls: 'super-user' }, 'netconf', '10.1.1.1');
    const b = new ApiSession(t.gwA, db, { name: 'other', cls: 'super-user' }, 'junoscript', '10.1.1.2');
    expect(await call(a, '<lock><target><candidate/></target></lock>')).toBe('<ok/>');
    const cli = new Interpreter(t.gwA, db);
    const out = await transcript(cli, ['configure', 'set system host-name nope', 'commit']);
    expect(out).toMatch(/set system host-name nope\nerror: configuration database locked by: netops \(NETCONF session \d+ from 10\.1\.1\.1\)/);
    expect(out).toMatch(/commit\nerror: configuration database locked by: netops/);
    expect(await call(b, '<lock-configuration/>')).toMatch(/configuration database locked by: netops/);
    expect(await call(b, '<load-configuration action="set"><configuration-set>set system host-name nope</configuration-set></load-configuration>')).toMatch(/locked by: netops/);
    a.close();   // the session ends: its lock goes
    expect(await call(b, '<lock-configuration/>')).toBe('');
    expect(await call(b, '<unlock-configuration/>')).toBe('');
    expect(await transcript(cli, ['set system host-name gw-a'])).not.toMatch(/locked/);
  });
});

describe('hostile input to the readers', () => {
  it('NETCONF framing: 3,000 random and mutated streams end in messages or one error, never a throw', () => {
    let seed = 11;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const good = '\n#20\n<rpc message-id="1">\n#9\n<get/></rpc>\n##\n';
    for (let i = 0; i < 3000; i++) {
      const f = new Framer({ message: () => {}, error: () => {} });
      f.chunked = i % 2 === 0;
      let s = i % 3 === 0 ? good : i % 3 === 1 ? good.replace(/\d+/, String(rnd(1e9))) : String.fromCharCode(...Array.from({ length: rnd(200) }, () => rnd(128)));
      if (i % 5 === 0) s = s.slice(0, rnd(s.length + 1));
      expect(() => { for (let j = 0; j < s.length; j += 1 + rnd(7)) f.push(s.slice(j, j + 1 + rnd(7))); }).not.toThrow();
    }
  });
  it('the XML stream: malformed, deep, huge or random documents give one error, never a throw', () => {
    const cases = ['<rpc><a></b></rpc>', '<'.repeat(50), '<a>'.repeat(200), `<rpc>${'<x/>'.repeat(200_000)}</rpc>`, '<?xml version="1.0"?><rpc><get-config attr=noquotes/></rpc>', '\u0000\u0001<rpc/>'];
    let seed = 5;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    for (let i = 0; i < 2000; i++) cases.push(Array.from({ length: rnd(80) }, () => '<>/="a &;![CDATA[]]'[rnd(20)]).join(''));
    for (const c of cases) {
      const errors: string[] = [];
      const s = new XmlStream(1, { element: () => {}, error: w => errors.push(w) });
      expect(() => { s.write(c); s.end(); }).not.toThrow();
      expect(errors.length).toBeLessThanOrEqual(1);
    }
    const deep = new XmlStream(1, { element: () => {}, error: () => {} });
    deep.write('<a>'.repeat(100));
    expect(deep.broken).toBe(true);
  });
});

void readFileSync;
