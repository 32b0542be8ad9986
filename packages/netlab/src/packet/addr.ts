// Text <-> bytes for the addresses that appear in frames. Kept separate from the builder so that
// tests, fixtures and the diff printer all format addresses the same way (IPv6 per RFC 5952).

/** Parses `aa:bb:cc:dd:ee:ff` (or `-` separated) into 6 bytes. */
export function parseMac(text: string): Buffer {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TypeError(`invalid MAC address: ${JSON.stringify(text)}`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Parses dotted-quad IPv4 into 4 bytes. */
export function parseIpv4(text: string): Buffer {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new TypeError(`invalid IPv4 address: ${JSON.stringify(text)}`);
  }
  return Buffer.from(parts.map(Number));
}

export function formatIpv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

/** Parses any RFC 4291 text form (including `::` and a trailing dotted quad) into 16 bytes. */
export function parseIpv6(text: string): Buffer {
  const fail = (): never => {
    throw new TypeError(`invalid IPv6 address: ${JSON.stringify(text)}`);
  };
  let body = text;
  // A trailing dotted quad (`::ffff:192.0.2.1`) stands for the last two words: rewrite it as hex.
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.', lastColon)) {
    const v4 = parseIpv4(body.slice(lastColon + 1));
    body = `${body.slice(0, lastColon + 1)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) fail();
  const words = (s: string): number[] =>
    s === '' ? [] : s.split(':').map((w) => (/^[0-9a-fA-F]{1,4}$/.test(w) ? parseInt(w, 16) : fail()));
  const head = words(halves[0] ?? '');
  const rest = halves.length === 2 ? words(halves[1] ?? '') : [];
  const explicit = head.length + rest.length;
  let all: number[];
  if (halves.length === 2) {
    if (explicit > 7) fail();
    all = [...head, ...new Array<number>(8 - explicit).fill(0), ...rest];
  } else {
    all = head;
    if (all.length !== 8) fail();
  }
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

/** Formats 16 bytes per RFC 5952: lower case, longest run (>= 2) of zero words compressed. */
export function formatIpv6(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, 16);
  const words = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestLen < 2) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** Address family of a textual IP address, or undefined when it is neither. */
export function ipFamily(text: string): 4 | 6 | undefined {
  try {
    parseIpv4(text);
    return 4;
  } catch {
    try {
      parseIpv6(text);
      return 6;
    } catch {
      return undefined;
    }
  }
}
