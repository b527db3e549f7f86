/**
 * The CLI as mgd sees it: the XML API's `<command>` runs a command that has no RPC of its own (ping,
 * clear, request, ...) in a CLI session, as JUNOS's mgd does. mgd does not import the CLI: the CLI
 * (src/cli/interp.ts) provides its sessions here when it is loaded, and the router daemon loads both.
 */
import type { Router } from '../router/router.js';
import type { CommitDb } from './commitdb.js';
import type { OpRequest } from './op-xml.js';

export interface ShellIo { write(s: string): void; signal?: AbortSignal }
export interface Shell {
  exec(line: string, io: ShellIo): Promise<unknown>;
  /** the RPC of an operational command, by the CLI's own grammar (undefined: none, or no parse) */
  rpcFor(line: string): OpRequest | undefined;
}
/** the session's user and login class (without `secret`, configurations show /* SECRET-DATA *\/) */
export interface ShellUser { name: string; cls: string }
export type ShellFactory = (r: Router, db: CommitDb, user?: ShellUser) => Shell;

let factory: ShellFactory | undefined;

/** The CLI gives mgd its sessions. */
export function provideShell(f: ShellFactory): void { factory = f; }

/** A CLI session on this router and database, or undefined when no CLI is loaded in this process. */
export function openShell(r: Router, db: CommitDb, user?: ShellUser): Shell | undefined { return factory?.(r, db, user); }
