/**
 * The JUNOS command-line interpreter of one router: command text in, output text and effects out.
 * The Ink console, `vrouter exec` and scripts all drive this one class. It never blocks the
 * router: long commands (ping, traceroute, monitor traffic) are async and stop on their signal.
 */
import type { Router } from '../router/router.js';
import { CommitDb } from '../mgd/commitdb.js';
import { provideShell } from '../mgd/shell.js';
import { splitWords, splitPipes, matchPrefix, CliError, Word, commonPrefix } from './words.js';
import { PipeWriter, Redacting, parsePipes } from './pipes.js';
import { SchemaWalk } from './cfgwalk.js';
import { showAt } from '../config/display.js';
import { lookup, applyWords, SyntaxError_, CNode, Pos } from '../config/tree.js';
import { tokenize, LexError } from '../config/lexer.js';
import { childDef, describeType } from '../config/schema.js';
import type { PicSnapshot } from '../../pics/es/core.js';
import { readFileSync } from 'node:fs';
import { resolveLoadKeyFiles, resolveLoadKeyFilesNoPrompt, NeedPassphrase } from '../mgd/keyfile.js';
import { encrypt as cryptEncrypt } from 'unixcrypt';
import { randomBytes } from 'node:crypto';
import { treeToXml } from '../mgd/config-xml.js';
import { opXml, OpRequest } from '../mgd/op-xml.js';
import { esc as escXml, prettyXml } from '../mgd/xml.js';
import { passwordProblem, wrapPath, expandWords, valueCandidates, line, CONFIG_COMMANDS } from './config-words.js';
import { opCommands, checkOptValue, rpcOf, OpNode, Opt, Parsed, Session } from './op-commands.js';
import { maySeeSecrets } from '../config/redact.js';
export type { Session };

/**
 * Did a command's output report an error? A caret line (every syntax or value error), an `error:`
 * line, a failed commit or a load with errors. `vrouter exec` exits 1 on these.
 */
export function outputHasError(out: string): boolean {
  return /^\s*\^$|^error: |configuration check-out failed|^load complete \(\d+ errors\)/m.test(out);
}
export interface ExecResult { exit?: boolean }

/** A configuration-mode line, parsed as far as its command. */
interface ConfigLine { cmd: string; text: string; words: Word[]; restCol: number; rest: string; filters: Array<{ kind: string }>; io: Session }

/** Who a CLI session runs as: the console and `vrouter exec` are root (class super-user); the XML API's `<command>` is its user. */
export interface CliUser { name: string; cls: string }
export const ROOT: CliUser = { name: 'root', cls: 'super-user' };


const LEVELS = new Set(['brief', 'detail', 'terse', 'extensive']);
const ambiguous = (w: { text: string; col: number }, items: Array<{ name: string; help: string }>) =>
  new CliError(w.col, `'${w.text}' is ambiguous.`, 'Possible completions:\n' + items.map(x => line(x.name, x.help)).join('\n'));


export class Interpreter {
  mode: 'op' | 'config' = 'op';
  editPath: string[] = [];
  private collecting?: { mode: 'merge' | 'override' | 'set' | 'replace'; lines: string[]; at?: string[] };
  readonly db: CommitDb;
  private opRoot: OpNode;

  constructor(readonly router: Router, db?: CommitDb, readonly user: CliUser = ROOT) {
    this.db = db ?? new CommitDb(router);
    this.opRoot = { name: '', help: '', sub: opCommands(this) };
  }

  get prompt(): string {
    if (this.asking) return this.asking.first === undefined ? 'New password: ' : 'Retype new password: ';
    if (this.askingKey) return `Enter the passphrase of ${this.askingKey.source}: `;
    return this.collecting ? '' : `${this.user.name}@${this.router.name}${this.mode === 'op' ? '>' : '#'} `;
  }
  /** The session's login class now: root's is super-user; a user's is the committed configuration's, as the API's sessions refresh theirs. */
  get loginClass(): string {
    if (this.user.name === 'root') return 'super-user';
    return this.router.model?.system.users.get(this.user.name)?.cls ?? this.user.cls;
  }
  /** `plain-text-password`: the next two lines are the password, twice (never echoed, never kept in clear) */
  private asking?: { user: string; first?: string };
  /** the prompt asks for a secret: the console does not echo what is typed */
  get secretPrompt(): boolean { return !!this.asking || !!this.askingKey; }
  /** an encrypted key of load-key-file: the next line is its passphrase */
  private askingKey?: { source: string; backup: CNode };
  /** The `[edit ...]` banner shown above the prompt in configuration mode. */
  get banner(): string | undefined { return this.mode === 'config' && !this.collecting && !this.asking && !this.askingKey ? `[edit${this.editPath.length ? ' ' + this.editPath.join(' ') : ''}]` : undefined; }
  get isCollecting(): boolean { return !!this.collecting; }

  // ------------------------------------------------------------------ the operational grammar

  private pic(): Promise<PicSnapshot> { return this.router.picSnapshot(); }
  /** `configure`: configuration mode at the top. */
  enterConfiguration(): void { this.mode = 'config'; this.editPath = []; }

  // ------------------------------------------------------------------ parsing

  /**
   * The one walk of the operational grammar: subcommands by unique prefix, then flags, options
   * with a value, and the positional argument. Running a command (`parseOp`) and listing what may
   * come next (`opCandidates`) both use it; for help, an option still waiting for its value is
   * reported instead of being an error.
   */
  private walkOp(words: Word[], endCol: number, forHelp: boolean): { node: OpNode; p: Parsed; argsStarted: boolean; awaitingValue?: Opt } {
    let node = this.opRoot;
    const p: Parsed = { flags: new Set(), opts: new Map(), rest: [], endCol };
    let argsStarted = false;
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (node.sub && !argsStarted) {
        const m = matchPrefix(w.text, node.sub);
        if (m.kind === 'one') { node = m.item; continue; }
        if (m.kind === 'ambiguous') throw ambiguous(w, m.items);
        if (!node.run) throw new CliError(w.col, 'syntax error, expecting <command>.');
      }
      argsStarted = true;
      if (!node.run) throw new CliError(w.col, 'syntax error.');
      const flags = (node.flags ?? []).filter(f => !p.flags.has(f.name) && !p.opts.has(f.name));
      const m = node.arg?.rest && p.rest.length ? { kind: 'none' as const } : matchPrefix(w.text, flags);
      // brief, detail, terse, extensive: an output level, one of them (JUNOS)
      if (m.kind === 'one' && LEVELS.has(m.item.name) && [...p.flags].some(f => LEVELS.has(f))) throw new CliError(w.col, 'syntax error.');
      if (m.kind === 'one') {
        if (m.item.arg) {
          const v = words[i + 1];
          if (!v) {
            if (forHelp) return { node, p, argsStarted, awaitingValue: m.item };
            throw new CliError(endCol, `syntax error, expecting ${m.item.arg}.`);
          }
          if (!forHelp) checkOptValue(m.item, v);
          p.opts.set(m.item.name, v.text);
          i++;
        } else p.flags.add(m.item.name);
        continue;
      }
      if (m.kind === 'ambiguous' && !node.arg) throw ambiguous(w, m.items);
      if (node.arg && (node.arg.rest || p.arg === undefined)) {
        if (node.arg.rest) p.rest.push(w.text); else p.arg = w.text;
        continue;
      }
      throw new CliError(w.col, 'syntax error.');
    }
    return { node, p, argsStarted };
  }

  private parseOp(words: Word[], endCol: number): { node: OpNode; p: Parsed } {
    const { node, p } = this.walkOp(words, endCol, false);
    if (!node.run) throw new CliError(endCol, 'syntax error, expecting <command>.');
    if (node.arg?.required && p.arg === undefined) throw new CliError(endCol, `syntax error, expecting ${node.arg.name}.`);
    return { node, p };
  }

  private caret(e: CliError): string {
    return `${' '.repeat(this.prompt.length + e.col)}^\n${e.message}\n${e.extra ? e.extra + '\n' : ''}`;
  }


  // ------------------------------------------------------------------ execution

  async exec(text: string, io: Session): Promise<ExecResult> {
    if (this.collecting) return this.collect(text, io);
    if (this.asking) { this.answerPassword(text, io); return {}; }
    if (this.askingKey) {
      const k = this.askingKey;
      this.askingKey = undefined;
      const err = await resolveLoadKeyFiles(this.router, this.db, new Map([[k.source, text]])).catch(e => (e instanceof NeedPassphrase ? `error: load-key-file ${e.source}: a second encrypted key: load one at a time` : Promise.reject(e)));
      if (err) { this.db.candidate = k.backup; io.write(err + '\n'); }
      return {};
    }
    const raw = text.replace(/\s+$/, '');
    if (raw.trim() === '') return {};
    if (raw.endsWith('?')) { io.write(this.help(raw.slice(0, -1))); return {}; }
    const parts = splitPipes(raw);
    const cmd = parts[0]!;
    let filters: Array<{ kind: string; re?: RegExp }>;
    try { filters = parsePipes(parts.slice(1)); } catch (e) { if (e instanceof CliError) { io.write(this.caret(e)); return {}; } throw e; }
    const w = new PipeWriter(io, filters, io.signal);
    // without the `secret` permission, a configuration shows /* SECRET-DATA */ (issue 21): every display, before the pipes split it into lines
    const out: Session = maySeeSecrets(this.loginClass) ? w : new Redacting(w);
    try {
      return this.mode === 'op' ? await this.runOp(cmd.text, filters, out) : await this.runConfig(cmd.text, filters, out);
    } catch (e) {
      if (e instanceof CliError) { out.write(this.caret(e)); return {}; }
      throw e;
    } finally { w.end(); }
  }

  private async runOp(text: string, filters: Array<{ kind: string }>, io: Session): Promise<ExecResult> {
    const words = splitWords(text);
    const { node, p } = this.parseOp(words, text.length + 1);
    if (filters.some(f => f.kind === 'display-set' || f.kind === 'compare') && !node.displaySet) throw new CliError(text.length + 3, 'syntax error.');
    if (node.name === 'exit' || node.name === 'quit') return { exit: true };
    if (filters.some(f => f.kind === 'display-xml')) { io.write(await this.displayXml(node, p, text)); return {}; }
    if (node.name === 'configuration') {
      const tree = this.db.active;
      const sub = p.rest.length ? lookup(tree, p.rest) : tree;
      if (!sub) return {};
      io.write(showAt(sub, p.rest, filters.some(f => f.kind === 'display-set')));
      return {};
    }
    await node.run!(p, io);
    return {};
  }

  private answerPassword(text: string, io: Session): void {
    const a = this.asking!;
    if (a.first === undefined) {
      const why = passwordProblem(text);
      if (why) { this.asking = undefined; io.write(`error: ${why}\n`); return; }
      a.first = text;
      return;
    }
    this.asking = undefined;
    if (text !== a.first) { io.write('error: Passwords do not match\n'); return; }
    const hash = cryptEncrypt(text, `$6$${randomBytes(12).toString('base64').replace(/[^A-Za-z0-9./]/g, '.').slice(0, 16)}`);
    const user = this.db.candidate.get('system')?.get('login')?.entries('user').find(u => u.key === a.user);
    if (!user) { io.write(`error: user ${a.user} is gone\n`); return; }
    applyWords({ node: this.db.candidate, path: [] }, tokenize(`system login user ${JSON.stringify(a.user)} authentication encrypted-password ${JSON.stringify(hash)}`), 'set', false, false, true);
  }

  /**
   * The RPC of an operational command, by the CLI's own parse of it (the grammar's `rpc`): the XML
   * API's `<command>` asks this; undefined for a command without one, or a line that does not parse.
   */
  rpcFor(line: string): OpRequest | undefined {
    try {
      const { node, p } = this.parseOp(splitWords(line), line.length + 1);
      return rpcOf(node, p);
    } catch (e) { if (e instanceof CliError) return undefined; throw e; }
  }

  /** `| display xml`: the RPC reply the XML API gives for the same command. */
  private async displayXml(node: OpNode, p: Parsed, text: string): Promise<string> {
    let body: string;
    const rest = p.rest;
    if (node.name === 'configuration') {
      const tree = this.db.active;
      const sub = rest.length ? lookup(tree, rest) : tree;
      body = treeToXml(sub && rest.length ? wrapPath(tree, rest) : tree);
    } else {
      const req = rpcOf(node, p);
      const x = req ? opXml(this.router, await this.pic(), req, this.db) : undefined;
      if (x) body = x;
      else { let out = ''; await this.runOp(text, [], { write: s => { out += s; } }); body = `<output>${escXml(out)}</output>`; }
    }
    return prettyXml(`<rpc-reply xmlns:junos="http://xml.juniper.net/junos/7.4R1/junos">${body}<cli><banner></banner></cli></rpc-reply>`);
  }

  // ------------------------------------------------------------------ configuration mode

  private editPos(): Pos {
    let pos: Pos = { node: this.db.candidate, path: [] };
    if (this.editPath.length) {
      const toks = tokenize(this.editPath.join(' '));
      pos = applyWords(pos, toks, 'set', true);
    }
    return pos;
  }


  private applyConfig(op: 'set' | 'delete' | 'activate' | 'deactivate', rest: string, col: number): string {
    let toks;
    try { toks = tokenize(rest); } catch (e) { if (e instanceof LexError) throw new CliError(col + e.col - 1, 'syntax error.'); throw e; }
    for (const t of toks) t.col += col - 1;
    toks = expandWords(this.editPos().node.def, toks);
    if (toks.length === 0 && op !== 'delete') throw new CliError(col, 'syntax error, expecting <statement>.');
    const backup = this.db.candidate.clone();
    try {
      applyWords(this.editPos(), toks, op, false, false, true, true);
    } catch (e) {
      this.db.candidate = backup;
      if (e instanceof SyntaxError_) {
        if (e.message.startsWith('statement not found')) return 'warning: statement not found\n';
        throw new CliError(e.token?.col ?? col, e.message === 'syntax error' ? 'syntax error.' : e.message, e.hint ? `(did you mean '${e.hint}'?)` : undefined);
      }
      throw e;
    }
    return '';
  }

  private async runConfig(text: string, filters: Array<{ kind: string }>, io: Session): Promise<ExecResult> {
    const words = splitWords(text);
    const first = words[0]!;
    const m = matchPrefix(first.text, CONFIG_COMMANDS);
    if (m.kind === 'ambiguous') throw ambiguous(first, m.items);
    if (m.kind === 'none') throw new CliError(first.col, 'syntax error, expecting <command>.');
    const cmd = m.item.name;
    const restCol = words[1]?.col ?? text.length + 1;
    const c: ConfigLine = { cmd, text, words, restCol, rest: text.slice(restCol), filters, io };
    switch (cmd) {
      case 'set': case 'delete': case 'activate': case 'deactivate': return this.configChange(c);
      case 'edit': return this.configEdit(c);
      case 'up': return this.configUp(c);
      case 'top': this.editPath = []; return {};
      case 'exit': case 'quit': return this.configExit(c);
      case 'show': return this.configShow(c);
      case 'commit': return this.configCommit(c);
      case 'rollback': return this.configRollback(c);
      case 'load': return this.configLoad(c);
      case 'run': return this.configRun(c);
    }
    return {};
  }

  /** `set`, `delete`, `activate`, `deactivate`: the candidate changes (and load-key-file, plain-text-password follow a set) */
  private async configChange(c: ConfigLine): Promise<ExecResult> {
    const { rest, restCol, io } = c;
    const cmd = c.cmd as 'set' | 'delete' | 'activate' | 'deactivate';
    const locked = this.db.lockedFor();
    if (locked) { io.write(locked + '\n'); return {}; }
    const backup = this.db.candidate.clone();
    io.write(this.applyConfig(cmd, rest, restCol));
    // load-key-file: the certificate and key are read now and kept as certificate-key-string
    if (cmd === 'set') {
      try {
        const err = await resolveLoadKeyFiles(this.router, this.db);
        if (err) { this.db.candidate = backup; io.write(err + '\n'); }
      } catch (e) {
        if (!(e instanceof NeedPassphrase)) throw e;
        // the chapter: the CLI asks for the passphrase, decrypts the key, and keeps it decrypted
        this.askingKey = { source: e.source, backup };
        return {};
      }
      // plain-text-password: JUNOS asks for the password (twice) and keeps its hash
      for (const u of this.db.candidate.get('system')?.get('login')?.entries('user') ?? []) {
        const a = u.get('authentication');
        if (!a?.has('plain-text-password')) continue;
        a.children = a.children.filter(c => c.keyword !== 'plain-text-password');
        this.asking = { user: u.key! };
        break;
      }
    }
    return {};
  }

  /** `edit PATH`: the edit level moves down */
  private async configEdit(c: ConfigLine): Promise<ExecResult> {
    const { text, words, rest, restCol } = c;
    if (words.length < 2) throw new CliError(text.length + 1, 'syntax error, expecting <statement>.');
    const backup = this.db.candidate.clone();
    try {
      let toks = tokenize(rest);
      for (const t of toks) t.col += restCol - 1;
      toks = expandWords(this.editPos().node.def, toks);
      const pos = applyWords(this.editPos(), toks, 'set', true);
      if (pos.node.def.kind !== 'container' && pos.node.def.kind !== 'list' || pos.pendingList) { this.db.candidate = backup; throw new CliError(restCol, 'syntax error.'); }
      this.editPath = pos.path;
    } catch (e) {
      this.db.candidate = backup;
      if (e instanceof SyntaxError_) throw new CliError(e.token?.col ?? restCol, 'syntax error.');
      throw e;
    }
    return {};
  }

  /** `exit` (one level up, or out at the top) and `quit` */
  private async configExit(c: ConfigLine): Promise<ExecResult> {
    const { io } = c;
    const arg = (i: number) => c.words[i]?.text;
    if (arg(1) === 'configuration-mode' || this.editPath.length === 0) {
      if (this.db.changed) io.write('The configuration has been changed but not committed\n');
      io.write('Exiting configuration mode\n');
      this.mode = 'op'; this.editPath = [];
    } else this.upOne();
    return {};
  }

  /** `show [PATH]` at the edit level, `show | compare [rollback N]` */
  private async configShow(c: ConfigLine): Promise<ExecResult> {
    const { words, rest, filters, io } = c;
    if (filters.some(f => f.kind === 'compare')) {
      const rb = words[1]?.text === 'rollback' ? Number(words[2]?.text) : undefined;
      io.write(this.db.compare(rb));
      return {};
    }
    const base = this.editPos().node;
    const pathWords = words.length > 1 ? expandWords(this.editPos().node.def, tokenize(rest)).map(t => t.text) : [];
    const sub = pathWords.length ? lookup(base, pathWords) : base;
    if (!sub) return {};
    io.write(showAt(sub, [...this.editPath, ...pathWords], filters.some(f => f.kind === 'display-set')));
    return {};
  }

  /** `commit [check | and-quit]` */
  private async configCommit(c: ConfigLine): Promise<ExecResult> {
    const { words, io } = c;
    const arg = (i: number) => c.words[i]?.text;
    const sub = arg(1);
    const subs = [{ name: 'check', help: '' }, { name: 'and-quit', help: '' }, { name: 'comment', help: '' }];
    const sm = sub ? matchPrefix(sub, subs) : undefined;
    if (sub && sm?.kind !== 'one') throw new CliError(words[1]!.col, 'syntax error.');
    const which = sm?.kind === 'one' ? sm.item.name : undefined;
    if (which === 'check') { io.write(this.db.check().output + '\n'); return {}; }
    const r = this.db.commit();
    io.write(r.output + '\n');
    if (r.ok) {
      if (which === 'and-quit') { io.write('Exiting configuration mode\n'); this.mode = 'op'; this.editPath = []; }
    }
    return {};
  }

  /** `load merge|override|replace|set FILE|terminal [relative]` */
  private async configLoad(c: ConfigLine): Promise<ExecResult> {
    const { text, words, io } = c;
    const arg = (i: number) => c.words[i]?.text;
    const modes = [{ name: 'merge', help: '' }, { name: 'override', help: '' }, { name: 'set', help: '' }, { name: 'replace', help: '' }];
    const mm = arg(1) ? matchPrefix(arg(1)!, modes) : { kind: 'none' as const };
    if (mm.kind !== 'one') throw new CliError(words[1]?.col ?? text.length + 1, 'syntax error, expecting merge, override, replace or set.');
    const src = arg(2);
    if (!src) throw new CliError(text.length + 1, 'syntax error, expecting <filename> or terminal.');
    const mode = mm.item.name as 'merge' | 'override' | 'set' | 'replace';
    // `relative`: the text is relative to the current [edit ...] level (not with override)
    let at: string[] | undefined;
    if (words[3]) {
      if (!'relative'.startsWith(words[3].text) || mode === 'override') throw new CliError(words[3].col, mode === 'override' ? 'syntax error.' : 'syntax error, expecting relative.');
      if (words[4]) throw new CliError(words[4].col, 'syntax error.');
      at = this.editPath.slice();
    }
    if ('terminal'.startsWith(src) && src.length >= 2) {
      this.collecting = { mode, lines: [], ...(at ? { at } : {}) };
      io.write('[Type ^D at a new line to end input]\n');
      return {};
    }
    let body: string;
    try { body = readFileSync(src, 'utf8'); } catch { io.write(`error: file ${src} not found\n`); return {}; }
    const before = this.db.candidate.clone();
    const lr = this.db.load(mode, body, src, at);
    const kerr = lr.ok ? await resolveLoadKeyFilesNoPrompt(this.router, this.db) : undefined;
    if (kerr) this.db.candidate = before;
    io.write((kerr ?? lr.output) + '\n');
    return {};
  }

  /** `run COMMAND`: an operational command from configuration mode */
  private async configRun(c: ConfigLine): Promise<ExecResult> {
    const { text, words, restCol, filters, io } = c;
    if (words.length < 2) throw new CliError(text.length + 1, 'syntax error, expecting <command>.');
    this.mode = 'op';
    try { return await this.runOp(text.slice(restCol), filters, { write: s => io.write(s), signal: io.signal }).then(r => ({ ...r, exit: false })); }
    catch (e) { if (e instanceof CliError) { e.col += restCol; } throw e; }
    finally { this.mode = 'config'; }
  }

  /** `rollback [N]` */
  private async configRollback(c: ConfigLine): Promise<ExecResult> {
    const { words, io } = c;
    const arg = (i: number) => c.words[i]?.text;
    const n = arg(1) === undefined ? 0 : Number(arg(1));
    if (arg(1) !== undefined && !/^\d+$/.test(arg(1)!)) throw new CliError(words[1]!.col, 'syntax error, expecting <number>.');
    io.write(this.db.rollback(n).output + '\n');
    return {};
  }

  /** `up [N]` */
  private async configUp(c: ConfigLine): Promise<ExecResult> {
    const arg = (i: number) => c.words[i]?.text;
    const n = Number(arg(1) ?? 1);
    for (let i = 0; i < n && this.editPath.length; i++) this.upOne();
    return {};
  }

  private upOne(): void {
    // drop the last statement of the path: a list entry is two words (keyword, key), a keyless one one word
    const p = this.editPath;
    const tree = this.db.candidate;
    let n: CNode | undefined = tree;
    const heads: number[] = [];
    let i = 0;
    while (i < p.length && n) {
      const f = childDef(n.def, p[i]!);
      if (!f) break;
      const width = f.keyless || f.def.kind !== 'list' ? 1 : 2;
      heads.push(width);
      n = f.keyless ? n.find('*', p[i]) : f.def.kind === 'list' ? n.find(f.keyword, p[i + 1]) : n.find(f.keyword);
      i += width;
    }
    const last = heads.pop() ?? 1;
    this.editPath = p.slice(0, p.length - last);
  }

  private async collect(text: string, io: Session): Promise<ExecResult> {
    const c = this.collecting!;
    const eot = text.indexOf('\x04');
    if (eot < 0) { c.lines.push(text); return {}; }
    c.lines.push(text.slice(0, eot));
    this.collecting = undefined;
    const before = this.db.candidate.clone();
    const lr = this.db.load(c.mode, c.lines.join('\n'), 'terminal', c.at);
    const kerr = lr.ok ? await resolveLoadKeyFilesNoPrompt(this.router, this.db) : undefined;
    if (kerr) this.db.candidate = before;
    io.write((kerr ?? lr.output) + '\n');
    return {};
  }

  // ------------------------------------------------------------------ help and completion

  /** The `?` listing for a partial line (everything before the `?`). */
  help(partial: string): string {
    const cands = this.candidates(partial);
    if ('error' in cands) return this.caret(cands.error);
    const lines = cands.items.map(c => line(c.name, c.help));
    return lines.length ? `Possible completions:\n${lines.join('\n')}\n` : 'No valid completions\n';
  }

  /** Tab completion: the completed line, and the choices when more than one remains. */
  complete(partial: string): { line: string; choices: string[] } {
    const cands = this.candidates(partial);
    if ('error' in cands) return { line: partial, choices: [] };
    const word = /\s$/.test(partial) || partial === '' ? '' : partial.split(/\s+/).pop()!;
    const names = cands.items.map(c => c.name).filter(n => !n.startsWith('<') && n !== '|');
    if (names.length === 1) return { line: partial.slice(0, partial.length - word.length) + names[0] + ' ', choices: [] };
    const cp = commonPrefix(names);
    return { line: cp.length > word.length ? partial.slice(0, partial.length - word.length) + cp : partial, choices: names };
  }

  private candidates(partial: string): { items: Opt[] } | { error: CliError } {
    const pipeParts = splitPipes(partial);
    if (pipeParts.length > 1) {
      const last = pipeParts[pipeParts.length - 1]!.text.trim();
      const pipes = [{ name: 'count', help: 'Count occurrences' }, { name: 'display', help: 'Show additional kinds of information' }, { name: 'except', help: 'Show only text that does not match a pattern' }, { name: 'last', help: 'Display end of output only' }, { name: 'match', help: 'Show only text that matches a pattern' }, { name: 'no-more', help: "Don't paginate output" }, { name: 'compare', help: 'Compare configuration changes with prior version' }];
      if (last.startsWith('display')) return { items: [{ name: 'set', help: 'Show configuration as set commands' }, { name: 'xml', help: 'Show output as XML tags' }] };
      return { items: pipes.filter(p => p.name.startsWith(last)) };
    }
    const trailingSpace = /\s$/.test(partial) || partial === '';
    const words = splitWords(partial);
    const done = trailingSpace ? words : words.slice(0, -1);
    const word = trailingSpace ? '' : words[words.length - 1]!.text;
    try {
      const items = this.mode === 'op' ? this.opCandidates(done) : this.configCandidates(done);
      return { items: items.filter(i => i.name.startsWith('<') || i.name === '|' || i.name.startsWith(word)) };
    } catch (e) {
      if (e instanceof CliError) return { error: e };
      throw e;
    }
  }

  private opCandidates(done: Word[]): Opt[] {
    const { node, p, argsStarted, awaitingValue } = this.walkOp(done, 0, true);
    if (awaitingValue) return [{ name: awaitingValue.arg!, help: awaitingValue.help }];
    const used = new Set<string>([...p.flags, ...p.opts.keys()]);
    const argGiven = p.arg !== undefined || p.rest.length > 0;
    const out: Opt[] = [];
    if (node.run && !(node.arg?.required && !argGiven)) out.push({ name: '<[Enter]>', help: 'Execute this command' });
    if (!argsStarted && node.sub) out.push(...node.sub.map(s => ({ name: s.name, help: s.help })));
    if (node.arg && (!argGiven || node.arg.rest)) {
      out.push({ name: node.arg.name, help: node.arg.help });
      for (const c of node.arg.complete?.() ?? []) out.push({ name: c, help: '' });
    }
    out.push(...(node.flags ?? []).filter(f => !used.has(f.name)).map(f => ({ name: f.name, help: f.help })));
    if (node.run) out.push({ name: '|', help: 'Pipe through a command' });
    return out.sort((a, b) => (a.name.startsWith('<') ? -1 : 0) - (b.name.startsWith('<') ? -1 : 0) || (a.name === '|' ? 1 : 0) - (b.name === '|' ? 1 : 0) || a.name.localeCompare(b.name));
  }

  private configCandidates(done: Word[]): Opt[] {
    if (done.length === 0) return CONFIG_COMMANDS.slice().sort((a, b) => a.name.localeCompare(b.name));
    const cmd = matchPrefix(done[0]!.text, CONFIG_COMMANDS);
    if (cmd.kind !== 'one') throw new CliError(done[0]!.col, 'syntax error, expecting <command>.');
    if (cmd.item.name === 'run') return this.opCandidates(done.slice(1));
    if (!['set', 'delete', 'edit', 'show', 'activate', 'deactivate'].includes(cmd.item.name)) return [{ name: '<[Enter]>', help: 'Execute this command' }];
    // walk the schema from the edit path; after a leaf's value or a flag, its siblings follow
    const walk = new SchemaWalk(this.editPos().node.def);
    const path = [...this.editPath];
    let leafPath = path;
    for (const w of done.slice(1)) {
      const st = walk.feed(w.text, !w.quoted);
      if (st.kind === 'unknown') throw new CliError(w.col, 'syntax error.');
      if (st.kind === 'key') path.push(w.text);
      else if (st.kind === 'keyword') {
        const k = st.f.def.kind;
        if (k === 'leaf' || k === 'leafList') leafPath = [...path, st.word];
        else if (k !== 'flag') path.push(st.word);
      }
    }
    if (walk.wantsValue()) return walk.vi === 0 || walk.leaf!.kind === 'leafList' ? valueCandidates(this.db.candidate, walk.leaf!.type!, leafPath) : [{ name: '<value>', help: '' }];
    const pendingList = walk.pending, def = walk.def;
    if (pendingList) {
      const existing = lookup(this.db.candidate, path.slice(0, -1));
      const keys = existing?.all(path[path.length - 1]!).map(n => n.key!) ?? [];
      const names = [...new Set([...valueCandidates(this.db.candidate, pendingList.keyType!, path).filter(c => !c.name.startsWith('<')).map(c => c.name), ...keys])].sort();
      return [{ name: describeType(pendingList.keyType!).startsWith('<') ? describeType(pendingList.keyType!) : `<${path[path.length - 1]}>`, help: pendingList.help }, ...names.map(k => ({ name: k, help: '' }))];
    }
    const enter: Opt[] = walk.complete || walk.leaf ? [{ name: '<[Enter]>', help: 'Execute this command' }] : [];
    const out: Opt[] = [];
    for (const [k, d] of Object.entries(def.children ?? {})) {
      if (k === '*') {
        out.push({ name: describeType(d.keyType!), help: d.help });
        const existing = lookup(this.db.candidate, path);
        for (const n of existing?.all('*') ?? []) out.push({ name: n.key!, help: '' });
        if (def === this.db.candidate.def.children?.interfaces || path[path.length - 1] === 'interfaces') for (const n of this.router.chassis.interfaceNames()) if (!out.some(o => o.name === n)) out.push({ name: n, help: '' });
      } else out.push({ name: k, help: d.help });
    }
    return [...enter, ...out.sort((a, b) => a.name.localeCompare(b.name))];
  }

}

// the XML API's <command> runs CLI commands through mgd, which does not import the CLI
provideShell((r, db, user) => new Interpreter(r, db, user ?? ROOT));
