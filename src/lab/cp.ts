/**
 * `vrouter cp TOPOLOGY SRC DST`: copies between the host and a router's disk, as `docker cp` does;
 * the router's side is NODE:PATH (`gw-a:/var/tmp/api.pem`), a JUNOS path on its disk (bare names are
 * under /var/etc/ikecert, as for the router's own file commands). Private keys leave owner-only.
 */
import { copyFileSync, chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import { RouterFiles } from '../router/files.js';
import { routerDir } from './save.js';
import type { Topology } from './topology.js';

interface End { node?: string; path: string }
function parseEnd(t: Topology, s: string): End {
  const m = /^([A-Za-z0-9][\w.-]*):(.+)$/.exec(s);
  if (!m) return { path: s };
  const n = t.nodes.get(m[1]!);
  if (!n) throw new Error(`lab ${t.name} has no node ${m[1]}`);
  if (n.kind === 'linux') throw new Error(`${m[1]} is a linux node: vrouter cp copies to and from routers' disks`);
  return { node: m[1]!, path: m[2]! };
}

/** The host path of NODE:PATH, checked as the router checks its own paths. */
function hostPath(t: Topology, e: End): { host: string; junos: string } {
  const fs = new RouterFiles(join(routerDir(t, e.node!), 'fs'));
  const junos = fs.resolve(e.path);
  return { host: join(fs.root, junos), junos };
}

export function cp(t: Topology, src: string, dst: string): string {
  const a = parseEnd(t, src), b = parseEnd(t, dst);
  if (!!a.node === !!b.node) throw new Error('vrouter cp: one side is NODE:PATH (a router), the other a host path');
  const from = a.node ? hostPath(t, a).host : a.path;
  if (!existsSync(from) || statSync(from).isDirectory()) throw new Error(`vrouter cp: ${src}: no such file`);
  let to: string;
  if (b.node) {
    const p = hostPath(t, b);
    to = existsSync(p.host) && statSync(p.host).isDirectory() ? join(p.host, basename(from)) : p.host;
  } else to = existsSync(b.path) && statSync(b.path).isDirectory() ? join(b.path, posix.basename(from)) : b.path;
  mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
  const secret = (statSync(from).mode & 0o077) === 0;
  copyFileSync(from, to);
  chmodSync(to, secret ? 0o600 : 0o644);
  return `copied ${src} to ${dst}`;
}
