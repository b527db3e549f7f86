/** Without root (or CAP_NET_ADMIN), vrouter says so clearly instead of failing somewhere deep. */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

const ROOT = join(import.meta.dirname, '../..');
const asRoot = process.getuid?.() === 0;
const built = existsSync(join(ROOT, 'dist/src/cli/main.js')) && existsSync(join(ROOT, 'build/Release/vrouter_tap.node'));
const asNobody = (args: string[]) => spawnSync(process.execPath, args, { cwd: ROOT, uid: 65534, gid: 65534, encoding: 'utf8', env: { PATH: process.env.PATH } });

describe.skipIf(!asRoot || !built)('without root', () => {
  it('vrouter up refuses with a clear message and creates nothing', () => {
    const r = asNobody(['bin/vrouter.js', 'up', 'topologies/gw-a-b.yaml', '--detach']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('vrouter up needs root');
  });
  it('the TAP addon says that it needs root or CAP_NET_ADMIN', () => {
    const r = asNobody(['--input-type=module', '-e', `import { TapPort } from './dist/src/host/tap.js'; try { new TapPort('vrtestnobody'); console.log('opened'); } catch (e) { console.log(e.message); }`]);
    expect(r.stdout).toMatch(/permission denied .*(needs root, or CAP_NET_ADMIN)/);
  });
});
