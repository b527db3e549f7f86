/**
 * Proxy identities (quick mode IDci/IDcr). The chapter: the inbound filter of the es- interface is
 * applied to decrypted traffic, "so the decrypted traffic is defined as any traffic that the remote
 * gateway is encrypting and sending to this router. IKE uses this filter to determine the policy
 * required for a tunnel": its first accepting term's source is the remote side, its destination the
 * local side (with protocol and ports when the term names exactly one). Without an inbound filter a
 * tunnel carries anything: 0.0.0.0/0 both ways.
 */
import type { FilterModel } from '../config/model.js';
import { intToIp, maskOf, Prefix, prefixStr } from '../net/ip.js';
import { IdType } from './constants.js';
import { encodeId, IdPayload } from './codec.js';

export interface Selector { prefix: Prefix; protocol: number; port: number }
export interface ProxyIds { local: Selector; remote: Selector; filter?: string; term?: string }

const ANY: Prefix = { addr: 0, len: 0 };

export function proxyIds(filter: FilterModel | undefined): ProxyIds {
  const t = filter?.terms.find(x => x.action.kind === 'accept') ?? filter?.terms[0];
  if (!t) return { local: { prefix: ANY, protocol: 0, port: 0 }, remote: { prefix: ANY, protocol: 0, port: 0 } };
  const protocol = t.protocol.length === 1 ? t.protocol[0]! : 0;
  const one = (l: Array<[number, number]>) => (l.length === 1 && l[0]![0] === l[0]![1] ? l[0]![0] : 0);
  return {
    remote: { prefix: t.sourceAddress[0] ?? ANY, protocol, port: one(t.sourcePort) },
    local: { prefix: t.destinationAddress[0] ?? ANY, protocol, port: one(t.destinationPort) },
    filter: filter!.name, term: t.name,
  };
}

/** A selector as an ID payload body: an address for a /32, else a subnet. */
export function selectorId(s: Selector): Buffer {
  const data = s.prefix.len === 32 ? Buffer.alloc(4) : Buffer.alloc(8);
  data.writeUInt32BE(s.prefix.addr >>> 0, 0);
  if (s.prefix.len !== 32) data.writeUInt32BE(maskOf(s.prefix.len), 4);
  return encodeId({ type: s.prefix.len === 32 ? IdType.IPV4_ADDR : IdType.IPV4_ADDR_SUBNET, protocol: s.protocol, port: s.port, data });
}

/** An ID payload as a selector, when it is an IPv4 address, subnet or prefix-shaped range. */
export function idSelector(id: IdPayload): Selector | undefined {
  const d = id.data;
  if (id.type === IdType.IPV4_ADDR && d.length === 4) return { prefix: { addr: d.readUInt32BE(0), len: 32 }, protocol: id.protocol, port: id.port };
  if ((id.type === IdType.IPV4_ADDR_SUBNET || id.type === IdType.IPV4_ADDR_RANGE) && d.length === 8) {
    const a = d.readUInt32BE(0), b = d.readUInt32BE(4);
    if (id.type === IdType.IPV4_ADDR_SUBNET) {
      const len = 32 - Math.log2(((~b) >>> 0) + 1);
      if (!Number.isInteger(len) || maskOf(len) !== b) return undefined;
      return { prefix: { addr: (a & b) >>> 0, len }, protocol: id.protocol, port: id.port };
    }
    const size = b - a + 1, len = 32 - Math.log2(size);
    if (!Number.isInteger(len) || ((a & maskOf(len)) >>> 0) !== a) return undefined;
    return { prefix: { addr: a, len }, protocol: id.protocol, port: id.port };
  }
  return undefined;
}

/** `inner` lies within `outer` (same protocol and port, or the outer one's 0 = any). */
export function within(inner: Selector, outer: Selector): boolean {
  if (inner.prefix.len < outer.prefix.len) return false;
  if (((inner.prefix.addr & maskOf(outer.prefix.len)) >>> 0) !== outer.prefix.addr) return false;
  return (outer.protocol === 0 || outer.protocol === inner.protocol) && (outer.port === 0 || outer.port === inner.port);
}

export const describeSelector = (s: Selector) => `${s.prefix.len === 32 ? intToIp(s.prefix.addr) : prefixStr(s.prefix)}${s.protocol ? ` proto ${s.protocol}` : ''}${s.port ? ` port ${s.port}` : ''}`;
