/**
 * `show ipsec diagnosis [SA]`: why a tunnel is down, or what troubles it, from this router's live
 * state and configuration: one line per finding, each saying what to change. It reads; it changes
 * nothing (except remembering counters, so that the next run says what climbed since).
 */
import type { Router } from './router.js';
import type { PicSnapshot, SaSnapshot } from '../../pics/es/core.js';
import type { IflState } from '../pfe/state.js';
import type { SaModel } from '../config/model.js';
import { intToIp } from '../net/ip.js';
import { describeSelector } from '../kmd/proxy.js';
import { describeIpsec } from '../kmd/proposals.js';

export type VerdictId =
  | 'no-route' | 'no-ike-policy' | 'no-answer' | 'no-proposal' | 'psk-mismatch' | 'proxy-mismatch' | 'other-mode'
  | 'negotiation-failed' | 'not-negotiated' | 'nothing-sent' | 'nothing-back' | 'inbound-filter-drops' | 'icv-failures'
  | 'replays' | 'df-drops' | 'certificate' | 'signature' | 'ok';
export interface Verdict { id: VerdictId; text: string }
export interface TunnelDiagnosis {
  ifl: string; sa: string; kind: 'manual' | 'dynamic'; local: number; peer: number; up: boolean; verdicts: Verdict[];
}

/** Counters as the last diagnosis saw them, per router: "climbing" is what grew since. */
const baselines = new WeakMap<Router, Map<string, number>>();

const ago = (now: number, at: number) => `${Math.max(0, Math.round((now - at) / 1000))} s ago`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function diagnose(r: Router, pic: PicSnapshot, only?: string, remember = true): TunnelDiagnosis[] {   // remember false: the web page's read, which moves no baseline
  const now = Date.now();
  const base = baselines.get(r) ?? new Map<string, number>();
  const next = new Map<string, number>();
  const climbed = (key: string, n: number) => { next.set(key, n); const b = base.get(key); return b === undefined || n < b ? '' : n > b ? ` (+${n - b} since the last diagnosis)` : ' (none since the last diagnosis)'; };
  const out: TunnelDiagnosis[] = [];
  const ifls = [...r.pfe.ifls.values()].filter(l => l.ipsecSa && l.tunnel && l.name.startsWith('es-') && (!only || l.ipsecSa === only));
  for (const l of ifls) {
    const d = diagnoseTunnel(r, pic, l, now, climbed);
    if (d) out.push(d);
  }
  if (remember) baselines.set(r, new Map([...base, ...next]));
  return out;
}

type DynTunnel = NonNullable<ReturnType<Router['kmd']['tunnels']['get']>>;
/** One tunnel's facts, as its checks read them. */
interface Ctx {
  r: Router; now: number; l: IflState; sa: SaModel; peer: number; local: number; up: boolean; t?: DynTunnel;
  v: Verdict[]; add(id: VerdictId, text: string): void;
}

function diagnoseTunnel(r: Router, pic: PicSnapshot, l: IflState, now: number, climbed: (key: string, n: number) => string): TunnelDiagnosis | undefined {
  const sa = r.model?.sas.get(l.ipsecSa!);
  if (!sa) return undefined;
  const peer = l.tunnel!.destination, local = l.tunnel!.source;
  const v: Verdict[] = [];
  const add = (id: VerdictId, text: string) => v.push({ id, text });
  const sas = pic.sas.filter(s => s.ifl === l.name);
  const t = sa.dynamic ? r.kmd.tunnels.get(l.name) : undefined;
  const up = sa.dynamic ? !!t?.installed.length : sas.some(s => s.direction === 'outbound') && sas.some(s => s.direction === 'inbound');
  const sum = (dir: 'inbound' | 'outbound', f: (s: SaSnapshot) => number) => sas.filter(s => s.direction === dir).reduce((a, s) => a + f(s), 0);
  const inPk = sum('inbound', s => s.packets), outPk = sum('outbound', s => s.packets);
  const c: Ctx = { r, now, l, sa, peer, local, up, ...(t ? { t } : {}), v, add };

  // --- the way to the peer
  const rt = r.pfe.routes.lookup(peer);
  if (!rt || rt.nh.kind === 'discard' || rt.nh.kind === 'reject') {
    add('no-route', `no route to the peer ${intToIp(peer)}${rt ? ` (the route ${intToIp(rt.prefix.addr)}/${rt.prefix.len} ${rt.nh.kind}s)` : ''}: neither IKE nor ESP can reach it. Change: add a route to ${intToIp(peer)}, e.g. set routing-options static route ${intToIp(peer)}/32 next-hop <the next router toward it>`);
  } else if (rt.nh.kind === 'tunnel') {
    add('no-route', `the route to the peer ${intToIp(peer)} (${intToIp(rt.prefix.addr)}/${rt.prefix.len}) points into the tunnel ${rt.nh.ifl} itself: the tunnel's own packets would loop. Change: a more specific route to ${intToIp(peer)} over a physical interface`);
  }

  if (sa.dynamic && t) negotiation(c, t);

  // --- traffic into the tunnel
  const terms = filterTerms(r, sa.name);
  const routes = r.pfe.routes.all().filter(x => x.protocol === 'Static' && 'ifl' in x.nh && x.nh.ifl === l.name);
  if (up && !terms.length && !routes.length) {
    add('nothing-sent', `nothing can send traffic into this tunnel: no input filter term says then ipsec-sa ${sa.name}, and no route points into ${l.name}. Change: a term with then ipsec-sa ${sa.name} in the input filter of the LAN interface (or a static route via ${l.name}'s destination address)`);
  } else if (up && outPk === 0 && inPk > 0) {
    add('nothing-sent', `traffic comes in through the tunnel (${plural(inPk, 'packet')}) but nothing goes into it: ${terms.length ? terms.map(x => `term ${x.term} of filter ${x.filter} (input of ${x.ifls.join(', ')}) matched ${plural(x.hits, 'packet')}`).join('; ') : 'no filter term sends to it'}. Change: make the encrypt filter's from conditions match what the LAN sends toward the peer (source = this LAN, destination = the peer's)`);
  } else if (sa.manual && up && outPk > 0 && inPk === 0) {
    add('nothing-back', `${plural(outPk, 'packet')} went into the tunnel and none came back: the peer drops them or sends nothing. Change: check on the peer that its SA mirrors this one (same SPIs, keys and algorithms, inbound and outbound swapped) and that its filter sends the replies into its tunnel`);
  }

  // --- after decryption, and the counters that climb
  const fd = (l.counters.drops.get('filter-discard') ?? 0) + (l.counters.drops.get('filter-reject') ?? 0);
  if (fd > 0) add('inbound-filter-drops', `${plural(fd, 'packet')} decrypted on ${l.name} ${fd === 1 ? 'was' : 'were'} discarded by its input filter ${l.inFilter ?? ''}${climbed(`${l.name}/filter`, fd)}: no term accepts what the peer sends. Change: make ${l.inFilter ?? 'the filter'} accept source = the peer's LAN, destination = this LAN${filterSummary(r, l)}`);
  const icv = sum('inbound', s => s.drops['bad-icv'] ?? 0);
  if (icv > 0) add('icv-failures', `${plural(icv, 'packet')} failed the integrity check (ICV) on the inbound SA${climbed(`${l.name}/icv`, icv)}: ${sa.manual ? 'the authentication keys or algorithms differ between the two sides. Change: the same authentication key (inbound here = outbound on the peer)' : 'negotiated keys do not fail this way: packets are corrupted or forged on the way'}`);
  const rep = sum('inbound', s => (s.drops.replay ?? 0) + (s.drops['too-old'] ?? 0));
  if (rep > 0) add('replays', `${plural(rep, 'packet')} dropped as replays on the inbound SA${climbed(`${l.name}/replay`, rep)}: someone replays this tunnel's packets, or the peer's sequence numbers went back (it lost its SA without telling). Change: nothing if it stays still; if it climbs with the peer's traffic, clear ipsec security-associations ${sa.name} on both sides`);
  const df = l.counters.drops.get('df-mtu-exceeded') ?? 0;
  if (df > 0) add('df-drops', `${plural(df, 'packet')} with DF set ${df === 1 ? 'was' : 'were'} larger than ${l.name}'s MTU of ${r.pfe.esMtu(l)} bytes (the path MTU less the SA's overhead) and dropped with an ICMP fragmentation-needed${climbed(`${l.name}/df`, df)}. Change: hosts that honor it adapt (path MTU discovery); otherwise lower the hosts' MTU or TCP MSS to ${r.pfe.esMtu(l)} - 40, or let them send without DF`);

  if (!v.length) add('ok', up ? `no problem found: ${plural(outPk, 'packet')} out, ${plural(inPk, 'packet')} in${sa.dynamic && t ? `, ${plural(t.rekeys, 'rekey')}` : ''}` : 'no problem found');
  return { ifl: l.name, sa: sa.name, kind: sa.manual ? 'manual' : 'dynamic', local, peer, up, verdicts: v };
}

/** A dynamic SA's negotiation: the failure that stops it now, or why nothing was negotiated, and the other mode. */
function negotiation(c: Ctx, t: DynTunnel): void {
  const { r, now, l, sa, peer, up, v, add } = c;
  const since = t.upAt ?? 0;
  const f1 = r.kmd.failures.get(peer);
  const fresh = <T extends { at: number }>(x: T | undefined) => (x && x.at >= since ? x : undefined);
  const offers = fresh(r.kmd.lastOffers.get(peer)), proxy = fresh(r.kmd.lastProxyMismatch.get(peer)), mode = r.kmd.modeNotes.get(peer);
  const tunnelFail = t.failedAt !== undefined && t.failedAt >= since ? { kind: t.lastErrorKind ?? 'other', why: t.lastError ?? '', at: t.failedAt } : undefined;
  const p1 = fresh(f1);
  // the most recent failure says what stops the tunnel now
  const fail = [tunnelFail, p1 && { kind: p1.kind, why: p1.why, at: p1.at, role: p1.role }].filter(Boolean).sort((a, b) => b!.at - a!.at)[0];
  if (!t.ike) add('no-ike-policy', `no IKE policy for the peer ${intToIp(peer)}: kmd cannot negotiate. Change: set security ike policy ${intToIp(peer)} proposals <ike-proposal> pre-shared-key ascii-text <key>`);
  const ours = `${t.proposals.map(describeIpsec).join(', ')}${t.pfsGroup ? `, PFS group${t.pfsGroup}` : ', no PFS'}`;
  const aggressive = t.ike?.mode === 'aggressive';
  if (fail && !up) {
    const when = ago(now, fail.at);
    failureVerdict(c, { fail, when, offers, proxy, ours, aggressive });
    if (aggressive && (fail.kind === 'no-answer' || fail.kind === 'auth') && !v.some(x => x.id === 'other-mode')) {
      add('other-mode', `this IKE policy uses Aggressive mode; a peer that accepts only Main mode drops or refuses it. Change: set security ike policy ${intToIp(peer)} mode main on both sides (Main mode is the default and hides the identities)`);
    }
  } else if (!up && !t.negotiating) {
    // on the responder side, a refusal is recorded on the peer, not on the tunnel
    if (proxy) add('proxy-mismatch', `proxy identities do not match, ${ago(now, proxy.at)}: the peer wants ${proxy.theirs}; ours are ${proxy.ours}. Change: make the input filter of ${l.name} and the peer's encrypt filter mirror each other`);
    else if (offers) add('no-proposal', `no ${offers.phase === 2 ? 'IPsec (phase 2)' : 'IKE (phase 1)'} proposal chosen, ${ago(now, offers.at)}: the peer offered ${offers.theirs}; ours: ${offers.ours}. Change: make one proposal the same on both sides`);
    else add('not-negotiated', `no IPsec SA yet: no traffic has asked for one${filterTerms(r, sa.name).length ? ` (traffic that matches ${filterTerms(r, sa.name).map(x => `term ${x.term} of filter ${x.filter}`).join(' or ')} starts IKE)` : ''}`);
  } else if (!up && t.negotiating !== undefined) add('not-negotiated', `negotiating now (${t.negotiating === -1 ? 'IKE phase 1' : 'quick mode'} with ${intToIp(peer)})`);
  // the IKE SA in use was negotiated in the other mode than ours (the peer initiated it so)
  const cur = r.kmd.ikeSnapshot().filter(s => s.peer === peer && s.matured).sort((a, b) => (a.maturedAt ?? 0) - (b.maturedAt ?? 0)).pop();
  if (mode && t.ike && (cur ? cur.mode !== t.ike.mode : !up)) add('other-mode', `the peer ${intToIp(peer)} initiates in ${mode.theirs === 'aggressive' ? 'Aggressive' : 'Main'} mode while this IKE policy says ${mode.ours} (${ago(now, mode.at)}): accepted here, as the responder accepts the initiator's mode${mode.theirs === 'aggressive' ? ', but the identities go in the clear' : ''}. Change: set security ike policy ${intToIp(peer)} mode ${mode.ours} on the peer too, or ${mode.theirs} here`);
}

type Failure = { kind: string; why: string; at: number };
type Offers = { phase?: number; theirs: string; ours: string; at: number };

/** The most recent failure of a tunnel that is down: what it means and what to change. */
function failureVerdict(c: Ctx, f: { fail: Failure; when: string; offers?: Offers; proxy?: { theirs: string }; ours: string; aggressive: boolean }): void {
  const { r, now, l, peer, local, add } = c;
  const t = c.t!;
  const { fail, when, offers, proxy, ours, aggressive } = f;
  switch (fail.kind) {
    case 'no-answer':
      add('no-answer', `the peer ${intToIp(peer)} does not answer IKE (UDP 500), ${when}: ${fail.why}. Change: check that ${intToIp(peer)} runs IKE with an IKE policy for ${intToIp(local)}, and that nothing on the way drops UDP 500 (show pfe statistics traffic, here and on the peer)`);
      break;
    case 'no-proposal':
      if (offers) add('no-proposal', `no ${offers.phase === 2 ? 'IPsec (phase 2)' : 'IKE (phase 1)'} proposal chosen, ${ago(now, offers.at)}: the peer offered ${offers.theirs}; ours: ${offers.ours}. Change: make one ${offers.phase === 2 ? 'IPsec proposal (protocol, algorithms) and the PFS group' : 'IKE proposal (authentication method, Diffie-Hellman group, algorithms)'} the same on both sides`);
      else add('no-proposal', `no proposal chosen, ${when}: ${fail.why}. The peer's own offers are not known here: show ipsec diagnosis on the peer shows both. Change: make one ${/quick mode|IPsec|PFS/.test(fail.why) ? `IPsec proposal and the PFS group the same on both sides (ours: ${ours})` : 'IKE proposal the same on both sides'}${aggressive ? '; in Aggressive mode also check that the peer accepts Aggressive mode' : ''}`);
      break;
    case 'cert': {
      const w = fail.why;
      const change = /\(revoked\)/.test(w) ? 'the peer needs a certificate that is not revoked: enroll it again (request security certificate enroll ... on the peer)'
        : /\((expired|not-yet-valid)\)/.test(w) ? 'the peer needs a certificate valid now: enroll it again; check both clocks'
        : /\(untrusted\)/.test(w) ? 'add a certification-authority profile whose file is the CA certificate that issued the peer\'s (request security certificate enroll filename F ca-name N url U), or have the peer enroll with our CA'
        : /\(identity\)/.test(w) ? `make the IKE policy's identity the peer certificate's DN or address (set security ike policy ${intToIp(peer)} identity ...), or delete it`
        : /\(path-length\)/.test(w) ? 'raise path-length (set security certificates path-length N) or shorten the chain'
        : /\(crl\)/.test(w) ? 'fix the crl file of the certification-authority profile (a CRL signed by that CA)'
        : /we cannot authenticate/.test(w) ? `give the IKE policy a certificate and key pair that match: request security key-pair NAME, request security certificate enroll ..., then local-certificate and local-key-pair of policy ${intToIp(peer)}`
        : 'look at the peer\'s kmd log for why it refused our certificate; check that it trusts our CA and that its identity matches our certificate';
      add('certificate', `certificate authentication failed, ${when}: ${w}. Change: ${change}`);
      break;
    }
    case 'auth':
      if (t.ike && t.ike.proposals.some(n => r.model?.ike.proposals.get(n)?.authenticationMethod !== 'pre-shared-keys')) {
        add('signature', `signature authentication failed, ${when}: ${fail.why}. Change: check that each side's local-certificate and local-key-pair belong together, and that both use the same authentication-method`);
        break;
      }
      add('psk-mismatch', `pre-shared key mismatch: ${fail.why.replace(/; is the pre-shared key the same on both sides\?/, '')}, ${when}. Change: the same key on both gateways: set security ike policy ${intToIp(peer)} pre-shared-key ascii-text <the peer's key>`);
      break;
    case 'proxy':
      add('proxy-mismatch', `proxy identities do not match, ${when}: ours are ${describeSelector(t.proxy.local)} <-> ${describeSelector(t.proxy.remote)} (from the input filter of ${l.name})${proxy ? `; the peer wants ${proxy.theirs}` : ''}. Change: make the input filter of ${l.name} accept exactly what the peer's encrypt filter sends (source = its LAN, destination = ours), and the peer's mirror it`);
      break;
    case 'no-policy':
      break;   // said above
    default:
      add('negotiation-failed', `the last negotiation failed, ${when}: ${fail.why}`);
  }
}

/** The input-filter terms that send traffic into an SA, with their hits and the interfaces using them. */
function filterTerms(r: Router, saName: string): Array<{ filter: string; term: string; hits: number; ifls: string[] }> {
  const out: Array<{ filter: string; term: string; hits: number; ifls: string[] }> = [];
  for (const f of r.pfe.filters.values()) {
    const ifls = [...r.pfe.ifls.values()].filter(x => x.inFilter === f.name).map(x => x.name);
    if (!ifls.length) continue;
    for (const t of f.terms) if (t.verdict?.action === 'ipsec-sa' && t.verdict.sa === saName) out.push({ filter: f.name, term: t.name, hits: t.hits.packets, ifls });
  }
  return out;
}
function filterSummary(r: Router, l: IflState): string {
  const f = l.inFilter ? r.pfe.filters.get(l.inFilter) : undefined;
  if (!f) return '';
  const accepts = f.model.terms.filter(t => t.action.kind === 'accept').map(t => `${t.name}: from ${t.sourceAddress.map(p => `${intToIp(p.addr)}/${p.len}`).join(' ') || 'any'} to ${t.destinationAddress.map(p => `${intToIp(p.addr)}/${p.len}`).join(' ') || 'any'}`);
  return accepts.length ? ` (it accepts ${accepts.join('; ')})` : ' (it accepts nothing)';
}

/** The text of `show ipsec diagnosis`. */
export function formatDiagnosis(list: TunnelDiagnosis[]): string {
  if (!list.length) return 'No IPsec tunnel (es- interface with an ipsec-sa) to diagnose\n';
  const out: string[] = [];
  for (const d of list) {
    out.push(`Tunnel ${d.ifl}: ${d.sa} (${d.kind}), ${intToIp(d.local)} -> ${intToIp(d.peer)}, ${d.up ? 'Up' : 'Down'}`);
    for (const v of d.verdicts) out.push(`  ${v.text}`);
    out.push('');
  }
  return out.join('\n');
}
