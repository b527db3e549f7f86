/** The Internet checksum (RFC 1071) over buf[start, end), with an optional initial sum. */
export function csumPartial(buf: Buffer, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}
export function csumFinish(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
export const checksum = (buf: Buffer, start = 0, end = buf.length) => csumFinish(csumPartial(buf, start, end));
