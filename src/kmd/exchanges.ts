/**
 * The exchange manager (strongSwan's task_manager_v1, in shape): the one place that owns, for every
 * exchange under way (phase 1 on its IKE SA, each quick mode by its message ID), the last message
 * sent, the last one received, the retransmissions of what awaits a reply, and the answer to a
 * retransmission of what we already answered. The exchanges themselves (src/kmd/tasks) only say
 * what they send and whether they await a reply.
 */
import type { IkeSa } from './ike-sa.js';
import { intToIp } from '../net/ip.js';
import { KMD_LIMITS, type QuickMode, type TraceFlag, type FailureKind } from './types.js';

/** The retransmission state of one exchange (an IKE SA's phase 1, or a quick mode). */
export interface Retransmitted {
  lastSent?: Buffer; lastRecv?: Buffer;
  /** the lastRecv that lastSent answers: only a copy of that gets lastSent again */
  sentFor?: Buffer;
  retries: number; nextRetry: number; awaiting: boolean;
}

export interface ExchangeHost {
  now(): number;
  /** the transport: UDP 500, or 4500 once the IKE SA floated */
  send(ike: IkeSa, msg: Buffer): void;
  drop(reason: string, detail?: string): void;
  trace(msg: string, flag?: TraceFlag): void;
}

export class Exchanges {
  /** quick modes under way and those just done (a retransmission of their last message still finds them): `${ike key}/${mid}` */
  readonly quick = new Map<string, QuickMode>();
  constructor(private x: ExchangeHost) {}

  /** Send `msg` as the exchange's last message; with `awaitReply` it goes again until a reply comes. */
  send(ike: IkeSa, ex: Retransmitted, msg: Buffer, awaitReply: boolean): void {
    ex.lastSent = msg; ex.sentFor = ex.lastRecv;
    ex.awaiting = awaitReply; ex.retries = 0; ex.nextRetry = this.x.now() + KMD_LIMITS.retransmitMs;
    this.x.send(ike, msg);
  }
  /** The exchange's last message (it ends it): sent once, and again only when the peer repeats itself. */
  reply(ike: IkeSa, ex: Retransmitted, msg: Buffer): void {
    ex.lastSent = msg; ex.sentFor = ex.lastRecv; ex.awaiting = false;
    this.x.send(ike, msg);
  }
  /** The peer's message that moved the exchange on: a copy of it later is a retransmission. */
  received(ex: Retransmitted, m: Buffer): void { ex.lastRecv = Buffer.from(m); }
  /** Nothing more is awaited (the exchange is done, or failed). */
  settle(ex: Retransmitted): void { ex.awaiting = false; }

  /**
   * A copy of the peer's last message goes no further (true). It gets our last message again only
   * when that answered it and we wait for nothing (our answer was lost): a copy of the peer's answer
   * while our next message awaits its reply gets nothing (our timer resends), or one duplicated frame
   * sets off an endless exchange of copies, each side's resend the other's duplicate (strongSwan:
   * "received retransmit of response ... next request already sent"). False when `m` is no copy.
   */
  duplicate(ike: IkeSa, ex: Retransmitted | undefined, m: Buffer): boolean {
    if (!ex?.lastRecv || !m.equals(ex.lastRecv)) return false;
    if (ex.lastSent && ex.sentFor === ex.lastRecv && !ex.awaiting) this.x.send(ike, ex.lastSent);
    this.x.drop('ike-retransmission');
    return true;
  }

  /**
   * An unanswered message whose time has come goes again (the wait doubles each time); 'gave-up' when
   * it went KMD_LIMITS.retransmits times already: the exchange fails.
   */
  retransmit(ike: IkeSa, ex: Retransmitted, now: number, what: () => string): 'gave-up' | undefined {
    if (!ex.awaiting || !ex.lastSent || now < ex.nextRetry) return undefined;
    if (ex.retries >= KMD_LIMITS.retransmits) return 'gave-up';
    ex.retries++; ex.nextRetry = now + KMD_LIMITS.retransmitMs * 2 ** ex.retries;
    this.x.trace(`retransmitting ${what()} to ${intToIp(ike.peer)} (${ex.retries} of ${KMD_LIMITS.retransmits})`, 'timer');
    this.x.send(ike, ex.lastSent);
    return undefined;
  }

  // ----------------------------------------------------------------------- quick modes

  quickMode(ike: IkeSa, mid: number): QuickMode | undefined { return this.quick.get(`${ike.key}/${mid}`); }
  addQuickMode(qm: QuickMode): void { this.quick.set(`${qm.ike.key}/${qm.mid}`, qm); }
  /** a message ID no quick mode on this IKE SA has */
  freeMid(ike: IkeSa, random: () => number): number {
    let mid: number;
    do mid = random(); while (mid === 0 || this.quick.has(`${ike.key}/${mid}`));
    return mid;
  }
  /** quick modes under way on an IKE SA */
  underWay(ike: IkeSa): number { let n = 0; for (const q of this.quick.values()) if (q.ike === ike && !q.done) n++; return n; }

  /**
   * Quick mode timers: one done is forgotten a minute later (or with its IKE SA); one whose IKE SA went
   * away, or whose peer stopped answering, fails (`failed`).
   */
  tickQuickModes(now: number, alive: (ike: IkeSa) => boolean, failed: (q: QuickMode, why: string, kind?: FailureKind) => void): void {
    for (const [k, q] of this.quick) {
      if (q.done) { if (now - (q.nextRetry || now) > 60_000 || !alive(q.ike)) this.quick.delete(k); continue; }
      if (!alive(q.ike)) { this.quick.delete(k); failed(q, 'the IKE SA went away during quick mode'); continue; }
      if (this.retransmit(q.ike, q, now, () => `quick mode 0x${q.mid.toString(16)}`) === 'gave-up') {
        this.quick.delete(k); failed(q, `no answer from ${intToIp(q.ike.peer)} to quick mode`, 'no-answer');
      }
    }
  }
}
