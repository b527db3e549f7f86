import { describe, it, expect } from 'vitest';
import { RouteTable, Route } from './routes.js';
import { maskOf } from '../net/ip.js';

function rng(seed: number) { return () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed; }; }

describe('route table', () => {
  it('longest prefix wins, and preference breaks ties between protocols', () => {
    const t = new RouteTable();
    t.add({ prefix: { addr: 0, len: 0 }, protocol: 'Static', preference: 5, nh: { kind: 'discard' } });
    t.add({ prefix: { addr: 0x0a000000, len: 8 }, protocol: 'Static', preference: 5, nh: { kind: 'reject' } });
    t.add({ prefix: { addr: 0x0a010100, len: 24 }, protocol: 'Static', preference: 5, nh: { kind: 'discard' } });
    t.add({ prefix: { addr: 0x0a010100, len: 24 }, protocol: 'Direct', preference: 0, nh: { kind: 'direct', ifl: 'fe-0/0/1.0' } });
    expect(t.lookup(0x0a010105)!.protocol).toBe('Direct');
    expect(t.lookup(0x0a020202)!.nh.kind).toBe('reject');
    expect(t.lookup(0x0b000001)!.nh.kind).toBe('discard');
  });
  it('agrees with a brute-force search on 100,000 random routes', () => {
    const r = rng(42);
    const t = new RouteTable();
    const all: Route[] = [];
    for (let i = 0; i < 100_000; i++) {
      const len = 8 + (r() % 25);
      const route: Route = { prefix: { addr: (r() & maskOf(len)) >>> 0, len }, protocol: 'Static', preference: 5, nh: { kind: 'gateway', ifl: 'x', gateway: i } };
      if (!t.exact(route.prefix)) all.push(route);
      t.add(route);
    }
    expect(t.size).toBe(all.length);
    for (let k = 0; k < 2000; k++) {
      const ip = k % 2 ? r() >>> 0 : (all[r() % all.length]!.prefix.addr | (r() & 255)) >>> 0;
      let best: Route | undefined;
      for (const x of all) if (((ip & maskOf(x.prefix.len)) >>> 0) === x.prefix.addr && (!best || x.prefix.len > best.prefix.len)) best = x;
      expect(t.lookup(ip)?.prefix).toEqual(best?.prefix);
    }
  });
});
