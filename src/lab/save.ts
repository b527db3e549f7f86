/**
 * The lab directory beside the topology file, `vrouter-NAME/` (containerlab's `clab-NAME/`): per
 * router its commit database (juniper.conf.0 is the active configuration, juniper.conf.1..49 the
 * rollbacks, each with its time, user and origin in a .meta file beside it, written as each commit
 * happens) and its disk under fs/ (/var/etc/ikecert, /var/tmp, /var/log). It outlives `vrouter down`;
 * `vrouter up` starts each router from it, `up --reconfigure` and `down --cleanup` remove it.
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadAndCheck } from '../config/index.js';
import { Chassis } from '../../chassis/chassis.js';
import type { Topology } from './topology.js';

type LabRef = Pick<Topology, 'name' | 'file'>;
export const labDir = (t: LabRef) => join(dirname(t.file), `vrouter-${t.name}`);
export const routerDir = (t: LabRef, node: string) => join(labDir(t), node);
/** Rollback 0: the router's last commit, what `up` starts it from. */
export const savedConfig = (t: LabRef, node: string) => join(routerDir(t, node), 'juniper.conf.0');

const routers = (t: Topology) => [...t.nodes.values()].filter(n => n.kind !== 'linux');

/** The configuration each router starts from: its last commit if one is saved, else its startup-config. */
export function startConfigOf(t: Topology, node: string): { file?: string; saved: boolean } {
  const f = savedConfig(t, node);
  if (existsSync(f)) return { file: f, saved: true };
  return { file: t.nodes.get(node)?.startupConfig, saved: false };
}

/** Commit-check what every router will start from, before anything is created; errors name the file to fix. */
export function checkStartConfigs(t: Topology): string[] {
  const errs: string[] = [];
  for (const n of routers(t)) {
    const { file, saved } = startConfigOf(t, n.name);
    if (!file) continue;
    const r = loadAndCheck(readFileSync(file, 'utf8'), { file, chassis: new Chassis(n.model, n.pics) });
    if (!r.ok) errs.push(`${n.name}: ${saved ? 'saved' : 'startup'} configuration ${file} does not commit:\n${r.output}` + (saved ? `\n(fix ${file}, or start from the topology's startup-config with vrouter up --reconfigure)` : ''));
  }
  return errs;
}

/** What `up` says about where each router starts from. */
export function startLines(t: Topology): string[] {
  return routers(t).filter(n => startConfigOf(t, n.name).saved).map(n => {
    let rollbacks = 0;
    while (existsSync(join(routerDir(t, n.name), `juniper.conf.${rollbacks + 1}`))) rollbacks++;
    return `${n.name}: starting from its saved configuration ${savedConfig(t, n.name)} (${rollbacks} rollback${rollbacks === 1 ? '' : 's'}, disk ${join(routerDir(t, n.name), 'fs')})`;
  });
}

/**
 * `vrouter save TOPOLOGY [NODE...]`: each router's committed configuration as JUNOS's juniper.conf
 * (brace format) in its directory. Its history is already there: every commit writes it.
 */
export function save(t: Topology, nodes: string[] = []): string[] {
  const want = nodes.length ? nodes : routers(t).map(n => n.name);
  const lines: string[] = [];
  for (const name of want) {
    const n = t.nodes.get(name);
    if (!n) throw new Error(`lab ${t.name} has no node ${name}`);
    if (n.kind === 'linux') { lines.push(`${name}: linux node, its state is in ${join(labDir(t), name)}`); continue; }
    const f = savedConfig(t, name);
    if (!existsSync(f)) throw new Error(`${name}: nothing committed yet (is lab ${t.name} up?)`);
    copyFileSync(f, join(routerDir(t, name), 'juniper.conf'));
    lines.push(`${name}: saved ${join(routerDir(t, name), 'juniper.conf')}`);
  }
  return lines;
}

/** `up --reconfigure`, `down --cleanup`: the lab directory goes. */
export function removeLabDir(t: LabRef): boolean {
  const d = labDir(t), had = existsSync(d);
  rmSync(d, { recursive: true, force: true });
  return had;
}
