/**
 * The ES PIC's results in batches: what one drain of its ring hands over inside `batch` runs through
 * the PFE's stages together once the batch ends (one vector per stage, one graph run), in order;
 * outside a batch each result goes through at once, as before. Both with the real ES PIC worker, whose
 * drain uses `batch`, and with the PFE alone.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router } from '../router/router.js';
import { buildIpv4, PROTO_ESP } from '../net/ipv4.js';
import { ipToInt } from '../net/ip.js';
import type { Port } from './types.js';

class Collect implements Port {
  frames: Buffer[] = [];
  rx?: (frames: Buffer[]) => void;
  onReceiveBatch(fn: (frames: Buffer[]) => void): void { this.rx = fn; }
  send(f: Buffer, len?: number): void { this.frames.push(Buffer.from(f.subarray(0, len ?? f.length))); }
  onReceive(): void { /* not used */ }
}

function gwA(ipsec: 'inline' | 'worker') {
  const r = new Router({ name: 'gw-a', ipsec });
  const c = r.commitText(readFileSync(join(import.meta.dirname, '../../topologies/gw-a.conf'), 'utf8'));
  if (!c.ok) throw new Error(c.output);
  const wan = new Collect(), lan = new Collect();
  r.pfe.attach('fe-0/0/0', wan); r.pfe.attach('fe-0/0/1', lan);
  r.pfe.ifds.get('fe-0/0/0')!.arp.set(ipToInt('10.0.0.2'), { mac: Buffer.from('020000000002', 'hex'), expires: Number.MAX_SAFE_INTEGER });
  return { r, wan, lan };
}
const esp = (id: number) => buildIpv4({ protocol: PROTO_ESP, src: ipToInt('10.5.5.5'), dst: ipToInt('10.6.6.6'), id, ttl: 64 }, Buffer.alloc(40, id));

describe('ES PIC results in batches', () => {
  it('inside batch: nothing leaves until it ends, then all of it in one run of each stage, in order', async () => {
    const { r, wan } = gwA('inline');
    try {
      const output = r.pfe.graph.nodes().find(n => n.name === 'interface-output')!;
      const runs: number[] = [];
      const run = output.run.bind(output);
      output.run = (v, n) => { runs.push(n); run(v, n); };
      r.pfe.batch(() => {
        for (let i = 1; i <= 5; i++) r.pfe.outer('es-0/1/0.0', esp(i));
        expect(wan.frames).toHaveLength(0);
      });
      expect(runs).toEqual([5]);
      expect(wan.frames.map(f => f.readUInt16BE(14 + 4))).toEqual([1, 2, 3, 4, 5]);
      // outside a batch, each at once
      r.pfe.outer('es-0/1/0.0', esp(6));
      expect(wan.frames).toHaveLength(6);
      expect(runs).toEqual([5, 1]);
    } finally { await r.stop(); }
  });

  it('through the ES PIC worker: a burst sealed and drained comes out whole and in order', async () => {
    const { r, wan, lan } = gwA('worker');
    try {
      await r.ready();
      const mac = r.pfe.ifds.get('fe-0/0/1')!.mac;
      const frames = Array.from({ length: 50 }, (_, i) => {
        const ip = buildIpv4({ protocol: 17, src: ipToInt('10.1.1.1'), dst: ipToInt('10.2.2.2'), id: 100 + i, ttl: 64 }, Buffer.alloc(200, i));
        return Buffer.concat([mac, Buffer.from('020000000a01', 'hex'), Buffer.from([0x08, 0x00]), ip]);
      });
      lan.rx!(frames);   // from host-a, as one TAP read brings them
      const deadline = Date.now() + 20000;
      while (wan.frames.filter(f => f[14 + 9] === PROTO_ESP).length < 50 && Date.now() < deadline) await new Promise(res => setImmediate(res));
      const out = wan.frames.filter(f => f[14 + 9] === PROTO_ESP);
      expect(out).toHaveLength(50);
      // ESP sequence numbers 1..50 in the order the packets came
      expect(out.map(f => f.readUInt32BE(14 + 20 + 4))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    } finally { await r.stop(); }
  }, 30000);
});
