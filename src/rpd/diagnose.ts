/**
 * `show ipsec diagnosis`, the BGP part: a BGP session that stays down because of its transport SA
 * (`ipsec-sa` at [edit protocols bgp]). One finding per such neighbor, each saying what to change.
 * It reads only; the PFE's `ipsec-no-sa` drops and the session's counters are the evidence.
 */
import type { Rpd } from './rpd.js';
import type { RouterModel } from '../config/model.js';

/** `id`: which finding, stable for scripts (`<finding-id>` in the XML reply) */
export type BgpSaFindingId = 'bgp-sa-not-configured' | 'bgp-sa-not-manual-transport' | 'bgp-sa-mismatch' | 'bgp-nothing-received' | 'bgp-session-error';
export interface BgpSaFinding { id: BgpSaFindingId; peer: string; sa: string; state: string; text: string }

export function bgpSaDiagnosis(rpd: Rpd, model: RouterModel | undefined, only?: string): BgpSaFinding[] {
  const out: BgpSaFinding[] = [];
  const noSa = rpd.pfe.drops.get('ipsec-no-sa') ?? 0;
  for (const p of rpd.bgp.peers.values()) {
    const name = p.n.ipsecSa;
    if (!name || (only && name !== only)) continue;
    const s = p.s, state = s.state;
    if (state === 'Established') continue;
    const sa = model?.sas.get(name);
    const peer = p.n.text;
    const add = (id: BgpSaFindingId, text: string) => out.push({ id, peer, sa: name, state, text });
    if (!sa) { add('bgp-sa-not-configured', `BGP names ipsec-sa ${name}, which is not configured (no commit check, as the chapter says): nothing protects the session, and a peer that expects ESP or AH drops it. Change: define security-association ${name} (mode transport; manual) or remove the ipsec-sa statement`); continue; }
    if (sa.mode !== 'transport' || !sa.manual) { add('bgp-sa-not-manual-transport', `${name} is ${sa.mode !== 'transport' ? 'a tunnel-mode' : 'a dynamic'} SA: BGP takes only a manual transport-mode SA ("When you use transport mode, the JUNOS software supports only BGP for manual SAs"). Change: set security ipsec security-association ${name} mode transport, with manual keys`); continue; }
    const inb = sa.manual.inbound ?? sa.manual.outbound, outb = sa.manual.outbound ?? sa.manual.inbound;
    const ours = `ours: outbound ${outb?.protocol?.toUpperCase() ?? '?'} SPI ${outb?.spi ?? '?'}, inbound ${inb?.protocol?.toUpperCase() ?? '?'} SPI ${inb?.spi ?? '?'}`;
    if (s.counters.inMessages === 0 && noSa > 0) {
      add('bgp-sa-mismatch', `the session stays ${state}: nothing from ${peer} decrypts, and ${noSa} IPsec packets came with an SPI or protocol we have no SA for (ipsec-no-sa): the peer's SA does not match ${name} (${ours}). Change: the same protocol, SPIs, algorithms and keys on both sides (its outbound SPI is our inbound one)`);
    } else if (s.counters.inMessages === 0) {
      add('bgp-nothing-received', `the session stays ${state}: no BGP message from ${peer} through ${name}: either its packets fail authentication (a different key or algorithm: the ES PIC drops them) or it sends nothing (no BGP there, or it expects the session in clear). Change: compare the peer's SA with ${name} (${ours}), keys and algorithms included`);
    } else if (s.lastError) {
      add('bgp-session-error', `the session goes down (${s.lastError.sent ? 'we sent' : 'the peer sent'} NOTIFICATION ${s.lastError.n.code}/${s.lastError.n.subcode}) although ${name} carries it: not the SA's doing. Change: see show bgp neighbor ${peer}`);
    }
  }
  return out;
}

/** The text of the BGP findings, after the tunnels'. */
export function formatBgpSaDiagnosis(list: BgpSaFinding[]): string {
  return list.map(f => `BGP neighbor ${f.peer}: transport SA ${f.sa}, ${f.state}\n  ${f.text}\n`).join('\n');
}
