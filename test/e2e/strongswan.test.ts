/**
 * vrouter against strongSwan 5.9.8 (charon, swanctl, kernel-libipsec) in a namespace of the lab
 * (topologies/gw-a-strongswan.yaml): main and aggressive mode with pre-shared keys, the chapter's
 * algorithm and group choices, PFS or not, each initiated by either side with a ping through the
 * tunnel both ways; rekeys started by either side under traffic; a wrong pre-shared key on either
 * side. kernel-libipsec asks for UDP encapsulation, so every row also exercises NAT traversal.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canRun, skipReason, buildOnce, labCopy, vrouter, inNs, leftovers, cleanup, capture, linkOf, waitUntil, sh, Lab } from './helpers.js';

interface Sw { ike: string; esp: string; aggressive?: boolean; psk?: string; rekey?: string }
function swanctlConf(o: Sw): string {
  return `connections {
    gw-a {
        version = 1
        local_addrs = 10.6.6.6
        remote_addrs = 10.5.5.5
        proposals = ${o.ike}
        aggressive = ${o.aggressive ? 'yes' : 'no'}
        local {
            auth = psk
            id = 10.6.6.6
        }
        remote {
            auth = psk
            id = 10.5.5.5
        }
        children {
            lan {
                local_ts = 10.2.2.0/24
                remote_ts = 10.1.1.0/24
                esp_proposals = ${o.esp}
${o.rekey ?? ''}
            }
        }
    }
}
secrets {
    ike-gw-a {
        id = 10.5.5.5
        secret = "${o.psk ?? 'example-pre-shared-key'}"
    }
}
`;
}

interface Row { name: string; gw: string[]; sw: Sw; expect: RegExp }
// each row: what gw-a commits (on top of gw-a-strongswan.conf) and what strongSwan loads
const ROWS: Row[] = [
  { name: 'main mode, 3des-cbc sha1 group2; ESP 3des-cbc hmac-sha1-96, PFS group2', gw: [],
    sw: { ike: '3des-sha1-modp1024', esp: '3des-sha1-modp1024' }, expect: /3DES_CBC\/HMAC_SHA1_96\/PRF_HMAC_SHA1\/MODP_1024[\s\S]*ESP:3DES_CBC\/HMAC_SHA1_96\/MODP_1024/ },
  { name: 'main mode, des-cbc md5 group1; ESP des-cbc hmac-md5-96, PFS group1',
    gw: ['set security ike proposal ike-proposal encryption-algorithm des-cbc', 'set security ike proposal ike-proposal authentication-algorithm md5', 'set security ike proposal ike-proposal dh-group group1',
      'set security ipsec proposal esp-3des-sha1 encryption-algorithm des-cbc', 'set security ipsec proposal esp-3des-sha1 authentication-algorithm hmac-md5-96', 'set security ipsec policy dynamic-policy-1 perfect-forward-secrecy keys group1'],
    sw: { ike: 'des-md5-modp768', esp: 'des-md5-modp768' }, expect: /DES_CBC\/HMAC_MD5_96\/PRF_HMAC_MD5\/MODP_768[\s\S]*ESP:DES_CBC\/HMAC_MD5_96\/MODP_768/ },
  { name: 'main mode, 3des-cbc md5 group2; ESP 3des-cbc hmac-md5-96, no PFS',
    gw: ['set security ike proposal ike-proposal authentication-algorithm md5', 'set security ipsec proposal esp-3des-sha1 authentication-algorithm hmac-md5-96', 'delete security ipsec policy dynamic-policy-1 perfect-forward-secrecy'],
    sw: { ike: '3des-md5-modp1024', esp: '3des-md5' }, expect: /3DES_CBC\/HMAC_MD5_96\/PRF_HMAC_MD5\/MODP_1024[\s\S]*ESP:3DES_CBC\/HMAC_MD5_96(?!\/MODP)/ },
  { name: 'aggressive mode, 3des-cbc sha1 group2; ESP 3des-cbc hmac-sha1-96, PFS group2', gw: ['set security ike policy 10.6.6.6 mode aggressive'],
    sw: { ike: '3des-sha1-modp1024', esp: '3des-sha1-modp1024', aggressive: true }, expect: /3DES_CBC\/HMAC_SHA1_96\/PRF_HMAC_SHA1\/MODP_1024/ },
];

describe.skipIf(!canRun)(`interop with strongSwan ${skipReason}`, () => {
  let lab: Lab;
  let uri: string;
  const exec = async (...cmds: string[]) => await vrouter('exec', lab.file, 'gw-a', ...cmds);
  const swanctl = async (...args: string[]) => await inNs(`${lab.name}-sw`, 'swanctl', ...args, '--uri', uri);
  const charonLog = () => readFileSync(`/var/lib/vrouter/${lab.name}/sw/charon.log`, 'utf8');
  const pingA = async (n = 3, interval = '0.2') => (await inNs(`${lab.name}-host-a`, 'ping', '-n', '-c', String(n), '-i', interval, '-W', '2', '10.2.2.1')).out;
  const pingSw = async (n = 3) => (await inNs(`${lab.name}-sw`, 'ping', '-n', '-c', String(n), '-i', '0.2', '-W', '2', '-I', '10.2.2.1', '10.1.1.1')).out;
  const received = (out: string) => Number(/(\d+) received/.exec(out)?.[1] ?? -1);
  const baseConf = () => readFileSync(join(lab.dir, 'gw-a-strongswan.conf'), 'utf8');
  /** gw-a's configuration: the lab's file plus these statements; strongSwan's: this; both sides' SAs cleared */
  const setup = async (gw: string[], sw: Sw) => {
    await swanctl('--terminate', '--ike', 'gw-a');
    const f = join(lab.dir, 'sw-row.swanctl.conf');
    writeFileSync(f, swanctlConf(sw));
    const l = await swanctl('--load-all', '--file', f);
    expect(l.code, l.out).toBe(0);
    writeFileSync(join(lab.dir, 'row.conf'), baseConf());
    // long lifetimes (1 day: 24 minutes on this lab's fast clock) unless a row says otherwise
    const r = await exec('configure', `load override ${join(lab.dir, 'row.conf')}`, 'set security ike proposal ike-proposal lifetime-seconds 86400', 'set security ipsec proposal esp-3des-sha1 lifetime-seconds 86400', ...gw, 'commit and-quit');
    expect(r.out, r.out + r.err).toContain('commit complete');
    await exec('clear ike security-associations', 'clear ipsec security-associations');
    return waitUntil(async () => !/ESTABLISHED/.test((await swanctl('--list-sas')).out) && !/Matured/.test((await exec('show ike security-associations')).out), 'both sides to hold no SA');
  };
  beforeAll(async () => {
    buildOnce();
    lab = labCopy('gw-a-strongswan', 's');
    // gw-a's lifetimes on a clock 60 times faster (strongSwan sees them in its seconds): rekeys in seconds
    writeFileSync(lab.file, readFileSync(lab.file, 'utf8').replace('startup-config: gw-a-strongswan.conf }', 'startup-config: gw-a-strongswan.conf, clock-rate: 60 }'));
    const r = await vrouter('up', lab.file, '--detach');
    expect(r.code, r.out + r.err).toBe(0);
    uri = `unix:///var/lib/vrouter/${lab.name}/sw/charon.vici`;
  });
  afterAll(async () => { if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); } });

  for (const row of ROWS) {
    it(`${row.name}: vrouter initiates, then strongSwan; pings both ways; both list the SAs`, async () => {
      await setup(row.gw, row.sw);
      // vrouter initiates: host-a's traffic
      expect(received(await pingA())).toBe(3);
      const sas = (await swanctl('--list-sas')).out;
      expect(sas).toMatch(/gw-a: #\d+, ESTABLISHED, IKEv1/);
      expect(sas).toMatch(/lan: #\d+, reqid \d+, INSTALLED, TUNNEL-in-UDP/);
      expect(sas).toMatch(row.expect);
      expect((await exec('show ike security-associations')).out).toMatch(new RegExp(`10\\.6\\.6\\.6\\s+Matured\\s+[0-9a-f]{16}\\s+[0-9a-f]{16}\\s+${row.sw.aggressive ? 'Aggressive' : 'Main'}`));
      expect((await exec('show ike security-associations detail')).out).toMatch(/Role: Initiator/);
      expect(received(await pingSw())).toBe(3);
      // strongSwan initiates
      await swanctl('--terminate', '--ike', 'gw-a');
      await waitUntil(async () => !/Matured/.test((await exec('show ike security-associations')).out), 'gw-a to take strongSwan\'s DELETE');
      const i = await swanctl('--initiate', '--child', 'lan');
      expect(i.code, i.out).toBe(0);
      expect((await exec('show ike security-associations detail')).out).toMatch(/Role: Responder, State: Matured/);
      expect(received(await pingSw())).toBe(3);
      expect(received(await pingA())).toBe(3);
      expect((await exec('show ipsec security-associations brief')).out).toMatch(/dynamic-sa1\s+es-0\/1\/0\.0\s+inbound\s+\d+\s+ESP\s+tunnel\s+Installed/);
    }, 60000);
  }

  it('the wire carries IKE on UDP 500 and 4500, and ESP in UDP 4500 (kernel-libipsec asks for it)', async () => {
    await setup([], ROWS[0]!.sw);
    const t = await linkOf(lab.file, 'gw-a:fe-0/0/0', 'sw:eth1');
    const lines = await capture(t.netns, t.device, async () => { expect(received(await pingA())).toBe(3); }, 15);
    for (const l of lines) expect(l).toMatch(/IP 10\.(5\.5\.5|6\.6\.6)\.(500|4500) > 10\.(6\.6\.6|5\.5\.5)\.(500|4500): (isakmp|NONESP-encap|UDP-encap|isakmp-nat-keep-alive)/);
    expect(lines.some(l => /UDP-encap: ESP/.test(l))).toBe(true);
    expect(charonLog()).toMatch(/faking NAT situation to enforce UDP encapsulation/);
  });

  it('rekeys started by vrouter under a ping of 10 per second (its IPsec lifetime 180 s: 3 s here)', async () => {
    await setup(['set security ipsec proposal esp-3des-sha1 lifetime-seconds 180'], ROWS[0]!.sw);
    expect(received(await pingA(1))).toBe(1);
    const count = async (re: RegExp) => ((await exec('show log kmd')).out.match(re) ?? []).length;
    const before = await count(/KMD_PM_SA_ESTABLISHED: .*\(initiator, rekey/g);
    const out = await pingA(80, '0.1');
    const rekeys = await count(/KMD_PM_SA_ESTABLISHED: .*\(initiator, rekey/g) - before;
    expect(rekeys).toBeGreaterThanOrEqual(2);
    expect(80 - received(out), out).toBeLessThanOrEqual(rekeys);
    // strongSwan took the new SAs and the DELETEs of the old ones
    expect(charonLog()).toMatch(/received DELETE for ESP CHILD_SA/);
    expect(((await swanctl('--list-sas')).out.match(/lan: #\d+/g) ?? []).length).toBeLessThanOrEqual(2);
  }, 60000);

  it('rekeys started by strongSwan under a ping of 10 per second (rekey_time 3 s)', async () => {
    await setup([], { ...ROWS[0]!.sw, rekey: '                rekey_time = 3s\n                life_time = 6s\n                rand_time = 0s' });
    expect((await swanctl('--initiate', '--child', 'lan')).code).toBe(0);
    const count = async (re: RegExp) => ((await exec('show log kmd')).out.match(re) ?? []).length;
    const before = await count(/KMD_PM_SA_ESTABLISHED: .*\(responder, rekey/g);
    const out = await pingA(80, '0.1');
    const rekeys = await count(/KMD_PM_SA_ESTABLISHED: .*\(responder, rekey/g) - before;
    expect(rekeys).toBeGreaterThanOrEqual(2);
    expect(80 - received(out), out).toBeLessThanOrEqual(rekeys);
    expect(received(await pingSw())).toBe(3);
  }, 60000);

  it('a wrong pre-shared key on gw-a: both sides fail cleanly and say why', async () => {
    await setup(['set security ike policy 10.6.6.6 pre-shared-key ascii-text "not-the-key"'], ROWS[0]!.sw);
    const mark = charonLog().length;
    expect(received(await pingA(2))).toBe(0);
    await waitUntil(async () => /pre-shared key/.test((await exec('show ike security-associations')).out), 'gw-a to say why', 30000);
    expect((await exec('show ike security-associations')).out).toMatch(/Last failure with 10\.6\.6\.6 .*pre-shared key/);
    expect(charonLog().slice(mark)).toMatch(/(integrity check failed|invalid HASH|message parsing failed|decryption failed|AUTHENTICATION_FAILED|INVALID_PAYLOAD_TYPE)/);
    expect((await swanctl('--list-sas')).out).not.toMatch(/ESTABLISHED/);
    expect((await exec('show log kmd')).out).not.toMatch(/not-the-key|example-pre-shared-key/);
  }, 60000);

  it('a wrong pre-shared key on strongSwan: both sides fail cleanly and say why', async () => {
    await setup([], { ...ROWS[0]!.sw, psk: 'not-the-key' });
    const mark = charonLog().length;
    await swanctl('--initiate', '--child', 'lan', '--timeout', '10');
    await waitUntil(async () => /pre-shared key/.test((await exec('show ike security-associations')).out), 'gw-a to say why', 30000);
    expect((await exec('show ike security-associations')).out).toMatch(/Last failure with 10\.6\.6\.6 .*as responder.*authentication failed.*pre-shared key/);
    // strongSwan gets our AUTHENTICATION-FAILED notify; unauthenticated, it only logs it, then gives up
    expect(charonLog().slice(mark)).toMatch(/parsed INFORMATIONAL_V1 request \d+ \[ N\(AUTH_FAILED\) \]/);
    expect((await swanctl('--list-sas')).out).not.toMatch(/ESTABLISHED/);
    void sh;
  }, 60000);
});
