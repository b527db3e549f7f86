/**
 * JUNOS "$9$" reversible secret encoding (the format JUNOS shows for keys and pre-shared keys,
 * followed by "## SECRET-DATA"). This is an obfuscation, not encryption: it exists so keys are not
 * shown in clear text on a screen or in a log. Algorithm as in Crypt::Juniper (K. Brintnall).
 */
import { createHash } from 'node:crypto';

const FAMILY = ['QzF3n6/9CAtpu0O', 'B1IREhcSyrleKvMW8LXx', '7N-dVbwsY2g4oaJZGUDj', 'iHkq.mPf5T'];
const EXTRA = new Map<string, number>();
FAMILY.forEach((chars, i) => { for (const c of chars) EXTRA.set(c, 3 - i); });
const NUM_ALPHA = FAMILY.join('').split('');
const ALPHA_NUM = new Map<string, number>(NUM_ALPHA.map((c, i) => [c, i]));
const ENCODING = [[1, 4, 32], [1, 16, 32], [1, 8, 32], [1, 64], [1, 32], [1, 4, 16, 128], [1, 32, 64]];
const MAGIC = '$9$';

export function isSecret9(s: string): boolean {
  if (!s.startsWith(MAGIC) || s.length < MAGIC.length + 2) return false;
  for (const c of s.slice(MAGIC.length)) if (!ALPHA_NUM.has(c)) return false;
  return decodeSecret9(s) !== null;
}

/** Decode a $9$ string; null when it is not a well-formed one. */
export function decodeSecret9(crypt: string): string | null {
  if (!crypt.startsWith(MAGIC)) return null;
  let chars = crypt.slice(MAGIC.length);
  const first = chars[0];
  if (first === undefined || !EXTRA.has(first)) return null;
  chars = chars.slice(1 + EXTRA.get(first)!);
  let prev = first;
  let out = '';
  while (chars.length > 0) {
    const decode = ENCODING[out.length % ENCODING.length]!;
    if (chars.length < decode.length) return null;
    const nibble = chars.slice(0, decode.length);
    chars = chars.slice(decode.length);
    let num = 0;
    for (let i = 0; i < nibble.length; i++) {
      const c = nibble[i]!;
      const a = ALPHA_NUM.get(c), b = ALPHA_NUM.get(prev);
      if (a === undefined || b === undefined) return null;
      const gap = ((a - b) % NUM_ALPHA.length + NUM_ALPHA.length) % NUM_ALPHA.length - 1;
      num += gap * decode[i]!;
      prev = c;
    }
    out += String.fromCharCode(num % 256);
  }
  return out;
}

/**
 * Encode plaintext as $9$. `seed` picks the salt characters; by default they are derived from the
 * plaintext so that the same key always displays the same way (stable diffs and golden files).
 */
export function encodeSecret9(plain: string, seed?: Buffer): string {
  const rnd = seed ?? createHash('sha256').update('vrouter-$9$').update(plain).digest();
  let ri = 0;
  const randc = () => NUM_ALPHA[rnd[ri++ % rnd.length]! % NUM_ALPHA.length]!;
  const salt = randc();
  let crypt = MAGIC + salt;
  for (let i = 0; i < EXTRA.get(salt)!; i++) crypt += randc();
  let prev = salt;
  for (let pos = 0; pos < plain.length; pos++) {
    const encode = ENCODING[pos % ENCODING.length]!;
    let ord = plain.charCodeAt(pos);
    const gaps: number[] = [];
    for (let j = encode.length - 1; j >= 0; j--) {
      gaps.unshift(Math.floor(ord / encode[j]!));
      ord %= encode[j]!;
    }
    for (const g of gaps) {
      const c = NUM_ALPHA[(g + ALPHA_NUM.get(prev)! + 1) % NUM_ALPHA.length]!;
      crypt += c;
      prev = c;
    }
  }
  return crypt;
}

/**
 * Hide a secret value as it enters the configuration: its UTF-8 bytes as $9$ (a value that already
 * is a well-formed $9$ string is kept as typed, as JUNOS does when a configuration is loaded back).
 */
export function hideSecret(text: string): string {
  return isSecret9(text) ? text : encodeSecret9(Buffer.from(text, 'utf8').toString('latin1'));
}
/** The bytes a hidden secret stands for. */
export function secretBytes(hidden: string): Buffer {
  return Buffer.from(decodeSecret9(hidden) ?? hidden, 'latin1');
}
