/** The JUNOScript session over an in-memory stream: the start tags, the password challenge, login, RPCs, the end, and hostile input. */
import { describe, it, expect } from 'vitest';
import { Duplex } from 'node:stream';
import { junoscriptSession } from './junoscript.js';
import { netopsRouter } from './fixture.test-helper.js';

const { r, db } = netopsRouter();

function session(): { send(s: string): void; out(): string; closed: Promise<void> } {
  let out = '';
  let done!: () => void;
  const closed = new Promise<void>(res => { done = res; });
  const sock = new Duplex({ read() {}, write(chunk, _e, cb) { out += String(chunk); cb(); }, final(cb) { done(); cb(); } });
  (sock as unknown as { remoteAddress: string }).remoteAddress = '10.1.1.1';
  junoscriptSession(r, db, sock, '10.1.1.1');
  return { send: s => { sock.push(s); }, out: () => out, closed };
}

describe('JUNOScript session', () => {
  it('start tags, the password challenge, login, an RPC, the end', async () => {
    const s = session();
    s.send('<?xml version="1.0" encoding="us-ascii"?>\n<junoscript version="1.0" release="7.4R1">');
    s.send('<rpc><request-login><username>netops</username></request-login></rpc>');
    s.send('<rpc><request-login><username>netops</username><challenge-response>pw-1</challenge-response></request-login></rpc>');
    s.send('<rpc><get-configuration format="set"><configuration><system><host-name/></system></configuration></get-configuration></rpc>');
    s.send('<rpc><request-end-session/></rpc>');
    await s.closed;
    const o = s.out();
    expect(o).toMatch(/^<\?xml version="1\.0" encoding="us-ascii"\?>\n<junoscript xmlns="http:\/\/xml\.juniper\.net\/xnm\/1\.1\/xnm" xmlns:junos="http:\/\/xml\.juniper\.net\/junos\/7\.4R1\/junos" os="JUNOS" release="7\.4R1" hostname="gw-a" version="1\.0">/);
    expect(o).toMatch(/<authentication-response><status>fail<\/status><message>Password required for netops<\/message><challenge echo="no">Password:<\/challenge><\/authentication-response>/);
    expect(o).toMatch(/<status>success<\/status>/);
    expect(o).toMatch(/<configuration-set>set system host-name gw-a\n<\/configuration-set>/);
    expect(o).toMatch(/<end-session\/><\/rpc-reply>\n<\/junoscript>\n$/);
  });
  it('an RPC before login is refused; a malformed document ends the session with the reason', async () => {
    const s = session();
    s.send('<junoscript version="1.0"><rpc><get-configuration/></rpc><rpc><a></b></rpc>');
    await s.closed;
    expect(s.out()).toMatch(/<xnm:error xmlns:xnm="http:\/\/xml\.juniper\.net\/xnm\/1\.1\/xnm"><message>login first: &lt;request-login&gt;<\/message><\/xnm:error>/);
    expect(s.out()).toMatch(/<xnm:error[^>]*><message>malformed XML: [^<]+<\/message><\/xnm:error>\n<\/junoscript>\n$/);
  });
  it('fuzz: 300 random sessions end or wait, never throw', async () => {
    let seed = 3;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    for (let i = 0; i < 300; i++) {
      const s = session();
      const parts = ['<junoscript>', '<rpc>', '</rpc>', '<request-login>', '<username>netops</username>', '<challenge-response>x</challenge-response>', '</request-login>', '<get-configuration/>', '</junoscript>', '<', '&', ']]>', '\u0000'];
      expect(() => { for (let j = 0; j < 1 + rnd(12); j++) s.send(parts[rnd(parts.length)]!); }).not.toThrow();
    }
  });
});
