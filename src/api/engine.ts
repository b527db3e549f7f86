/**
 * The XML API, one engine for both transports (JUNOScript over TLS, NETCONF over SSH): a session of
 * one logged-in user runs RPCs against the router's shared commit database. Configuration RPCs are
 * mgd's (src/mgd/config-rpc.ts: the CLI's loader, commit checks and messages); operational RPCs
 * answer with mgd's read models in JUNOS's XML (src/mgd/op-xml.ts), and `<command>` parses a CLI
 * command with the CLI's own grammar (the CLI's session, src/mgd/shell.ts). A lock is the session's until it
 * unlocks or ends. This module does not import the CLI (nor the CLI this one).
 */
import type { Router } from '../router/router.js';
import type { CommitDb } from '../mgd/commitdb.js';
import type { PicSnapshot } from '../../pics/es/core.js';
import { El, el, tx, esc, children, local, textOf, XNM_NS } from '../mgd/xml.js';
import { opXml, OP_RPCS } from '../mgd/op-xml.js';
import { ConfigRpcs, RpcError } from '../mgd/config-rpc.js';
import { openShell, Shell } from '../mgd/shell.js';
import { API_PING_COUNT } from './pump.js';

export { RpcError };
export type Proto = 'junoscript' | 'netconf';

let nextSession = 1;

export interface ApiUser { name: string; cls: string }

export class ApiSession {
  readonly id = nextSession++;
  private shell?: Shell;
  private cfg: ConfigRpcs;
  constructor(readonly router: Router, readonly db: CommitDb, readonly user: ApiUser, readonly proto: Proto, readonly from: string) {
    this.cfg = new ConfigRpcs(router, db, this);
  }
  get owner(): string { return `api-${this.id}`; }
  get who(): string { return `${this.user.name} (${this.proto === 'netconf' ? 'NETCONF' : 'JUNOScript'} session ${this.id} from ${this.from})`; }
  /** The session ends: its lock goes. */
  /** The session ends: its lock goes, its commands (ping, traceroute, monitor) stop. */
  close(): void { this.aborts.abort(); if (this.db.lock?.owner === this.owner) this.db.lock = undefined; }
  private readonly aborts = new AbortController();

  private mayConfigure(): void {
    if (this.user.cls !== 'super-user') throw new RpcError(`permission denied: user ${this.user.name} (class ${this.user.cls}) may not change the configuration`, 'access-denied', 'protocol');
  }
  private pic(): Promise<PicSnapshot> { return this.router.picSnapshot(); }

  /** One RPC (the element inside `<rpc>`): the reply's body, or an RpcError. */
  async run(op: El): Promise<string> {
    const name = local(op.name);
    const c = await this.cfg.run(op);
    if (c !== undefined) return c;
    if (name === 'command') return this.command(op);
    if (OP_RPCS.includes(name)) {
      const args: Record<string, string | true> = {};
      for (const c of op.children) args[local(c.name)] = c.children.length || c.text.trim() ? c.text.trim() : true;
      return opXml(this.router, await this.pic(), { rpc: name, args }, this.db)!;
    }
    throw new RpcError(`syntax error: <${name}> is not an RPC of this router`, 'operation-not-supported', 'protocol');
  }

  /** `<command>`: an operational command's RPC reply, or (no RPC, or format="text") the CLI's text. */
  private async command(op: El): Promise<string> {
    const line = textOf(op);
    if (!line) throw new RpcError('command: the command is missing', 'missing-element', 'protocol');
    if (!/^(show|ping|traceroute|clear|request|file)\b/.test(line)) throw new RpcError(`command: '${line}' is not an operational command`);
    if (/^(clear|request)\b/.test(line)) this.mayConfigure();
    // the CLI's own parse of the command gives its RPC (src/cli/op-commands.ts: each command's rpc)
    this.shell ??= openShell(this.router, this.db, this.user);
    if (!this.shell) throw new RpcError(`command: '${line}': no CLI in this process to run it`);
    const req = op.attrs.format === 'text' ? undefined : this.shell.rpcFor(line.replace(/\s*\|.*$/, ''));
    if (req) { const x = opXml(this.router, await this.pic(), req, this.db); if (x) return x; }
    let out = '';
    // JUNOS's API: a ping without a count sends API_PING_COUNT requests (services.ts)
    await this.shell.exec(/^ping\b/.test(line) && !/\bcount\b/.test(line) ? line.replace(/^(ping\s+\S+)/, `$1 count ${API_PING_COUNT}`) : line, { write: s => { out += s; }, signal: this.aborts.signal });
    if (/^\s*\^$|^syntax error/m.test(out)) throw new RpcError(out.trim(), 'invalid-value');
    return tx('output', out);
  }
}

/** An error as the protocol says it. */
export function errorXml(proto: Proto, e: unknown): string {
  const msg = e instanceof RpcError ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}`;
  if (proto === 'junoscript') return el('xnm:error', tx('message', msg), { 'xmlns:xnm': XNM_NS });
  const tag = e instanceof RpcError ? e.tag : 'operation-failed', type = e instanceof RpcError ? e.type : 'application';
  return el('rpc-error', [tx('error-type', type), tx('error-tag', tag), tx('error-severity', 'error'), tx('error-message', msg)]);
}

export { esc, children };
