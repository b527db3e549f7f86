/**
 * The one commit path of mgd: a checked configuration becomes the active one (the PFE, rpd, kmd and
 * the trace files follow it, through Router.apply), and the commit is logged once, in JUNOS's one
 * format: `mgd[PID]: UI_COMMIT: User 'root' requested 'commit' operation (cli)`. The CLI's `commit`,
 * the API's commit RPCs and a startup configuration (Router.commitText) all come here.
 */
import type { Router } from '../router/router.js';
import type { CNode } from '../config/tree.js';
import type { RouterModel } from '../config/model.js';

/**
 * Who committed and through what: `via` as `show system commit` says it (cli, junoscript, netconf,
 * other), `session` as the log says it (`JUNOScript session 3`; the `via` when absent).
 */
export interface Committer { user: string; via: string; session?: string }

export const CLI_ROOT: Committer = { user: 'root', via: 'cli' };
export const uiCommit = (who: Committer) => `UI_COMMIT: User '${who.user}' requested 'commit' operation (${who.session ?? who.via})`;

/** Make a checked tree and its model the router's running configuration, and log the commit. */
export function activate(r: Router, tree: CNode, model: RouterModel, who: Committer): void {
  r.apply(tree, model);
  r.log.write('messages', `mgd[${process.pid}]`, uiCommit(who));
}
