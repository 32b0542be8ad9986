// An independent checksum verifier, written from the RFCs and sharing no code with the builder or
// the parser (only the problem type): if the builder had a checksum bug, a test that built a frame
// and "verified" it with the same arithmetic would pass anyway.
//
// RFC 1071: the sum, in one's-complement arithmetic, of all 16-bit words of the checked region
// *including* the checksum field is all ones (0xffff) when the checksum is right.
// RFC 791 (IPv4 header), RFC 793 (TCP, pseudo-header: src, dst, zero, protocol, TCP length),
// RFC 768 (UDP: pseudo-header with the UDP length; a transmitted zero means "no checksum", a
// computed zero is sent as all ones), RFC 792 (ICMP: the message only), RFC 8200 section 8.1 and
// RFC 4443 (IPv6 pseudo-header: src, dst, 32-bit length, 3 zero bytes, next header; UDP over IPv6
// must carry a checksum; ICMPv6 includes the pseudo-header).

export interface ChecksumProblem {
  layer: 'ipv4' | 'ipv6' | 'tcp' | 'udp' | 'icmp' | 'icmp6';
  /** `checksum`: the value is wrong; `length`: the region could not be checked as the lengths say. */
  field: 'checksum' | 'length';
  /** Offset of the field in the frame. */
  offset: number;
  /** The checksum found (for `checksum` problems). */
  found?: number;
  /** The checksum that would be right (for `checksum` problems). */
  expected?: number;
  message: string;
}

export interface VerifyOptions {
  /** Offset of the IP header when the input has no Ethernet header (e.g. 0 for a bare IP packet). */
  l3Offset?: number;
}

/** Checks every checksum in an Ethernet frame (or IP packet, with `l3Offset`). Returns [] when all are right. */
export function verifyChecksums(frame: Uint8Array, options: VerifyOptions = {}): ChecksumProblem[] {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const n = frame.byteLength;
  const problems: ChecksumProblem[] = [];
  const word = (at: number): number => view.getUint16(at, false);

  // Plain 32-bit accumulation of 16-bit words over [from, to); an odd last byte is the high half.
  const addRange = (acc: number, from: number, to: number): number => {
    let i = from;
    for (; i + 1 < to; i += 2) acc += word(i);
    if (i < to) acc += view.getUint8(i) * 256;
    return acc;
  };
  const fold = (acc: number): number => {
    let x = acc;
    while (x >= 0x10000) x = (x % 0x10000) + Math.floor(x / 0x10000);
    return x;
  };
  // Checks a region whose checksum field is at `fieldAt`; `extra` is the pseudo-header's sum.
  const check = (
    layer: ChecksumProblem['layer'],
    from: number,
    to: number,
    fieldAt: number,
    extra: number,
    zeroIsAllOnes: boolean,
  ): void => {
    const found = word(fieldAt);
    const total = fold(addRange(extra, from, to));
    if (total === 0xffff) return;
    let expected = 0xffff - fold(total + 0xffff - found); // the sum without the field, complemented
    if (expected === 0 && zeroIsAllOnes) expected = 0xffff;
    problems.push({
      layer,
      field: 'checksum',
      offset: fieldAt,
      found,
      expected,
      message: `${layer} checksum is 0x${hex4(found)}, expected 0x${hex4(expected)}`,
    });
  };
  const lengthProblem = (layer: ChecksumProblem['layer'], offset: number, message: string): ChecksumProblem[] => {
    problems.push({ layer, field: 'length', offset, message });
    return problems;
  };

  let l3 = options.l3Offset;
  let etherType: number;
  if (l3 === undefined) {
    if (n < 14) return problems;
    etherType = word(12);
    l3 = 14;
    // Up to two VLAN tags (802.1Q, 802.1ad).
    for (let tags = 0; tags < 2 && (etherType === 0x8100 || etherType === 0x88a8) && n >= l3 + 4; tags++) {
      etherType = word(l3 + 2);
      l3 += 4;
    }
  } else {
    etherType = n > l3 && view.getUint8(l3) >> 4 === 6 ? 0x86dd : 0x0800;
  }

  let upper: number;
  let from: number;
  let to: number;
  let pseudoSum: number;
  let v6 = false;

  if (etherType === 0x0800) {
    if (n < l3 + 20) return lengthProblem('ipv4', l3, `IPv4 header cut short: ${n - l3} bytes`);
    const ihlBytes = (view.getUint8(l3) & 0x0f) * 4;
    if (ihlBytes < 20) return lengthProblem('ipv4', l3, `IPv4 IHL ${ihlBytes / 4} is below 5`);
    if (n < l3 + ihlBytes) return lengthProblem('ipv4', l3, `IPv4 header (${ihlBytes} bytes with options) cut short`);
    check('ipv4', l3, l3 + ihlBytes, l3 + 10, 0, false);
    const totalLength = word(l3 + 2);
    const flagsFrag = word(l3 + 6);
    if ((flagsFrag & 0x3fff) !== 0) return problems; // a fragment: the L4 checksum covers the whole datagram
    if (totalLength < ihlBytes) return lengthProblem('ipv4', l3 + 2, `IPv4 total length ${totalLength} is below the header length`);
    if (n < l3 + totalLength) return lengthProblem('ipv4', l3 + 2, `IPv4 total length ${totalLength} exceeds the ${n - l3} bytes present`);
    upper = view.getUint8(l3 + 9);
    from = l3 + ihlBytes;
    to = l3 + totalLength;
    pseudoSum = addRange(0, l3 + 12, l3 + 20) + upper; // src, dst, zero byte + protocol
  } else if (etherType === 0x86dd) {
    if (n < l3 + 40) return problems;
    v6 = true;
    const payloadLength = word(l3 + 4);
    to = l3 + 40 + payloadLength;
    if (n < to) return lengthProblem('ipv6', l3 + 4, `IPv6 payload length ${payloadLength} exceeds the ${n - l3 - 40} bytes present`);
    upper = view.getUint8(l3 + 6);
    from = l3 + 40;
    // Walk extension headers: hop-by-hop, routing, destination options; stop at a fragment.
    while (upper === 0 || upper === 43 || upper === 60 || upper === 44) {
      if (upper === 44) {
        if (from + 8 > to) return problems;
        const fragWord = word(from + 2);
        if ((fragWord & 0xfff9) !== 0) return problems; // offset or MF set: not checkable alone
        upper = view.getUint8(from);
        from += 8;
        continue;
      }
      if (from + 2 > to) return problems;
      const len = (view.getUint8(from + 1) + 1) * 8;
      upper = view.getUint8(from);
      from += len;
    }
    if (from > to) return problems;
    pseudoSum = addRange(0, l3 + 8, l3 + 40) + upper; // src, dst, (length added below), zeros + next header
  } else {
    return problems;
  }

  const segLen = to - from;
  if (upper === 6) {
    if (segLen < 20) return lengthProblem('tcp', from, `TCP segment of ${segLen} bytes is shorter than a header`);
    check('tcp', from, to, from + 16, pseudoSum + segLen, false);
  } else if (upper === 17) {
    if (segLen < 8) return lengthProblem('udp', from, `UDP datagram of ${segLen} bytes is shorter than a header`);
    const udpLength = word(from + 4);
    if (udpLength < 8 || udpLength > segLen) {
      return lengthProblem('udp', from + 4, `UDP length ${udpLength} does not fit the ${segLen} bytes the IP header gives`);
    }
    if (word(from + 6) === 0) {
      if (v6)
        problems.push({
          layer: 'udp',
          field: 'checksum',
          offset: from + 6,
          found: 0,
          message: 'UDP checksum 0 (none) is not allowed over IPv6',
        });
      return problems;
    }
    check('udp', from, from + udpLength, from + 6, pseudoSum + udpLength, true);
  } else if (upper === 1 && !v6) {
    if (segLen < 4) return lengthProblem('icmp', from, `ICMP message of ${segLen} bytes is too short`);
    check('icmp', from, to, from + 2, 0, false);
  } else if (upper === 58 && v6) {
    if (segLen < 4) return lengthProblem('icmp6', from, `ICMPv6 message of ${segLen} bytes is too short`);
    check('icmp6', from, to, from + 2, pseudoSum + segLen, false);
  }
  return problems;
}

function hex4(x: number): string {
  return x.toString(16).padStart(4, '0');
}
