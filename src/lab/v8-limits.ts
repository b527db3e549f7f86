/**
 * The V8 limits every router process starts with, so that what it holds stays under the documented
 * bound (docs/architecture.md, "Limits") whatever it is sent. The bound is the sum of the budget below:
 * each part is capped by a limit (V8's for the heaps, the router's own for rings and buffers), except
 * the file-backed pages of node itself, which are shared by every router on the machine and bounded by
 * what the code touches (measured).
 * `--expose-gc` lets a test ask for a collection (SIGUSR2, src/daemon/router-main.ts) before it
 * measures what the bound means: memory held, not garbage not yet collected.
 * VROUTER_NODE_FLAGS, appended after these, overrides them (V8 takes the last of a flag).
 */
export const ROUTER_BUDGET_MB = {
  /** node's binary and libraries, file-backed and shared: 40 MB idle, 44 MB once the JIT has run (measured) */
  code: 48,
  /**
   * the main isolate's old generation: configuration, RIB, SA tables, logs and traces. Traces may hold
   * 32 MiB of text (TRACE_MEMORY), which is 62 MB of heap as the log keeps it (lines are strings in an
   * array); the idle router uses 7 MB
   */
  oldSpace: 80,
  /** one semi-space of the young generation (V8 reserves three: two semi-spaces and as much for new large objects). Packets in flight die within a turn of the event loop: a small nursery is scavenged more often, never grown */
  semiSpace: 2,
  /** the ES PIC worker: its WORKER_LIMITS (24 + 6 MB) and an isolate's fixed cost (8 MB measured) */
  esPic: 38,
  /** the ES PIC's two rings, 4 MiB each way */
  rings: 8,
  /** malloc, libuv and socket buffers: the fragment data (4 MiB), one capture's unsent packets (4 MiB), the TAP reads; 9 MB measured after a flood */
  native: 16,
} as const;

export const ROUTER_V8_FLAGS: readonly string[] = [
  `--max-old-space-size=${ROUTER_BUDGET_MB.oldSpace}`,
  `--max-semi-space-size=${ROUTER_BUDGET_MB.semiSpace}`,
  '--expose-gc',
  /**
   * Feedback vectors from a function's first call, not after V8 has seen it run a while: a router's
   * packet path is many functions each run a few times per packet, and at ten packets a second the
   * lazy default leaves them without inline caches (every property access a generic lookup). Measured
   * (docs/performance.md, 2026-12-03 third session): ping RTT through the lab 15-20% lower at 0.1 s,
   * throughput the same or better, 0.4 MB more resident.
   */
  '--no-lazy-feedback-allocation',
];
/** glibc: two malloc arenas, not eight per core for the isolates' and libuv's threads. */
export const ROUTER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** The resident bound of a router process with one ES PIC: the sum of its budget (196 MB). */
export const ROUTER_RSS_BOUND_MB = ROUTER_BUDGET_MB.code + ROUTER_BUDGET_MB.oldSpace + 3 * ROUTER_BUDGET_MB.semiSpace + ROUTER_BUDGET_MB.esPic + ROUTER_BUDGET_MB.rings + ROUTER_BUDGET_MB.native;
