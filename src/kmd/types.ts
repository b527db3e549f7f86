/**
 * What kmd's parts share: the router it runs in (KmdHost), its limits and lifetimes, the SA database's
 * records (tunnels, installed pairs, quick modes under way) and small helpers.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IkePolicyModel, IpsecProposalModel, IpsecPolicyModel } from '../config/model.js';
import type { DynamicSaPair } from '../../pics/es/core.js';
import type { PkiStore } from '../pki/store.js';
import { nameToString } from '../pki/store.js';
import type { IkeSa } from './ike-sa.js';
import type { DhKey } from './dh.js';
import type { IpsecChoice } from './proposals.js';
import type { ProxyIds, Selector } from './proxy.js';
import { idSelector, describeSelector } from './proxy.js';
import { decodeId } from './codec.js';
import { IdType } from './constants.js';
import { intToIp } from '../net/ip.js';

export interface KmdHost {
  /** wall-clock milliseconds: retransmissions, back-offs, half-open expiry */
  now(): number;
  /** the clock SA lifetimes run on (a lab may run it faster to watch rekeys): milliseconds; `now` if absent */
  clock?(): number;
  /**
   * how much faster that clock runs than the wall clock (1 if absent). Lifetimes on the wire are in the
   * peer's seconds, the wall clock's: 180 of our seconds at rate 60 go out as 3, and a peer's 8 are 480 here.
   */
  clockRate?: number;
  /** send a UDP datagram from the router's own address */
  sendUdp(src: number, dst: number, srcPort: number, dstPort: number, payload: Buffer): void;
  /** install a negotiated pair for an es- interface (ES PIC, and the PFE's inbound SPI map) */
  install(ifl: string, pair: DynamicSaPair, inbound: Array<{ proto: number; spi: number; dst: number }>): void;
  remove(ifl: string, inbound: Array<{ proto: number; spi: number; dst: number }>, outboundSpis: number[]): void;
  /** the tunnel has an outbound SA (true: send what waited) or its negotiation failed (false: drop it) */
  tunnelReady(ifl: string, ready: boolean, why?: string): void;
  /** the kmd log (SA up and down, failures): never keys */
  log(msg: string): void;
  /** traceoptions (`flag` as in [edit security traceoptions]) */
  trace?(flag: TraceFlag, msg: string): void;
  /** the router's certificates (rsa-signatures, dsa-signatures); without it only pre-shared keys work */
  pki?: PkiStore;
}
export type TraceFlag = 'ike' | 'policy-manager' | 'database' | 'timer' | 'general' | 'parse' | 'routing-socket';

export const KMD_LIMITS = {
  halfOpen: 64,            // IKE SAs not yet matured, at once
  halfOpenMs: 30_000,      // and how long one may stay so
  retransmitMs: 2000,      // first retransmission of an unanswered message; doubles each time
  retransmits: 4,          // then the exchange fails
  quickModes: 32,          // quick modes in progress per IKE SA
  retryBackoffMs: 5000,    // after a failed negotiation, traffic does not restart one before this
  rekeyGraceMs: 1000,      // an SA replaced by a rekey is deleted this long after the new one is in
  badSpiMs: 5000,          // at most one INVALID-SPI (or IKE start for one) per peer in this time
  outboundDelayMs: 50,     // an Aggressive mode initiator's first quick mode waits this long after message 3
  peerInstallMs: 50,       // a quick mode initiator's outbound SA goes in this long after message 3 (the peer installs on it)
  expiryGraceMs: 10_000,   // an IKE SA past its hard lifetime lives on this long at most for a quick mode under way on it
  keepaliveMs: 5_000,      // NAT keepalives (RFC 3948 4) when a NAT is before us (later JUNOS: nat-keepalive 5 s)
  /** responder Diffie-Hellman exchanges (Aggressive mode message 1, Main mode message 3): per peer, and in all */
  dhPerPeer: { rate: 10, burst: 3 },
  dhTotal: { rate: 40, burst: 8 },
  quietKeys: 4096,          // sources remembered for the answers and log lines any sender can trigger
  quietPerPeerMs: 10_000,   // one KMD_PM_NO_POLICY line and NO-PROPOSAL-CHOSEN answer per source in this time
  quietAllMs: 50,           // and at most 20 a second from all sources together
  noProposalMs: 1000,       // a configured peer's refused offer: logged and answered once a second at most
};
/**
 * Soft lifetimes, as a share of the hard one: the side that negotiated an SA renegotiates it first;
 * the other side only if nothing new came by its later soft lifetime (so both do not at once).
 */
export const SOFT = { initiator: 0.9, responder: 0.95 } as const;
/**
 * ...and at least this long (wall ms) before the hard lifetime, so that a negotiation (phase 1 and
 * quick mode, a retransmission) fits before the old SA goes, even on a lab's faster clock.
 */
export const SOFT_MARGIN_MS = { initiator: 1500, responder: 750 } as const;

/** Why a negotiation failed, for the diagnosis. */
export type FailureKind = 'no-answer' | 'no-proposal' | 'auth' | 'cert' | 'proxy' | 'no-policy' | 'mode' | 'other';

export interface Installed {
  inSpi: { esp?: number; ah?: number }; outSpi: { esp?: number; ah?: number };
  /** on the lifetime clock */
  created: number; softAt: number; lifetime: number;
  ike: string; choice: IpsecChoice; role: 'initiator' | 'responder';
  /** when a rekey of it started (wall clock) */
  rekeyAt?: number;
  /** replaced: deleted (DELETE to the peer) at this time (wall clock) */
  retireAt?: number;
  /** the tunnel's configuration it was negotiated under (a commit since may have changed it) */
  fingerprint: string;
  /** the proxy identities it was negotiated for: our side and the peer's */
  ids: { local: Selector; remote: Selector };
}
/** A dynamic SA on an es- interface: what to negotiate, with whom, and what is installed. */
export interface DynTunnel {
  ifl: string; saName: string; peer: number; local: number;
  ike?: IkePolicyModel; policy: IpsecPolicyModel; proposals: IpsecProposalModel[]; pfsGroup?: number;
  replayWindow: 32 | 64; proxy: ProxyIds;
  /** what the negotiation depends on: installed SAs negotiated under another one say so in `show` */
  fingerprint: string;
  installed: Installed[];
  negotiating?: number;   // quick mode M-ID (-1: waiting for phase 1)
  lastError?: string; lastErrorKind?: FailureKind; failedAt?: number;
  /** rekeys done, for `show` and tests */
  rekeys: number;
  /** when an SA was last installed (wall clock): failures before it are history */
  upAt?: number;
}

export interface QuickMode {
  mid: number; role: 'initiator' | 'responder'; tunnel: DynTunnel; ike: IkeSa;
  ni: Buffer; nr?: Buffer; dh?: DhKey;
  gx?: Buffer; gyPeer?: Buffer;
  mySpi: { esp: Buffer; ah: Buffer };
  choice?: IpsecChoice;
  ids: { ci: Selector; cr: Selector };
  lastSent?: Buffer; lastRecv?: Buffer; sentFor?: Buffer; retries: number; nextRetry: number; awaiting: boolean;
  done: boolean;
  /** installed: its SPIs are the SAs' (else a failed quick mode gives them back) */
  installed?: boolean;
}

export const hex = (b: Buffer) => b.toString('hex');
/** IKE hashes and signatures compared in constant time */
export const hashEq = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
/** RFC 3948 2.2: IKE on UDP 4500 starts with four zero bytes (an SPI no ESP packet has) */
export const NON_ESP_MARKER = Buffer.alloc(4);
export const spiNum = (b: Buffer | undefined) => (b && b.length === 4 ? b.readUInt32BE(0) : undefined);
export const MODE_NAME = { main: 'Main', aggressive: 'Aggressive' } as const;

/**
 * A peer's identity as text that is safe to print anywhere (terminal, web terminal, log, XML): the
 * peer chooses these bytes, before it is authenticated in Aggressive mode, so C0, DEL and C1
 * controls (ESC, CSI U+009B, OSC U+009D), line separators and what XML 1.0 cannot carry are escaped,
 * and it is cut at 255 characters.
 */
export function printableId(s: string, max = 255): string {
  // eslint-disable-next-line no-control-regex
  const e = s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    c => { const n = c.charCodeAt(0); return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`; });
  return e.length > max ? `${e.slice(0, max)}...` : e;
}

export function describeId(body: Buffer): string {
  const d = decodeId(body);
  if (!d.ok) return '?';
  const v = d.value;
  if (v.type === IdType.IPV4_ADDR && v.data.length === 4) return intToIp(v.data.readUInt32BE(0));
  if (v.type === IdType.FQDN || v.type === IdType.USER_FQDN) return printableId(v.data.toString('latin1'));
  if (v.type === IdType.DER_ASN1_DN) { const n = nameToString(v.data); return n === undefined ? 'DN ?' : printableId(n); }
  const s = idSelector(v);
  return s ? describeSelector(s) : `id type ${v.type}`;
}


/** A proxy identity as JUNOS prints it: ipv4_subnet(any:0,[0..7]=10.1.1.0/24), or ipv4(tcp:80,[0..3]=10.1.1.1). */
export function junosIdentity(s: Selector): string {
  const proto = s.protocol === 0 ? 'any' : s.protocol === 6 ? 'tcp' : s.protocol === 17 ? 'udp' : s.protocol === 1 ? 'icmp' : String(s.protocol);
  return s.prefix.len === 32 ? `ipv4(${proto}:${s.port},[0..3]=${intToIp(s.prefix.addr)})` : `ipv4_subnet(${proto}:${s.port},[0..7]=${intToIp(s.prefix.addr)}/${s.prefix.len})`;
}
