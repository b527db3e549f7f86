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

describe('16-8-8 trie edges', () => {
  it('default route, /16, /24 and /32 boundaries, and host routes under a default', () => {
    const t = new RouteTable();
    const add = (a: number, len: number, tag: number) => t.add({ prefix: { addr: a >>> 0, len }, protocol: 'Static', preference: 5, nh: { kind: 'gateway', ifl: 'x', gateway: tag } });
    add(0, 0, 0); add(0xc0a80000, 16, 16); add(0xc0a80100, 24, 24); add(0xc0a80101, 32, 32); add(0xffffffff, 32, 99);
    const gw = (ip: number) => (t.lookup(ip >>> 0)!.nh as { gateway: number }).gateway;
    expect([gw(0x01020304), gw(0xc0a8ffff), gw(0xc0a801fe), gw(0xc0a80101), gw(0xc0a80102), gw(0xffffffff), gw(0xfffffffe)]).toEqual([0, 16, 24, 32, 24, 99, 0]);
    expect(t.trieBytes).toBe(256 * 1024 + 4 * 1024);   // the root and four plies
  });
});
