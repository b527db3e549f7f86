/** ISAKMP (RFC 2408), IKE (RFC 2409) and the IPsec DOI (RFC 2407) numbers kmd speaks. */

export const ISAKMP_PORT = 500;
/** NAT traversal (RFC 3947): IKE floats to this port, ESP travels in UDP to it (RFC 3948). */
export const NATT_PORT = 4500;
/** The RFC 3947 vendor ID: MD5("RFC 3947"). */
export const VID_RFC3947 = Buffer.from('4a131c81070358455c5728f20e95452f', 'hex');
export const ISAKMP_VERSION = 0x10;   // major 1, minor 0

export const enum Pt {   // payload types
  NONE = 0, SA = 1, P = 2, T = 3, KE = 4, ID = 5, CERT = 6, CR = 7, HASH = 8, SIG = 9, NONCE = 10, N = 11, D = 12, VID = 13,
  NAT_D = 20, NAT_OA = 21, NAT_D_DRAFT = 130, NAT_OA_DRAFT = 131,
}
export const PAYLOAD_NAMES: Record<number, string> = {
  1: 'SA', 2: 'PROPOSAL', 3: 'TRANSFORM', 4: 'KE', 5: 'ID', 6: 'CERT', 7: 'CERT_REQ', 8: 'HASH', 9: 'SIG', 10: 'NONCE', 11: 'NOTIFY',
  12: 'DELETE', 13: 'VENDOR_ID', 20: 'NAT_D', 21: 'NAT_OA', 130: 'NAT_D (draft)', 131: 'NAT_OA (draft)',
};

export const enum Xchg { MAIN = 2, AGGRESSIVE = 4, INFORMATIONAL = 5, QUICK = 32 }
export const EXCHANGE_NAMES: Record<number, string> = { 2: 'Main', 4: 'Aggressive', 5: 'Informational', 32: 'Quick' };

export const FLAG_ENCRYPTION = 1, FLAG_COMMIT = 2, FLAG_AUTH_ONLY = 4;

export const DOI_IPSEC = 1;
export const SIT_IDENTITY_ONLY = 1;

export const enum Proto { ISAKMP = 1, AH = 2, ESP = 3 }
export const KEY_IKE = 1;

/** IKE (phase 1) SA attributes, RFC 2409 appendix A. */
export const enum P1Attr { ENC = 1, HASH = 2, AUTH = 3, GROUP = 4, LIFE_TYPE = 11, LIFE_DURATION = 12, KEY_LENGTH = 14 }
export const P1_ENC: Record<string, number> = { 'des-cbc': 1, '3des-cbc': 5 };
export const P1_HASH: Record<string, number> = { md5: 1, sha1: 2 };
export const P1_AUTH: Record<string, number> = { 'pre-shared-keys': 1, 'dsa-signatures': 2, 'rsa-signatures': 3 };
export const P1_GROUP: Record<string, number> = { group1: 1, group2: 2 };
export const LIFE_SECONDS = 1, LIFE_KILOBYTES = 2;

/** IPsec DOI SA attributes, RFC 2407 4.5. */
export const enum P2Attr { LIFE_TYPE = 1, LIFE_DURATION = 2, GROUP = 3, ENCAP = 4, AUTH = 5, KEY_LENGTH = 6 }
export const ENCAP_TUNNEL = 1, ENCAP_TRANSPORT = 2, ENCAP_UDP_TUNNEL = 3, ENCAP_UDP_TRANSPORT = 4;
export const ENCAP_UDP_TUNNEL_DRAFT = 61443, ENCAP_UDP_TRANSPORT_DRAFT = 61444;
export const ESP_TRANSFORM: Record<string, number> = { 'des-cbc': 2, '3des-cbc': 3 };
export const ESP_NULL = 11;
export const AH_TRANSFORM: Record<string, number> = { 'hmac-md5-96': 2, 'hmac-sha1-96': 3 };
export const P2_AUTH: Record<string, number> = { 'hmac-md5-96': 1, 'hmac-sha1-96': 2 };

/** CERT and CERT_REQ encodings (RFC 2408 3.9): X.509 signature certificates */
export const CERT_X509_SIG = 4;

export const enum IdType { IPV4_ADDR = 1, FQDN = 2, USER_FQDN = 3, IPV4_ADDR_SUBNET = 4, IPV4_ADDR_RANGE = 7, DER_ASN1_DN = 9, KEY_ID = 11 }

/** Notify message types, RFC 2408 3.14.1 and RFC 2407 4.6.3. */
export const N = {
  INVALID_PAYLOAD_TYPE: 1, DOI_NOT_SUPPORTED: 2, SITUATION_NOT_SUPPORTED: 3, INVALID_COOKIE: 4, INVALID_MAJOR_VERSION: 5,
  INVALID_EXCHANGE_TYPE: 7, INVALID_FLAGS: 8, INVALID_MESSAGE_ID: 9, INVALID_PROTOCOL_ID: 10, INVALID_SPI: 11,
  INVALID_TRANSFORM_ID: 12, ATTRIBUTES_NOT_SUPPORTED: 13, NO_PROPOSAL_CHOSEN: 14, BAD_PROPOSAL_SYNTAX: 15,
  PAYLOAD_MALFORMED: 16, INVALID_KEY_INFORMATION: 17, INVALID_ID_INFORMATION: 18, INVALID_CERT_ENCODING: 19, INVALID_CERTIFICATE: 20,
  CERT_TYPE_UNSUPPORTED: 21, INVALID_CERT_AUTHORITY: 22, INVALID_HASH_INFORMATION: 23,
  AUTHENTICATION_FAILED: 24, INVALID_SIGNATURE: 25, CERTIFICATE_UNAVAILABLE: 28,
  RESPONDER_LIFETIME: 24576, REPLAY_STATUS: 24577, INITIAL_CONTACT: 24578,
  DPD_R_U_THERE: 36136, DPD_R_U_THERE_ACK: 36137,
} as const;
export const NOTIFY_NAMES: Record<number, string> = Object.fromEntries(Object.entries(N).map(([k, v]) => [v, k.replace(/_/g, '-')]));

/** Oakley groups 1 and 2 (RFC 2409 6.1, 6.2): node:crypto names, and the length of a public value. */
export const DH_GROUPS: Record<number, { name: 'modp1' | 'modp2'; bytes: number }> = { 1: { name: 'modp1', bytes: 96 }, 2: { name: 'modp2', bytes: 128 } };
