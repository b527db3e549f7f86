/**
 * The JUNOS command-line interpreter of one router: command text in, output text and effects out.
 * The Ink console, `vrouter exec` and scripts all drive this one class. It never blocks the
 * router: long commands (ping, traceroute, monitor traffic) are async and stop on their signal.
 */
import type { Router } from '../router/router.js';
import { CommitDb } from './commitdb.js';
import { posix } from 'node:path';
import { diagnose, formatDiagnosis } from '../router/diagnose.js';
import * as pki from '../pki/certs.js';
import { copyFromUrl } from '../router/file-url.js';
import { enroll, ENROLL_OPTS } from '../pki/enroll.js';
import { splitWords, splitPipes, matchPrefix, CliError, Word, commonPrefix } from './words.js';
import { SchemaWalk } from './cfgwalk.js';
import * as show from './show.js';
import * as rpdShow from '../rpd/show.js';
import { ping, traceroute, monitor, packetTrace } from '../router/ops.js';
import { showConfig, showSet, showAt } from '../config/display.js';
import { lookup, applyWords, SyntaxError_, CNode, Pos } from '../config/tree.js';
import { tokenize, LexError, Token } from '../config/lexer.js';
import { childDef, describeType, Def, ValueType, isIpv4 } from '../config/schema.js';
import type { PicSnapshot } from '../../pics/es/core.js';
import { readFileSync } from 'node:fs';
import { resolveLoadKeyFiles, resolveLoadKeyFilesNoPrompt, NeedPassphrase } from '../api/keyfile.js';
import { encrypt as cryptEncrypt } from 'unixcrypt';
import { randomBytes } from 'node:crypto';

/** JUNOS's rules for a new password: at least 6 characters, and more than one kind of them. */
function passwordProblem(pw: string): string | undefined {
  if (pw.length < 6) return 'minimum password length is 6';
  if (pw.length > 128) return 'maximum password length is 128';
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter(re => re.test(pw)).length;
  if (kinds < 2) return 'require change of case, digits or punctuation';
  return undefined;
}
import { treeToXml } from '../api/config-xml.js';
import { rpcForCommand, opXml } from '../api/op-xml.js';
import { esc as escXml, prettyXml } from '../api/xml.js';

/** The tree with only the statements on `path` (for `show configuration PATH | display xml`). */
function wrapPath(tree: CNode, path: string[]): CNode {
  const target = lookup(tree, path);
  const shell = (n: CNode): CNode => { const c = new CNode(n.def, n.keyword, n.key, n.keyless); c.values = n.values.slice(); c.inactive = n.inactive; return c; };
  const chain: CNode[] = [];
  const find = (n: CNode): boolean => n === target || n.children.some(ch => find(ch) && (chain.unshift(ch), true));
  find(tree);
  const root = shell(tree);
  let cur = root;
  for (const n of chain) cur = cur.add(n === target ? n.clone() : shell(n));
  return root;
}
import { intToIp, ipToInt } from '../net/ip.js';

export interface Session { write(s: string): void; signal?: AbortSignal }

/**
 * Did a command's output report an error? A caret line (every syntax or value error), an `error:`
 * line, a failed commit or a load with errors. `vrouter exec` exits 1 on these.
 */
export function outputHasError(out: string): boolean {
  return /^\s*\^$|^error: |configuration check-out failed|^load complete \(\d+ errors\)/m.test(out);
}
export interface ExecResult { exit?: boolean }

interface Parsed { flags: Set<string>; opts: Map<string, string>; arg?: string; rest: string[]; endCol: number }
/** An option; `range` makes it numeric, checked where it is typed (`decimal`: fractions allowed). */
interface Opt { name: string; help: string; arg?: string; range?: { min: number; max: number; decimal?: boolean }; address?: boolean }

/** A numeric option value outside its range is refused with a caret, as JUNOS does. */
function checkOptValue(o: Opt, v: Word): void {
  if (o.address && !isIpv4(v.text)) throw new CliError(v.col, `syntax error, expecting ${o.arg}.`);
  const r = o.range;
  if (!r) return;
  const ok = r.decimal ? /^\d+(\.\d+)?$|^\.\d+$/.test(v.text) : /^\d+$/.test(v.text);
  if (!ok) throw new CliError(v.col, `syntax error, expecting ${o.arg}.`);
  const n = Number(v.text);
  if (n < r.min || n > r.max) throw new CliError(v.col, `Value ${v.text} is not within range (${r.min}..${r.max}) at '${v.text}'`);
}
interface OpNode {
  name: string; help: string;
  sub?: OpNode[];
  flags?: Opt[];
  arg?: { name: string; help: string; required?: boolean; rest?: boolean; complete?: () => string[] };
  run?: (p: Parsed, io: Session) => Promise<void> | void;
  displaySet?: boolean;   // accepts `| display set`
}

const HELP_PAD = 21;
const LEVELS = new Set(['brief', 'detail', 'terse', 'extensive']);
/** A `?` line: the name in its column, the help after it (at least one space, however long the name). */
const line = (name: string, help: string) => `  ${name.length >= HELP_PAD ? name + ' ' : name.padEnd(HELP_PAD)}${help}`.trimEnd();
const ambiguous = (w: { text: string; col: number }, items: Array<{ name: string; help: string }>) =>
  new CliError(w.col, `'${w.text}' is ambiguous.`, 'Possible completions:\n' + items.map(x => line(x.name, x.help)).join('\n'));

/** Output filters: `| match`, `| except`, `| count`, `| last`, `| no-more`. */
class PipeWriter implements Session {
  private buf = '';
  private count = 0;
  private tail?: string[];
  private tailN = 0;
  constructor(private out: Session, private filters: Array<{ kind: string; re?: RegExp; n?: number }>, readonly signal?: AbortSignal) {
    const last = filters.find(f => f.kind === 'last');
    if (last) { this.tail = []; this.tailN = last.n!; }
  }
  write(s: string): void {
    if (!this.filters.some(f => f.kind !== 'no-more' && f.kind !== 'display-set' && f.kind !== 'compare')) { this.out.write(s); return; }
    this.buf += s;
    let i;
    while ((i = this.buf.indexOf('\n')) >= 0) { this.emit(this.buf.slice(0, i)); this.buf = this.buf.slice(i + 1); }
  }
  private emit(l: string): void {
    for (const f of this.filters) {
      if (f.kind === 'match' && !f.re!.test(l)) return;
      if (f.kind === 'except' && f.re!.test(l)) return;
    }
    if (this.filters.some(f => f.kind === 'count')) { this.count++; return; }
    if (this.tail) { this.tail.push(l); if (this.tail.length > this.tailN) this.tail.shift(); return; }
    this.out.write(l + '\n');
  }
  end(): void {
    if (this.buf) { this.emit(this.buf); this.buf = ''; }
    if (this.tail) { for (const l of this.tail) this.out.write(l + '\n'); this.tail = []; }
    if (this.filters.some(f => f.kind === 'count')) this.out.write(`Count: ${this.count} lines\n`);
  }
}

export class Interpreter {
  mode: 'op' | 'config' = 'op';
  editPath: string[] = [];
  private collecting?: { mode: 'merge' | 'override' | 'set' | 'replace'; lines: string[]; at?: string[] };
  readonly db: CommitDb;
  private opRoot: OpNode;

  constructor(readonly router: Router, db?: CommitDb) {
    this.db = db ?? new CommitDb(router);
    this.opRoot = { name: '', help: '', sub: this.opCommands() };
  }

  get prompt(): string {
    if (this.asking) return this.asking.first === undefined ? 'New password: ' : 'Retype new password: ';
    if (this.askingKey) return `Enter the passphrase of ${this.askingKey.source}: `;
    return this.collecting ? '' : `root@${this.router.name}${this.mode === 'op' ? '>' : '#'} `;
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

  private ifNames = () => [...this.router.pfe.ifds.keys(), ...this.router.pfe.ifls.keys()].sort();
  private saNames = () => [...(this.router.model?.sas.keys() ?? [])];
  private filterNames = () => [...this.router.pfe.filters.keys()];
  private pic(): Promise<PicSnapshot> { return this.router.picSnapshot(); }

  /** Each ES PIC's own snapshot, by FPC/PIC. */
  private async picsByName(): Promise<Map<string, PicSnapshot>> {
    const m = new Map<string, PicSnapshot>();
    for (const p of this.router.chassis.esPics()) {
      const name = `${p.fpc}/${p.pic}`;
      const s = this.router.ipsec.snapshotPic ? await this.router.ipsec.snapshotPic(name) : await this.pic();
      if (s) m.set(name, s);
    }
    return m;
  }

  private opCommands(): OpNode[] {
    const r = this.router;
    const ipsecSa: OpNode = {
      name: 'security-associations', help: 'Show IPsec security associations',
      flags: [{ name: 'brief', help: 'Display brief output' }, { name: 'detail', help: 'Display detailed output' }],
      arg: { name: '<sa-name>', help: 'Name of security association', complete: this.saNames },
      run: async (p, io) => io.write(show.ipsecSas(r, await this.pic(), p.flags.has('brief') ? 'brief' : p.flags.has('detail') ? 'detail' : 'standard', p.arg)),
    };
    const ikeSa: OpNode = {
      name: 'security-associations', help: 'Show IKE security associations',
      flags: [{ name: 'brief', help: 'Display brief output' }, { name: 'detail', help: 'Display detailed output' }],
      arg: { name: '<peer-address>', help: 'Address of the IKE peer', complete: () => r.kmd.ikeSnapshot().map(s => intToIp(s.peer)) },
      run: (p, io) => {
        if (p.arg !== undefined && !isIpv4(p.arg)) { io.write(`error: invalid peer address ${p.arg}\n`); return; }
        io.write(show.ikeSas(r, p.flags.has('detail'), p.arg));
      },
    };
    // vrouter's own: what stops each tunnel and what to change (docs/cli.md)
    const diagnosis: OpNode = {
      name: 'diagnosis', help: 'Show why IPsec tunnels are down or troubled, and what to change',
      arg: { name: '<sa-name>', help: 'Name of security association', complete: this.saNames },
      run: async (p, io) => {
        if (p.arg !== undefined && !r.model?.sas.has(p.arg)) { io.write(`error: security association ${p.arg} not found\n`); return; }
        io.write(formatDiagnosis(diagnose(r, await this.pic(), p.arg)));
      },
    };
    const certificates: OpNode = {
      name: 'certificates', help: 'Show IPsec certificate database',
      flags: [{ name: 'brief', help: 'Display brief output' }, { name: 'detail', help: 'Display detailed output' }, { name: 'crl', help: 'Entries of a certificate revocation list', arg: '<crl-name>' }],
      arg: { name: '<serial-number>', help: 'Serial number of a certificate' },
      run: (p, io) => p.opts.has('crl') ? io.write(pki.showCrls(r.pki.crlList(), p.opts.get('crl')!)) : io.write(pki.showCertificates(pki.certificateDatabase(r.files, [...r.pki.peers.values()].map(c => ({ name: c.peer, der: c.cert.raw }))), p.flags.has('brief') ? 'brief' : p.flags.has('detail') ? 'detail' : 'standard', p.arg)),
    };
    const ipsec: OpNode = { name: 'ipsec', help: 'Show IP Security information', sub: [certificates, diagnosis, ipsecSa] };
    const ike: OpNode = { name: 'ike', help: 'Show Internet Key Exchange information', sub: [ikeSa] };
    return [
      {
        name: 'show', help: 'Show system information', sub: [
          {
            name: 'interfaces', help: 'Show interface information',
            flags: [{ name: 'terse', help: 'Display terse output' }, { name: 'extensive', help: 'Display extensive output' }, { name: 'brief', help: 'Display brief output' }, { name: 'detail', help: 'Display detailed output' }],
            arg: { name: '<interface-name>', help: 'Name of physical or logical interface', complete: this.ifNames },
            run: async (p, io) => {
              if (p.arg && (!r.pfe.ifds.has(p.arg.replace(/\.\d+$/, '')) || (p.arg.includes('.') && !r.pfe.ifls.has(p.arg)))) { io.write(`error: device ${p.arg} not found\n`); return; }
              if (p.flags.has('terse')) io.write(show.interfacesTerse(r, p.arg));
              else io.write(show.interfacesDetail(r, p.arg, p.flags.has('extensive') || p.flags.has('detail'), await this.picsByName()));
            },
          },
          {
            name: 'route', help: 'Show routing table information', arg: { name: '<destination>', help: 'IP address and optional prefix length of destination' },
            flags: [{ name: 'protocol', help: 'Name of protocol', arg: '<protocol>' }, { name: 'receive-protocol', help: 'Routes received from a protocol peer', arg: '<protocol>' }, { name: 'advertising-protocol', help: 'Routes advertised to a protocol peer', arg: '<protocol>' }],
            run: (p, io) => io.write(rpdShow.routeCommand(r, p.opts, p.arg) ?? show.routes(r, p.arg)),
          },
          {
            name: 'bgp', help: 'Show BGP information', sub: [
              { name: 'summary', help: 'Show BGP summary information', run: (_p, io) => io.write(rpdShow.bgpSummary(r.rpd)) },
              { name: 'neighbor', help: 'Show BGP neighbor information', arg: { name: '<address>', help: 'IP address of the neighbor' }, run: (p, io) => io.write(rpdShow.bgpNeighbor(r.rpd, p.arg)) },
            ],
          },
          {
            name: 'firewall', help: 'Show firewall information',
            flags: [{ name: 'filter', help: 'Name of filter', arg: '<filter-name>' }],
            run: (p, io) => io.write(show.firewall(r, p.opts.get('filter'))),
          },
          ipsec, ike,
          { name: 'security', help: 'Show security information', sub: [ipsec, ike] },
          {
            name: 'configuration', help: 'Show current configuration', displaySet: true,
            arg: { name: '<statement>', help: 'Configuration hierarchy to show', rest: true },
            run: () => { /* handled in runOp: it needs the pipes */ },
          },
          { name: 'pfe', help: 'Show Packet Forwarding Engine information', sub: [{ name: 'statistics', help: 'Show Packet Forwarding Engine statistics', sub: [{ name: 'traffic', help: 'Show Packet Forwarding Engine traffic statistics', run: (_p, io) => io.write(show.pfeStatistics(r)) }] }] },
          { name: 'chassis', help: 'Show chassis information', sub: [{ name: 'hardware', help: 'Show installed hardware components', run: (_p, io) => io.write(show.chassisHardware(r)) }] },
          { name: 'system', help: 'Show system information', sub: [{ name: 'uptime', help: 'Show time since system and processes started', run: (_p, io) => io.write(show.systemUptime(r)) },
            { name: 'commit', help: 'Show pending commit and commit history', run: (_p, io) => io.write(this.db.showCommits()) }] },
          {
            name: 'log', help: 'Show contents of log file', arg: { name: '<filename>', help: 'Name of log file', required: true, complete: () => r.log.names() },
            run: (p, io) => {
              const l = r.log.read(p.arg!);
              if (!l) io.write(`error: could not resolve file: ${p.arg}\n`);
              else io.write(l.map(x => x + '\n').join(''));
            },
          },
        ],
      },
      {
        name: 'ping', help: 'Ping remote target',
        arg: { name: '<host>', help: 'Hostname or IP address of remote host', required: true },
        flags: [
          { name: 'count', help: 'Number of ping requests to send (1..2000000000 packets)', arg: '<count>', range: { min: 1, max: 2000000000 } },
          { name: 'source', help: 'Source address of echo request', arg: '<source>', address: true },
          { name: 'rapid', help: 'Send requests rapidly (default count of 5)' },
          { name: 'size', help: 'Size of request packets (0..65468 bytes)', arg: '<size>', range: { min: 0, max: 65468 } },
          { name: 'ttl', help: 'IP time-to-live value (IPv6 hop-limit value) (0..255 hops)', arg: '<ttl>', range: { min: 0, max: 255 } },
          { name: 'do-not-fragment', help: "Don't fragment echo request packets (IPv4)" },
          { name: 'interval', help: 'Delay between ping requests (0.1..10000 seconds)', arg: '<interval>', range: { min: 0.1, max: 10000, decimal: true } },
          { name: 'wait', help: 'Delay after sending last packet (0..86400 seconds)', arg: '<wait>', range: { min: 0, max: 86400 } },
        ],
        run: async (p, io) => {
          if (!isIpv4(p.arg!)) { io.write(`ping: cannot resolve ${p.arg}: Unknown host\n`); return; }
          const n = (k: string) => (p.opts.has(k) ? Number(p.opts.get(k)) : undefined);
          // JUNOS: `wait` without `count` sends 5 requests
          const count = n('count') ?? (p.opts.has('wait') ? 5 : undefined);
          await ping(r, { host: p.arg!, count, source: p.opts.get('source'), rapid: p.flags.has('rapid'), size: n('size'), ttl: n('ttl'), interval: n('interval'), wait: n('wait'), dontFragment: p.flags.has('do-not-fragment') }, io);
        },
      },
      {
        name: 'traceroute', help: 'Trace route to remote host',
        arg: { name: '<host>', help: 'Hostname or IP address of remote host', required: true },
        flags: [
          { name: 'ttl', help: 'Maximum IP time-to-live value (1..255 hops)', arg: '<ttl>', range: { min: 1, max: 255 } },
          { name: 'wait', help: 'Number of seconds to wait for response (1..86400)', arg: '<wait>', range: { min: 1, max: 86400 } },
        ],
        run: async (p, io) => {
          if (!isIpv4(p.arg!)) { io.write(`traceroute: unknown host ${p.arg}\n`); return; }
          await traceroute(r, { host: p.arg!, maxHops: p.opts.has('ttl') ? Number(p.opts.get('ttl')) : undefined, wait: p.opts.has('wait') ? Number(p.opts.get('wait')) : undefined }, io);
        },
      },
      {
        name: 'monitor', help: 'Show real-time debugging information', sub: [{
          name: 'packet-trace', help: 'Show each forwarding stage the next packets cross, and why they leave',
          flags: [{ name: 'interface', help: 'Trace only packets received on this interface', arg: '<interface-name>' }, { name: 'count', help: 'Number of packets to trace (1..1000)', arg: '<count>', range: { min: 1, max: 1000 } }],
          run: async (p, io) => packetTrace(r, { ifname: p.opts.get('interface'), count: p.opts.has('count') ? Number(p.opts.get('count')) : undefined }, io),
        }, {
          name: 'traffic', help: 'Show real-time network traffic information',
          flags: [{ name: 'interface', help: 'Name of interface', arg: '<interface-name>' }, { name: 'count', help: 'Number of packets to receive (0..1000000)', arg: '<count>', range: { min: 0, max: 1000000 } }],
          run: async (p, io) => {
            const ifname = p.opts.get('interface') ?? [...r.pfe.ifds.keys()][0]!;
            await monitor(r, { ifname, count: p.opts.has('count') ? Number(p.opts.get('count')) : undefined }, io);
          },
        }],
      },
      {
        name: 'request', help: 'Make system-level requests', sub: [{
          name: 'security', help: 'Make security requests', sub: [
            {
              name: 'key-pair', help: 'Generate a public and private key pair',
              arg: { name: '<name>', help: 'Name of the file in /var/etc/ikecert that holds the pair', required: true },
              flags: [
                { name: 'size', help: 'Key size in bits (512, 1024, 1596, 2048; default 1024)', arg: '<size>' },
                { name: 'type', help: 'Key type (rsa, dsa; default rsa)', arg: '<type>' },
              ],
              run: async (p, io) => {
                const size = Number(p.opts.get('size') ?? 1024), type = (p.opts.get('type') ?? 'rsa').toLowerCase();
                if (!(pki.KEY_SIZES as readonly number[]).includes(size)) { io.write(`error: size ${p.opts.get('size')}: the key size is one of 512, 1024, 1596, 2048\n`); return; }
                if (type !== 'rsa' && type !== 'dsa') { io.write(`error: type ${type}: the key type is rsa or dsa\n`); return; }
                try { io.write(await pki.makeKeyPair(r.files, p.arg!, size, type) + '\n'); }
                catch (e) { io.write(`${(e as Error).message}\n`); }
              },
            },
            {
              name: 'certificate', help: 'Certificate requests', sub: [{
                name: 'enroll', help: 'Obtain a certificate from a certificate authority (SCEP)',
                flags: ENROLL_OPTS,
                run: (p, io) => enroll(r, p.opts, io),
              }],
            },
          ],
        }],
      },
      {
        name: 'file', help: 'Perform file operations', sub: [
          {
            name: 'list', help: 'List file information', arg: { name: '<path>', help: 'Path name' },
            flags: [{ name: 'detail', help: 'Display detailed output' }],
            run: (p, io) => {
              try {
                const dir = r.files.resolve(p.arg ?? '/var/etc/ikecert');
                const list = r.files.list(dir);
                io.write(`${dir}:\n` + list.map(f => p.flags.has('detail') ? `${f.dir ? 'd' : '-'}${f.secret ? 'rw-------' : 'rw-r--r--'}  root  ${String(f.size).padStart(8)} ${f.mtime.toISOString().slice(0, 16).replace('T', ' ')} ${f.name}${f.dir ? '/' : ''}` : `${f.name}${f.dir ? '/' : ''}`).join('\n') + (list.length ? '\n' : ''));
              } catch (e) { io.write(`${(e as Error).message}\n`); }
            },
          },
          {
            // paths on the router's disk, or an http:// URL as the source; a private key stays owner-only
            name: 'copy', help: 'Copy files (local or remote)', arg: { name: '<source> <destination>', help: 'Source and destination paths', rest: true },
            run: async (p, io) => {
              const [src, dst, extra] = p.rest;
              if (!src || !dst || extra !== undefined) { io.write('error: file copy takes a source and a destination\n'); return; }
              if (/^[a-z]+:\/\//.test(src) || /^[a-z]+:\/\//.test(dst)) { io.write(await copyFromUrl(r.files, src, dst) + '\n'); return; }   // src/router/file-url.ts
              try {
                const from = r.files.resolve(src);
                let to = r.files.resolve(dst);
                if (r.files.list(posix.dirname(to)).some(f => f.path === to && f.dir)) to = posix.join(to, posix.basename(from));
                r.files.write(to, r.files.read(from), { secret: r.files.isSecret(from) });
              } catch (e) { io.write(`${(e as Error).message}\n`); }
            },
          },
          {
            name: 'show', help: 'Show file contents', arg: { name: '<filename>', help: 'Name of file', required: true },
            run: (p, io) => {
              try {
                io.write(pki.showFile(r.files, p.arg!));
              } catch (e) { io.write(`${(e as Error).message}\n`); }
            },
          },
        ],
      },
      {
        name: 'clear', help: 'Clear information in the system', sub: [
          { name: 'bgp', help: 'Clear BGP information', sub: [{
            name: 'neighbor', help: 'Clear BGP neighbor sessions', arg: { name: '<address>', help: 'IP address of the neighbor' },
            run: (p, io) => { const n = rpdShow.clearNeighbor(r.rpd, p.arg); if (n) io.write(n); },
          }] },
          { name: 'ipsec', help: 'Clear IP Security information', sub: [{
            name: 'security-associations', help: 'Clear IPsec security associations',
            arg: { name: '<sa-name>', help: 'Name of security association', complete: this.saNames },
            run: (p, io) => {
              if (p.arg !== undefined && !r.model?.sas.has(p.arg)) { io.write(`error: security association ${p.arg} not found\n`); return; }
              // negotiated SAs: kmd deletes them (the peer is told) and traffic negotiates new ones
              r.kmd.clearIpsec(p.arg);
              // ES PIC SAs and the Routing Engine's transport SAs (BGP) alike
              r.ipsec.clear?.(p.arg);
              r.reIpsec.clear(p.arg);
              r.log.write('messages', 'kmd', `KMD_SA_CLEAR: IPsec security associations${p.arg ? ` of ${p.arg}` : ''} cleared by root`);
            },
          }, {
            name: 'certificates', help: 'Clear the cache of peer certificates (and fetch the LDAP CRLs again)',
            run: () => { const n = r.pki.clearPeers(); r.kmdLog(`KMD_CERT_CACHE_CLEAR: ${n} cached peer certificate(s) cleared by root; CRLs from LDAP fetched again`); void r.pki.refreshLdap(true); },
          }] },
          { name: 'ike', help: 'Clear Internet Key Exchange information', sub: [{
            name: 'security-associations', help: 'Clear IKE security associations',
            arg: { name: '<peer-address>', help: 'Address of the IKE peer', complete: () => r.kmd.ikeSnapshot().map(s => intToIp(s.peer)) },
            run: (p, io) => {
              if (p.arg !== undefined && !isIpv4(p.arg)) { io.write(`error: invalid peer address ${p.arg}\n`); return; }
              r.kmd.clearIke(p.arg === undefined ? undefined : ipToInt(p.arg));
            },
          }] },
          { name: 'pfe', help: 'Clear Packet Forwarding Engine information', sub: [{ name: 'statistics', help: 'Clear Packet Forwarding Engine statistics', sub: [{ name: 'traffic', help: 'Clear Packet Forwarding Engine traffic statistics', run: () => { r.pfe.drops.clear(); for (const n of r.pfe.graph.nodes()) n.drops.clear(); r.pfe.local.in = r.pfe.local.out = 0; } }] }] },
          { name: 'firewall', help: 'Clear firewall counters', flags: [{ name: 'all', help: 'Clear all filters' }, { name: 'filter', help: 'Name of filter', arg: '<filter-name>' }], run: (p, io) => {
            const f = p.opts.get('filter');
            if (f && !r.pfe.filters.has(f)) { io.write(`error: filter ${f} not found\n`); return; }
            for (const [name, fl] of r.pfe.filters) if (!f || name === f) fl.clear();
          } },
          { name: 'interfaces', help: 'Clear interface information', sub: [{ name: 'statistics', help: 'Clear statistics and error counters', flags: [{ name: 'all', help: 'Clear statistics on all interfaces' }], arg: { name: '<interface-name>', help: 'Name of interface', complete: this.ifNames }, run: (p, io) => {
            if (p.arg && !r.pfe.ifds.has(p.arg.replace(/\.\d+$/, ''))) { io.write(`error: device ${p.arg} not found\n`); return; }
            for (const d of r.pfe.ifds.values()) if (!p.arg || p.arg === d.name) d.counters.clear();
            for (const l of r.pfe.ifls.values()) if (!p.arg || p.arg === l.name || p.arg === l.ifd.name) l.counters.clear();
          } }] },
        ],
      },
      { name: 'configure', help: 'Manipulate software configuration information', run: (_p, io) => { this.mode = 'config'; this.editPath = []; io.write('Entering configuration mode\n'); } },
      { name: 'exit', help: 'Exit the management session', run: () => { /* runOp returns exit */ } },
      { name: 'quit', help: 'Exit the management session', run: () => { /* runOp returns exit */ } },
    ];
  }

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

  private parsePipes(parts: Array<{ text: string; col: number }>): Array<{ kind: string; re?: RegExp; n?: number }> {
    const out: Array<{ kind: string; re?: RegExp; n?: number }> = [];
    const pipes = [
      { name: 'match', help: 'Show only text that matches a pattern' }, { name: 'except', help: 'Show only text that does not match a pattern' },
      { name: 'count', help: 'Count occurrences' }, { name: 'no-more', help: "Don't paginate output" },
      { name: 'last', help: 'Display end of output only' },
      { name: 'display', help: 'Show additional kinds of information' }, { name: 'compare', help: 'Compare configuration changes with prior version' },
    ];
    for (const part of parts) {
      const w = splitWords(part.text, part.col);
      if (!w.length) throw new CliError(part.col, 'syntax error, expecting <command>.');
      const m = matchPrefix(w[0]!.text, pipes);
      if (m.kind !== 'one') throw new CliError(w[0]!.col, m.kind === 'ambiguous' ? `'${w[0]!.text}' is ambiguous.` : 'syntax error, expecting <command>.');
      const k = m.item.name;
      if (k === 'match' || k === 'except') {
        if (w.length < 2) throw new CliError(part.col + part.text.length, 'syntax error, expecting <pattern>.');
        let re: RegExp;
        try { re = new RegExp(w.slice(1).map(x => x.text).join(' '), 'i'); } catch { throw new CliError(w[1]!.col, 'error: invalid regular expression'); }
        out.push({ kind: k, re });
      } else if (k === 'last') {
        // `| last N`: the last N lines (without N, a screenful: 24)
        const n = w[1] ? Number(w[1].text) : 24;
        if (w[1] && !(/^\d+$/.test(w[1].text) && n >= 1 && n <= 100000)) throw new CliError(w[1].col, 'error: value is not within range (1..100000)');
        if (w.length > 2) throw new CliError(w[2]!.col, 'syntax error.');
        out.push({ kind: 'last', n });
      } else if (k === 'display') {
        const dm = w[1] ? matchPrefix(w[1].text, [{ name: 'set', help: '' }, { name: 'xml', help: '' }]) : { kind: 'none' as const };
        if (dm.kind !== 'one') throw new CliError(w[1]?.col ?? part.col + part.text.length, 'syntax error, expecting set or xml.');
        out.push({ kind: dm.item.name === 'xml' ? 'display-xml' : 'display-set' });
      } else out.push({ kind: k });
    }
    return out;
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
    try { filters = this.parsePipes(parts.slice(1)); } catch (e) { if (e instanceof CliError) { io.write(this.caret(e)); return {}; } throw e; }
    const w = new PipeWriter(io, filters, io.signal);
    try {
      return this.mode === 'op' ? await this.runOp(cmd.text, filters, w) : await this.runConfig(cmd.text, filters, w);
    } catch (e) {
      if (e instanceof CliError) { w.write(this.caret(e)); return {}; }
      throw e;
    } finally { w.end(); }
  }

  private async runOp(text: string, filters: Array<{ kind: string }>, io: Session): Promise<ExecResult> {
    const words = splitWords(text);
    const { node, p } = this.parseOp(words, text.length + 1);
    if (filters.some(f => f.kind === 'display-set' || f.kind === 'compare') && !node.displaySet) throw new CliError(text.length + 3, 'syntax error.');
    if (node.name === 'exit' || node.name === 'quit') return { exit: true };
    if (filters.some(f => f.kind === 'display-xml')) { io.write(await this.displayXml(node.name, text, p.rest)); return {}; }
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

  /** `| display xml`: the RPC reply the XML API gives for the same command. */
  private async displayXml(name: string, text: string, rest: string[]): Promise<string> {
    let body: string;
    if (name === 'configuration') {
      const tree = this.db.active;
      const sub = rest.length ? lookup(tree, rest) : tree;
      body = treeToXml(sub && rest.length ? wrapPath(tree, rest) : tree);
    } else {
      const req = rpcForCommand(text);
      const x = req ? opXml(this.router, await this.pic(), req) : undefined;
      if (x) body = x;
      else { let out = ''; await this.runOp(text, [], { write: s => { out += s; } }); body = `<output>${escXml(out)}</output>`; }
    }
    return prettyXml(`<rpc-reply xmlns:junos="http://xml.juniper.net/junos/7.4R1/junos">${body}<cli><banner></banner></cli></rpc-reply>`);
  }

  // ------------------------------------------------------------------ configuration mode

  private configCommands: Opt[] = [
    { name: 'set', help: 'Set a parameter' }, { name: 'delete', help: 'Delete a data element' },
    { name: 'activate', help: 'Remove the inactive tag from a statement' }, { name: 'deactivate', help: 'Add the inactive tag to a statement' },
    { name: 'edit', help: 'Edit a sub-element' }, { name: 'show', help: 'Show a parameter' },
    { name: 'up', help: 'Exit one level of configuration' }, { name: 'top', help: 'Exit to top level of configuration' },
    { name: 'exit', help: 'Exit from this level' }, { name: 'quit', help: 'Quit from this level' },
    { name: 'commit', help: 'Commit current set of changes' }, { name: 'rollback', help: 'Roll back to previous committed configuration' },
    { name: 'load', help: 'Load configuration from ASCII file' }, { name: 'run', help: 'Run an operational-mode command' },
  ];

  private editPos(): Pos {
    let pos: Pos = { node: this.db.candidate, path: [] };
    if (this.editPath.length) {
      const toks = tokenize(this.editPath.join(' '));
      pos = applyWords(pos, toks, 'set', true);
    }
    return pos;
  }

  /**
   * Expand abbreviated keywords (and enum values) of a configuration path against the schema, as
   * JUNOS does in configuration mode: `set sec ipsec security-association sa1 man dir bi`.
   */
  private expand(toks: Token[]): Token[] {
    const walk = new SchemaWalk(this.editPos().node.def);
    const out: Token[] = [];
    for (const t of toks) {
      const tk = { ...t };
      out.push(tk);
      const st = walk.feed(t.text, t.kind === 'word');
      const prefix = (vals: string[], aliases: string[] = []) => {
        let m = matchPrefix(t.text, vals.map(v => ({ name: v })));
        if (m.kind === 'none' && aliases.length) m = matchPrefix(t.text, aliases.map(v => ({ name: v })));
        if (m.kind === 'one') tk.text = m.item.name;
        else if (m.kind === 'ambiguous') throw new CliError(t.col, `'${t.text}' is ambiguous.`);
      };
      if (st.kind === 'keyword') tk.text = st.word;
      else if (st.kind === 'value' && st.index === 0 && t.kind === 'word') {
        const ty = st.leaf.type!;
        if (ty.t === 'enum') prefix(ty.values);
        else if (ty.t === 'secret') prefix(['ascii-text', 'hexadecimal']);
      } else if (st.kind === 'key' && t.kind === 'word') {
        // aliases (bi-directional) name the same value: match the canonical spellings first
        const kt = st.list.keyType!;
        if (kt.t === 'enum') prefix(kt.values, Object.keys(kt.aliases ?? {}));
      } else if (st.kind === 'unknown') {
        const m = st.match;
        if (m.kind === 'ambiguous') throw new CliError(t.col, `'${t.text}' is ambiguous.`, 'Possible completions:\n' + m.items.map(x => line(x.name, st.level.children![x.name]!.help)).join('\n'));
        break;   // applyWords reports the syntax error where it is
      }
    }
    return out.concat(toks.slice(out.length));
  }

  private applyConfig(op: 'set' | 'delete' | 'activate' | 'deactivate', rest: string, col: number): string {
    let toks;
    try { toks = tokenize(rest); } catch (e) { if (e instanceof LexError) throw new CliError(col + e.col - 1, 'syntax error.'); throw e; }
    for (const t of toks) t.col += col - 1;
    toks = this.expand(toks);
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
    const m = matchPrefix(first.text, this.configCommands);
    if (m.kind === 'ambiguous') throw ambiguous(first, m.items);
    if (m.kind === 'none') throw new CliError(first.col, 'syntax error, expecting <command>.');
    const cmd = m.item.name;
    const restCol = words[1]?.col ?? text.length + 1;
    const rest = text.slice(restCol);
    const arg = (i: number) => words[i]?.text;
    switch (cmd) {
      case 'set': case 'delete': case 'activate': case 'deactivate': {
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
      case 'edit': {
        if (words.length < 2) throw new CliError(text.length + 1, 'syntax error, expecting <statement>.');
        const backup = this.db.candidate.clone();
        try {
          let toks = tokenize(rest);
          for (const t of toks) t.col += restCol - 1;
          toks = this.expand(toks);
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
      case 'up': {
        const n = Number(arg(1) ?? 1);
        for (let i = 0; i < n && this.editPath.length; i++) this.upOne();
        return {};
      }
      case 'top': this.editPath = []; return {};
      case 'exit': case 'quit': {
        if (arg(1) === 'configuration-mode' || this.editPath.length === 0) {
          if (this.db.changed) io.write('The configuration has been changed but not committed\n');
          io.write('Exiting configuration mode\n');
          this.mode = 'op'; this.editPath = [];
        } else this.upOne();
        return {};
      }
      case 'show': {
        if (filters.some(f => f.kind === 'compare')) {
          const rb = words[1]?.text === 'rollback' ? Number(words[2]?.text) : undefined;
          io.write(this.db.compare(rb));
          return {};
        }
        const base = this.editPos().node;
        const pathWords = words.length > 1 ? this.expand(tokenize(rest)).map(t => t.text) : [];
        const sub = pathWords.length ? lookup(base, pathWords) : base;
        if (!sub) return {};
        io.write(showAt(sub, [...this.editPath, ...pathWords], filters.some(f => f.kind === 'display-set')));
        return {};
      }
      case 'commit': {
        const sub = arg(1);
        const subs = [{ name: 'check', help: '' }, { name: 'and-quit', help: '' }, { name: 'comment', help: '' }];
        const sm = sub ? matchPrefix(sub, subs) : undefined;
        if (sub && sm?.kind !== 'one') throw new CliError(words[1]!.col, 'syntax error.');
        const which = sm?.kind === 'one' ? sm.item.name : undefined;
        if (which === 'check') { io.write(this.db.check().output + '\n'); return {}; }
        const r = this.db.commit();
        io.write(r.output + '\n');
        if (r.ok) {
          this.router.log.write('messages', `mgd[${process.pid}]`, `UI_COMMIT: User 'root' requested 'commit' operation`);
          if (which === 'and-quit') { io.write('Exiting configuration mode\n'); this.mode = 'op'; this.editPath = []; }
        }
        return {};
      }
      case 'rollback': {
        const n = arg(1) === undefined ? 0 : Number(arg(1));
        if (arg(1) !== undefined && !/^\d+$/.test(arg(1)!)) throw new CliError(words[1]!.col, 'syntax error, expecting <number>.');
        io.write(this.db.rollback(n).output + '\n');
        return {};
      }
      case 'load': {
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
      case 'run': {
        if (words.length < 2) throw new CliError(text.length + 1, 'syntax error, expecting <command>.');
        this.mode = 'op';
        try { return await this.runOp(text.slice(restCol), filters, { write: s => io.write(s), signal: io.signal }).then(r => ({ ...r, exit: false })); }
        catch (e) { if (e instanceof CliError) { e.col += restCol; } throw e; }
        finally { this.mode = 'config'; }
      }
    }
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
    if (done.length === 0) return this.configCommands.slice().sort((a, b) => a.name.localeCompare(b.name));
    const cmd = matchPrefix(done[0]!.text, this.configCommands);
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
    if (walk.wantsValue()) return walk.vi === 0 || walk.leaf!.kind === 'leafList' ? this.valueCandidates(walk.leaf!.type!, leafPath) : [{ name: '<value>', help: '' }];
    const pendingList = walk.pending, def = walk.def;
    if (pendingList) {
      const existing = lookup(this.db.candidate, path.slice(0, -1));
      const keys = existing?.all(path[path.length - 1]!).map(n => n.key!) ?? [];
      const names = [...new Set([...this.valueCandidates(pendingList.keyType!, path).filter(c => !c.name.startsWith('<')).map(c => c.name), ...keys])].sort();
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

  private valueCandidates(t: ValueType, path: string[]): Opt[] {
    const base: Opt[] = [{ name: describeType(t).startsWith('<') || t.t !== 'enum' ? describeType(t) : '<value>', help: '' }];
    if (t.t === 'enum') return t.values.map(v => ({ name: v, help: '' }));
    const names = (p: string[], kw: string) => lookup(this.db.candidate, p)?.all(kw).map(n => ({ name: n.key!, help: '' })) ?? [];
    if (t.t === 'word' && t.what === 'sa-name') return [...base, ...names(['security', 'ipsec'], 'security-association')];
    if (t.t === 'word' && t.what === 'filter-name') return [...base, ...names(['firewall'], 'filter')];
    if (t.t === 'word' && t.what === 'policy-name') return [...base, ...names(['security', 'ipsec'], 'policy')];
    if (t.t === 'word' && t.what === 'proposal-name') return [...base, ...names(['security', path[1] === 'ike' ? 'ike' : 'ipsec'], 'proposal')];
    if (t.t === 'secret') return [{ name: 'ascii-text', help: 'Format as text' }, { name: 'hexadecimal', help: 'Format as hexadecimal' }];
    return base;
  }
}
