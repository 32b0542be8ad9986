// The builder's checksum arithmetic (RFC 1071 one's-complement sum). `verify.ts` deliberately does
// not use this file: the verifier must be an independent implementation.

/** One's-complement sum of `data` as big-endian 16-bit words (odd tail padded), not yet folded. */
function sum16(data: Uint8Array, start: number): number {
  let sum = start;
  const end = data.length & ~1;
  for (let i = 0; i < end; i += 2) sum += ((data[i] as number) << 8) | (data[i + 1] as number);
  if (data.length & 1) sum += (data[data.length - 1] as number) << 8;
  return sum;
}

/** The Internet checksum of the concatenation of `chunks` (each but the last of even length). */
export function internetChecksum(...chunks: Uint8Array[]): number {
  let sum = 0;
  for (const c of chunks) sum = sum16(c, sum);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** The TCP/UDP/ICMPv6 pseudo-header: IPv4 (RFC 793/768) or IPv6 (RFC 8200 section 8.1). */
export function pseudoHeader(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): Buffer {
  if (src.length === 4) {
    const b = Buffer.alloc(12);
    b.set(src, 0);
    b.set(dst, 4);
    b[9] = protocol;
    b.writeUInt16BE(length, 10);
    return b;
  }
  const b = Buffer.alloc(40);
  b.set(src, 0);
  b.set(dst, 16);
  b.writeUInt32BE(length, 32);
  b[39] = protocol;
  return b;
}

/** A value that is never a valid checksum when `correct` is (0 and 0xffff are equivalent, so avoid both). */
export function wrongChecksum(correct: number): number {
  return correct === 0x1234 ? 0x4321 : 0x1234;
}
