/**
 * `vrouter web` on a real lab (topologies/gw-a-b-ike.yaml) in a real browser (Debian's chromium
 * driven by playwright-core): the token is required; the page shows the nodes and the tunnel, whose
 * state follows the lab when its SAs are cleared and come back; a command typed in /cli/gw-a answers.
 * Screenshots of the page go into docs/ (docs/web.md).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, execFile, ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { canRun, skipReason, labCopy, vrouter, inNs, leftovers, cleanup, waitUntil, Lab, ROOT } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
// VROUTER_SCREENSHOTS=1 renews docs/web-*.png; otherwise the screenshots go to the lab's temp dir
const shot = (f: string) => process.env.VROUTER_SCREENSHOTS ? join(ROOT, 'docs', f) : join(tmpdir(), `vrouter-${f}`);
const run = canRun && existsSync(CHROMIUM);
// the build and `up` run asynchronously: a minute of a synchronous child would stall vitest's worker RPC
const node = (...args: string[]) => promisify(execFile)(process.execPath, args, { timeout: 300000, maxBuffer: 16 << 20 });

describe.skipIf(!run)(`vrouter web in a browser ${canRun ? (run ? '' : '(needs /usr/bin/chromium)') : skipReason}`, () => {
  let lab: Lab, web: ChildProcess | undefined, url = '', browser: Browser | undefined, page: Page;
  const exec = (node: string, ...cmds: string[]) => vrouter('exec', lab.file, node, ...cmds);
  const ping = (n = 3) => inNs(`${lab.name}-host-a`, 'ping', '-c', String(n), '-i', '0.2', '-W', '2', '10.2.2.2').out;
  const tunnelState = () => page.locator('#tunnels .tunnel[data-router="gw-a"][data-ifl="es-0/1/0.0"]').getAttribute('data-state', { timeout: 2000 }).catch(() => null);

  beforeAll(async () => {
    await node(join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT);
    await node(join(ROOT, 'scripts/bundle.mjs'));
    lab = labCopy('gw-a-b-ike', 'w');
    await node(join(ROOT, 'bin/vrouter.js'), 'up', lab.file, '--detach');
    web = spawn(process.execPath, [join(ROOT, 'bin/vrouter.js'), 'web', lab.file, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    web.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    url = await waitUntil(() => /^(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)\n/.exec(out)?.[1], 'vrouter web to print its URL');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  }, 300000);
  afterAll(async () => {
    await browser?.close();
    if (web?.pid && web.exitCode === null) { web.kill('SIGTERM'); await new Promise(r => web!.once('exit', r)); }
    if (lab) { cleanup(lab); expect(leftovers(lab.name)).toEqual([]); }
  }, 60000);

  it('prints its URL first, on 127.0.0.1, and refuses every request without the token', async () => {
    const u = new URL(url);
    expect(u.hostname).toBe('127.0.0.1');
    const bare = `${u.protocol}//${u.host}`;
    for (const p of ['/', '/api/lab', '/cli/gw-a', '/assets/lab.js']) {
      expect((await fetch(bare + p)).status).toBe(401);
      expect((await fetch(`${bare}${p}?token=x${u.searchParams.get('token')}`)).status).toBe(403);
    }
    const { default: WebSocket } = await import('ws');
    const upgrade = (path: string) => new Promise<number>((res, rej) => {
      const ws = new WebSocket(`ws://${u.host}${path}`);
      ws.once('unexpected-response', (_q, r) => { res(r.statusCode ?? 0); ws.terminate(); });
      ws.once('open', () => { ws.close(); rej(new Error(`${path} opened without the token`)); });
      ws.once('error', () => { /* after unexpected-response */ });
    });
    expect(await upgrade('/ws/lab')).toBe(401);
    expect(await upgrade('/ws/cli/gw-a')).toBe(401);
    expect(await upgrade('/ws/cli/gw-a?token=wrong')).toBe(403);
  });

  it('shows the nodes and the tunnel; the tunnel goes down when the SAs are cleared and comes back', async () => {
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as any).vrouterLab?.cy?.nodes().length === 4);
    expect(await page.evaluate(() => (globalThis as any).vrouterLab.cy.nodes().map((n: any) => n.id()).sort())).toEqual(['gw-a', 'gw-b', 'host-a', 'host-b']);
    await page.waitForFunction(() => ['gw-a', 'gw-b'].every(r => (globalThis as any).vrouterLab?.state?.routers?.[r]?.up));
    expect(await tunnelState()).toBe('down');   // no traffic yet: no SA
    expect(ping(3)).toMatch(/[1-9] received/);
    await waitUntil(async () => (await tunnelState()) === 'up', 'the page to show the tunnel up');
    const line = await page.locator('#tunnels .tunnel[data-router="gw-a"]').textContent();
    expect(line).toMatch(/es-0\/1\/0\.0 \(dynamic-sa1\) 10\.5\.5\.5 -> 10\.6\.6\.6: up; IKE MATURED; .*ESP 0x[0-9a-f]{8}/);
    await page.waitForFunction(() => (globalThis as any).vrouterLab.cy.edges('.tunnel.up').length === 1);
    await page.click('#graph', { position: { x: 5, y: 5 } });
    const pos = await page.evaluate(() => (globalThis as any).vrouterLab.cy.getElementById('gw-a').renderedPosition());
    await page.mouse.click(pos.x, pos.y);
    await page.waitForSelector('#panel-kmd');
    await waitUntil(async () => /KMD_/.test(await page.locator('#panel-kmd').textContent() ?? ''), 'the panel to show kmd log lines');
    expect(await page.locator('#panel-state').textContent()).toMatch(/fe-0\/0\/0\s+up/);
    await page.screenshot({ path: shot('web-lab.png') });
    expect(exec('gw-a', 'clear ipsec security-associations').code).toBe(0);
    await waitUntil(async () => (await tunnelState()) === 'down', 'the page to show the tunnel down after clear');
    await waitUntil(() => /[1-9] received/.test(ping(1)), 'the tunnel to come back', 30000);
    await waitUntil(async () => (await tunnelState()) === 'up', 'the page to show the tunnel up again');
  }, 120000);

  it('/cli/gw-a: a typed command answers, Tab completes, configuration mode commits', async () => {
    const cli = await browser!.newPage({ viewport: { width: 1100, height: 700 } });
    await cli.goto(url);   // sets the token cookie for this page's context
    await cli.goto(new URL('/cli/gw-a', url).toString());
    await cli.waitForSelector('body[data-ready="1"]');
    const screen = () => cli.evaluate(() => { const b = (globalThis as any).vrouterTerm.buffer.active; const out: string[] = []; for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true)); return out.join('\n'); });
    // a wait that, when it times out, says what the terminal showed
    const see = async (re: RegExp, what: string) => { try { await waitUntil(async () => re.test(await screen()), what); } catch (e) { throw new Error(`${(e as Error).message}; the terminal shows:\n${await screen()}`); } };
    await see(/root@gw-a> /, 'the prompt');
    await cli.keyboard.type('show ike security-associations');
    await cli.keyboard.press('Enter');
    await see(/10\.6\.6\.6\s+Matured/, 'the command to answer in the terminal');
    await cli.keyboard.type('show ');
    await cli.keyboard.type('?');
    await see(/Possible completions:[\s\S]*ike\s+Show[\s\S]*root@gw-a> show *$/m, '? help, then the line again');
    await cli.keyboard.press('Control+U');
    await cli.keyboard.type('show interfaces te');
    await cli.keyboard.press('Tab');
    await see(/root@gw-a> show interfaces terse *$/m, 'Tab completion');
    await cli.keyboard.press('Control+U');
    await cli.keyboard.type('configure');
    await cli.keyboard.press('Enter');
    await see(/root@gw-a# /, 'configuration mode');
    await cli.keyboard.type('set system host-name gw-a');
    await cli.keyboard.press('Enter');
    await cli.keyboard.type('commit and-quit');
    await cli.keyboard.press('Enter');
    await see(/commit complete/, 'the commit');
    await cli.screenshot({ path: shot('web-cli.png') });
    await cli.close();
  }, 120000);
});
