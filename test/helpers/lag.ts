/**
 * The longest the event loop was held while `f` ran: an attack's cost to the main thread. A timer
 * every 5 ms measures each gap between its runs; a gap counts only as far as this process was on a
 * CPU during it (process.cpuUsage), so a test process that the kernel descheduled on a loaded machine
 * (scripts/ci-under-load.sh) is not mistaken for a router that held its loop. An attack that holds
 * the loop computes all through the gap, so its gap counts whole.
 */
export async function maxLag<T>(f: () => Promise<T>): Promise<{ value: T; lagMs: number }> {
  let last = performance.now(), cpu = process.cpuUsage(), lag = 0;
  const gap = () => {
    const now = performance.now(), used = process.cpuUsage(cpu);
    lag = Math.max(lag, Math.min(now - last - 5, (used.user + used.system) / 1000));
    last = now; cpu = process.cpuUsage();
  };
  const t = setInterval(gap, 5);
  try {
    const value = await f();
    gap();
    return { value, lagMs: lag };
  } finally { clearInterval(t); }
}
/**
 * The bound asserted: the goal is 100 ms (issue 21), but a test process on a loaded two-core machine
 * can be descheduled that long by itself; the attacks this catches held the loop for seconds.
 */
export const LAG_BOUND_MS = 250;
