/**
 * `vrouter list`: every lab that is up on this machine (its namespace exists), from the state each
 * `vrouter up` writes under /run/vrouter/LAB: its topology file, its nodes and since when it is up.
 */
import { existsSync, readdirSync } from 'node:fs';
import { RUN_ROOT, readState, isUp, labNs, LabState } from './reallab.js';

export interface LabListing { name: string; file?: string; started?: string; nodes: Record<string, { kind: string; pid: number | null; running: boolean; netns: string }> }

const running = (pid: number | null) => { if (!pid) return false; try { process.kill(pid, 0); return true; } catch { return false; } };

export function listLabs(): LabListing[] {
  const names = new Set<string>();
  if (existsSync(RUN_ROOT)) for (const d of readdirSync(RUN_ROOT)) names.add(d);
  const out: LabListing[] = [];
  for (const name of [...names].sort()) {
    if (!isUp(name)) continue;
    const s: LabState | undefined = readState(name);
    out.push({
      name, ...(s ? { file: s.file, started: s.started } : {}),
      nodes: Object.fromEntries(Object.entries(s?.nodes ?? {}).map(([k, v]) => [k, { ...v, running: v.kind === 'linux' ? true : running(v.pid) }])),
    });
  }
  return out;
}

function since(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const d = s >= 86400 ? `${Math.floor(s / 86400)} d ` : '';
  const hms = new Date((s % 86400) * 1000).toISOString().slice(11, 19);
  return `${iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} (${d}${hms} ago)`;
}

/** The listing as text, one block per lab. */
export function formatList(labs: LabListing[], now = Date.now()): string {
  if (!labs.length) return 'no lab is up';
  const lines: string[] = [];
  for (const l of labs) {
    lines.push(`${l.name}  up since ${l.started ? since(l.started, now) : '(starting: no state yet)'}  ${l.file ?? ''}  netns ${labNs(l.name)}`.trimEnd());
    for (const [k, v] of Object.entries(l.nodes)) lines.push(`  ${k.padEnd(14)} ${v.kind.padEnd(12)} ${v.kind === 'linux' ? `netns ${v.netns}` : v.running ? `pid ${v.pid}` : 'not running (vrouter up FILE --detach restarts it)'}`);
  }
  return lines.join('\n');
}
