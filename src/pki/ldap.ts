/**
 * A CA's CRL from its LDAP server (`ldap-url`), with ldapts. The chapter's form is `ldap://server`:
 * the entry is then the CA certificate's subject DN; an RFC 4516 URL may name it
 * (`ldap://server/ou=SCEP CA,o=x,c=US?certificateRevocationList;binary`). One entry, one attribute,
 * bounded in time (5 s) and size (1 MiB); the CRL's signature is checked by the caller (validate.ts).
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

/** The CRL (DER) stored at the entry `dn` (or the URL's). */
export async function fetchCrl(url: string, dn: string): Promise<{ der: Buffer; dn: string }> {
  const t = parseLdapUrl(url);
  const base = t.dn ?? dn;
  const attrs = [...new Set([t.attribute, 'certificateRevocationList;binary', 'certificateRevocationList'])];
  const client = new ldapts.Client({ url: t.server, timeout: LDAP_LIMITS.timeoutMs, connectTimeout: LDAP_LIMITS.timeoutMs });
  try {
    const r = await client.search(base, { scope: 'base', attributes: attrs, explicitBufferAttributes: attrs, sizeLimit: 1, timeLimit: Math.ceil(LDAP_LIMITS.timeoutMs / 1000) });
    const e = r.searchEntries[0];
    if (!e) throw new Error(`no entry ${base}`);
    for (const a of attrs) {
      const v = e[a];
      const b = Array.isArray(v) ? v[0] : v;
      if (Buffer.isBuffer(b) && b.length) {
        if (b.length > LDAP_LIMITS.bytes) throw new Error(`the CRL at ${base} is larger than ${LDAP_LIMITS.bytes} bytes`);
        return { der: b, dn: base };
      }
    }
    throw new Error(`${base} has no certificateRevocationList`);
  } catch (e) {
    const err = e as Error & { code?: string | number };
    if (typeof err.code === 'string') throw new Error(`${t.server}: ${err.code}`);
    throw new Error(`${t.server}: ${typeof err.code === 'number' ? `LDAP result ${err.code}${err.message ? `, ${err.message}` : ''} (${base})` : err.message}`);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}
