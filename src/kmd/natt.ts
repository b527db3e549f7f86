/**
 * NAT traversal in IKE (RFC 3947): the vendor ID, NAT-D payloads and the float to UDP 4500, as pieces
 * any phase 1 exchange uses (strongSwan's isakmp_natd and isakmp_vendor tasks, in shape).
 */
import type { IkeSa } from './ike-sa.js';
import type { OutPayload, RawPayload } from './codec.js';
import type { TraceFlag } from './types.js';
import { Pt, VID_RFC3947, ISAKMP_PORT, NATT_PORT } from './constants.js';
import { intToIp } from '../net/ip.js';
import * as K from './keymat.js';

export interface NattContext { trace(msg: string, flag?: TraceFlag): void; log(msg: string): void }
export const NATT_VID: OutPayload = { type: Pt.VID, body: VID_RFC3947 };

/** Does the peer speak NAT traversal (the RFC 3947 vendor ID among its payloads)? */
export function peerVid(x: NattContext, sa: IkeSa, payloads: RawPayload[]): void {
  sa.natt.peerSupports = payloads.some(p => p.type === Pt.VID && p.body.equals(VID_RFC3947));
  x.trace(`${intToIp(sa.peer)} ${sa.natt.peerSupports ? 'speaks' : 'does not speak'} NAT traversal (RFC 3947 vendor ID)`, 'policy-manager');
}
/** HASH(CKY-I | CKY-R | IP | Port) */
function natd(sa: IkeSa, ip: number, port: number): Buffer {
  const a = Buffer.alloc(6); a.writeUInt32BE(ip >>> 0); a.writeUInt16BE(port, 4);
  return K.hash(sa.hashAlg, sa.icookie, sa.rcookie, a);
}
/** NAT-D payloads for a message we send: the destination's first, then ours. */
export function natdPayloads(sa: IkeSa): OutPayload[] {
  if (!sa.natt.peerSupports) return [];
  const myPort = sa.natt.floated ? NATT_PORT : ISAKMP_PORT;
  return [{ type: Pt.NAT_D, body: natd(sa, sa.peer, sa.port) }, { type: Pt.NAT_D, body: natd(sa, sa.local, myPort) }];
}
/** The peer's NAT-D payloads: is there a NAT before us (our address and port were changed) or before it? */
export function processNatd(x: NattContext, sa: IkeSa, payloads: RawPayload[], myPort: number): void {
  if (!sa.natt.peerSupports) return;
  const list = payloads.filter(p => p.type === Pt.NAT_D || p.type === Pt.NAT_D_DRAFT);
  if (list.length < 2) return;
  const here = !list[0]!.body.equals(natd(sa, sa.local, myPort));
  const there = !list.slice(1).some(p => p.body.equals(natd(sa, sa.peer, sa.port)));
  sa.natt.here = here; sa.natt.there = there; sa.natt.detected = true;
  if (here || there) x.log(`KMD_PM_NAT: NAT detected ${here ? 'before this router' : ''}${here && there ? ' and ' : ''}${there ? `before ${intToIp(sa.peer)} (or the peer asks for UDP encapsulation)` : ''}: IKE moves to UDP ${NATT_PORT}, ESP goes in UDP`);
  else x.trace(`no NAT between this router and ${intToIp(sa.peer)}`, 'general');
}
/** After NAT detection the initiator moves to UDP 4500 (RFC 3947 4). */
export function float(x: NattContext, sa: IkeSa): void {
  if (!sa.behindNat || sa.natt.floated) return;
  sa.natt.floated = true; sa.port = NATT_PORT;
  x.trace(`floating to UDP ${NATT_PORT} with ${intToIp(sa.peer)}`);
}
