/**
 * The operational RPCs' XML: the same data as the CLI's `show` commands, with the RPC and element
 * names JUNOS uses (`get-interface-information`, `get-route-information`,
 * `get-security-associations-information`, `get-ike-security-associations-information`, ...). The
 * CLI's `| display xml` prints the same replies.
 */
import type { Router } from '../router/router.js';
import type { PicSnapshot } from '../../pics/es/core.js';
import type { CommitDb } from './commitdb.js';
import { readCommits, CommitHistory } from './read/commits.js';
import { readDirectory, readFileText, readLog, DirectoryList, FileText } from './read/files.js';
import { readCertificates, readCrls, CertificateList, CrlList } from './read/certificates.js';
import { intToIp, prefixStr } from '../net/ip.js';
import { el, tx, esc, XNM_NS } from './xml.js';
import { IKECERT } from '../router/files.js';
import { readRoutes, RouteList } from './read/routes.js';
import { readInterfaces, InterfaceList } from './read/interfaces.js';
import { readIpsecSas, IpsecSaList } from './read/ipsec.js';
import { readIkeSas, IkeSaList } from './read/ike.js';
import { readFirewall, readPfeStatistics, readChassis, readUptime, readPicStatus, FirewallList, PfeStatistics, ChassisInventory, Uptime, PicStatus } from './read/system.js';
import { bgpSummaryXml, bgpNeighborXml, routeXml } from '../rpd/xml.js';
import { readBgp } from './read/bgp.js';
import { readIpsecDiagnosis, IpsecDiagnosis } from './read/diagnosis.js';
import { oneLineDn, fingerprint, bySerial, crlsNamed, revokedInOrder } from '../pki/certs.js';

const str = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined);
/** an RPC's error inside its reply element: `<xnm:error>` with its namespace declared, as JUNOS sends it */
const err = (wrapper: string, message: string) => el(wrapper, el('xnm:error', tx('message', message.replace(/^error: /, '')), { 'xmlns:xnm': XNM_NS }));

/** An operational RPC and its arguments (the CLI's grammar gives a command's: src/cli/op-commands.ts). */
export interface OpRequest { rpc: string; args: Record<string, string | true> }

export const OP_RPCS = ['get-interface-information', 'get-route-information', 'get-security-associations-information', 'get-ike-security-associations-information', 'get-chassis-inventory',
  'get-system-uptime-information', 'get-firewall-information', 'get-pfe-statistics', 'get-certificates-information', 'get-crl-information', 'get-log', 'file-list', 'file-show',
  'get-bgp-summary-information', 'get-bgp-neighbor-information', 'get-commit-information', 'get-pic-information', 'get-ipsec-diagnosis-information'];

/** The reply's body for an operational RPC, or undefined if the RPC is not one of these (`db`: the session's commit database, for the commit history). */
export function opXml(r: Router, pic: PicSnapshot, req: OpRequest, db?: CommitDb): string | undefined {
  switch (req.rpc) {
    case 'get-commit-information': return db ? commitsXml(readCommits(db)) : undefined;
    case 'get-interface-information': return interfaces(r, req.args);
    case 'get-route-information': return routeXml(r.rpd, req.args) ?? routes(r, req.args);
    case 'get-security-associations-information': return ipsecSas(r, pic, req.args);
    case 'get-ike-security-associations-information': return ikeSas(r, req.args);
    case 'get-chassis-inventory': return chassis(r);
    case 'get-pic-information': return picStatusXml(readPicStatus(r));
    // a script polling the RPC must not reset what the operator's next `show ipsec diagnosis` says climbed: it moves no baseline
    case 'get-ipsec-diagnosis-information': return ipsecDiagnosisXml(readIpsecDiagnosis(r, pic, str(req.args['sa-name']), false));
    case 'get-bgp-summary-information': return bgpSummaryXml(readBgp(r.rpd)!);
    case 'get-bgp-neighbor-information': { const a = str(req.args['neighbor-address']); return bgpNeighborXml(readBgp(r.rpd, a), a); }
    case 'get-system-uptime-information': return uptime(r);
    case 'get-firewall-information': return firewall(r, typeof req.args['filter-name'] === 'string' ? req.args['filter-name'] : undefined);
    case 'get-pfe-statistics': return pfeStats(r);
    case 'get-certificates-information': return certificates(r, req.args);
    case 'get-crl-information': return crls(r, str(req.args['crl-name']));
    case 'get-log': return log(r, str(req.args.filename));
    case 'file-list': return fileList(r, str(req.args.path) ?? IKECERT, req.args.detail === true);
    case 'file-show': return fileShow(r, str(req.args.filename));
    default: return undefined;
  }
}

function interfaces(r: Router, a: Record<string, string | true>): string {
  return interfaceListXml(readInterfaces(r, str(a['interface-name'])), !!a.terse);
}

/** An interface list as `<interface-information>` (terse: names, states and addresses only). */
export function interfaceListXml(v: InterfaceList, terse: boolean): string {
  if (v.error) return err('interface-information', v.error);
  const out = v.interfaces.map(d => el('physical-interface', [
    tx('name', d.name), tx('admin-status', d.adminUp ? 'up' : 'down'), tx('oper-status', d.linkUp && d.adminUp ? 'up' : 'down'),
    ...(terse ? [] : [...(d.description ? [tx('description', d.description)] : []), tx('mtu', d.mtu ?? 1514), tx('current-physical-address', [...d.mac].map(b => b.toString(16).padStart(2, '0')).join(':')),
      el('traffic-statistics', [tx('input-packets', d.counters.inPackets), tx('output-packets', d.counters.outPackets), tx('input-bytes', d.counters.inBytes), tx('output-bytes', d.counters.outBytes)])]),
    ...d.logical.map(l => el('logical-interface', [
      tx('name', l.name), tx('admin-status', l.up ? 'up' : 'down'), tx('oper-status', l.up && d.adminUp && d.linkUp ? 'up' : 'down'),
      ...(l.description ? [tx('description', l.description)] : []),
      el('address-family', [tx('address-family-name', 'inet'),
        ...l.addresses.map(x => el('interface-address', [tx('ifa-local', x.destination !== undefined || d.kind === 'lo' ? intToIp(x.local) : `${intToIp(x.local)}/${x.len}`),
          ...(x.destination !== undefined ? [tx('ifa-destination', intToIp(x.destination))] : [])]))]),
      ...(l.ipsecSa ? [tx('ipsec-sa', l.ipsecSa)] : []),
    ])),
  ]));
  return el('interface-information', out, { style: terse ? 'terse' : 'normal' });
}

function routes(r: Router, a: Record<string, string | true>): string {
  return routeListXml(readRoutes(r, str(a.destination)));
}

/** A route list as `<route-information>`. */
export function routeListXml(v: RouteList): string {
  if (v.error) return err('route-information', v.error);
  return el('route-information', el('route-table', [
    tx('table-name', v.table), tx('destination-count', v.destinations), tx('total-route-count', v.total),
    tx('active-route-count', v.active), tx('holddown-route-count', v.holddown), tx('hidden-route-count', v.hidden),
    ...v.routes.map(rt => el('rt', [tx('rt-destination', prefixStr(rt.prefix)), el('rt-entry', [
      tx('active-tag', '*'), tx('protocol-name', rt.protocol), tx('preference', rt.preference),
      el('nh', [
        ...(rt.nh.kind === 'gateway' ? [tx('to', intToIp(rt.nh.gateway))] : []),
        ...('ifl' in rt.nh && rt.nh.ifl ? [tx(rt.nh.kind === 'local' ? 'nh-local-interface' : 'via', rt.nh.ifl)] : []),
        ...(rt.nh.kind === 'discard' ? [tx('nh-type', 'Discard')] : rt.nh.kind === 'reject' ? [tx('nh-type', 'Reject')] : []),
      ]),
    ])])),
  ]));
}

function ipsecSas(r: Router, pic: PicSnapshot, a: Record<string, string | true>): string {
  return ipsecSaListXml(readIpsecSas(r, pic, { name: str(a['sa-name']), detail: a.detail === true }));
}

/** An SA list as `<ipsec-security-associations-information>`. */
export function ipsecSaListXml(v: IpsecSaList): string {
  if (v.error) return err('ipsec-security-associations-information', v.error);
  const out = v.blocks.map(b => el('ipsec-security-associations-block', [
    tx('sa-name', b.name), ...(b.ifl ? [tx('sa-interface', b.ifl.name)] : []), tx('sa-block-state', b.sas.length ? 'up' : 'down'),
    ...(b.ifl?.tunnel ? [tx('sa-local-gateway', intToIp(b.ifl.tunnel.source)), tx('sa-remote-gateway', intToIp(b.ifl.tunnel.destination))] : []),
    ...b.sas.map(({ sa: s }) => el('ipsec-security-associations', [
      tx('sa-direction', s.direction), tx('sa-spi', s.spi), ...(s.auxSpi !== undefined ? [tx('sa-aux-spi', s.auxSpi)] : []),
      tx('sa-mode', s.mode), tx('sa-type', s.manual ? 'manual' : 'dynamic'), tx('sa-state', s.state === 'active' ? 'installed' : s.state),
      tx('sa-protocol', s.protocol), ...(s.encryption ? [tx('sa-esp-encryption-algorithm', s.encryption)] : []), ...(s.authentication ? [tx('sa-authentication-algorithm', s.authentication)] : []),
      ...(s.remainingSeconds !== undefined ? [tx('sa-hard-lifetime', Math.round(s.remainingSeconds))] : []),
      tx('sa-packets', s.packets), tx('sa-bytes', s.bytes),
    ])),
  ]));
  return el('ipsec-security-associations-information', [tx('total-active-tunnels', v.activeTunnels), ...out]);
}

function ikeSas(r: Router, a: Record<string, string | true>): string {
  return ikeSaListXml(readIkeSas(r, { peer: str(a['peer-address']), detail: a.detail === true }));
}

/** An IKE SA list as `<ike-security-associations-information>`. */
export function ikeSaListXml(v: IkeSaList): string {
  return el('ike-security-associations-information', v.sas.map(s => el('ike-security-associations', [
    tx('ike-sa-remote-address', intToIp(s.peer)), tx('ike-sa-state', s.matured ? 'Matured' : 'Not matured'),
    tx('ike-sa-initiator-cookie', s.icookie.toString('hex')), tx('ike-sa-responder-cookie', s.rcookie.toString('hex')),
    tx('ike-sa-exchange-type', s.mode === 'main' ? 'Main' : 'Aggressive'), tx('ike-sa-role', s.role === 'initiator' ? 'Initiator' : 'Responder'),
    ...(s.choice ? [tx('ike-sa-authentication-method', s.choice.method), tx('ike-sa-encryption-algorithm', s.choice.encryption), tx('ike-sa-authentication-algorithm', s.choice.hash), tx('ike-sa-dh-group', s.choice.group)] : []),
    ...(s.localId ? [tx('ike-sa-local-identity', s.localId)] : []), ...(s.remoteId ? [tx('ike-sa-remote-identity', s.remoteId)] : []),
  ])));
}

function chassis(r: Router): string { return chassisXml(readChassis(r)); }

/** The chassis inventory as `<chassis-inventory>`. */
export function chassisXml(v: ChassisInventory): string {
  return el('chassis-inventory', el('chassis', [tx('name', 'Chassis'), tx('description', v.model),
    ...v.modules.map(m => el('chassis-module', [tx('name', m.name), tx('part-number', m.part), tx('description', m.description)]))]));
}

/** The PICs' states as `<fpc-information junos:style="pic-style">`, JUNOS's elements. */
export function picStatusXml(v: PicStatus): string {
  return el('fpc-information', v.fpcs.map(f => el('fpc', [tx('slot', f.slot), tx('state', f.state), tx('description', f.description),
    ...f.pics.map(p => el('pic', [tx('pic-slot', p.slot), tx('pic-state', p.state), tx('pic-type', p.type)]))])), { 'junos:style': 'pic-style' });
}

/** The commit history as `<commit-information>`, JUNOS's elements. */
export function commitsXml(v: CommitHistory): string {
  return el('commit-information', v.commits.map(c => el('commit-history', [
    tx('sequence-number', c.sequence), tx('user', c.user), tx('client', c.client), dateTime(c.date),
  ])));
}

const dateTime = (d: Date) => el('date-time', d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC', { 'junos:seconds': String(Math.floor(d.getTime() / 1000)) });

function uptime(r: Router): string { return uptimeXml(readUptime(r)); }

/** The system's times as `<system-uptime-information>`. */
export function uptimeXml(v: Uptime): string {
  const secondsAgo = (d: Date) => String(Math.max(0, Math.floor((v.now.getTime() - d.getTime()) / 1000)));
  const length = (d: Date) => el('time-length', secondsAgo(d), { 'junos:seconds': secondsAgo(d) });
  return el('system-uptime-information', [
    el('current-time', dateTime(v.now)),
    el('system-booted-time', [dateTime(v.booted), length(v.booted)]),
    ...(v.lastCommit ? [el('last-configured-time', [dateTime(v.lastCommit.at), length(v.lastCommit.at), tx('user', v.lastCommit.user)])] : []),
  ]);
}

function firewall(r: Router, only?: string): string { return firewallXml(readFirewall(r, only)); }

/** The filters' counters as `<firewall-information>`. */
export function firewallXml(v: FirewallList): string {
  if (v.error) return err('firewall-information', v.error);
  return el('firewall-information', v.filters.map(f => el('filter-information', [tx('filter-name', f.name),
    ...f.counters.map(c => el('counter', [tx('counter-name', c.name), tx('packet-count', c.packets), tx('byte-count', c.bytes)])),
    ...f.terms.map(t => el('term', [tx('term-name', t.name), tx('packet-count', t.packets), tx('byte-count', t.bytes)]))])));
}

function pfeStats(r: Router): string { return pfeStatisticsXml(readPfeStatistics(r)); }

/** The PFE's totals and discards as `<pfe-statistics>`. */
export function pfeStatisticsXml(v: PfeStatistics): string {
  return el('pfe-statistics', [
    el('pfe-traffic-statistics', [tx('input-packets', v.inPackets), tx('output-packets', v.outPackets)]),
    el('pfe-local-traffic-statistics', [tx('local-packets-input', v.localIn), tx('local-packets-output', v.localOut)]),
    el('pfe-discard-statistics', [...v.discards.map(([k, n]) => el('discard', [tx('reason', k), tx('count', n)])), tx('total-discards', v.totalDiscards)]),
  ]);
}

/** `show ipsec certificates`: the same entries as the CLI's (local, CA and cached peer certificates). */
function certificates(r: Router, a: Record<string, string | true>): string { return certificatesXml(readCertificates(r), a); }

/** The certificate database (one serial number, brief or detail as asked) as `<certificates-information>`. */
export function certificatesXml(v: CertificateList, a: Record<string, string | true>): string {
  const all = v.entries;
  const serial = str(a['serial-number']);
  const dec = (hex: string) => BigInt(`0x${hex}`).toString();
  const list = bySerial(all, serial);
  if (serial && !list.length) return err('certificates-information', `no certificate with serial number ${serial}`);
  return el('certificates-information', [tx('database', IKECERT), ...list.map(e => {
    const c = e.cert, k = c.publicKey.asymmetricKeyDetails;
    return el('certificate', [
      tx('file-name', e.file), tx('certificate-type', e.kind), tx('serial-number', dec(c.serialNumber)),
      ...(a.brief ? [tx('subject', oneLineDn(c.subject))] : [
        tx('issuer', oneLineDn(c.issuer)), tx('subject', oneLineDn(c.subject)),
        ...(c.subjectAltName ? [tx('alternate-subject', c.subjectAltName.replace(/IP Address:/g, '').replace(/DNS:/g, ''))] : []),
        tx('not-before', c.validFrom), tx('not-after', c.validTo),
        ...(a.detail ? [tx('public-key-algorithm', c.publicKey.asymmetricKeyType?.toUpperCase() ?? '?'), tx('public-key-length', k?.modulusLength ?? 0),
          tx('fingerprint-sha1', fingerprint(c.raw, 'sha1')), tx('fingerprint-md5', fingerprint(c.raw, 'md5'))] : []),
      ]),
    ]);
  })], { style: a.brief ? 'brief' : a.detail ? 'detail' : 'normal' });
}

/** `show ipsec certificates crl NAME`: a profile's CRLs (or one by its file or URL) and their entries. */
function crls(r: Router, name: string | undefined): string { return crlsXml(readCrls(r), name); }

/** A profile's CRLs (or one by its file or URL) as `<crl-information>`. */
export function crlsXml(v: CrlList, name: string | undefined): string {
  const sel = crlsNamed(v, name);
  if (!name || !sel.length) return err('crl-information', `no CRL ${name ?? ''} (a certification-authority profile with crl or ldap-url, or its file)`);
  return el('crl-information', sel.map(c => el('crl', [
    tx('crl-source', c.source), tx('ca-profile-name', c.profile),
    ...(!c.crl ? [tx('crl-status', 'not available'), tx('crl-error', c.error ?? 'unknown')] : [
      tx('crl-status', 'available'), tx('issuer', oneLineDn(c.crl.issuer)), tx('this-update', c.crl.thisUpdate.toUTCString()),
      tx('next-update', c.crl.nextUpdate ? c.crl.nextUpdate.toUTCString() : 'none'),
      ...(c.error ? [tx('crl-error', c.error)] : []),
      tx('revoked-certificate-count', c.crl.revoked.size),
      ...revokedInOrder(c.crl.revoked).map(([serial, at]) => el('revoked-certificate', [tx('serial-number', serial), tx('revocation-date', at.toUTCString())])),
    ]),
  ])));
}

/** `show log FILE`: JUNOS answers `<get-log>` with the file's text in `<file-content>`. */
function log(r: Router, name: string | undefined): string {
  return fileContentXml(name ? readLog(r, name) : { error: 'could not resolve file: ', name: '', text: '' });
}

/** A file's text (or why not) as `<file-content filename="...">`. */
export function fileContentXml(v: FileText): string {
  if (v.error) return err('file-content', v.error);
  return el('file-content', esc(v.text), { filename: v.name });
}

/** `file list PATH [detail]` as `<directory-list>`; private keys are listed (never shown) with owner-only permissions. */
function fileList(r: Router, path: string, detail: boolean): string { return directoryListXml(readDirectory(r, path), detail); }

export function directoryListXml(v: DirectoryList, detail: boolean): string {
  if (v.error) return err('directory-list', v.error);
  return el('directory-list', el('directory', v.files.map(f => el('file-information', [
    tx('file-name', f.name + (f.dir ? '/' : '')),
    ...(detail ? [tx('file-permissions', f.dir ? 'drwxr-xr-x' : f.secret ? '-rw-------' : '-rw-r--r--'), tx('file-owner', 'root'), tx('file-size', f.size),
      tx('file-date', f.mtime.toISOString().slice(0, 16).replace('T', ' '))] : []),
    ...(f.dir ? [el('file-directory')] : []),
  ])), { name: v.dir }), { 'root-path': v.dir });
}

/** `file show FILE` as `<file-content>` (a private key is refused). */
function fileShow(r: Router, name: string | undefined): string {
  if (!name) return err('file-content', 'the file name is missing');
  return fileContentXml(readFileText(r, name));
}

/**
 * `show ipsec diagnosis` as `<ipsec-diagnosis-information>` (vrouter's own RPC, named as JUNOS names
 * its RPCs): a `<tunnel>` per es- interface with an SA, each finding a `<finding>` with its stable
 * `<finding-id>` (what a script tests) and its text (what to change); a `<bgp-transport-sa>` per BGP
 * session its transport SA keeps down.
 */
export function ipsecDiagnosisXml(v: IpsecDiagnosis): string {
  if (v.error) return err('ipsec-diagnosis-information', v.error);
  return el('ipsec-diagnosis-information', [
    ...v.tunnels.map(t => el('tunnel', [
      tx('interface-name', t.ifl), tx('sa-name', t.sa), tx('sa-type', t.kind),
      tx('local-gateway', intToIp(t.local)), tx('remote-gateway', intToIp(t.peer)), tx('tunnel-state', t.up ? 'Up' : 'Down'),
      ...t.verdicts.map(f => el('finding', [tx('finding-id', f.id), tx('finding-text', f.text)])),
    ])),
    ...v.bgp.map(b => el('bgp-transport-sa', [tx('peer-address', b.peer), tx('sa-name', b.sa), tx('peer-state', b.state), el('finding', [tx('finding-id', b.id), tx('finding-text', b.text)])])),
  ]);
}
