/**
 * A simulated host for in-memory labs: one Ethernet port, one address, a default gateway; it
 * answers ARP and pings and can send pings (and any IPv4 packet) of its own.
 */
import { createHash } from 'node:crypto';
import type { Port } from '../pfe/types.js';
import { parseEth, buildEth, parseArp, buildArp, ETH_ARP, ETH_IPV4, BROADCAST } from '../net/ethernet.js';
import { parseIpv4, buildIpv4, PROTO_ICMP, Ipv4Fields } from '../net/ipv4.js';
import { buildIcmp, parseIcmp, ICMP_ECHO, ICMP_ECHO_REPLY } from '../net/l4.js';
import { ipToInt, maskOf, prefixContains } from '../net/ip.js';
import { Reassembler } from '../net/frag.js';

export interface PingReply { seq: number; ttl: number; bytes: number; from: number; rttMs: number }
export interface IcmpSeen { type: number; code: number; from: number; rest: number }

export class SimHost {
  readonly mac: Buffer;
  readonly ip: number;
  private arp = new Map<number, Buffer>();
  private pendingArp = new Map<number, Buffer[]>();
  private port?: Port;
  private waiters = new Map<string, (r: PingReply) => void>();
  private reasm = new Reassembler();
  readonly received: Buffer[] = [];
  readonly icmp: IcmpSeen[] = [];
  private id = Math.floor(Math.random() * 65535);

  constructor(readonly name: string, address: string, readonly prefixLen: number, readonly gateway?: string) {
    this.ip = ipToInt(address);
    const h = createHash('sha256').update('host/' + name).digest();
    this.mac = Buffer.from([0x02, 0xaa, h[0]!, h[1]!, h[2]!, h[3]!]);
  }
  attach(port: Port): void { this.port = port; port.onReceive(f => this.receive(f)); }

  private receive(frame: Buffer): void {
    const e = parseEth(frame);
    if (!e.ok || (!e.value.dst.equals(this.mac) && !e.value.dst.equals(BROADCAST))) return;
    if (e.value.type === ETH_ARP) {
      const a = parseArp(e.value.payload);
      if (!a.ok) return;
      if (a.value.tpa === this.ip || this.pendingArp.has(a.value.spa)) {
        this.arp.set(a.value.spa, Buffer.from(a.value.sha));
        const q = this.pendingArp.get(a.value.spa);
        if (q) { this.pendingArp.delete(a.value.spa); for (const p of q) this.port!.send(buildEth(a.value.sha, this.mac, ETH_IPV4, p)); }
      }
      if (a.value.op === 1 && a.value.tpa === this.ip) {
        this.port!.send(buildEth(a.value.sha, this.mac, ETH_ARP, buildArp({ op: 2, sha: this.mac, spa: this.ip, tha: a.value.sha, tpa: a.value.spa })));
      }
      return;
    }
    if (e.value.type !== ETH_IPV4) return;
    const r = this.reasm.add(Buffer.from(e.value.payload), Date.now());
    if (r.kind !== 'whole') return;
    const whole = r.pkt;
    const h = parseIpv4(whole);
    if (!h.ok || h.value.dst !== this.ip) return;
    this.received.push(whole);
    if (h.value.protocol !== PROTO_ICMP) return;
    const ic = parseIcmp(whole.subarray(h.value.ihl, h.value.totalLength));
    if (!ic.ok) return;
    const { type, code, rest, data } = ic.value;
    if (type === ICMP_ECHO) {
      this.sendIp({ protocol: PROTO_ICMP, src: this.ip, dst: h.value.src, ttl: 64, id: this.nextId() }, buildIcmp(ICMP_ECHO_REPLY, 0, rest, data));
    } else if (type === ICMP_ECHO_REPLY) {
      const w = this.waiters.get(`${rest >>> 16}/${rest & 0xffff}`);
      if (w) w({ seq: rest & 0xffff, ttl: h.value.ttl, bytes: h.value.totalLength - h.value.ihl, from: h.value.src, rttMs: 0 });
    } else {
      this.icmp.push({ type, code, from: h.value.src, rest });
    }
  }

  private nextId() { this.id = (this.id + 1) & 0xffff; return this.id; }

  /** Send an IPv4 packet (the host fragments nothing: it is what the test wants on the wire). */
  sendIp(f: Ipv4Fields, payload: Buffer): void { this.sendRaw(buildIpv4(f, payload)); }
  sendRaw(pkt: Buffer): void {
    const dst = pkt.readUInt32BE(16);
    const onLink = prefixContains({ addr: (this.ip & maskOf(this.prefixLen)) >>> 0, len: this.prefixLen }, dst);
    const next = onLink || !this.gateway ? dst : ipToInt(this.gateway);
    const mac = this.arp.get(next);
    if (mac) { this.port!.send(buildEth(mac, this.mac, ETH_IPV4, pkt)); return; }
    const q = this.pendingArp.get(next);
    if (q) { q.push(pkt); return; }
    this.pendingArp.set(next, [pkt]);
    this.port!.send(buildEth(BROADCAST, this.mac, ETH_ARP, buildArp({ op: 1, sha: this.mac, spa: this.ip, tha: Buffer.alloc(6), tpa: next })));
  }

  /** Ping `dst` `count` times; resolves with the replies that came within `timeoutMs` each. */
  async ping(dst: string, o: { count?: number; size?: number; df?: boolean; ttl?: number; timeoutMs?: number; intervalMs?: number } = {}): Promise<PingReply[]> {
    const count = o.count ?? 1, size = o.size ?? 56;
    const ident = this.nextId();
    const replies: PingReply[] = [];
    for (let seq = 1; seq <= count; seq++) {
      const t0 = performance.now();
      const got = new Promise<PingReply | null>(res => {
        const key = `${ident}/${seq}`;
        const timer = setTimeout(() => { this.waiters.delete(key); res(null); }, o.timeoutMs ?? 1000);
        this.waiters.set(key, r => { clearTimeout(timer); this.waiters.delete(key); res({ ...r, rttMs: performance.now() - t0 }); });
      });
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = i & 0xff;
      this.sendIp({ protocol: PROTO_ICMP, src: this.ip, dst: ipToInt(dst), ttl: o.ttl ?? 64, id: this.nextId(), df: o.df ?? false }, buildIcmp(ICMP_ECHO, 0, (ident << 16) | seq, data));
      const r = await got;
      if (r) replies.push(r);
      if (o.intervalMs) await new Promise(res => setTimeout(res, o.intervalMs));
    }
    return replies;
  }
}
