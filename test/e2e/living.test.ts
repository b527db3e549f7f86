/** A running lab that people and scripts work with: vrouter exec, a gateway that dies and comes back, changes and rollback. */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, Lab, waitUntil, processGone } from './helpers.js';

describe.skipIf(!canRun)(`vrouter up in the foreground without a terminal ${skipReason}`, () => {
  it('stays up until SIGINT, then brings the lab down', async () => {
    buildOnce();
    const { spawn } = await import('node:child_process');
    const l = labCopy('gw-a-b', 'f');
    try {
      const p = spawn(process.execPath, ['bin/vrouter.js', 'up', l.file], { cwd: `${import.meta.dirname}/../..`, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', d => { out += d; });
      const exited = new Promise<number>(res => p.on('exit', c => res(c ?? -1)));
      await waitUntil(() => out.includes('Ctrl-C brings the lab down') || p.exitCode !== null, 'the lab to be up', 30000);
      expect(p.exitCode).toBeNull();                       // still in the foreground
      expect((await inNs(`${l.name}-host-a`, 'ping', '-c', '1', '-W', '2', '10.2.2.2')).out).toMatch(/1 received/);
      p.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(out).toContain(`lab ${l.name} is down`);
      expect(await leftovers(l.name)).toEqual([]);
    } finally { await cleanup(l); }
  });
});

describe.skipIf(!canRun)(`a living lab ${skipReason}`, () => {
  let lab: Lab;
  const hostA = () => `${lab.name}-host-a`;
  const ping = async (n = 3) => (await inNs(hostA(), 'ping', '-c', String(n), '-i', '0.2', '-W', '1', '10.2.2.2')).out;
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('gw-a-b', 'l');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
  });
  afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

  it('vrouter exec shows SA and interface counters that agree with the pings sent', async () => {
    await vrouter('exec', lab.file, 'gw-a', 'clear ipsec security-associations', 'clear interfaces statistics all');
    expect(await ping(7)).toMatch(/7 received/);
    const out = (await vrouter('exec', lab.file, 'gw-a', 'show ipsec security-associations manual-sa1', 'show interfaces es-0/1/0.0')).out;
    expect([...out.matchAll(/Packets: (\d+), Bytes/g)].map(m => Number(m[1]))).toEqual([7, 7]);
    expect(out).toMatch(/Input packets : 7\n\s+Output packets: 7/);
  });

  it('killing a gateway stops the pings; vrouter up --detach brings it back and they resume', async () => {
    const s = JSON.parse((await vrouter('inspect', lab.file, '--json')).out);
    process.kill(s.nodes['gw-b'].pid, 'SIGKILL');
    await waitUntil(() => processGone(s.nodes['gw-b'].pid), 'gw-b to be gone');
    expect(await ping(2)).toMatch(/0 received/);
    expect(JSON.parse((await vrouter('inspect', lab.file, '--json')).out).nodes['gw-b'].pid).toBeNull();
    // the host keeps its interface and address: the lab, not the router process, owns them
    expect((await inNs(`${lab.name}-host-b`, 'ip', '-4', 'addr', 'show', 'eth1')).out).toContain('10.2.2.2/24');
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.out).toContain('restarting gw-b');
    expect(await ping(3)).toMatch(/3 received/);
  });

  it('a change made with vrouter exec takes effect, and rollback 1 + commit undoes it', async () => {
    const del = await vrouter('exec', lab.file, 'gw-a', 'configure', 'delete firewall filter ipsec-encrypt-policy-filter term term1', 'delete routing-options static route 10.2.2.0/24', 'commit and-quit');
    expect(del.code, del.out).toBe(0);
    expect(del.out).toContain('commit complete');
    expect(await ping(2)).toMatch(/0 received/);   // no filter term and no route into the tunnel: host-b is unreachable
    const rb = await vrouter('exec', lab.file, 'gw-a', 'configure', 'rollback 1', 'commit and-quit');
    expect(rb.code, rb.out).toBe(0);
    expect(await ping(3)).toMatch(/3 received/);
    // the last committed configuration survives a restart of the router
    const conf = readFileSync(`${lab.dir}/vrouter-${lab.name}/gw-a/juniper.conf.0`, 'utf8');
    expect(conf).toContain('term term1');
  });

  it('vrouter capture writes a pcap of what crosses a router port, for Ethernet ports and es- interfaces', async () => {
    const { spawn } = await import('node:child_process');
    const { readPcap } = await import('../../src/net/pcap.js');
    const { decodeFrame, decodeIp } = await import('../../src/net/decode.js');
    const dir = lab.dir;
    let started = 0;
    const run = (ep: string, f: string) => new Promise<number>(res => {
      const p = spawn(process.execPath, ['bin/vrouter.js', 'capture', lab.file, ep, '-c', '4', '-w', f], { cwd: `${import.meta.dirname}/../..` });
      p.stderr.on('data', d => { if (/capturing on/.test(String(d))) started++; });
      p.on('exit', c => res(c ?? -1));
    });
    const fe = run('gw-a:fe-0/0/0', `${dir}/fe.pcap`), es = run('gw-a:es-0/1/0', `${dir}/es.pcap`);
    await waitUntil(() => started === 2, 'both captures to start');
    expect(await ping(2)).toMatch(/2 received/);
    expect(await fe).toBe(0);
    expect(await es).toBe(0);
    const a = readPcap(readFileSync(`${dir}/fe.pcap`));
    expect(a.linktype).toBe(1);
    expect(a.packets.map(decodeFrame).filter(l => l.includes('ESP(spi=0x00000908'))).toHaveLength(4);
    const b = readPcap(readFileSync(`${dir}/es.pcap`));
    expect(b.linktype).toBe(101);
    expect(b.packets.map(decodeIp).every(l => /ICMP echo/.test(l))).toBe(true);
  });

  it('a failing commit through exec exits non-zero and changes nothing', async () => {
    const r = await vrouter('exec', lab.file, 'gw-a', 'configure', 'set security ipsec security-association manual-sa1 manual direction bidirectional spi 9', 'commit', 'rollback 0', 'exit');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Value 9 is not within range \(256\.\.16639\)/);
    expect(await ping(2)).toMatch(/2 received/);
  });
});
