/**
 * The commit check and the compiler. Ordered passes over the parsed tree: ranges (generic, from the
 * schema), then each hierarchy's rules, recording every definition and reference once; one final
 * pass reports undefined references (errors) and unused definitions (warnings). When there is no
 * error, the tree is compiled into the runtime model.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { CNode } from './tree.js';
import { Diagnostic, MessageCode, fmt } from './messages.js';
import { secretBytes } from './secret.js';
import { quoteIfNeeded } from './lexer.js';
import { IFNAME_RE } from './schema.js';
import type * as M from './model.js';
import { ipToInt, parsePrefix, maskOf, intToIp } from '../net/ip.js';
import { PORTS, PROTOCOLS } from '../net/names.js';
import { checkRouting, compileRouting } from '../rpd/config.js';

/** What the commit check needs to know of the hardware (implemented by chassis/). */
export interface ChassisView {
  model: string;
  picType(fpc: number, pic: number): 'fe' | 'es' | undefined;
  portCount(fpc: number, pic: number): number;
}

export interface CheckResult { ok: boolean; diagnostics: Diagnostic[]; model?: M.RouterModel }

type RefType = 'filter' | 'security association' | 'IKE proposal' | 'IPsec proposal' | 'IPsec policy' | 'policy' | 'prefix list';
interface Place { path: string[]; statement: string }

const KEY_SIZES: Record<string, number> = { 'hmac-md5-96': 16, 'hmac-sha1-96': 20, 'des-cbc': 8, '3des-cbc': 24 };

// RFC 2409 appendix A: DES weak and semi-weak keys (compared with parity bits cleared)
const DES_WEAK = [
  '0101010101010101', 'FEFEFEFEFEFEFEFE', 'E0E0E0E0F1F1F1F1', '1F1F1F1F0E0E0E0E',
  '01FE01FE01FE01FE', 'FE01FE01FE01FE01', '1FE01FE00EF10EF1', 'E01FE01FF10EF10E',
  '01E001E001F101F1', 'E001E001F101F101', '1FFE1FFE0EFE0EFE', 'FE1FFE1FFE0EFE0E',
  '011F011F010E010E', '1F011F010E010E01', 'E0FEE0FEF1FEF1FE', 'FEE0FEE0FEF1FEF1',
].map(h => Buffer.from(Buffer.from(h, 'hex').map(b => b & 0xfe)).toString('hex'));
export function isDesWeak(k8: Buffer): boolean {
  return DES_WEAK.includes(Buffer.from(Buffer.from(k8).map(b => b & 0xfe)).toString('hex'));
}

/** The key bytes of a `key (ascii-text|hexadecimal) "$9$..."` leaf (checked by `keyProblem` first). */
export function keyBytes(values: string[]): Buffer {
  const raw = secretBytes(values[1]!);
  return values[0] === 'hexadecimal' ? Buffer.from(raw.toString('latin1'), 'hex') : raw;
}

/** What is wrong with a key's text, whatever its use: empty, not hexadecimal, not printable ASCII. */
export function keyProblem(values: string[]): { code: 'KEY_EMPTY' | 'KEY_NOT_HEX' | 'KEY_HEX_ODD' | 'KEY_NOT_ASCII' } | null {
  const raw = secretBytes(values[1]!);
  if (raw.length === 0) return { code: 'KEY_EMPTY' };
  if (values[0] === 'hexadecimal') {
    const text = raw.toString('latin1');
    if (!/^[0-9a-fA-F]+$/.test(text)) return { code: 'KEY_NOT_HEX' };
    if (text.length % 2) return { code: 'KEY_HEX_ODD' };
  } else if (raw.some(b => b < 0x20 || b > 0x7e)) return { code: 'KEY_NOT_ASCII' };
  return null;
}

export function statementOf(n: CNode): string {
  if (n.def.kind === 'leaf' || n.def.kind === 'leafList') {
    const vals = n.values.map(quoteIfNeeded);
    return `${n.keyword} ${n.def.kind === 'leafList' && vals.length > 1 ? `[ ${vals.join(' ')} ]` : vals.join(' ')}`;
  }
  return n.head().map(quoteIfNeeded).join(' ');
}

export function parsePortRange(v: string): [number, number] | null {
  if (/^\d+$/.test(v)) { const n = Number(v); return n <= 65535 ? [n, n] : null; }
  const m = /^(\d+)-(\d+)$/.exec(v);
  if (m) { const a = Number(m[1]), b = Number(m[2]); return a <= b && b <= 65535 ? [a, b] : null; }
  const p = PORTS[v];
  return p === undefined ? null : [p, p];
}
export function parseProtocol(v: string): number | null {
  if (/^\d+$/.test(v)) { const n = Number(v); return n <= 255 ? n : null; }
  return PROTOCOLS[v] ?? null;
}

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
    const dynamicPerPic = new Map<string, number>();
    const picIfd = new Map<string, string>();   // the PIC's first es- interface, quoted by the warning
    const manualOn = new Map<string, string>();
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
    for (const { ifd, unit, path } of this.units()) {
      const isEs = ifd.key!.startsWith('es-');
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
      const inet = unit.find('family', 'inet');
      if (!inet || inet.inactive) continue;
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
      const sa = inet.get('ipsec-sa');
      if (sa) {
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
    }
    for (const [pic, n] of dynamicPerPic) if (n > 512) this.warn('DYNAMIC_SA_LIMIT', ['interfaces'], picIfd.get(pic)!, pic, n);
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
    for (const p of ipsec.entries('policy')) {
      this.define('IPsec policy', p.key!, { path: base, statement: statementOf(p) });
      const props = p.get('proposals');
      if (!props) this.err('MISSING_STATEMENT', base, statementOf(p), 'proposals');
      for (const name of props?.values ?? []) this.reference('IPsec proposal', name, { path: [...base, 'policy', p.key!], statement: statementOf(props!) });
      const pfs = p.get('perfect-forward-secrecy');
      if (pfs && !pfs.has('keys')) this.err('MISSING_STATEMENT', [...base, 'policy', p.key!], 'perfect-forward-secrecy', 'keys');
    }
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
      for (const d of dirs) {
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
        if (!proto || !spi) continue;
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
    }
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

const num = (s: string | undefined, dflt: number) => (s === undefined ? dflt : Number(s));

/**
 * What an IKE proposal means where a statement is left out: the values of JUNOS's default IKE
 * proposal (pre-shared keys, SHA-1, 3DES-CBC, Diffie-Hellman group 2; 3600 s is the chapter's
 * lifetime default). docs/configuration.md lists them.
 */
export const IKE_PROPOSAL_DEFAULTS = { authenticationMethod: 'pre-shared-keys', authenticationAlgorithm: 'sha1', encryptionAlgorithm: '3des-cbc', dhGroup: 'group2' } as const;

/** Compile a checked tree into the runtime model. */
export function compile(root: CNode): M.RouterModel {
  const sec = root.get('security');
  const model: M.RouterModel = {
    hostName: root.get('system')?.value('host-name') ?? 'vrouter',
    interfaces: [],
    filters: new Map(),
    staticRoutes: [],
    sas: new Map(),
    ike: { proposals: new Map(), policies: new Map() },
    ipsec: { proposals: new Map(), policies: new Map() },
    certificates: { cacheSize: 2097152, cacheTimeoutNegative: 20, enrollmentRetry: 0, maximumCertificates: 1024, pathLength: 15, authorities: new Map(), local: new Map() },
    bgp: [],
    system: { users: new Map() },
  };
  for (const ifd of root.get('interfaces')?.entries('*') ?? []) {
    const m = IFNAME_RE.exec(ifd.key!)!;
    const im: M.InterfaceModel = {
      name: ifd.key!, type: (m[1] as 'fe' | 'es' | undefined) ?? 'lo',
      fpc: Number(m[2] ?? 0), pic: Number(m[3] ?? 0), port: Number(m[4] ?? 0),
      description: ifd.value('description'), disabled: ifd.has('disable'),
      mtu: ifd.has('mtu') ? Number(ifd.value('mtu')) : undefined, units: [],
    };
    for (const u of ifd.entries('unit')) {
      const um: M.UnitModel = { unit: Number(u.key), description: u.value('description'), disabled: u.has('disable') };
      const t = u.get('tunnel');
      if (t?.value('source') && t.value('destination')) um.tunnel = { source: ipToInt(t.value('source')!), destination: ipToInt(t.value('destination')!) };
      const inet = u.find('family', 'inet');
      if (inet && !inet.inactive) {
        um.inet = {
          addresses: inet.entries('address').map(a => {
            const [ip, len] = a.key!.split('/');
            const dst = a.value('destination');
            return { local: ipToInt(ip!), len: Number(len), prefix: parsePrefix(a.key!), text: a.key!, ...(dst ? { destination: ipToInt(dst) } : {}) };
          }),
          inputFilter: inet.get('filter')?.value('input'),
          outputFilter: inet.get('filter')?.value('output'),
          ipsecSa: inet.value('ipsec-sa'),
          mtu: inet.has('mtu') ? Number(inet.value('mtu')) : undefined,
        };
      }
      im.units.push(um);
    }
    model.interfaces.push(im);
  }
  for (const f of root.get('firewall')?.entries('filter') ?? []) {
    model.filters.set(f.key!, {
      name: f.key!,
      terms: f.entries('term').map(t => {
        const from = t.get('from'), then = t.get('then');
        const sa = then?.value('ipsec-sa');
        const action: M.TermAction = sa ? { kind: 'ipsec-sa', sa }
          : then?.has('discard') ? { kind: 'discard' } : then?.has('reject') ? { kind: 'reject' }
          : then?.has('next') ? { kind: 'next' } : { kind: 'accept' };
        return {
          name: t.key!,
          sourceAddress: (from?.entries('source-address') ?? []).map(a => parsePrefix(a.key!)),
          destinationAddress: (from?.entries('destination-address') ?? []).map(a => parsePrefix(a.key!)),
          protocol: (from?.get('protocol')?.values ?? []).map(v => parseProtocol(v)!),
          sourcePort: (from?.get('source-port')?.values ?? []).map(v => parsePortRange(v)!),
          destinationPort: (from?.get('destination-port')?.values ?? []).map(v => parsePortRange(v)!),
          action, count: then?.value('count'),
        };
      }),
    });
  }
  for (const r of root.get('routing-options')?.get('static')?.entries('route') ?? []) {
    model.staticRoutes.push({ prefix: parsePrefix(r.key!), nextHops: r.get('next-hop')?.values ?? [], discard: r.has('discard'), reject: r.has('reject') });
  }
  const ipsec = sec?.get('ipsec');
  for (const sa of ipsec?.entries('security-association') ?? []) {
    const sm: M.SaModel = { name: sa.key!, description: sa.value('description'), mode: (sa.value('mode') as 'tunnel' | 'transport') ?? 'tunnel' };
    const manual = sa.get('manual');
    if (manual) {
      const mk = (d: CNode): M.ManualDirection => {
        const auth = d.get('authentication'), enc = d.get('encryption');
        return {
          protocol: d.value('protocol') as M.IpsecProtocol, spi: Number(d.value('spi')),
          ...(d.has('auxiliary-spi') ? { auxSpi: Number(d.value('auxiliary-spi')) } : {}),
          ...(auth?.get('key') ? { auth: { algorithm: auth.value('algorithm') as M.AuthAlg, key: keyBytes(auth.get('key')!.values) } } : {}),
          ...(enc?.get('key') ? { enc: { algorithm: enc.value('algorithm') as M.EncAlg, key: keyBytes(enc.get('key')!.values) } } : {}),
        };
      };
      const bi = manual.find('direction', 'bidirectional');
      if (bi && !bi.inactive) sm.manual = { inbound: mk(bi), outbound: mk(bi), bidirectional: true };
      else {
        const i = manual.find('direction', 'inbound'), o = manual.find('direction', 'outbound');
        sm.manual = { bidirectional: false, ...(i && !i.inactive ? { inbound: mk(i) } : {}), ...(o && !o.inactive ? { outbound: mk(o) } : {}) };
      }
    }
    const dyn = sa.get('dynamic');
    if (dyn) sm.dynamic = { ipsecPolicy: dyn.value('ipsec-policy')!, ...(dyn.has('replay-window-size') ? { replayWindow: Number(dyn.value('replay-window-size')) as 32 | 64 } : {}) };
    model.sas.set(sa.key!, sm);
  }
  for (const p of ipsec?.entries('proposal') ?? []) {
    model.ipsec.proposals.set(p.key!, {
      name: p.key!, protocol: p.value('protocol') as M.IpsecProtocol, description: p.value('description'),
      authenticationAlgorithm: p.value('authentication-algorithm') as M.AuthAlg | undefined,
      encryptionAlgorithm: p.value('encryption-algorithm') as M.EncAlg | undefined,
      lifetimeSeconds: num(p.value('lifetime-seconds'), 28800),
    });
  }
  for (const p of ipsec?.entries('policy') ?? []) {
    model.ipsec.policies.set(p.key!, { name: p.key!, proposals: p.get('proposals')?.values ?? [], pfs: p.get('perfect-forward-secrecy')?.value('keys') as 'group1' | 'group2' | undefined, description: p.value('description') });
  }
  const ike = sec?.get('ike');
  for (const p of ike?.entries('proposal') ?? []) {
    model.ike.proposals.set(p.key!, {
      name: p.key!, description: p.value('description'),
      authenticationAlgorithm: (p.value('authentication-algorithm') as 'md5' | 'sha1' | undefined) ?? IKE_PROPOSAL_DEFAULTS.authenticationAlgorithm,
      authenticationMethod: (p.value('authentication-method') as M.IkeProposalModel['authenticationMethod']) ?? IKE_PROPOSAL_DEFAULTS.authenticationMethod,
      dhGroup: (p.value('dh-group') as 'group1' | 'group2' | undefined) ?? IKE_PROPOSAL_DEFAULTS.dhGroup,
      encryptionAlgorithm: (p.value('encryption-algorithm') as M.EncAlg | undefined) ?? IKE_PROPOSAL_DEFAULTS.encryptionAlgorithm,
      lifetimeSeconds: num(p.value('lifetime-seconds'), 3600),
    });
  }
  for (const p of ike?.entries('policy') ?? []) {
    const psk = p.get('pre-shared-key');
    model.ike.policies.set(p.key!, {
      peer: p.key!, mode: (p.value('mode') as 'main' | 'aggressive') ?? 'main', proposals: p.get('proposals')?.values ?? [],
      ...(psk ? { preSharedKey: keyBytes(psk.values) } : {}),
      localCertificate: p.value('local-certificate'), localKeyPair: p.value('local-key-pair'), identity: p.value('identity'),
      encoding: (p.value('encoding') as 'binary' | 'pem') ?? 'binary', description: p.value('description'),
    });
  }
  const certs = sec?.get('certificates');
  if (certs) {
    const c = model.certificates;
    c.cacheSize = num(certs.value('cache-size'), c.cacheSize);
    c.cacheTimeoutNegative = num(certs.value('cache-timeout-negative'), c.cacheTimeoutNegative);
    c.enrollmentRetry = num(certs.value('enrollment-retry'), c.enrollmentRetry);
    c.maximumCertificates = num(certs.value('maximum-certificates'), c.maximumCertificates);
    c.pathLength = num(certs.value('path-length'), c.pathLength);
    for (const ca of certs.entries('certification-authority')) {
      c.authorities.set(ca.key!, { caName: ca.value('ca-name'), crl: ca.value('crl'), encoding: (ca.value('encoding') as 'binary' | 'pem') ?? 'binary', enrollmentUrl: ca.value('enrollment-url'), file: ca.value('file'), ldapUrl: ca.value('ldap-url') });
    }
    for (const l of certs.entries('local')) c.local.set(l.key!, { loadKeyFile: l.value('load-key-file'), hasKeyString: l.has('certificate-key-string'), ...(l.has('certificate-key-string') ? { keyString: secretBytes(l.value('certificate-key-string')!).toString('utf8') } : {}) });
  }
  const sys = root.get('system');
  for (const u of sys?.get('login')?.entries('user') ?? []) {
    const a = u.get('authentication');
    model.system.users.set(u.key!, { cls: u.value('class'), encryptedPassword: a?.value('encrypted-password'), sshRsa: a?.get('ssh-rsa')?.values ?? [] });
  }
  const svc = sys?.get('services');
  const xs = svc?.get('xnm-ssl');
  if (xs?.value('local-certificate')) model.system.xnmSsl = { localCertificate: xs.value('local-certificate')! };
  const nc = svc?.get('netconf')?.get('ssh');
  if (nc) model.system.netconfSsh = { port: num(nc.value('port'), 830) };
  const tr = sec?.get('traceoptions');
  if (tr) {
    const f = tr.get('file')?.values;
    const opt = (k: string) => { const i = f?.indexOf(k) ?? -1; return i >= 0 ? f![i + 1] : undefined; };
    model.traceoptions = {
      flags: tr.entries('flag').map(x => x.key!),
      ...(f ? { file: { name: f[0]!, ...(opt('files') ? { files: Number(opt('files')) } : {}), ...(opt('size') ? { size: opt('size'), sizeBytes: traceSize(opt('size')!) } : {}) } } : {}),
    };
  }
  const bgp = root.get('protocols')?.get('bgp');
  for (const g of bgp?.entries('group') ?? []) {
    const groupSa = g.value('ipsec-sa') ?? bgp!.value('ipsec-sa');
    if (groupSa) model.bgp.push({ group: g.key!, ipsecSa: groupSa });
    for (const n of g.entries('neighbor')) model.bgp.push({ group: g.key!, neighbor: n.key!, ipsecSa: n.value('ipsec-sa') ?? groupSa });
  }
  model.rpd = compileRouting(root);
  return model;
}

export function commitCheck(root: CNode, opts: { chassis?: ChassisView } = {}): CheckResult {
  const c = new Checker(root, opts.chassis);
  c.run();
  const ok = !c.diags.some(d => d.severity === 'error');
  return { ok, diagnostics: c.diags, ...(ok ? { model: compile(root) } : {}) };
}

export { intToIp };

/** A trace file size: bytes, or with k, m or g (KB, MB, GB). */
export function traceSize(s: string): number | undefined {
  const m = /^(\d{1,10})([kmg]?)$/i.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2]!.toLowerCase()]!;
}

/** A certificate-key-string holds a PEM certificate and an unencrypted private key that belong together. */
export function certKeyStringOk(pem: string): boolean {
  try {
    const cert = new X509Certificate(pem);
    const m = /-----BEGIN (?:RSA |EC |DSA )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |DSA )?PRIVATE KEY-----/.exec(pem);
    return !!m && cert.checkPrivateKey(createPrivateKey(m[0]));
  } catch { return false; }
}
