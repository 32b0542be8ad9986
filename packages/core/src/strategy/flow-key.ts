import { parseIp } from '../config/address.js';
import { encodeFlow } from '../dataplane/abi.js';

/** A five-tuple in text form, as strategy tests and models write it. */
export interface FlowText {
  /** IPv4 or IPv6 text. */
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  /** IP protocol number (6 TCP, 17 UDP). */
  readonly proto: number;
}

/**
 * The 40-byte struct lb_flow of a five-tuple (IPv4 as ::ffff:a.b.c.d, ports in network order,
 * padding zeroed): core's ABI codec (dataplane/abi.ts, the one home of the layout) from text, for
 * strategy packages, which may not load the kernel-facing parts of core.
 */
export function flowKey(f: FlowText): Buffer {
  const src = parseIp(f.src);
  const dst = parseIp(f.dst);
  if (!src || !dst) throw new TypeError(`not an IP address: ${JSON.stringify(src ? f.dst : f.src)}`);
  for (const [name, port] of [
    ['sport', f.sport],
    ['dport', f.dport],
  ] as const) {
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`${name} ${port} is not a port (0-65535)`);
  }
  if (!Number.isInteger(f.proto) || f.proto < 0 || f.proto > 0xff)
    throw new RangeError(`proto ${f.proto} is not an IP protocol number (0-255)`);
  return encodeFlow({ src, dst, sport: f.sport, dport: f.dport, proto: f.proto });
}
