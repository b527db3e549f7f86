/** Build in-memory labs: routers and simulated hosts joined by wires. */
import { readFileSync } from 'node:fs';
import { Router, RouterOptions } from '../router/router.js';
import { Wire } from './wire.js';
import { SimHost } from './host.js';

export class MemLab {
  routers = new Map<string, Router>();
  hosts = new Map<string, SimHost>();
  wires = new Map<string, Wire>();
  private specs = new Map<string, { config: string; opts: Partial<RouterOptions> }>();

  router(name: string, config: string, opts: Partial<RouterOptions> = {}): Router {
    const r = new Router({ name, ...opts });
    const c = r.commitText(config, `${name}.conf`);
    if (!c.ok) throw new Error(`${name}: ${c.output}`);
    r.start(50);
    this.routers.set(name, r);
    this.specs.set(name, { config, opts });
    return r;
  }
  /**
   * A router restarts: the old one stops (its state gone, as a crashed process's), a new one with the
   * configuration given (or its last one) takes its place on the same wires.
   */
  async restart(name: string, config?: string): Promise<Router> {
    const old = this.routers.get(name), spec = this.specs.get(name);
    if (!old || !spec) throw new Error(`unknown router ${name}`);
    await old.stop();
    const ends: Array<[string, Wire['a']]> = [];
    for (const [key, w] of this.wires) {
      const [a, b] = key.split('--') as [string, string];
      if (a.split(':')[0] === name) ends.push([a.split(':')[1]!, w.a]);
      if (b.split(':')[0] === name) ends.push([b.split(':')[1]!, w.b]);
    }
    for (const [, end] of ends) end.onReceive(() => {});
    const r = this.router(name, config ?? spec.config, spec.opts);
    for (const [ifd, end] of ends) r.pfe.attach(ifd, end);
    await r.ready();
    return r;
  }
  host(name: string, addr: string, len: number, gw?: string): SimHost {
    const h = new SimHost(name, addr, len, gw);
    this.hosts.set(name, h);
    return h;
  }
  /** link("gw-a:fe-0/0/1", "host-a") or link("gw-a:fe-0/0/0", "gw-b:fe-0/0/0") */
  link(a: string, b: string): Wire {
    const w = new Wire(a, b);
    this.plug(a, w.a);
    this.plug(b, w.b);
    this.wires.set(`${a}--${b}`, w);
    return w;
  }
  private plug(ep: string, end: Wire['a']): void {
    const [node, ifd] = ep.split(':');
    const r = this.routers.get(node!);
    if (r) { r.pfe.attach(ifd!, end); return; }
    const h = this.hosts.get(node!);
    if (!h) throw new Error(`unknown node ${node}`);
    h.attach(end);
  }
  /** Every router's ES PICs online: tests wait for this, not for a guessed time. */
  async ready(): Promise<void> { await Promise.all([...this.routers.values()].map(r => r.ready())); }
  async close(): Promise<void> { for (const r of this.routers.values()) await r.stop(); }
}

/**
 * Two gateways in the chapter's Figure 11 shape, with these configurations: host-a 10.1.1.1 - gw-a -
 * gw-b - host-b 10.2.2.2. Each router may have its own options (a clock, an ES PIC kind).
 */
export async function gateways(confA: string, confB: string, optsA: Partial<RouterOptions> = {}, optsB: Partial<RouterOptions> = optsA) {
  const lab = new MemLab();
  const gwA = lab.router('gw-a', confA, optsA);
  const gwB = lab.router('gw-b', confB, optsB);
  const hostA = lab.host('host-a', '10.1.1.1', 24, '10.1.1.254');
  const hostB = lab.host('host-b', '10.2.2.2', 24, '10.2.2.254');
  lab.link('gw-a:fe-0/0/1', 'host-a');
  const transit = lab.link('gw-a:fe-0/0/0', 'gw-b:fe-0/0/0');
  lab.link('gw-b:fe-0/0/1', 'host-b');
  await lab.ready();
  return { lab, gwA, gwB, hostA, hostB, transit };
}

/** The chapter's Figure 11: host-a 10.1.1.1 - gw-a - gw-b - host-b 10.2.2.2, tunnel with manual-sa1. */
export async function figure11(topologiesDir: string, opts: Partial<RouterOptions> = {}) {
  return gateways(readFileSync(`${topologiesDir}/gw-a.conf`, 'utf8'), readFileSync(`${topologiesDir}/gw-b.conf`, 'utf8'), opts);
}
