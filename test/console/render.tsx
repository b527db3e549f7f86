/** The one helper every console test renders through: an in-memory Figure 11 lab behind LocalLinks. */
import React from 'react';
import { render } from 'ink-testing-library';
import { join } from 'node:path';
import { figure11 } from '../../src/lab/memlab.js';
import { Interpreter } from '../../src/cli/interp.js';
import { LocalLink, RouterLink } from '../../src/console/link.js';
import { ConsoleSession } from '../../src/console/session.js';
import { App } from '../../src/console/App.js';

export async function renderConsole(o: { rows?: number; foreground?: boolean } = {}) {
  const lab = await figure11(join(import.meta.dirname, '../../topologies'));
  const links = new Map<string, RouterLink>([
    ['gw-a', new LocalLink('gw-a', new Interpreter(lab.gwA))],
    ['gw-b', new LocalLink('gw-b', new Interpreter(lab.gwB))],
  ]);
  const session = new ConsoleSession(links, 'gw-a', { rows: () => o.rows ?? 24, foreground: o.foreground, lab: 'gw-a-b', statusMs: 100 });
  session.start();
  const r = render(<App session={session} />);
  const tick = (ms = 30) => new Promise(res => setTimeout(res, ms));
  const type = async (s: string) => { r.stdin.write(s); await tick(); };
  /** Wait until the screen shows `re` (bounded). */
  const waitFor = async (re: RegExp, ms = 5000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) { if (re.test(r.lastFrame() ?? '')) return true; await tick(20); }
    throw new Error(`screen never showed ${re}:\n${r.lastFrame()}`);
  };
  const idle = async () => { for (let i = 0; i < 200 && session.running; i++) await tick(20); };
  const close = async () => { r.unmount(); session.stop(); await lab.lab.close(); };
  return { ...r, session, lab, type, waitFor, idle, tick, close };
}
