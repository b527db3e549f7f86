/**
 * mgd's configuration RPCs, for both XML transports: JUNOScript's get-configuration,
 * lock/unlock-configuration, load-configuration, commit-configuration, and NETCONF's get-config, get,
 * edit-config, lock, unlock, commit, discard-changes, validate. They use the CLI's loader and commit
 * checks (the shared commit database), so their errors are the CLI's messages.
 */
import type { Router } from '../router/router.js';
import type { CommitDb } from './commitdb.js';
import { showConfig, showSet } from '../config/display.js';
import { CNode } from '../config/tree.js';
import { El, el, tx, child, local, textOf } from './xml.js';
import { treeToXml, xmlToLines, XmlConfigError } from './config-xml.js';
import { resolveLoadKeyFilesNoPrompt } from './keyfile.js';

export class RpcError extends Error {
  constructor(message: string, readonly tag = 'operation-failed', readonly type = 'application') { super(message); }
}

/** The session an RPC comes from: its lock owner, how a lock names it, its protocol and user. */
export interface RpcSession {
  readonly owner: string; readonly who: string; readonly proto: 'junoscript' | 'netconf'; readonly id: number;
  readonly user: { name: string; cls: string };
}

export const CONFIG_RPCS = ['get-configuration', 'lock-configuration', 'open-configuration', 'unlock-configuration', 'close-configuration', 'load-configuration',
  'commit-configuration', 'get-config', 'get', 'edit-config', 'lock', 'unlock', 'commit', 'discard-changes', 'validate'];

export class ConfigRpcs {
  constructor(readonly router: Router, readonly db: CommitDb, readonly s: RpcSession) {}

  private mayConfigure(): void {
    const u = this.s.user;
    if (u.cls !== 'super-user') throw new RpcError(`permission denied: user ${u.name} (class ${u.cls}) may not change the configuration`, 'access-denied', 'protocol');
  }

  /** A configuration RPC's reply body; undefined when `op` is not one. */
  async run(op: El): Promise<string | undefined> {
    const name = local(op.name);
    switch (name) {
      case 'get-configuration': return this.getConfiguration(op);
      case 'lock-configuration': case 'open-configuration': case 'lock': return this.lock(op, name);
      case 'unlock-configuration': case 'close-configuration': case 'unlock': return this.unlock(op, name);
      case 'load-configuration': return this.loadConfiguration(op);
      case 'commit-configuration': {
        this.mayConfigure();
        if (child(op, 'check')) {
          const r = this.db.check();
          if (!r.ok) throw new RpcError(r.output.trim());
          return el('commit-results', el('routing-engine', [tx('name', 're0'), el('commit-check-success')]));
        }
        return this.commit();
      }
      case 'get-config': {
        const src = child(op, 'source')?.children[0];
        if (!src || !['running', 'candidate'].includes(local(src.name))) throw new RpcError('get-config: <source> must be <running/> or <candidate/>', 'missing-element', 'protocol');
        const filter = child(op, 'filter');
        return el('data', this.config(local(src.name) === 'candidate' ? this.db.candidate : this.db.active, 'xml', filter ? child(filter, 'configuration') : undefined));
      }
      case 'get': return el('data', this.config(this.db.active, 'xml'));
      case 'edit-config': return this.editConfig(op);
      case 'commit': { this.mayConfigure(); await this.commit(); return el('ok'); }
      case 'discard-changes': {
        this.mayConfigure();
        const r = this.db.rollback(0, this.s.owner);
        if (!r.ok) throw new RpcError(r.output.replace(/^error: /, ''));
        return el('ok');
      }
      case 'validate': {
        const r = this.db.check();
        if (!r.ok) throw new RpcError(r.output.trim());
        return el('ok');
      }
      default: return undefined;
    }
  }

  private getConfiguration(op: El): string {
    const db = op.attrs.database === 'candidate' || this.s.proto === 'netconf' && op.attrs.database !== 'committed' ? 'candidate' : 'committed';
    if (op.attrs.compare === 'rollback') return tx('configuration-output', this.db.compare(Number(op.attrs.rollback ?? 0)));
    return this.config(db === 'candidate' ? this.db.candidate : this.db.active, op.attrs.format, child(op, 'configuration'));
  }

  /** JUNOScript's lock-configuration (no target), NETCONF's lock (a target). */
  private lock(op: El, name: string): string {
    if (name === 'lock') this.target(op, name);
    this.mayConfigure();
    const e = this.db.takeLock(this.s.owner, this.s.who);
    if (e) throw new RpcError(e.replace(/^error: /, ''), 'lock-denied');
    return name === 'lock' ? el('ok') : '';
  }
  private unlock(op: El, name: string): string {
    if (name === 'unlock') this.target(op, name);
    const e = this.db.releaseLock(this.s.owner);
    if (e) throw new RpcError(e.replace(/^error: /, ''));
    return name === 'unlock' ? el('ok') : '';
  }
  private target(op: El, name: string): void {
    const target = child(op, 'target')?.children[0];
    if (!target || !['candidate', 'running'].includes(local(target.name))) throw new RpcError(`${name}: the target must be <candidate/> or <running/>`, 'missing-element', 'protocol');
  }

  private loadConfiguration(op: El): Promise<string> | string {
    this.mayConfigure();
    const action = op.attrs.action ?? 'merge';
    if (!['merge', 'replace', 'override', 'set', 'update'].includes(action)) throw new RpcError(`load-configuration: action ${action}: merge, replace, override or set`, 'bad-attribute', 'protocol');
    const text = child(op, 'configuration-text'), set = child(op, 'configuration-set'), xml = child(op, 'configuration');
    if (op.attrs.rollback !== undefined) return this.loaded(this.db.rollback(Number(op.attrs.rollback), this.s.owner));
    if (set || action === 'set') return this.load('set', textOf(set ?? text));
    if (text) return this.load(action === 'override' ? 'override' : action === 'replace' ? 'replace' : 'merge', text.text);
    if (xml) return this.loadXml(xml, action === 'override');
    throw new RpcError('load-configuration: <configuration>, <configuration-text> or <configuration-set> is missing', 'missing-element', 'protocol');
  }

  private async editConfig(op: El): Promise<string> {
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
    const r = this.db.load(mode, text, 'api', undefined, this.s.owner);
    if (!r.ok) throw new RpcError(r.output.replace(/^error: /, '').trim());
    const k = await resolveLoadKeyFilesNoPrompt(this.router, this.db);
    if (k) { this.db.candidate = before; throw new RpcError(k.replace(/^error: /, '')); }
    return this.s.proto === 'netconf' ? el('ok') : el('load-configuration-results', [el('load-success')]);
  }
  private async loadXml(cfg: El, override: boolean): Promise<string> {
    let lines: string[];
    try { lines = xmlToLines(cfg); } catch (e) { if (e instanceof XmlConfigError) throw new RpcError(e.message, 'invalid-value'); throw e; }
    if (override) {
      const before = this.db.candidate.clone();
      const r1 = this.db.load('override', '', 'api', undefined, this.s.owner);
      if (!r1.ok) throw new RpcError(r1.output);
      try { return await this.load('set', lines.join('\n')); } catch (e) { this.db.candidate = before; throw e; }
    }
    return this.load('set', lines.join('\n'));
  }
  private async commit(): Promise<string> {
    const s = this.s;
    const r = this.db.commit({ user: s.user.name, via: s.proto, session: `${s.proto === 'netconf' ? 'NETCONF' : 'JUNOScript'} session ${s.id}` }, s.owner);
    if (!r.ok) throw new RpcError(r.output.replace(/^error: /, '').trim());
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
