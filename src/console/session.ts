/**
 * The console's state and behaviour, free of React: the routers it talks to, the line being typed,
 * history, the running command, the pager, the status of every router, and the exit question. The
 * Ink components only render this and forward keys to it.
 */
import { EventEmitter } from 'node:events';
import type { RouterLink } from './link.js';

export interface RouterLine { name: string; up: number; total: number; rxPps: number; txPps: number; reachable: boolean }
export type Outcome = 'down' | 'leave';
const STREAMING = /^\s*(ping|traceroute|monitor|run\s+(ping|traceroute|monitor))\b/;

export class ConsoleSession extends EventEmitter {
  /** Lines already shown: append-only, rendered once each (Ink's <Static>). */
  readonly lines: string[] = [];
  input = '';
  /** Where typing goes in `input` (0..input.length). */
  cursor = 0;
  running = false;
  partial = '';
  pager: string[] = [];
  status = new Map<string, RouterLine>();
  confirm?: string;
  done?: Outcome;
  private history: string[] = [];
  private histPos = -1;
  private abort?: AbortController;
  private current: string;
  private last = new Map<string, { rx: number; tx: number; t: number }>();
  private timer?: NodeJS.Timeout;
  private buffered: string[] = [];

  constructor(readonly links: Map<string, RouterLink>, first: string, readonly o: { rows: () => number; foreground?: boolean; lab?: string; statusMs?: number }) {
    super();
    this.current = first;
    this.say(`vrouter console: lab ${o.lab ?? ''} routers ${[...links.keys()].join(', ')}. 'switch NODE' changes router; Ctrl-D leaves.`);
  }
  get router(): RouterLink { return this.links.get(this.current)!; }
  get routerName(): string { return this.current; }
  get prompt(): string { return this.router.prompt; }
  /** the router asks for a password (`plain-text-password`): typing is not echoed */
  get secretPrompt(): boolean { return /password: $/.test(this.prompt); }
  get banner(): string | null { return this.router.banner; }
  private changed() { this.emit('change'); }
  private say(s: string) { this.lines.push(...s.replace(/\n$/, '').split('\n')); this.changed(); }
  private pageSize() { return Math.max(3, this.o.rows() - 3); }

  start(): void {
    const poll = async () => {
      for (const [name, l] of this.links) {
        try {
          const s = await l.status();
          if (!s) continue;
          const prev = this.last.get(name);
          const dt = prev ? (s.time - prev.t) / 1000 : 0;
          this.status.set(name, {
            name, up: s.tunnels.filter(t => t.up).length, total: s.tunnels.length, reachable: true,
            rxPps: prev && dt > 0 ? Math.round((s.rxPackets - prev.rx) / dt) : 0, txPps: prev && dt > 0 ? Math.round((s.txPackets - prev.tx) / dt) : 0,
          });
          this.last.set(name, { rx: s.rxPackets, tx: s.txPackets, t: s.time });
        } catch { this.status.set(name, { name, up: 0, total: 0, rxPps: 0, txPps: 0, reachable: false }); }
      }
      this.changed();
    };
    void poll();
    this.timer = setInterval(() => void poll(), this.o.statusMs ?? 1000);
  }
  stop(): void { if (this.timer) clearInterval(this.timer); for (const l of this.links.values()) l.close(); }

  // ------------------------------------------------------------------ keys

  /**
   * Typed text. A terminal may deliver several keys in one chunk (fast typing, a paste, tmux
   * send-keys), so control characters inside it act as keys; what arrives while a command runs is
   * kept as typeahead and replayed when the prompt returns.
   */
  type(s: string): void {
    for (const ch of s) {
      if (this.running && ch !== '\x03') { this.typeahead += ch; continue; }
      if (ch === '\r' || ch === '\n') { this.enter(); continue; }
      if (ch === '\x03') { this.interrupt(); continue; }
      if (ch === '\x04') { this.eof(); continue; }
      if (ch === '\t') { void this.tab(); continue; }
      if (ch === '\x7f' || ch === '\b') { this.backspace(); continue; }
      if (this.editKey(ch)) continue;
      if (ch < ' ') continue;
      if (this.pager.length && this.confirm === undefined) { this.pagerKey(ch); continue; }
      if (ch === '?' && this.confirm === undefined) { void this.showHelp(); continue; }
      this.setInput(this.input.slice(0, this.cursor) + ch + this.input.slice(this.cursor), this.cursor + 1);
    }
    this.changed();
  }

  private setInput(text: string, cursor = text.length): void {
    this.input = text;
    this.cursor = Math.max(0, Math.min(cursor, text.length));
  }
  /** Line editing, with the Emacs keys of the JUNOS CLI: Ctrl-A/E home/end, Ctrl-B/F left/right,
   *  Ctrl-U kill the line, Ctrl-K kill to the end, Ctrl-W kill the word before the cursor. */
  private editKey(ch: string): boolean {
    const i = this.input, c = this.cursor;
    switch (ch) {
      case '\x01': this.cursor = 0; return true;
      case '\x05': this.cursor = i.length; return true;
      case '\x02': this.left(); return true;
      case '\x06': this.right(); return true;
      case '\x15': this.setInput(i.slice(c), 0); return true;
      case '\x0b': this.setInput(i.slice(0, c), c); return true;
      case '\x17': { const start = i.slice(0, c).replace(/\S+\s*$/, '').length; this.setInput(i.slice(0, start) + i.slice(c), start); return true; }
      default: return false;
    }
  }
  left(): void { if (this.cursor > 0) { this.cursor--; this.changed(); } }
  right(): void { if (this.cursor < this.input.length) { this.cursor++; this.changed(); } }
  private typeahead = '';
  backspace(): void {
    if (this.running || this.cursor === 0) return;
    this.setInput(this.input.slice(0, this.cursor - 1) + this.input.slice(this.cursor), this.cursor - 1);
    this.changed();
  }
  historyUp(): void {
    if (this.running || !this.history.length) return;
    this.histPos = this.histPos < 0 ? this.history.length - 1 : Math.max(0, this.histPos - 1);
    this.setInput(this.history[this.histPos]!);
    this.changed();
  }
  historyDown(): void {
    if (this.running || this.histPos < 0) return;
    this.histPos++;
    if (this.histPos >= this.history.length) { this.histPos = -1; this.setInput(''); } else this.setInput(this.history[this.histPos]!);
    this.changed();
  }
  /** Ctrl-C: cancel the running command, or drop the line being typed. */
  interrupt(): void {
    if (this.running) { this.abort?.abort(); return; }
    if (this.pager.length) { this.pager = []; this.changed(); return; }
    if (this.confirm !== undefined) { this.confirm = undefined; this.setInput(''); this.changed(); return; }
    this.setInput('');
    this.changed();
  }
  /** Ctrl-D: leave (at an empty prompt), or end `load ... terminal` input. */
  eof(): void {
    if (this.running || this.input) return;
    if (this.collecting) { void this.run('\x04'); return; }
    this.leave();
  }
  private collecting = false;

  async tab(): Promise<void> {
    if (this.running || this.pager.length || this.confirm !== undefined) return;
    const r = await this.router.complete(this.input);
    if (r.choices.length > 1 && r.line === this.input) { this.say(this.prompt + this.input); this.say(r.choices.map(c => `  ${c}`).join('\n')); }
    this.setInput(r.line);
    this.changed();
  }

  private async showHelp(): Promise<void> {
    const text = await this.router.help(this.input);
    this.say(this.prompt + this.input + '?');
    this.say(text);
  }

  enter(): void {
    if (this.confirm !== undefined) { this.answer(); return; }
    if (this.pager.length) { this.pagerKey('\r'); return; }
    if (this.running) return;
    const line = this.input;
    this.setInput('');
    void this.run(line);
  }

  // ------------------------------------------------------------------ running commands

  private async run(line: string): Promise<void> {
    if (this.banner && !this.collecting) this.say(`\n${this.banner}`);
    // a password prompt: what was typed is neither shown nor kept in the history
    const secret = this.secretPrompt;
    this.say((this.collecting ? '' : this.prompt) + (secret ? '' : line === '\x04' ? '^D' : line));
    if (line.trim() && line !== '\x04' && !this.collecting && !secret) { this.history.push(line); this.histPos = -1; }
    const sw = /^\s*switch\s+(\S+)\s*$/.exec(line);
    if (sw) {
      if (this.links.has(sw[1]!)) { this.current = sw[1]!; this.say(`now on ${this.current}`); }
      else this.say(`error: no router ${sw[1]} in this lab (routers: ${[...this.links.keys()].join(', ')})`);
      return;
    }
    if (!line.trim()) return;
    this.running = true;
    this.abort = new AbortController();
    this.changed();
    const streaming = STREAMING.test(line) || /\|\s*no-more/.test(line);
    this.buffered = [];
    const onOut = (s: string) => {
      const text = this.partial + s;
      const parts = text.split('\n');
      this.partial = parts.pop()!;
      if (streaming) this.lines.push(...parts); else this.buffered.push(...parts);
      this.changed();
    };
    try {
      const r = await this.router.exec(line, onOut, this.abort.signal);
      if (this.partial) { (streaming ? this.lines : this.buffered).push(this.partial); this.partial = ''; }
      this.collecting = r.collecting;
      if (r.closed) this.buffered.push(`error: the connection to ${this.current} was closed (is the router running?)`);
      this.showBuffered();
      if (r.exit) this.leave();
    } finally {
      this.running = false;
      this.changed();
    }
    if (this.typeahead) { const t = this.typeahead; this.typeahead = ''; this.type(t); }
  }

  private showBuffered(): void {
    const page = this.pageSize();
    if (this.buffered.length <= page) { this.lines.push(...this.buffered); this.buffered = []; return; }
    this.lines.push(...this.buffered.slice(0, page));
    this.pager = this.buffered.slice(page);
    this.buffered = [];
  }

  private pagerKey(k: string): void {
    if (k === 'q' || k === 'Q') this.pager = [];
    else if (k === '\r' || k === '\n') this.lines.push(this.pager.shift()!);
    else if (k === ' ') { this.lines.push(...this.pager.slice(0, this.pageSize())); this.pager = this.pager.slice(this.pageSize()); }
    this.changed();
  }

  // ------------------------------------------------------------------ leaving

  private leave(): void {
    if (this.o.foreground) {
      this.confirm = `Bring lab ${this.o.lab} down? [yes,no] (yes) `;
      this.setInput('');
      this.changed();
      return;
    }
    this.finish('leave');
  }
  private answer(): void {
    const a = this.input.trim().toLowerCase();
    this.say(`${this.confirm}${this.input}`);
    this.setInput('');
    if (a === '' || a === 'y' || a === 'yes') this.finish('down');
    else if (a === 'n' || a === 'no') this.finish('leave');
    else { this.changed(); return; }
  }
  private finish(o: Outcome): void {
    this.confirm = undefined;
    this.done = o;
    this.changed();
    this.emit('done', o);
  }
}
