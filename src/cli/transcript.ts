/** Run commands through an interpreter and render what a terminal shows (prompts, banners, output). */
import type { Interpreter } from './interp.js';

export async function transcript(it: Interpreter, commands: string[], o: { signal?: AbortSignal } = {}): Promise<string> {
  let out = '';
  for (const c of commands) {
    if (it.banner) out += `\n${it.banner}\n`;
    out += it.prompt + c.replace(/\x04/g, '^D') + '\n';
    const r = await it.exec(c, { write: s => { out += s; }, signal: o.signal });
    if (r.exit) break;
  }
  return out;
}
