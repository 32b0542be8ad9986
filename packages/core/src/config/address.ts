import { isIP } from 'node:net';

/** An IP address with its family; `text` is the canonical form (IPv6 compressed, lower case). */
export interface IpAddress {
  readonly text: string;
  readonly family: 4 | 6;
}

export interface Endpoint {
  readonly address: IpAddress;
  /** Undefined when the text had no port; ANY_PORT (0) for "*". */
  readonly port: number | undefined;
}

/** The port of an any-port service ("198.18.0.10:*"), as the data plane's key holds it. */
export const ANY_PORT = 0;

/** Parses an IPv4 or IPv6 address (no brackets, no port); undefined if it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  const family = isIP(text);
  if (family === 4) return { text, family: 4 };
  if (family === 6) return { text: canonicalIpv6(text), family: 6 };
  return undefined;
}

/**
 * Parses "198.18.0.10", "198.18.0.10:80", "[2001:db8::1]:80" or "2001:db8::1"; port "*" (every
 * port) is ANY_PORT. Port 0 is refused: "*" is the one way to say every port.
 * Throws an Error whose message says what is wrong with the text.
 */
export function parseEndpoint(text: string): Endpoint {
  const trimmed = text.trim();
  let host = trimmed;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d*|\*))?$/.exec(trimmed);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (trimmed.split(':').length === 2) {
    const [h, p] = trimmed.split(':');
    host = h!;
    portText = p;
  }
  const address = parseIp(host);
  if (!address) throw new Error(`"${text}" is not an IP address (expected e.g. 198.18.0.10:80 or [2001:db8::10]:80)`);
  if (portText === undefined) return { address, port: undefined };
  if (portText === '*') return { address, port: ANY_PORT };
  const port = Number(portText);
  if (/^0+$/.test(portText)) {
    throw new Error(`port 0 in "${text}" is not a port; for every port write ${formatEndpoint(address, ANY_PORT)}`);
  }
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new Error(`port "${portText}" in "${text}" must be a whole number from 1 to 65535`);
  }
  return { address, port };
}

/** "addr:port" with IPv6 in brackets (port "*" for ANY_PORT): the canonical key of a backend or
 * service endpoint, which parseEndpoint reads back. */
export function formatEndpoint(address: IpAddress, port: number): string {
  const p = port === ANY_PORT ? '*' : String(port);
  return address.family === 6 ? `[${address.text}]:${p}` : `${address.text}:${p}`;
}

/** 16 bytes, network order: IPv6 as is, IPv4 as IPv4-mapped IPv6 (the data plane's lb_addr). */
export function ipToBytes(address: IpAddress): Uint8Array {
  const out = new Uint8Array(16);
  if (address.family === 4) {
    out[10] = 0xff;
    out[11] = 0xff;
    address.text.split('.').forEach((octet, i) => (out[12 + i] = Number(octet)));
    return out;
  }
  const groups = expandIpv6(address.text);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** The inverse of ipToBytes. */
export function bytesToIp(bytes: Uint8Array): IpAddress {
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return { text: Array.from(bytes.subarray(12, 16)).join('.'), family: 4 };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return { text: canonicalIpv6(groups.join(':')), family: 6 };
}

function expandIpv6(text: string): number[] {
  let t = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    t = t.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = t.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const tl = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - tl.length).fill('0');
  return [...h, ...fill, ...tl].map((g) => parseInt(g, 16));
}

/** RFC 5952 text: lower case, zeros compressed once (the longest run of two or more groups). */
function canonicalIpv6(text: string): string {
  const groups = expandIpv6(text.toLowerCase());
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/**
 * The class of an address, for the roles that need a unicast one (VIP, backend, SNAT address):
 * the data plane would accept the others and then blackhole or misroute their traffic (a 0.0.0.0
 * VIP never matches a packet; a loopback, broadcast or multicast backend can never be reached by a
 * rewritten unicast frame).
 */
export type AddressClass = 'unicast' | 'unspecified' | 'loopback' | 'broadcast' | 'multicast' | 'reserved';

export function addressClass(ip: IpAddress): AddressClass {
  const b = ipToBytes(ip);
  if (ip.family === 4) {
    const [a, , , d] = [b[12]!, b[13]!, b[14]!, b[15]!];
    if (a === 0) return 'unspecified'; // 0.0.0.0/8: "this network", never a destination
    if (a === 127) return 'loopback';
    if (a === 255 && b[13] === 255 && b[14] === 255 && d === 255) return 'broadcast';
    if (a >= 224 && a <= 239) return 'multicast';
    if (a >= 240) return 'reserved';
    return 'unicast';
  }
  if (b.every((x) => x === 0)) return 'unspecified';
  if (b.subarray(0, 15).every((x) => x === 0) && b[15] === 1) return 'loopback';
  if (b[0] === 0xff) return 'multicast';
  return 'unicast';
}

/** Undefined for a unicast address, else what it is instead ("224.0.0.1 is a multicast address"). */
export function notUnicast(ip: IpAddress): string | undefined {
  const c = addressClass(ip);
  return c === 'unicast' ? undefined : `${ip.text} is ${c === 'unspecified' ? 'the unspecified address' : `a ${c} address`}`;
}
