/**
 * The catalogue of commit-check messages: one code per message, `{0}` placeholders. Tests assert
 * codes; golden files hold the wording.
 */
export const MESSAGES = {
  BGP_NEEDS_AS: 'autonomous-system must be configured under [edit routing-options] to run BGP',
  BGP_EXTERNAL_PEER_AS: 'neighbor {0}: peer-as must be configured for an external peer',
  BGP_EXTERNAL_SAME_AS: 'neighbor {0}: peer-as {1} is the local autonomous system; an external peer needs another AS',
  BGP_INTERNAL_OTHER_AS: 'neighbor {0}: peer-as {1} differs from the local autonomous system {2} of an internal group',
  BGP_NEIGHBOR_TWICE: 'neighbor {0} is already configured in group {1}',
  ROUTE_FILTER_ONE_MATCH: 'route-filter: exactly one of exact, orlonger, longer, upto and prefix-length-range must be configured',
  ROUTE_FILTER_LENGTH: 'route-filter: the prefix lengths do not fit the prefix',
  POLICY_ACCEPT_REJECT: "'accept' and 'reject' are mutually exclusive",
  POLICY_NEXT_HOP: "next-hop '{0}' must be 'self' or an IPv4 address",
  RANGE: 'value {0} is not within range ({1}..{2})',
  ONE_OF: 'value {0} must be one of {1}',
  UNDEFINED_REF: "Referenced {0} '{1}' is not defined",
  UNUSED: "{0} '{1}' is defined but not used",
  KEY_LENGTH: '{0} key for {1} must be {2} {3} (got {4})',
  KEY_NOT_HEX: 'hexadecimal key must contain only hexadecimal digits',
  KEY_HEX_ODD: 'hexadecimal key must have an even number of digits (whole bytes)',
  KEY_EMPTY: 'key must not be empty',
  KEY_NOT_ASCII: 'ascii-text key must contain only printable ASCII characters',
  KEY_WITHOUT_ALGORITHM: "'key' requires 'algorithm'",
  ALGORITHM_WITHOUT_KEY: "'algorithm' requires 'key'",
  DES_WEAK_KEY: '{0} key is a DES weak or semi-weak key (RFC 2409)',
  TDES_DEGENERATE: '3des-cbc key: {0} 8 bytes equal the {1} 8 bytes, which reduces 3DES to single DES',
  AH_NO_ENCRYPTION: 'encryption cannot be configured with protocol ah',
  AUX_SPI_ONLY_BUNDLE: 'auxiliary-spi can be configured only with protocol bundle',
  BUNDLE_NEEDS_AUX_SPI: 'protocol bundle requires auxiliary-spi',
  MISSING_STATEMENT: "'{0}' must be configured",
  PROTOCOL_NEEDS: 'protocol {0} requires {1}',
  ESP_NEEDS_SOMETHING: 'protocol esp requires encryption, authentication or both',
  BIDIRECTIONAL_EXCLUSIVE: "'direction bidirectional' cannot be combined with inbound or outbound",
  MANUAL_NEEDS_DIRECTION: 'manual SA requires at least one direction',
  SA_MANUAL_OR_DYNAMIC: "security association must be either 'manual' or 'dynamic'",
  SA_BOTH_KINDS: "'manual' and 'dynamic' are mutually exclusive",
  DUPLICATE_SPI: "SPI {0} with protocol {1} is already used by security association '{2}'",
  SAME_SPI_BUNDLE: 'auxiliary-spi must differ from spi',
  TUNNEL_SOURCE_NOT_LOCAL: 'tunnel source address {0} is not configured locally on the router',
  TUNNEL_DESTINATION_INVALID: 'tunnel destination {0} is not a valid unicast address',
  IKE_PEER_NOT_TUNNEL: 'IKE policy peer address {0} is not the tunnel destination of any es- interface',
  ES_SA_NOT_TUNNEL: "security association '{0}' is a transport-mode SA; an es- interface needs a tunnel-mode SA",
  TRANSPORT_ONLY_BGP: "security association '{0}' is a transport-mode SA; transport mode is supported only for BGP",
  NOT_ES_INTERFACE: "'{0}' can be configured only on es- interfaces",
  ES_NEEDS_TUNNEL: "es- interface with 'ipsec-sa' requires 'tunnel source' and 'tunnel destination'",
  NO_ES_PIC: 'interface {0}: no ES PIC installed in FPC {1} PIC {2}',
  NO_PIC: 'interface {0}: no {1} PIC installed in FPC {2} PIC {3}',
  PORT_EXHAUSTED: 'interface {0}: PIC in FPC {1} PIC {2} has {3} ports',
  DYNAMIC_SA_LIMIT: 'ES PIC {0} carries {1} dynamic security associations; no more than 512 per ES PIC are recommended',
  TERMINATING_ACTIONS: 'only one of accept, discard, reject, next term and ipsec-sa may be configured (got {0})',
  FILTER_IPSEC_NOT_ON_ES: "security association '{0}' is not applied to any es- interface; packets sent into it are dropped",
  ROUTE_ONE_NEXTHOP: "exactly one of 'next-hop', 'discard' and 'reject' must be configured",
  UNKNOWN_PORT: "unknown port name '{0}'",
  UNKNOWN_PROTOCOL: "unknown protocol '{0}'",
  PORT_RANGE: 'port range {0} is invalid',
  CERT_LOCAL_ONE_SOURCE: "exactly one of 'certificate-key-string' and 'load-key-file' must be configured",
  CERT_KEY_STRING: "'certificate-key-string' must hold a PEM certificate and its unencrypted private key",
  XNM_SSL_NEEDS_CERT: "xnm-ssl: 'local-certificate' must be configured",
  XNM_SSL_NO_CERT: "local-certificate '{0}' is not configured under [edit security certificates local]",
  USER_NEEDS_CLASS: "'class' must be configured for a login user",
  PLAIN_TEXT_PASSWORD: "plain-text-password is a prompt, not a value: the CLI asks for the password and stores encrypted-password",
  IKE_POLICY_NEEDS_PSK: "proposal '{0}' uses pre-shared-keys; 'pre-shared-key' must be configured",
  IKE_POLICY_NEEDS_CERT: "proposal '{0}' uses {1}; 'local-certificate' must be configured",
  IKE_POLICY_NEEDS_KEY_PAIR: "proposal '{0}' uses {1}; 'local-key-pair' must be configured: the file from which to read the public and private key",
  IPSEC_PROPOSAL_AH_ENCRYPTION: 'encryption-algorithm cannot be configured with protocol ah',
  ADDRESS_NETWORK: 'address {0} is the network or broadcast address of its subnet',
  DUPLICATE_ADDRESS: 'address {0} is also configured on {1}',
  MANUAL_SA_TWO_UNITS: "manual security association '{0}' is already applied to {1}; a manual SA can protect only one tunnel",
  DYNAMIC_SA_NO_IKE_POLICY: "dynamic security association '{0}': no IKE policy for the tunnel destination {1}, so IKE cannot negotiate it",
  DYNAMIC_TRANSPORT: "security association '{0}': transport mode is supported only for manual SAs (BGP)",
  BGP_SA_NOT_MANUAL: "security association '{0}' is dynamic; BGP can use only a manual transport-mode SA",
  BGP_SA_NOT_TRANSPORT: "security association '{0}' is a tunnel-mode SA; BGP can use only a manual transport-mode SA",
  URL_SCHEME: "{0} must have the form {1}",
  TRACE_FILES_RANGE: 'files {0}: value is not within range (2..1000)',
  TRACE_FILES_NEED_SIZE: "'files' requires 'size': the file rotates when it reaches its size",
  TRACE_SIZE_RANGE: 'size {0}: value is not within range (10k..1g)',
  TRACE_FILE_NAME: "file '{0}': a trace file name is a plain name in /var/log (letters, digits, '.', '_', '-')",
} as const;
export type MessageCode = keyof typeof MESSAGES;

export function fmt(code: MessageCode, args: (string | number)[]): string {
  return MESSAGES[code].replace(/\{(\d+)\}/g, (_, i) => String(args[Number(i)]));
}

export interface Diagnostic {
  severity: 'error' | 'warning';
  code: MessageCode;
  path: string[];        // the [edit ...] hierarchy
  statement: string;     // the statement, as in JUNOS: 'spi 100'
  message: string;
}

/** JUNOS commit output for a list of diagnostics. */
export function formatDiagnostics(diags: Diagnostic[]): string {
  const out: string[] = [];
  for (const d of diags) {
    out.push(`[edit${d.path.length ? ' ' + d.path.join(' ') : ''}]`);
    out.push(`  '${d.statement}'`);
    out.push(`    ${d.severity}: ${d.message}`);
  }
  if (diags.some(d => d.severity === 'error')) out.push('error: configuration check-out failed');
  return out.join('\n');
}
