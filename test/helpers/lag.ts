/** The longest the event loop was held while `f` ran (a timer every 5 ms measures it): an attack's cost to the main thread. */
export async function maxLag<T>(f: () => Promise<T>): Promise<{ value: T; lagMs: number }> {
  let last = performance.now(), lag = 0;
  const t = setInterval(() => { const now = performance.now(); lag = Math.max(lag, now - last - 5); last = now; }, 5);
  try {
    const value = await f();
    const now = performance.now(); lag = Math.max(lag, now - last - 5);
    return { value, lagMs: lag };
  } finally { clearInterval(t); }
}
/**
 * The bound asserted: the goal is 100 ms (issue 21), but a test process on a loaded two-core machine
 * can be descheduled that long by itself; the attacks this catches held the loop for seconds.
 */
export const LAG_BOUND_MS = 250;
