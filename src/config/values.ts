/**
 * The values the commit check and the compiler both read: keys, ports, protocols, trace sizes,
 * certificate-key-string.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { CNode } from './tree.js';
import { secretBytes } from './secret.js';
import { quoteIfNeeded } from './lexer.js';
import type * as M from './model.js';
import { PORTS, PROTOCOLS } from '../net/names.js';

export const KEY_SIZES: Record<string, number> = { 'hmac-md5-96': 16, 'hmac-sha1-96': 20, 'des-cbc': 8, '3des-cbc': 24 };

// RFC 2409 appendix A: DES weak and semi-weak keys (compared with parity bits cleared)
export const DES_WEAK = [
  '0101010101010101', 'FEFEFEFEFEFEFEFE', 'E0E0E0E0F1F1F1F1', '1F1F1F1F0E0E0E0E',
  '01FE01FE01FE01FE', 'FE01FE01FE01FE01', '1FE01FE00EF10EF1', 'E01FE01FF10EF10E',
  '01E001E001F101F1', 'E001E001F101F101', '1FFE1FFE0EFE0EFE', 'FE1FFE1FFE0EFE0E',
  '011F011F010E010E', '1F011F010E010E01', 'E0FEE0FEF1FEF1FE', 'FEE0FEE0FEF1FEF1',
].map(h => Buffer.from(Buffer.from(h, 'hex').map(b => b & 0xfe)).toString('hex'));
export function isDesWeak(k8: Buffer): boolean {
  return DES_WEAK.includes(Buffer.from(Buffer.from(k8).map(b => b & 0xfe)).toString('hex'));
}

/** The key bytes of a `key (ascii-text|hexadecimal) "$9$..."` leaf (checked by `keyProblem` first). */
export function keyBytes(values: string[]): Buffer {
  const raw = secretBytes(values[1]!);
  return values[0] === 'hexadecimal' ? Buffer.from(raw.toString('latin1'), 'hex') : raw;
}

/** What is wrong with a key's text, whatever its use: empty, not hexadecimal, not printable ASCII. */
export function keyProblem(values: string[]): { code: 'KEY_EMPTY' | 'KEY_NOT_HEX' | 'KEY_HEX_ODD' | 'KEY_NOT_ASCII' } | null {
  const raw = secretBytes(values[1]!);
  if (raw.length === 0) return { code: 'KEY_EMPTY' };
  if (values[0] === 'hexadecimal') {
    const text = raw.toString('latin1');
    if (!/^[0-9a-fA-F]+$/.test(text)) return { code: 'KEY_NOT_HEX' };
    if (text.length % 2) return { code: 'KEY_HEX_ODD' };
  } else if (raw.some(b => b < 0x20 || b > 0x7e)) return { code: 'KEY_NOT_ASCII' };
  return null;
}

export function statementOf(n: CNode): string {
  if (n.def.kind === 'leaf' || n.def.kind === 'leafList') {
    const vals = n.values.map(quoteIfNeeded);
    return `${n.keyword} ${n.def.kind === 'leafList' && vals.length > 1 ? `[ ${vals.join(' ')} ]` : vals.join(' ')}`;
  }
  return n.head().map(quoteIfNeeded).join(' ');
}

export function parsePortRange(v: string): [number, number] | null {
  if (/^\d+$/.test(v)) { const n = Number(v); return n <= 65535 ? [n, n] : null; }
  const m = /^(\d+)-(\d+)$/.exec(v);
  if (m) { const a = Number(m[1]), b = Number(m[2]); return a <= b && b <= 65535 ? [a, b] : null; }
  const p = PORTS[v];
  return p === undefined ? null : [p, p];
}
export function parseProtocol(v: string): number | null {
  if (/^\d+$/.test(v)) { const n = Number(v); return n <= 255 ? n : null; }
  return PROTOCOLS[v] ?? null;
}

/** A trace file size: bytes, or with k, m or g (KB, MB, GB). */
export function traceSize(s: string): number | undefined {
  const m = /^(\d{1,10})([kmg]?)$/i.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2]!.toLowerCase()]!;
}

/** A certificate-key-string holds a PEM certificate and an unencrypted private key that belong together. */
export function certKeyStringOk(pem: string): boolean {
  try {
    const cert = new X509Certificate(pem);
    const m = /-----BEGIN (?:RSA |EC |DSA )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |DSA )?PRIVATE KEY-----/.exec(pem);
    return !!m && cert.checkPrivateKey(createPrivateKey(m[0]));
  } catch { return false; }
}
