/**
 * The XML API, one engine for both transports (JUNOScript over TLS, NETCONF over SSH): a session of
 * one logged-in user runs RPCs against the router's shared commit database. Configuration RPCs
 * (get-configuration, load-configuration, commit-configuration, lock/unlock, and NETCONF's get-config,
 * edit-config, commit, discard-changes, validate, lock, unlock) use the CLI's loader and commit checks,
 * so their errors are the CLI's messages; operational RPCs answer with JUNOS's XML (op-xml.ts), and
 * `<command>` runs any CLI command. A lock is the session's until it unlocks or ends.
 */
import type { Router } from '../router/router.js';
import type { CommitDb } from '../cli/commitdb.js';
import { Interpreter } from '../cli/interp.js';
import { showConfig, showSet } from '../config/display.js';
import { CNode } from '../config/tree.js';
import type { PicSnapshot } from '../../pics/es/core.js';
import { El, el, tx, esc, child, children, local, textOf } from './xml.js';
import { treeToXml, xmlToLines, XmlConfigError } from './config-xml.js';
import { opXml, rpcForCommand, OP_RPCS } from './op-xml.js';
import { resolveLoadKeyFilesNoPrompt } from './keyfile.js';
import { API_PING_COUNT } from './pump.js';

export type Proto = 'junoscript' | 'netconf';
export class RpcError extends Error {
  constructor(message: string, readonly tag = 'operation-failed', readonly type = 'application') { super(message); }
}

let nextSession = 1;

export interface ApiUser { name: string; cls: string }

export class ApiSession {
  readonly id = nextSession++;
  private interp: Interpreter;
  constructor(readonly router: Router, readonly db: CommitDb, readonly user: ApiUser, readonly proto: Proto, readonly from: string) {
    this.interp = new Interpreter(router, db);
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
    switch (name) {
      // ---------------------------------------------------------------- configuration, JUNOScript names
      case 'get-configuration': {
        const db = op.attrs.database === 'candidate' || this.proto === 'netconf' && op.attrs.database !== 'committed' ? 'candidate' : 'committed';
        if (op.attrs.compare === 'rollback') return tx('configuration-output', this.db.compare(Number(op.attrs.rollback ?? 0)));
        return this.config(db === 'candidate' ? this.db.candidate : this.db.active, op.attrs.format, child(op, 'configuration'));
      }
      case 'lock-configuration': case 'open-configuration': {
        this.mayConfigure();
        const e = this.db.takeLock(this.owner, this.who);
        if (e) throw new RpcError(e.replace(/^error: /, ''), 'lock-denied');
        return '';
      }
      case 'unlock-configuration': case 'close-configuration': {
        const e = this.db.releaseLock(this.owner);
        if (e) throw new RpcError(e.replace(/^error: /, ''));
        return '';
      }
      case 'load-configuration': {
        this.mayConfigure();
        const action = op.attrs.action ?? 'merge';
        if (!['merge', 'replace', 'override', 'set', 'update'].includes(action)) throw new RpcError(`load-configuration: action ${action}: merge, replace, override or set`, 'bad-attribute', 'protocol');
        const text = child(op, 'configuration-text'), set = child(op, 'configuration-set'), xml = child(op, 'configuration');
        if (op.attrs.rollback !== undefined) return this.loaded(this.db.rollback(Number(op.attrs.rollback), this.owner));
        if (set || action === 'set') return this.load('set', textOf(set ?? text));
        if (text) return this.load(action === 'override' ? 'override' : action === 'replace' ? 'replace' : 'merge', text.text);
        if (xml) return this.loadXml(xml, action === 'override');
        throw new RpcError('load-configuration: <configuration>, <configuration-text> or <configuration-set> is missing', 'missing-element', 'protocol');
      }
      case 'commit-configuration': {
        this.mayConfigure();
        if (child(op, 'check')) {
          const r = this.db.check();
          if (!r.ok) throw new RpcError(r.output.trim());
          return el('commit-results', el('routing-engine', [tx('name', 're0'), el('commit-check-success')]));
        }
        return this.commit();
      }
      // ---------------------------------------------------------------- NETCONF base (RFC 6241)
      case 'get-config': {
        const src = child(op, 'source')?.children[0];
        if (!src || !['running', 'candidate'].includes(local(src.name))) throw new RpcError('get-config: <source> must be <running/> or <candidate/>', 'missing-element', 'protocol');
        const filter = child(op, 'filter');
        return el('data', this.config(local(src.name) === 'candidate' ? this.db.candidate : this.db.active, 'xml', filter ? child(filter, 'configuration') : undefined));
      }
      case 'get': return el('data', this.config(this.db.active, 'xml'));
      case 'edit-config': {
        this.mayConfigure();
        const target = child(op, 'target')?.children[0];
        if (!target || local(target.name) !== 'candidate') throw new RpcError('edit-config: the target must be <candidate/> (this router has no writable running datastore)', 'operation-not-supported', 'protocol');
        const cfg = child(child(op, 'config'), 'configuration');
        const text = child(op, 'config-text');
        const dflt = textOf(child(op, 'default-operation')) || 'merge';
        if (text) { const ct = child(text, 'configuration-text'); return this.load(dflt === 'replace' ? 'override' : 'merge', ct ? ct.text : textOf(text)); }
        if (!cfg) throw new RpcError('edit-config: <config> with a <configuration> is missing', 'missing-element', 'protocol');
        await this.loadXml(cfg, dflt === 'replace');
        return el('ok');
      }
      case 'lock': case 'unlock': {
        const target = child(op, 'target')?.children[0];
        if (!target || !['candidate', 'running'].includes(local(target.name))) throw new RpcError(`${name}: the target must be <candidate/> or <running/>`, 'missing-element', 'protocol');
        if (name === 'lock') this.mayConfigure();
        const e = name === 'lock' ? this.db.takeLock(this.owner, this.who) : this.db.releaseLock(this.owner);
        if (e) throw new RpcError(e.replace(/^error: /, ''), name === 'lock' ? 'lock-denied' : 'operation-failed');
        return el('ok');
      }
      case 'commit': { this.mayConfigure(); await this.commit(); return el('ok'); }
      case 'discard-changes': {
        this.mayConfigure();
        const r = this.db.rollback(0, this.owner);
        if (!r.ok) throw new RpcError(r.output.replace(/^error: /, ''));
        return el('ok');
      }
      case 'validate': {
        const r = this.db.check();
        if (!r.ok) throw new RpcError(r.output.trim());
        return el('ok');
      }
      // ---------------------------------------------------------------- operational
      case 'command': {
        const line = textOf(op);
        if (!line) throw new RpcError('command: the command is missing', 'missing-element', 'protocol');
        if (!/^(show|ping|traceroute|clear|request|file)\b/.test(line)) throw new RpcError(`command: '${line}' is not an operational command`);
        if (/^(clear|request)\b/.test(line)) this.mayConfigure();
        const req = op.attrs.format === 'text' ? undefined : rpcForCommand(line.replace(/\s*\|.*$/, ''));
        if (req) { const x = opXml(this.router, await this.pic(), req); if (x) return x; }
        let out = '';
        // JUNOS's API: a ping without a count sends API_PING_COUNT requests (services.ts)
        await this.interp.exec(/^ping\b/.test(line) && !/\bcount\b/.test(line) ? line.replace(/^(ping\s+\S+)/, `$1 count ${API_PING_COUNT}`) : line, { write: s => { out += s; }, signal: this.aborts.signal });
        if (/^\s*\^$|^syntax error/m.test(out)) throw new RpcError(out.trim(), 'invalid-value');
        return tx('output', out);
      }
      default:
        if (OP_RPCS.includes(name)) {
          const args: Record<string, string | true> = {};
          for (const c of op.children) args[local(c.name)] = c.children.length || c.text.trim() ? c.text.trim() : true;
          return opXml(this.router, await this.pic(), { rpc: name, args })!;
        }
        throw new RpcError(`syntax error: <${name}> is not an RPC of this router`, 'operation-not-supported', 'protocol');
    }
  }

  private config(tree: CNode, format: string | undefined, filter?: El): string {
    // a subtree filter: only the statements the filter's elements name (a list entry by its <name>)
    const node = filter && filter.children.length ? prune(tree, filter, '') : tree;
    if (format === 'text') return tx('configuration-text', showConfig(node));
    if (format === 'set') return tx('configuration-set', showSet(node));
    return treeToXml(node, this.router.lastCommit ? { 'junos:changed-seconds': String(Math.floor(this.router.lastCommit.getTime() / 1000)) } : {});
  }

  private loaded(r: { ok: boolean; output: string }): string {
    if (!r.ok) throw new RpcError(r.output.replace(/^error: /, '').trim());
    return el('load-configuration-results', [el('load-success')]);
  }
  private async load(mode: 'merge' | 'override' | 'set' | 'replace', text: string): Promise<string> {
    const before = this.db.candidate.clone();
    const r = this.db.load(mode, text, 'api', undefined, this.owner);
    if (!r.ok) throw new RpcError(r.output.replace(/^error: /, '').trim());
    const k = await resolveLoadKeyFilesNoPrompt(this.router, this.db);
    if (k) { this.db.candidate = before; throw new RpcError(k.replace(/^error: /, '')); }
    return this.proto === 'netconf' ? el('ok') : el('load-configuration-results', [el('load-success')]);
  }
  private async loadXml(cfg: El, override: boolean): Promise<string> {
    let lines: string[];
    try { lines = xmlToLines(cfg); } catch (e) { if (e instanceof XmlConfigError) throw new RpcError(e.message, 'invalid-value'); throw e; }
    if (override) {
      const before = this.db.candidate.clone();
      const r1 = this.db.load('override', '', 'api', undefined, this.owner);
      if (!r1.ok) throw new RpcError(r1.output);
      try { return await this.load('set', lines.join('\n')); } catch (e) { this.db.candidate = before; throw e; }
    }
    return this.load('set', lines.join('\n'));
  }
  private async commit(): Promise<string> {
    const r = this.db.commit(`${this.proto} (${this.user.name})`, this.owner);
    if (!r.ok) throw new RpcError(r.output.replace(/^error: /, '').trim());
    this.router.log.write('messages', 'mgd', `UI_COMMIT: User '${this.user.name}' requested 'commit' operation (${this.proto === 'netconf' ? 'NETCONF' : 'JUNOScript'} session ${this.id})`);
    return el('commit-results', el('routing-engine', [tx('name', 're0'), el('commit-success')]));
  }
}

/** A copy of `n` with only what the filter element names (`<interfaces><interface><name>fe-0/0/0</name></interface></interfaces>`). */
function prune(n: CNode, f: El, parentKw: string): CNode {
  const out = new CNode(n.def, n.keyword, n.key, n.keyless);
  out.values = n.values.slice(); out.inactive = n.inactive;
  for (const fc of f.children) {
    const name = local(fc.name);
    if (name === 'name') continue;
    const key = textOf(child(fc, 'name')) || undefined;
    const matches = n.children.filter(c => (c.keyless ? parentKw === 'interfaces' && name === 'interface' : c.keyword === name) && (key === undefined || c.key === key));
    const deeper = fc.children.some(c => local(c.name) !== 'name');
    for (const m of matches) out.add(deeper ? prune(m, fc, m.keyword) : m.clone());
  }
  return out;
}

/** An error as the protocol says it. */
export function errorXml(proto: Proto, e: unknown): string {
  const msg = e instanceof RpcError ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}`;
  if (proto === 'junoscript') return el('xnm:error', tx('message', msg), { 'xmlns:xnm': 'http://xml.juniper.net/xnm/1.1/xnm' });
  const tag = e instanceof RpcError ? e.tag : 'operation-failed', type = e instanceof RpcError ? e.type : 'application';
  return el('rpc-error', [tx('error-type', type), tx('error-tag', tag), tx('error-severity', 'error'), tx('error-message', msg)]);
}

export { esc, children };
