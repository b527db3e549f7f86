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
/** the bound the findings of issue 21 hold the main thread to */
export const LAG_BOUND_MS = 100;
