/**
 * The commit check and the compiler. Ordered passes over the parsed tree: ranges (generic, from the
 * schema), then each hierarchy's rules, recording every definition and reference once; one final
 * pass reports undefined references (errors) and unused definitions (warnings). When there is no
 * error, the tree is compiled into the runtime model.
 */

import { CNode } from './tree.js';
import { Diagnostic, MessageCode, fmt } from './messages.js';
import { secretBytes } from './secret.js';
import { IFNAME_RE } from './schema.js';
import type * as M from './model.js';
import { ipToInt, maskOf, intToIp } from '../net/ip.js';
import { checkRouting } from '../rpd/config.js';
import { compile, IKE_PROPOSAL_DEFAULTS } from './compile.js';
import { isDesWeak, keyBytes, keyProblem, statementOf, parsePortRange, parseProtocol, traceSize, certKeyStringOk, KEY_SIZES } from './values.js';
export { compile, IKE_PROPOSAL_DEFAULTS } from './compile.js';
export { isDesWeak, keyBytes, keyProblem, statementOf, parsePortRange, parseProtocol, traceSize, certKeyStringOk } from './values.js';

/** What the commit check needs to know of the hardware (implemented by chassis/). */
export interface ChassisView {
  model: string;
  picType(fpc: number, pic: number): 'fe' | 'es' | undefined;
  portCount(fpc: number, pic: number): number;
}

export interface CheckResult { ok: boolean; diagnostics: Diagnostic[]; model?: M.RouterModel }

type RefType = 'filter' | 'security association' | 'IKE proposal' | 'IPsec proposal' | 'IPsec policy' | 'policy' | 'prefix list';
interface Place { path: string[]; statement: string }

/** What the es- units' SAs add up to, over all units. */
interface EsCounts { dynamicPerPic: Map<string, number>; picIfd: Map<string, string>; manualOn: Map<string, string> }

class Checker {
  diags: Diagnostic[] = [];
  defs = new Map<RefType, Map<string, Place>>();
  refs: Array<{ type: RefType; name: string; place: Place }> = [];
  localAddresses = new Map<number, string>();

  constructor(private root: CNode, private chassis?: ChassisView) {}

  add(severity: 'error' | 'warning', code: MessageCode, path: string[], statement: string, args: (string | number)[] = []) {
    this.diags.push({ severity, code, path, statement, message: fmt(code, args) });
  }
  err(code: MessageCode, path: string[], statement: string, ...args: (string | number)[]) { this.add('error', code, path, statement, args); }
  warn(code: MessageCode, path: string[], statement: string, ...args: (string | number)[]) { this.add('warning', code, path, statement, args); }
  define(type: RefType, name: string, place: Place) {
    let m = this.defs.get(type);
    if (!m) this.defs.set(type, (m = new Map()));
    if (!m.has(name)) m.set(name, place);
  }
  reference(type: RefType, name: string, place: Place) { this.refs.push({ type, name, place }); }

  run(): void {
    this.ranges(this.root, []);
    this.interfaces();
    this.firewall();
    this.routes();
    this.ipsec();
    this.ike();
    this.certificates();
    this.traceoptions();
    checkRouting(this.root, { err: (c, p, st, ...a) => this.err(c, p, st, ...a), define: (t, n, pl) => this.define(t, n, pl), reference: (t, n, pl) => this.reference(t, n, pl), statementOf });
    this.resolve();
  }

  /** Pass 1: numeric ranges of every leaf and list key, straight from the schema. */
  ranges(n: CNode, path: string[]): void {
    for (const ch of n.children) {
      if (ch.inactive) continue;
      const t = ch.def.kind === 'list' ? ch.def.keyType : ch.def.type;
      if (t?.t === 'uint') {
        const vals = ch.def.kind === 'list' ? [ch.key!] : ch.values;
        for (const v of vals) {
          const num = Number(v);
          if (t.oneOf && !t.oneOf.includes(num)) this.err('ONE_OF', path, statementOf(ch), v, t.oneOf.join(' or '));
          else if (num < t.min || num > t.max) this.err('RANGE', path, statementOf(ch), v, t.min, t.max);
        }
      }
      if (ch.def.kind === 'container' || ch.def.kind === 'list') this.ranges(ch, [...path, ...ch.head()]);
    }
  }

  *units(): Generator<{ ifd: CNode; unit: CNode; path: string[] }> {
    for (const ifd of this.root.get('interfaces')?.entries('*') ?? []) {
      for (const unit of ifd.entries('unit')) yield { ifd, unit, path: ['interfaces', ifd.key!, 'unit', unit.key!] };
    }
  }

  interfaces(): void {
    this.interfaceAddresses();
    this.interfacePorts();
    const es: EsCounts = { dynamicPerPic: new Map(), picIfd: new Map(), manualOn: new Map() };
    for (const { ifd, unit, path } of this.units()) {
      const isEs = ifd.key!.startsWith('es-');
      const tunnel = this.unitTunnel(unit, path, isEs);
      const inet = unit.find('family', 'inet');
      if (!inet || inet.inactive) continue;
      const ipath = this.unitInet(inet, path);
      const sa = inet.get('ipsec-sa');
      if (sa) this.unitIpsecSa(ifd, unit, ipath, sa, tunnel, isEs, es);
    }
    for (const [pic, n] of es.dynamicPerPic) if (n > 512) this.warn('DYNAMIC_SA_LIMIT', ['interfaces'], es.picIfd.get(pic)!, pic, n);
  }

  /** Each address once on the router; the local addresses, for tunnel sources. */
  private interfaceAddresses(): void {
    const seen = new Map<string, string>();
    for (const { ifd, unit, path } of this.units()) {
      const inet = unit.find('family', 'inet');
      for (const a of inet && !inet.inactive ? inet.entries('address') : []) {
        const ip = ipToInt(a.key!.split('/')[0]!);
        const name = `${ifd.key}.${unit.key}`;
        const prev = seen.get(a.key!.split('/')[0]!);
        if (prev && prev !== name) this.err('DUPLICATE_ADDRESS', [...path, 'family', 'inet'], statementOf(a), a.key!, prev);
        seen.set(a.key!.split('/')[0]!, name);
        this.localAddresses.set(ip, name);
      }
    }
  }

  /** Each interface on a PIC of its type, and a port the PIC has. */
  private interfacePorts(): void {
    for (const ifd of this.root.get('interfaces')?.entries('*') ?? []) {
      const m = IFNAME_RE.exec(ifd.key!);
      const ipath = ['interfaces'];
      if (m && m[1] && this.chassis) {
        const [fpc, pic, port] = [Number(m[2]), Number(m[3]), Number(m[4])];
        const have = this.chassis.picType(fpc, pic);
        if (m[1] === 'es' && have !== 'es') this.err('NO_ES_PIC', ipath, ifd.key!, ifd.key!, fpc, pic);
        else if (m[1] === 'fe' && have !== 'fe') this.warn('NO_PIC', ipath, ifd.key!, ifd.key!, 'Fast Ethernet', fpc, pic);
        else if (have && port >= this.chassis.portCount(fpc, pic)) this.err('PORT_EXHAUSTED', ipath, ifd.key!, ifd.key!, fpc, pic, this.chassis.portCount(fpc, pic));
      }
    }
  }

  /** A unit's tunnel: on an es- interface, from a local source to a destination that can be one. */
  private unitTunnel(unit: CNode, path: string[], isEs: boolean): CNode | undefined {
    const tunnel = unit.get('tunnel');
    if (tunnel && !isEs) this.err('NOT_ES_INTERFACE', path, 'tunnel', 'tunnel');
    if (tunnel) {
      const src = tunnel.value('source'), dst = tunnel.value('destination');
      if (src && !this.localAddresses.has(ipToInt(src))) this.err('TUNNEL_SOURCE_NOT_LOCAL', [...path, 'tunnel'], `source ${src}`, src);
      if (dst) {
        const d = ipToInt(dst);
        if (d === 0 || d >>> 28 === 14 || d >>> 28 === 15 || d >>> 24 === 127) this.err('TUNNEL_DESTINATION_INVALID', [...path, 'tunnel'], `destination ${dst}`, dst);
      }
    }
    return tunnel;
  }

  /** family inet: no network or broadcast address, filters that exist. */
  private unitInet(inet: CNode, path: string[]): string[] {
    const ipath = [...path, 'family', 'inet'];
    for (const a of inet.entries('address')) {
      const [addr, len] = a.key!.split('/');
      const n = ipToInt(addr!), l = Number(len);
      if (l < 31 && ((n & ~maskOf(l)) >>> 0 === 0 || (n | ~maskOf(l)) >>> 0 === 0xffffffff)) this.err('ADDRESS_NETWORK', ipath, statementOf(a), a.key!);
    }
    const filter = inet.get('filter');
    for (const dir of ['input', 'output']) {
      const f = filter?.get(dir);
      if (f) this.reference('filter', f.values[0]!, { path: [...ipath, 'filter'], statement: statementOf(f) });
    }
    return ipath;
  }

  /** ipsec-sa on a unit: an es- interface with a tunnel, an SA in tunnel mode, an IKE policy for a dynamic one's peer, a manual one on one unit. */
  private unitIpsecSa(ifd: CNode, unit: CNode, ipath: string[], sa: CNode, tunnel: CNode | undefined, isEs: boolean, es: EsCounts): void {
    const { dynamicPerPic, picIfd, manualOn } = es;
    if (!isEs) this.err('NOT_ES_INTERFACE', ipath, statementOf(sa), 'ipsec-sa');
    else {
      this.reference('security association', sa.values[0]!, { path: ipath, statement: statementOf(sa) });
      if (!tunnel?.value('source') || !tunnel?.value('destination')) this.err('ES_NEEDS_TUNNEL', ipath, statementOf(sa));
      const saNode = this.root.get('security')?.get('ipsec')?.find('security-association', sa.values[0]);
      if (saNode && !saNode.inactive) {
        if (saNode.value('mode') === 'transport') this.err('ES_SA_NOT_TUNNEL', ipath, statementOf(sa), sa.values[0]!);
        if (saNode.has('dynamic')) {
          const picKey = ifd.key!.replace(/^es-(\d+\/\d+)\/\d+$/, '$1');
          dynamicPerPic.set(picKey, (dynamicPerPic.get(picKey) ?? 0) + 1);
          if (!picIfd.has(picKey)) picIfd.set(picKey, ifd.key!);
          // IKE needs a policy for the peer, or the tunnel can never come up
          const dst = tunnel?.value('destination');
          if (dst && !this.root.get('security')?.get('ike')?.entries('policy').some(p => p.key === dst)) this.warn('DYNAMIC_SA_NO_IKE_POLICY', ipath, statementOf(sa), sa.values[0]!, dst);
        }
        if (saNode.has('manual')) {
          // a manual SA has one SPI per direction: on two tunnels, inbound packets could not be told apart
          const here = `${ifd.key}.${unit.key}`;
          const first = manualOn.get(sa.values[0]!);
          if (first && first !== here) this.err('MANUAL_SA_TWO_UNITS', ipath, statementOf(sa), sa.values[0]!, first);
          else manualOn.set(sa.values[0]!, here);
        }
      }
    }
  }

  firewall(): void {
    const saOnEs = new Set<string>();
    for (const { unit } of this.units()) {
      const s = unit.find('family', 'inet')?.value('ipsec-sa');
      if (s) saOnEs.add(s);
    }
    for (const f of this.root.get('firewall')?.entries('filter') ?? []) {
      this.define('filter', f.key!, { path: ['firewall'], statement: statementOf(f) });
      for (const t of f.entries('term')) {
        const path = ['firewall', 'filter', f.key!, 'term', t.key!];
        const from = t.get('from');
        for (const kw of ['source-port', 'destination-port']) {
          for (const v of from?.get(kw)?.values ?? []) {
            if (parsePortRange(v) === null) this.err(/^\d|-/.test(v) ? 'PORT_RANGE' : 'UNKNOWN_PORT', [...path, 'from'], `${kw} ${v}`, v);
          }
        }
        for (const v of from?.get('protocol')?.values ?? []) {
          if (parseProtocol(v) === null) this.err('UNKNOWN_PROTOCOL', [...path, 'from'], `protocol ${v}`, v);
        }
        const then = t.get('then');
        if (!then) continue;
        const term = ['accept', 'discard', 'reject', 'next', 'ipsec-sa'].filter(k => then.has(k));
        if (term.length > 1) this.err('TERMINATING_ACTIONS', [...path, 'then'], term.join(' '), term.join(', '));
        const sa = then.get('ipsec-sa');
        if (sa) {
          const name = sa.values[0]!;
          this.reference('security association', name, { path: [...path, 'then'], statement: statementOf(sa) });
          const saNode = this.root.get('security')?.get('ipsec')?.find('security-association', name);
          if (saNode && !saNode.inactive) {
            if (saNode.value('mode') === 'transport') this.err('TRANSPORT_ONLY_BGP', [...path, 'then'], statementOf(sa), name);
            else if (!saOnEs.has(name)) this.warn('FILTER_IPSEC_NOT_ON_ES', [...path, 'then'], statementOf(sa), name);
          }
        }
      }
    }
  }

  routes(): void {
    for (const r of this.root.get('routing-options')?.get('static')?.entries('route') ?? []) {
      const n = ['next-hop', 'discard', 'reject'].filter(k => r.has(k)).length;
      if (n !== 1) this.err('ROUTE_ONE_NEXTHOP', ['routing-options', 'static'], statementOf(r));
    }
  }

  keyLeaf(parentPath: string[], group: CNode, what: 'authentication' | 'encryption'): void {
    const alg = group.value('algorithm');
    const key = group.get('key');
    const path = [...parentPath, what];
    if (key && !alg) { this.err('KEY_WITHOUT_ALGORITHM', path, 'key'); return; }
    if (alg && !key) { this.err('ALGORITHM_WITHOUT_KEY', path, `algorithm ${alg}`); return; }
    if (!key || !alg) return;
    const text = secretBytes(key.values[1]!).toString('latin1');
    const kind = key.values[0]!;
    const stmt = statementOf(key);
    const size = KEY_SIZES[alg]!;
    const bad = keyProblem(key.values);
    if (bad && bad.code !== 'KEY_HEX_ODD' && bad.code !== 'KEY_EMPTY') { this.err(bad.code, path, stmt); return; }
    if (kind === 'hexadecimal') {
      if (text.length !== size * 2) { this.err('KEY_LENGTH', path, stmt, 'hexadecimal', alg, size * 2, 'hexadecimal digits', text.length); return; }
    } else if (text.length !== size) { this.err('KEY_LENGTH', path, stmt, 'ascii-text', alg, size, 'characters', text.length); return; }
    if (what === 'encryption') {
      const bytes = keyBytes(key.values);
      for (let i = 0; i < bytes.length; i += 8) {
        if (isDesWeak(bytes.subarray(i, i + 8))) { this.err('DES_WEAK_KEY', path, stmt, alg); return; }
      }
      if (alg === '3des-cbc') {
        const [k1, k2, k3] = [bytes.subarray(0, 8), bytes.subarray(8, 16), bytes.subarray(16, 24)];
        if (k1.equals(k2)) this.warn('TDES_DEGENERATE', path, stmt, 'first', 'second');
        else if (k2.equals(k3)) this.warn('TDES_DEGENERATE', path, stmt, 'second', 'third');
      }
    }
  }

  ipsec(): void {
    const ipsec = this.root.get('security')?.get('ipsec');
    if (!ipsec) return;
    const base = ['security', 'ipsec'];
    this.ipsecProposals(ipsec, base);
    this.ipsecPolicies(ipsec, base);
    this.securityAssociations(ipsec, base);
    this.bgpSas(ipsec);
  }

  private ipsecProposals(ipsec: CNode, base: string[]): void {
    for (const p of ipsec.entries('proposal')) {
      this.define('IPsec proposal', p.key!, { path: base, statement: statementOf(p) });
      const path = [...base, 'proposal', p.key!];
      const proto = p.value('protocol');
      if (!proto) { this.err('MISSING_STATEMENT', base, statementOf(p), 'protocol'); continue; }
      const enc = p.has('encryption-algorithm'), auth = p.has('authentication-algorithm');
      if (proto === 'ah' && enc) this.err('IPSEC_PROPOSAL_AH_ENCRYPTION', path, `encryption-algorithm ${p.value('encryption-algorithm')}`);
      if (proto === 'ah' && !auth) this.err('PROTOCOL_NEEDS', path, 'protocol ah', 'ah', 'authentication-algorithm');
      if (proto === 'bundle' && !(enc && auth)) this.err('PROTOCOL_NEEDS', path, 'protocol bundle', 'bundle', 'authentication-algorithm and encryption-algorithm');
      if (proto === 'esp' && !enc && !auth) this.err('ESP_NEEDS_SOMETHING', path, 'protocol esp');
    }
  }

  private ipsecPolicies(ipsec: CNode, base: string[]): void {
    for (const p of ipsec.entries('policy')) {
      this.define('IPsec policy', p.key!, { path: base, statement: statementOf(p) });
      const props = p.get('proposals');
      if (!props) this.err('MISSING_STATEMENT', base, statementOf(p), 'proposals');
      for (const name of props?.values ?? []) this.reference('IPsec proposal', name, { path: [...base, 'policy', p.key!], statement: statementOf(props!) });
      const pfs = p.get('perfect-forward-secrecy');
      if (pfs && !pfs.has('keys')) this.err('MISSING_STATEMENT', [...base, 'policy', p.key!], 'perfect-forward-secrecy', 'keys');
    }
  }

  /** Each SA manual or dynamic, not both; a dynamic one's policy; each manual direction's SPIs and algorithms. */
  private securityAssociations(ipsec: CNode, base: string[]): void {
    const spiOwner = new Map<string, string>();
    for (const sa of ipsec.entries('security-association')) {
      this.define('security association', sa.key!, { path: base, statement: statementOf(sa) });
      const path = [...base, 'security-association', sa.key!];
      const manual = sa.get('manual'), dynamic = sa.get('dynamic');
      if (manual && dynamic) { this.err('SA_BOTH_KINDS', base, statementOf(sa)); continue; }
      if (!manual && !dynamic) { this.err('SA_MANUAL_OR_DYNAMIC', base, statementOf(sa)); continue; }
      if (dynamic) {
        if (sa.value('mode') === 'transport') this.err('DYNAMIC_TRANSPORT', path, 'mode transport', sa.key!);
        const pol = dynamic.get('ipsec-policy');
        if (!pol) this.err('MISSING_STATEMENT', path, 'dynamic', 'ipsec-policy');
        else this.reference('IPsec policy', pol.values[0]!, { path: [...path, 'dynamic'], statement: statementOf(pol) });
        continue;
      }
      const dirs = manual!.entries('direction');
      if (dirs.length === 0) { this.err('MANUAL_NEEDS_DIRECTION', path, 'manual'); continue; }
      if (dirs.some(d => d.key === 'bidirectional') && dirs.length > 1) this.err('BIDIRECTIONAL_EXCLUSIVE', [...path, 'manual'], 'direction bidirectional');
      for (const d of dirs) this.manualDirection(sa, path, d, spiOwner);
    }
  }

  /** One direction of a manual SA: protocol, SPI (unique per protocol), keys, and what the protocol needs. */
  private manualDirection(sa: CNode, path: string[], d: CNode, spiOwner: Map<string, string>): void {
    const dpath = [...path, 'manual', 'direction', d.key!];
    const proto = d.value('protocol');
    const spi = d.value('spi');
    const aux = d.get('auxiliary-spi');
    const auth = d.get('authentication'), enc = d.get('encryption');
    if (!proto) this.err('MISSING_STATEMENT', [...path, 'manual'], statementOf(d), 'protocol');
    if (!spi) this.err('MISSING_STATEMENT', [...path, 'manual'], statementOf(d), 'spi');
    if (auth) this.keyLeaf(dpath, auth, 'authentication');
    if (enc) this.keyLeaf(dpath, enc, 'encryption');
    if (proto === 'ah' && enc) this.err('AH_NO_ENCRYPTION', dpath, 'encryption');
    if (proto === 'ah' && !auth?.has('algorithm')) this.err('PROTOCOL_NEEDS', dpath, 'protocol ah', 'ah', 'authentication');
    if (proto === 'bundle' && !(auth?.has('algorithm') && enc?.has('algorithm'))) this.err('PROTOCOL_NEEDS', dpath, 'protocol bundle', 'bundle', 'authentication and encryption');
    if (proto === 'esp' && !auth?.has('algorithm') && !enc?.has('algorithm')) this.err('ESP_NEEDS_SOMETHING', dpath, 'protocol esp');
    if (aux && proto !== 'bundle') this.err('AUX_SPI_ONLY_BUNDLE', dpath, statementOf(aux));
    if (proto === 'bundle' && !aux) this.err('BUNDLE_NEEDS_AUX_SPI', dpath, 'protocol bundle');
    if (proto === 'bundle' && aux && spi === aux.values[0]) this.err('SAME_SPI_BUNDLE', dpath, statementOf(aux));
    if (!proto || !spi) return;
    const pairs: Array<[string, string, string]> = proto === 'bundle'
      ? [['ah', spi, `spi ${spi}`], ...(aux ? [['esp', aux.values[0]!, statementOf(aux)] as [string, string, string]] : [])]
      : [[proto, spi, `spi ${spi}`]];
    for (const [pr, s, stmt] of pairs) {
      const k = `${pr}/${s}`;
      const owner = spiOwner.get(k);
      if (owner !== undefined && owner !== sa.key) this.err('DUPLICATE_SPI', dpath, stmt, s, pr, owner);
      else spiOwner.set(k, sa.key!);
    }
  }

  /** The SAs named under [edit protocols bgp]. */
  private bgpSas(ipsec: CNode): void {
    // an SA named under [edit protocols bgp] is deliberately not checked (chapter note), but it is a use
    const bgp = this.root.get('protocols')?.get('bgp');
    const bgpPlaces: Array<[CNode, string[]]> = bgp ? [[bgp, ['protocols', 'bgp']]] : [];
    for (const g of bgp?.entries('group') ?? []) {
      bgpPlaces.push([g, ['protocols', 'bgp', 'group', g.key!]]);
      for (const n of g.entries('neighbor')) bgpPlaces.push([n, ['protocols', 'bgp', 'group', g.key!, 'neighbor', n.key!]]);
    }
    for (const [n, path] of bgpPlaces) {
      const name = n.value('ipsec-sa');
      if (!name) continue;
      this.bgpUses.add(name);
      // an undefined name is not checked (chapter note); a defined one must be a manual transport SA
      const saNode = ipsec.find('security-association', name);
      if (!saNode || saNode.inactive) continue;
      if (saNode.has('dynamic')) this.err('BGP_SA_NOT_MANUAL', path, `ipsec-sa ${name}`, name);
      else if (saNode.value('mode') !== 'transport') this.err('BGP_SA_NOT_TRANSPORT', path, `ipsec-sa ${name}`, name);
    }
  }
  bgpUses = new Set<string>();

  ike(): void {
    const ike = this.root.get('security')?.get('ike');
    if (!ike) return;
    const base = ['security', 'ike'];
    const proposals = new Map<string, CNode>();
    for (const p of ike.entries('proposal')) {
      this.define('IKE proposal', p.key!, { path: base, statement: statementOf(p) });
      proposals.set(p.key!, p);
      // statements left out take JUNOS's defaults (IKE_PROPOSAL_DEFAULTS), as the chapter's minimum
      // certificates configuration, a proposal with only authentication-method, needs
    }
    const tunnelDests = new Set<string>();
    for (const { ifd, unit } of this.units()) {
      const d = unit.get('tunnel')?.value('destination');
      if (d && ifd.key!.startsWith('es-')) tunnelDests.add(d);
    }
    for (const pol of ike.entries('policy')) {
      const path = [...base, 'policy', pol.key!];
      const psk = pol.get('pre-shared-key');
      const bad = psk && keyProblem(psk.values);
      if (bad) this.err(bad.code, path, statementOf(psk!));
      if (!tunnelDests.has(pol.key!)) this.err('IKE_PEER_NOT_TUNNEL', base, statementOf(pol), pol.key!);
      const props = pol.get('proposals');
      if (!props) { this.err('MISSING_STATEMENT', base, statementOf(pol), 'proposals'); continue; }
      for (const name of props.values) {
        this.reference('IKE proposal', name, { path, statement: statementOf(props) });
        const method = proposals.get(name)?.value('authentication-method') ?? IKE_PROPOSAL_DEFAULTS.authenticationMethod;
        if (method === 'pre-shared-keys' && !pol.has('pre-shared-key')) this.err('IKE_POLICY_NEEDS_PSK', base, statementOf(pol), name);
        if ((method === 'rsa-signatures' || method === 'dsa-signatures') && !pol.has('local-certificate')) this.err('IKE_POLICY_NEEDS_CERT', base, statementOf(pol), name, method);
        if ((method === 'rsa-signatures' || method === 'dsa-signatures') && !pol.has('local-key-pair')) this.err('IKE_POLICY_NEEDS_KEY_PAIR', base, statementOf(pol), name, method);
      }
    }
  }

  /** `[edit security traceoptions] file NAME files N size S`: files 2..1000 and needs size; size 10k..1g. */
  traceoptions(): void {
    const tr = this.root.get('security')?.get('traceoptions');
    const f = tr?.get('file');
    if (!f) return;
    const path = ['security', 'traceoptions'];
    const v = f.values;
    const opt = (k: string) => { const i = v.indexOf(k); return i > 0 ? v[i + 1] : undefined; };
    const files = opt('files'), size = opt('size');
    if (files !== undefined && (Number(files) < 2 || Number(files) > 1000)) this.err('TRACE_FILES_RANGE', path, statementOf(f), files);
    if (files !== undefined && size === undefined) this.err('TRACE_FILES_NEED_SIZE', path, statementOf(f));
    if (size !== undefined) {
      const n = traceSize(size);
      if (n === undefined || n < 10 * 1024 || n > 1024 ** 3) this.err('TRACE_SIZE_RANGE', path, statementOf(f), size);
    }
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(v[0] ?? '') || v[0] === '.' || v[0] === '..') this.err('TRACE_FILE_NAME', path, statementOf(f), v[0] ?? '');
  }

  certificates(): void {
    const certs = this.root.get('security')?.get('certificates');
    for (const ca of certs?.entries('certification-authority') ?? []) {
      const path = ['security', 'certificates', 'certification-authority', ca.key!];
      const e = ca.value('enrollment-url'), l = ca.value('ldap-url');
      if (e !== undefined && !/^http:\/\/[^/\s]+/i.test(e)) this.err('URL_SCHEME', path, statementOf(ca.get('enrollment-url')!), 'enrollment-url', 'http://CA_name');
      if (l !== undefined && !/^ldap:\/\/[^/\s]+/i.test(l)) this.err('URL_SCHEME', path, statementOf(ca.get('ldap-url')!), 'ldap-url', 'ldap://server_name');
    }
    for (const l of certs?.entries('local') ?? []) {
      const n = ['certificate-key-string', 'load-key-file'].filter(k => l.has(k)).length;
      if (n !== 1) this.err('CERT_LOCAL_ONE_SOURCE', ['security', 'certificates'], statementOf(l));
      const ks = l.value('certificate-key-string');
      if (ks !== undefined && !certKeyStringOk(secretBytes(ks).toString('utf8'))) this.err('CERT_KEY_STRING', ['security', 'certificates', 'local', l.key!], statementOf(l.get('certificate-key-string')!));
    }
    const sys = this.root.get('system');
    const xs = sys?.get('services')?.get('xnm-ssl');
    if (xs) {
      const name = xs.value('local-certificate');
      if (name === undefined) this.err('XNM_SSL_NEEDS_CERT', ['system', 'services'], statementOf(xs));
      else if (!certs?.entries('local').some(l => l.key === name)) this.err('XNM_SSL_NO_CERT', ['system', 'services', 'xnm-ssl'], statementOf(xs.get('local-certificate')!), name);
    }
    for (const u of sys?.get('login')?.entries('user') ?? []) {
      if (!u.has('class')) this.err('USER_NEEDS_CLASS', ['system', 'login', 'user', u.key!], statementOf(u));
      if (u.get('authentication')?.has('plain-text-password')) this.err('PLAIN_TEXT_PASSWORD', ['system', 'login', 'user', u.key!, 'authentication'], statementOf(u.get('authentication')!.get('plain-text-password')!));
    }
  }

  resolve(): void {
    const used = new Map<RefType, Set<string>>();
    for (const r of this.refs) {
      if (!this.defs.get(r.type)?.has(r.name)) this.err('UNDEFINED_REF', r.place.path, r.place.statement, r.type, r.name);
      let s = used.get(r.type);
      if (!s) used.set(r.type, (s = new Set()));
      s.add(r.name);
    }
    for (const [type, m] of this.defs) {
      for (const [name, place] of m) {
        if (used.get(type)?.has(name)) continue;
        if (type === 'security association' && this.bgpUses.has(name)) continue;
        this.warn('UNUSED', place.path, place.statement, type.charAt(0).toUpperCase() + type.slice(1), name);
      }
    }
  }
}

export function commitCheck(root: CNode, opts: { chassis?: ChassisView } = {}): CheckResult {
  const c = new Checker(root, opts.chassis);
  c.run();
  const ok = !c.diags.some(d => d.severity === 'error');
  return { ok, diagnostics: c.diags, ...(ok ? { model: compile(root) } : {}) };
}

export { intToIp };
