/**
 * The router's start-up warm-up of its packet path (issue 27; docs/performance.md, "The warm-up").
 *
 * V8 compiles a function for the code and types it has seen run, and that code belongs to the
 * function, not to the objects it ran on. A router that has forwarded nothing yet runs its PFE cold:
 * every stage interpreted or baseline code, and a ping then costs several times what it costs once
 * traffic has flowed. So at start-up, before it reports ready, the router runs traffic between two
 * throw-away PFEs of its own code, in the chapter's Figure 11 shape (host - gateway - ES PIC tunnel -
 * gateway - host) with throw-away SAs and keys, through real TapPorts on stand-in devices and its own
 * ES PIC classes in their `local` form (the worker's turn in this thread), so that V8's code fits the
 * objects of the real path. The router's own PFE, interfaces, routes, SAs and counters take no part:
 * `show` output only ever counts what the user sent. The worker ES PIC warms itself the same way in
 * its self-test (pics/es/selftest.ts).
 *
 * It runs a burst at a time (20 packets, well under a millisecond once warm), each after the event loop
 * has served whatever real work is waiting, and stops after `packets` or `budgetMs`, whichever comes
 * first, when `signal` aborts, or when a burst does not come back within 3 s (it waits on the hosts'
 * arrivals, never polling); VROUTER_WARMUP=0 turns it off.
 */
import { Chassis } from '../../chassis/chassis.js';
import { loadAndCheck } from '../config/index.js';
import { Pfe } from '../pfe/pfe.js';
import type { Port } from '../pfe/types.js';
import { EsPicSet } from '../../pics/es/es-pic.js';
import { TapPort, NativeTap, TapAddon, loadAddon } from '../host/tap.js';
import { SimHost } from '../lab/host.js';
import { PROTO_ICMP, PROTO_TCP } from '../net/ipv4.js';
import { buildIcmp, buildTcp, ICMP_ECHO } from '../net/l4.js';

/** One gateway of Figure 11, with keys of its own (never a lab's). */
function gateway(side: 'a' | 'b'): string {
  const [me, peer, lan, far, transit, nh, tsrc, tdst, es, esPeer] = side === 'a'
    ? ['10.5.5.5', '10.6.6.6', '10.1.1', '10.2.2', '10.0.0.1', '10.0.0.2', '10.5.5.5', '10.6.6.6', '10.1.1.8', '10.1.1.9']
    : ['10.6.6.6', '10.5.5.5', '10.2.2', '10.1.1', '10.0.0.2', '10.0.0.1', '10.6.6.6', '10.5.5.5', '10.1.1.9', '10.1.1.8'];
  return `system { host-name warm-up-${side}; }
interfaces {
    fe-0/0/0 { unit 0 { family inet { address ${transit}/30; } } }
    fe-0/0/1 { unit 0 { family inet { filter { input encrypt; } address ${lan}.254/24; } } }
    es-0/1/0 { unit 0 { tunnel { source ${tsrc}; destination ${tdst}; } family inet { filter { input decrypt; } ipsec-sa warm-up; address ${es}/32 { destination ${esPeer}; } } } }
    lo0 { unit 0 { family inet { address ${me}/32; } } }
}
routing-options { static { route ${peer}/32 next-hop ${nh}; route ${far}.0/24 next-hop ${esPeer}; } }
security { ipsec { security-association warm-up { manual { direction bidirectional { protocol esp; spi 4242;
    authentication { algorithm hmac-md5-96; key ascii-text w4rm-up-0nly-md5; }
    encryption { algorithm 3des-cbc; key ascii-text w4rm-up-0nly-k3y-3des-24; } } } } } }
firewall {
    filter encrypt { term t { from { source-address ${lan}.0/24; destination-address ${far}.0/24; } then ipsec-sa warm-up; } term default { then accept; } }
    filter decrypt { term t { from { source-address ${far}.0/24; destination-address ${lan}.0/24; } then accept; } }
}
`;
}

/**
 * The warm-up's stand-in for a TAP device, under a real TapPort: frames the router writes go to `out`,
 * and frames given to `receive` reach the router in batches, as Buffers made by the TAP addon the way
 * its reads make them (V8 tells those from Buffers made in JavaScript, so code warmed on the one would
 * be thrown away at the first of the other).
 */
class StandInTap implements NativeTap {
  readonly name = 'warm-up';
  readonly stats = { rx: 0, tx: 0, txDrops: 0, batches: 0, offload: true, gso: 0, bad: 0, gro: 0, groSegments: 0, groFailed: 0, groOff: false };
  out?: (f: Buffer) => void;
  private cb?: (frames: Buffer[]) => void;
  private queue: Buffer[] = [];
  private scheduled = false;
  constructor(private readonly make: TapAddon['finish'] | undefined, private readonly guard: (fn: () => void) => void) {}
  start(cb: (frames: Buffer[]) => void): void { this.cb = cb; }
  write(b: Buffer, len?: number): boolean { this.stats.tx++; this.out?.(Buffer.from(len === undefined ? b : b.subarray(0, len))); return true; }
  writeGro(b: Buffer, len?: number): 0 | 1 | 2 { this.write(b, len); return 1; }
  flush(): boolean { return true; }
  close(): void { this.cb = undefined; }
  /** a frame toward the router: read in the next turn, with whatever else came */
  receive(f: Buffer): void {
    this.queue.push(this.make?.(NO_OFFLOAD, f)?.[0] ?? Buffer.from(f));
    if (!this.scheduled) { this.scheduled = true; setImmediate(() => this.read()); }
  }
  private read(): void {
    this.scheduled = false;
    // the batch as the addon's reads make it: an array with holey elements (a packed one has another
    // map, and code warmed on it was thrown away at the first real read: docs/performance.md, 2026-12-08)
    const q = new Array<Buffer>(this.queue.length);
    for (let i = 0; i < q.length; i++) q[i] = this.queue[i]!;
    this.queue = [];
    this.stats.rx += q.length; this.stats.batches++;
    this.guard(() => this.cb?.(q));
  }
}
/** a virtio-net header that offloads nothing: the addon hands the frame over as it is */
const NO_OFFLOAD = Buffer.alloc(10);
/** A host's port on a stand-in TAP (the host's side of the device). */
class HostPort implements Port {
  private rx?: (f: Buffer) => void;
  constructor(private readonly tap: StandInTap, guard: (fn: () => void) => void) { tap.out = f => setImmediate(() => guard(() => this.rx?.(f))); }
  send(frame: Buffer, len?: number): void { this.tap.receive(len === undefined ? frame : frame.subarray(0, len)); }
  onReceive(fn: (f: Buffer) => void): void { this.rx = fn; }
}

export interface WarmUpOptions { packets?: number; budgetMs?: number; now?: () => number; signal?: AbortSignal }
export interface WarmUpResult { ok: boolean; failure?: string; packets: number; ms: number }

const ip = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);

/** Run the warm-up; resolves when it is done (never rejects). */
export async function warmUp(o: WarmUpOptions = {}): Promise<WarmUpResult> {
  const now = o.now ?? (() => performance.now());
  const t0 = now(), want = o.packets ?? 3000, budget = o.budgetMs ?? 400;
  let sent = 0;
  const result = (failure?: string): WarmUpResult => ({ ok: !failure, ...(failure ? { failure } : {}), packets: sent, ms: now() - t0 });
  if (want <= 0) return result();
  const pfes: Pfe[] = [], pics: EsPicSet[] = [], closers: Array<() => Promise<void>> = [];
  try {
    const hostA = new SimHost('warm-up-host-a', '10.1.1.1', 24, '10.1.1.254');
    const hostB = new SimHost('warm-up-host-b', '10.2.2.2', 24, '10.2.2.254');
    for (const side of ['a', 'b'] as const) {
      const chassis = new Chassis('m10');
      const c = loadAndCheck(gateway(side), { file: `warm-up-${side}`, chassis });
      if (!c.ok) return result(`its configuration does not commit: ${c.output}`);
      // the ES PIC as the router has it (EsPicSet, EsPic, its rings), with the worker's turn in this thread
      const set = new EsPicSet(chassis.esPics().map(p => `${p.fpc}/${p.pic}`), { local: true });
      const pfe = new Pfe(`warm-up-${side}`, chassis.interfaceNames(), set);
      pfe.apply(c.model);
      pfes.push(pfe);
      pics.push(set);
      closers.push(() => set.close());
    }
    const [gwA, gwB] = pfes as [Pfe, Pfe];
    // whatever the hosts receive wakes the wait below; whatever throws in a callback is the warm-up's failure, never the router's
    let wake: (() => void) | undefined, fault: string | undefined;
    const poke = () => { const w = wake; wake = undefined; w?.(); };
    const guard = (fn: () => void) => { try { fn(); } catch (e) { fault ??= `threw: ${(e as Error).message}`; } poke(); };
    o.signal?.addEventListener('abort', poke);
    // each gateway port a real TapPort (the router's own defaults) on a stand-in device; the transit link joins two of them
    let make: TapAddon['finish'] | undefined;
    try { make = loadAddon().finish; } catch { make = undefined; }   // not built: frames made in JavaScript
    const tap = (pfe: Pfe, ifd: string) => { const t = new StandInTap(make, guard); pfe.attach(ifd, new TapPort(`warm-up-${ifd}`, undefined, undefined, t)); return t; };
    hostA.attach(new HostPort(tap(gwA, 'fe-0/0/1'), guard));
    hostB.attach(new HostPort(tap(gwB, 'fe-0/0/1'), guard));
    const ta = tap(gwA, 'fe-0/0/0'), tb = tap(gwB, 'fe-0/0/0');
    ta.out = f => tb.receive(f); tb.out = f => ta.receive(f);
    const picFault = () => [...pics.values()].flatMap(set => [...set.pics.values()]).map(p => p.localFault).find(Boolean);
    const A = ip('10.1.1.1'), B = ip('10.2.2.2');
    const data = Buffer.alloc(1360, 0x5a), echo = Buffer.alloc(56, 0xa5);
    let seq = 0;
    // a burst: full-size TCP segments host-a -> host-b, their ACKs back, and pings (host-b answers them)
    const burst = () => {
      for (let i = 0; i < 8; i++) hostA.sendIp({ protocol: PROTO_TCP, src: A, dst: B, ttl: 64, df: true, id: seq++ & 0xffff }, buildTcp({ src: A, dst: B }, { srcPort: 40000, dstPort: 5201, seq: seq * 1360, ack: 1, flags: 0x18, window: 512, data }));
      for (let i = 0; i < 4; i++) hostB.sendIp({ protocol: PROTO_TCP, src: B, dst: A, ttl: 64, df: true, id: seq++ & 0xffff }, buildTcp({ src: B, dst: A }, { srcPort: 5201, dstPort: 40000, seq: 1, ack: seq * 1360, flags: 0x10, window: 512, data: Buffer.alloc(0) }));
      for (let i = 0; i < 4; i++) hostA.sendIp({ protocol: PROTO_ICMP, src: A, dst: B, ttl: 64, id: seq++ & 0xffff }, buildIcmp(ICMP_ECHO, 0, (0x7777 << 16) | (seq & 0xffff), echo));
      return { toB: 12, toA: 8 };   // host-b: 8 segments and 4 pings; host-a: 4 ACKs and 4 replies
    };
    while (sent < want && now() - t0 < budget && !o.signal?.aborted) {
      hostA.received.length = hostB.received.length = 0;
      const n = burst();
      // the burst crosses both PFEs and both PICs a few turns later; each arrival wakes this wait
      let late = false;
      const timer = setTimeout(() => { late = true; poke(); }, 3000);
      while ((hostB.received.length < n.toB || hostA.received.length < n.toA) && !late && !fault && !o.signal?.aborted) await new Promise<void>(r => { wake = r; });
      clearTimeout(timer);
      fault ??= picFault();
      if (fault) return result(fault);
      if (o.signal?.aborted) break;
      if (late) return result(`a burst did not come through: ${hostB.received.length} of ${n.toB} packets reached host-b, ${hostA.received.length} of ${n.toA} host-a`);
      sent += n.toB + n.toA;
      await new Promise<void>(r => setImmediate(r));   // real work first
    }
    return result();
  } catch (e) {
    return result(`threw: ${(e as Error).message}`);
  } finally {
    for (const c of closers) await c();
  }
}
