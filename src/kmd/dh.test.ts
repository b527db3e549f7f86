import { describe, it, expect } from 'vitest';
import { getDiffieHellman } from 'node:crypto';
import { DhKey } from './dh.js';
import { DH_GROUPS } from './constants.js';

describe('Diffie-Hellman through key objects', () => {
  for (const group of [1, 2]) {
    it(`group${group}: the same shared secret as node's DiffieHellman on the other side, the group's length`, () => {
      const mine = new DhKey(group);
      expect(mine.pub).toHaveLength(DH_GROUPS[group]!.bytes);
      const other = getDiffieHellman(DH_GROUPS[group]!.name); other.generateKeys();
      const theirs = Buffer.from(other.computeSecret(mine.pub));
      const s = mine.secret(Buffer.from(other.getPublicKey()).length === mine.bytes ? other.getPublicKey() : Buffer.concat([Buffer.alloc(mine.bytes - other.getPublicKey().length), other.getPublicKey()]));
      expect(s).toHaveLength(mine.bytes);
      expect(s.subarray(s.length - theirs.length)).toEqual(theirs);
      // and two key objects agree with each other
      const b = new DhKey(group);
      expect(mine.secret(b.pub)).toEqual(b.secret(mine.pub));
    });
    it(`group${group}: a public value that is none (0, 1, p-1, another length) throws`, () => {
      const k = new DhKey(group), n = k.bytes;
      const p = getDiffieHellman(DH_GROUPS[group]!.name).getPrime();
      const pm1 = Buffer.from(p); pm1[pm1.length - 1]! -= 1;
      const one = Buffer.alloc(n); one[n - 1] = 1;
      for (const bad of [Buffer.alloc(n), one, pm1, Buffer.alloc(n + 1, 1), Buffer.alloc(n - 1, 1)]) expect(() => k.secret(bad)).toThrow();
    });
  }
});
