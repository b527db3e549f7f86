/** Bench: load + commit-check + compile a 20,000-line configuration, against merely reading it. */
import { writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bigConfig } from './gen-config.js';
import { loadAndCheck } from '../../src/config/index.js';
import { Chassis } from '../../chassis/chassis.js';
import { timeIt } from './util.js';

export function benchConfig(): void {
  const dir = mkdtempSync(join(tmpdir(), 'vrouter-bench-'));
  try {
    const file = join(dir, 'big.conf');
    const text = bigConfig(20000);
    writeFileSync(file, text);
    const lines = text.split('\n').length - 1;
    const chassis = new Chassis('m10');
    const read = timeIt(() => { readFileSync(file, 'utf8').split('\n'); }, 20);
    let ok = false;
    const load = timeIt(() => { ok = loadAndCheck(readFileSync(file, 'utf8'), { file, chassis }).ok; }, 5);
    if (!ok) throw new Error('benchmark configuration does not commit');
    console.log(`config load+check+compile ${lines} lines: ${load.toFixed(1)} ms; read file only: ${read.toFixed(2)} ms; ratio=${(read / load).toFixed(3)}`);
  } finally { rmSync(dir, { recursive: true, force: true }); }
}
