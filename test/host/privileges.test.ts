/**
 * Without root (or CAP_NET_ADMIN), vrouter says so clearly instead of failing somewhere deep.
 *
 * The unprivileged user must be able to read the checkout, wherever it lives: a clone under root's
 * home or a `mktemp -d` directory sits below a 0700 directory nobody else may enter. So the test
 * bind-mounts the checkout onto a directory of its own, in a private mount namespace that only the
 * test's process sees, and runs vrouter from there as `nobody`.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, mkdtempSync, chmodSync, rmSync } from 'node:fs';

const ROOT = join(import.meta.dirname, '../..');
const asRoot = process.getuid?.() === 0;
const built = existsSync(join(ROOT, 'dist/src/cli/main.js')) && existsSync(join(ROOT, 'build/Release/vrouter_tap.node'));
const tools = ['unshare', 'setpriv', 'mount'].every(t => spawnSync('which', [t]).status === 0);
const mnt = mkdtempSync('/tmp/vrouter-nobody-');
chmodSync(mnt, 0o755);
afterAll(() => rmSync(mnt, { recursive: true, force: true }));

/** Run node with `args` as nobody, from the checkout mounted at `mnt`. */
function asNobody(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = `mount --bind ${q(ROOT)} ${q(mnt)} && cd ${q(mnt)} && exec setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH=/usr/bin:/bin ${q(process.execPath)} ${args.map(q).join(' ')}`;
  return spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8' });
}

describe.skipIf(!asRoot || !built || !tools)('without root', () => {
  it('vrouter up refuses with a clear message and creates nothing', () => {
    const r = asNobody(['bin/vrouter.js', 'up', 'topologies/gw-a-b.yaml', '--detach']);
    expect(r.stderr).toContain('vrouter up needs root');
    expect(r.status).toBe(1);
  });
  it('the TAP addon says that it needs root or CAP_NET_ADMIN', () => {
    const r = asNobody(['--input-type=module', '-e', `import { TapPort } from './dist/src/host/tap.js'; try { new TapPort('vrtestnobody'); console.log('opened'); } catch (e) { console.log(e.message); }`]);
    expect(r.stdout).toMatch(/permission denied .*(needs root, or CAP_NET_ADMIN)/);
  });
});
