/** The stages of the forwarding path, in dispatch order (see src/pfe/pfe.ts for the graph), linked by their declared next nodes. */
import type { Graph } from '../graph.js';
import type { PfeContext } from '../context.js';
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

/** The stages packets enter the graph at from outside it (ports, the ES PIC, the router's own stack, timers). */
export interface Stages {
  ethernet: EthernetInput; ip4Input: Ip4Input; ipsecIn: IpsecIn; lookup: Lookup; local: Local; rewrite: Rewrite; ipsecOut: IpsecOut;
}

export function buildStages(g: Graph, ctx: PfeContext): Stages {
  const s = {
    ethernet: g.add(new EthernetInput(g, ctx)),
    arp: g.add(new ArpInput(g, ctx)),
    ip4Input: g.add(new Ip4Input(g, ctx)),
    filterIn: g.add(new FilterIn(g, ctx)),
    ipsecIn: g.add(new IpsecIn(g, ctx)),
    lookup: g.add(new Lookup(g, ctx)),
    local: g.add(new Local(g, ctx)),
    rewrite: g.add(new Rewrite(g, ctx)),
    ipsecOut: g.add(new IpsecOut(g, ctx)),
    output: g.add(new InterfaceOutput(g, ctx)),
    icmpError: g.add(new IcmpError(g, ctx)),
  };
  // wire order between the router's control plane and IPsec: in one batch of frames, the quick mode
  // message that installs an SA (ip4-lookup -> ip4-local -> kmd) is handled before the ESP behind it
  g.runAfter(s.ipsecIn, s.local);
  g.link();
  return s;
}
