#!/usr/bin/python3
"""Hostile frames onto a lab wire, from inside a namespace (AF_PACKET, Python's standard library only).

usage: hostile.py IFACE DST_MAC SRC_IP DST_IP PHASE [SCALE]
  frames: 85,000 malformed Ethernet/IPv4/ESP/AH frames (SCALE 1), in classes whose every frame the
          router must drop for one known reason
  random: 15,000 frames of random bytes behind an IPv4, ARP or random ethertype
  frags:  fragment trains to DST_IP: oversize (data ending at 65,535), overlapping, duplicated, and
          thousands of distinct datagrams
Prints one JSON object: frames sent per class. Paced, so the TAP queue never overflows.
"""
import json, os, random, socket, struct, sys, time

iface, dst_mac, src_ip, dst_ip, phase = sys.argv[1:6]
scale = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
rnd = random.Random(1234)
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((iface, 0))
src_mac = sock.getsockname()[4]
eth = bytes.fromhex(dst_mac.replace(':', '')) + src_mac

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip(proto, payload, ident=1, mf=False, off=0, src=src_ip, dst=dst_ip, bad_sum=False, ver=4, total=None):
    tl = total if total is not None else 20 + len(payload)
    h = struct.pack('!BBHHHBBH4s4s', (ver << 4) | 5, 0, tl, ident, (0x2000 if mf else 0) | (off >> 3), 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    c = csum(h)
    if bad_sum: c ^= 0x5a5a
    return h[:10] + struct.pack('!H', c) + h[12:] + payload

sent = {}
burst = 0
def send(cls, pkt, ethertype=0x0800):
    global burst
    sock.send(eth + struct.pack('!H', ethertype) + pkt)
    sent[cls] = sent.get(cls, 0) + 1
    burst += 1
    if burst % 64 == 0: time.sleep(0.002)     # about 30,000 frames a second at most

rb = lambda n: bytes(rnd.getrandbits(8) for _ in range(n))
if phase == 'frames':
    n = lambda k: int(k * scale)
    for _ in range(n(20000)): send('ip-bad-checksum', ip(17, rb(rnd.randrange(8, 200)), bad_sum=True))
    for _ in range(n(10000)): send('ip-bad-version', ip(17, rb(rnd.randrange(8, 100)), ver=6))
    for _ in range(n(10000)): send('ip-short-packet', rb(rnd.randrange(1, 20)))
    for _ in range(n(10000)): send('ip-bad-total-length', ip(17, rb(40), total=1500))
    for _ in range(n(15000)):
        spi = rnd.choice([rnd.randrange(256, 2312), rnd.randrange(2313, 1 << 32)])
        send('ipsec-no-sa', ip(50, struct.pack('!II', spi, rnd.randrange(1, 1 << 31)) + rb(44)))
    for _ in range(n(5000)): send('ipsec-no-sa', ip(51, bytes([4, 4, 0, 0]) + struct.pack('!II', rnd.randrange(1 << 20, 1 << 32), 1) + rb(16)))
    # the right SPI, forged contents: the ES PIC checks the ICV first and drops them
    for _ in range(n(15000)): send('bad-icv', ip(50, struct.pack('!II', 2312, rnd.randrange(1, 1 << 31)) + rb(8 + 16 + 12)))
elif phase == 'random':
    # random bytes behind an IPv4, ARP or random ethertype: no promise but survival
    for _ in range(int(15000 * scale)): send('random', rb(rnd.randrange(0, 1500)), ethertype=rnd.choice([0x0800, 0x0800, 0x0806, rnd.randrange(0, 1 << 16)]))
elif phase == 'frags':
    # 45 fragments whose data ends at 65,535: all dropped as too big (the remote crash of old)
    for t in range(int(20 * scale)):
        for i in range(45):
            send('frag-too-big', ip(1, rb(1480 if i < 44 else 415), ident=1000 + t, mf=i < 44, off=i * 1480))
    # overlapping fragments: the datagram is abandoned
    for t in range(int(200 * scale)):
        send('frag-overlap', ip(1, rb(80), ident=3000 + t, mf=True, off=0))
        send('frag-overlap', ip(1, rb(16), ident=3000 + t, mf=True, off=72))
    # one fragment 2,000 times: one kept, the rest duplicates
    f = ip(1, rb(1480), ident=5000, mf=True, off=0)
    for _ in range(int(2000 * scale)): send('frag-duplicate', f)
    # thousands of distinct datagrams that never complete: the table stays bounded (evictions)
    for t in range(int(5000 * scale)): send('frag-flood', ip(1, rb(8), ident=(6000 + t) & 0xffff, mf=True, off=0))
print(json.dumps(sent))
