/** The compiler: a checked configuration tree into the runtime model the daemons read (model.ts). */
import { CNode } from './tree.js';
import { secretBytes } from './secret.js';
import { IFNAME_RE } from './schema.js';
import type * as M from './model.js';
import { ipToInt, parsePrefix } from '../net/ip.js';
import { compileRouting } from '../rpd/config.js';
import { keyBytes, parsePortRange, parseProtocol, traceSize } from './values.js';

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
  compileInterfaces(root, model);
  compileFilters(root, model);
  compileStaticRoutes(root, model);
  compileIpsec(sec?.get('ipsec'), model);
  compileIke(sec?.get('ike'), model);
  compileCertificates(sec?.get('certificates'), model);
  compileSystem(root.get('system'), model);
  compileTraceoptions(sec?.get('traceoptions'), model);
  compileBgpSas(root.get('protocols')?.get('bgp'), model);
  model.rpd = compileRouting(root);
  return model;
}

/** [edit interfaces]: each port and its units (addresses, filters, tunnel, ipsec-sa). */
function compileInterfaces(root: CNode, model: M.RouterModel): void {
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
}

/** [edit firewall]: the filters and their terms. */
function compileFilters(root: CNode, model: M.RouterModel): void {
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
}

/** [edit routing-options static]. */
function compileStaticRoutes(root: CNode, model: M.RouterModel): void {
  for (const r of root.get('routing-options')?.get('static')?.entries('route') ?? []) {
    model.staticRoutes.push({ prefix: parsePrefix(r.key!), nextHops: r.get('next-hop')?.values ?? [], discard: r.has('discard'), reject: r.has('reject'), ...(r.has('metric') ? { metric: Number(r.value('metric')) } : {}) });
  }
}

/** [edit security ipsec]: security associations (manual, dynamic), proposals, policies. */
function compileIpsec(ipsec: CNode | undefined, model: M.RouterModel): void {
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
}

/** [edit security ike]: proposals (JUNOS's defaults where left out) and policies. */
function compileIke(ike: CNode | undefined, model: M.RouterModel): void {
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
}

/** [edit security certificates]: the limits, the CAs and the local certificates. */
function compileCertificates(certs: CNode | undefined, model: M.RouterModel): void {
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
}

/** [edit system]: login users and the XML API's services. */
function compileSystem(sys: CNode | undefined, model: M.RouterModel): void {
  for (const u of sys?.get('login')?.entries('user') ?? []) {
    const a = u.get('authentication');
    model.system.users.set(u.key!, { cls: u.value('class'), encryptedPassword: a?.value('encrypted-password'), sshRsa: a?.get('ssh-rsa')?.values ?? [] });
  }
  const svc = sys?.get('services');
  const xs = svc?.get('xnm-ssl');
  if (xs?.value('local-certificate')) model.system.xnmSsl = { localCertificate: xs.value('local-certificate')! };
  const nc = svc?.get('netconf')?.get('ssh');
  if (nc) model.system.netconfSsh = { port: num(nc.value('port'), 830) };
}

/** [edit security traceoptions]. */
function compileTraceoptions(tr: CNode | undefined, model: M.RouterModel): void {
  if (tr) {
    const f = tr.get('file')?.values;
    const opt = (k: string) => { const i = f?.indexOf(k) ?? -1; return i >= 0 ? f![i + 1] : undefined; };
    model.traceoptions = {
      flags: tr.entries('flag').map(x => x.key!),
      ...(f ? { file: { name: f[0]!, ...(opt('files') ? { files: Number(opt('files')) } : {}), ...(opt('size') ? { size: opt('size'), sizeBytes: traceSize(opt('size')!) } : {}) } } : {}),
    };
  }
}

/** [edit protocols bgp]: the groups' and neighbors' transport SAs. */
function compileBgpSas(bgp: CNode | undefined, model: M.RouterModel): void {
  for (const g of bgp?.entries('group') ?? []) {
    const groupSa = g.value('ipsec-sa') ?? bgp!.value('ipsec-sa');
    if (groupSa) model.bgp.push({ group: g.key!, ipsecSa: groupSa });
    for (const n of g.entries('neighbor')) model.bgp.push({ group: g.key!, neighbor: n.key!, ipsecSa: n.value('ipsec-sa') ?? groupSa });
  }
}
