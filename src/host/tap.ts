/** A PFE port backed by a Linux TAP device (our N-API addon in native/tap.cc). */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import type { Port } from '../pfe/types.js';

export interface NativeTap {
  start(cb: (frames: Buffer[]) => void): void; write(b: Buffer, len?: number): boolean; close(): void; readonly name: string;
  /** write, but a TCP segment that GRO may merge with the next ones is held: 2 held (flush() before the turn ends), 1 written, 0 dropped */
  writeGro(b: Buffer, len?: number): 0 | 1 | 2;
  /** writes what writeGro holds */
  flush(): boolean;
  /**
   * frames read and written; `offload`: the TAP takes large TCP segments and partial checksums
   * (IFF_VNET_HDR), `gso` of them read, `bad` reads dropped; `gro`: large segments written, made of
   * `groSegments` frames; `groFailed` large segments the kernel refused (after EINVAL, ENOMEM or ENOBUFS written frame by frame, else dropped), `groOff` after an EINVAL
   */
  readonly stats: { rx: number; tx: number; txDrops: number; batches: number; offload: boolean; gso: number; bad: number; gro: number; groSegments: number; groFailed: number; groOff: boolean };
}
export interface TapAddon {
  Tap: new (name: string, tun?: boolean, offload?: boolean) => NativeTap;
  /** the frames a read with this 10-byte virtio-net header gives the PFE (null: dropped); for tests */
  finish(header: Buffer, frame: Buffer): Buffer[] | null;
  /** what GRO on write hands the kernel for these frames written in one turn: [virtio-net header, frame] pairs; for tests */
  coalesce(frames: Buffer[]): [Buffer, Buffer][];
}
let addon: TapAddon | undefined;

export function loadAddon(): TapAddon {
  if (addon) return addon;
  const file = join(repoRoot(), 'build', 'Release', 'vrouter_tap.node');
  if (!existsSync(file)) throw new Error(`the TAP addon is not built (${file} is missing): run \`npm ci\` (or \`npm run install\`) in the checkout`);
  addon = createRequire(import.meta.url)(file) as TapAddon;
  return addon;
}

/**
 * A router port on a TAP. With offloads (the default; VROUTER_TAP_OFFLOAD=0 turns them off) the TAP
 * is opened with IFF_VNET_HDR and offers checksum and TCP segmentation offload, so a host's large TCP
 * segments reach it whole, one read each, and the addon cuts them into the frames the PFE gets
 * (native/tap.cc): JavaScript sees the same frames either way, fewer reads for them.
 *
 * With GRO on write as well (`gro`, the default with offloads; VROUTER_TAP_GRO=0 turns it off), the consecutive TCP segments of one flow that
 * the PFE writes in one turn go to the kernel as one large segment (native/tap.cc, `Gro`): the addon
 * holds them, and a microtask at the end of the turn writes what it holds.
 */
export class TapPort implements Port {
  private tap: NativeTap;
  private rx?: (frames: Buffer[]) => void;
  private flushQueued = false;
  private readonly flushNow = () => { this.flushQueued = false; this.tap.flush(); };
  /** `native`: the device's stand-in (the router's warm-up, src/router/warmup.ts), instead of opening `device` */
  constructor(readonly device: string, offload = process.env.VROUTER_TAP_OFFLOAD !== '0', readonly gro = offload && process.env.VROUTER_TAP_GRO !== '0', native?: NativeTap) {
    this.tap = native ?? new (loadAddon().Tap)(device, false, offload);
    this.tap.start(frames => this.rx?.(frames));
  }
  send(frame: Buffer, len?: number): void {
    if (!this.gro) { this.tap.write(frame, len); return; }
    if (this.tap.writeGro(frame, len) === 2 && !this.flushQueued) { this.flushQueued = true; queueMicrotask(this.flushNow); }
  }
  onReceive(fn: (f: Buffer) => void): void { this.rx = frames => { for (const f of frames) fn(f); }; }
  /** Everything readable at once: the PFE runs a batch through its stages together. */
  onReceiveBatch(fn: (frames: Buffer[]) => void): void { this.rx = fn; }
  close(): void { this.tap.close(); }
  get stats() { return this.tap.stats; }
}
