/**
 * The packet forwarding engine: its state (interfaces, routes, filters, ARP, the SA maps) and the
 * graph of stages a packet crosses (src/pfe/stages/, in the shape of VPP's node graph):
 *
 *   ethernet-input -> arp-input
 *                  -> ip4-input -> ip4-filter-in -> ip4-lookup -> ip4-rewrite -> interface-output
 *                                       |               |             |
 *                                       +-> ipsec-out <-+-------------+   (ES PIC: encrypt)
 *                     ipsec-in (ES PIC: decrypt) <- ESP/AH for the router
 *                     ip4-local (reassembly, listeners, ICMP echo)
 *   filter-in, lookup, rewrite, ipsec-out, ip4-local -> icmp-error (a dropped packet's ICMP error,
 *                                                       made by the router: back in at ip4-lookup)
 *
 * Each stage is a small file that declares its next nodes and its drop reasons and sees the PFE
 * through a narrow context (context.ts); every drop is counted with its reason: per stage, per
 * interface and router-wide. Configuration arrives compiled (compile.ts) and is installed here.
 */
import { checksum } from '../net/checksum.js';
import { createHash } from 'node:crypto';
import type { RouterModel } from '../config/model.js';
import { buildEth, buildArp, ETH_ARP, BROADCAST } from '../net/ethernet.js';
import { PROTO_AH, PROTO_ESP } from '../net/ipv4.js';
import { Reassembler } from '../net/frag.js';
import { onSubnet } from '../net/ip.js';
import { RouteTable, Route, sameRoute } from './routes.js';
import { CompiledFilter } from './filter.js';
import { IfCounters } from './counters.js';
import { Graph, Pkt } from './graph.js';
import type { IfdState, IflState } from './state.js';
import type { Port, IpsecEngine, IpsecSink } from './types.js';
import type { PfeContext, Tap, LocalListener, UdpListener, DynamicTunnel } from './context.js';
import { compilePfe, CompiledPfe, sourceFor } from './compile.js';
import { Stages, buildStages } from './stages/index.js';
import { TraceRequests } from './trace.js';
import { ARP_TRIES, ARP_RETRY_MS, DEFAULT_MTU } from './constants.js';

export type { IfdState, IflState, Tap, LocalListener, UdpListener };
export { ARP_TIMEOUT_MS, ARP_RETRY_MS, ARP_TRIES, ARP_QUEUE, DEFAULT_MTU } from './constants.js';

export class Pfe implements IpsecSink, PfeContext {
  readonly ifds = new Map<string, IfdState>();
  readonly ifls = new Map<string, IflState>();
  routes = new RouteTable();
  hiddenRoutes: Route[] = [];
  /** routes rpd chose (BGP), kept across commits; rpd sets and removes them one prefix at a time */
  private rpdRoutes = new Map<number, Route>();
  setRpdRoute(p: { addr: number; len: number }, r: Route | undefined): void {
    const k = p.addr * 64 + p.len;
    const old = this.rpdRoutes.get(k);
    if (old && r && sameRoute(old, r)) return; // as it was (a commit): the forwarding table untouched
    if (old) { this.rpdRoutes.delete(k); this.routes.remove(old.prefix, old.protocol); }
    if (r) { this.rpdRoutes.set(k, r); this.routes.add(r); }
  }
  filters = new Map<string, CompiledFilter>();
  readonly drops = new Map<string, number>();
  /** Packets for the router itself (after reassembly) and packets it made: `show pfe statistics traffic`. */
  readonly local = { in: 0, out: 0 };
  readonly localAddrs = new Map<number, string>();
  readonly saToIfl = new Map<string, string>();
  readonly inboundSa = new Map<string, string>();
  readonly listeners = new Set<LocalListener>();
  readonly udp = new Map<number, UdpListener>();
  readonly taps = new Set<Tap>();
  readonly reasm = new Reassembler();
  readonly graph = new Graph();
  /** the stages packets enter the graph at from outside it */
  private readonly stages: Stages;
  readonly traces = new TraceRequests();
  private ipId = 1;
  model?: RouterModel;
  /** Packets whose processing threw (a bug, never a crash): counted, and the first stacks kept for `show log messages`. */
  onInternalError?: (e: unknown) => void;
  /** Transport-mode SAs for BGP peers, processed by the router itself (the Routing Engine), not an ES PIC. */
  readonly transportByPeer = new Map<number, string>();
  /**
   * es- interfaces whose SA is dynamic: whether kmd has installed an outbound SA, and the packets that
   * wait (a bounded queue) while it negotiates one.
   */
  readonly dynamic = new Map<string, DynamicTunnel>();
  /** kmd: traffic wants a dynamic SA that has none */
  onAcquire?: (ifl: string) => void;
  /**
   * The Routing Engine's own IP stack (a TUN device into a kernel of its own, in a real lab): TCP and
   * UDP for the router that no service of the PFE takes go there; what it sends comes back through
   * `originate`. Absent (in-memory labs): a host's answers (port unreachable, nothing for TCP).
   */
  hostStack?: (pkt: Buffer) => void;
  /** kmd: ESP or AH for one of our addresses with an SPI no SA has (the peer holds SAs we lost) */
  onBadSpi?: (proto: number, spi: number, src: number, dst: number) => void;

  constructor(readonly name: string, interfaceNames: string[], readonly ipsec?: IpsecEngine, readonly now: () => number = Date.now, readonly reIpsec?: IpsecEngine) {
    for (const n of [...interfaceNames, 'lo0']) this.ensureIfd(n);
    this.graph.countDrop = (reason, ifl) => this.countDrop(reason, ifl);
    this.graph.onTrace = lines => this.traces.finish(lines);
    this.stages = buildStages(this.graph, this);
    this.reasm.onDrop = (reason, n) => { for (let i = 0; i < n; i++) this.countDrop(reason); };
    ipsec?.setSink(this);
    reIpsec?.setSink({
      outer: (_ifl, pkt) => this.guard(() => this.fromRe(pkt)),
      inner: (_ifl, pkt) => this.guard(() => { this.graph.enqueue(this.stages.local, this.packetOf(pkt, undefined)); this.graph.dispatch(); }),
    });
  }

  private ensureIfd(name: string): IfdState {
    let d = this.ifds.get(name);
    if (!d) {
      const kind = name.startsWith('fe-') ? 'fe' : name.startsWith('es-') ? 'es' : 'lo';
      const h = createHash('sha256').update(`${this.name}/${name}`).digest();
      const mac = Buffer.from([0x02, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!]);
      d = { name, kind, mac, counters: new IfCounters(), adminUp: true, present: true, arp: new Map(), pending: new Map() };
      this.ifds.set(name, d);
    }
    return d;
  }

  /** Connect a physical interface to a port (a wire end or a TAP). */
  attach(ifd: string, port: Port): void {
    const d = this.ifds.get(ifd);
    if (!d || d.kind !== 'fe') throw new Error(`${this.name}: no Ethernet interface ${ifd}`);
    d.port = port;
    if (port.onReceiveBatch) port.onReceiveBatch(frames => this.receiveFrames(d, frames));
    else port.onReceive(f => this.receiveFrames(d, [f]));
  }
  addListener(l: LocalListener): () => void { this.listeners.add(l); return () => this.listeners.delete(l); }
  /** Register the router's service on a UDP port (one per port). */
  listenUdp(port: number, l: UdpListener): () => void {
    if (this.udp.has(port)) throw new Error(`UDP port ${port} is already in use`);
    this.udp.set(port, l);
    return () => { if (this.udp.get(port) === l) this.udp.delete(port); };
  }
  addTap(t: Tap): () => void { this.taps.add(t); return () => this.taps.delete(t); }
  countDrop(reason: string, ifl?: IflState): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    ifl?.counters.drop(reason);
  }
  isLocal(ip: number): boolean { return this.localAddrs.has(ip); }

  /** A packet must never take the router down: whatever throws while handling one is a counted drop. */
  guard(fn: () => void): void {
    try { fn(); } catch (e) { this.countDrop('internal-error'); this.onInternalError?.(e); }
  }

  // ---------------------------------------------------------------- configuration

  /** Apply a committed model without disturbing what it does not change (ARP, counters, SA state). */
  apply(model: RouterModel): void {
    this.model = model;
    this.install(compilePfe(model, {
      ifd: n => this.ensureIfd(n), allIfds: [...this.ifds.values()], oldIfls: new Map(this.ifls), oldFilters: this.filters, rpdRoutes: this.rpdRoutes.values(),
    }));
  }

  /** Put compiled configuration in place: the ES PICs get their tunnels, kmd's SAs and waiting packets stay where their tunnel does. */
  install(c: CompiledPfe): void {
    this.esMtuCache.clear();
    for (const [d, set] of c.ifds) { d.adminUp = set.adminUp; d.description = set.description; d.mtu = set.mtu; d.unit0 = set.unit0; }
    this.ifls.clear();
    for (const [k, l] of c.ifls) this.ifls.set(k, l);
    this.filters = c.filters;
    this.localAddrs.clear();
    for (const [k, v] of c.localAddrs) this.localAddrs.set(k, v);
    this.routes = c.routes;
    this.hiddenRoutes = c.hiddenRoutes;
    this.saToIfl.clear();
    for (const [k, v] of c.saToIfl) this.saToIfl.set(k, v);
    this.inboundSa.clear();
    for (const [k, v] of c.inboundSa) this.inboundSa.set(k, v);
    this.ipsec?.configure(c.tunnels);
    // dynamic SAs: kmd installs them; their readiness survives commits that keep the tunnel
    const dyn = new Set(c.tunnels.filter(t => t.sa.dynamic).map(t => t.ifl));
    for (const k of [...this.dynamic.keys()]) if (!dyn.has(k)) { this.dropWaiting(k, 'ipsec-sa-removed'); this.dynamic.delete(k); }
    for (const k of dyn) if (!this.dynamic.has(k)) this.dynamic.set(k, { ready: false, queue: [], asked: false });
    for (const [k, v] of this.dynamicInbound) if (this.ifls.get(v)?.ipsecSa) this.inboundSa.set(k, v);
    this.transportByPeer.clear();
    for (const [k, v] of c.transportByPeer) this.transportByPeer.set(k, v);
    for (const [k, v] of c.transportInbound) this.inboundSa.set(k, v);
    this.reIpsec?.configure(c.transport);
    // forget ARP entries that no longer sit on a subnet of their interface; announce our addresses
    for (const d of this.ifds.values()) {
      if (d.kind !== 'fe') continue;
      const l = d.unit0;
      for (const ip of d.arp.keys()) if (!l || !onSubnet(l.addresses, ip)) d.arp.delete(ip);
      if (l && l.up && d.adminUp) for (const a of l.addresses) this.sendArp(d, 1, a.local, BROADCAST, a.local); // gratuitous ARP
    }
  }

  // ---------------------------------------------------------------- dynamic SAs (kmd)

  /** SPIs kmd installed (`proto/spi/dst` -> es- ifl): kept across commits. */
  private dynamicInbound = new Map<string, string>();
  addInboundSpi(ifl: string, proto: number, spi: number, dst: number): void { const k = `${proto}/${spi}/${dst}`; this.dynamicInbound.set(k, ifl); this.inboundSa.set(k, ifl); }
  removeInboundSpi(proto: number, spi: number, dst: number): void { const k = `${proto}/${spi}/${dst}`; this.dynamicInbound.delete(k); this.inboundSa.delete(k); }
  /** The es- MTU depends on the SA: recomputed after kmd installs one. */
  invalidateEsMtu(ifl: string): void { this.esMtuCache.delete(ifl); }

  /** A dynamic SA's tunnel became ready (its waiting packets go) or its negotiation failed (they are dropped). */
  tunnelReady(ifl: string, ready: boolean, why?: string): void {
    const d = this.dynamic.get(ifl);
    if (!d) return;
    d.ready = ready; d.asked = false;
    if (!ready) { this.dropWaiting(ifl, 'ipsec-sa-not-negotiated'); void why; return; }
    const q = d.queue; d.queue = [];
    const es = this.ifls.get(ifl);
    this.guard(() => {
      for (const pkt of q) { const p = this.packetOf(pkt, undefined); p.out = es; this.graph.enqueue(this.stages.ipsecOut, p); }
      this.graph.dispatch();
    });
  }
  private dropWaiting(ifl: string, reason: string): void {
    const d = this.dynamic.get(ifl);
    if (!d) return;
    for (let i = 0; i < d.queue.length; i++) this.countDrop(reason, this.ifls.get(ifl));
    d.queue = [];
  }

  /**
   * ESP that came in UDP (RFC 3948: UDP port 4500, not starting with the non-ESP marker): the UDP
   * header goes and the packet goes on as the ESP packet it carries, to its SA by SPI.
   */
  udpEsp(ip: Buffer, esp: Buffer, rx?: IflState): void {
    const ihl = (ip[0]! & 15) * 4;
    const b = Buffer.allocUnsafe(14 + ihl + esp.length);
    ip.copy(b, 14, 0, ihl); esp.copy(b, 14 + ihl);
    b[14 + 9] = PROTO_ESP;
    b.writeUInt16BE(ihl + esp.length, 14 + 2);
    b.writeUInt16BE(0, 14 + 10);
    b.writeUInt16BE(checksum(b, 14, 14 + ihl), 14 + 10);
    this.graph.enqueue(this.stages.ipsecIn, this.graph.packet(b, 14, undefined, rx));
    this.graph.dispatch();
  }

  // ---------------------------------------------------------------- timers

  /** Housekeeping: ARP retries and aging, reassembly timeouts. Call a few times a second. */
  tick(): void {
    const now = this.now();
    for (const d of this.ifds.values()) {
      for (const [ip, e] of d.arp) if (e.expires <= now) d.arp.delete(ip);
      for (const [ip, p] of d.pending) {
        if (p.next > now) continue;
        if (p.tries >= ARP_TRIES) {
          d.pending.delete(ip);
          for (const pkt of p.pkts) this.guard(() => this.stages.rewrite.unresolved(pkt, d.unit0));
          continue;
        }
        p.tries++; p.next = now + ARP_RETRY_MS;
        const src = d.unit0 && onSubnet(d.unit0.addresses, ip)?.local;
        if (src !== undefined) this.sendArp(d, 1, src, BROADCAST, ip);
      }
    }
    this.reasm.expire(now);
    this.graph.dispatch();
  }

  // ---------------------------------------------------------------- into the graph

  /** A batch of frames from one port: each through the graph, together. */
  private receiveFrames(d: IfdState, frames: Buffer[]): void {
    this.guard(() => {
      if (!d.adminUp) return;
      const eth = this.stages.ethernet;
      for (const f of frames) this.graph.enqueue(eth, this.graph.packet(f, 14, d));
      this.graph.dispatch();
    });
  }

  /** A packet context for an IPv4 packet at offset 0 of `pkt`, moved behind 14 bytes of headroom for its Ethernet header. */
  packetOf(pkt: Buffer, rx: IflState | undefined, headroom = false): Pkt {
    if (headroom) return this.graph.packet(pkt, 14, undefined, rx);
    const b = Buffer.allocUnsafe(14 + pkt.length);
    pkt.copy(b, 14);
    return this.graph.packet(b, 14, undefined, rx);
  }

  sendArp(d: IfdState, op: 1 | 2, spa: number, dstMac: Buffer, tpa: number, tha: Buffer = Buffer.alloc(6)): void {
    this.sendFrame(d, buildEth(dstMac, d.mac, ETH_ARP, buildArp({ op, sha: d.mac, spa, tha, tpa })));
  }
  /** A frame the router built (ARP): straight to the port. */
  sendFrame(d: IfdState, frame: Buffer): void {
    if (!d.port || !d.adminUp) { d.counters.drop('no-link'); return; }
    d.counters.tx(frame.length);
    for (const t of this.taps) t(d.name, 'out', frame, 'eth');
    d.port.send(frame);
  }

  /** The MTU of an es- interface: the wire MTU toward the tunnel end less the SA overhead (cached until the next commit). */
  esMtu(es: IflState): number {
    const cached = this.esMtuCache.get(es.name);
    if (cached !== undefined) return cached;
    const m = this.computeEsMtu(es);
    this.esMtuCache.set(es.name, m);
    return m;
  }
  private esMtuCache = new Map<string, number>();
  private computeEsMtu(es: IflState): number {
    let wire = DEFAULT_MTU;
    const r = es.tunnel ? this.routes.lookup(es.tunnel.destination) : undefined;
    if (r && 'ifl' in r.nh) wire = this.ifls.get(r.nh.ifl)?.mtu ?? DEFAULT_MTU;
    if (!this.ipsec) return es.mtu ?? wire;
    let m = wire;
    while (m > 68 && m + this.ipsec.overhead(es.name, m) > wire) m--;
    return Math.min(m, es.mtu ?? m);
  }

  // ---------------------------------------------------------------- from the ES PIC (IpsecSink)

  /** Inside `batch`: the ES PIC's results are enqueued, and dispatched together when it ends. */
  private holding = 0;
  batch(fn: () => void): void {
    this.holding++;
    try { fn(); } finally { this.holding--; }
    if (!this.holding) this.guard(() => this.graph.dispatch());
  }

  /** A packet sealed by the ES PIC: routed toward the tunnel end (no TTL change: the router made it). */
  outer(ifl: string, pkt: Buffer, trace = 0, headroom = false): void {
    this.guard(() => {
      const p = this.packetOf(pkt, undefined, headroom);
      p.local = true;
      p.via = this.ifls.get(ifl);
      this.traces.resume(p, trace, `ES PIC sealed it for ${ifl}: ${pkt.length - (headroom ? 14 : 0)} bytes`);
      this.graph.enqueue(this.stages.lookup, p);
      if (!this.holding) this.graph.dispatch();
    });
  }
  /** A packet decrypted and verified by the ES PIC: it enters the PFE on the es- interface. */
  inner(ifl: string, pkt: Buffer, trace = 0, headroom = false): void {
    this.guard(() => {
      const l = this.ifls.get(ifl);
      if (!l) { this.countDrop('ipsec-no-interface'); return; }
      const p = this.packetOf(pkt, l, headroom);
      l.ifd.counters.rx(p.buf.length - 14);
      if (this.taps.size) for (const t of this.taps) t(l.ifd.name, 'in', p.buf.subarray(14), 'ip');
      if (!this.traces.resume(p, trace, `ES PIC decrypted it on ${ifl}`)) this.traces.maybeStart(p, l.ifd.name);
      this.graph.enqueue(this.stages.ip4Input, p);
      if (!this.holding) this.graph.dispatch();
    });
  }
  /** From the Routing Engine's own transport SAs: out toward the peer. */
  private fromRe(pkt: Buffer): void {
    const p = this.packetOf(pkt, undefined);
    p.local = true;
    this.graph.enqueue(this.stages.lookup, p);
    this.graph.dispatch();
  }

  // ---------------------------------------------------------------- the router's own stack

  nextId(): number { this.ipId = (this.ipId + 1) & 0xffff; return this.ipId; }

  /** Send a packet the router itself made (ICMP, CLI ping, IKE). */
  originate(pkt: Buffer): void {
    this.local.out++;
    const dst = pkt.readUInt32BE(16);
    const t = this.reIpsec && this.transportByPeer.get(dst);
    if (t && pkt[9] !== PROTO_ESP && pkt[9] !== PROTO_AH && this.localAddrs.has(pkt.readUInt32BE(12))) { this.reIpsec!.encrypt(t, pkt); return; }
    this.guard(() => {
      const p = this.packetOf(pkt, undefined);
      p.local = true;
      this.traces.maybeStartLocal(p);
      this.graph.enqueue(this.stages.lookup, p);
      this.graph.dispatch();
    });
  }

  /** The address the router uses as source toward `dst`: the outgoing interface's first address. */
  sourceFor(dst: number): number | undefined { return sourceFor(dst, this.routes, this.ifls, this.localAddrs); }
}
