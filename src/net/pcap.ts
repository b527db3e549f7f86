/** pcap files (libpcap format, microsecond timestamps): Ethernet ports, or raw IP for es- interfaces. */
export const LINKTYPE_ETHERNET = 1, LINKTYPE_RAW = 101;

export function pcapHeader(linktype: number, snaplen = 65535): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0); h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6);
  h.writeInt32LE(0, 8); h.writeUInt32LE(0, 12); h.writeUInt32LE(snaplen, 16); h.writeUInt32LE(linktype, 20);
  return h;
}
export function pcapRecord(data: Buffer, timeMs: number): Buffer {
  const r = Buffer.alloc(16 + data.length);
  r.writeUInt32LE(Math.floor(timeMs / 1000), 0);
  r.writeUInt32LE(Math.floor((timeMs % 1000) * 1000), 4);
  r.writeUInt32LE(data.length, 8); r.writeUInt32LE(data.length, 12);
  data.copy(r, 16);
  return r;
}
/** Read a pcap back (tests): linktype and packets. */
export function readPcap(b: Buffer): { linktype: number; packets: Buffer[] } {
  const linktype = b.readUInt32LE(20);
  const packets: Buffer[] = [];
  for (let o = 24; o + 16 <= b.length;) { const n = b.readUInt32LE(o + 8); packets.push(b.subarray(o + 16, o + 16 + n)); o += 16 + n; }
  return { linktype, packets };
}
