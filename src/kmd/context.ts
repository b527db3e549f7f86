/**
 * What kmd's exchanges (src/kmd/tasks) and their shared pieces see of kmd: the SA database, the host
 * bridge (the PFE, the ES PIC, the log), the exchange manager, the diagnosis records and the lifetime
 * clock. `Kmd` is the one implementation; the tasks import it as a type only.
 */
import type { RouterModel } from '../config/model.js';
import type { IkeSa } from './ike-sa.js';
import type { DhBudget } from './dh-budget.js';
import type { NattContext } from './natt.js';
import type { Exchanges } from './exchanges.js';
import type { KmdHost, TraceFlag, FailureKind, DynTunnel, Installed, QuickMode } from './types.js';

export interface KmdContext {
  readonly host: KmdHost;
  readonly model?: RouterModel;
  // the SA database
  readonly ikeSas: Map<string, IkeSa>;
  readonly tunnels: Map<string, DynTunnel>;
  /** the SPIs we handed out, so no two SAs share one */
  readonly spis: Set<number>;
  /** peers with which an IKE SA matured since kmd started (the first one says INITIAL-CONTACT) */
  readonly contacted: Set<number>;
  /** each IKE policy's configuration fingerprint, by peer */
  readonly ikeFps: Map<number, string>;
  // the exchanges under way, and the responder's Diffie-Hellman budget
  readonly exchanges: Exchanges;
  readonly dhBudget: DhBudget;
  readonly natx: NattContext;
  // what the diagnosis and `show` read
  readonly lastOffers: Map<number, { theirs: string; ours: string; at: number; phase?: 1 | 2 }>;
  readonly lastProxyMismatch: Map<number, { theirs: string; ours: string; at: number }>;
  readonly modeNotes: Map<number, { theirs: 'main' | 'aggressive'; ours: 'main' | 'aggressive'; at: number }>;
  readonly failures: Map<number, { why: string; at: number; role: string; kind: FailureKind; mode: 'main' | 'aggressive' }>;
  readonly deadSas: Map<number, IkeSa>;

  drop(reason: string, detail?: string): void;
  /**
   * Whether what `key` names happened less than `ms` ago (then the caller stays quiet); records now
   * otherwise. For answers and log lines that any sender can trigger: kmd must not be a reflector or
   * let a flood wipe its log.
   */
  quiet(key: string, ms: number): boolean;
  trace(msg: string, flag?: TraceFlag): void;
  /** to the peer, on UDP 500 or (floated) 4500 */
  send(sa: IkeSa, msg: Buffer): void;
  /** the message that came on UDP 4500 authenticated: the SA answers there from now on */
  acceptFloat(sa: IkeSa): void;
  /** a tunnel's negotiation failed */
  fail(t: DynTunnel, why: string, kind?: FailureKind): void;
  /** an IKE SA that will not mature: its waiting quick modes fail, the reason is kept for `show` */
  dead(sa: IkeSa, why: string, kind?: FailureKind): void;
  /** the peer lost its state (INITIAL-CONTACT): every other SA with it is stale */
  initialContact(sa: IkeSa): void;
  /** a quick mode is over: its SPIs go back unless installed, its tunnel negotiates no more */
  qmDone(qm: QuickMode): void;
  /** an SPI no other SA has */
  allocSpi(): Buffer;
  /** remove installed SAs from the ES PIC */
  uninstall(t: DynTunnel, which: Installed[], why: string): void;
  /** run `f` in `ms` (an exception in it is logged, not thrown) */
  later(ms: number, f: () => void): void;
  // lifetimes: the lifetime clock, and seconds as the peer counts them
  life(): number;
  softAt(life: number, ms: number, role: 'initiator' | 'responder'): number;
  readonly rate: number;
  toWire(s: number): number;
  fromWire(s: number): number;
  wireProps<T extends { lifetimeSeconds: number }>(props: T[]): T[];
}
