// Run after `npm run build`: node test/bench/espic-latency.mjs
// Where does an idle ES PIC round trip go? Time encrypt() -> sink.outer for packets 20 ms apart,
// with and without crypto work in the worker (an SA vs none: 'no-sa' drops return nothing, so we
// measure the empty path with a ring echo instead).
import { EsPic } from '../../dist/pics/es/es-pic.js';
import { buildIpv4 } from '../../dist/src/net/ipv4.js';
const key = Buffer.from('123456789009876543211234'), ak = Buffer.from('12345678901234567890');
const mk = (enc, auth) => ({ protocol: 'esp', spi: 1000, ...(enc ? { enc: { algorithm: '3des-cbc', key } } : {}), ...(auth ? { auth: { algorithm: 'hmac-sha1-96', key: ak } } : {}) });
const keep = setInterval(() => {}, 1000);
for (const [label, d] of [['esp 3des+sha1', mk(true, true)], ['esp null-enc sha1', mk(false, true)], ['esp 3des no-auth', mk(true, false)]]) {
  const pic = new EsPic('0/1');
  pic.configure([{ ifl: 'es', pic: '0/1', source: 1, destination: 2, sa: { name: 'x', mode: 'tunnel', manual: { inbound: d, outbound: d, bidirectional: true } } }]);
  const pkt = buildIpv4({ protocol: 1, src: 5, dst: 6 }, Buffer.alloc(64));
  const t = [];
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    await new Promise(res => { pic.setSink({ outer: () => res(), inner: () => res() }); pic.encrypt('es', pkt); });
    t.push(performance.now() - t0);
    await new Promise(r => setTimeout(r, 20));
  }
  t.sort((a, b) => a - b);
  console.log(label.padEnd(20), 'median', t[20].toFixed(3), 'ms  p10', t[4].toFixed(3));
  await pic.close();
}
clearInterval(keep);
