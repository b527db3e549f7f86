/**
 * A CA's CRL from its LDAP server (`ldap-url`), with ldapts. The chapter's form is `ldap://server`:
 * the entry is then the CA certificate's subject DN; an RFC 4516 URL may name it
 * (`ldap://server/ou=SCEP CA,o=x,c=US?certificateRevocationList;binary`). One entry, one attribute,
 * bounded in time (5 s) and size (1 MiB): the bytes are counted as they arrive on the socket, and the
 * connection is cut the moment they pass the bound (a server sending more is never read to the end, nor
 * held). The CRL's signature is checked by the caller (validate.ts).
 */
import type * as ldaptsT from 'ldapts';
import { lazy } from '../util/lazy.js';

const ldapts = lazy<typeof ldaptsT>('ldapts');

export const LDAP_LIMITS = { timeoutMs: 5000, bytes: 1024 * 1024 };

export interface LdapTarget { server: string; dn?: string; attribute: string }

/** ldap://host[:port][/dn[?attribute]] */
export function parseLdapUrl(url: string): LdapTarget {
  const m = /^ldap:\/\/([^/?#\s]+)(?:\/([^?#]*))?(?:\?([^?#]*))?/i.exec(url.trim());
  if (!m) throw new Error(`${url}: not an LDAP URL (ldap://server_name)`);
  const dn = m[2] ? decodeURIComponent(m[2]) : undefined;
  const attribute = m[3] ? decodeURIComponent(m[3]).split(',')[0]! : 'certificateRevocationList;binary';
  return { server: `ldap://${m[1]}`, ...(dn ? { dn } : {}), attribute };
}

/** More bytes came from the server than LDAP_LIMITS.bytes: the fetch was cut there. */
export class LdapTooLarge extends Error {
  constructor(readonly received: number, readonly limit: number) { super(`the reply is larger than ${limit} bytes: fetch aborted after ${received} bytes`); }
}

/**
 * Count what the client's socket receives, and cut it past `limit`. ldapts hands every chunk of its
 * socket to one handler (`socketDataHandler`, attached when it connects): it is wrapped before the
 * connection opens, so the parser never sees a byte past the bound, and the socket is destroyed at once.
 */
function boundReceipt(client: ldaptsT.Client, limit: number): { received: () => number; over: () => LdapTooLarge | undefined } {
  const c = client as unknown as { socketDataHandler?: (d: Buffer) => void; socket?: import('node:net').Socket };
  const inner = c.socketDataHandler;
  // fail closed: an ldapts that no longer has this hook cannot be bounded, so it is not used
  if (typeof inner !== 'function') throw new Error('this ldapts cannot bound what it receives');
  let received = 0;
  let over: LdapTooLarge | undefined;
  c.socketDataHandler = (d: Buffer) => {
    if (over) return;
    received += d.length;
    if (received > limit) {
      over = new LdapTooLarge(received, limit);
      c.socket?.destroy(over);
      return;
    }
    inner(d);
  };
  return { received: () => received, over: () => over };
}

/** The CRL (DER) stored at the entry `dn` (or the URL's). */
export async function fetchCrl(url: string, dn: string): Promise<{ der: Buffer; dn: string; received: number }> {
  const t = parseLdapUrl(url);
  const base = t.dn ?? dn;
  const attrs = [...new Set([t.attribute, 'certificateRevocationList;binary', 'certificateRevocationList'])];
  const client = new ldapts.Client({ url: t.server, timeout: LDAP_LIMITS.timeoutMs, connectTimeout: LDAP_LIMITS.timeoutMs });
  const bound = boundReceipt(client, LDAP_LIMITS.bytes);
  try {
    const r = await client.search(base, { scope: 'base', attributes: attrs, explicitBufferAttributes: attrs, sizeLimit: 1, timeLimit: Math.ceil(LDAP_LIMITS.timeoutMs / 1000) });
    const e = r.searchEntries[0];
    if (!e) throw new Error(`no entry ${base}`);
    for (const a of attrs) {
      const v = e[a];
      const b = Array.isArray(v) ? v[0] : v;
      if (Buffer.isBuffer(b) && b.length) {
        if (b.length > LDAP_LIMITS.bytes) throw new Error(`the CRL at ${base} is larger than ${LDAP_LIMITS.bytes} bytes`);
        return { der: b, dn: base, received: bound.received() };
      }
    }
    throw new Error(`${base} has no certificateRevocationList`);
  } catch (e) {
    const over = bound.over();
    if (over) throw new Error(`${t.server}: the CRL at ${base}: ${over.message}`);
    const err = e as Error & { code?: string | number };
    if (typeof err.code === 'string') throw new Error(`${t.server}: ${err.code}`);
    throw new Error(`${t.server}: ${typeof err.code === 'number' ? `LDAP result ${err.code}${err.message ? `, ${err.message}` : ''} (${base})` : err.message}`);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}
