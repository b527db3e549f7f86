/** A full ring drops and counts (`pic-busy`); every packet is either sealed or counted. */
import { it, expect } from 'vitest';
import { EsPic } from './es-pic.js';
import { buildIpv4 } from '../../src/net/ipv4.js';
import { ipToInt } from '../../src/net/ip.js';

it('packets that find the ring full are counted as pic-busy drops', async () => {
  const key = Buffer.from('123456789009876543211234'), ak = Buffer.from('12345678901234567890');
  const d = { protocol: 'esp' as const, spi: 1000, enc: { algorithm: '3des-cbc' as const, key }, auth: { algorithm: 'hmac-sha1-96' as const, key: ak } };
  const pic = new EsPic('0/1');
  try {
    pic.configure([{ ifl: 'es', pic: '0/1', source: ipToInt('10.5.5.5'), destination: ipToInt('10.6.6.6'), sa: { name: 'x', mode: 'tunnel', manual: { inbound: d, outbound: d, bidirectional: true } } }]);
    let sealed = 0;
    pic.setSink({ outer: () => { sealed++; }, inner: () => {} });
    const big = buildIpv4({ protocol: 17, src: 1, dst: 2 }, Buffer.alloc(60000));
    for (let i = 0; i < 300; i++) pic.encrypt('es', big);       // 18 MB at once into a 4 MiB ring
    let busy = 0;
    for (let i = 0; i < 300; i++) {
      busy = (await pic.snapshot()).drops['pic-busy'];
      if (sealed + busy === 300) break;
      await new Promise(r => setTimeout(r, 100));
    }
    expect(busy).toBeGreaterThan(0);
    expect(sealed).toBeGreaterThan(0);
    expect(sealed + busy).toBe(300);
  } finally { await pic.close(); }
}, 60000);
