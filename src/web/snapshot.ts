/**
 * What the web page shows of one router, as typed values read from the same state the CLI's show
 * commands render (PFE interfaces and counters, the ES PIC snapshot, kmd's IKE SA table, the verdicts
 * of `show ipsec diagnosis`): the control socket's `snapshot` request answers with it. It reads only;
 * it changes nothing (the diagnosis runs without remembering counters, so the CLI's "since the last
 * diagnosis" still counts from the user's own last run).
 */
import type { Router } from '../router/router.js';
import { intToIp } from '../net/ip.js';
import { diagnose } from '../router/diagnose.js';

export interface IfdSnap { name: string; kind: string; up: boolean; inPackets: number; outPackets: number; inBytes: number; outBytes: number; drops: number; addresses: string[] }
export interface SaSnap { direction: string; protocol: string; spi: number; state: string; packets: number; bytes: number; drops: number; sequence?: number; remainingSeconds?: number }
export interface VerdictSnap { id: string; text: string }
/** `verdicts`: the findings of `show ipsec diagnosis` for this tunnel (id `ok` when none). */
export interface TunnelSnap { ifl: string; sa: string; up: boolean; local: string; peer: string; sas: SaSnap[]; verdicts: VerdictSnap[] }
export interface IkeSnap { peer: string; local: string; role: string; state: string; mode: string; matured: boolean }
export interface RouterSnapshot {
  name: string; time: number; model: string; pics: Array<{ slot: string; type: string }>; ifds: IfdSnap[]; tunnels: TunnelSnap[]; ike: IkeSnap[];
  pic: { up: boolean; restarts: number; encrypted: number; decrypted: number; drops: number } | null;
}

/** Bounds: a router with many interfaces or SAs still answers with a bounded message. */
export const SNAPSHOT_LIMITS = { ifds: 256, tunnels: 256, sasPerTunnel: 16, ike: 256, verdicts: 8, verdictChars: 600 };

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

export async function routerSnapshot(r: Router): Promise<RouterSnapshot> {
  const ifds: IfdSnap[] = [];
  for (const d of r.pfe.ifds.values()) {
    if (ifds.length >= SNAPSHOT_LIMITS.ifds) break;
    const addresses = [...r.pfe.ifls.values()].filter(l => l.ifd === d).flatMap(l => l.addresses.map(a => `${intToIp(a.local)}/${a.len}`));
    const c = d.counters;
    ifds.push({ name: d.name, kind: d.kind, up: d.adminUp && d.present, inPackets: c.inPackets, outPackets: c.outPackets, inBytes: c.inBytes, outBytes: c.outBytes, drops: c.dropTotal, addresses });
  }
  let snap;
  try { snap = r.ipsec.snapshot ? await r.ipsec.snapshot() : undefined; } catch { snap = undefined; }
  let diag: ReturnType<typeof diagnose> = [];
  try { diag = diagnose(r, snap ?? { pic: '', drops: {} as never, encrypted: 0, decrypted: 0, restarts: 0, sas: [] }, undefined, false); } catch { diag = []; }
  const tunnels: TunnelSnap[] = [];
  for (const l of r.pfe.ifls.values()) {
    if (!l.ipsecSa || tunnels.length >= SNAPSHOT_LIMITS.tunnels) continue;
    const list = snap?.sas.filter(s => s.ifl === l.name) ?? [];
    const sas = list.slice(0, SNAPSHOT_LIMITS.sasPerTunnel).map(s => ({
      direction: s.direction, protocol: s.protocol, spi: s.spi, state: s.state, packets: s.packets, bytes: s.bytes, drops: sum(s.drops),
      ...(s.sequence !== undefined ? { sequence: s.sequence } : {}), ...(s.remainingSeconds !== undefined ? { remainingSeconds: s.remainingSeconds } : {}),
    }));
    const t = list.find(s => s.direction === 'outbound')?.tunnel ?? l.tunnel;
    tunnels.push({
      ifl: l.name, sa: l.ipsecSa, up: l.up && l.ifd.adminUp && list.some(s => s.direction === 'outbound' && s.state !== 'expired') && list.some(s => s.direction === 'inbound' && s.state !== 'expired'),
      local: t ? intToIp(t.source) : '', peer: t ? intToIp(t.destination) : '', sas,
      verdicts: (diag.find(d => d.ifl === l.name)?.verdicts ?? []).slice(0, SNAPSHOT_LIMITS.verdicts).map(v => ({ id: v.id, text: v.text.slice(0, SNAPSHOT_LIMITS.verdictChars) })),
    });
  }
  const ike: IkeSnap[] = [];
  for (const s of r.kmd.ikeSas.values()) {
    if (ike.length >= SNAPSHOT_LIMITS.ike) break;
    if (s.state === 'DEAD') continue;
    ike.push({ peer: intToIp(s.peer), local: intToIp(s.local), role: s.role, state: s.state, mode: s.mode, matured: !!s.matured });
  }
  // the ES PICs answered their snapshot request (a hung or restarting worker does not)
  const pic = snap ? { up: true, restarts: snap.restarts, encrypted: snap.encrypted, decrypted: snap.decrypted, drops: sum(snap.drops) } : null;
  const pics = r.chassis.pics.map(p => ({ slot: `${p.fpc}/${p.pic}`, type: p.catalogName }));
  return { name: r.name, time: Date.now(), model: r.chassis.def.display, pics, ifds, tunnels, ike, pic };
}
