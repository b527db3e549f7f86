/**
 * A router process's memory, as the documented bound means it (docs/architecture.md, "Limits"): what it
 * holds after a full collection (SIGUSR2: router-main collects, then writes NODE.mem), and its resident
 * size now (VmRSS, which no collection may exceed either: the V8 limits cap the heaps).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './settle.js';

export interface RouterMemory { seq: number; rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }

export const rssMbOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
export const hwmMbOf = (pid: number): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Ask router `node` of the lab in `runDir` (process `pid`) for a collection; resolve with what it then holds (MB). */
export async function collectedMemory(runDir: string, node: string, pid: number, ms = 20000): Promise<{ rssMb: number; heapUsedMb: number; externalMb: number }> {
  const file = join(runDir, `${node}.mem`);
  const read = (): RouterMemory | undefined => { try { return JSON.parse(readFileSync(file, 'utf8')) as RouterMemory; } catch { return undefined; } };
  const before = existsSync(file) ? read()?.seq ?? 0 : 0;
  process.kill(pid, 'SIGUSR2');
  const m = await until(() => { const m = read(); return m && m.seq > before && m; }, `${node} (pid ${pid}) to report its memory after SIGUSR2`, ms, 20);
  return { rssMb: m.rss / 2 ** 20, heapUsedMb: m.heapUsed / 2 ** 20, externalMb: m.external / 2 ** 20 };
}
