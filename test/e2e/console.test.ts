/**
 * The console in a real terminal: `vrouter up` under tmux (send-keys to type, capture-pane to read).
 * Pings from host-a, then `show ipsec security-associations` lists manual-sa1 with SPI 2312 and
 * counters that rise, `sh int te` lists es-0/1/0, and leaving brings the lab down.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { canRun, skipReason, buildOnce, labCopy, inNs, leftovers, cleanup, sh, ROOT, Lab, waitUntil } from './helpers.js';

const hasTmux = (await sh('which', ['tmux'])).code === 0;
describe.skipIf(!canRun || !hasTmux)(`the console under tmux ${skipReason}`, () => {
  let lab: Lab;
  let tm: string;
  const screen = async () => (await sh('tmux', ['capture-pane', '-t', tm, '-p', '-S', '-2000'])).out;
  const keys = async (...k: string[]) => await sh('tmux', ['send-keys', '-t', tm, ...k]);
  const waitFor = (re: RegExp, ms = 20000) => waitUntil(async () => { const s = await screen(); return re.test(s) && s; }, `the terminal to show ${re}`, ms)
    .catch(async () => { throw new Error(`the terminal never showed ${re}:\n${(await screen()).split('\n').slice(-30).join('\n')}`); });
  /** Run a command and return only what it printed: from its own (new) echo to the next prompt. */
  const command = async (cmd: string, until: RegExp) => {
    const echo = `root@gw-a> ${cmd}`;
    const seen = (await screen()).split(echo).length;
    await keys(cmd, 'Enter');
    return waitUntil(async () => {
      const s = await screen();
      if (s.split(echo).length <= seen) return false;
      const out = s.slice(s.lastIndexOf(echo) + echo.length);
      return until.test(out) && /root@gw-a>/.test(out) && out;
    }, `the output of ${cmd}`).catch(async () => { throw new Error(`no output for ${cmd}:\n${(await screen()).split('\n').slice(-30).join('\n')}`); });
  };

  beforeAll(async () => {
    buildOnce();
    lab = labCopy('gw-a-b', 'c');
    tm = `vr${lab.name}`;
    await sh('tmux', ['new-session', '-d', '-s', tm, '-x', '120', '-y', '40', `cd ${ROOT} && node bin/vrouter.js up ${lab.file}; echo CONSOLE-EXITED; sleep 120`]);
    await waitFor(/root@gw-a>/, 40000);
  });
  afterAll(async () => {
    await sh('tmux', ['kill-session', '-t', tm]);
    if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); }
  });

  it('shows manual-sa1 with SPI 2312 and counters that rise with pings; sh int te lists es-0/1/0', async () => {
    expect((await inNs(`${lab.name}-host-a`, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.2.2')).out).toMatch(/3 received/);
    const first = await command('show ipsec security-associations', /Direction: outbound/);
    expect(first).toContain('Security association: manual-sa1');
    expect(first).toMatch(/Direction: inbound, SPI: 2312/);
    const n1 = [...first.matchAll(/Packets: (\d+),/g)].map(m => Number(m[1]));
    expect(n1).toEqual([3, 3]);
    expect((await inNs(`${lab.name}-host-a`, 'ping', '-c', '4', '-i', '0.2', '-W', '2', '10.2.2.2')).out).toMatch(/4 received/);
    await keys('clear');   // a word typed and wiped with Ctrl-C must not disturb the next command
    await keys('C-c');
    const second = await command('show ipsec security-associations', /Direction: outbound/);
    const n2 = [...second.matchAll(/Packets: (\d+),/g)].map(m => Number(m[1]));
    expect(n2).toEqual([7, 7]);
    const te = await command('sh int te', /lo0\.0/);
    expect(te).toMatch(/es-0\/1\/0\.0\s+up\s+up\s+inet\s+10\.1\.1\.8\s+--> 10\.1\.1\.9/);
  });

  it('leaving asks whether to bring the lab down, and yes does', async () => {
    await keys('exit', 'Enter');
    await waitFor(/Bring lab \S+ down\? \[yes,no\] \(yes\)/);
    await keys('yes', 'Enter');
    await waitFor(/is down[\s\S]*CONSOLE-EXITED/, 30000);
    expect(await leftovers(lab.name)).toEqual([]);
  });
});
