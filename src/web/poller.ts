/**
 * The lab page's live state: every second, each router's snapshot (src/web/snapshot.ts) through its
 * control socket, sent to every open /ws/lab page. One poll for all pages; a router whose last
 * request is still out is not asked again (a slow router never piles requests up); a page that does
 * not read its messages misses updates rather than grow the server's memory.
 */
import type { WebSocket } from 'ws';
import { Upstream } from './upstream.js';
import type { RouterSnapshot } from './snapshot.js';

export interface RouterState { up: boolean; error?: string; snapshot?: RouterSnapshot }
export interface LabState { type: 'state'; time: number; routers: Record<string, RouterState> }

export const POLL = { intervalMs: 1000, wsBuffered: 1 << 20 };

export class LabPoller {
  private clients = new Set<WebSocket>();
  private ups = new Map<string, Upstream>();
  private pending = new Set<string>();
  private state: Record<string, RouterState> = {};
  private timer?: NodeJS.Timeout;
  constructor(private routers: string[], socketOf: (node: string) => string) {
    for (const r of routers) this.ups.set(r, new Upstream(socketOf(r)));
  }
  add(ws: WebSocket): void {
    this.clients.add(ws);
    ws.on('close', () => { this.clients.delete(ws); if (!this.clients.size) this.stop(); });
    ws.on('error', () => ws.terminate());
    if (Object.keys(this.state).length) ws.send(JSON.stringify(this.message()));
    this.poll();
    this.timer ??= setInterval(() => this.poll(), POLL.intervalMs);
  }
  private message(): LabState { return { type: 'state', time: Date.now(), routers: this.state }; }
  private poll(): void {
    for (const r of this.routers) {
      if (this.pending.has(r)) continue;
      this.pending.add(r);
      void this.ups.get(r)!.request({ snapshot: true }).then(m => {
        this.pending.delete(r);
        this.state[r] = m.snapshot ? { up: true, snapshot: m.snapshot as RouterSnapshot } : { up: false, error: String(m.error ?? 'no answer') };
        this.broadcast();
      });
    }
  }
  private broadcast(): void {
    const text = JSON.stringify(this.message());
    for (const ws of this.clients) if (ws.readyState === ws.OPEN && ws.bufferedAmount < POLL.wsBuffered) ws.send(text);
  }
  private stop(): void { clearInterval(this.timer); this.timer = undefined; }
  close(): void { this.stop(); for (const u of this.ups.values()) u.close(); for (const ws of this.clients) ws.terminate(); }
}
