// Crafted IPsec packets from inside a lab namespace, through raw-socket (IP protocol 50/51 raw sockets).
// usage: node inject.mjs TARGET  -> sends a tampered-ICV ESP with SPI 2312, an unknown SPI, a truncated
// ESP, garbage, and an AH with an unknown SPI; prints "sent N".
import raw from 'raw-socket';
const target = process.argv[2];
const esp = raw.createSocket({ protocol: 50 });
const ah = raw.createSocket({ protocol: 51 });
const packets = [];
const b = (spi, seq, body) => { const x = Buffer.alloc(8 + body.length); x.writeUInt32BE(spi, 0); x.writeUInt32BE(seq, 4); body.copy(x, 8); return x; };
packets.push([esp, b(2312, 99, Buffer.alloc(80, 0x5a))]);        // right SPI, forged contents: bad ICV
packets.push([esp, b(4242, 1, Buffer.alloc(80, 0x11))]);         // unknown SPI
packets.push([esp, Buffer.from([0x00, 0x00])]);                  // truncated
packets.push([esp, b(2312, 100, Buffer.alloc(3))]);              // right SPI, too short to hold an IV and ICV
const ahp = Buffer.alloc(24); ahp[1] = 4; ahp.writeUInt32BE(777, 4); ahp.writeUInt32BE(1, 8);
packets.push([ah, ahp]);                                         // AH with an unknown SPI
let n = 0;
for (const [s, p] of packets) {
  await new Promise((res, rej) => s.send(p, 0, p.length, target, (e) => (e ? rej(e) : res())));
  n++;
}
esp.close(); ah.close();
console.log(`sent ${n}`);
