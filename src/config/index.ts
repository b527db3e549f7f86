/** The configuration engine's public face: load text, check it, compile it, all or nothing. */
import { loadText, LoadFailure, formatLoadErrors } from './load.js';
import { commitCheck, ChassisView } from './check.js';
import { formatDiagnostics, Diagnostic } from './messages.js';
import type { CNode } from './tree.js';
import type { RouterModel } from './model.js';

export { loadText, LoadFailure, formatLoadErrors, commitCheck, formatDiagnostics };
export type { Diagnostic, RouterModel, CNode, ChassisView };
export { showConfig, showSet } from './display.js';

export type Loaded =
  | { ok: true; tree: CNode; model: RouterModel; warnings: Diagnostic[] }
  | { ok: false; output: string; diagnostics: Diagnostic[] };

/** Load + check + compile as one step: either a whole new model or nothing. */
/**
 * `prepare` runs on the loaded tree before the check: mgd reads `load-key-file` there (an error
 * refuses the load with its reason).
 */
export function loadAndCheck(text: string, opts: { file?: string; chassis?: ChassisView; into?: CNode; prepare?: (tree: CNode) => string | undefined } = {}): Loaded {
  let tree: CNode;
  try { tree = loadText(text, opts); } catch (e) {
    if (e instanceof LoadFailure) return { ok: false, output: e.message, diagnostics: [] };
    throw e;
  }
  const refused = opts.prepare?.(tree);
  if (refused) return { ok: false, output: refused, diagnostics: [] };
  const r = commitCheck(tree, opts);
  if (!r.ok) return { ok: false, output: formatDiagnostics(r.diagnostics), diagnostics: r.diagnostics };
  return { ok: true, tree, model: r.model!, warnings: r.diagnostics };
}
