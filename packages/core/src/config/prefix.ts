import { ANY_PORT, bytesToIp, type Endpoint, formatEndpoint, type IpAddress, ipToBytes, parseEndpoint } from './address.js';

/**
 * Prefix VIPs: a prefix of addresses served as one service ("198.18.10.0/28:80",
 * "[2001:db8:10::/120]:*"). A prefix of up to NET_EXPAND addresses is expanded into exact keys that
 * share the service's id (the data plane sees plain VIPs: no cost); a larger one goes into the
 * data plane's LPM tries (bpf/lib/service.h), which cost an instance that has one an LPM lookup for
 * every packet not for an exact address. bpf/include/lb_abi.h LB_NET_EXPAND.
 */
export const NET_EXPAND = 16;

/** The shortest prefix a VIP may be: a shorter one would take whole address blocks off the host. */
export const MIN_PREFIX = { 4: 8, 6: 32 } as const;

/** A service's VIP: an address (prefix undefined) or the network address of a prefix. */
export interface VipEndpoint extends Endpoint {
  /** Prefix length; undefined for a single address (a /32 or /128 is written as one). */
  readonly prefix: number | undefined;
}

export const hostBits = (family: 4 | 6): number => (family === 4 ? 32 : 128);

/**
 * Parses a service's VIP: an endpoint (parseEndpoint), or one whose address is a prefix:
 * "198.18.10.0/28:80", "198.18.10.0/28:*", "[2001:db8::/120]:80". Throws an Error whose message
 * says what is wrong (host bits set, a length out of range).
 */
export function parseVip(text: string): VipEndpoint {
  const t = text.trim();
  const m = /^\[([^\]/]+)\/(\d+)\](.*)$/.exec(t) ?? /^([^[\]/:]+)\/(\d+)(.*)$/.exec(t);
  if (!m) return { ...parseEndpoint(t), prefix: undefined };
  const [, host, lenText, rest] = m as unknown as [string, string, string, string];
  const ep = parseEndpoint(host.includes(':') ? `[${host}]${rest}` : `${host}${rest}`);
  const bits = hostBits(ep.address.family);
  const len = Number(lenText);
  if (len > bits) throw new Error(`prefix length /${lenText} in "${text}" is longer than an IPv${ep.address.family} address (/${bits})`);
  if (len === bits) return { ...ep, prefix: undefined };
  if (len < MIN_PREFIX[ep.address.family])
    throw new Error(
      `prefix /${len} in "${text}" is too large for a VIP (IPv${ep.address.family}: /${MIN_PREFIX[ep.address.family]} or longer)`,
    );
  const net = networkOf(ep.address, len);
  if (net.text !== ep.address.text) throw new Error(`"${text}" has host bits set: the prefix is ${net.text}/${len}`);
  return { ...ep, prefix: len };
}

/** "198.18.10.0/28:80", "[2001:db8::/120]:*"; a plain endpoint without a prefix. */
export function formatVip(address: IpAddress, prefix: number | undefined, port: number): string {
  if (prefix === undefined) return formatEndpoint(address, port);
  const p = port === ANY_PORT ? '*' : String(port);
  return address.family === 6 ? `[${address.text}/${prefix}]:${p}` : `${address.text}/${prefix}:${p}`;
}

/**
 * "198.18.10.0/28:80/udp" -> { vip: "198.18.10.0/28:80", protocol: "udp" }: the protocol is what
 * follows the last "/" when it is a word (a prefix's "/28" is part of the VIP); undefined: none.
 */
export function splitProtocol(text: string): { vip: string; protocol: string | undefined } {
  const m = /^(.*)\/([A-Za-z]\w*)$/.exec(text);
  return m ? { vip: m[1]!, protocol: m[2]! } : { vip: text, protocol: undefined };
}

/** "<vip>:<port>/<protocol>": a service's identity, and its name when it was not given one. */
export function serviceText(s: { vip: IpAddress; prefix?: number | undefined; port: number; protocol: string }): string {
  return `${formatVip(s.vip, s.prefix, s.port)}/${s.protocol}`;
}

/** "198.18.10.0/28", "198.18.0.10/32": the VIP as a route prefix. */
export function vipPrefix(address: IpAddress, prefix: number | undefined): string {
  return `${address.text}/${prefix ?? hostBits(address.family)}`;
}

/** How many addresses a prefix holds (a bigint: an IPv6 /64 does not fit a number). */
export function prefixSize(family: 4 | 6, prefix: number | undefined): bigint {
  return 1n << BigInt(hostBits(family) - (prefix ?? hostBits(family)));
}

/** True when the prefix is expanded into exact keys (NET_EXPAND addresses or fewer). */
export function isExpanded(family: 4 | 6, prefix: number | undefined): boolean {
  return prefixSize(family, prefix) <= BigInt(NET_EXPAND);
}

/** Whether a config has a prefix VIP too large to expand: the data plane's knob vip_nets. */
export function needsVipNets(cfg: { services: readonly { vip: IpAddress; prefix?: number | undefined }[] }): boolean {
  return cfg.services.some((s) => !isExpanded(s.vip.family, s.prefix));
}

/** Every address of a small prefix, in order (refuses one past NET_EXPAND). */
export function expandPrefix(address: IpAddress, prefix: number | undefined): IpAddress[] {
  if (!isExpanded(address.family, prefix)) throw new Error(`${vipPrefix(address, prefix)} has more than ${NET_EXPAND} addresses`);
  const base = toBig(address);
  const n = Number(prefixSize(address.family, prefix));
  return Array.from({ length: n }, (_, i) => fromBig(base + BigInt(i), address.family));
}

/** Whether `inner` (an address, or a prefix) lies within the prefix `outer`/`len`. */
export function prefixContains(outer: IpAddress, len: number, inner: IpAddress, innerLen?: number): boolean {
  if (outer.family !== inner.family || (innerLen ?? hostBits(inner.family)) < len) return false;
  return networkOf(inner, len).text === outer.text;
}

/** The prefix's network address (host bits cleared). */
export function networkOf(address: IpAddress, len: number): IpAddress {
  const shift = BigInt(hostBits(address.family) - len);
  return fromBig((toBig(address) >> shift) << shift, address.family);
}

function toBig(a: IpAddress): bigint {
  const b = ipToBytes(a).subarray(a.family === 4 ? 12 : 0);
  return b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

function fromBig(v: bigint, family: 4 | 6): IpAddress {
  const out = new Uint8Array(16);
  if (family === 4) {
    out[10] = 0xff;
    out[11] = 0xff;
  }
  for (let i = 15, x = v; i >= (family === 4 ? 12 : 0); i--, x >>= 8n) out[i] = Number(x & 0xffn);
  return bytesToIp(out);
}
