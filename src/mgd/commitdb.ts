/**
 * The commit database of one router: the shared candidate configuration, the active one, and
 * rollback 0..49 (0 is the active configuration), kept on disk when a directory is given. A failed
 * commit leaves the active configuration and the running router exactly as they were.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CNode, newRoot } from '../config/tree.js';
import { loadText, LoadFailure } from '../config/load.js';
import { showConfig } from '../config/display.js';
import { commitCheck } from '../config/check.js';
import { formatDiagnostics } from '../config/messages.js';
import type { Router } from '../router/router.js';
import { diffTrees } from './compare.js';
import { activate, Committer, CLI_ROOT } from './commit.js';

export const MAX_ROLLBACK = 49;
export interface RollbackEntry { text: string; date: Date; user: string; via: string }

export class CommitDb {
  candidate: CNode;
  private rollbacks: RollbackEntry[] = [];   // index = rollback number

  constructor(private router: Router, private dir?: string) {
    if (dir) {
      mkdirSync(dir, { recursive: true });
      for (let n = 0; n <= MAX_ROLLBACK; n++) {
        const f = join(dir, `juniper.conf.${n}`);
        if (!existsSync(f)) break;
        const meta = existsSync(f + '.meta') ? JSON.parse(readFileSync(f + '.meta', 'utf8')) : {};
        this.rollbacks.push({ text: readFileSync(f, 'utf8'), date: new Date(meta.date ?? Date.now()), user: meta.user ?? 'root', via: meta.via ?? 'cli' });
      }
    }
    this.candidate = router.tree ? router.tree.clone() : newRoot();
    if (this.rollbacks.length === 0 && router.tree) this.record(showConfig(router.tree), 'startup');
  }

  /**
   * An exclusive lock of the candidate (an API session's lock-configuration, NETCONF lock): while it
   * is held only its holder may change or commit the candidate; the CLI and the console are refused.
   */
  lock?: { owner: string; who: string; since: Date };
  /** Why `by` may not change the candidate now (another session's lock), or undefined. */
  lockedFor(by?: string): string | undefined {
    if (!this.lock || this.lock.owner === by) return undefined;
    return `error: configuration database locked by: ${this.lock.who} since ${this.lock.since.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`;
  }
  takeLock(owner: string, who: string): string | undefined {
    if (this.lock && this.lock.owner !== owner) return this.lockedFor(owner);
    if (!this.lock && this.changed) return 'error: configuration database modified: the candidate has uncommitted changes';
    this.lock = { owner, who, since: new Date() };
    return undefined;
  }
  releaseLock(owner: string): string | undefined {
    if (!this.lock) return 'error: configuration database is not locked';
    if (this.lock.owner !== owner) return this.lockedFor(owner);
    this.lock = undefined;
    return undefined;
  }

  get active(): CNode { return this.router.tree ?? newRoot(); }
  get changed(): boolean { return showConfig(this.candidate) !== showConfig(this.active); }
  rollbackList(): RollbackEntry[] { return this.rollbacks.slice(); }
  /**
   * `show system commit`: the history, most recent first, as JUNOS lists it
   * (`0   2026-12-02 14:01:05 UTC by root via cli`); kept across restarts with the rollbacks.
   */
  /** The commit history, newest first (rollback 0 first): when, by whom, through what (the read model of `show system commit`). */
  commits(): Array<{ date: Date; user: string; client: string }> {
    return this.rollbacks.map(e => {
      const m = /^(\w+) \((.+)\)$/.exec(e.via);   // the API's commits: 'netconf (alice)'
      return { date: e.date, user: m ? m[2]! : e.user, client: m ? m[1]! : e.via === 'startup' ? 'other' : e.via };
    });
  }

  private record(text: string, via: string, user = 'root'): void {
    this.rollbacks.unshift({ text, date: new Date(), user, via });
    this.rollbacks.length = Math.min(this.rollbacks.length, MAX_ROLLBACK + 1);
    if (!this.dir) return;
    for (let n = this.rollbacks.length - 1; n >= 0; n--) {
      const e = this.rollbacks[n]!;
      const f = join(this.dir, `juniper.conf.${n}`);
      writeFileSync(f + '.tmp', e.text);
      renameSync(f + '.tmp', f);
      writeFileSync(f + '.meta', JSON.stringify({ date: e.date.toISOString(), user: e.user, via: e.via }));
    }
    const extra = join(this.dir, `juniper.conf.${MAX_ROLLBACK + 1}`);
    if (existsSync(extra)) rmSync(extra);
  }

  /** `commit check`: the output, and whether it would commit. */
  check(): { ok: boolean; output: string } {
    const r = commitCheck(this.candidate, { chassis: this.router.chassis });
    const warn = r.diagnostics.length ? formatDiagnostics(r.diagnostics) + '\n' : '';
    return r.ok ? { ok: true, output: warn + 'configuration check succeeds' } : { ok: false, output: warn.trimEnd() };
  }

  /** `commit`: check, compile, apply to the running router (mgd's one commit path), keep a rollback. All or nothing. */
  commit(who: Committer = CLI_ROOT, by?: string): { ok: boolean; output: string } {
    const locked = this.lockedFor(by);
    if (locked) return { ok: false, output: locked };
    const r = commitCheck(this.candidate, { chassis: this.router.chassis });
    const warn = r.diagnostics.length ? formatDiagnostics(r.diagnostics) + '\n' : '';
    if (!r.ok) return { ok: false, output: warn.trimEnd() };
    const tree = this.candidate.clone();
    activate(this.router, tree, r.model!, who);
    this.record(showConfig(tree), who.via, who.user);
    return { ok: true, output: warn + 'commit complete' };
  }

  /** `rollback N`: load rollback N into the candidate (0 = the active configuration). */
  rollback(n: number, by?: string): { ok: boolean; output: string } {
    const locked = this.lockedFor(by);
    if (locked) return { ok: false, output: locked };
    if (!Number.isInteger(n) || n < 0 || n > MAX_ROLLBACK) return { ok: false, output: `error: rollback number must be 0..${MAX_ROLLBACK}` };
    const e = n === 0 ? { text: showConfig(this.active) } : this.rollbacks[n];
    if (!e) return { ok: false, output: `error: rollback file ${n} does not exist` };
    this.candidate = loadText(e.text, { file: `rollback ${n}` });
    return { ok: true, output: 'load complete' };
  }

  /** `load merge|override|set` of text into the candidate; nothing changes unless all of it loads. */
  load(mode: 'merge' | 'override' | 'set' | 'replace', text: string, file = 'terminal', at?: string[], by?: string): { ok: boolean; output: string } {
    const locked = this.lockedFor(by);
    if (locked) return { ok: false, output: locked };
    try {
      if (mode === 'override') this.candidate = loadText(text, { file });
      else this.candidate = loadText(text, { file, into: this.candidate, ...(mode === 'set' ? { format: 'set' as const } : {}), ...(at?.length ? { at } : {}) });
      return { ok: true, output: 'load complete' };
    } catch (e) {
      if (e instanceof LoadFailure) return { ok: false, output: e.message };
      throw e;
    }
  }

  compare(n?: number): string {
    const base = n === undefined || n === 0 ? this.active : loadText(this.rollbacks[n]?.text ?? '', { file: `rollback ${n}` });
    return diffTrees(base, this.candidate);
  }
}
