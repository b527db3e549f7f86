/**
 * A router: a chassis with its PICs, the active configuration, the PFE and the ES PIC(s). A commit
 * either applies whole or leaves everything exactly as it was.
 */
import { Chassis, PicPlacement } from '../../chassis/chassis.js';
import { loadAndCheck, Diagnostic, RouterModel, CNode, formatDiagnostics } from '../config/index.js';
import { Pfe } from '../pfe/pfe.js';
import type { IpsecEngine } from '../pfe/types.js';
import type { PicSnapshot } from '../../pics/es/core.js';
import { InlineIpsec } from '../../pics/es/inline.js';
import { RouterLog } from './log.js';
import { RouterFiles } from './files.js';
import { PkiStore } from '../pki/store.js';
import { EsPicSet } from '../../pics/es/es-pic.js';
import { Kmd } from '../kmd/kmd.js';
import { buildIpv4, PROTO_UDP } from '../net/ipv4.js';
import { buildUdp } from '../net/l4.js';
import { Rpd } from '../rpd/rpd.js';
import { activate } from '../mgd/commit.js';
import { resolveLoadKeyFilesSync } from '../mgd/keyfile.js';

type Engine = IpsecEngine & { ready?: () => Promise<void>; selfTested?: () => Promise<void>; offline?: (pic: string) => string | undefined; snapshot?: () => Promise<PicSnapshot>; snapshotPic?: (pic: string) => Promise<PicSnapshot | undefined>; close?: () => Promise<void> | void; clear?: (saName?: string) => void };
export interface RouterOptions {
  name: string; model?: string; pics?: PicPlacement[];
  /** 'worker' (default): one worker thread per ES PIC; 'inline': in this thread; or an engine */
  ipsec?: 'worker' | 'inline' | Engine;
  now?: () => number;
  /**
   * How much faster than the wall clock SA lifetimes run (1: real time). A lab sets it (`clock-rate`
   * in the topology) to watch soft lifetimes, rekeys and expiries in seconds rather than hours.
   */
  clockRate?: number;
  /** the router's own file system (/var/etc/ikecert, ...): a directory of the lab's state; a temporary one if absent */
  filesDir?: string;
  onEvent?: (e: string) => void;
}
export type CommitResult = { ok: true; warnings: Diagnostic[]; output: string } | { ok: false; output: string };

export class Router {
  readonly chassis: Chassis;
  readonly pfe: Pfe;
  readonly ipsec: Engine;
  /** Transport-mode SAs (BGP), processed by the Routing Engine rather than an ES PIC. */
  readonly reIpsec: InlineIpsec;
  tree?: CNode;
  model?: RouterModel;
  readonly booted = Date.now();
  readonly log = new RouterLog(() => this.name);
  lastCommit?: Date;
  private timer?: NodeJS.Timeout;

  /** /var/etc/ikecert and the like */
  readonly files: RouterFiles;
  /** certificates as IKE uses them (local, CAs, CRLs, the peer cache) */
  readonly pki: PkiStore;

  constructor(readonly opts: RouterOptions) {
    this.files = new RouterFiles(opts.filesDir);
    this.pki = new PkiStore(this.files, () => this.model, msg => this.kmdLog(msg));
    // the logs live in memory; `file list /var/log` shows them, and kmd's exists before its first event
    this.files.mount('/var/log', () => this.log.entries('/var/log'));
    this.log.touch('messages'); this.log.touch('kmd');
    this.chassis = new Chassis(opts.model ?? 'm10', opts.pics);
    const e = opts.ipsec ?? 'worker';
    this.ipsec = e === 'inline' ? new InlineIpsec()
      : e === 'worker' ? new EsPicSet(this.chassis.esPics().map(p => `${p.fpc}/${p.pic}`), { onEvent: ev => this.securityEvent(ev) })
      : e;
    this.reIpsec = new InlineIpsec();
    this.pfe = new Pfe(opts.name, this.chassis.interfaceNames(), this.ipsec, opts.now, this.reIpsec);
    // a packet that makes the PFE throw is a bug: it is dropped and counted (internal-error); each
    // kind (what threw, and where) is logged once with its stack so that it can be reported
    const kinds = new Set<string>();
    this.pfe.onInternalError = e => {
      const err = e as Error, kind = `${err?.name}: ${err?.message} ${err?.stack?.split('\n')[1]?.trim() ?? ''}`;
      if (kinds.has(kind) || kinds.size >= 64) return;
      kinds.add(kind);
      this.log.write('messages', 'pfe', `PFE internal error, packet dropped: ${err?.stack ?? String(e)}`);
    };
    // kmd: IKE on UDP 500 of the router's addresses, its SAs into the ES PIC
    const now = opts.now ?? Date.now;
    const rate = opts.clockRate ?? 1, t0 = now();
    this.clock = rate === 1 ? now : () => t0 + (now() - t0) * rate;
    this.kmd = new Kmd({
      now,
      clock: this.clock,
      clockRate: rate,
      sendUdp: (src, dst, sport, dport, payload) => this.pfe.originate(buildIpv4({ protocol: PROTO_UDP, src, dst, id: this.pfe.nextId(), ttl: 64 }, buildUdp({ src, dst }, sport, dport, payload))),
      install: (ifl, pair, inbound) => {
        this.ipsec.installDynamic?.(ifl, pair);
        for (const x of inbound) this.pfe.addInboundSpi(ifl, x.proto, x.spi, x.dst);
        this.pfe.invalidateEsMtu(ifl);
      },
      remove: (ifl, inbound, outbound) => {
        for (const x of inbound) this.pfe.removeInboundSpi(x.proto, x.spi, x.dst);
        this.ipsec.removeDynamic?.(ifl, inbound.map(x => x.spi), outbound);
      },
      tunnelReady: (ifl, ready, why) => this.pfe.tunnelReady(ifl, ready, why),
      log: msg => this.kmdLog(msg),
      trace: (flag, msg) => this.kmdTrace(flag, msg),
      pki: this.pki,
    });
    this.rpd = new Rpd(this.pfe, msg => this.log.write('messages', 'rpd', msg), undefined, this.log);
    this.pfe.onAcquire = ifl => this.kmd.acquire(ifl);
    this.ipsec.onRestart = (ifls, why) => this.pfe.guard(() => this.kmd.picLost(ifls, why));
    this.pfe.onBadSpi = (proto, spi, src, dst) => this.kmd.badSpi(proto, spi, src, dst);
    this.pfe.listenUdp(500, (_pkt, info) => this.kmd.receive(info.payload, info.src, info.dst, info.srcPort));
    // NAT traversal (RFC 3947, 3948): IKE after the marker, NAT keepalives, and ESP in UDP
    this.pfe.listenUdp(4500, (pkt, info) => {
      const p = info.payload;
      if (p.length === 1 && p[0] === 0xff) { this.kmd.count('nat-keepalive-received'); return; }
      if (p.length >= 4 && p.readUInt32BE(0) === 0) { this.kmd.receive(p.subarray(4), info.src, info.dst, info.srcPort, true); return; }
      if (p.length < 8) { this.pfe.countDrop('natt-short-packet', info.ifl); return; }
      this.pfe.udpEsp(pkt, p, info.ifl);
    });
  }
  readonly kmd: Kmd;
  /** the routing protocol daemon: the RIB and BGP */
  readonly rpd: Rpd;
  /** after each commit is applied (the Routing Engine's stack follows the addresses) */
  onCommit?: () => void;
  /** the clock SA lifetimes run on (see `clockRate`) */
  readonly clock: () => number;

  /** kmd's important events: the kmd log (as JUNOS writes /var/log/kmd), and messages. */
  kmdLog(msg: string): void {
    this.log.write(this.model?.traceoptions?.file?.name ?? 'kmd', 'kmd', msg);
    if (this.model?.traceoptions?.file?.name) this.log.write('kmd', 'kmd', msg);
    this.opts.onEvent?.(msg);
  }
  /**
   * `[edit security traceoptions] file NAME files N size S`: the trace file rotates at S bytes (128k
   * if not given) keeping N files (3 if not given), as JUNOS names them: NAME, NAME.0, NAME.1, ...
   */
  private traceFile?: string;
  private applyTraceoptions(model: RouterModel): void {
    const t = model.traceoptions;
    const name = t ? t.file?.name ?? 'kmd' : undefined;
    if (this.traceFile && this.traceFile !== name) this.log.rotate(this.traceFile, undefined);
    this.traceFile = name;
    if (name) this.log.touch(name);
    if (name) this.log.rotate(name, { size: t!.file?.sizeBytes ?? 128 * 1024, files: t!.file?.files ?? 3 });
  }
  /** Traces of kmd when `[edit security traceoptions]` asks for them (flag all, or the flag given). */
  kmdTrace(flag: string, msg: string): void {
    const t = this.model?.traceoptions;
    if (!t || !(t.flags.includes('all') || t.flags.includes(flag))) return;
    this.log.write(t.file?.name ?? 'kmd', 'kmd', `[${flag}] ${msg}`);
  }
  get name() { return this.model?.hostName ?? this.opts.name; }

  /** ES PIC and SA events: to `messages`, and to the security trace file (`kmd`, or the file named
   *  by `security traceoptions file`), as the chapter says security tracing goes to /var/log/kmd. */
  securityEvent(ev: string): void {
    this.log.write('messages', 'kmd', ev);
    this.log.write(this.model?.traceoptions?.file?.name ?? 'kmd', 'kmd', ev);
    this.opts.onEvent?.(ev);
  }

  /** Load, check, compile and apply configuration text (replacing the active configuration). */
  commitText(text: string, file = 'terminal'): CommitResult {
    // load-key-file: read from the router's files now, as a commit from the CLI does
    const r = loadAndCheck(text, { file, chassis: this.chassis, prepare: t => resolveLoadKeyFilesSync(t, p => this.files.read(p)) });
    if (!r.ok) return { ok: false, output: r.output };
    activate(this, r.tree, r.model, { user: 'root', via: 'other', session: `file ${file}` });
    return { ok: true, warnings: r.warnings, output: (r.warnings.length ? formatDiagnostics(r.warnings) + '\n' : '') + 'commit complete' };
  }
  /**
   * Apply an already checked tree and model: the PFE, rpd, the trace files and kmd follow it. Only
   * mgd's commit path (src/mgd/commit.ts) calls it; it is what a commit does to the running router.
   */
  apply(tree: CNode, model: RouterModel): void {
    this.tree = tree;
    this.model = model;
    this.pfe.apply(model);
    this.rpd.apply(model);
    this.applyTraceoptions(model);
    this.kmd.configure(model, [...this.pfe.ifls.values()]);
    this.lastCommit = new Date();
    this.onCommit?.();
    void this.pki.refreshLdap();
  }

  /** Every SA of the ES PICs and of the Routing Engine (transport SAs), for `show` and the API. */
  async picSnapshot(): Promise<PicSnapshot> {
    const es: PicSnapshot = this.ipsec.snapshot ? await this.ipsec.snapshot() : { pic: '', drops: {} as PicSnapshot['drops'], encrypted: 0, decrypted: 0, restarts: 0, sas: [] };
    const re = await this.reIpsec.snapshot();
    return { ...es, sas: [...es.sas, ...re.sas] };
  }

  /** Resolves when the router's ES PICs are online (their workers loaded). */
  async ready(): Promise<void> { await this.ipsec.ready?.(); }
  /**
   * A PIC's state as `show chassis fpc pic-status` gives it: an ES PIC whose power-on self-test failed
   * is Offline (pics/es/selftest.ts), every other installed PIC Online.
   */
  picState(fpc: number, pic: number): 'Online' | 'Offline' {
    return this.ipsec.offline?.(`${fpc}/${pic}`) !== undefined ? 'Offline' : 'Online';
  }
  /** Resolves when the ES PICs' power-on self-tests have finished (pics/es/selftest.ts), passed or not. */
  async selfTested(): Promise<void> { await this.ipsec.selfTested?.(); }

  start(intervalMs = 250): void {
    if (!this.timer) {
      this.timer = setInterval(() => { this.pfe.tick(); this.pfe.guard(() => this.kmd.tick()); this.reIpsec.tick(); if (this.ipsec instanceof InlineIpsec) this.ipsec.tick(); }, intervalMs);
      this.timer.unref();
    }
  }
  /** set once stop() is called (background work such as an enrollment ends) */
  stopped = false;
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.rpd.close();
    await this.ipsec.close?.();
    this.files.close();
  }
}
