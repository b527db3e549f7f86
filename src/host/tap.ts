/** A PFE port backed by a Linux TAP device (our N-API addon in native/tap.cc). */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import type { Port } from '../pfe/types.js';

interface NativeTap { start(cb: (frames: Buffer[]) => void): void; write(b: Buffer, len?: number): boolean; close(): void; readonly name: string; readonly stats: { rx: number; tx: number; txDrops: number; batches: number } }
let addon: { Tap: new (name: string) => NativeTap } | undefined;

export function loadAddon(): { Tap: new (name: string) => NativeTap } {
  if (addon) return addon;
  const file = join(repoRoot(), 'build', 'Release', 'vrouter_tap.node');
  if (!existsSync(file)) throw new Error(`the TAP addon is not built (${file} is missing): run \`npm ci\` (or \`npm run install\`) in the checkout`);
  addon = createRequire(import.meta.url)(file) as { Tap: new (name: string) => NativeTap };
  return addon;
}

export class TapPort implements Port {
  private tap: NativeTap;
  private rx?: (frames: Buffer[]) => void;
  constructor(readonly device: string) {
    this.tap = new (loadAddon().Tap)(device);
    this.tap.start(frames => this.rx?.(frames));
  }
  send(frame: Buffer, len?: number): void { this.tap.write(frame, len); }
  onReceive(fn: (f: Buffer) => void): void { this.rx = frames => { for (const f of frames) fn(f); }; }
  /** Everything readable at once: the PFE runs a batch through its stages together. */
  onReceiveBatch(fn: (frames: Buffer[]) => void): void { this.rx = fn; }
  close(): void { this.tap.close(); }
  get stats() { return this.tap.stats; }
}
