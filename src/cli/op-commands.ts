/**
 * The operational command grammar of the CLI: each command's words, flags, options, argument and
 * what it runs. interp.ts walks it for running, `?` and Tab.
 */
import { posix } from 'node:path';
import type { Router } from '../router/router.js';
import type { CommitDb } from '../mgd/commitdb.js';
import type { PicSnapshot } from '../../pics/es/core.js';
import type { OpRequest } from '../mgd/op-xml.js';
import { readIpsecDiagnosis } from '../mgd/read/diagnosis.js';
import * as pki from '../pki/certs.js';
import { copyFromUrl } from '../router/file-url.js';
import { enroll, ENROLL_OPTS } from '../pki/enroll.js';
import * as show from './show.js';
import { readInterfaces, picsByName } from '../mgd/read/interfaces.js';
import { readIpsecSas } from '../mgd/read/ipsec.js';
import { readIkeSas } from '../mgd/read/ike.js';
import { readFirewall, readPfeStatistics, readChassis, readUptime, readPicStatus } from '../mgd/read/system.js';
import { readCommits } from '../mgd/read/commits.js';
import { readDirectory, readFileText, readLog } from '../mgd/read/files.js';
import { readCertificates, readCrls } from '../mgd/read/certificates.js';
import { readBgp } from '../mgd/read/bgp.js';
import * as rpdShow from '../rpd/show.js';
import { ping, traceroute, monitor, packetTrace } from '../router/ops.js';
import { isIpv4 } from '../config/schema.js';
import { intToIp, ipToInt } from '../net/ip.js';
import { CliError, Word } from './words.js';

export interface Session { write(s: string): void; signal?: AbortSignal }
export interface Parsed { flags: Set<string>; opts: Map<string, string>; arg?: string; rest: string[]; endCol: number }
export interface Opt { name: string; help: string; arg?: string; range?: { min: number; max: number; decimal?: boolean }; address?: boolean }
export interface OpNode {
  name: string; help: string;
  sub?: OpNode[];
  flags?: Opt[];
  arg?: { name: string; help: string; required?: boolean; rest?: boolean; complete?: () => string[] };
  run?: (p: Parsed, io: Session) => Promise<void> | void;
  displaySet?: boolean;   // accepts `| display set`
  /** the RPC the XML API answers this command with (`| display xml`, `<command>`) */
  rpc?: RpcSpec;
}
/**
 * A command's RPC: its name (or, by the options given, one of two), the element its positional
 * argument becomes, and its options' elements where they differ from the option's name. Flags
 * become empty elements (`<terse/>`).
 */
export interface RpcSpec { name: string | ((p: Parsed) => string); arg?: string; opts?: Record<string, string> }

/** The RPC request of a parsed command, or undefined if it has none (ping, clear, request, ...). */
export function rpcOf(node: OpNode, p: Parsed): OpRequest | undefined {
  const s = node.rpc;
  if (!s) return undefined;
  const args: Record<string, string | true> = {};
  for (const f of p.flags) args[f] = true;
  for (const [k, v] of p.opts) args[s.opts?.[k] ?? k] = v;
  if (s.arg && p.arg !== undefined) args[s.arg] = p.arg;
  return { rpc: typeof s.name === 'string' ? s.name : s.name(p), args };
}

/** A numeric option value outside its range is refused with a caret, as JUNOS does. */
export function checkOptValue(o: Opt, v: Word): void {
  if (o.address && !isIpv4(v.text)) throw new CliError(v.col, `syntax error, expecting ${o.arg}.`);
  const r = o.range;
  if (!r) return;
  const ok = r.decimal ? /^\d+(\.\d+)?$|^\.\d+$/.test(v.text) : /^\d+$/.test(v.text);
  if (!ok) throw new CliError(v.col, `syntax error, expecting ${o.arg}.`);
  const n = Number(v.text);
  if (n < r.min || n > r.max) throw new CliError(v.col, `Value ${v.text} is not within range (${r.min}..${r.max}) at '${v.text}'`);
}

/** What the commands need of the interpreter that runs them. */
export interface OpHost { readonly router: Router; readonly db: CommitDb; enterConfiguration(): void }

export function opCommands(it: OpHost): OpNode[] {
  const r = it.router;
  const ifNames = () => [...r.pfe.ifds.keys(), ...r.pfe.ifls.keys()].sort();
  const saNames = () => [...(r.model?.sas.keys() ?? [])];
  const pic = (): Promise<PicSnapshot> => r.picSnapshot();
  const ipsecSa: OpNode = {
    name: 'security-associations', help: 'Show IPsec security associations',
    flags: [{ name: 'brief', help: 'Display brief output' }, { name: 'detail', help: 'Display detailed output' }],
    arg: { name: '<sa-name>', help: 'Name of security association', complete: saNames },
    rpc: { name: 'get-security-associations-information', arg: 'sa-name' },
    run: async (p, io) => io.write(show.ipsecSas(readIpsecSas(r, await pic(), { name: p.arg, detail: p.flags.has('detail') }), p.flags.has('brief') ? 'brief' : p.flags.has('detail') ? 'detail' : 'standard')),
  };
  const ikeSa: OpNode = {
    name: 'security-associations', help: 'Show IKE security associations',
    flags: [{ name: 'brief', help: 'Display brief output' }, { name: 'detail', help: 'Display detailed output' }],
    arg: { name: '<peer-address>', help: 'Address of the IKE peer', complete: () => r.kmd.ikeSnapshot().map(s => intToIp(s.peer)) },
    rpc: { name: 'get-ike-security-associations-information', arg: 'peer-address' },
    run: (p, io) => {
      if (p.arg !== undefined && !isIpv4(p.arg)) { io.write(`error: invalid peer address ${p.arg}\n`); return; }
      io.write(show.ikeSas(readIkeSas(r, { peer: p.arg, detail: p.flags.has('detail') }), p.flags.has('detail')));
    },
  };
  // vrouter's own: what stops each tunnel and what to change (docs/cli.md)
  const diagnosis: OpNode = {
    name: 'diagnosis', help: 'Show why IPsec tunnels are down or troubled, and what to change',
    arg: { name: '<sa-name>', help: 'Name of security association', complete: saNames },
    rpc: { name: 'get-ipsec-diagnosis-information', arg: 'sa-name' },
    run: async (p, io) => io.write(show.ipsecDiagnosis(readIpsecDiagnosis(r, await pic(), p.arg))),
  };
  const certificates: OpNode = {
    name: 'certificates', help: 'Show IPsec certificate database',
    flags: [{ name: 'brief', help: 'Display brief output' }, { name: 'detail', help: 'Display detailed output' }, { name: 'crl', help: 'Entries of a certificate revocation list', arg: '<crl-name>' }],
    arg: { name: '<serial-number>', help: 'Serial number of a certificate' },
    rpc: { name: p => (p.opts.has('crl') ? 'get-crl-information' : 'get-certificates-information'), arg: 'serial-number', opts: { crl: 'crl-name' } },
    run: (p, io) => p.opts.has('crl') ? io.write(pki.showCrls(readCrls(r), p.opts.get('crl')!)) : io.write(pki.showCertificates(readCertificates(r).entries, p.flags.has('brief') ? 'brief' : p.flags.has('detail') ? 'detail' : 'standard', p.arg)),
  };
  const ipsec: OpNode = { name: 'ipsec', help: 'Show IP Security information', sub: [certificates, diagnosis, ipsecSa] };
  const ike: OpNode = { name: 'ike', help: 'Show Internet Key Exchange information', sub: [ikeSa] };
  return [
    {
      name: 'show', help: 'Show system information', sub: [
        {
          name: 'interfaces', help: 'Show interface information',
          flags: [{ name: 'terse', help: 'Display terse output' }, { name: 'extensive', help: 'Display extensive output' }, { name: 'brief', help: 'Display brief output' }, { name: 'detail', help: 'Display detailed output' }],
          arg: { name: '<interface-name>', help: 'Name of physical or logical interface', complete: ifNames },
          rpc: { name: 'get-interface-information', arg: 'interface-name' },
          run: async (p, io) => {
            if (p.flags.has('terse')) io.write(show.interfacesTerse(readInterfaces(r, p.arg)));
            else io.write(show.interfacesDetail(readInterfaces(r, p.arg, await picsByName(r)), p.flags.has('extensive') || p.flags.has('detail')));
          },
        },
        {
          name: 'route', help: 'Show routing table information', arg: { name: '<destination>', help: 'IP address and optional prefix length of destination' },
          flags: [{ name: 'protocol', help: 'Name of protocol', arg: '<protocol>' }, { name: 'receive-protocol', help: 'Routes received from a protocol peer', arg: '<protocol>' }, { name: 'advertising-protocol', help: 'Routes advertised to a protocol peer', arg: '<protocol>' }, ...rpdShow.ROUTE_FLAGS],
          rpc: { name: 'get-route-information', arg: 'destination' },
          run: (p, io) => io.write(rpdShow.routeCommand(r, p.opts, p.arg, p.flags) ?? show.routes(r, p.arg)),
        },
        {
          name: 'bgp', help: 'Show BGP information', sub: [
            { name: 'summary', help: 'Show BGP summary information', rpc: { name: 'get-bgp-summary-information' }, run: (_p, io) => io.write(rpdShow.bgpSummary(readBgp(r.rpd)!)) },
            { name: 'neighbor', help: 'Show BGP neighbor information', arg: { name: '<address>', help: 'IP address of the neighbor' }, rpc: { name: 'get-bgp-neighbor-information', arg: 'neighbor-address' }, run: (p, io) => io.write(rpdShow.bgpNeighbor(readBgp(r.rpd, p.arg), p.arg)) },
          ],
        },
        {
          name: 'firewall', help: 'Show firewall information',
          flags: [{ name: 'filter', help: 'Name of filter', arg: '<filter-name>' }],
          rpc: { name: 'get-firewall-information', opts: { filter: 'filter-name' } },
          run: (p, io) => io.write(show.firewall(readFirewall(r, p.opts.get('filter')))),
        },
        ipsec, ike,
        { name: 'security', help: 'Show security information', sub: [ipsec, ike] },
        {
          name: 'configuration', help: 'Show current configuration', displaySet: true,
          arg: { name: '<statement>', help: 'Configuration hierarchy to show', rest: true },
          run: () => { /* handled in runOp: it needs the pipes */ },
        },
        { name: 'pfe', help: 'Show Packet Forwarding Engine information', sub: [{ name: 'statistics', help: 'Show Packet Forwarding Engine statistics', sub: [{ name: 'traffic', help: 'Show Packet Forwarding Engine traffic statistics', rpc: { name: 'get-pfe-statistics' }, run: (_p, io) => io.write(show.pfeStatistics(readPfeStatistics(r))) }] }] },
        { name: 'chassis', help: 'Show chassis information', sub: [{ name: 'hardware', help: 'Show installed hardware components', rpc: { name: 'get-chassis-inventory' }, run: (_p, io) => io.write(show.chassisHardware(readChassis(r))) },
          { name: 'fpc', help: 'Show Flexible PIC Concentrator status', sub: [{ name: 'pic-status', help: 'Show PIC status', rpc: { name: 'get-pic-information' }, run: (_p, io) => io.write(show.chassisPicStatus(readPicStatus(r))) }] }] },
        { name: 'system', help: 'Show system information', sub: [{ name: 'uptime', help: 'Show time since system and processes started', rpc: { name: 'get-system-uptime-information' }, run: (_p, io) => io.write(show.systemUptime(readUptime(r))) },
          { name: 'commit', help: 'Show pending commit and commit history', rpc: { name: 'get-commit-information' }, run: (_p, io) => io.write(show.commitHistory(readCommits(it.db))) }] },
        {
          name: 'log', help: 'Show contents of log file', arg: { name: '<filename>', help: 'Name of log file', required: true, complete: () => r.log.names() },
          rpc: { name: 'get-log', arg: 'filename' },
          run: (p, io) => io.write(show.logText(readLog(r, p.arg!))),
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
          rpc: { name: 'file-list', arg: 'path' },
          run: (p, io) => io.write(show.directoryList(readDirectory(r, p.arg), p.flags.has('detail'))),
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
          rpc: { name: 'file-show', arg: 'filename' },
          run: (p, io) => io.write(show.fileText(readFileText(r, p.arg!))),
        },
      ],
    },
    {
      name: 'clear', help: 'Clear information in the system', sub: [
        { name: 'bgp', help: 'Clear BGP information', sub: [{
          name: 'neighbor', help: 'Clear BGP neighbor sessions', arg: { name: '<address>', help: 'IP address of the neighbor' }, flags: rpdShow.CLEAR_FLAGS,
          run: (p, io) => { const n = rpdShow.clearNeighbor(r.rpd, p.arg, p.flags); if (n) io.write(n); },
        }] },
        { name: 'ipsec', help: 'Clear IP Security information', sub: [{
          name: 'security-associations', help: 'Clear IPsec security associations',
          arg: { name: '<sa-name>', help: 'Name of security association', complete: saNames },
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
        { name: 'interfaces', help: 'Clear interface information', sub: [{ name: 'statistics', help: 'Clear statistics and error counters', flags: [{ name: 'all', help: 'Clear statistics on all interfaces' }], arg: { name: '<interface-name>', help: 'Name of interface', complete: ifNames }, run: (p, io) => {
          if (p.arg && !r.pfe.ifds.has(p.arg.replace(/\.\d+$/, ''))) { io.write(`error: device ${p.arg} not found\n`); return; }
          for (const d of r.pfe.ifds.values()) if (!p.arg || p.arg === d.name) d.counters.clear();
          for (const l of r.pfe.ifls.values()) if (!p.arg || p.arg === l.name || p.arg === l.ifd.name) l.counters.clear();
        } }] },
      ],
    },
    { name: 'configure', help: 'Manipulate software configuration information', run: (_p, io) => { it.enterConfiguration(); io.write('Entering configuration mode\n'); } },
    { name: 'exit', help: 'Exit the management session', run: () => { /* runOp returns exit */ } },
    { name: 'quit', help: 'Exit the management session', run: () => { /* runOp returns exit */ } },
  ];
}
