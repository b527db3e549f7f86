/** A CLI line's output and an RPC's reply, as the mgd tests read them from a session. */
import type { Interpreter } from '../../src/cli/interp.js';
import type { ApiSession } from '../../src/api/engine.js';
import { parseDocument } from '../../src/api/xml.js';

export async function cliOutput(cli: Interpreter, line: string): Promise<string> {
  let out = '';
  await cli.exec(line, { write: s => { out += s; } });
  return out;
}
export function rpcReply(api: ApiSession, xml: string): Promise<string> {
  const d = parseDocument(xml);
  if (!d.ok) throw new Error(d.why);
  return api.run(d.root);
}
