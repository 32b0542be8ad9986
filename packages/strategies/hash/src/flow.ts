/**
 * A small encoder of struct lb_flow (bpf/include/lb_abi.h) for this package's own tests and
 * examples. Private to the package: the canonical ABI codecs belong to @xdp-lb/core.
 *
 * Layout (40 bytes): src (16), dst (16), sport (2, network order), dport (2, network order),
 * proto (1), pad (3 zero bytes). IPv4 addresses are IPv4-mapped IPv6 (::ffff:a.b.c.d).
 */
import { isIPv4, isIPv6 } from 'node:net';

export const FLOW_SIZE = 40;

export interface Flow {
  /** IPv4 or IPv6 text, or 16 raw bytes in network order. */
  readonly src: string | Uint8Array;
  readonly dst: string | Uint8Array;
  readonly sport: number;
  readonly dport: number;
  /** IP protocol number (6 TCP, 17 UDP). */
  readonly proto: number;
}

function parseIPv4(text: string, out: Uint8Array, at: number): void {
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) out[at + i] = Number(parts[i]);
}

/** 16 bytes of an IPv4 (as ::ffff:a.b.c.d) or IPv6 address. */
export function encodeAddress(address: string | Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  if (typeof address !== 'string') {
    if (address.length !== 16) throw new RangeError(`an address is 16 bytes, got ${address.length}`);
    out.set(address);
    return out;
  }
  if (isIPv4(address)) {
    out[10] = 0xff;
    out[11] = 0xff;
    parseIPv4(address, out, 12);
    return out;
  }
  if (!isIPv6(address)) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  let text = address;
  // An embedded IPv4 tail (::ffff:1.2.3.4) fills the last two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  const groups: number[] = [];
  let tailBytes: Uint8Array | undefined;
  if (tail.includes('.')) {
    tailBytes = new Uint8Array(4);
    parseIPv4(tail, tailBytes, 0);
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - headGroups.length - restGroups.length;
  for (const g of headGroups) groups.push(parseInt(g, 16));
  for (let i = 0; i < missing; i++) groups.push(0);
  for (const g of restGroups) groups.push(parseInt(g, 16));
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tailBytes) out.set(tailBytes, 12);
  return out;
}

/** The 40-byte struct lb_flow of a five-tuple, padding zeroed. */
export function encodeFlow(flow: Flow): Uint8Array {
  for (const [name, value, max] of [['sport', flow.sport, 0xffff], ['dport', flow.dport, 0xffff], ['proto', flow.proto, 0xff]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} must be an integer in 0..${max}, got ${value}`);
  }
  const out = new Uint8Array(FLOW_SIZE);
  out.set(encodeAddress(flow.src), 0);
  out.set(encodeAddress(flow.dst), 16);
  const view = new DataView(out.buffer);
  view.setUint16(32, flow.sport, false);
  view.setUint16(34, flow.dport, false);
  out[36] = flow.proto;
  return out;
}
