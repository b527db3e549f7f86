/**
 * The one commit path of mgd: a checked configuration becomes the active one (the PFE, rpd, kmd and
 * the trace files follow it, through Router.apply), and the commit is logged once, in JUNOS's one
 * format: `mgd[PID]: UI_COMMIT: User 'root' requested 'commit' operation (cli)`. The CLI's `commit`,
 * the API's commit RPCs and a startup configuration (Router.commitText) all come here.
 */
import { X509Certificate } from 'node:crypto';
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
  const why = xnmSslCertificateProblem(model);
  if (why) r.log.write('messages', `mgd[${process.pid}]`, `UI_SERVICE_NO_CERTIFICATE: xnm-ssl: ${why}: the JUNOScript SSL service has no usable certificate and does not accept connections`);
}

/** Why the certificate xnm-ssl names cannot serve (missing, its file never read, not valid now), or undefined. */
export function xnmSslCertificateProblem(model: RouterModel, now = new Date()): string | undefined {
  const name = model.system.xnmSsl?.localCertificate;
  if (name === undefined) return undefined;
  const l = model.certificates.local.get(name);
  if (!l) return `local certificate ${name} is not configured`;
  if (!l.keyString) return l.loadKeyFile !== undefined ? `local certificate ${name}: its load-key-file ${l.loadKeyFile} was not read` : `local certificate ${name} has no certificate-key-string`;
  let cert: X509Certificate;
  try { cert = new X509Certificate(l.keyString); } catch { return `local certificate ${name}: the certificate is malformed`; }
  if (now < new Date(cert.validFrom)) return `local certificate ${name} is not valid before ${cert.validFrom}`;
  if (now > new Date(cert.validTo)) return `local certificate ${name} expired ${cert.validTo}`;
  return undefined;
}
