/**
 * Before any e2e file runs: build dist/ once, in vitest's main process. A build takes 18 s on an idle
 * machine and minutes on a loaded one; done inside a test worker it blocks that worker's event loop
 * long enough for vitest's own calls to time out ("Timeout calling onTaskUpdate"), so it is done here,
 * where nothing waits on it. buildOnce() in the files then finds the stamp current and skips.
 */
import { buildOnce } from './helpers.js';

export default function setup(): void { buildOnce(); }
