/**
 * A module loaded on first use. Heavy libraries that only some routers need (pkijs and asn1js for
 * certificates, ldapts, ssh2, saxes for the API) would otherwise cost every router process their
 * memory at start (docs/performance.md: memory per router).
 */
import { createRequire } from 'node:module';

const req = createRequire(import.meta.url);
export function lazy<T extends object>(id: string): T {
  let m: T | undefined;
  return new Proxy({} as T, { get: (_t, k) => (m ??= req(id) as T)[k as keyof T] });
}
