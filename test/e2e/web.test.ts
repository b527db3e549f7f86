/**
 * `vrouter web` on a real lab (topologies/gw-a-b-ike.yaml) in a real browser (Debian's chromium
 * driven by playwright-core): the token is required; the page shows the nodes and the tunnel, whose
 * state follows the lab when its SAs are cleared and come back; a capture downloads a pcap that tcpdump
 * reads; a trace draws the path of a ping; a command typed in /cli/gw-a answers.
 * Screenshots of the page go into docs/ (docs/web.md).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, execFile, ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
  const exec = async (node: string, ...cmds: string[]) => await vrouter('exec', lab.file, node, ...cmds);
  const ping = async (n = 3) => (await inNs(`${lab.name}-host-a`, 'ping', '-c', String(n), '-i', '0.2', '-W', '2', '10.2.2.2')).out;
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
    if (lab) { await cleanup(lab); expect(await leftovers(lab.name)).toEqual([]); }
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
    // the diagnosis verdict of a tunnel that is down, from the snapshot's verdicts (show ipsec diagnosis's data)
    expect(await page.locator('#tunnels .tunnel[data-router="gw-a"] .verdict').textContent()).toMatch(/^diagnosis: /);
    expect(await page.locator('#tunnels .tunnel[data-router="gw-a"]').getAttribute('data-verdict')).toMatch(/\S/);
    expect(await ping(3)).toMatch(/[1-9] received/);
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
    expect((await exec('gw-a', 'clear ipsec security-associations')).code).toBe(0);
    await waitUntil(async () => (await tunnelState()) === 'down', 'the page to show the tunnel down after clear');
    await waitUntil(async () => /[1-9] received/.test(await ping(1)), 'the tunnel to come back', 30000);
    await waitUntil(async () => (await tunnelState()) === 'up', 'the page to show the tunnel up again');
  }, 120000);

  it('a capture from the page: live ESP lines with SPIs, a pcap download that tcpdump reads', async () => {
    await page.selectOption('#cap-port', 'gw-a:fe-0/0/0');
    await page.fill('#cap-count', '6');
    await page.click('#cap-start');
    await page.waitForSelector('#capture[data-state="running"]');
    await waitUntil(async () => { await ping(2); return (await page.getAttribute('#capture', 'data-state')) === 'done'; }, 'the capture of 6 packets to end', 60000);
    expect(await page.textContent('#cap-status')).toMatch(/^6 packets captured on gw-a fe-0\/0\/0 \(6 packets\)/);
    const esp = await page.locator('#cap-list li[data-proto="esp"]').allTextContents();
    expect(esp.length).toBeGreaterThan(0);
    for (const l of esp) expect(l).toMatch(/IP 10\.[56]\.[56]\.[56] > 10\.[56]\.[56]\.[56]: ESP SPI 0x[0-9a-f]{8} seq \d+/);
    const tmp = mkdtempSync(join(tmpdir(), 'vrouter-webcap-'));
    try {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#cap-download')]);
      const file = join(tmp, 'c.pcap');
      await dl.saveAs(file);
      const { stdout } = await promisify(execFile)('tcpdump', ['-n', '-r', file]);
      expect(stdout.trim().split('\n').length).toBe(6);
      const spis = new Set([...stdout.matchAll(/ESP\(spi=(0x[0-9a-f]{8})/g)].map(m => m[1]));
      expect(spis.size).toBeGreaterThan(0);
      for (const l of esp) expect(spis.has(/SPI (0x[0-9a-f]{8})/.exec(l)![1])).toBe(true);
    } finally { rmSync(tmp, { recursive: true, force: true }); }
  }, 120000);

  it('a packet trace draws a ping across both gateways, their PFE stages and ES PICs', async () => {
    await page.fill('#tr-src', '10.1.1.1');
    await page.fill('#tr-dst', '10.2.2.2');
    await page.fill('#tr-count', '2');
    await page.click('#tr-start');
    await waitUntil(async () => /on gw-a, gw-b|on gw-b, gw-a/.test(await page.textContent('#tr-status') ?? ''), 'both routers to trace');
    const walk = '#tr-list .tr-packet[data-path="host-a gw-a gw-b host-b"]';
    const errors: string[] = [];
    page.on('pageerror', e => errors.push(e.message));
    try {
      await waitUntil(async () => { await ping(1); return (await page.locator(walk).count()) > 0; }, 'the ping request to be traced from host-a to host-b', 60000);
    } catch (e) {
      const seen = await page.evaluate(() => JSON.stringify({ status: (globalThis as any).document.querySelector('#tr-status')?.textContent, paths: (globalThis as any).vrouterLab.trace.paths().map((p: any) => [p.key, p.steps.map((s: any) => s.stage ? `${s.at}:${s.stage}` : s.at)]), parts: (globalThis as any).vrouterLab.trace.parts.slice(0, 6) }));
      throw new Error(`${(e as Error).message}; page errors: ${errors.join('; ')}; the page has: ${seen}`);
    }
    await page.locator(walk).first().click();
    const drawn = await page.evaluate(() => { const cy = (globalThis as any).vrouterLab.cy; return { stages: cy.nodes('.stage').map((n: any) => `${n.data('router')}:${n.data('label')}`), edges: cy.edges('.trace').length, links: cy.edges('.link.traced').length }; });
    expect(drawn.stages).toEqual(expect.arrayContaining(['gw-a:ethernet-input', 'gw-a:ipsec-out', 'gw-a:ES PIC', 'gw-a:interface-output', 'gw-b:ES PIC', 'gw-b:interface-output']));
    expect(drawn.links).toBe(3);
    expect(drawn.edges).toBeGreaterThan(drawn.stages.length);
    expect(await page.locator(walk).first().textContent()).toMatch(/gw-a: ethernet-input → ip4-input → .*ipsec-out → ES PIC → .*interface-output/);
    await page.screenshot({ path: shot('web-trace.png') });
    if ((await page.getAttribute('#trace', 'data-state')) === 'running') await page.click('#tr-stop');
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
