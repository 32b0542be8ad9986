// Address arithmetic for lab specs: CIDR splitting and deterministic MACs.
import { ipFamily, parseIpv4 } from '../packet/addr.js';

export interface Cidr {
  address: string;
  prefixLength: number;
  family: 4 | 6;
  /** `address/prefixLength`. */
  cidr: string;
}

/** Splits `198.18.0.2/24`; a bare address gets `defaultPrefix` (or /32, /128). */
export function parseCidr(text: string, defaultPrefix?: number): Cidr {
  const [address = '', len] = text.split('/');
  const family = ipFamily(address);
  if (!family) throw new TypeError(`not an IP address: ${JSON.stringify(text)}`);
  const max = family === 4 ? 32 : 128;
  const prefixLength = len === undefined ? (defaultPrefix ?? max) : Number(len);
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > max) {
    throw new TypeError(`bad prefix length in ${JSON.stringify(text)}`);
  }
  return { address, prefixLength, family, cidr: `${address}/${prefixLength}` };
}

/**
 * A locally administered MAC that reads back to the interface: `02:00:` + the IPv4 address bytes
 * (198.18.0.2 -> 02:00:c6:12:00:02), unique on a bridge because the addresses are. Without IPv4:
 * `02:01:00:<if>:<host hi>:<host lo>`.
 */
export function deriveMac(ipv4: string | undefined, hostIndex: number, ifIndex: number): string {
  const bytes = ipv4 ? [2, 0, ...parseIpv4(ipv4)] : [2, 1, 0, ifIndex & 0xff, (hostIndex >> 8) & 0xff, hostIndex & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function asList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
