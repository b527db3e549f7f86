/** The Ink console, rendered through one helper (render.tsx) on an in-memory Figure 11 lab. */
import { describe, it, expect, afterEach } from 'vitest';
import { renderConsole } from './render.js';

let c: Awaited<ReturnType<typeof renderConsole>> | undefined;
afterEach(async () => { await c?.close(); c = undefined; });
const UP = '\x1b[A', DOWN = '\x1b[B', TAB = '\t', CTRL_C = '\x03', CTRL_D = '\x04';

describe('console', () => {
  it('runs a command, shows its output, and the prompt comes back', async () => {
    c = await renderConsole();
    await c.type('show chassis hardware');
    await c.type('\r');
    await c.waitFor(/root@gw-a> show chassis hardware[\s\S]*ENCRYPTION SERVICES[\s\S]*root@gw-a>/);
  });

  it('keys that arrive in one chunk (a paste, tmux send-keys) act as keys, and typeahead waits for the prompt', async () => {
    c = await renderConsole();
    await c.type('show system uptime\rshow chassis hardware\r');
    await c.waitFor(/Current time:[\s\S]*root@gw-a> show chassis hardware[\s\S]*ENCRYPTION SERVICES/);
  });

  it('? shows help as you type it and keeps the line', async () => {
    c = await renderConsole();
    await c.type('show i?');
    await c.waitFor(/root@gw-a> show i\?\nPossible completions:\n {2}ike[\s\S]*interfaces[\s\S]*ipsec/);
    expect(c.session.input).toBe('show i');
  });

  it('Tab completes from the command tree and the configuration', async () => {
    c = await renderConsole();
    await c.type('sh int te');
    await c.type(TAB);
    await c.until(() => c!.session.input !== 'sh int te', 'Tab to complete').catch(() => undefined);
    expect(c.session.input).toBe('sh int terse ');
    await c.type(CTRL_C);
    await c.type('show ipsec security-associations m');
    await c.type(TAB);
    await c.until(() => c!.session.input !== 'show ipsec security-associations m', 'Tab to complete').catch(() => undefined);
    expect(c.session.input).toBe('show ipsec security-associations manual-sa1 ');
  });

  it('pages long output: space for a page, enter for a line, q to stop; | no-more does not page', async () => {
    c = await renderConsole({ rows: 12 });
    await c.type('show interfaces extensive\r');
    await c.waitFor(/---\(more\)---/);
    const before = c.session.lines.length;
    await c.type(' ');
    expect(c.session.lines.length).toBe(before + 9);
    await c.type('\r');
    expect(c.session.lines.length).toBe(before + 10);
    await c.type('q');
    await c.waitFor(/root@gw-a>/);
    expect(c.lastFrame()).not.toContain('---(more)---');
    await c.type('show interfaces extensive | no-more\r');
    await c.idle();
    expect(c.lastFrame()).not.toContain('---(more)---');
  });

  it('history: up and down recall earlier commands', async () => {
    c = await renderConsole();
    await c.type('show system uptime\r'); await c.idle();
    await c.type('show route\r'); await c.idle();
    await c.type(UP); expect(c.session.input).toBe('show route');
    await c.type(UP); expect(c.session.input).toBe('show system uptime');
    await c.type(DOWN); expect(c.session.input).toBe('show route');
    await c.type(DOWN); expect(c.session.input).toBe('');
  });

  it('line editing: Left/Right insert in the middle, and the Emacs keys of the JUNOS CLI', async () => {
    c = await renderConsole();
    const LEFT = '\x1b[D', RIGHT = '\x1b[C';
    await c.type('show hardware');
    for (let i = 0; i < 'hardware'.length; i++) await c.type(LEFT);
    await c.type('chassis ');
    expect(c.session.input).toBe('show chassis hardware');
    expect(c.session.cursor).toBe('show chassis '.length);
    await c.type(RIGHT);
    expect(c.session.cursor).toBe('show chassis h'.length);
    await c.type('\x01');                     // Ctrl-A: home
    expect(c.session.cursor).toBe(0);
    await c.type('\x05');                     // Ctrl-E: end
    expect(c.session.cursor).toBe(c.session.input.length);
    await c.type('\x17');                     // Ctrl-W: the word before the cursor
    expect(c.session.input).toBe('show chassis ');
    await c.type('\x01'); await c.type('\x0b');  // Ctrl-A, Ctrl-K: everything after the cursor
    expect(c.session.input).toBe('');
    await c.type('show chassis hardware');
    await c.type(LEFT); await c.type('\x7f');      // backspace before the cursor
    expect(c.session.input).toBe('show chassis hardwae');
    await c.type('\x15');                     // Ctrl-U: the whole line before the cursor
    expect(c.session.input).toBe('e');
    await c.type('\x05\x7f');
    await c.type('show chassis hardware\r');
    await c.waitFor(/ENCRYPTION SERVICES/);
  });

  it('switch NODE changes router, and the prompt and status line show which', async () => {
    c = await renderConsole();
    await c.waitFor(/\*gw-a: tunnels 1\/1 up/);
    await c.type('switch gw-b\r');
    await c.waitFor(/root@gw-b>/);
    await c.waitFor(/ gw-a: tunnels 1\/1 up[^|]*\|\*gw-b: tunnels 1\/1 up/);
    await c.type('show configuration system\r');
    await c.waitFor(/host-name gw-b;/);
    await c.type('switch nosuch\r');
    await c.waitFor(/error: no router nosuch in this lab/);
  });

  it('Ctrl-C cancels a running ping; the status line shows packet rates meanwhile', async () => {
    c = await renderConsole();
    await c.type('ping 10.2.2.2 interval 0.1\r');
    await c.waitFor(/icmp_seq=3/);
    await c.waitFor(/\*gw-a: tunnels 1\/1 up, in [1-9]\d* pps/);
    await c.type(CTRL_C);
    await c.waitFor(/packets transmitted[\s\S]*root@gw-a>/);
    expect(c.session.running).toBe(false);
  });

  it('monitor traffic streams decoded packets live', async () => {
    c = await renderConsole();
    await c.type('monitor traffic interface fe-0/0/0\r');
    await c.waitFor(/Listening on fe-0\/0\/0/);   // written as the monitor's tap goes in
    await c.lab.hostA.ping('10.2.2.2');
    await c.waitFor(/Out IP 10\.5\.5\.5 > 10\.6\.6\.6: ESP\(spi=0x00000908/);
    await c.type(CTRL_C);
    await c.waitFor(/packets received by filter[\s\S]*root@gw-a>/);
  });

  it('configuration mode shows the [edit] banner above the # prompt', async () => {
    c = await renderConsole();
    await c.type('configure\r');
    await c.waitFor(/\[edit\]\nroot@gw-a#/);
    await c.type('edit security ipsec\r');
    await c.waitFor(/\[edit security ipsec\]\nroot@gw-a#/);
  });

  it('Ctrl-D leaves; a lab started in the foreground asks whether to bring it down first', async () => {
    c = await renderConsole({ foreground: true });
    let outcome: string | undefined;
    c.session.once('done', o => { outcome = o; });
    await c.type(CTRL_D);
    await c.waitFor(/Bring lab gw-a-b down\? \[yes,no\] \(yes\)/);
    await c.type('no\r');
    expect(outcome).toBe('leave');
    await c.close();
    c = await renderConsole({ foreground: true });
    c.session.once('done', o => { outcome = o; });
    await c.type('exit\r');
    await c.waitFor(/Bring lab gw-a-b down\?/);
    await c.type('\r');
    expect(outcome).toBe('down');
  });

  it('a narrow terminal cuts the status line instead of wrapping it', async () => {
    c = await renderConsole();
    // both ES PICs come online after the lab is up (their workers start): wait for that, not for the line
    const { statusText } = await import('../../src/console/App.js');
    await c.until(() => /gw-a: tunnels 1\/1 up.*gw-b: tunnels 1\/1 up/.test(statusText(c!.session, 200)), 'both tunnels up', 10_000, 5);
    const narrow = statusText(c.session, 40);
    expect(narrow.length).toBe(40);
    expect(narrow.endsWith('>')).toBe(true);
    expect(statusText(c.session, 200)).toMatch(/^\*gw-a: tunnels 1\/1 up, in \d+ pps, out \d+ pps \| gw-b: tunnels 1\/1 up/);
  });
});
