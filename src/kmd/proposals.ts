/**
 * Proposals both ways: the SA payloads kmd offers (from the IKE policy's proposals, and from a
 * dynamic SA's IPsec policy), and the choice it makes as responder (the initiator's first proposal
 * that matches one of its own). Pure.
 */
import type { IkeProposalModel, IpsecProposalModel, AuthAlg, EncAlg, IpsecProtocol } from '../config/model.js';
import {
  DOI_IPSEC, SIT_IDENTITY_ONLY, Proto, KEY_IKE, P1Attr, P1_ENC, P1_HASH, P1_AUTH, P1_GROUP, LIFE_SECONDS, LIFE_KILOBYTES,
  P2Attr, ENCAP_TUNNEL, ENCAP_UDP_TUNNEL, ENCAP_UDP_TUNNEL_DRAFT, ESP_TRANSFORM, AH_TRANSFORM, P2_AUTH,
} from './constants.js';
import { encodeSa, Attr, SaPayload, Transform } from './codec.js';

const invert = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [v, k]));
const ENC_NAME = invert(P1_ENC), HASH_NAME = invert(P1_HASH), AUTH_NAME = invert(P1_AUTH), GROUP_NAME = invert(P1_GROUP);
const ESP_NAME = invert(ESP_TRANSFORM), AH_NAME = invert(AH_TRANSFORM), P2_AUTH_NAME = invert(P2_AUTH);

/** What phase 1 settled on. */
export interface IkeChoice {
  encryption: EncAlg; hash: 'md5' | 'sha1'; method: IkeProposalModel['authenticationMethod']; group: 'group1' | 'group2';
  lifetimeSeconds: number; transformNum: number;
}

function p1Attrs(p: IkeProposalModel): Attr[] {
  return [
    { type: P1Attr.ENC, value: P1_ENC[p.encryptionAlgorithm]! },
    { type: P1Attr.HASH, value: P1_HASH[p.authenticationAlgorithm]! },
    { type: P1Attr.AUTH, value: P1_AUTH[p.authenticationMethod]! },
    { type: P1Attr.GROUP, value: P1_GROUP[p.dhGroup]! },
    { type: P1Attr.LIFE_TYPE, value: LIFE_SECONDS },
    { type: P1Attr.LIFE_DURATION, value: p.lifetimeSeconds },
  ];
}

/** The phase 1 SA payload body: one ISAKMP proposal, a transform per IKE proposal in the policy's order. */
export function ikeSaBody(props: IkeProposalModel[]): Buffer {
  return encodeSa({
    doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY,
    proposals: [{ num: 1, protocol: Proto.ISAKMP, spi: Buffer.alloc(0), transforms: props.map((p, i) => ({ num: i + 1, id: KEY_IKE, attrs: p1Attrs(p) })) }],
  });
}
/** The responder's SA payload: the one transform it chose, echoed as it came. */
export function ikeSaReply(t: Transform): Buffer {
  return encodeSa({
    doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY,
    proposals: [{ num: 1, protocol: Proto.ISAKMP, spi: Buffer.alloc(0), transforms: [{ num: t.num, id: t.id, attrs: t.attrs.map(a => ({ type: a.type, value: a.bytes ?? a.value })) }] }],
  });
}

/** Read a phase 1 transform; undefined when it offers something kmd does not do (then it is passed over). */
export function readIkeTransform(t: Transform): IkeChoice | undefined {
  if (t.id !== KEY_IKE) return undefined;
  const get = (type: number) => t.attrs.find(a => a.type === type)?.value;
  const enc = ENC_NAME[get(P1Attr.ENC) ?? -1], hash = HASH_NAME[get(P1Attr.HASH) ?? -1], method = AUTH_NAME[get(P1Attr.AUTH) ?? -1], group = GROUP_NAME[get(P1Attr.GROUP) ?? -1];
  if (!enc || !hash || !method || !group || t.attrs.some(a => a.type === P1Attr.KEY_LENGTH)) return undefined;
  let lifetime = 28800;   // RFC 2407: the default when none is given
  for (let i = 0; i < t.attrs.length; i++) {
    const a = t.attrs[i]!;
    if (a.type === P1Attr.LIFE_TYPE && a.value === LIFE_SECONDS) {
      const d = t.attrs[i + 1];
      if (d?.type === P1Attr.LIFE_DURATION && d.value > 0) lifetime = d.value;
    } else if (a.type === P1Attr.LIFE_TYPE && a.value !== LIFE_KILOBYTES) return undefined;
  }
  return { encryption: enc as EncAlg, hash: hash as 'md5' | 'sha1', method: method as IkeChoice['method'], group: group as 'group1' | 'group2', lifetimeSeconds: lifetime, transformNum: t.num };
}

/**
 * Responder: the first of the initiator's transforms (in its order) that matches one of ours. The
 * lifetime is the initiator's (kmd answers RESPONDER-LIFETIME when its own is shorter).
 */
export function chooseIke(sa: SaPayload, ours: IkeProposalModel[]): { choice: IkeChoice; transform: Transform; ours: IkeProposalModel } | { error: string } {
  if (sa.doi !== DOI_IPSEC) return { error: 'DOI not IPsec' };
  const p = sa.proposals[0];
  if (!p || p.protocol !== Proto.ISAKMP) return { error: 'no ISAKMP proposal' };
  for (const t of p.transforms) {
    const c = readIkeTransform(t);
    if (!c) continue;
    const mine = ours.find(o => o.encryptionAlgorithm === c.encryption && o.authenticationAlgorithm === c.hash && o.authenticationMethod === c.method && o.dhGroup === c.group);
    if (mine) return { choice: c, transform: t, ours: mine };
  }
  return { error: 'no proposal chosen' };
}

/** One offered phase 1 transform, in words (for logs and the diagnosis command). */
export const describeIke = (c: Pick<IkeChoice, 'encryption' | 'hash' | 'method' | 'group'>) => `${c.method} ${c.encryption} ${c.hash} ${c.group}`;
export function describeIkeOffer(sa: SaPayload): string {
  return sa.proposals[0]?.transforms.map(t => { const c = readIkeTransform(t); return c ? describeIke(c) : `transform ${t.id} (unsupported)`; }).join(', ') ?? '';
}

// ----------------------------------------------------------------------------- phase 2

/** What quick mode settled on for one protocol of the SA (ESP, AH, or both for a bundle). */
export interface IpsecChoice {
  protocol: IpsecProtocol;
  encryption?: EncAlg; authentication?: AuthAlg;
  lifetimeSeconds: number;
  /** 3: UDP-encapsulated tunnel (NAT traversal); else tunnel */
  udpEncap: boolean;
  /** the peer's SPI for each protocol (ESP, AH) */
  peerSpi: { esp?: Buffer; ah?: Buffer };
  proposalNum: number;
}

function p2Attrs(p: IpsecProposalModel, proto: 'esp' | 'ah', pfs: number | undefined, udp: boolean): Attr[] {
  const a: Attr[] = [{ type: P2Attr.LIFE_TYPE, value: LIFE_SECONDS }, { type: P2Attr.LIFE_DURATION, value: p.lifetimeSeconds }];
  if (pfs) a.push({ type: P2Attr.GROUP, value: pfs });
  a.push({ type: P2Attr.ENCAP, value: udp ? ENCAP_UDP_TUNNEL : ENCAP_TUNNEL });
  // in a bundle the ESP part has no authentication of its own (AH authenticates)
  if (p.authenticationAlgorithm && (proto === 'ah' || p.protocol === 'esp')) a.push({ type: P2Attr.AUTH, value: P2_AUTH[p.authenticationAlgorithm]! });
  return a;
}

/**
 * The phase 2 SA payload body: a proposal per IPsec proposal of the policy, in its order; a bundle is
 * an AH and an ESP proposal with the same number. `spi` gives our (inbound) SPI for each protocol.
 */
export function ipsecSaBody(props: IpsecProposalModel[], spi: { esp: Buffer; ah: Buffer }, pfsGroup: number | undefined, udpEncap: boolean): Buffer {
  const proposals: Parameters<typeof encodeSa>[0]['proposals'] = [];
  props.forEach((p, i) => {
    const num = i + 1;
    if (p.protocol === 'ah' || p.protocol === 'bundle') {
      proposals.push({ num, protocol: Proto.AH, spi: spi.ah, transforms: [{ num: 1, id: AH_TRANSFORM[p.authenticationAlgorithm!]!, attrs: p2Attrs(p, 'ah', pfsGroup, udpEncap) }] });
    }
    if (p.protocol === 'esp' || p.protocol === 'bundle') {
      proposals.push({ num, protocol: Proto.ESP, spi: spi.esp, transforms: [{ num: 1, id: p.encryptionAlgorithm ? ESP_TRANSFORM[p.encryptionAlgorithm]! : 11, attrs: p2Attrs(p, 'esp', pfsGroup, udpEncap) }] });
    }
  });
  return encodeSa({ doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals });
}

/** The responder's reply: the chosen proposal (its parts), with our SPIs, echoing the transform it took. */
export function ipsecSaReply(chosen: Array<{ protocol: number; transform: Transform }>, num: number, spi: { esp: Buffer; ah: Buffer }): Buffer {
  return encodeSa({
    doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY,
    proposals: chosen.map(c => ({ num, protocol: c.protocol, spi: c.protocol === Proto.AH ? spi.ah : spi.esp, transforms: [{ num: c.transform.num, id: c.transform.id, attrs: c.transform.attrs.map(a => ({ type: a.type, value: a.bytes ?? a.value })) }] })),
  });
}

interface P2Read { encryption?: EncAlg; authentication?: AuthAlg; lifetime: number; group?: number; encap: number }
function readP2(protocol: number, t: Transform): P2Read | undefined {
  const get = (type: number) => t.attrs.find(a => a.type === type)?.value;
  let encryption: EncAlg | undefined;
  if (protocol === Proto.ESP) {
    if (t.id === 11) encryption = undefined;   // ESP_NULL: authentication only
    else { encryption = ESP_NAME[t.id] as EncAlg | undefined; if (!encryption) return undefined; }
  } else if (protocol === Proto.AH) { if (!AH_NAME[t.id]) return undefined; }
  else return undefined;
  const authId = get(P2Attr.AUTH);
  const authentication = authId === undefined ? undefined : P2_AUTH_NAME[authId] as AuthAlg | undefined;
  if (authId !== undefined && !authentication) return undefined;
  if (t.attrs.some(a => a.type === P2Attr.KEY_LENGTH)) return undefined;
  let lifetime = 28800;
  for (let i = 0; i < t.attrs.length; i++) {
    const a = t.attrs[i]!;
    if (a.type === P2Attr.LIFE_TYPE && a.value === LIFE_SECONDS) { const d = t.attrs[i + 1]; if (d?.type === P2Attr.LIFE_DURATION && d.value > 0) lifetime = d.value; }
  }
  return { encryption, authentication, lifetime, group: get(P2Attr.GROUP), encap: get(P2Attr.ENCAP) ?? ENCAP_TUNNEL };
}

/**
 * Responder: the first proposal (by number, in the initiator's order) all of whose parts match one of
 * our policy's proposals, with the PFS group our policy wants (or none when it wants none).
 */
export function chooseIpsec(sa: SaPayload, ours: IpsecProposalModel[], pfsGroup: number | undefined, natT: boolean):
  { choice: IpsecChoice; parts: Array<{ protocol: number; transform: Transform }>; ours: IpsecProposalModel } | { error: string } {
  if (sa.doi !== DOI_IPSEC) return { error: 'DOI not IPsec' };
  const nums = [...new Set(sa.proposals.map(p => p.num))];
  for (const num of nums) {
    const parts = sa.proposals.filter(p => p.num === num);
    const esp = parts.find(p => p.protocol === Proto.ESP), ah = parts.find(p => p.protocol === Proto.AH);
    if (parts.length !== (esp ? 1 : 0) + (ah ? 1 : 0)) continue;
    // an SPI of another size than 4 (RFC 2407 4.6.1: ESP and AH SPIs are 4 bytes) is no usable proposal
    if (parts.some(p => p.spi.length !== 4)) continue;
    const protocol: IpsecProtocol = esp && ah ? 'bundle' : esp ? 'esp' : 'ah';
    for (const mine of ours.filter(o => o.protocol === protocol)) {
      const pick = (p: typeof esp, proto: number) => p?.transforms.map(t => ({ t, r: readP2(proto, t) })).find(x => x.r && x.r.group === pfsGroup && (x.r.encap === ENCAP_TUNNEL || (natT && (x.r.encap === ENCAP_UDP_TUNNEL || x.r.encap === ENCAP_UDP_TUNNEL_DRAFT))) &&
        (proto === Proto.AH ? x.r.authentication === mine.authenticationAlgorithm : x.r.encryption === mine.encryptionAlgorithm && (protocol === 'bundle' ? !x.r.authentication : x.r.authentication === mine.authenticationAlgorithm)));
      const e = esp ? pick(esp, Proto.ESP) : undefined, a = ah ? pick(ah, Proto.AH) : undefined;
      if ((esp && !e) || (ah && !a)) continue;
      const r = (e ?? a)!.r!;
      const lifetime = Math.min(...[e?.r?.lifetime, a?.r?.lifetime].filter((x): x is number => x !== undefined));
      return {
        choice: {
          protocol, ...(mine.encryptionAlgorithm ? { encryption: mine.encryptionAlgorithm } : {}), ...(mine.authenticationAlgorithm ? { authentication: mine.authenticationAlgorithm } : {}),
          lifetimeSeconds: lifetime, udpEncap: r.encap !== ENCAP_TUNNEL, peerSpi: { ...(esp ? { esp: esp.spi } : {}), ...(ah ? { ah: ah.spi } : {}) }, proposalNum: num,
        },
        parts: [...(ah ? [{ protocol: Proto.AH, transform: a!.t }] : []), ...(esp ? [{ protocol: Proto.ESP, transform: e!.t }] : [])],
        ours: mine,
      };
    }
  }
  return { error: 'no proposal chosen' };
}

/** Initiator: read the responder's answer (the proposal it chose) against what we offered. */
export function readIpsecReply(sa: SaPayload, offered: IpsecProposalModel[], pfsGroup: number | undefined): IpsecChoice | { error: string } {
  const parts = sa.proposals;
  if (!parts.length) return { error: 'empty SA in reply' };
  const num = parts[0]!.num;
  const mine = offered[num - 1];
  if (!mine) return { error: `the reply chose proposal ${num}, which was not offered` };
  const esp = parts.find(p => p.protocol === Proto.ESP), ah = parts.find(p => p.protocol === Proto.AH);
  if (!esp && !ah) return { error: 'the reply has neither ESP nor AH' };
  if (parts.some(p => p.num !== num || (p.protocol !== Proto.ESP && p.protocol !== Proto.AH))) return { error: 'the reply mixes proposals or protocols' };
  const got: IpsecProtocol = esp && ah ? 'bundle' : esp ? 'esp' : 'ah';
  if (got !== mine.protocol) return { error: `the reply answers our ${mine.protocol} proposal with ${got}` };
  const bad = parts.find(p => p.spi.length !== 4);
  if (bad) return { error: `the reply's SPI is ${bad.spi.length} bytes, not 4` };
  const e = esp?.transforms[0] && readP2(Proto.ESP, esp.transforms[0]), a = ah?.transforms[0] && readP2(Proto.AH, ah.transforms[0]);
  if ((esp && !e) || (ah && !a)) return { error: 'the reply chose an unknown transform' };
  if ((e || a)!.group !== pfsGroup) return { error: 'the reply changed the PFS group' };
  const lifetime = Math.min(...[e ? e.lifetime : undefined, a ? a.lifetime : undefined].filter((x): x is number => x !== undefined));
  return {
    protocol: mine.protocol!, ...(mine.encryptionAlgorithm ? { encryption: mine.encryptionAlgorithm } : {}), ...(mine.authenticationAlgorithm ? { authentication: mine.authenticationAlgorithm } : {}),
    lifetimeSeconds: lifetime, udpEncap: (e || a)!.encap !== ENCAP_TUNNEL, peerSpi: { ...(esp ? { esp: esp.spi } : {}), ...(ah ? { ah: ah.spi } : {}) }, proposalNum: num,
  };
}

export const describeIpsec = (p: Pick<IpsecProposalModel, 'protocol' | 'encryptionAlgorithm' | 'authenticationAlgorithm'>) =>
  [p.protocol, p.encryptionAlgorithm, p.authenticationAlgorithm].filter(Boolean).join(' ');
export function describeIpsecOffer(sa: SaPayload): string {
  return sa.proposals.map(p => `${p.protocol === Proto.ESP ? 'esp' : p.protocol === Proto.AH ? 'ah' : `protocol ${p.protocol}`} ${p.transforms.map(t => { const r = readP2(p.protocol, t); return r ? [r.encryption, r.authentication, r.group ? `group${r.group}` : ''].filter(Boolean).join(' ') : `transform ${t.id}`; }).join('/')}`).join(', ');
}
