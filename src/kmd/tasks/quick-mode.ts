/**
 * Quick mode (RFC 2409 5.5): the IPsec SA pair a dynamic SA asks for, negotiated under a matured IKE
 * SA (strongSwan's quick_mode task, in shape). The initiator builds messages 1 and 3 and processes 2;
 * the responder processes 1 and 3 and builds 2. Both install the pair in the ES PIC when done; the
 * exchange manager keeps each quick mode (by message ID), what it sent and what it received.
 */
import { randomBytes } from 'node:crypto';
import type { IkeSa } from '../ike-sa.js';
import type { KmdContext } from '../context.js';
import type { DynamicSaPair } from '../../../pics/es/core.js';
import type { SaSpec } from '../../../pics/es/sa.js';
import { Pt, Xchg, N, NOTIFY_NAMES, Proto, DOI_IPSEC, DH_GROUPS, FLAG_ENCRYPTION, NATT_PORT } from '../constants.js';
import { decodeSa, decodeId, decodeNotify, encodeNotify, encodePayloads, type Header, type RawPayload, type OutPayload } from '../codec.js';
import { ipsecSaBody, ipsecSaReply, chooseIpsec, readIpsecReply, describeIpsec, describeIpsecOffer } from '../proposals.js';
import { selectorId, idSelector, within, describeSelector, type Selector } from '../proxy.js';
import { DhKey } from '../dh.js';
import { informationalOut } from './informational.js';
import * as K from '../keymat.js';
import { KMD_LIMITS, hashEq, hex, spiNum, type DynTunnel, type FailureKind, type Installed, type QuickMode } from '../types.js';
import { intToIp } from '../../net/ip.js';

/** A quick mode's message, decrypted and its HASH first: what each step reads of it. */
interface QmMessage {
  hd: Header; m: Buffer; pl: RawPayload[]; rest: Buffer; commit: () => void;
  get(type: number): RawPayload | undefined;
}

// ------------------------------------------------------------------------- initiator

/** Message 1: HASH(1), SA, Ni [, KE], IDci, IDcr. */
export function initiate(k: KmdContext, ike: IkeSa, t: DynTunnel): void {
  if (!t.proposals.length) return k.fail(t, `IPsec policy ${t.policy.name} has no usable proposal`, 'no-proposal');
  k.trace(`IPsec policy ${t.policy.name} for ${t.saName}: proposals ${t.proposals.map(p => p.name).join(', ')}${t.pfsGroup ? `, PFS group${t.pfsGroup}` : ', no PFS'}, on IKE SA ${hex(ike.icookie)}`, 'policy-manager');
  const mid = k.exchanges.freeMid(ike, () => randomBytes(4).readUInt32BE(0));
  const qm: QuickMode = {
    mid, role: 'initiator', tunnel: t, ike, ni: randomBytes(32), mySpi: { esp: k.allocSpi(), ah: k.allocSpi() },
    ids: { ci: t.proxy.local, cr: t.proxy.remote }, retries: 0, nextRetry: 0, awaiting: true, done: false,
  };
  t.negotiating = mid;
  const sa = ipsecSaBody(k.wireProps(t.proposals), qm.mySpi, t.pfsGroup, ike.behindNat);
  const payloads: OutPayload[] = [{ type: Pt.SA, body: sa }, { type: Pt.NONCE, body: qm.ni }];
  if (t.pfsGroup) {
    qm.dh = new DhKey(t.pfsGroup);
    qm.gx = qm.dh.pub;
    payloads.push({ type: Pt.KE, body: qm.gx });
  }
  payloads.push({ type: Pt.ID, body: selectorId(qm.ids.ci) }, { type: Pt.ID, body: selectorId(qm.ids.cr) });
  const rest = encodePayloads(payloads);
  const hash = K.hash1(ike.hashAlg, ike.keys!.a, mid, rest);
  k.exchanges.addQuickMode(qm);
  k.trace(`-> ${intToIp(ike.peer)} Quick mode message 1 for ${t.saName}: ${t.proposals.map(describeIpsec).join(', ')}${t.pfsGroup ? `, PFS group${t.pfsGroup}` : ''}; ${describeSelector(qm.ids.ci)} <-> ${describeSelector(qm.ids.cr)}`);
  k.exchanges.send(ike, qm, ike.seal({ exchange: Xchg.QUICK, mid }, [{ type: Pt.HASH, body: hash }, ...payloads]), true);
}

/** The lifetime the responder chose, shortened by its RESPONDER-LIFETIME notify if it sent one. */
function replyLifetime(k: KmdContext, qm: QuickMode, x: QmMessage, c: { lifetimeSeconds: number; proposalNum: number }): number {
  let lifetime = Math.min(k.fromWire(c.lifetimeSeconds), qm.tunnel.proposals[c.proposalNum - 1]!.lifetimeSeconds);
  for (const n of x.pl.filter(p => p.type === Pt.N)) {
    const d = decodeNotify(n.body);
    if (d.ok && d.value.type === N.RESPONDER_LIFETIME && d.value.data.length >= 8) {
      const at = d.value.data.readUInt16BE(0) & 0x7fff;
      if (at === 1 && d.value.data.readUInt16BE(2) === 1 && d.value.data.length >= 12) lifetime = Math.min(lifetime, k.fromWire(d.value.data.readUInt32BE(8)));
    }
  }
  return lifetime;
}

/** Message 2: the responder's choice; -> message 3: HASH(3), and the pair goes in. */
function message2(k: KmdContext, ike: IkeSa, qm: QuickMode, x: QmMessage): void {
  const { hd } = x;
  const nonce = x.get(Pt.NONCE);
  if (!nonce) return k.drop('ike-malformed', 'quick mode message 2');
  if (!hashEq(K.hash2(ike.hashAlg, ike.keys!.a, hd.mid, qm.ni, x.rest), x.pl[0]!.body)) return k.drop('ike-bad-hash', 'quick mode message 2');
  x.commit(); k.acceptFloat(ike);
  const saP = x.get(Pt.SA);
  const sa = saP && decodeSa(saP.body);
  if (!sa?.ok) return k.drop('ike-malformed', 'quick mode message 2');
  const c = readIpsecReply(sa.value, qm.tunnel.proposals, qm.tunnel.pfsGroup);
  if ('error' in c) { k.qmDone(qm); return k.fail(qm.tunnel, `quick mode: ${c.error}`, 'no-proposal'); }
  qm.choice = { ...c, lifetimeSeconds: replyLifetime(k, qm, x, c) };
  qm.nr = Buffer.from(nonce.body);
  if (qm.tunnel.pfsGroup) {
    const ke = x.get(Pt.KE);
    if (!ke || ke.body.length !== DH_GROUPS[qm.tunnel.pfsGroup]!.bytes) { k.qmDone(qm); return k.fail(qm.tunnel, 'quick mode: the reply has no KE payload for PFS', 'no-proposal'); }
    qm.gyPeer = Buffer.from(ke.body);
  }
  k.exchanges.received(qm, x.m);
  const h3 = K.hash3(ike.hashAlg, ike.keys!.a, hd.mid, qm.ni, qm.nr);
  k.exchanges.reply(ike, qm, ike.seal({ exchange: Xchg.QUICK, mid: hd.mid }, [{ type: Pt.HASH, body: h3 }]));
  k.trace(`<- ${intToIp(ike.peer)} Quick mode message 2; -> message 3`);
  install(k, qm);
}

// ------------------------------------------------------------------------- responder

/** The proxy identities of message 1 (IDci, IDcr; none: the two gateways themselves) and the tunnel they fit. */
function tunnelFor(k: KmdContext, ike: IkeSa, x: QmMessage): { t: DynTunnel; ci: Selector; cr: Selector } | undefined {
  const ids = x.pl.filter(p => p.type === Pt.ID);
  // the initiator's IDci is its side (our remote), IDcr ours
  const sel = (p: RawPayload | undefined, dflt: number): Selector | undefined => {
    if (!p) return { prefix: { addr: dflt, len: 32 }, protocol: 0, port: 0 };
    const d = decodeId(p.body);
    return d.ok ? idSelector(d.value) : undefined;
  };
  const ci = sel(ids[0], ike.peer), cr = sel(ids[1], ike.local);
  if (!ci || !cr) { refuse(k, ike, N.INVALID_ID_INFORMATION, 'proxy identities that are not IPv4 addresses or subnets', 'proxy'); return undefined; }
  const t = [...k.tunnels.values()].find(y => y.peer === ike.peer && within(ci, y.proxy.remote) && within(cr, y.proxy.local));
  if (!t) {
    const mine = [...k.tunnels.values()].filter(y => y.peer === ike.peer).map(y => `${describeSelector(y.proxy.local)} <-> ${describeSelector(y.proxy.remote)}`).join('; ');
    k.lastProxyMismatch.set(ike.peer, { theirs: `${describeSelector(cr)} <-> ${describeSelector(ci)}`, ours: mine || 'no dynamic SA for this peer', at: k.host.now() });
    refuse(k, ike, N.INVALID_ID_INFORMATION, `proxy identities do not match: the peer wants ${describeSelector(ci)} <-> ${describeSelector(cr)} (its side first); ours are ${mine || 'none for this peer'}`, 'proxy', [...k.tunnels.values()].filter(y => y.peer === ike.peer));
    return undefined;
  }
  return { t, ci, cr };
}

/** Our choice among the peer's IPsec proposals, with PFS as the tunnel's policy says; or refused. */
function chooseFor(k: KmdContext, ike: IkeSa, t: DynTunnel, sa: Parameters<typeof chooseIpsec>[0], ke: RawPayload | undefined) {
  const chosen = chooseIpsec(sa, t.proposals, t.pfsGroup, ike.behindNat);
  if ('error' in chosen) {
    const offer = describeIpsecOffer(sa);
    const ours = `${t.proposals.map(describeIpsec).join(', ')}${t.pfsGroup ? `, PFS group${t.pfsGroup}` : ', no PFS'}`;
    k.lastOffers.set(ike.peer, { theirs: offer, ours, at: k.host.now(), phase: 2 });
    refuse(k, ike, N.NO_PROPOSAL_CHOSEN, `no IPsec proposal chosen (peer offered: ${offer}; ours: ${ours})`, 'no-proposal', [t]);
    return undefined;
  }
  if (t.pfsGroup && (!ke || ke.body.length !== DH_GROUPS[t.pfsGroup]!.bytes)) {
    const ours = `${t.proposals.map(describeIpsec).join(', ')}, PFS group${t.pfsGroup}`;
    k.lastOffers.set(ike.peer, { theirs: `${describeIpsecOffer(sa)}${ke ? ', PFS of another group' : ', no PFS'}`, ours, at: k.host.now(), phase: 2 });
    refuse(k, ike, N.INVALID_KEY_INFORMATION, `PFS group${t.pfsGroup} wanted, but the peer sent ${ke ? 'a KE payload of another group' : 'no KE payload (no PFS)'}`, 'no-proposal', [t]);
    return undefined;
  }
  return chosen;
}

/** Message 1 from the peer: the tunnel its proxy identities fit, our choice; -> message 2: HASH(2), SA, Nr [, KE], IDci, IDcr. */
function message1(k: KmdContext, ike: IkeSa, x: QmMessage): void {
  const { hd } = x;
  if (!hashEq(K.hash1(ike.hashAlg, ike.keys!.a, hd.mid, x.rest), x.pl[0]!.body)) return k.drop('ike-bad-hash', 'quick mode message 1');
  x.commit(); k.acceptFloat(ike);
  const saP = x.get(Pt.SA), nonce = x.get(Pt.NONCE), ke = x.get(Pt.KE);
  const sa = saP && decodeSa(saP.body);
  if (!sa?.ok || !nonce) return k.drop('ike-malformed', 'quick mode message 1');
  const found = tunnelFor(k, ike, x);
  if (!found) return;
  const { t, ci, cr } = found;
  const chosen = chooseFor(k, ike, t, sa.value, ke);
  if (!chosen) return;
  const qm: QuickMode = {
    mid: hd.mid, role: 'responder', tunnel: t, ike, ni: Buffer.from(nonce.body), nr: randomBytes(32),
    mySpi: { esp: k.allocSpi(), ah: k.allocSpi() }, ids: { ci, cr }, retries: 0, nextRetry: 0, awaiting: false, done: false,
    choice: { ...chosen.choice, lifetimeSeconds: Math.min(k.fromWire(chosen.choice.lifetimeSeconds), chosen.ours.lifetimeSeconds) },
  };
  const out: OutPayload[] = [{ type: Pt.SA, body: ipsecSaReply(chosen.parts, chosen.choice.proposalNum, qm.mySpi) }, { type: Pt.NONCE, body: qm.nr! }];
  if (t.pfsGroup) {
    qm.dh = new DhKey(t.pfsGroup);
    qm.gx = qm.dh.pub; qm.gyPeer = Buffer.from(ke!.body);
    out.push({ type: Pt.KE, body: qm.gx });
  }
  const ids = x.pl.filter(p => p.type === Pt.ID);
  if (ids.length >= 2) out.push({ type: Pt.ID, body: Buffer.from(ids[0]!.body) }, { type: Pt.ID, body: Buffer.from(ids[1]!.body) });
  // our lifetime is shorter than the one offered: say so (RFC 2407 4.6.3.1)
  if (chosen.ours.lifetimeSeconds < k.fromWire(chosen.choice.lifetimeSeconds)) {
    const attrs = Buffer.alloc(10); attrs.writeUInt16BE(0x8001, 0); attrs.writeUInt16BE(1, 2); attrs.writeUInt16BE(2, 4); attrs.writeUInt16BE(4, 6);
    const life = Buffer.alloc(4); life.writeUInt32BE(k.toWire(chosen.ours.lifetimeSeconds));
    out.push({ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: chosen.parts[chosen.parts.length - 1]!.protocol, spi: chosen.choice.peerSpi.esp ?? chosen.choice.peerSpi.ah!, type: N.RESPONDER_LIFETIME, data: Buffer.concat([attrs.subarray(0, 8), life]) }) });
  }
  const hash = K.hash2(ike.hashAlg, ike.keys!.a, hd.mid, qm.ni, encodePayloads(out));
  k.exchanges.received(qm, x.m);
  k.exchanges.addQuickMode(qm);
  t.negotiating = hd.mid;
  k.trace(`IPsec policy ${t.policy.name} for ${t.saName}: chose ${describeIpsec(chosen.ours)} (proposal ${chosen.ours.name}) from ${describeIpsecOffer(sa.value)}`, 'policy-manager');
  k.trace(`<- ${intToIp(ike.peer)} Quick mode message 1 for ${t.saName}; chose ${describeIpsec(chosen.ours)}; -> message 2`);
  k.exchanges.send(ike, qm, ike.seal({ exchange: Xchg.QUICK, mid: hd.mid }, [{ type: Pt.HASH, body: hash }, ...out]), true);
}

/** Message 3: HASH(3); the pair goes in. */
function message3(k: KmdContext, ike: IkeSa, qm: QuickMode, x: QmMessage): void {
  if (!hashEq(K.hash3(ike.hashAlg, ike.keys!.a, x.hd.mid, qm.ni, qm.nr!), x.pl[0]!.body)) return k.drop('ike-bad-hash', 'quick mode message 3');
  x.commit(); k.acceptFloat(ike);
  k.exchanges.received(qm, x.m); k.exchanges.settle(qm);
  k.trace(`<- ${intToIp(ike.peer)} Quick mode message 3`);
  install(k, qm);
}

/** Refuse a quick mode with an encrypted notify, and say why in the log (and on the tunnels concerned). */
function refuse(k: KmdContext, ike: IkeSa, type: number, why: string, kind: FailureKind, ts: DynTunnel[] = []): void {
  k.host.log(`KMD_PM_P2_REFUSED: quick mode from ${intToIp(ike.peer)} refused: ${why}`);
  k.drop(`ike-${(NOTIFY_NAMES[type] ?? 'refused').toLowerCase()}`, intToIp(ike.peer));
  for (const t of ts) { t.lastError = why; t.lastErrorKind = kind; t.failedAt = k.host.now(); }
  informationalOut(k, ike, [{ type: Pt.N, body: encodeNotify({ doi: DOI_IPSEC, protocol: Proto.ISAKMP, spi: Buffer.concat([ike.icookie, ike.rcookie]), type, data: Buffer.alloc(0) }) }]);
}

// ------------------------------------------------------------------------- process

/** A quick mode message under a matured IKE SA: a new one (message 1), or the next of one under way. */
export function process(k: KmdContext, ike: IkeSa, hd: Header, m: Buffer): void {
  if (!ike.matured) return k.drop('ike-quick-mode-before-phase1', intToIp(ike.peer));
  if (!(hd.flags & FLAG_ENCRYPTION)) return k.drop('ike-unexpected-cleartext', 'quick mode');
  if (hd.mid === 0) return k.drop('ike-malformed', 'quick mode with message ID 0');
  const qm = k.exchanges.quickMode(ike, hd.mid);
  if (k.exchanges.duplicate(ike, qm, m)) return;
  if (!qm && k.exchanges.underWay(ike) >= KMD_LIMITS.quickModes) return k.drop('ike-quick-mode-limit', intToIp(ike.peer));
  const o = ike.open(hd, m);
  if (!o.ok) return k.drop(`ike-${o.reason}`, 'quick mode');
  const pl = o.value.payloads;
  if (pl[0]?.type !== Pt.HASH) return k.drop('ike-malformed', 'quick mode without a HASH first');
  const rest = m.length && pl.length > 1 ? Buffer.concat(pl.slice(1).map(p => p.raw)) : Buffer.alloc(0);
  const x: QmMessage = { hd, m, pl, rest, commit: o.value.commit, get: t => pl.find(p => p.type === t) };
  if (!qm) return message1(k, ike, x);
  if (qm.role === 'initiator' && !qm.nr) return message2(k, ike, qm, x);
  if (qm.role === 'responder' && !qm.done) return message3(k, ike, qm, x);
  k.drop('ike-unexpected-quick-mode');
}

// ------------------------------------------------------------------------- install

/** The pair's SA specs for the ES PIC, keyed from KEYMAT. */
function specs(k: KmdContext, qm: QuickMode, gxy: Buffer | undefined): DynamicSaPair {
  const t = qm.tunnel, ike = qm.ike, c = qm.choice!;
  const encLen = c.encryption ? K.CIPHERS[c.encryption].keyLen : 0;
  const authLen = c.authentication ? (c.authentication === 'hmac-md5-96' ? 16 : 20) : 0;
  const km = (proto: number, spi: Buffer, len: number) => K.keymat(ike.hashAlg, ike.keys!.d, gxy, proto, spi, qm.ni, qm.nr!, len);
  const peerSpi = c.peerSpi;
  const spec = (dir: 'inbound' | 'outbound'): SaSpec => {
    const spis = dir === 'inbound' ? qm.mySpi : { esp: peerSpi.esp!, ah: peerSpi.ah! };
    const base = { name: t.saName, direction: dir, protocol: c.protocol, mode: 'tunnel' as const, manual: false,
      tunnel: dir === 'outbound' ? { source: t.local, destination: t.peer } : { source: t.peer, destination: t.local },
      replayWindow: t.replayWindow, lifetime: { hardSeconds: Math.ceil(c.lifetimeSeconds / k.rate) },   // the ES PIC counts wall seconds
      // through a NAT: ESP in UDP (RFC 3948) from our port 4500 to the peer's (a NAT may have mapped it)
      ...(dir === 'outbound' && c.udpEncap ? { encap: { sport: NATT_PORT, dport: ike.port } } : {}) };
    if (c.protocol === 'esp') {
      const key = km(Proto.ESP, spis.esp, encLen + authLen);
      return { ...base, spi: spis.esp.readUInt32BE(0), ...(c.encryption ? { enc: { algorithm: c.encryption, key: key.subarray(0, encLen) } } : {}), ...(c.authentication ? { auth: { algorithm: c.authentication, key: key.subarray(encLen) } } : {}) };
    }
    if (c.protocol === 'ah') {
      const key = km(Proto.AH, spis.ah, authLen);
      return { ...base, spi: spis.ah.readUInt32BE(0), auth: { algorithm: c.authentication!, key } };
    }
    const ke = km(Proto.ESP, spis.esp, encLen), ka = km(Proto.AH, spis.ah, authLen);
    return { ...base, spi: spis.ah.readUInt32BE(0), auxSpi: spis.esp.readUInt32BE(0), enc: { algorithm: c.encryption!, key: ke }, auth: { algorithm: c.authentication!, key: ka } };
  };
  return { inbound: spec('inbound'), outbound: spec('outbound') };
}

const showSpis = (x: { esp?: number; ah?: number }) => Object.entries(x).map(([p, v]) => `${p.toUpperCase()} 0x${(v as number).toString(16)}`).join(' ');

/**
 * Into the ES PIC. Inside the router no wait is needed: the ES PIC takes the SAs in order with the
 * packets (its ring), and the PFE hands kmd a quick mode message before the ESP behind it. The wait
 * here is for the peer: the responder installs when message 3 reaches it, and some (strongSwan) take
 * a moment, so the initiator's outbound SA goes in a moment after its inbound one, lest the first
 * packets overtake the peer's install (test/e2e/strongswan.test.ts loses its first ping without it).
 */
function toPic(k: KmdContext, qm: QuickMode, t: DynTunnel, pair: DynamicSaPair, entry: Installed, inbound: Array<{ proto: number; spi: number; dst: number }>): void {
  if (qm.role === 'responder') {
    k.trace(`install on ${t.ifl}: inbound ${showSpis(entry.inSpi)}, outbound ${showSpis(entry.outSpi)} (the outbound one replaces the current)`, 'routing-socket');
    k.host.install(t.ifl, pair, inbound);
    return;
  }
  k.trace(`install on ${t.ifl}: inbound ${showSpis(entry.inSpi)} now, outbound ${showSpis(entry.outSpi)} in ${KMD_LIMITS.peerInstallMs} ms`, 'routing-socket');
  k.host.install(t.ifl, { inbound: pair.inbound! }, inbound);
  k.later(KMD_LIMITS.peerInstallMs, () => {
    if (!k.tunnels.get(t.ifl)?.installed.includes(entry)) return;   // gone meanwhile
    k.trace(`install on ${t.ifl}: outbound ${showSpis(entry.outSpi)} (it replaces the current)`, 'routing-socket');
    k.host.install(t.ifl, { outbound: pair.outbound! }, []);
    k.host.tunnelReady(t.ifl, true);
  });
}

/** Both directions' keys from KEYMAT, into the ES PIC; the SAs it replaces retire a moment later. */
function install(k: KmdContext, qm: QuickMode): void {
  const t = qm.tunnel, ike = qm.ike, c = qm.choice!;
  let gxy: Buffer | undefined;
  if (qm.gyPeer && qm.dh) {
    try { gxy = qm.dh.secret(qm.gyPeer); } catch { k.qmDone(qm); return k.fail(t, 'PFS Diffie-Hellman failed (a bad public value)'); }
  }
  qm.installed = true;
  k.qmDone(qm);
  const now = k.host.now(), life = k.life();
  const mySpi = qm.mySpi, peerSpi = c.peerSpi;
  const pair = specs(k, qm, gxy);
  gxy?.fill(0);
  const inSpi = { ...(c.protocol !== 'ah' ? { esp: spiNum(mySpi.esp)! } : {}), ...(c.protocol !== 'esp' ? { ah: spiNum(mySpi.ah)! } : {}) };
  const outSpi = { ...(c.protocol !== 'ah' ? { esp: spiNum(peerSpi.esp)! } : {}), ...(c.protocol !== 'esp' ? { ah: spiNum(peerSpi.ah)! } : {}) };
  // the SPIs we allocated and did not use go back
  for (const [p, b] of Object.entries(mySpi)) if ((inSpi as Record<string, number | undefined>)[p] === undefined) k.spis.delete(b.readUInt32BE(0));
  const inbound = [...(inSpi.esp !== undefined && c.protocol === 'esp' ? [{ proto: 50, spi: inSpi.esp, dst: t.local }] : []), ...(inSpi.ah !== undefined ? [{ proto: 51, spi: inSpi.ah, dst: t.local }] : [])];
  const older = t.installed.slice();
  const ids = qm.role === 'initiator' ? { local: qm.ids.ci, remote: qm.ids.cr } : { local: qm.ids.cr, remote: qm.ids.ci };
  const entry: Installed = { inSpi, outSpi, created: life, softAt: k.softAt(life, c.lifetimeSeconds * 1000, qm.role), lifetime: c.lifetimeSeconds, ike: ike.key, choice: c, role: qm.role, fingerprint: t.fingerprint, ids };
  t.installed.push(entry);
  toPic(k, qm, t, pair, entry, inbound);
  k.trace(`SA ${t.saName}: ${showSpis(inSpi)} in, ${showSpis(outSpi)} out, ${qm.role}, soft lifetime ${Math.round((entry.softAt - life) / 1000)} s, hard ${c.lifetimeSeconds} s`, 'database');
  t.lastError = undefined; t.lastErrorKind = undefined; t.failedAt = undefined; t.upAt = now;
  ike.ipsecCreated++;
  const rekey = older.length > 0;
  if (rekey) t.rekeys++;
  k.host.log(`KMD_PM_SA_ESTABLISHED: IPsec SA ${t.saName} on ${t.ifl} with ${intToIp(t.peer)} established (${qm.role}${rekey ? ', rekey' : ''}, ${c.protocol}${c.udpEncap ? ` in UDP ${NATT_PORT}` : ''} ${[c.encryption, c.authentication].filter(Boolean).join(' ')}${t.pfsGroup ? ` PFS group${t.pfsGroup}` : ''}, inbound ${showSpis(inSpi)}, outbound ${showSpis(outSpi)}, lifetime ${c.lifetimeSeconds} s)`);
  // the SAs it replaces: deleted a moment later (packets already on their way still decrypt); the
  // side that started the rekey tells the peer, the other side waits for that DELETE a while longer
  for (const o of older) if (o.retireAt === undefined) {
    o.retireAt = now + KMD_LIMITS.rekeyGraceMs * (qm.role === 'initiator' ? 1 : 3);
    k.trace(`SA ${t.saName} ${showSpis(o.inSpi)} replaced: deleted in ${o.retireAt - now} ms`, 'timer');
  }
  if (qm.role === 'responder') k.host.tunnelReady(t.ifl, true);
}
