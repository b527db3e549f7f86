/**
 * One packet's path for the map (the page's trace view, docs/web.md): the parts of its trace from
 * every router (src/web/tracer.ts), joined by their key and ordered, with the lab's links, as one
 * walk: the host it came from, each router's PFE stages and ES PIC in order, the link to the next
 * router, the host it reached; or the stage that dropped it and why. Pure (no DOM), unit-tested.
 */
import type { TraceRecord } from './tracer.js';

export type Links = Array<Array<{ node: string; ifname: string }>>;
export interface PathStep { at: string; stage?: string; text?: string; drop?: string; pic?: boolean }
export interface TracePath { key: string; steps: PathStep[]; drop?: { router: string; stage: string; reason: string }; reached?: string }
export interface TracePart { router: string; trace: TraceRecord }

/** The node at the other end of a router's port, when a link joins it. */
export function neighbor(links: Links, node: string, ifname: string): string | undefined {
  const ifd = ifname.replace(/\.\d+$/, '');
  for (const l of links) {
    const i = l.findIndex(e => e.node === node && e.ifname === ifd);
    if (i >= 0) return l[1 - i]?.node;
  }
  return undefined;
}

/**
 * The parts in the packet's order. Each router's parts of one trace (its number, then its continuation
 * after the ES PIC) stay together; the routers follow the links (the router at the other end of the
 * port a router sent it on comes next), not the clocks: a router may report a part after the next
 * router has already reported its own.
 */
function ordered(key: string, parts: readonly TracePart[], links: Links): TracePart[] {
  const chains = new Map<string, TracePart[]>();
  for (const p of parts) if (p.trace.key === key) {
    const k = `${p.router}#${p.trace.num}`;
    if (!chains.has(k)) chains.set(k, []);
    chains.get(k)!.push(p);
  }
  const list = [...chains.values()].map(c => c.sort((a, b) => Number(a.trace.continued) - Number(b.trace.continued) || a.trace.at - b.trace.at));
  list.sort((a, b) => a[0]!.trace.at - b[0]!.trace.at);
  const routersWith = new Set(list.map(c => c[0]!.router));
  const outOf = (c: TracePart[]) => { const t = c.at(-1)!; const ifd = /^sent on (\S+?),/.exec(t.trace.steps.at(-1)?.text ?? '')?.[1]; return ifd ? neighbor(links, t.router, ifd) : undefined; };
  const fedBy = (c: TracePart[]) => { const rx = /^received on (\S+?),/.exec(c[0]!.trace.head)?.[1]; return rx && !rx.startsWith('es-') ? neighbor(links, c[0]!.router, rx) : undefined; };
  const out: TracePart[] = [];
  const left = [...list];
  while (left.length) {
    const prev = out.length ? outOf([out.at(-1)!]) : undefined;
    let i = prev ? left.findIndex(c => c[0]!.router === prev) : -1;
    if (i < 0 && !out.length) i = left.findIndex(c => { const f = fedBy(c); return !!f && !routersWith.has(f); });   // from a host
    if (i < 0 && !out.length) i = left.findIndex(c => !fedBy(c));
    if (i < 0) i = 0;
    out.push(...left.splice(i, 1)[0]!);
  }
  return out;
}

export function tracePath(key: string, parts: readonly TracePart[], links: Links): TracePath {
  const mine = ordered(key, parts, links);
  const steps: PathStep[] = [];
  const push = (s: PathStep) => { const last = steps.at(-1); if (!s.stage && last?.at === s.at && !last.stage) return; steps.push(s); };
  let drop: TracePath['drop'];
  let lastOut: { router: string; ifname: string } | undefined;
  for (const { router, trace } of mine) {
    const rx = /^received on (\S+?),/.exec(trace.head)?.[1];
    if (rx && !rx.startsWith('es-')) {
      const from = neighbor(links, router, rx);
      if (from && steps.at(-1)?.at !== from && !(lastOut && lastOut.router === from)) push({ at: from });
    }
    if (/^ES PIC/.test(trace.head) || rx?.startsWith('es-')) push({ at: router, stage: 'ES PIC', text: rx ? `decrypted it on ${rx}` : trace.head.replace(/^ES PIC /, ''), pic: true });
    for (const s of trace.steps) {
      push({ at: router, stage: s.stage, text: s.text, ...(s.drop ? { drop: s.drop } : {}) });
      if (s.drop && !drop) drop = { router, stage: s.stage, reason: s.drop };
    }
    const out = /^sent on (\S+?),/.exec(trace.steps.at(-1)?.text ?? '')?.[1];
    lastOut = out ? { router, ifname: out } : undefined;
  }
  let reached: string | undefined;
  if (lastOut && !drop) {
    const to = neighbor(links, lastOut.router, lastOut.ifname);
    if (to && !mine.some(p => p.router === to)) { push({ at: to }); reached = to; }
  }
  return { key, steps, ...(drop ? { drop } : {}), ...(reached ? { reached } : {}) };
}

/** The packets of a trace, by key, in the order they were first seen. */
export function traceKeys(parts: readonly TracePart[]): string[] {
  const seen: string[] = [];
  for (const p of [...parts].sort((a, b) => a.trace.at - b.trace.at)) if (p.trace.key && !seen.includes(p.trace.key)) seen.push(p.trace.key);
  return seen;
}
