/**
 * The configuration schema: every statement vrouter accepts, with its kind, value type, range and
 * help text. The loader, the display, the commit check (ranges) and the CLI (help, completion) all
 * read this one table. Statements not listed here are syntax errors, never silently dropped.
 */
import { isIpv4 } from '../net/ip.js';

export type ValueType =
  | { t: 'word'; what?: string }
  | { t: 'string'; what?: string }
  | { t: 'uint'; min: number; max: number; oneOf?: number[] }
  | { t: 'ipv4' }
  | { t: 'prefix' }          // a.b.c.d/len (a bare address means /32)
  | { t: 'ifaddr' }          // a.b.c.d/len, host bits allowed
  | { t: 'enum'; values: string[]; aliases?: Record<string, string> }
  | { t: 'secret' }          // (ascii-text | hexadecimal) key, displayed as $9$ + ## SECRET-DATA
  | { t: 'port' }            // number, range a-b, or a service name
  | { t: 'proto' }           // number or protocol name
  | { t: 'nexthop' }         // IPv4 address or interface name
  | { t: 'tracefile' }       // filename <files n> <size s>
  | { t: 'ifname' };

export type DefKind = 'container' | 'list' | 'leaf' | 'leafList' | 'flag';
export interface Def {
  kind: DefKind;
  help: string;
  children?: Record<string, Def>;  // container and list instance; '*' is a keyless list
  keyType?: ValueType;             // list
  grouped?: boolean;               // list shown as `kw { key1; key2; }`
  type?: ValueType;                // leaf, leafList
  oneLine?: boolean;               // `then accept;`, `route P next-hop A;` when it has one leaf child
  secret?: boolean;
  /** a secret that is a one-way hash (encrypted-password): kept and shown as typed, with ## SECRET-DATA */
  hashed?: boolean;
  dflt?: string;                   // documented default, for docs and `?`
}

const c = (help: string, children: Record<string, Def>, extra: Partial<Def> = {}): Def => ({ kind: 'container', help, children, ...extra });
const l = (help: string, keyType: ValueType, children: Record<string, Def>, extra: Partial<Def> = {}): Def => ({ kind: 'list', help, keyType, children, ...extra });
const leaf = (help: string, type: ValueType, extra: Partial<Def> = {}): Def => ({ kind: 'leaf', help, type, ...extra });
const leafList = (help: string, type: ValueType): Def => ({ kind: 'leafList', help, type });
const flag = (help: string): Def => ({ kind: 'flag', help });
const en = (...values: string[]): ValueType => ({ t: 'enum', values });
const u = (min: number, max: number, oneOf?: number[]): ValueType => ({ t: 'uint', min, max, ...(oneOf ? { oneOf } : {}) });
const WORD: ValueType = { t: 'word' };
const STR: ValueType = { t: 'string' };
const U32_MAX = 4294967295;
const description = () => leaf('Text description', STR);

export const SPI_RANGE = u(256, 16639);
export const LIFETIME = u(180, 86400);

const inet: Record<string, Def> = {
  mtu: leaf('Maximum transmission unit for the family', u(256, 9192)),
  filter: c('Filters to apply to this family', {
    input: leaf('Name of filter applied to received packets', { t: 'word', what: 'filter-name' }),
    output: leaf('Name of filter applied to transmitted packets', { t: 'word', what: 'filter-name' }),
  }),
  'ipsec-sa': leaf('IPsec security association to apply (es- interfaces)', { t: 'word', what: 'sa-name' }),
  address: l('Interface address/destination prefix', { t: 'ifaddr' }, {
    destination: leaf('Point-to-point destination address', { t: 'ipv4' }),
  }),
};

const unit: Def = l('Logical interface', u(0, 16384), {
  description: description(),
  disable: flag('Disable this logical interface'),
  tunnel: c('Tunnel parameters (es- interfaces)', {
    source: leaf('Tunnel source address', { t: 'ipv4' }),
    destination: leaf('Tunnel destination address', { t: 'ipv4' }),
  }),
  family: l('Protocol family', en('inet'), inet),
});

const ifd: Def = l('Interface name', { t: 'ifname' }, {
  description: description(),
  disable: flag('Disable this interface'),
  mtu: leaf('Maximum transmission unit packet size', u(256, 9192)),
  unit,
});

const term: Def = l('Define a firewall term', { t: 'word', what: 'term-name' }, {
  from: c('Define match criteria', {
    'source-address': l('Match IP source address', { t: 'prefix' }, {}, { grouped: true }),
    'destination-address': l('Match IP destination address', { t: 'prefix' }, {}, { grouped: true }),
    protocol: leafList('Match IP protocol type', { t: 'proto' }),
    'source-port': leafList('Match TCP/UDP source port', { t: 'port' }),
    'destination-port': leafList('Match TCP/UDP destination port', { t: 'port' }),
  }),
  then: c('Action to take if the \'from\' condition is matched', {
    accept: flag('Accept the packet'),
    discard: flag('Discard the packet'),
    reject: flag('Reject the packet (ICMP unreachable)'),
    count: leaf('Count the packet in the named counter', { t: 'word', what: 'counter-name' }),
    next: leaf('Continue to the next term', en('term')),
    'ipsec-sa': leaf('Send the packet into the named IPsec security association', { t: 'word', what: 'sa-name' }),
  }, { oneLine: true }),
});

const securityAssociation: Def = l('Define a security association', { t: 'word', what: 'sa-name' }, {
  description: description(),
  dynamic: c('Define a dynamic security association', {
    'ipsec-policy': leaf('Name of the IPsec policy', { t: 'word', what: 'policy-name' }),
    'replay-window-size': leaf('Size of the replay window', u(32, 64, [32, 64])),
  }),
  manual: c('Define a manual security association', {
    direction: l('Direction for which the SA is applied', { t: 'enum', values: ['inbound', 'outbound', 'bidirectional'], aliases: { 'bi-directional': 'bidirectional' } }, {
      authentication: c('Define authentication parameters', {
        algorithm: leaf('Authentication algorithm', en('hmac-md5-96', 'hmac-sha1-96')),
        key: leaf('Authentication key', { t: 'secret' }, { secret: true }),
      }),
      'auxiliary-spi': leaf('ESP SPI for a bundle SA', SPI_RANGE),
      encryption: c('Define encryption parameters', {
        algorithm: leaf('Encryption algorithm', en('des-cbc', '3des-cbc')),
        key: leaf('Encryption key', { t: 'secret' }, { secret: true }),
      }),
      protocol: leaf('Define an IPsec protocol for the SA', en('ah', 'esp', 'bundle')),
      spi: leaf('Security parameter index', SPI_RANGE),
    }),
  }),
  mode: leaf('Define security association mode', en('tunnel', 'transport'), { dflt: 'tunnel' }),
});

const bgpCommon: Record<string, Def> = {
  description: description(),
  'peer-as': leaf('Autonomous system number of the peer', u(1, U32_MAX)),
  'local-address': leaf('Address of local end of BGP session', { t: 'ipv4' }),
  'hold-time': leaf('Hold time used when negotiating with a peer (seconds)', u(3, 65535), { dflt: '90' }),
  import: leafList('Import policy', { t: 'word', what: 'policy-name' }),
  export: leafList('Export policy', { t: 'word', what: 'policy-name' }),
  'ipsec-sa': leaf('IPsec SA protecting the BGP sessions', { t: 'word', what: 'sa-name' }),
  family: c('Protocol family for NLRIs in updates', {
    inet: c('IPv4 NLRI parameters', {
      unicast: c('Include unicast NLRIs', {
        'prefix-limit': c('Limit maximum number of prefixes from a peer', {
          maximum: leaf('Maximum number of prefixes accepted from a peer', u(1, U32_MAX)),
          teardown: flag('Clear peer connection on reaching limit'),
        }),
      }),
    }),
  }),
};

const policyFrom: Def = c('Conditions to match the source of a route', {
  protocol: leafList('Protocol from which route was learned', en('bgp', 'direct', 'local', 'static')),
  neighbor: leafList('Neighboring router', { t: 'ipv4' }),
  'prefix-list': leafList('List of prefixes', { t: 'word', what: 'prefix-list-name' }),
  'route-filter': l('Routes to match', { t: 'prefix' }, {
    exact: flag('Exactly match the prefix length'),
    orlonger: flag('Mask length is greater than or equal to the prefix length'),
    longer: flag('Mask length is greater than the prefix length'),
    upto: leaf('Mask length is from the prefix length to this length', { t: 'word', what: '/prefix-length' }),
    'prefix-length-range': leaf('Mask length is in this range', { t: 'word', what: '/prefix-length2-/prefix-length3' }),
  }, { oneLine: true }),
});
const policyThen: Def = c('Actions to take if the \'from\' and \'to\' conditions match', {
  accept: flag('Accept a route'),
  reject: flag('Reject a route'),
  'next-hop': leaf('Set the address of the next-hop router', { t: 'word', what: 'self | address' }),
  'local-preference': leaf('Local preference associated with a route', u(0, U32_MAX)),
  metric: leaf('Metric value (MED)', u(0, U32_MAX)),
}, { oneLine: true });

export const ROOT: Def = c('configuration', {
  system: c('System parameters', {
    'host-name': leaf('Hostname for this router', WORD),
    login: c('Names, login classes, and passwords for users', {
      user: l('Username', { t: 'word', what: 'username' }, {
        class: leaf('Login class', en('super-user', 'operator', 'read-only', 'unauthorized')),
        'full-name': leaf('Full name', STR),
        authentication: c('Authentication method', {
          'encrypted-password': leaf('Encrypted password string', STR, { secret: true, hashed: true }),
          'plain-text-password': flag('Prompt for plain text password (stored encrypted)'),
          'ssh-rsa': leafList('Secure shell (ssh) RSA public key string', STR),
        }),
      }),
    }),
    services: c('System services', {
      'xnm-ssl': c('Allow JUNOScript connections over SSL (TCP 3220)', {
        'local-certificate': leaf('Name of local X.509 certificate to use', { t: 'word', what: 'certificate-name' }),
      }),
      netconf: c('Allow NETCONF connections', {
        ssh: c('Allow NETCONF connections over SSH', {
          port: leaf('Service port number', u(1, 65535), { dflt: '830' }),
        }),
      }),
    }),
  }),
  interfaces: c('Interface configuration', { '*': ifd }),
  firewall: c('Define a firewall configuration', {
    filter: l('Define an IPv4 firewall filter', { t: 'word', what: 'filter-name' }, { term }),
  }),
  'routing-options': c('Protocol-independent routing option configuration', {
    'autonomous-system': leaf('Autonomous system number', u(1, U32_MAX)),
    'router-id': leaf('Router identifier', { t: 'ipv4' }),
    static: c('Static routes', {
      route: l('Static route', { t: 'prefix' }, {
        'next-hop': leafList('Next hop to destination', { t: 'nexthop' }),
        discard: flag('Drop packets to destination; send no ICMP unreachables'),
        reject: flag('Drop packets to destination; send ICMP unreachables'),
        metric: leaf('Metric for static route', u(0, U32_MAX)),
      }, { oneLine: true }),
    }),
  }),
  protocols: c('Routing protocol configuration', {
    bgp: c('BGP options', {
      ...bgpCommon,
      traceoptions: c('Trace options for BGP', { file: leaf('Trace file: name <files number> <size size>', { t: 'tracefile' }), flag: l('Tracing parameters', en('all', 'open', 'update', 'keepalive', 'refresh', 'notification', 'state'), {}) }),
      group: l('Define a peer group', { t: 'word', what: 'group-name' }, {
        ...bgpCommon,
        type: leaf('Type of peer group', en('internal', 'external')),
        neighbor: l('Configure a neighbor', { t: 'ipv4' }, { ...bgpCommon }),
      }),
    }),
  }),
  'policy-options': c('Routing policy option configuration', {
    'prefix-list': l('Define a prefix list', { t: 'word', what: 'prefix-list-name' }, {
      '*': l('Address prefix', { t: 'prefix' }, {}),
    }),
    'policy-statement': l('Routing policy', { t: 'word', what: 'policy-name' }, {
      term: l('Policy term', { t: 'word', what: 'term-name' }, { from: policyFrom, then: policyThen }),
      from: policyFrom,
      then: policyThen,
    }),
  }),
  security: c('Security configuration', {
    certificates: c('X509 certificate configuration', {
      'cache-size': leaf('Maximum size of certificate cache (bytes)', u(64, U32_MAX), { dflt: '2097152' }),
      'cache-timeout-negative': leaf('Time for which a failed lookup stays in the negative cache (seconds)', u(0, U32_MAX), { dflt: '20' }),
      'certification-authority': l('CA profile configuration', { t: 'word', what: 'ca-profile-name' }, {
        'ca-name': leaf('CA identity to use in the certificate request', WORD),
        crl: leaf('File to read the certificate revocation list from', { t: 'word', what: 'file-name' }),
        encoding: leaf('Encoding of certificate files', en('binary', 'pem'), { dflt: 'binary' }),
        'enrollment-url': leaf('URL of the SCEP server', { t: 'word', what: 'url' }),
        file: leaf('File to read the CA certificate from', { t: 'word', what: 'file-name' }),
        'ldap-url': leaf('URL of the LDAP server holding the CRL', { t: 'word', what: 'url' }),
      }),
      'enrollment-retry': leaf('Number of enrollment retries (0 means no limit)', u(0, 100), { dflt: '0' }),
      local: l('Local certificate (JUNOScript SSL service)', { t: 'word', what: 'certificate-filename' }, {
        'certificate-key-string': leaf('Certificate and private key text (PEM)', STR, { secret: true }),
        'load-key-file': leaf('File or URL to load the certificate and private key from', { t: 'word', what: 'file-or-url' }),
      }),
      'maximum-certificates': leaf('Maximum number of peer certificates to cache', u(64, U32_MAX), { dflt: '1024' }),
      'path-length': leaf('Maximum certificate path length', u(2, 15), { dflt: '15' }),
    }),
    ike: c('IKE configuration', {
      proposal: l('Define an IKE proposal', { t: 'word', what: 'ike-proposal-name' }, {
        'authentication-algorithm': leaf('Authentication algorithm', en('md5', 'sha1')),
        'authentication-method': leaf('Authentication method', en('dsa-signatures', 'pre-shared-keys', 'rsa-signatures')),
        description: description(),
        'dh-group': leaf('Diffie-Hellman group', en('group1', 'group2')),
        'encryption-algorithm': leaf('Encryption algorithm', en('3des-cbc', 'des-cbc')),
        'lifetime-seconds': leaf('Lifetime of the IKE SA (seconds)', LIFETIME, { dflt: '3600' }),
      }),
      policy: l('Define an IKE policy', { t: 'ipv4' }, {
        description: description(),
        encoding: leaf('Encoding of local certificate and key files', en('binary', 'pem'), { dflt: 'binary' }),
        identity: leaf('Identity of the remote certificate', WORD),
        'local-certificate': leaf('File to read the local certificate from', { t: 'word', what: 'certificate-filename' }),
        'local-key-pair': leaf('File to read the local key pair from', { t: 'word', what: 'key-file' }),
        mode: leaf('IKE phase 1 mode', en('aggressive', 'main'), { dflt: 'main' }),
        'pre-shared-key': leaf('Preshared authentication key', { t: 'secret' }, { secret: true }),
        proposals: leafList('Proposals, in order of preference', { t: 'word', what: 'proposal-name' }),
      }),
    }),
    ipsec: c('IPsec configuration', {
      proposal: l('Define an IPsec proposal', { t: 'word', what: 'ipsec-proposal-name' }, {
        'authentication-algorithm': leaf('Authentication algorithm', en('hmac-md5-96', 'hmac-sha1-96')),
        description: description(),
        'encryption-algorithm': leaf('Encryption algorithm', en('3des-cbc', 'des-cbc')),
        'lifetime-seconds': leaf('Lifetime of the IPsec SA (seconds)', LIFETIME, { dflt: '28800' }),
        protocol: leaf('IPsec protocol', en('ah', 'esp', 'bundle')),
      }),
      policy: l('Define an IPsec policy', { t: 'word', what: 'ipsec-policy-name' }, {
        description: description(),
        'perfect-forward-secrecy': c('Perfect forward secrecy', {
          keys: leaf('Diffie-Hellman group for PFS', en('group1', 'group2')),
        }),
        proposals: leafList('Proposals, in order of preference', { t: 'word', what: 'proposal-name' }),
      }),
      'security-association': securityAssociation,
    }),
    traceoptions: c('Trace options for IPsec key management', {
      file: leaf('Trace file: name <files number> <size size>', { t: 'tracefile' }),
      flag: l('Tracing parameters', en('all', 'database', 'general', 'ike', 'parse', 'policy-manager', 'routing-socket', 'timer'), {}),
    }),
  }),
});

/** Interface names vrouter models: fe-F/P/N, es-F/P/N and lo0. */
export const IFNAME_RE = /^(fe|es)-(\d)\/(\d)\/(\d)$|^lo0$/;

export function childDef(def: Def, word: string): { def: Def; keyword: string; keyless: boolean } | null {
  const ch = def.children;
  if (!ch) return null;
  const d = ch[word];
  if (d && word !== '*') return { def: d, keyword: word, keyless: false };
  const star = ch['*'];
  if (star && star.keyType && valueSyntaxOk(star.keyType, word)) return { def: star, keyword: '*', keyless: true };
  return null;
}

export { isIpv4 };
export function isPrefix(s: string, bareOk = false): boolean {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) return bareOk && isIpv4(s);
  return isIpv4(m[1]!) && Number(m[2]) <= 32;
}

/** Syntax only (is this token the right shape?): ranges are commit checks. */
export function valueSyntaxOk(t: ValueType, v: string): boolean {
  switch (t.t) {
    case 'word': return v.length > 0;
    case 'string': return true;
    case 'uint': return /^\d{1,12}$/.test(v);
    case 'ipv4': return isIpv4(v);
    case 'prefix': return isPrefix(v, true);
    case 'ifaddr': return isPrefix(v, false);
    case 'enum': return t.values.includes(v) || !!t.aliases?.[v];
    case 'port': return /^(\d{1,5}(-\d{1,5})?|[a-z][a-z0-9-]*)$/.test(v);
    case 'proto': return /^(\d{1,3}|[a-z][a-z0-9-]*)$/.test(v);
    case 'nexthop': return isIpv4(v) || /^(fe|es)-\d\/\d\/\d(\.\d+)?$/.test(v);
    case 'ifname': return IFNAME_RE.test(v);
    case 'secret': case 'tracefile': return true;
  }
}

export function canonicalValue(t: ValueType, v: string): string {
  if (t.t === 'enum' && t.aliases?.[v]) return t.aliases[v]!;
  if (t.t === 'prefix' && !v.includes('/')) return v + '/32';
  return v;
}

export function describeType(t: ValueType): string {
  switch (t.t) {
    case 'word': case 'string': return t.what ? `<${t.what}>` : '<value>';
    case 'uint': return t.oneOf ? t.oneOf.join(' | ') : `<${t.min}..${t.max}>`;
    case 'ipv4': return '<address>';
    case 'prefix': case 'ifaddr': return '<prefix>';
    case 'enum': return t.values.join(' | ');
    case 'secret': return '(ascii-text key | hexadecimal key)';
    case 'port': return '<port>';
    case 'proto': return '<protocol>';
    case 'nexthop': return '<address | interface>';
    case 'tracefile': return '<filename> <files number> <size size>';
    case 'ifname': return '<interface-name>';
  }
}
