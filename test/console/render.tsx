/** The one helper every console test renders through: an in-memory Figure 11 lab behind LocalLinks. */
import React from 'react';
import { render } from 'ink-testing-library';
import { join } from 'node:path';
import { figure11 } from '../../src/lab/memlab.js';
import { Interpreter } from '../../src/cli/interp.js';
import { LocalLink, RouterLink } from '../../src/console/link.js';
import { ConsoleSession } from '../../src/console/session.js';
import { App } from '../../src/console/App.js';
import { until } from '../helpers/settle.js';

export async function renderConsole(o: { rows?: number; foreground?: boolean } = {}) {
  const lab = await figure11(join(import.meta.dirname, '../../topologies'));
  const links = new Map<string, RouterLink>([
    ['gw-a', new LocalLink('gw-a', new Interpreter(lab.gwA))],
    ['gw-b', new LocalLink('gw-b', new Interpreter(lab.gwB))],
  ]);
  const session = new ConsoleSession(links, 'gw-a', { rows: () => o.rows ?? 24, foreground: o.foreground, lab: 'gw-a-b', statusMs: 100 });
  session.start();
  const r = render(<App session={session} />);
  const turn = () => new Promise<void>(res => setImmediate(res));
  /** Wait until the screen shows `re` (bounded). */
  const waitFor = async (re: RegExp, ms = 5000) => {
    await until(() => re.test(r.lastFrame() ?? ''), `the screen to show ${re}`, ms, 5).catch(() => { throw new Error(`screen never showed ${re}:\n${r.lastFrame()}`); });
    return true;
  };
  /** Keys reach the session as the terminal's stdin delivers them (at once: Ink reads on 'readable'); what they start runs on in later turns. */
  const type = async (s: string) => { r.stdin.write(s); await turn(); };
  /** Until the session has run what was typed (the command, its output). */
  const idle = () => until(() => !session.running, 'the command to end', 5000, 5);
  // Ink listens to the keyboard once the App is mounted: its first frame (the prompt) says it is
  await waitFor(/root@gw-a>/);
  const close = async () => { r.unmount(); session.stop(); await lab.lab.close(); };
  return { ...r, session, lab, type, waitFor, idle, until, close };
}
