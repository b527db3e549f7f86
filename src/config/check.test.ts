/**
 * One row per commit check: set/delete lines applied to gateway A's working configuration, once
 * making it fail with the named code and once staying (or becoming) valid.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadText } from './load.js';
import { commitCheck } from './check.js';
import { Chassis } from '../../chassis/chassis.js';
import { formatDiagnostics, type MessageCode } from './messages.js';

const BASE = readFileSync(join(import.meta.dirname, '../../topologies/gw-a.conf'), 'utf8');
const SA = 'set security ipsec security-association manual-sa1 manual direction bidirectional';
const SA2 = 'set security ipsec security-association sa2 manual direction bidirectional';
const IKE_PROP = 'set security ike proposal p1';
/** A dynamic SA with its IPsec policy and proposal, not yet on an es- interface. */
const DYN = (sa: string) => [`set security ipsec security-association ${sa} dynamic ipsec-policy pol`, 'set security ipsec policy pol proposals pr', 'set security ipsec proposal pr protocol esp', 'set security ipsec proposal pr encryption-algorithm 3des-cbc'];
const AS = 'set routing-options autonomous-system 65000';
/** a policy used by BGP, whose term t accepts */
const PS = [AS, 'set protocols bgp group i type internal', 'set protocols bgp export p', 'set policy-options policy-statement p term t then accept'];
const IKE_OK = [`${IKE_PROP} authentication-method pre-shared-keys`, `${IKE_PROP} authentication-algorithm sha1`, `${IKE_PROP} encryption-algorithm 3des-cbc`, `${IKE_PROP} dh-group group2`];

function run(lines: string[], chassis = new Chassis('m10')) {
  const tree = loadText(lines.join('\n'), { into: loadText(BASE), format: 'set' });
  return commitCheck(tree, { chassis });
}
const codes = (lines: string[], sev: 'error' | 'warning' = 'error') =>
  run(lines).diagnostics.filter(d => d.severity === sev).map(d => d.code);

interface Row { name: string; code: MessageCode; bad: string[]; good: string[]; severity?: 'warning' }
const ROWS: Row[] = [
  { name: 'spi range', code: 'RANGE', bad: [`${SA} spi 255`], good: [`${SA} spi 256`] },
  { name: 'spi upper bound', code: 'RANGE', bad: [`${SA} spi 16640`], good: [`${SA} spi 16639`] },
  { name: 'auxiliary-spi range', code: 'RANGE', bad: [`${SA} protocol bundle`, `${SA} auxiliary-spi 100`], good: [`${SA} protocol bundle`, `${SA} auxiliary-spi 2313`] },
  { name: 'ipsec lifetime range', code: 'RANGE', bad: ['set security ipsec proposal p protocol esp', 'set security ipsec proposal p authentication-algorithm hmac-md5-96', 'set security ipsec proposal p lifetime-seconds 179'], good: ['set security ipsec proposal p protocol esp', 'set security ipsec proposal p authentication-algorithm hmac-md5-96', 'set security ipsec proposal p lifetime-seconds 180'] },
  { name: 'ike lifetime range', code: 'RANGE', bad: [...IKE_OK, `${IKE_PROP} lifetime-seconds 86401`], good: [...IKE_OK, `${IKE_PROP} lifetime-seconds 86400`] },
  { name: 'cache-size range', code: 'RANGE', bad: ['set security certificates cache-size 63'], good: ['set security certificates cache-size 64'] },
  { name: 'cache-size upper', code: 'RANGE', bad: ['set security certificates cache-size 4294967296'], good: ['set security certificates cache-size 4294967295'] },
  { name: 'maximum-certificates range', code: 'RANGE', bad: ['set security certificates maximum-certificates 63'], good: ['set security certificates maximum-certificates 64'] },
  { name: 'enrollment-retry range', code: 'RANGE', bad: ['set security certificates enrollment-retry 101'], good: ['set security certificates enrollment-retry 100'] },
  { name: 'path-length range', code: 'RANGE', bad: ['set security certificates path-length 1'], good: ['set security certificates path-length 2'] },
  { name: 'replay-window-size 32 or 64', code: 'ONE_OF', bad: ['set security ipsec security-association d dynamic ipsec-policy pol', 'set security ipsec security-association d dynamic replay-window-size 48', 'set security ipsec policy pol proposals pr', 'set security ipsec proposal pr protocol ah', 'set security ipsec proposal pr authentication-algorithm hmac-md5-96'], good: ['set security ipsec security-association d dynamic ipsec-policy pol', 'set security ipsec security-association d dynamic replay-window-size 32', 'set security ipsec policy pol proposals pr', 'set security ipsec proposal pr protocol ah', 'set security ipsec proposal pr authentication-algorithm hmac-md5-96'] },
  { name: 'hmac-md5-96 ascii key is 16 characters', code: 'KEY_LENGTH', bad: [`${SA} authentication key ascii-text 123412341234123`], good: [`${SA} authentication key ascii-text 1234123412341235`] },
  { name: 'hmac-md5-96 hex key is 32 digits', code: 'KEY_LENGTH', bad: [`${SA} authentication key hexadecimal 0011223344556677`], good: [`${SA} authentication key hexadecimal 00112233445566778899aabbccddeeff`] },
  { name: 'hmac-sha1-96 ascii key is 20 characters', code: 'KEY_LENGTH', bad: [`${SA} authentication algorithm hmac-sha1-96`], good: [`${SA} authentication algorithm hmac-sha1-96`, `${SA} authentication key ascii-text 12341234123412341234`] },
  { name: 'hmac-sha1-96 hex key is 40 digits', code: 'KEY_LENGTH', bad: [`${SA} authentication algorithm hmac-sha1-96`, `${SA} authentication key hexadecimal 00112233445566778899aabbccddeeff`], good: [`${SA} authentication algorithm hmac-sha1-96`, `${SA} authentication key hexadecimal 00112233445566778899aabbccddeeff00112233`] },
  { name: 'des-cbc ascii key is 8 characters', code: 'KEY_LENGTH', bad: [`${SA} encryption algorithm des-cbc`], good: [`${SA} encryption algorithm des-cbc`, `${SA} encryption key ascii-text 8bytekey`] },
  { name: 'des-cbc hex key is 16 digits', code: 'KEY_LENGTH', bad: [`${SA} encryption algorithm des-cbc`, `${SA} encryption key hexadecimal 0011223344`], good: [`${SA} encryption algorithm des-cbc`, `${SA} encryption key hexadecimal 133457799bbcdff1`] },
  { name: '3des-cbc ascii key is 24 characters', code: 'KEY_LENGTH', bad: [`${SA} encryption key ascii-text 12345678901234567890123`], good: [`${SA} encryption key ascii-text 123456789012345678901234`] },
  { name: '3des-cbc hex key is 48 digits', code: 'KEY_LENGTH', bad: [`${SA} encryption key hexadecimal 00112233`], good: [`${SA} encryption key hexadecimal 0123456789abcdeffedcba987654321089abcdef01234567`] },
  { name: 'hex key has only hex digits', code: 'KEY_NOT_HEX', bad: [`${SA} encryption key hexadecimal 0123456789abcdeffedcba987654321089abcdef0123456z`], good: [`${SA} encryption key hexadecimal 0123456789abcdeffedcba987654321089abcdef01234567`] },
  { name: 'DES weak key', code: 'DES_WEAK_KEY', bad: [`${SA} encryption algorithm des-cbc`, `${SA} encryption key hexadecimal 0101010101010101`], good: [`${SA} encryption algorithm des-cbc`, `${SA} encryption key hexadecimal 0101010101010102`.replace('0102', '0123')] },
  { name: 'DES semi-weak key (parity bits ignored)', code: 'DES_WEAK_KEY', bad: [`${SA} encryption algorithm des-cbc`, `${SA} encryption key hexadecimal 00FF00FF00FF00FF`], good: [`${SA} encryption algorithm des-cbc`, `${SA} encryption key hexadecimal 0123456789abcdef`] },
  { name: '3DES first 8 bytes equal second 8 (warning)', code: 'TDES_DEGENERATE', severity: 'warning', bad: [`${SA} encryption key ascii-text 12345678123456789abcdefg`], good: [`${SA} encryption key ascii-text 123456789abcdefg12345678`] },
  { name: 'no encryption with protocol ah', code: 'AH_NO_ENCRYPTION', bad: [`${SA} protocol ah`], good: [`${SA} protocol ah`, `delete security ipsec security-association manual-sa1 manual direction bidirectional encryption`] },
  { name: 'auxiliary-spi only with bundle', code: 'AUX_SPI_ONLY_BUNDLE', bad: [`${SA} auxiliary-spi 2313`], good: [`${SA} auxiliary-spi 2313`, `${SA} protocol bundle`] },
  { name: 'bundle needs auxiliary-spi', code: 'BUNDLE_NEEDS_AUX_SPI', bad: [`${SA} protocol bundle`], good: [`${SA} protocol bundle`, `${SA} auxiliary-spi 3000`] },
  { name: 'direction needs protocol', code: 'MISSING_STATEMENT', bad: ['delete security ipsec security-association manual-sa1 manual direction bidirectional protocol'], good: [] },
  { name: 'direction needs spi', code: 'MISSING_STATEMENT', bad: ['delete security ipsec security-association manual-sa1 manual direction bidirectional spi'], good: [] },
  { name: 'manual needs a direction', code: 'MANUAL_NEEDS_DIRECTION', bad: ['delete security ipsec security-association manual-sa1 manual direction', 'set security ipsec security-association manual-sa1 manual'], good: [] },
  { name: 'SPI and protocol unique across manual SAs', code: 'DUPLICATE_SPI', bad: [`${SA2} protocol esp`, `${SA2} spi 2312`, `${SA2} authentication algorithm hmac-md5-96`, `${SA2} authentication key ascii-text 1234123412341234`, 'set interfaces es-0/1/0 unit 1 family inet ipsec-sa sa2', 'set interfaces es-0/1/0 unit 1 tunnel source 10.5.5.5', 'set interfaces es-0/1/0 unit 1 tunnel destination 10.7.7.7'], good: [`${SA2} protocol ah`, `${SA2} spi 2312`, `${SA2} authentication algorithm hmac-md5-96`, `${SA2} authentication key ascii-text 1234123412341234`, 'set interfaces es-0/1/0 unit 1 family inet ipsec-sa sa2', 'set interfaces es-0/1/0 unit 1 tunnel source 10.5.5.5', 'set interfaces es-0/1/0 unit 1 tunnel destination 10.7.7.7'] },
  { name: 'bidirectional excludes inbound/outbound', code: 'BIDIRECTIONAL_EXCLUSIVE', bad: ['set security ipsec security-association manual-sa1 manual direction inbound protocol esp'], good: [] },
  { name: 'IKE policy proposals resolve', code: 'UNDEFINED_REF', bad: [...IKE_OK, 'set interfaces es-0/1/0 unit 1 tunnel destination 10.9.9.9', 'set security ike policy 10.9.9.9 proposals nope', 'set security ike policy 10.9.9.9 pre-shared-key ascii-text secret'], good: [...IKE_OK, 'set interfaces es-0/1/0 unit 1 tunnel destination 10.9.9.9', 'set security ike policy 10.9.9.9 proposals p1', 'set security ike policy 10.9.9.9 pre-shared-key ascii-text secret'] },
  { name: 'IPsec policy proposals resolve', code: 'UNDEFINED_REF', bad: ['set security ipsec policy pol proposals nope'], good: ['set security ipsec policy pol proposals pr', 'set security ipsec proposal pr protocol esp', 'set security ipsec proposal pr encryption-algorithm 3des-cbc'] },
  { name: 'dynamic ipsec-policy resolves', code: 'UNDEFINED_REF', bad: ['set security ipsec security-association d dynamic ipsec-policy nope'], good: ['set security ipsec security-association d dynamic ipsec-policy pol', 'set security ipsec policy pol proposals pr', 'set security ipsec proposal pr protocol esp', 'set security ipsec proposal pr encryption-algorithm 3des-cbc'] },
  { name: 'interface ipsec-sa resolves', code: 'UNDEFINED_REF', bad: ['set interfaces es-0/1/0 unit 0 family inet ipsec-sa nope'], good: [] },
  { name: 'filter ipsec-sa resolves', code: 'UNDEFINED_REF', bad: ['set firewall filter ipsec-encrypt-policy-filter term term1 then ipsec-sa nope'], good: [] },
  { name: 'filter input resolves', code: 'UNDEFINED_REF', bad: ['set interfaces fe-0/0/0 unit 0 family inet filter input nope'], good: ['set interfaces fe-0/0/0 unit 0 family inet filter input ipsec-decrypt-policy-filter'] },
  { name: 'filter output resolves', code: 'UNDEFINED_REF', bad: ['set interfaces fe-0/0/0 unit 0 family inet filter output nope'], good: [] },
  { name: 'unused definitions are warnings', code: 'UNUSED', severity: 'warning', bad: ['set firewall filter unused term t then accept'], good: [] },
  { name: 'an SA under protocols bgp is not commit-checked', code: 'UNDEFINED_REF', bad: ['set interfaces es-0/1/0 unit 0 family inet ipsec-sa nope'], good: ['set routing-options autonomous-system 65000', 'set protocols bgp group g neighbor 10.6.6.6 ipsec-sa not-defined-anywhere'] },
  { name: 'tunnel source is local', code: 'TUNNEL_SOURCE_NOT_LOCAL', bad: ['set interfaces es-0/1/0 unit 0 tunnel source 10.5.5.6'], good: [] },
  { name: 'IKE policy peer is a tunnel destination', code: 'IKE_PEER_NOT_TUNNEL', bad: [...IKE_OK, 'set security ike policy 10.9.9.9 proposals p1', 'set security ike policy 10.9.9.9 pre-shared-key ascii-text secret'], good: [...IKE_OK, 'set security ike policy 10.6.6.6 proposals p1', 'set security ike policy 10.6.6.6 pre-shared-key ascii-text secret'] },
  { name: 'es- interface needs a tunnel-mode SA', code: 'ES_SA_NOT_TUNNEL', bad: ['set security ipsec security-association manual-sa1 mode transport', 'delete firewall filter ipsec-encrypt-policy-filter term term1 then ipsec-sa', 'set firewall filter ipsec-encrypt-policy-filter term term1 then accept'], good: ['set security ipsec security-association manual-sa1 mode tunnel'] },
  { name: 'transport mode is only for BGP', code: 'TRANSPORT_ONLY_BGP', bad: ['set security ipsec security-association t mode transport', `set security ipsec security-association t manual direction bidirectional protocol ah`, 'set security ipsec security-association t manual direction bidirectional spi 999', 'set security ipsec security-association t manual direction bidirectional authentication algorithm hmac-md5-96', 'set security ipsec security-association t manual direction bidirectional authentication key ascii-text 1234123412341234', 'set firewall filter ipsec-encrypt-policy-filter term t2 then ipsec-sa t'], good: ['set security ipsec security-association t mode transport', `set security ipsec security-association t manual direction bidirectional protocol ah`, 'set security ipsec security-association t manual direction bidirectional spi 999', 'set security ipsec security-association t manual direction bidirectional authentication algorithm hmac-md5-96', 'set security ipsec security-association t manual direction bidirectional authentication key ascii-text 1234123412341234', 'set routing-options autonomous-system 65000', 'set protocols bgp group g neighbor 10.6.6.6 ipsec-sa t'] },
  { name: 'es- interface needs an ES PIC', code: 'NO_ES_PIC', bad: ['set interfaces es-0/2/0 unit 0'], good: ['set interfaces es-0/1/0 unit 5'] },
  { name: 'ipsec-sa only on es- interfaces', code: 'NOT_ES_INTERFACE', bad: ['set interfaces fe-0/0/0 unit 0 family inet ipsec-sa manual-sa1'], good: [] },
  { name: 'es- with ipsec-sa needs a tunnel', code: 'ES_NEEDS_TUNNEL', bad: ['delete interfaces es-0/1/0 unit 0 tunnel destination'], good: [] },
  { name: 'one terminating action per term', code: 'TERMINATING_ACTIONS', bad: ['set firewall filter ipsec-encrypt-policy-filter term default then discard'], good: ['set firewall filter ipsec-encrypt-policy-filter term default then count c'] },
  { name: 'static route needs one next hop kind', code: 'ROUTE_ONE_NEXTHOP', bad: ['set routing-options static route 10.9.0.0/16 discard', 'set routing-options static route 10.9.0.0/16 reject'], good: ['set routing-options static route 10.9.0.0/16 discard'] },
  { name: 'port names are known', code: 'UNKNOWN_PORT', bad: ['set firewall filter ipsec-encrypt-policy-filter term term1 from destination-port nosuchport'], good: ['set firewall filter ipsec-encrypt-policy-filter term term1 from destination-port https'] },
  { name: 'port ranges are ordered', code: 'PORT_RANGE', bad: ['set firewall filter ipsec-encrypt-policy-filter term term1 from destination-port 2000-1000'], good: ['set firewall filter ipsec-encrypt-policy-filter term term1 from destination-port 1000-2000'] },
  { name: 'an IKE proposal may leave statements out: JUNOS defaults apply', code: 'IKE_POLICY_NEEDS_PSK', bad: [`${IKE_PROP} authentication-method pre-shared-keys`, 'set security ike policy 10.6.6.6 proposals p1'], good: [`${IKE_PROP} authentication-method rsa-signatures`, 'set security ike policy 10.6.6.6 proposals p1', 'set security ike policy 10.6.6.6 local-certificate c.pem', 'set security ike policy 10.6.6.6 local-key-pair k.pem'] },
  { name: 'a signature policy names its key pair (the chapter: local-key-pair, the file from which to read the public and private key)', code: 'IKE_POLICY_NEEDS_KEY_PAIR', bad: [`${IKE_PROP} authentication-method rsa-signatures`, 'set security ike policy 10.6.6.6 proposals p1', 'set security ike policy 10.6.6.6 local-certificate c.pem'], good: [`${IKE_PROP} authentication-method rsa-signatures`, 'set security ike policy 10.6.6.6 proposals p1', 'set security ike policy 10.6.6.6 local-certificate c.pem', 'set security ike policy 10.6.6.6 local-key-pair k.pem'] },
  { name: 'dsa-signatures too', code: 'IKE_POLICY_NEEDS_KEY_PAIR', bad: [`${IKE_PROP} authentication-method dsa-signatures`, 'set security ike policy 10.6.6.6 proposals p1', 'set security ike policy 10.6.6.6 local-certificate c.pem'], good: [`${IKE_PROP} authentication-method dsa-signatures`, 'set security ike policy 10.6.6.6 proposals p1', 'set security ike policy 10.6.6.6 local-certificate c.pem', 'set security ike policy 10.6.6.6 local-key-pair k.pem'] },
  { name: 'one manual SA on one es- unit only', code: 'MANUAL_SA_TWO_UNITS', bad: ['set interfaces es-0/1/0 unit 1 family inet ipsec-sa manual-sa1', 'set interfaces es-0/1/0 unit 1 tunnel source 10.5.5.5', 'set interfaces es-0/1/0 unit 1 tunnel destination 10.7.7.7'], good: [] },
  ...([['hexadecimal zzzz', 'KEY_NOT_HEX'], ['hexadecimal abc', 'KEY_HEX_ODD'], ['ascii-text ""', 'KEY_EMPTY'], ['ascii-text "cl\u00e9-secr\u00e8te"', 'KEY_NOT_ASCII']] as const).map(([k, code]) => ({
    name: `pre-shared-key ${k} is refused`, code, bad: [...IKE_OK, 'set security ike policy 10.6.6.6 proposals p1', `set security ike policy 10.6.6.6 pre-shared-key ${k}`],
    good: [...IKE_OK, 'set security ike policy 10.6.6.6 proposals p1', 'set security ike policy 10.6.6.6 pre-shared-key hexadecimal 0102030abbcd'] } as Row)),
  { name: 'dynamic SAs are tunnel mode only', code: 'DYNAMIC_TRANSPORT', bad: [...DYN('d'), 'set security ipsec security-association d mode transport'], good: DYN('d') },
  { name: 'perfect-forward-secrecy needs keys', code: 'MISSING_STATEMENT', bad: [...DYN('d'), 'set security ipsec policy pol perfect-forward-secrecy'], good: [...DYN('d'), 'set security ipsec policy pol perfect-forward-secrecy keys group2'] },
  { name: 'a dynamic SA on an es- unit needs an IKE policy for its peer (warning)', code: 'DYNAMIC_SA_NO_IKE_POLICY', severity: 'warning', bad: [...DYN('d'), 'set interfaces es-0/1/0 unit 2 tunnel source 10.5.5.5', 'set interfaces es-0/1/0 unit 2 tunnel destination 10.8.8.8', 'set interfaces es-0/1/0 unit 2 family inet ipsec-sa d'], good: [...DYN('d'), ...IKE_OK, 'set interfaces es-0/1/0 unit 2 tunnel source 10.5.5.5', 'set interfaces es-0/1/0 unit 2 tunnel destination 10.8.8.8', 'set interfaces es-0/1/0 unit 2 family inet ipsec-sa d', 'set security ike policy 10.8.8.8 proposals p1', 'set security ike policy 10.8.8.8 pre-shared-key ascii-text secret'] },
  { name: 'BGP uses only a transport-mode SA', code: 'BGP_SA_NOT_TRANSPORT', bad: ['set protocols bgp group g neighbor 10.6.6.6 ipsec-sa manual-sa1'], good: ['set routing-options autonomous-system 65000', 'set protocols bgp group g neighbor 10.6.6.6 ipsec-sa elsewhere'] },
  { name: 'BGP uses only a manual SA', code: 'BGP_SA_NOT_MANUAL', bad: [...DYN('d'), 'set protocols bgp ipsec-sa d'], good: [...DYN('d')] },
  { name: 'enrollment-url is http://', code: 'URL_SCHEME', bad: ['set security certificates certification-authority ca enrollment-url ftp://ca.example'], good: ['set security certificates certification-authority ca enrollment-url http://ca.example/scep'] },
  { name: 'trace files: 2..1000', code: 'TRACE_FILES_RANGE', bad: ['set security traceoptions file kmd-trace files 1 size 10k'], good: ['set security traceoptions file kmd-trace files 2 size 10k'] },
  { name: 'trace files needs size', code: 'TRACE_FILES_NEED_SIZE', bad: ['set security traceoptions file kmd-trace files 3'], good: ['set security traceoptions file kmd-trace files 3 size 1m'] },
  { name: 'trace size: 10k..1g', code: 'TRACE_SIZE_RANGE', bad: ['set security traceoptions file kmd-trace size 9k'], good: ['set security traceoptions file kmd-trace size 1g'] },
  { name: 'trace file: a plain name', code: 'TRACE_FILE_NAME', bad: ['set security traceoptions file ..'], good: ['set security traceoptions file kmd.trace'] },
  { name: 'ldap-url is ldap://', code: 'URL_SCHEME', bad: ['set security certificates certification-authority ca ldap-url http://ldap.example'], good: ['set security certificates certification-authority ca ldap-url ldap://ldap.example'] },
  { name: 'pre-shared-keys policy needs a key', code: 'IKE_POLICY_NEEDS_PSK', bad: [...IKE_OK, 'set security ike policy 10.6.6.6 proposals p1'], good: [...IKE_OK, 'set security ike policy 10.6.6.6 proposals p1', 'set security ike policy 10.6.6.6 pre-shared-key hexadecimal 0102030abbcd'] },
  { name: 'local certificate has one source', code: 'CERT_LOCAL_ONE_SOURCE', bad: ['set security certificates local c load-key-file /tmp/a.pem', 'set security certificates local c certificate-key-string "-----BEGIN"'], good: ['set security certificates local c load-key-file /tmp/a.pem'] },
  { name: 'BGP needs an AS', code: 'BGP_NEEDS_AS', bad: ['set protocols bgp group g type internal', 'set protocols bgp group g neighbor 10.6.6.6'], good: [AS, 'set protocols bgp group g type internal', 'set protocols bgp group g neighbor 10.6.6.6'] },
  { name: 'an external peer needs peer-as', code: 'BGP_EXTERNAL_PEER_AS', bad: [AS, 'set protocols bgp group e type external', 'set protocols bgp group e neighbor 10.6.6.6'], good: [AS, 'set protocols bgp group e type external', 'set protocols bgp group e neighbor 10.6.6.6 peer-as 65002'] },
  { name: 'peer-as inherited from the group', code: 'BGP_EXTERNAL_PEER_AS', bad: [AS, 'set protocols bgp group e type external', 'set protocols bgp group e neighbor 10.6.6.6'], good: [AS, 'set protocols bgp group e type external', 'set protocols bgp group e peer-as 65002', 'set protocols bgp group e neighbor 10.6.6.6'] },
  { name: 'an external peer is in another AS', code: 'BGP_EXTERNAL_SAME_AS', bad: [AS, 'set protocols bgp group e type external', 'set protocols bgp group e neighbor 10.6.6.6 peer-as 65000'], good: [AS, 'set protocols bgp group e type external', 'set protocols bgp group e neighbor 10.6.6.6 peer-as 65001'] },
  { name: 'an internal peer is in our AS', code: 'BGP_INTERNAL_OTHER_AS', bad: [AS, 'set protocols bgp group i type internal', 'set protocols bgp group i neighbor 10.6.6.6 peer-as 65001'], good: [AS, 'set protocols bgp group i type internal', 'set protocols bgp group i neighbor 10.6.6.6 peer-as 65000'] },
  { name: 'a neighbor in one group', code: 'BGP_NEIGHBOR_TWICE', bad: [AS, 'set protocols bgp group i type internal', 'set protocols bgp group i neighbor 10.6.6.6', 'set protocols bgp group j type internal', 'set protocols bgp group j neighbor 10.6.6.6'], good: [AS, 'set protocols bgp group i type internal', 'set protocols bgp group i neighbor 10.6.6.6', 'set protocols bgp group j type internal', 'set protocols bgp group j neighbor 10.6.6.7'] },
  { name: 'an undefined import policy', code: 'UNDEFINED_REF', bad: [AS, 'set protocols bgp group i type internal', 'set protocols bgp group i neighbor 10.6.6.6 import nope'], good: [AS, 'set protocols bgp group i type internal', 'set protocols bgp group i neighbor 10.6.6.6 import p', 'set policy-options policy-statement p then accept'] },
  { name: 'an undefined prefix list', code: 'UNDEFINED_REF', bad: [AS, 'set protocols bgp group i type internal', 'set protocols bgp group i export p', 'set policy-options policy-statement p term t from prefix-list nope', 'set policy-options policy-statement p term t then accept'], good: [AS, 'set protocols bgp group i type internal', 'set protocols bgp group i export p', 'set policy-options prefix-list l 10.1.0.0/16', 'set policy-options policy-statement p term t from prefix-list l', 'set policy-options policy-statement p term t then accept'] },
  { name: 'an unused policy is a warning', code: 'UNUSED', severity: 'warning', bad: ['set policy-options policy-statement p then accept'], good: [AS, 'set protocols bgp group i type internal', 'set protocols bgp export p', 'set policy-options policy-statement p then accept'] },
  { name: 'route-filter with one match type', code: 'ROUTE_FILTER_ONE_MATCH', bad: [...PS, 'set policy-options policy-statement p term t from route-filter 10.0.0.0/8 exact', 'set policy-options policy-statement p term t from route-filter 10.0.0.0/8 orlonger'], good: [...PS, 'set policy-options policy-statement p term t from route-filter 10.0.0.0/8 orlonger'] },
  { name: 'route-filter upto a longer length', code: 'ROUTE_FILTER_LENGTH', bad: [...PS, 'set policy-options policy-statement p term t from route-filter 10.0.0.0/16 upto /8'], good: [...PS, 'set policy-options policy-statement p term t from route-filter 10.0.0.0/16 upto /24'] },
  { name: 'prefix-length-range in order', code: 'ROUTE_FILTER_LENGTH', bad: [...PS, 'set policy-options policy-statement p term t from route-filter 10.0.0.0/8 prefix-length-range /24-/16'], good: [...PS, 'set policy-options policy-statement p term t from route-filter 10.0.0.0/8 prefix-length-range /16-/24'] },
  { name: 'accept or reject', code: 'POLICY_ACCEPT_REJECT', bad: [...PS, 'set policy-options policy-statement p term t then reject'], good: [...PS] },
  { name: 'next-hop self or an address', code: 'POLICY_NEXT_HOP', bad: [...PS, 'set policy-options policy-statement p term t then next-hop peer'], good: [...PS, 'set policy-options policy-statement p term t then next-hop self'] },
  { name: 'manual or dynamic, not both', code: 'SA_BOTH_KINDS', bad: ['set security ipsec security-association manual-sa1 dynamic ipsec-policy x'], good: [] },
];

describe('commit checks', () => {
  it('the base configuration commits cleanly', () => {
    expect(run([]).ok).toBe(true);
    expect(run([]).diagnostics).toEqual([]);
  });
  for (const row of ROWS) {
    it(`${row.name}: ${row.code}`, () => {
      expect(codes(row.bad, row.severity ?? 'error')).toContain(row.code);
      const good = run(row.good);
      expect(good.diagnostics.filter(d => d.code === row.code && d.severity === (row.severity ?? 'error'))).toEqual([]);
      if (!row.severity) expect(good.ok, JSON.stringify(good.diagnostics)).toBe(true);
    });
  }
  it('more than 512 dynamic SAs on one ES PIC is a warning', () => {
    const lines = ['set security ipsec proposal pr protocol esp', 'set security ipsec proposal pr encryption-algorithm 3des-cbc', 'set security ipsec policy pol proposals pr'];
    for (let i = 0; i < 513; i++) {
      lines.push(`set security ipsec security-association d${i} dynamic ipsec-policy pol`);
      lines.push(`set interfaces es-0/1/0 unit ${i + 1} family inet ipsec-sa d${i}`);
      lines.push(`set interfaces es-0/1/0 unit ${i + 1} tunnel source 10.5.5.5`);
      lines.push(`set interfaces es-0/1/0 unit ${i + 1} tunnel destination 10.${100 + (i >> 8)}.${i & 255}.1`);
    }
    const r = run(lines);
    expect(r.ok).toBe(true);
    expect(r.diagnostics.map(d => d.code)).toContain('DYNAMIC_SA_LIMIT');
    // the warning quotes the interface, as JUNOS quotes a statement
    expect(formatDiagnostics(r.diagnostics)).toMatch(/\[edit interfaces\]\n\s+'es-0\/1\/0'\n\s+warning: ES PIC 0\/1 carries 513 dynamic/);
  });
  it('compiles BGP with inheritance and policies in order', () => {
    const m = run([AS, 'set routing-options router-id 10.5.5.5', 'set protocols bgp hold-time 30', 'set protocols bgp import a',
      'set protocols bgp group e type external', 'set protocols bgp group e peer-as 65002', 'set protocols bgp group e export [ b a ]',
      'set protocols bgp group e family inet unicast prefix-limit maximum 100', 'set protocols bgp group e family inet unicast prefix-limit teardown',
      'set protocols bgp group e neighbor 10.6.6.6 description upstream', 'set protocols bgp group e neighbor 10.6.6.7 peer-as 65003', 'set protocols bgp group e neighbor 10.6.6.7 import b',
      'set policy-options prefix-list l 10.1.0.0/16', 'set policy-options prefix-list l 10.2.0.0/16',
      'set policy-options policy-statement a term t1 from protocol [ static direct ]', 'set policy-options policy-statement a term t1 from route-filter 10.0.0.0/8 upto /24',
      'set policy-options policy-statement a term t1 then local-preference 200', 'set policy-options policy-statement a term t1 then accept', 'set policy-options policy-statement a then reject',
      'set policy-options policy-statement b from prefix-list l', 'set policy-options policy-statement b then next-hop self']).model!.rpd!;
    expect(m.autonomousSystem).toBe(65000);
    expect(m.routerId).toBe(0x0a050505);
    const [n6, n7] = m.neighbors;
    expect(n6).toMatchObject({ text: '10.6.6.6', type: 'external', peerAs: 65002, holdTime: 30, import: ['a'], export: ['b', 'a'], description: 'upstream', prefixLimit: { maximum: 100, teardown: true } });
    expect(n7).toMatchObject({ peerAs: 65003, import: ['b'] });
    expect(m.prefixLists.get('l')!.length).toBe(2);
    const a = m.policies.get('a')!;
    expect(a.terms.map(t => t.name)).toEqual(['t1', '']);
    expect(a.terms[0]!.from).toMatchObject({ protocol: ['static', 'direct'], routeFilters: [{ type: 'upto', lo: 8, hi: 24 }] });
    expect(a.terms[0]!.then).toEqual({ accept: true, localPreference: 200 });
    expect(a.terms[1]!.then).toEqual({ reject: true });
    expect(m.policies.get('b')!.terms[0]!.then).toEqual({ nextHop: 'self' });
  });
  it('a failed check compiles nothing', () => {
    const r = run([`${SA} spi 1`]);
    expect(r.ok).toBe(false);
    expect(r.model).toBeUndefined();
  });
  it('compiles manual-sa1 into key bytes for both directions', () => {
    const m = run([]).model!;
    const sa = m.sas.get('manual-sa1')!;
    expect(sa.mode).toBe('tunnel');
    expect(sa.manual!.inbound!.spi).toBe(2312);
    expect(sa.manual!.outbound!.enc!.key.toString()).toBe('123456789009876543211234');
    expect(sa.manual!.outbound!.auth!.key.toString()).toBe('1234123412341234');
    expect(m.filters.get('ipsec-encrypt-policy-filter')!.terms[0]!.action).toEqual({ kind: 'ipsec-sa', sa: 'manual-sa1' });
  });
});
