/**
 * The packet forwarding engine: Ethernet in, input filter, route lookup, output filter, ARP and
 * Ethernet out; ICMP for the router's own addresses and errors; es- interfaces hand packets to the
 * ES PIC and take them back. Every drop is counted with its reason, per interface and router-wide.
 */
import { createHash } from 'node:crypto';
import type { RouterModel, AddressModel } from '../config/model.js';
import { parseEth, buildEth, parseArp, buildArp, ETH_ARP, ETH_IPV4, BROADCAST } from '../net/ethernet.js';
import { parseIpv4, buildIpv4, ipv4ChecksumOk, PROTO_AH, PROTO_ESP, PROTO_ICMP, PROTO_UDP, PROTO_TCP } from '../net/ipv4.js';
import { buildIcmp, parseIcmp, ICMP_ECHO, ICMP_ECHO_REPLY, ICMP_UNREACH, ICMP_TIME_EXCEEDED, UNREACH_NET, UNREACH_HOST, UNREACH_NEEDFRAG, UNREACH_ADMIN, UNREACH_PORT, UNREACH_PROTO } from '../net/l4.js';
import { fragment, Reassembler } from '../net/frag.js';
import { ipToInt, onSubnet } from '../net/ip.js';
import { RouteTable, Route, NextHop } from './routes.js';
import { CompiledFilter, packetKey } from './filter.js';
import { IfCounters } from './counters.js';
import type { Port, IpsecEngine, IpsecSink, EsTunnelConfig } from './types.js';

const ARP_TIMEOUT_MS = 1200_000;      // JUNOS default ARP aging: 20 minutes
const ARP_RETRY_MS = 1000, ARP_TRIES = 3, ARP_QUEUE = 16;
const DEFAULT_MTU = 1500;

export interface IfdState {
  name: string; kind: 'fe' | 'es' | 'lo'; mac: Buffer; port?: Port; counters: IfCounters; adminUp: boolean; present: boolean;
  arp: Map<number, { mac: Buffer; expires: number }>;
  pending: Map<number, { pkts: Buffer[]; tries: number; next: number }>;
  description?: string; mtu?: number;
}
export interface IflState {
  name: string; ifd: IfdState; unit: number; up: boolean; addresses: AddressModel[];
  inFilter?: string; outFilter?: string; ipsecSa?: string; tunnel?: { source: number; destination: number };
  counters: IfCounters; mtu?: number; description?: string;
}
/** A packet watcher: Ethernet frames of physical ports, IP packets of es- interfaces (which have no frames). */
export type Tap = (ifd: string, dir: 'in' | 'out', data: Buffer, kind: 'eth' | 'ip') => void;
/** Returns true when it consumed the packet (e.g. a CLI ping waiting for its reply). */
export type LocalListener = (pkt: Buffer) => boolean;

export class Pfe implements IpsecSink {
  readonly ifds = new Map<string, IfdState>();
  readonly ifls = new Map<string, IflState>();
  routes = new RouteTable();
  hiddenRoutes: Route[] = [];
  filters = new Map<string, CompiledFilter>();
  readonly drops = new Map<string, number>();
  /** Packets for the router itself (after reassembly) and packets it made: `show pfe statistics traffic`. */
  readonly local = { in: 0, out: 0 };
  private localAddrs = new Map<number, string>();
  private saToIfl = new Map<string, string>();
  private inboundSa = new Map<string, string>();
  private listeners = new Set<LocalListener>();
  private taps = new Set<Tap>();
  private reasm = new Reassembler();
  /** Packets whose processing threw (a bug, never a crash): counted, and the first stack kept for `show log messages`. */
  onInternalError?: (e: unknown) => void;
  private ipId = 1;
  model?: RouterModel;

  /** Transport-mode SAs for BGP peers, processed by the router itself (the Routing Engine), not an ES PIC. */
  private transportByPeer = new Map<number, string>();

  constructor(readonly name: string, interfaceNames: string[], private ipsec?: IpsecEngine, private now: () => number = Date.now, private reIpsec?: IpsecEngine) {
    for (const n of [...interfaceNames, 'lo0']) this.ensureIfd(n);
    this.reasm.onDrop = (reason, n) => { for (let i = 0; i < n; i++) this.countDrop(reason); };
    ipsec?.setSink(this);
    reIpsec?.setSink({
      outer: (_ifl, pkt) => { const r = this.routes.lookup(pkt.readUInt32BE(16)); if (r) this.output(pkt, r); else this.countDrop('no-route'); },
      inner: (_ifl, pkt) => this.deliverLocal(pkt),
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
    port.onReceive(f => this.receiveFrame(d, f));
  }
  addListener(l: LocalListener): () => void { this.listeners.add(l); return () => this.listeners.delete(l); }
  addTap(t: Tap): () => void { this.taps.add(t); return () => this.taps.delete(t); }
  countDrop(reason: string, ifl?: IflState): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    ifl?.counters.drop(reason);
  }
  isLocal(ip: number): boolean { return this.localAddrs.has(ip); }

  // ---------------------------------------------------------------- configuration

  /** Apply a committed model without disturbing what it does not change (ARP, counters, SA state). */
  apply(model: RouterModel): void {
    this.model = model;
    this.esMtuCache.clear();
    const oldIfls = this.ifls;
    const ifls = new Map<string, IflState>();
    for (const d of this.ifds.values()) { d.adminUp = true; d.description = undefined; d.mtu = undefined; }
    for (const im of model.interfaces) {
      const d = this.ensureIfd(im.name);
      d.adminUp = !im.disabled; d.description = im.description; d.mtu = im.mtu;
      for (const u of im.units) {
        const name = `${im.name}.${u.unit}`;
        const prev = oldIfls.get(name);
        ifls.set(name, {
          name, ifd: d, unit: u.unit, up: !u.disabled && !im.disabled, addresses: u.inet?.addresses ?? [],
          inFilter: u.inet?.inputFilter, outFilter: u.inet?.outputFilter, ipsecSa: u.inet?.ipsecSa, tunnel: u.tunnel,
          counters: prev?.counters ?? new IfCounters(), mtu: u.inet?.mtu ?? (im.mtu ? im.mtu - 14 : undefined), description: u.description,
        });
      }
    }
    (this as { ifls: Map<string, IflState> }).ifls.clear();
    for (const [k, v] of ifls) this.ifls.set(k, v);

    const filters = new Map<string, CompiledFilter>();
    for (const [name, f] of model.filters) filters.set(name, new CompiledFilter(f, this.filters.get(name)));
    this.filters = filters;

    this.localAddrs.clear();
    const routes = new RouteTable();
    const usable = (l: IflState) => l.up && l.ifd.adminUp;
    for (const l of this.ifls.values()) {
      const tunnelIfl = l.ifd.kind === 'es';
      for (const a of l.addresses) {
        this.localAddrs.set(a.local, l.name);
        routes.add({ prefix: { addr: a.local, len: 32 }, protocol: 'Local', preference: 0, nh: { kind: 'local', ifl: l.name } });
        if (!usable(l)) continue;
        if (a.destination !== undefined) {
          routes.add({ prefix: { addr: a.destination, len: 32 }, protocol: 'Direct', preference: 0, nh: tunnelIfl ? { kind: 'tunnel', ifl: l.name } : { kind: 'direct', ifl: l.name } });
        } else if (a.len < 32 && l.ifd.kind !== 'lo') {
          routes.add({ prefix: a.prefix, protocol: 'Direct', preference: 0, nh: tunnelIfl ? { kind: 'tunnel', ifl: l.name } : { kind: 'direct', ifl: l.name } });
        }
      }
    }
    this.hiddenRoutes = [];
    for (const sr of model.staticRoutes) {
      const base = { prefix: sr.prefix, protocol: 'Static' as const, preference: 5 };
      if (sr.discard) { routes.add({ ...base, nh: { kind: 'discard' } }); continue; }
      if (sr.reject) { routes.add({ ...base, nh: { kind: 'reject' } }); continue; }
      let nh: NextHop | undefined;
      for (const hop of sr.nextHops) {
        if (/^(fe|es)-/.test(hop)) {
          const ifl = this.ifls.get(hop.includes('.') ? hop : `${hop}.0`);
          if (ifl && usable(ifl)) nh = ifl.ifd.kind === 'es' ? { kind: 'tunnel', ifl: ifl.name } : { kind: 'direct', ifl: ifl.name };
        } else {
          const gw = ipToInt(hop);
          const r = routes.lookup(gw);
          if (r && (r.protocol === 'Direct') && r.nh.kind === 'direct') nh = { kind: 'gateway', ifl: r.nh.ifl, gateway: gw };
          else if (r && r.protocol === 'Direct' && r.nh.kind === 'tunnel') nh = { kind: 'tunnel', ifl: r.nh.ifl };
        }
        if (nh) { routes.add({ ...base, nh, nextHopText: hop }); break; }
      }
      if (!nh) this.hiddenRoutes.push({ ...base, nh: { kind: 'discard' }, nextHopText: sr.nextHops.join(' ') });
    }
    this.routes = routes;

    this.saToIfl.clear();
    this.inboundSa.clear();
    const tunnels: EsTunnelConfig[] = [];
    for (const l of this.ifls.values()) {
      if (l.ifd.kind !== 'es' || !l.ipsecSa || !l.tunnel) continue;
      const sa = model.sas.get(l.ipsecSa);
      if (!sa) continue;
      if (!this.saToIfl.has(sa.name)) this.saToIfl.set(sa.name, l.name);
      const m = /^es-(\d+)\/(\d+)\//.exec(l.name)!;
      tunnels.push({ ifl: l.name, pic: `${m[1]}/${m[2]}`, sa, source: l.tunnel.source, destination: l.tunnel.destination });
      const inb = sa.manual?.inbound;
      if (inb) this.inboundSa.set(`${inb.protocol === 'esp' ? PROTO_ESP : PROTO_AH}/${inb.spi}/${l.tunnel.source}`, l.name);
    }
    this.ipsec?.configure(tunnels);
    // transport-mode SAs named by BGP neighbors: the router's own traffic with that peer
    this.transportByPeer.clear();
    const transport: EsTunnelConfig[] = [];
    for (const b of model.bgp) {
      if (!b.neighbor || !b.ipsecSa) continue;
      const sa = model.sas.get(b.ipsecSa);
      if (!sa || sa.mode !== 'transport' || !sa.manual) continue;
      const peer = ipToInt(b.neighbor);
      const local = this.sourceFor(peer);
      if (local === undefined) continue;
      const ifl = `re:bgp-${b.neighbor}`;
      this.transportByPeer.set(peer, ifl);
      transport.push({ ifl, pic: 're', sa, source: local, destination: peer });
      const inb = sa.manual.inbound;
      if (inb) this.inboundSa.set(`${inb.protocol === 'esp' ? PROTO_ESP : PROTO_AH}/${inb.spi}/${local}`, ifl);
    }
    this.reIpsec?.configure(transport);
    // forget ARP entries that no longer sit on a subnet of their interface; announce our addresses
    for (const d of this.ifds.values()) {
      if (d.kind !== 'fe') continue;
      const l = this.ifls.get(`${d.name}.0`);
      for (const ip of d.arp.keys()) if (!l || !onSubnet(l.addresses, ip)) d.arp.delete(ip);
      if (l && usable(l)) for (const a of l.addresses) this.sendArp(d, 1, a.local, BROADCAST, a.local); // gratuitous ARP
    }
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
          const l = this.ifls.get(`${d.name}.0`);
          for (const pkt of p.pkts) { this.countDrop('arp-unresolved', l); this.icmpError(pkt, l, ICMP_UNREACH, UNREACH_HOST); }
          continue;
        }
        p.tries++; p.next = now + ARP_RETRY_MS;
        const l = this.ifls.get(`${d.name}.0`);
        const src = l && onSubnet(l.addresses, ip)?.local;
        if (src !== undefined) this.sendArp(d, 1, src, BROADCAST, ip);
      }
    }
    this.reasm.expire(now);
  }

  // ---------------------------------------------------------------- layer 2

  /** A packet must never take the router down: whatever throws while handling one is a counted drop. */
  private guard(fn: () => void, l?: IflState): void {
    try { fn(); } catch (e) { this.countDrop('internal-error', l); this.onInternalError?.(e); }
  }

  private receiveFrame(d: IfdState, frame: Buffer): void { this.guard(() => this.frameIn(d, frame)); }

  private frameIn(d: IfdState, frame: Buffer): void {
    if (!d.adminUp) return;
    const e = parseEth(frame);
    if (!e.ok) { d.counters.drop('runt'); this.countDrop('runt'); return; }
    const eth = e.value;
    if (!eth.dst.equals(d.mac) && !eth.dst.equals(BROADCAST)) return; // not for us (a shared segment)
    d.counters.rx(frame.length);
    for (const t of this.taps) t(d.name, 'in', frame, 'eth');
    const l = this.ifls.get(`${d.name}.0`);
    if (eth.type === ETH_ARP) { this.handleArp(d, l, eth.payload); return; }
    if (eth.type !== ETH_IPV4) { d.counters.drop('unknown-ethertype'); return; }
    if (!l || !l.up) { d.counters.drop('no-logical-interface'); this.countDrop('no-logical-interface'); return; }
    this.ipInput(eth.payload, l);
  }

  private sendArp(d: IfdState, op: 1 | 2, spa: number, dstMac: Buffer, tpa: number, tha: Buffer = Buffer.alloc(6)): void {
    this.sendFrame(d, buildEth(dstMac, d.mac, ETH_ARP, buildArp({ op, sha: d.mac, spa, tha, tpa })));
  }
  private sendFrame(d: IfdState, frame: Buffer): void {
    if (!d.port || !d.adminUp) { d.counters.drop('no-link'); return; }
    d.counters.tx(frame.length);
    for (const t of this.taps) t(d.name, 'out', frame, 'eth');
    d.port.send(frame);
  }

  private handleArp(d: IfdState, l: IflState | undefined, payload: Buffer): void {
    const r = parseArp(payload);
    if (!r.ok || !l || !l.up) { d.counters.drop('bad-arp'); return; }
    const a = r.value;
    const fromSubnet = !!onSubnet(l.addresses, a.spa);
    const forMe = l.addresses.some(x => x.local === a.tpa);
    if (fromSubnet && (forMe || d.arp.has(a.spa) || d.pending.has(a.spa))) {
      d.arp.set(a.spa, { mac: Buffer.from(a.sha), expires: this.now() + ARP_TIMEOUT_MS });
      const p = d.pending.get(a.spa);
      if (p) { d.pending.delete(a.spa); for (const pkt of p.pkts) this.sendFrame(d, buildEth(a.sha, d.mac, ETH_IPV4, pkt)); }
    }
    if (a.op === 1 && forMe && a.spa !== a.tpa) this.sendArp(d, 2, a.tpa, a.sha, a.spa, a.sha);
  }

  /** Send an IP packet out of an Ethernet ifl toward `nextIp`, resolving it with ARP. */
  private l2send(l: IflState, nextIp: number, pkt: Buffer): void {
    const d = l.ifd;
    l.counters.tx(pkt.length);
    const e = d.arp.get(nextIp);
    if (e) { this.sendFrame(d, buildEth(e.mac, d.mac, ETH_IPV4, pkt)); return; }
    let p = d.pending.get(nextIp);
    if (!p) { p = { pkts: [], tries: 0, next: 0 }; d.pending.set(nextIp, p); }
    if (p.pkts.length >= ARP_QUEUE) { this.countDrop('arp-queue-full', l); return; }
    p.pkts.push(pkt);
    if (p.tries === 0) {
      p.tries = 1; p.next = this.now() + ARP_RETRY_MS;
      const src = onSubnet(l.addresses, nextIp)?.local ?? l.addresses[0]?.local ?? 0;
      this.sendArp(d, 1, src, BROADCAST, nextIp);
    }
  }

  // ---------------------------------------------------------------- layer 3

  /** An IPv4 packet entering on `l` (from the wire, or decrypted by the ES PIC on an es- ifl). */
  ipInput(raw: Buffer, l: IflState): void {
    const r = parseIpv4(raw);
    if (!r.ok) { this.countDrop(`ip-${r.error}`, l); return; }
    if (!ipv4ChecksumOk(raw)) { this.countDrop('ip-bad-checksum', l); return; }
    const h = r.value;
    const pkt = raw.length === h.totalLength ? raw : raw.subarray(0, h.totalLength);
    l.counters.rx(pkt.length);
    const ipsecForUs = (h.protocol === PROTO_ESP || h.protocol === PROTO_AH) && this.localAddrs.has(h.dst) && l.ifd.kind !== 'es';
    if (l.inFilter) {
      // the input filter sees every packet, ESP and AH for the router's own addresses too (JUNOS
      // applies it before the ES PIC)
      const f = this.filters.get(l.inFilter);
      if (!f) { this.countDrop('filter-missing', l); return; }
      const v = f.evaluate(packetKey(pkt));
      if (v.action === 'discard') { this.countDrop('filter-discard', l); return; }
      if (v.action === 'reject') { this.countDrop('filter-reject', l); this.icmpError(pkt, l, ICMP_UNREACH, UNREACH_ADMIN); return; }
      if (v.action === 'ipsec-sa' && !ipsecForUs) {
        const es = this.ifls.get(this.saToIfl.get(v.sa) ?? '');
        if (!es) { this.countDrop('ipsec-sa-not-on-es', l); return; }
        if (this.localAddrs.has(h.dst)) { this.deliverLocal(pkt, l); return; }
        const fwd = this.decrementTtl(pkt, h.ttl, l);
        if (fwd) this.intoTunnel(es, fwd, l);
        return;
      }
    }
    if (ipsecForUs) {
      const whole = this.reassemble(pkt, l);
      if (whole) this.ipsecIn(whole, h.protocol, h.dst, l);
      return;
    }
    this.forward(pkt, l);
  }

  /** Reassemble a fragment for the router itself: the whole packet, or null (held or dropped, counted). */
  private reassemble(pkt: Buffer, l?: IflState): Buffer | null {
    const r = this.reasm.add(pkt, this.now());
    if (r.kind === 'whole') return r.pkt;
    if (r.kind === 'drop') for (let i = 0; i < r.fragments; i++) this.countDrop(r.reason, l);
    return null;
  }

  private ipsecIn(pkt: Buffer, proto: number, dst: number, inIfl: IflState): void {
    const ihl = (pkt[0]! & 15) * 4;
    const off = proto === PROTO_ESP ? 0 : 4;
    if (pkt.length < ihl + off + 4) { this.countDrop('ipsec-short-packet', inIfl); return; }
    const spi = pkt.readUInt32BE(ihl + off);
    const ifl = this.inboundSa.get(`${proto}/${spi}/${dst}`);
    if (ifl?.startsWith('re:') && this.reIpsec) { this.reIpsec.decrypt(ifl, pkt); return; }
    if (!ifl || !this.ipsec) { this.countDrop('ipsec-no-sa', inIfl); return; }
    this.ipsec.decrypt(ifl, pkt);
  }

  /**
   * Decrement the TTL in place: every buffer that reaches the PFE is its own (a TAP read, a wire
   * delivery, a packet out of the ES PIC ring, or one the router built), so no copy is needed.
   */
  private decrementTtl(pkt: Buffer, ttl: number, inIfl?: IflState): Buffer | null {
    if (ttl <= 1) { this.countDrop('ttl-expired', inIfl); this.icmpError(pkt, inIfl, ICMP_TIME_EXCEEDED, 0); return null; }
    const out = pkt;
    out[8] = ttl - 1;
    // incremental checksum update (RFC 1624): TTL is the high byte of its 16-bit word
    let sum = (~out.readUInt16BE(10) & 0xffff) + (~(ttl << 8) & 0xffff) + ((ttl - 1) << 8);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    out.writeUInt16BE(~sum & 0xffff, 10);
    return out;
  }

  private forward(pkt: Buffer, inIfl: IflState): void {
    const dst = pkt.readUInt32BE(16);
    const route = this.routes.lookup(dst);
    if (!route) { this.countDrop('no-route', inIfl); this.icmpError(pkt, inIfl, ICMP_UNREACH, UNREACH_NET); return; }
    if (route.nh.kind === 'local') { this.deliverLocal(pkt, inIfl); return; }
    if (route.nh.kind === 'discard') { this.countDrop('discard-route', inIfl); return; }
    if (route.nh.kind === 'reject') { this.countDrop('reject-route', inIfl); this.icmpError(pkt, inIfl, ICMP_UNREACH, UNREACH_HOST); return; }
    const fwd = this.decrementTtl(pkt, pkt[8]!, inIfl);
    if (fwd) this.output(fwd, route, inIfl);
  }

  /** Send a packet that already had its TTL handled along `route`. */
  private output(pkt: Buffer, route: Route, inIfl?: IflState): void {
    const nh = route.nh;
    if (nh.kind === 'local') { this.deliverLocal(pkt, inIfl); return; }
    if (nh.kind === 'discard') { this.countDrop('discard-route'); return; }
    if (nh.kind === 'reject') { this.countDrop('reject-route'); this.icmpError(pkt, inIfl, ICMP_UNREACH, UNREACH_HOST); return; }
    const out = this.ifls.get(nh.ifl);
    if (!out || !out.up || !out.ifd.adminUp) { this.countDrop('interface-down', inIfl); return; }
    if (out.outFilter) {
      const f = this.filters.get(out.outFilter);
      const v = f ? f.evaluate(packetKey(pkt)) : { action: 'discard' as const };
      if (v.action === 'discard') { this.countDrop('filter-discard', out); return; }
      if (v.action === 'reject') { this.countDrop('filter-reject', out); this.icmpError(pkt, inIfl, ICMP_UNREACH, UNREACH_ADMIN); return; }
      if (v.action === 'ipsec-sa') {
        const es = this.ifls.get(this.saToIfl.get(v.sa) ?? '');
        if (!es) { this.countDrop('ipsec-sa-not-on-es', out); return; }
        this.intoTunnel(es, pkt, inIfl);
        return;
      }
    }
    if (nh.kind === 'tunnel') { this.intoTunnel(out, pkt, inIfl); return; }
    const mtu = out.mtu ?? DEFAULT_MTU;
    const frags = fragment(pkt, mtu);
    if (!frags) { this.countDrop('df-mtu-exceeded', out); this.icmpError(pkt, inIfl, ICMP_UNREACH, UNREACH_NEEDFRAG, mtu); return; }
    const nextIp = nh.kind === 'gateway' ? nh.gateway : pkt.readUInt32BE(16);
    for (const f of frags) this.l2send(out, nextIp, f);
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

  private intoTunnel(es: IflState, pkt: Buffer, inIfl?: IflState): void {
    if (!this.ipsec || !es.ipsecSa || !es.tunnel) { this.countDrop('tunnel-not-ready', es); return; }
    const mtu = this.esMtu(es);
    const frags = fragment(pkt, mtu);
    if (!frags) { this.countDrop('df-mtu-exceeded', es); this.icmpError(pkt, inIfl, ICMP_UNREACH, UNREACH_NEEDFRAG, mtu); return; }
    for (const f of frags) { es.counters.tx(f.length); es.ifd.counters.tx(f.length); for (const t of this.taps) t(es.ifd.name, 'out', f, 'ip'); this.ipsec.encrypt(es.name, f); }
  }

  // ---------------------------------------------------------------- from the ES PIC (IpsecSink)

  outer(ifl: string, pkt: Buffer): void { this.guard(() => this.outerIn(ifl, pkt)); }
  inner(ifl: string, pkt: Buffer): void { this.guard(() => this.innerIn(ifl, pkt)); }
  private outerIn(ifl: string, pkt: Buffer): void {
    const dst = pkt.readUInt32BE(16);
    const route = this.routes.lookup(dst);
    if (!route) { this.countDrop('no-route-to-tunnel-end', this.ifls.get(ifl)); return; }
    if ('ifl' in route.nh && route.nh.ifl === ifl) { this.countDrop('tunnel-loop', this.ifls.get(ifl)); return; }
    this.output(pkt, route);
  }
  private innerIn(ifl: string, pkt: Buffer): void {
    const l = this.ifls.get(ifl);
    if (!l) { this.countDrop('ipsec-no-interface'); return; }
    l.ifd.counters.rx(pkt.length);
    for (const t of this.taps) t(l.ifd.name, 'in', pkt, 'ip');
    this.ipInput(pkt, l);
  }

  // ---------------------------------------------------------------- the router's own stack

  private deliverLocal(pkt: Buffer, inIfl?: IflState): void {
    const whole = this.reassemble(pkt, inIfl);
    if (!whole) return;
    this.local.in++;
    for (const l of this.listeners) if (l(whole)) return;
    const h = parseIpv4(whole);
    if (!h.ok) return;
    const ihl = h.value.ihl;
    if (h.value.protocol === PROTO_ICMP) {
      const ic = parseIcmp(whole.subarray(ihl, h.value.totalLength));
      if (!ic.ok) { this.countDrop(`icmp-${ic.error}`, inIfl); return; }
      if (ic.value.type === ICMP_ECHO) {
        const reply = buildIcmp(ICMP_ECHO_REPLY, 0, ic.value.rest, ic.value.data);
        this.originate(buildIpv4({ protocol: PROTO_ICMP, src: h.value.dst, dst: h.value.src, id: this.nextId(), ttl: 64, tos: h.value.tos }, reply));
      }
      return;
    }
    if (h.value.protocol === PROTO_UDP) { this.icmpError(whole, inIfl, ICMP_UNREACH, UNREACH_PORT); return; }
    if (h.value.protocol === PROTO_TCP) { this.countDrop('no-listener', inIfl); return; }
    this.icmpError(whole, inIfl, ICMP_UNREACH, UNREACH_PROTO);
  }

  nextId(): number { this.ipId = (this.ipId + 1) & 0xffff; return this.ipId; }

  /** Send a packet the router itself made (ICMP, CLI ping, outer tunnel packets). */
  originate(pkt: Buffer): void {
    this.local.out++;
    const t = this.reIpsec && this.transportByPeer.get(pkt.readUInt32BE(16));
    if (t && pkt[9] !== PROTO_ESP && pkt[9] !== PROTO_AH && this.localAddrs.has(pkt.readUInt32BE(12))) { this.reIpsec!.encrypt(t, pkt); return; }
    const route = this.routes.lookup(pkt.readUInt32BE(16));
    if (!route) { this.countDrop('no-route'); return; }
    this.output(pkt, route);
  }

  /** The address the router uses as source toward `dst`: the outgoing interface's first address. */
  sourceFor(dst: number): number | undefined {
    const r = this.routes.lookup(dst);
    const l = r && 'ifl' in r.nh ? this.ifls.get(r.nh.ifl) : undefined;
    return l?.addresses[0]?.local ?? this.ifls.get('lo0.0')?.addresses[0]?.local ?? [...this.localAddrs.keys()][0];
  }

  private icmpError(orig: Buffer, inIfl: IflState | undefined, type: number, code: number, mtu = 0): void {
    const h = parseIpv4(orig);
    if (!h.ok) return;
    const { src, fragOffset, protocol, ihl } = h.value;
    if (fragOffset !== 0 || src === 0 || src >>> 28 >= 14 || this.localAddrs.has(src)) return;
    if (protocol === PROTO_ICMP && orig.length > ihl && ![ICMP_ECHO, ICMP_ECHO_REPLY].includes(orig[ihl]!)) return; // never about an error
    const from = inIfl?.addresses[0]?.local ?? this.sourceFor(src);
    if (from === undefined) return;
    const data = orig.subarray(0, Math.min(orig.length, ihl + 8));
    const icmp = buildIcmp(type, code, code === UNREACH_NEEDFRAG && type === ICMP_UNREACH ? mtu & 0xffff : 0, data);
    this.originate(buildIpv4({ protocol: PROTO_ICMP, src: from, dst: src, id: this.nextId(), ttl: 64 }, icmp));
  }
}
