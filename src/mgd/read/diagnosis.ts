/**
 * `show ipsec diagnosis [SA]` and `<get-ipsec-diagnosis-information>` (vrouter's own command): one
 * value, read once, that the CLI's text and the XML API's reply both render.
 */
import type { Router } from '../../router/router.js';
import type { PicSnapshot } from '../../../pics/es/core.js';
import { diagnose, TunnelDiagnosis } from '../../router/diagnose.js';
import { bgpSaDiagnosis, BgpSaFinding } from '../../rpd/diagnose.js';

export interface IpsecDiagnosis {
  /** the tunnels (es- interfaces with an SA), each with its findings */
  tunnels: TunnelDiagnosis[];
  /** BGP sessions that stay down because of their transport SA */
  bgp: BgpSaFinding[];
  /** the SA asked for is not configured */
  error?: string;
}

/** `remember` false: a read that moves no baseline (the next diagnosis still says what climbed since the last real one). */
export function readIpsecDiagnosis(r: Router, pic: PicSnapshot, only?: string, remember = true): IpsecDiagnosis {
  if (only !== undefined && !r.model?.sas.has(only)) return { tunnels: [], bgp: [], error: `security association ${only} not found` };
  return { tunnels: diagnose(r, pic, only, remember), bgp: bgpSaDiagnosis(r.rpd, r.model, only) };
}
