/** arp-input: learn our neighbours, answer for our addresses, release packets waiting for an answer. */
import { GraphNode, Graph, Pkt } from '../graph.js';
import type { PfeContext } from '../context.js';
import { buildEth, ETH_IPV4 } from '../../net/ethernet.js';
import { onSubnet, intToIp } from '../../net/ip.js';
import { ARP_TIMEOUT_MS } from '../constants.js';

const REASONS = ['bad-arp'] as const;

export class ArpInput extends GraphNode<typeof REASONS[number], never> {
  readonly name = 'arp-input';
  readonly reasons = REASONS;
  readonly nexts = [] as const;
  constructor(g: Graph, private pfe: Pick<PfeContext, 'now' | 'sendFrame' | 'sendArp'>) { super(g); }
  run(v: Pkt[], n: number): void {
    for (let i = 0; i < n; i++) {
      const p = v[i]!, b = p.buf, o = p.l3, d = p.rxIfd!, l = d.unit0;
      const op = b.length >= o + 28 ? b.readUInt16BE(o + 6) : 0;
      if (b.length < o + 28 || b.readUInt16BE(o) !== 1 || b.readUInt16BE(o + 2) !== ETH_IPV4 || b[o + 4] !== 6 || b[o + 5] !== 4 || (op !== 1 && op !== 2) || !l || !l.up) {
        d.counters.drop('bad-arp'); this.drop(p, 'bad-arp'); continue;
      }
      const sha = Buffer.from(b.subarray(o + 8, o + 14)), spa = b.readUInt32BE(o + 14), tpa = b.readUInt32BE(o + 24);
      const fromSubnet = !!onSubnet(l.addresses, spa);
      const forMe = l.addresses.some(x => x.local === tpa);
      if (fromSubnet && (forMe || d.arp.has(spa) || d.pending.has(spa))) {
        d.arp.set(spa, { mac: sha, expires: this.pfe.now() + ARP_TIMEOUT_MS });
        const q = d.pending.get(spa);
        if (q) { d.pending.delete(spa); for (const pkt of q.pkts) this.pfe.sendFrame(d, buildEth(sha, d.mac, ETH_IPV4, pkt)); }
      }
      if (op === 1 && forMe && spa !== tpa) this.pfe.sendArp(d, 2, tpa, sha, spa, sha);
      if (p.trace) this.g.traceLine(p, this.name, `${op === 1 ? 'request' : 'reply'} ${intToIp(spa)} -> ${intToIp(tpa)}${forMe ? ' (for us)' : ''}`);
      this.g.release(p);
    }
  }
}
