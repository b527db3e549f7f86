import { describe, it, expect } from 'vitest';
import { decodeSecret9, encodeSecret9, isSecret9 } from './secret.js';

describe('$9$ secrets', () => {
  it('decodes the reference vector of Crypt::Juniper', () => {
    expect(decodeSecret9('$9$LbHX-wg4Z')).toBe('lc');
  });
  it('round-trips any text, with any salt', () => {
    for (const s of ['1234123412341234', 'example-pre-shared-key', 'a', '0102030abbcd', ' !"#~']) {
      for (let seed = 0; seed < 20; seed++) {
        const e = encodeSecret9(s, Buffer.from([seed, seed * 7, seed * 13, 3, 9]));
        expect(isSecret9(e)).toBe(true);
        expect(decodeSecret9(e)).toBe(s);
      }
    }
  });
  it('is stable for the same key by default, so displays and goldens do not churn', () => {
    expect(encodeSecret9('abc')).toBe(encodeSecret9('abc'));
  });
  it('refuses what is not a $9$ string', () => {
    expect(decodeSecret9('plain')).toBeNull();
    expect(isSecret9('$9$')).toBe(false);
  });
});
