/**
 * A session's requests, one at a time, in order, with backpressure both ways: at `queued` waiting
 * requests the socket is paused (no more is read until half have run), and a reply that fills the
 * socket's buffer (write() said so) holds the next request until the socket drains. A session that
 * has not logged in may queue only `beforeLogin` (a client may send its session at once, login first); more ends it. No promise chain, no Error per request.
 */
import type { Duplex } from 'node:stream';

/** A ping an API session sends without a count sends this many requests (as JUNOS's ping RPC). */
export const API_PING_COUNT = 5;

export const PUMP_LIMITS = { queued: 16, beforeLogin: 64 };

export type Item<T> = { req: T } | { end: string | undefined };

export class RequestPump<T> {
  private q: Item<T>[] = [];
  private busy = false;
  private paused = false;
  stopped = false;
  constructor(private sock: Duplex, private run: (req: T) => Promise<void>, private finish: (why: string | undefined) => void, private loggedIn: () => boolean) {}

  push(it: Item<T>): void {
    if (this.stopped) return;
    if ('req' in it && !this.loggedIn() && this.q.length >= PUMP_LIMITS.beforeLogin) { this.stopped = true; this.q = []; this.finish('too many requests before login'); return; }
    this.q.push(it);
    if (this.q.length >= PUMP_LIMITS.queued && !this.paused) { this.paused = true; this.sock.pause(); }
    if (!this.busy) void this.pump();
  }

  private async pump(): Promise<void> {
    this.busy = true;
    while (this.q.length && !this.stopped) {
      const it = this.q.shift()!;
      if ('end' in it) { this.stopped = true; this.finish(it.end); break; }
      try { await this.run(it.req); } catch (e) { this.stopped = true; this.finish(`internal error: ${(e as Error)?.message}`); break; }
      if (this.sock.writableNeedDrain && !this.sock.destroyed) await new Promise<void>(res => { const done = () => { this.sock.off('drain', done); this.sock.off('close', done); res(); }; this.sock.on('drain', done); this.sock.on('close', done); });
      if (this.paused && this.q.length < PUMP_LIMITS.queued / 2) { this.paused = false; this.sock.resume(); }
    }
    this.busy = false;
  }

  /** The session is gone: nothing more runs. */
  stop(): void { this.stopped = true; this.q = []; }
}
