// /cli/NODE: the router's JUNOS CLI in an xterm, over /ws/cli/NODE to its control socket: the router's
// interpreter answers (prompt, ? help, Tab completion, configuration mode, commit); the line editing,
// history and the --More-- pager are here, as in the console (src/console/session.ts).
import { Terminal } from '@xterm/xterm';
import { wsUrl } from './common.js';

type Msg = { id?: number; out?: string; done?: boolean; prompt?: string; banner?: string | null; line?: string; choices?: string[]; error?: string | boolean; exit?: boolean; collecting?: boolean; closed?: boolean };

const node = document.body.dataset.node!;
document.body.className = 'cli';
const box = document.createElement('div');
box.id = 'term';
document.body.append(box);
const term = new Terminal({ convertEol: true, scrollback: 5000, fontSize: 14, cursorBlink: true });
term.open(box);
const fit = () => { const rows = Math.max(10, Math.floor(window.innerHeight / 17)); const cols = Math.max(40, Math.floor(window.innerWidth / 8.5)); term.resize(cols, rows); };
fit(); window.addEventListener('resize', fit);
(window as unknown as { vrouterTerm: Terminal }).vrouterTerm = term;

let prompt = '', input = '', running = false, collecting = false, nextId = 1;
let runningId = 0;
const history: string[] = []; let histPos = -1;
let pager: string[] = [];
let buffered = '';
let typeahead: string[] = [];
const replay = () => { const keys = typeahead; typeahead = []; for (const k of keys) key(k); };
const waiting = new Map<number, (m: Msg) => void>();
const ws = new WebSocket(wsUrl(`/ws/cli/${encodeURIComponent(node)}`));

function request(body: object, onMsg: (m: Msg) => void): number {
  const id = nextId++;
  waiting.set(id, onMsg);
  ws.send(JSON.stringify({ id, ...body }));
  return id;
}
const redraw = () => term.write(`\r\x1b[K${collecting ? '' : prompt}${input}`);
const secret = () => /password:\s*$/i.test(prompt);

ws.onmessage = ev => {
  const m = JSON.parse(String(ev.data)) as Msg;
  if (m.closed) { term.write(`\r\n${typeof m.error === 'string' ? m.error : 'connection closed'}\r\n`); return; }
  const h = m.id !== undefined ? waiting.get(m.id) : undefined;
  if (!h) { if (typeof m.error === 'string') term.write(`\r\n${m.error}\r\n`); return; }
  if (m.done) waiting.delete(m.id!);
  h(m);
};
ws.onopen = () => request({ hello: true }, m => { prompt = String(m.prompt ?? `root@${node}> `); if (m.banner) term.write(`${m.banner}\r\n`); redraw(); document.body.dataset.ready = '1'; });
ws.onclose = () => { document.body.dataset.ready = 'closed'; term.write('\r\n[connection closed]\r\n'); };

/** Output beyond a screen waits behind --More-- (space: a page, enter: a line, q: stop). */
function showPaged(text: string): void {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const page = term.rows - 2;
  term.write(lines.slice(0, page).map(l => l + '\n').join(''));
  pager = lines.slice(page);
  if (pager.length) term.write('---(more)---');
}
function pagerKey(k: string): void {
  term.write('\r\x1b[K');
  if (k === 'q' || k === 'Q' || k === '\x03') pager = [];
  else if (k === '\r') term.write(pager.shift()! + '\n');
  else if (k === ' ') { term.write(pager.slice(0, term.rows - 2).map(l => l + '\n').join('')); pager = pager.slice(term.rows - 2); }
  if (pager.length) term.write('---(more)---'); else redraw();
}

function run(line: string): void {
  term.write('\r\n');
  if (line.trim() && line !== '\x04' && !collecting && !secret()) { history.push(line); histPos = -1; }
  if (!line.trim() && !collecting) { redraw(); return; }
  running = true;
  buffered = '';
  const stream = /^\s*monitor\b|\|\s*no-more/.test(line);
  runningId = request({ cmd: line }, m => {
    if (typeof m.out === 'string') { if (stream) term.write(m.out); else buffered += m.out; }
    if (!m.done) return;
    running = false;
    prompt = m.prompt ?? prompt; collecting = !!m.collecting;
    if (buffered) showPaged(buffered);
    buffered = '';
    if (m.exit) { term.write('\r\n[session ended]\r\n'); ws.close(); return; }
    if (!pager.length) redraw();
    replay();
  });
}

function key(k: string): void {
  if (pager.length) { pagerKey(k); return; }
  // keys typed while a command runs wait for its end (as in the console), except Ctrl-C, which stops it
  if (running) { if (k === '\x03') { typeahead = []; ws.send(JSON.stringify({ id: runningId, cancel: true })); } else if (typeahead.length < 4096) typeahead.push(k); return; }
  switch (k) {
    case '\r': { const l = input; input = ''; run(l); return; }
    case '\x7f': case '\b': input = input.slice(0, -1); redraw(); return;
    case '\x03': input = ''; term.write('^C\r\n'); redraw(); return;
    case '\x04': if (!input) { if (collecting) run('\x04'); } return;
    case '\x15': input = ''; redraw(); return;
    case '\x1b[A': if (history.length) { histPos = histPos < 0 ? history.length - 1 : Math.max(0, histPos - 1); input = history[histPos]!; redraw(); } return;
    case '\x1b[B': if (histPos >= 0) { histPos++; input = histPos >= history.length ? (histPos = -1, '') : history[histPos]!; redraw(); } return;
    case '\t': request({ complete: input }, m => {
      const choices = m.choices ?? [];
      if (choices.length > 1 && m.line === input) term.write(`\r\n${choices.map(c => `  ${c}`).join('\r\n')}\r\n`);
      input = m.line ?? input; redraw();
    }); return;
    case '?': if (!collecting && !secret()) { request({ help: input }, m => { term.write(`?\r\n${m.out ?? ''}`); if (!(m.out ?? '').endsWith('\n')) term.write('\r\n'); redraw(); }); return; } break;
  }
  if (k.startsWith('\x1b') || k < ' ') return;
  input += k;
  term.write(secret() ? '' : k);
}

term.onData(d => {
  // a paste arrives as one chunk: one key at a time, escape sequences whole
  const keys = d.match(/\x1b\[[0-9;]*[A-Za-z~]|\x1b.|[\s\S]/g) ?? [];
  for (const k of keys) key(k);
});
term.focus();
