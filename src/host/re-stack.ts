/**
 * The Routing Engine's own IP stack. A real router's RE runs a kernel with sockets; vrouter gives each
 * router process a network namespace of its own (made by `vrouter up`) and a TUN device `re0` in it:
 * the router's main thread enters that namespace (setns, our addon) once its TAPs are open, so every
 * socket it opens afterwards (the SCEP client's HTTP, a NETCONF server) lives there. TCP and UDP for
 * the router that no PFE service takes go into re0; what the kernel sends out of re0 goes through the
 * PFE like any packet the router makes. re0 holds the router's addresses, kept in step with commits.
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadAddon } from './tap.js';
import type { Router } from '../router/router.js';
import { intToIp } from '../net/ip.js';

export class ReStack {
  private tun: { start(cb: (frames: Buffer[]) => void): void; write(b: Buffer): boolean; close(): void };
  readonly counters = { toKernel: 0, fromKernel: 0, badSource: 0 };
  private applied = '';
  private prelude: string[] = [];

  /** Enter the namespace at `netnsPath` (this thread for good) and open re0 there. */
  constructor(private router: Router, netnsPath: string) {
    const addon = loadAddon() as unknown as { setns(p: string): void; Tap: new (name: string, tun: boolean) => ReStack['tun'] };
    addon.setns(netnsPath);
    // no IPv6 in this namespace (re0 would send neighbour discovery): /proc/sys/net is the calling
    // thread's namespace, so this thread writes it, before re0 exists
    for (const k of ['default', 'all']) {
      try { writeFileSync(`/proc/sys/net/ipv6/conf/${k}/disable_ipv6`, '1'); } catch { /* no IPv6 in this kernel */ }
    }
    this.tun = new addon.Tap('re0', true);
    this.prelude = ['link set lo up', 'link set re0 up mtu 1500'];
    // rpd resets a SYN to 179 from no neighbor itself; it keeps re0's routes to BGP prefixes (src/rpd/rpd.ts)
    router.pfe.hostStack = pkt => { if (router.rpd.refuse(pkt)) return; this.counters.toKernel++; this.tun.write(pkt); };
    router.rpd.kernel = cmds => { const c = execFile('ip', ['-force', '-batch', '-'], e => { if (e) router.log.write('messages', 'kernel', `re0: ${String(e.message).trim()}`); }); c.stdin?.end(cmds.join('\n') + '\n'); };
    this.tun.start(pkts => {
      for (const p of pkts) {
        // the kernel speaks only from the router's own addresses (anything else is dropped, counted)
        if (p.length < 20 || p[0]! >> 4 !== 4 || !router.pfe.isLocal(p.readUInt32BE(12))) { this.counters.badSource++; continue; }
        this.counters.fromKernel++;
        router.pfe.originate(Buffer.from(p));
      }
    });
    this.sync();
  }

  /** re0's addresses and routes after a commit: each local address, each connected subnet with its source, a default. */
  sync(): void {
    const pfe = this.router.pfe;
    const cmds: string[] = ['addr flush dev re0'];
    for (const a of pfe.localAddrs.keys()) cmds.push(`addr add ${intToIp(a)}/32 dev re0`);
    const lo = pfe.ifls.get('lo0.0')?.addresses[0]?.local;
    const first = lo ?? [...pfe.localAddrs.keys()][0];
    for (const l of pfe.ifls.values()) {
      if (l.name.startsWith('lo')) continue;
      for (const a of l.addresses) if (a.prefix.len < 32) cmds.push(`route replace ${intToIp(a.prefix.addr)}/${a.prefix.len} dev re0 src ${intToIp(a.local)}`);
    }
    if (first !== undefined) cmds.push(`route replace default dev re0 src ${intToIp(first)}`);
    cmds.push(...this.router.rpd.kernelRoutes());
    const text = cmds.join('\n') + '\n';
    if (text === this.applied) return;
    // one `ip` process: the first time it also brings up lo and re0
    try { execFileSync('ip', ['-force', '-batch', '-'], { input: [...this.prelude, ''].join('\n') + text, stdio: ['pipe', 'ignore', 'pipe'] }); this.applied = text; this.prelude = []; }
    catch (e) { this.router.log.write('messages', 'kernel', `re0: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`); }
  }

  close(): void { this.router.pfe.hostStack = undefined; this.router.rpd.kernel = undefined; this.tun.close(); }
}

