/**
 * An injected clock for in-memory labs (RouterOptions.now): the routers' timers (kmd's lifetimes,
 * rekeys, retransmissions and grace periods; the PFE's ARP) read it, and only the test moves it. A
 * day of SA lifetimes then runs in the wall time its negotiations take, and a test waits on what each
 * move of the clock started (the negotiation over, its SAs in the ES PICs) instead of on guessed time.
 */
import type { Router } from '../../src/router/router.js';
import type { MemLab } from '../../src/lab/memlab.js';

const turn = () => new Promise<void>(r => setImmediate(r));

/** A negotiation under way on `r` (phase 1, or a quick mode on a tunnel). */
export function negotiating(r: Router): boolean {
  return [...r.kmd.tunnels.values()].some(t => t.negotiating !== undefined) || r.kmd.ikeSnapshot().some(s => !s.matured && s.state !== 'DEAD');
}
/**
 * Each tunnel of `r` sends with the newest SA kmd installed: a quick mode initiator's outbound SA goes
 * into the ES PIC a moment (KMD_LIMITS.peerInstallMs, wall time) after message 3.
 */
export async function outboundIn(r: Router): Promise<boolean> {
  const out = new Set((await r.ipsec.snapshot!()).sas.filter(s => !s.manual && s.direction === 'outbound').map(s => s.spi));
  return [...r.kmd.tunnels.values()].every(t => { const x = t.installed.at(-1); return !x || out.has(x.outSpi.esp ?? x.outSpi.ah!); });
}
/**
 * Resolves once what the last move of the clock started is over: no frame in flight on the lab's
 * wires, every tunnel's ES PIC sending with the newest SA kmd installed, and no negotiation running
 * that the wall clock can still advance (one whose messages are all delivered and that stays so for
 * `idleTurns` turns of the event loop waits on the routers' clock: a retransmission, a lifetime).
 * Under continuous traffic the wires are never idle: `answered` (every negotiation's peer answers)
 * waits for the negotiations to end instead, whatever the wires carry.
 */
export async function kmdQuiet(lab: Pick<MemLab, 'wires' | 'routers'>, o: { ms?: number; idleTurns?: number; answered?: boolean } = {}): Promise<void> {
  const ms = o.ms ?? 30_000, end = Date.now() + ms, routers = [...lab.routers.values()];
  let idle = 0;
  for (;;) {
    await turn();
    if (!o.answered && [...lab.wires.values()].some(w => w.busy)) idle = 0;
    else {
      let sending = true;
      for (const r of routers) if (!(await outboundIn(r))) { sending = false; break; }
      if (sending && (!routers.some(negotiating) || (!o.answered && ++idle > (o.idleTurns ?? 50)))) return;
    }
    if (Date.now() > end) throw new Error(`the lab did not settle in ${ms} ms of wall time`);
  }
}

export class LabClock {
  /** the routers' time (ms since the epoch): the wall clock's when made, then moved by `advance` only */
  t = Date.now();
  readonly now = (): number => this.t;
  /**
   * Move the clock by `ms` in steps of `stepMs`: at each step every router's timers run (as its own
   * interval timer would run them), then what they started ends (kmdQuiet) before the next step.
   * `between` runs after each step (traffic, a check); return true from it to stop early. `quiet`: how
   * to wait (kmdQuiet).
   */
  async advance(lab: Pick<MemLab, 'wires' | 'routers'>, ms: number, stepMs = 1000, between?: () => unknown, quiet: Parameters<typeof kmdQuiet>[1] = {}): Promise<void> {
    for (let done = 0; done < ms; done += stepMs) {
      this.t += Math.min(stepMs, ms - done);
      for (const r of lab.routers.values()) { r.pfe.tick(); r.pfe.guard(() => r.kmd.tick()); }
      await kmdQuiet(lab, quiet);
      if (await between?.()) return;
    }
  }
}
