/** The stages of the forwarding path, in dispatch order (see src/pfe/pfe.ts for the graph). */
import type { Graph } from '../graph.js';
import type { Pfe } from '../pfe.js';
import { EthernetInput } from './ethernet-input.js';
import { ArpInput } from './arp-input.js';
import { Ip4Input } from './ip4-input.js';
import { FilterIn } from './filter-in.js';
import { IpsecIn } from './ipsec-in.js';
import { Lookup } from './lookup.js';
import { Local } from './local.js';
import { Rewrite } from './rewrite.js';
import { IpsecOut } from './ipsec-out.js';
import { InterfaceOutput } from './output.js';
import { IcmpError } from './icmp-error.js';

export interface Stages {
  ethernet: EthernetInput; arp: ArpInput; ip4Input: Ip4Input; filterIn: FilterIn; ipsecIn: IpsecIn; lookup: Lookup;
  local: Local; rewrite: Rewrite; ipsecOut: IpsecOut; output: InterfaceOutput; icmpError: IcmpError;
}

export function buildStages(g: Graph, pfe: Pfe): Stages {
  return {
    ethernet: g.add(new EthernetInput(g, pfe)),
    arp: g.add(new ArpInput(g, pfe)),
    ip4Input: g.add(new Ip4Input(g, pfe)),
    filterIn: g.add(new FilterIn(g, pfe)),
    ipsecIn: g.add(new IpsecIn(g, pfe)),
    lookup: g.add(new Lookup(g, pfe)),
    local: g.add(new Local(g, pfe)),
    rewrite: g.add(new Rewrite(g, pfe)),
    ipsecOut: g.add(new IpsecOut(g, pfe)),
    output: g.add(new InterfaceOutput(g, pfe)),
    icmpError: g.add(new IcmpError(g, pfe)),
  };
}
