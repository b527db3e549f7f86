/** Start the console on a terminal: render the App and resolve with what the user chose on leaving. */
import React from 'react';
import { render } from 'ink';
import { App } from './App.js';
import { ConsoleSession, Outcome } from './session.js';
import type { RouterLink } from './link.js';

export async function runConsole(links: Map<string, RouterLink>, first: string, o: { lab: string; foreground: boolean }): Promise<Outcome> {
  const session = new ConsoleSession(links, first, { rows: () => process.stdout.rows ?? 24, foreground: o.foreground, lab: o.lab });
  session.start();
  const app = render(<App session={session} />, { exitOnCtrlC: false });
  const outcome = await new Promise<Outcome>(res => session.once('done', res));
  await new Promise(r => setTimeout(r, 50));
  app.unmount();
  session.stop();
  return outcome;
}
