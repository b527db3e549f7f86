/**
 * Waits on the events a fixed sleep stood for, in an in-memory lab (src/lab/memlab.ts): every frame on
 * every wire delivered, and whatever the routers did with them (the PFE and an inline ES PIC handle a
 * frame within its delivery) done, and so on until nothing is left in flight.
 */
import type { MemLab } from '../../src/lab/memlab.js';

const turn = () => new Promise<void>(r => setImmediate(r));

/** Resolves once no wire of `lab` carries a frame after a turn of the event loop; throws after `ms`. */
export async function delivered(lab: Pick<MemLab, 'wires'>, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    await turn();
    if (![...lab.wires.values()].some(w => w.busy)) return;
    if (Date.now() > end) throw new Error(`frames still in flight after ${ms} ms`);
  }
}

/**
 * Wait until `cond` holds, checking it every `everyMs` (at once first): a wait bounded by what it
 * waits for, never a guessed sleep; throws with `what` when `ms` pass first. The one wait of the
 * tests: in-memory labs poll at every turn of the event loop (1 ms), the end-to-end tests
 * (test/e2e/helpers.ts `waitUntil`) every 50 ms, as they ask other processes.
 */
export async function until<T>(cond: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 10000, everyMs = 1): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, everyMs));
  }
}
