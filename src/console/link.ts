/**
 * What the console needs of a router: run a command (streaming its output, cancellable), help,
 * completion and status. Real labs use the control socket; tests use an interpreter in-process.
 * The console never reaches past this into engine internals.
 */
import { ControlClient, RouterStatus, routerStatus } from '../daemon/control.js';
import { Interpreter, outputHasError } from '../cli/interp.js';

export interface CommandResult { error: boolean; exit: boolean; prompt: string; banner: string | null; collecting: boolean; closed?: boolean }
export interface RouterLink {
  readonly name: string;
  prompt: string;
  banner: string | null;
  exec(cmd: string, onOut: (s: string) => void, signal?: AbortSignal): Promise<CommandResult>;
  help(partial: string): Promise<string>;
  complete(partial: string): Promise<{ line: string; choices: string[] }>;
  status(): Promise<RouterStatus | undefined>;
  close(): void;
}

export class RemoteLink implements RouterLink {
  prompt = '';
  banner: string | null = null;
  constructor(readonly name: string, private c: ControlClient) {}
  static async open(name: string, socketPath: string): Promise<RemoteLink> {
    const c = new ControlClient(socketPath);
    await c.connect();
    const l = new RemoteLink(name, c);
    const h = await c.hello();
    l.prompt = String(h.prompt ?? `root@${name}> `);
    return l;
  }
  async exec(cmd: string, onOut: (s: string) => void, signal?: AbortSignal): Promise<CommandResult> {
    const r = await this.c.exec(cmd, onOut, signal);
    if (!r.closed) { this.prompt = r.prompt; this.banner = r.banner; }
    return r;
  }
  help(p: string) { return this.c.help(p); }
  complete(p: string) { return this.c.complete(p); }
  status() { return this.c.status(); }
  close() { this.c.close(); }
}

export class LocalLink implements RouterLink {
  constructor(readonly name: string, private it: Interpreter) {}
  get prompt() { return this.it.prompt; }
  get banner() { return this.it.banner ?? null; }
  async exec(cmd: string, onOut: (s: string) => void, signal?: AbortSignal): Promise<CommandResult> {
    let out = '';
    const r = await this.it.exec(cmd, { write: s => { out += s; onOut(s); }, signal });
    return { error: outputHasError(out), exit: !!r.exit, prompt: this.prompt, banner: this.banner, collecting: this.it.isCollecting };
  }
  async help(p: string) { return this.it.help(p); }
  async complete(p: string) { return this.it.complete(p); }
  status() { return routerStatus(this.it.router); }
  close() { /* nothing to close */ }
}
