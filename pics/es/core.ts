/**
 * The ES PIC's processing core, free of threads: the SAs of each es- logical interface, built from
 * the compiled configuration, and encrypt/decrypt that return results or counted drops. The worker
 * thread (worker.ts) and the in-process engine (inline.ts) both run this.
 */
import { SecurityAssociation, SaSpec, SaResult, DropReason, newDrops, PendingOpen, SaStore } from './sa.js';
import type { EsTunnelConfig } from '../../src/pfe/types.js';
import type { ManualDirection } from '../../src/config/model.js';

export interface TunnelSas {
  ifl: string; pic: string; saName: string; fingerprint: string;
  outbound?: SecurityAssociation; inbound?: SecurityAssociation;
  /** dynamic SAs (negotiated by kmd): inbound by SPI (an old and a new one live together during a rekey) */
  dynamic: boolean;
  inboundBySpi: Map<number, SecurityAssociation>;
}

/** A negotiated SA pair, as kmd installs it. */
/** A negotiated pair, or half of one: the initiator installs the inbound SA first and the outbound a moment later. */
export interface DynamicSaPair { inbound?: SaSpec; outbound?: SaSpec }
/** The SPI that picks an inbound SA: AH's (outermost in a bundle) or ESP's. */
function inboundSpi(pkt: Buffer): number | undefined {
  const ihl = (pkt[0]! & 15) * 4, proto = pkt[9];
  const off = proto === 51 ? ihl + 4 : ihl;
  return pkt.length >= off + 4 ? pkt.readUInt32BE(off) : undefined;
}

export interface SaSnapshot {
  ifl: string; pic: string; name: string; direction: 'inbound' | 'outbound'; protocol: string; spi: number; auxSpi?: number;
  mode: string; encryption?: string; authentication?: string; manual: boolean; state: string;
  packets: number; bytes: number; drops: Record<DropReason, number>; sequence?: number; replayWindow?: number;
  tunnel: { source: number; destination: number }; softSeconds?: number; remainingSeconds?: number; hardSeconds?: number;
}
/** `stale`: the worker did not answer in time, and this is its last answer (SAs and counters as they were then) */
export interface PicSnapshot { pic: string; drops: Record<DropReason, number>; encrypted: number; decrypted: number; restarts: number; sas: SaSnapshot[]; stale?: boolean }

function fingerprint(t: EsTunnelConfig): string {
  const b = (x: Buffer | undefined) => x?.toString('hex');
  const d = (m?: ManualDirection) => m && [m.protocol, m.spi, m.auxSpi, m.enc?.algorithm, b(m.enc?.key), m.auth?.algorithm, b(m.auth?.key)];
  return JSON.stringify([t.sa.name, t.sa.mode, t.source, t.destination, d(t.sa.manual?.inbound), d(t.sa.manual?.outbound), t.sa.dynamic]);
}

function specFor(t: EsTunnelConfig, dir: 'inbound' | 'outbound', m: ManualDirection): SaSpec {
  return {
    name: t.sa.name, direction: dir, protocol: m.protocol, mode: t.sa.mode, spi: m.spi, manual: true,
    ...(m.auxSpi !== undefined ? { auxSpi: m.auxSpi } : {}),
    ...(m.enc ? { enc: m.enc } : {}), ...(m.auth ? { auth: m.auth } : {}),
    tunnel: dir === 'outbound' ? { source: t.source, destination: t.destination } : { source: t.destination, destination: t.source },
  };
}

export class IpsecCore {
  tunnels = new Map<string, TunnelSas>();
  drops = newDrops();
  encrypted = 0;
  decrypted = 0;
  /**
   * `store`: the SAs' state in the PIC's shared table (the worker's core, init true, and the main
   * thread's express-path core over the same table, init false); none: each SA keeps its own.
   */
  constructor(private readonly store?: SaStore) {}
  private newSa(spec: SaSpec, now = Date.now()): SecurityAssociation { return new SecurityAssociation(spec, now, this.store); }
  /** Every SA of a tunnel, once each. */
  private static all(t: TunnelSas): Set<SecurityAssociation> {
    const out = new Set<SecurityAssociation>(t.inboundBySpi.values());
    if (t.inbound) out.add(t.inbound);
    if (t.outbound) out.add(t.outbound);
    return out;
  }

  /** Install the tunnels; an SA whose configuration did not change keeps its state and counters. */
  configure(list: EsTunnelConfig[]): void {
    const next = new Map<string, TunnelSas>();
    for (const t of list) {
      const fp = fingerprint(t);
      const prev = this.tunnels.get(t.ifl);
      if (prev && prev.fingerprint === fp) { next.set(t.ifl, prev); continue; }
      const m = t.sa.manual;
      // dynamic SAs get their keys from kmd (installDynamic); until then, none
      next.set(t.ifl, {
        ifl: t.ifl, pic: t.pic, saName: t.sa.name, fingerprint: fp, dynamic: !!t.sa.dynamic, inboundBySpi: new Map(),
        ...(m?.outbound ? { outbound: this.newSa(specFor(t, 'outbound', m.outbound)) } : {}),
        ...(m?.inbound ? { inbound: this.newSa(specFor(t, 'inbound', m.inbound)) } : {}),
      });
    }
    // the SAs of tunnels gone or changed give their slots back (after the new ones took theirs: both
    // sides of a shared table do the same, in the same order)
    const kept = new Set([...next.values()]);
    for (const t of this.tunnels.values()) if (!kept.has(t)) for (const sa of IpsecCore.all(t)) sa.release();
    this.tunnels = next;
  }

  /**
   * `clear ipsec security-associations [SA]`: reinstall the SAs fresh (counters, sequence numbers,
   * windows); all of them, or those of the named SA only (the PIC's own counters stay then).
   */
  clear(saName?: string): void {
    for (const t of this.tunnels.values()) {
      if (saName !== undefined && t.saName !== saName) continue;
      const old = IpsecCore.all(t);
      if (t.dynamic) { t.inboundBySpi.clear(); t.inbound = t.outbound = undefined; }   // kmd negotiates new ones
      else {
        if (t.outbound) t.outbound = this.newSa(t.outbound.spec);
        if (t.inbound) t.inbound = this.newSa(t.inbound.spec);
      }
      for (const sa of old) sa.release();
    }
    if (saName !== undefined) return;
    this.drops = newDrops();
    this.encrypted = this.decrypted = 0;
  }

  /** A negotiated pair: the outbound SA replaces the current one; the inbound joins the others until removed. */
  installDynamic(ifl: string, pair: DynamicSaPair, now = Date.now()): boolean {
    const t = this.tunnels.get(ifl);
    if (!t || !t.dynamic) return false;
    const before = IpsecCore.all(t);
    if (pair.inbound) {
      const inb = this.newSa(pair.inbound, now);
      t.inboundBySpi.set(pair.inbound.spi, inb);
      t.inbound = inb;
    }
    if (pair.outbound) t.outbound = this.newSa(pair.outbound, now);
    this.releaseGone(t, before);
    return true;
  }
  /** Remove negotiated SAs by SPI (inbound: ours; outbound: the peer's). */
  removeDynamic(ifl: string, inboundSpis: number[], outboundSpis: number[]): void {
    const t = this.tunnels.get(ifl);
    if (!t) return;
    const before = IpsecCore.all(t);
    for (const spi of inboundSpis) {
      const sa = t.inboundBySpi.get(spi);
      t.inboundBySpi.delete(spi);
      if (t.inbound === sa) t.inbound = [...t.inboundBySpi.values()].pop();
    }
    if (t.outbound && outboundSpis.includes(t.outbound.spec.spi)) t.outbound = undefined;
    this.releaseGone(t, before);
  }
  /** SAs of `t` that were there before a change and are not now give their slots back. */
  private releaseGone(t: TunnelSas, before: Set<SecurityAssociation>): void {
    const now = IpsecCore.all(t);
    for (const sa of before) if (!now.has(sa)) sa.release();
  }

  /** `sa`: the SA already found (saFor; the express path looks it up before it takes the lock) */
  encrypt(ifl: string, pkt: Buffer, sa = this.saFor(ifl, 'outbound', pkt)): SaResult { return this.count('outbound', sa?.encapsulate(pkt)); }
  /** With `defer` (inside a multi-buffer batch) an ESP open may be queued: a PendingOpen that `opened` finishes. */
  decrypt(ifl: string, pkt: Buffer, defer?: false, sa?: SecurityAssociation): SaResult;
  decrypt(ifl: string, pkt: Buffer, defer: boolean): SaResult | PendingOpen;
  decrypt(ifl: string, pkt: Buffer, defer = false, sa = this.saFor(ifl, 'inbound', pkt)): SaResult | PendingOpen {
    const r = sa?.decapsulate(pkt, defer);
    return r?.ok === 'pending' ? r : this.count('inbound', r);
  }
  /** A deferred open after its batch, counted as decrypt counts. */
  opened(p: PendingOpen): SaResult { return this.count('inbound', p.sa.opened(p)); }
  /** The SA a packet of `ifl` takes in direction `dir` (inbound: by its SPI, for negotiated SAs). */
  saFor(ifl: string, dir: 'inbound' | 'outbound', pkt: Buffer): SecurityAssociation | undefined {
    const t = this.tunnels.get(ifl);
    return t?.dynamic && dir === 'inbound' ? t.inboundBySpi.get(inboundSpi(pkt) ?? -1) : t?.[dir];
  }
  private count(dir: 'inbound' | 'outbound', r: SaResult | undefined): SaResult {
    if (!r) { this.drops['no-sa']++; return { ok: false, reason: 'no-sa' }; }
    if (!r.ok) this.drops[r.reason]++;
    else if (dir === 'outbound') this.encrypted++;
    else this.decrypted++;
    return r;
  }
  /**
   * A seal the multi-buffer library refused at the end of its batch, after encrypt counted it as sealed:
   * counted as a drop (`malformed`) instead, on the PIC and on the SA (`bytes`: the packet's IPv4 length).
   */
  refused(ifl: string, bytes: number): void {
    this.encrypted--;
    this.drops['malformed']++;
    this.tunnels.get(ifl)?.outbound?.unseal(bytes);
  }
  overhead(ifl: string, len: number): number { return this.tunnels.get(ifl)?.outbound?.overhead(len) ?? 0; }

  /** Lifetimes: the soft and hard expiries this tick crossed (kmd rekeys on soft, removes on hard). */
  tick(now: number): Array<{ ifl: string; direction: string; event: 'soft' | 'hard'; spi: number }> {
    const out: Array<{ ifl: string; direction: string; event: 'soft' | 'hard'; spi: number }> = [];
    for (const t of this.tunnels.values()) {
      const all = new Set([t.outbound, t.inbound, ...t.inboundBySpi.values()]);
      for (const sa of all) {
        const e = sa?.tick(now);
        if (e) out.push({ ifl: t.ifl, direction: sa!.spec.direction, event: e, spi: sa!.spec.spi });
      }
    }
    return out;
  }

  snapshot(now = Date.now()): SaSnapshot[] {
    const out: SaSnapshot[] = [];
    for (const t of this.tunnels.values()) {
      const list = t.dynamic ? [...t.inboundBySpi.values(), t.outbound] : [t.inbound, t.outbound];
      for (const sa of list) {
        if (!sa) continue;
        const s = sa.spec;
        out.push({
          ifl: t.ifl, pic: t.pic, name: s.name, direction: s.direction, protocol: s.protocol.toUpperCase(), spi: s.spi,
          ...(s.auxSpi !== undefined ? { auxSpi: s.auxSpi } : {}), mode: s.mode, manual: s.manual, state: sa.state,
          ...(s.enc ? { encryption: s.enc.algorithm } : {}), ...(s.auth ? { authentication: s.auth.algorithm } : {}),
          packets: sa.counters.packets, bytes: sa.counters.bytes, drops: { ...sa.counters.drops },
          ...(s.direction === 'outbound' ? { sequence: sa.sequence } : {}),
          ...(sa.window ? { replayWindow: sa.window.size } : {}),
          tunnel: s.tunnel!, ...(sa.softSeconds !== undefined ? { softSeconds: sa.softSeconds, hardSeconds: s.lifetime!.hardSeconds } : {}),
          ...(sa.remainingSeconds(now) !== undefined ? { remainingSeconds: sa.remainingSeconds(now) } : {}),
        });
      }
    }
    return out;
  }
}
