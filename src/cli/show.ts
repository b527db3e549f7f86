/**
 * Output of the operational `show` commands, following JUNOS's layouts and field order (see
 * docs/cli.md for where this release's exact layout was not known). Pure: state in, text out.
 */
import type { Router } from '../router/router.js';
import type { InterfaceList, PhysicalView, LogicalView, IfCountersView } from '../mgd/read/interfaces.js';
import type { SaSnapshot } from '../../pics/es/core.js';
import { intToIp, maskOf, prefixStr } from '../net/ip.js';
import { macStr } from '../net/ethernet.js';
import { RouteTable, Route } from '../pfe/routes.js';
import { bgpRouteLines } from '../rpd/show.js';
import { readRoutes, RouteList } from '../mgd/read/routes.js';
import type { IpsecSaList } from '../mgd/read/ipsec.js';
import type { IkeSaList, IkeSaView } from '../mgd/read/ike.js';
import type { FirewallList, ChassisInventory, Uptime, PfeStatistics, PicStatus } from '../mgd/read/system.js';
import type { CommitHistory } from '../mgd/read/commits.js';
import type { DirectoryList, FileText } from '../mgd/read/files.js';
import type { IpsecDiagnosis } from '../mgd/read/diagnosis.js';
import { formatDiagnosis } from '../router/diagnose.js';
import { formatBgpSaDiagnosis } from '../rpd/diagnose.js';

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);

const admin = (d: PhysicalView) => (d.adminUp ? 'up' : 'down');

/** `show interfaces terse`: a line per interface and address. */
export function interfacesTerse(v: InterfaceList): string {
  if (v.error) return `error: ${v.error}\n`;
  const only = v.only;
  const out = [`${pad('Interface', 24)}${pad('Admin', 6)}${pad('Link', 5)}${pad('Proto', 9)}${pad('Local', 22)}Remote`];
  for (const d of v.interfaces) {
    if (!only || only === d.name) out.push(`${pad(d.name, 24)}${pad(admin(d), 6)}${d.linkUp ? 'up' : 'down'}`);
    for (const l of d.logical) {
      const a = l.addresses;
      const up = l.up && d.adminUp ? 'up' : 'down';
      const ln = d.linkUp && l.up && d.adminUp ? 'up' : 'down';
      if (a.length === 0) { out.push(`${pad(l.name, 24)}${pad(up, 6)}${ln}`); continue; }
      a.forEach((x, i) => {
        const local = x.destination !== undefined || d.kind === 'lo' ? intToIp(x.local) : `${intToIp(x.local)}/${x.len}`;
        const remote = x.destination !== undefined ? `--> ${intToIp(x.destination)}` : d.kind === 'lo' ? '--> 0/0' : '';
        out.push(`${pad(i === 0 ? l.name : '', 24)}${pad(i === 0 ? up : '', 6)}${pad(i === 0 ? ln : '', 5)}${pad(i === 0 ? 'inet' : '', 9)}${pad(local, 22)}${remote}`.trimEnd());
      });
    }
  }
  return out.join('\n') + '\n';
}

function ifIndex(name: string): number {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 997;
  return 128 + h;
}

const dropList = (c: IfCountersView) => `${c.dropTotal}${c.drops.map(([k, v]) => `, ${k}: ${v}`).join('')}`;

function physicalLines(d: PhysicalView, extensive: boolean): string[] {
  const out: string[] = [];
  const type = d.kind === 'fe' ? 'Ethernet' : d.kind === 'es' ? 'IPSec' : 'Unspecified';
  out.push(`Physical interface: ${d.name}, ${d.adminUp ? 'Enabled' : 'Administratively down'}, Physical link is ${d.linkUp ? 'Up' : 'Down'}`);
  out.push(`  Interface index: ${ifIndex(d.name)}, SNMP ifIndex: ${ifIndex(d.name) - 100}`);
  if (d.description) out.push(`  Description: ${d.description}`);
  const mtu = d.mtu ?? (d.kind === 'fe' ? 1514 : 'Unlimited');
  out.push(`  Type: ${type}, Link-level type: ${type}, MTU: ${mtu}${d.kind === 'fe' ? ', Speed: 100mbps' : ''}`);
  out.push(`  Device flags   : Present Running${d.linkUp ? '' : ' Down'}`);
  if (d.kind === 'fe') out.push(`  Current address: ${macStr(d.mac)}, Hardware address: ${macStr(d.mac)}`);
  const c = d.counters;
  if (extensive) {
    out.push('  Traffic statistics:');
    out.push(`   Input  bytes  : ${lpad(c.inBytes, 20)}`);
    out.push(`   Output bytes  : ${lpad(c.outBytes, 20)}`);
    out.push(`   Input  packets: ${lpad(c.inPackets, 20)}`);
    out.push(`   Output packets: ${lpad(c.outPackets, 20)}`);
    out.push(`  Input errors:`);
    out.push(`    Errors: 0, Drops: ${dropList(c)}`);
  } else {
    out.push(`  Input packets : ${c.inPackets}`);
    out.push(`  Output packets: ${c.outPackets}`);
  }
  if (d.kind === 'es' && extensive && d.pic) {
    out.push('  IPSec statistics:');
    out.push(`    Encrypted packets: ${d.pic.encrypted}, Decrypted packets: ${d.pic.decrypted}, PIC restarts: ${d.pic.restarts}`);
    out.push(`    Drops: ${d.pic.drops.length ? d.pic.drops.map(([k, v]) => `${k}: ${v}`).join(', ') : 'none'}`);
  }
  return out;
}

function logicalLines(d: PhysicalView, l: LogicalView, extensive: boolean): string[] {
  const out = [''];
  out.push(`  Logical interface ${l.name} (Index ${ifIndex(l.name) - 60}) (SNMP ifIndex ${ifIndex(l.name) - 90})`);
  out.push(`    Flags: ${l.up ? 'SNMP-Traps' : 'Down SNMP-Traps'} Encapsulation: ${d.kind === 'fe' ? 'ENET2' : d.kind === 'es' ? 'IPSec' : 'Unspecified'}`);
  if (l.description) out.push(`    Description: ${l.description}`);
  if (l.tunnel) out.push(`    IP-Header ${intToIp(l.tunnel.destination)}:${intToIp(l.tunnel.source)}:50:df:64:00000000`);
  const lc = l.counters;
  out.push(`    Input packets : ${lc.inPackets}`);
  out.push(`    Output packets: ${lc.outPackets}`);
  if (extensive) {
    out.push(`    Input bytes   : ${lc.inBytes}`);
    out.push(`    Output bytes  : ${lc.outBytes}`);
    out.push(`    Drops         : ${dropList(lc)}`);
  }
  if (l.ipsecSa) out.push(`    Security association: ${l.ipsecSa}`);
  out.push(`    Protocol inet, MTU: ${l.ipMtu}`);
  if (l.inFilter || l.outFilter) out.push(`      Filters: ${l.inFilter ? `Input: ${l.inFilter}` : ''}${l.inFilter && l.outFilter ? ', ' : ''}${l.outFilter ? `Output: ${l.outFilter}` : ''}`);
  l.addresses.forEach((a, i) => {
    out.push(`      Addresses, Flags: ${i === 0 ? 'Is-Preferred Is-Primary' : 'Is-Preferred'}`);
    if (a.destination !== undefined) out.push(`        Destination: ${intToIp(a.destination)}, Local: ${intToIp(a.local)}`);
    else if (d.kind === 'lo' || a.len === 32) out.push(`        Local: ${intToIp(a.local)}`);
    else out.push(`        Destination: ${prefixStr(a.prefix)}, Local: ${intToIp(a.local)}, Broadcast: ${intToIp((a.prefix.addr | ~maskOf(a.len)) >>> 0)}`);
  });
  return out;
}

/** `show interfaces [detail|extensive]`. */
export function interfacesDetail(v: InterfaceList, extensive: boolean): string {
  if (v.error) return `error: ${v.error}\n`;
  const out: string[] = [];
  for (const d of v.interfaces) out.push(...physicalLines(d, extensive), ...d.logical.flatMap(l => logicalLines(d, l, extensive)), '');
  if (!out.length) return `error: device ${v.only} not found\n`;
  return out.join('\n');
}

function age(since: Date | undefined, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - (since ?? new Date(now)).getTime()) / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

function nhText(rt: Route): string {
  const nh = rt.nh;
  switch (nh.kind) {
    case 'local': return `Local via ${nh.ifl}`;
    case 'direct': return `> via ${nh.ifl}`;
    case 'tunnel': return `> via ${nh.ifl}`;
    case 'gateway': return `> to ${intToIp(nh.gateway)} via ${nh.ifl}`;
    case 'discard': return 'Discard';
    case 'reject': return 'Reject';
  }
}

export function routes(r: Router, prefix?: string): string {
  return routeList(r, readRoutes(r, prefix));
}

/** The text of a route list (`show route`). */
export function routeList(r: Router, v: RouteList): string {
  if (v.error) return `error: ${v.error}\n`;
  const out = ['', `${v.table}: ${v.destinations} destinations, ${v.total} routes (${v.active} active, ${v.holddown} holddown, ${v.hidden} hidden)`, '+ = Active Route, - = Last Active, * = Both', ''];
  for (const rt of v.routes) {
    const bgp = rt.protocol === 'BGP' ? r.rpd.rib.active(rt.prefix) : undefined;
    if (bgp?.bgp) { const [first, ...rest] = bgpRouteLines(r.rpd, bgp, true); out.push(`${pad(prefixStr(rt.prefix), 18)} ${first}`, ...rest); continue; }
    out.push(`${pad(prefixStr(rt.prefix), 19)}*[${rt.protocol}/${rt.preference}] ${age(r.lastCommit)}`);
    out.push(`${' '.repeat(rt.nh.kind === 'local' || rt.nh.kind === 'discard' || rt.nh.kind === 'reject' ? 22 : 20)}${nhText(rt)}`);
  }
  return out.join('\n') + '\n';
}

export function firewall(v: FirewallList): string {
  if (v.error) return `error: ${v.error}\n`;
  const out: string[] = [];
  for (const f of v.filters) {
    out.push('', `Filter: ${f.name}`);
    if (f.counters.length) {
      out.push('Counters:', `${pad('Name', 52)}${lpad('Bytes', 5)}${lpad('Packets', 21)}`);
      for (const c of f.counters) out.push(`${pad(c.name, 52)}${lpad(c.bytes, 5)}${lpad(c.packets, 21)}`);
    }
    out.push('Terms:', `${pad('Name', 52)}${lpad('Bytes', 5)}${lpad('Packets', 21)}`);
    for (const t of f.terms) out.push(`${pad(t.name, 52)}${lpad(t.bytes, 5)}${lpad(t.packets, 21)}`);
  }
  return out.join('\n') + '\n';
}

function saBlock(s: SaSnapshot, detail: boolean, now: number, life?: { remaining: number; soft: number; role: string }): string[] {
  const out = [`  Direction: ${s.direction}, SPI: ${s.spi}, AUX-SPI: ${s.auxSpi ?? 0}`];
  out.push(`    Mode: ${s.mode}, Type: ${s.manual ? 'manual' : 'dynamic'}, State: ${s.state === 'active' ? 'Installed' : s.state === 'expired' ? 'Expired' : 'Installed (soft expired)'}`);
  out.push(`    Protocol: ${s.protocol}, Authentication: ${s.authentication ?? 'none'}, Encryption: ${s.encryption ?? 'none'}`);
  out.push(`    Packets: ${s.packets}, Bytes: ${s.bytes}, Drops: ${Object.values(s.drops).reduce((a, b) => a + b, 0)}`);
  if (detail) {
    if (s.manual) out.push('    Soft lifetime: Unlimited', '    Hard lifetime: Unlimited');
    else if (life) {
      // kmd's books: its lifetime clock, and the soft lifetime of this side's role (it renegotiates then)
      out.push(`    Soft lifetime: ${life.soft > 0 ? `Expires in ${life.soft} seconds` : 'Expired'}`, `    Hard lifetime: Expires in ${life.remaining} seconds`);
    } else {
      // the soft lifetime is a share of the hard one; both count down from the SA's creation
      const left = s.remainingSeconds ?? 0, softLeft = Math.max(0, left - ((s.hardSeconds ?? 0) - (s.softSeconds ?? 0)));
      out.push(`    Soft lifetime: ${softLeft > 0 ? `Expires in ${softLeft} seconds` : 'Expired'}`, `    Hard lifetime: Expires in ${left} seconds`);
    }
    out.push(`    Anti-replay service: ${s.replayWindow ? `Enabled, Replay window size: ${s.replayWindow}` : 'Disabled'}`);
    if (s.sequence !== undefined) out.push(`    Next sequence number: ${s.sequence}`);
    const drops = Object.entries(s.drops).filter(([, v]) => v > 0);
    out.push(`    Drops by reason: ${drops.length ? drops.map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`);
  }
  void now;
  return out;
}

/** `show ipsec security-associations [brief|detail]`. */
export function ipsecSas(v: IpsecSaList, level: 'brief' | 'standard' | 'detail'): string {
  if (v.error) return `error: ${v.error}\n`;
  const now = Date.now();
  const out: string[] = [];
  if (level === 'brief') {
    // SPIs of negotiated SAs take up to 10 digits
    out.push(`${pad('Security association', 24)}${pad('Interface', 14)}${pad('Dir', 9)}${pad('SPI', 11)}${pad('Protocol', 9)}${pad('Mode', 10)}${pad('State', 14)}Packets`);
    // a transport SA (BGP) belongs to no interface: the Routing Engine processes it
    for (const s of v.installed) out.push(`${pad(s.name, 24)}${pad(s.ifl.startsWith('re:') ? '-' : s.ifl, 14)}${pad(s.direction, 9)}${pad(s.spi, 11)}${pad(s.protocol, 9)}${pad(s.mode, 10)}${pad(s.state === 'active' ? 'Installed' : s.state, 14)}${s.packets}`);
    return out.join('\n') + '\n';
  }
  for (const b of v.blocks) {
    const ifl = b.ifl;
    const fam = b.mode === 'transport' ? '' : `, Interface family: ${ifl ? (ifl.familyUp ? 'Up' : 'Down') : 'Absent'}`;
    out.push(`Security association: ${b.name}${fam}`, '');
    if (ifl?.tunnel) out.push(`  Local gateway: ${intToIp(ifl.tunnel.source)}, Remote gateway: ${intToIp(ifl.tunnel.destination)}`);
    if (ifl) out.push(`  Interface: ${ifl.name}`);
    if (b.re) out.push(`  Local gateway: ${intToIp(b.re.local)}, Remote gateway: ${intToIp(b.re.remote)}`, `  Used by: BGP neighbor ${intToIp(b.re.remote)} (transport mode, Routing Engine)`);
    if (b.sas.length === 0) {
      out.push(b.mode === 'transport' ? '  Transport mode SA (used by BGP): not installed on an ES PIC'
        : b.dynamic ? `  No IPsec SA negotiated yet (traffic into the tunnel starts IKE)${b.lastError ? `\n  Last negotiation failed: ${b.lastError}` : ''}` : '  Not installed');
    }
    for (const x of b.sas) out.push(...saBlock(x.sa, level === 'detail', now, x.kmd), ...(level === 'detail' ? x.detail : []), '');
  }
  return out.join('\n') + (out.length ? '\n' : '');
}

export function chassisHardware(v: ChassisInventory): string {
  const out = ['Hardware inventory:', `${pad('Item', 17)}${pad('Version', 9)}${pad('Part number', 13)}${pad('Serial number', 18)}Description`];
  for (const h of v.hardware) out.push(`${pad(h.item, 17)}${pad(h.version, 9)}${pad(h.part, 13)}${pad(h.serial, 18)}${h.description}`);
  return out.join('\n') + '\n';
}

/** `show chassis fpc pic-status`: as JUNOS prints it, an FPC line and a line per PIC. */
export function chassisPicStatus(v: PicStatus): string {
  const out: string[] = [];
  for (const f of v.fpcs) {
    out.push(`Slot ${pad(String(f.slot), 4)}${pad(f.state, 13)}${f.description}`);
    for (const p of f.pics) out.push(`  PIC ${pad(String(p.slot), 3)}${pad(p.state, 13)}${p.type}`);
  }
  return out.join('\n') + '\n';
}

export function systemUptime(v: Uptime): string {
  const fmt = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  const ago = (d: Date) => age(d, v.now.getTime());
  const out = [`Current time: ${fmt(v.now)}`, `System booted: ${fmt(v.booted)} (${ago(v.booted)} ago)`];
  if (v.lastCommit) out.push(`Last configured: ${fmt(v.lastCommit.at)} (${ago(v.lastCommit.at)} ago) by ${v.lastCommit.user}`);
  const mins = Math.floor((v.now.getTime() - v.booted.getTime()) / 60000);
  out.push(`${v.now.toISOString().slice(11, 16)}  up ${mins} min${mins === 1 ? '' : 's'}, 1 user`);
  return out.join('\n') + '\n';
}

export { RouteTable };

/** `show pfe statistics traffic`: the PFE's totals, its local traffic, and every discard by reason. */
export function pfeStatistics(v: PfeStatistics): string {
  const row = (k: string, n: number) => `    ${pad(k, 36)}:${lpad(n, 21)}`;
  const out = ['Packet Forwarding Engine traffic statistics:', row('Input  packets', v.inPackets), row('Output packets', v.outPackets),
    'Packet Forwarding Engine local traffic statistics:', row('Local packets input', v.localIn), row('Local packets output', v.localOut),
    'Packet Forwarding Engine discard statistics (by reason):'];
  if (!v.discards.length) out.push('    none');
  for (const [k, n] of v.discards) out.push(row(k, n));
  out.push(row('Total discards', v.totalDiscards));
  // where they happened: each stage of the forwarding path and its own reasons (VPP's `show errors`)
  const byStage = v.byStage.map(x => `    ${pad(x.stage, 18)}${pad(x.reason, 26)}${lpad(x.count, 12)}`);
  if (byStage.length) out.push('Packet Forwarding Engine discards by stage:', ...byStage);
  return out.join('\n') + '\n';
}

const hex16 = (b: Buffer) => b.toString('hex');
const STATE = (s: { matured: boolean }) => (s.matured ? 'Matured' : 'Not matured');
const MODE = (m: 'main' | 'aggressive') => (m === 'main' ? 'Main' : 'Aggressive');

/** `show ike security-associations [detail] [PEER]`: the IKE SAs, and the last failure with each peer. */
export function ikeSas(v: IkeSaList, detail: boolean): string {
  const sas = v.sas;
  const out: string[] = [];
  if (!detail) {
    if (sas.length) {
      out.push(`${pad('Remote Address', 16)}${pad('State', 14)}${pad('Initiator cookie', 18)}${pad('Responder cookie', 18)}Mode`);
      for (const s of sas) out.push(`${pad(intToIp(s.peer), 16)}${pad(STATE(s), 14)}${pad(hex16(s.icookie), 18)}${pad(hex16(s.rcookie), 18)}${MODE(s.mode)}`);
    }
  } else for (const s of sas) out.push(...ikeDetail(s));
  for (const f of v.failures) out.push(`${out.length && !detail ? '\n' : ''}Last failure with ${intToIp(f.peer)} (${f.secondsAgo} s ago, as ${f.role}): ${f.why}`);
  return out.length ? out.join('\n') + '\n' : '';
}

const METHOD: Record<string, string> = { 'pre-shared-keys': 'Pre-shared-keys', 'rsa-signatures': 'RSA-signatures', 'dsa-signatures': 'DSA-signatures' };

function ikeDetail(s: IkeSaView): string[] {
  const c = s.choice, n = s.natt;
  const nat = !n.peerSupports ? 'not supported by the peer' : !n.detected ? 'not detected yet' : !s.behindNat ? 'no NAT'
    : `NAT ${n.here ? 'before this router' : ''}${n.here && n.there ? ' and ' : ''}${n.there ? 'before the peer' : ''}; IKE and ESP in UDP 4500${n.here ? ', keepalives every 5 seconds' : ''}`;
  const out = [`IKE peer ${intToIp(s.peer)}`,
    `  Role: ${s.role === 'initiator' ? 'Initiator' : 'Responder'}, State: ${STATE(s)}`,
    `  Initiator cookie: ${hex16(s.icookie)}, Responder cookie: ${hex16(s.rcookie)}`,
    `  Exchange type: ${MODE(s.mode)}, Authentication method: ${(c && METHOD[c.method]) ?? 'not chosen yet'}`,
    `  Local: ${intToIp(s.local)}:${n.floated ? 4500 : 500}, Remote: ${intToIp(s.peer)}:${s.port}`,
    `  NAT traversal: ${nat}`,
    `  Lifetime: ${s.remaining !== undefined ? `Expires in ${s.remaining} seconds` : 'Not matured yet'}`];
  if (c) out.push('  Algorithms:', `   Authentication        : ${c.hash}`, `   Encryption            : ${c.encryption}`, `   Pseudo random function: hmac-${c.hash}`, `   Diffie-Hellman group  : ${c.group}`);
  out.push('  Traffic statistics:', `   Input  bytes  : ${lpad(s.stats.inBytes, 20)}`, `   Output bytes  : ${lpad(s.stats.outBytes, 20)}`, `   Input  packets: ${lpad(s.stats.inPackets, 20)}`, `   Output packets: ${lpad(s.stats.outPackets, 20)}`);
  out.push(`  IPSec security associations: ${s.ipsecCreated * 2} created, ${s.ipsecDeleted * 2} deleted`);
  out.push(`  Phase 2 negotiations in progress: ${s.phase2InProgress}`);
  if (s.localId) out.push(`  Local identity: ${s.localId}`);
  if (s.remoteId) out.push(`  Remote identity: ${s.remoteId}`);
  out.push(...s.detail, '');
  return out;
}

/** `show system commit`: one line per commit, rollback 0 first. */
export function commitHistory(v: CommitHistory): string {
  return v.commits.map(c => `${String(c.sequence).padEnd(4)}${c.date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} by ${c.user} via ${c.client}\n`).join('');
}

/** `file list PATH [detail]`. */
export function directoryList(v: DirectoryList, detail: boolean): string {
  if (v.error) return `${v.error}\n`;
  const line = (f: DirectoryList['files'][number]) => detail ? `${f.dir ? 'd' : '-'}${f.secret ? 'rw-------' : 'rw-r--r--'}  root  ${String(f.size).padStart(8)} ${f.mtime.toISOString().slice(0, 16).replace('T', ' ')} ${f.name}${f.dir ? '/' : ''}` : `${f.name}${f.dir ? '/' : ''}`;
  return `${v.dir}:\n` + v.files.map(line).join('\n') + (v.files.length ? '\n' : '');
}

/** `file show FILE`: its text, or why not. */
export function fileText(v: FileText): string { return v.error ? `${v.error}\n` : v.text; }

/** `show log FILE`. */
export function logText(v: FileText): string { return v.error ? `error: ${v.error}\n` : v.text; }

/** `show ipsec diagnosis [SA]`: the tunnels' findings, then the BGP sessions' (only those when there is no tunnel). */
export function ipsecDiagnosis(v: IpsecDiagnosis): string {
  if (v.error) return `error: ${v.error}\n`;
  const b = formatBgpSaDiagnosis(v.bgp);
  return v.tunnels.length || !b ? formatDiagnosis(v.tunnels) + b : b;
}
