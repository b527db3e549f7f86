/**
 * The compiled runtime model: what the PFE, the ES PIC and the key manager read. References are
 * resolved, keys are bytes, addresses are numbers. Built only from a configuration that passed
 * the commit check.
 */
import type { Prefix } from '../net/ip.js';
import type { RpdModel } from '../rpd/config.js';

export type EncAlg = 'des-cbc' | '3des-cbc';
export type AuthAlg = 'hmac-md5-96' | 'hmac-sha1-96';
export type IpsecProtocol = 'ah' | 'esp' | 'bundle';

export interface ManualDirection {
  protocol: IpsecProtocol;
  spi: number;
  auxSpi?: number;
  auth?: { algorithm: AuthAlg; key: Buffer };
  enc?: { algorithm: EncAlg; key: Buffer };
}

export interface SaModel {
  name: string;
  description?: string;
  mode: 'tunnel' | 'transport';
  manual?: { inbound?: ManualDirection; outbound?: ManualDirection; bidirectional: boolean };
  dynamic?: { ipsecPolicy: string; replayWindow?: 32 | 64 };
}

export interface AddressModel { local: number; len: number; prefix: Prefix; destination?: number; text: string }
export interface UnitModel {
  unit: number;
  description?: string;
  disabled: boolean;
  tunnel?: { source: number; destination: number };
  inet?: { addresses: AddressModel[]; inputFilter?: string; outputFilter?: string; ipsecSa?: string; mtu?: number };
}
export interface InterfaceModel {
  name: string;
  type: 'fe' | 'es' | 'lo';
  fpc: number; pic: number; port: number;
  description?: string;
  disabled: boolean;
  mtu?: number;
  units: UnitModel[];
}

export type TermAction =
  | { kind: 'accept' } | { kind: 'discard' } | { kind: 'reject' } | { kind: 'next' }
  | { kind: 'ipsec-sa'; sa: string };
export interface TermModel {
  name: string;
  sourceAddress: Prefix[];
  destinationAddress: Prefix[];
  protocol: number[];
  sourcePort: Array<[number, number]>;
  destinationPort: Array<[number, number]>;
  action: TermAction;
  count?: string;
}
export interface FilterModel { name: string; terms: TermModel[] }

export interface StaticRouteModel { prefix: Prefix; nextHops: string[]; discard: boolean; reject: boolean; metric?: number }

export interface IkeProposalModel {
  name: string; authenticationAlgorithm: 'md5' | 'sha1';
  authenticationMethod: 'dsa-signatures' | 'pre-shared-keys' | 'rsa-signatures';
  dhGroup: 'group1' | 'group2'; encryptionAlgorithm: EncAlg; lifetimeSeconds: number; description?: string;
}
export interface IkePolicyModel {
  peer: string; mode: 'main' | 'aggressive'; proposals: string[]; preSharedKey?: Buffer;
  localCertificate?: string; localKeyPair?: string; identity?: string; encoding: 'binary' | 'pem'; description?: string;
}
export interface IpsecProposalModel {
  name: string; protocol?: IpsecProtocol; authenticationAlgorithm?: AuthAlg; encryptionAlgorithm?: EncAlg;
  lifetimeSeconds: number; description?: string;
}
export interface IpsecPolicyModel { name: string; proposals: string[]; pfs?: 'group1' | 'group2'; description?: string }

export interface RouterModel {
  hostName: string;
  interfaces: InterfaceModel[];
  filters: Map<string, FilterModel>;
  staticRoutes: StaticRouteModel[];
  sas: Map<string, SaModel>;
  ike: { proposals: Map<string, IkeProposalModel>; policies: Map<string, IkePolicyModel> };
  ipsec: { proposals: Map<string, IpsecProposalModel>; policies: Map<string, IpsecPolicyModel> };
  certificates: {
    cacheSize: number; cacheTimeoutNegative: number; enrollmentRetry: number; maximumCertificates: number; pathLength: number;
    authorities: Map<string, { caName?: string; crl?: string; encoding: 'binary' | 'pem'; enrollmentUrl?: string; file?: string; ldapUrl?: string }>;
    local: Map<string, { loadKeyFile?: string; hasKeyString: boolean; keyString?: string }>;
  };
  /** [edit system]: users (login) and the XML API's services */
  system: {
    users: Map<string, { cls?: string; encryptedPassword?: string; sshRsa: string[] }>;
    xnmSsl?: { localCertificate: string };
    netconfSsh?: { port: number };
  };
  traceoptions?: { file?: { name: string; files?: number; size?: string; sizeBytes?: number }; flags: string[] };
  bgp: Array<{ group: string; neighbor?: string; ipsecSa?: string }>;
  /** routing-options, protocols bgp, policy-options (rpd) */
  rpd?: RpdModel;
}
