/**
 * The lb_abi.h codecs the packet suite needs, written from the header on their own (not imported
 * from core's mirror, packages/core/src/dataplane/abi.ts): two readings of one header, each checked
 * against the same compiled objects. Addresses are 16 bytes (IPv4 as ::ffff:a.b.c.d), addresses and
 * ports in network order, every other integer little endian.
 */
import { isIPv4 } from 'node:net';
import { parseIpv4, parseIpv6 } from '@xdp-lb/netlab';

export const LB_ADDR_VIP = 1 << 0;
export const LB_ADDR_SNAT = 1 << 1;
export const LB_ADDR_ANY_PORT = 1 << 2;
/** With LB_ADDR_VIP: a large prefix VIP (lb_vip_nets) covers the address. */
export const LB_ADDR_NET = 1 << 3;
/** With LB_ADDR_VIP: a dsr/ipip/gue service of it may keep flows in lb_ft4 (the harness sets it for every VIP: addAddr). */
export const LB_ADDR_FT = 1 << 4;
export const LB_SLOT_EMPTY = 0;
export const LB_SLOT_ONE = 1;
export const LB_SLOT_SHARED = 2;
export const LB_FWD_DSR = 1;
export const LB_FWD_NAT = 2;
export const LB_FWD_IPIP = 3;
export const LB_FWD_IP6IP6 = 4;
export const LB_FWD_GUE = 5;
export const LB_SVC_F_HASH_SRC = 1 << 0;
export const LB_SVC_F_HASH_DPORT = 1 << 1;
/** UDP: QUIC connection-id routing (lib/quic.h). */
export const LB_SVC_F_QUIC = 1 << 2;
export const LB_BE_EMPTY = 0;
export const LB_BE_ACTIVE = 1;
export const LB_BE_DRAINING = 2;
export const LB_CT_OPEN = 1;
export const LB_CT_CLOSING = 2;
/** lb_ct.close_reason: how a TCP entry turned CLOSING (0: open, or an older program's entry). */
export const LB_CT_CLOSE_UNKNOWN = 0;
export const LB_CT_CLOSE_FIN = 1;
export const LB_CT_CLOSE_RST = 2;
export const LB_NH_STATIC = 0xffffffffffffffffn;
export const LB_SNAT_LEASE_BUSY = 0xffffffff;
/** A half-open flow's lease carries this bit (layout 4); promotion clears it. */
export const LB_SNAT_LEASE_HALF = 0x40000000;
/** lb_ct.flags (lb_ct_syn entries): the backend answered. */
export const LB_CT_F_REPLIED = 0x01;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** enum lb_reason, in order. */
export const REASONS = [
  'PASS_NOT_OURS',
  'PASS_MALFORMED',
  'PASS_UNSUPPORTED',
  'TX',
  'REDIRECT',
  'DROP_NO_BACKEND',
  'DROP_NO_NEIGH',
  'DROP_NO_ROUTE',
  'DROP_FRAGMENT',
  'DROP_SNAT_EXHAUSTED',
  'PASS_SNAT_UNKNOWN',
  'DROP_SNAT_STALE',
  'CT_NEW',
  'CT_EXPIRED',
  'CT_RESELECT',
  'DROP_ERROR',
  'DROP_NO_TX_PORT',
  'SNAT_RECLAIMED',
  'SNAT_REPAIRED',
  'FLOOD_STATELESS',
  'DROP_FLOOD',
  'ICMP_ECHO',
  'ICMP_RELAYED',
  'FRAGMENT',
  'DROP_TOO_BIG',
  'CT_HALF_OPEN',
  'CT_PROMOTED',
  'CT_MIDSTREAM',
  'SNAT_HALF_FREED',
  'RESET',
  'ICMP_TOO_BIG',
  'QUIC_ROUTED',
  'QUIC_UNKNOWN',
  'SYNC_SENT',
  'SYNC_DROPPED',
  'FT_OVERFLOW',
  'FT_EVICTED',
  'FT_BUSY',
] as const;
export type Reason = (typeof REASONS)[number];

export const SIZES = {
  addr: 16,
  addrInfo: 4,
  addrSlot: 24,
  svcKey: 20,
  svc: 20,
  backend: 24,
  flow: 40,
  ct: 56,
  nh: 24,
  snatVal: 40,
  counters: 32,
} as const;

export type Proto = 'tcp' | 'udp';
export const protoNumber = (p: Proto): number => (p === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP);

/** struct lb_addr. */
export function addr(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), parseIpv4(ip)]);
  return parseIpv6(ip);
}

/**
 * lb_hash.h lb_addr_slot(): the lb_addr_slots index of an address in a table of `slots` entries (a
 * power of two): XOR of the address's 4 little-endian words, times 0x9E3779B1 mod 2^32, top bits.
 */
export function addrSlot(ip: string, slots: number): number {
  const b = addr(ip);
  let x = 0n;
  for (let i = 0; i < 16; i += 4) x ^= BigInt(b.readUInt32LE(i));
  const bits = BigInt(slots.toString(2).length - 1);
  if (1n << bits !== BigInt(slots)) throw new RangeError(`lb_addr_slots: ${slots} is not a power of two`);
  return Number(((x * 0x9e3779b1n) & 0xffffffffn) >> (32n - bits));
}

export interface AddrSlotValue {
  addr: string | null;
  flags: number;
  state: number;
}

/** struct lb_addr_slot (addr null: zeros). */
export function addrSlotValue(v: AddrSlotValue): Buffer {
  const b = Buffer.alloc(SIZES.addrSlot);
  if (v.addr !== null) addr(v.addr).copy(b, 0);
  b.writeUInt32LE(v.flags, 16);
  b.writeUInt32LE(v.state, 20);
  return b;
}

/** struct lb_addr_slot as read back: the address as its 16 bytes. */
export function decodeAddrSlot(b: Buffer): { addr: Buffer; flags: number; state: number } {
  return { addr: Buffer.from(b.subarray(0, 16)), flags: b.readUInt32LE(16), state: b.readUInt32LE(20) };
}

export function formatAddr(b: Uint8Array): string {
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  return mapped ? Array.from(b.subarray(12, 16)).join('.') : Buffer.from(b).toString('hex');
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

export function u64(n: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/** struct lb_svc_key. */
/** struct lb_net_key: an address prefix of lb_vip_nets ("198.18.10.0/24"; IPv4 prefix lengths count from bit 96). */
export function netKey(prefix: string): Buffer {
  const { ip, bits } = splitPrefix(prefix);
  const b = Buffer.alloc(20);
  b.writeUInt32LE(bits, 0);
  addr(ip).copy(b, 4);
  return b;
}

/** struct lb_svc_net_key: (protocol, port, address prefix) of lb_svc_nets. */
export function svcNetKey(prefix: string, port: number, proto: Proto): Buffer {
  const { ip, bits } = splitPrefix(prefix);
  const b = Buffer.alloc(24);
  b.writeUInt32LE(32 + bits, 0);
  b[4] = protoNumber(proto);
  b.writeUInt16BE(port, 6);
  addr(ip).copy(b, 8);
  return b;
}

function splitPrefix(prefix: string): { ip: string; bits: number } {
  const [ip, len] = prefix.split('/') as [string, string];
  return { ip, bits: (isIPv4(ip) ? 96 : 0) + Number(len) };
}

export function svcKey(vip: string, port: number, proto: Proto): Buffer {
  const b = Buffer.alloc(SIZES.svcKey);
  addr(vip).copy(b, 0);
  b.writeUInt16BE(port, 16);
  b[18] = protoNumber(proto);
  return b;
}

export interface SvcValue {
  id: number;
  flags?: number;
  fwd: number;
  /** The service's strategy: its fragment's index in the program (lb_strat_<i>). */
  strategy?: number;
  snatFirst?: number;
  snatCount?: number;
}

/** struct lb_svc. */
export function svcValue(v: SvcValue): Buffer {
  const b = Buffer.alloc(SIZES.svc);
  b.writeUInt32LE(v.id, 0);
  b.writeUInt32LE(v.flags ?? 0, 4);
  b[8] = v.fwd;
  b[9] = v.strategy ?? 0;
  b.writeUInt32LE(v.snatFirst ?? 0, 12);
  b.writeUInt32LE(v.snatCount ?? 0, 16);
  return b;
}

export interface BackendValue {
  addr: string;
  port: number;
  state?: number;
  gen?: number;
}

/** struct lb_backend. */
export function backendValue(v: BackendValue): Buffer {
  const b = Buffer.alloc(SIZES.backend);
  addr(v.addr).copy(b, 0);
  b.writeUInt16BE(v.port, 16);
  b[18] = v.state ?? LB_BE_ACTIVE;
  b.writeUInt32LE(v.gen ?? 1, 20);
  return b;
}

export interface NhValue {
  dmac: Buffer;
  smac: Buffer;
  ifindex: number;
  checkedNs: bigint;
}

/** struct lb_nh. */
export function nhValue(v: NhValue): Buffer {
  const b = Buffer.alloc(SIZES.nh);
  v.dmac.copy(b, 0);
  v.smac.copy(b, 6);
  b.writeUInt32LE(v.ifindex, 12);
  b.writeBigUInt64LE(v.checkedNs, 16);
  return b;
}

export function decodeNh(b: Buffer): NhValue {
  return { dmac: b.subarray(0, 6), smac: b.subarray(6, 12), ifindex: b.readUInt32LE(12), checkedNs: b.readBigUInt64LE(16) };
}

export interface Flow {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto: Proto;
}

/** struct lb_flow: the conntrack key and the hash input (zero padding). */
export function flowKey(f: Flow): Buffer {
  const b = Buffer.alloc(SIZES.flow);
  addr(f.src).copy(b, 0);
  addr(f.dst).copy(b, 16);
  b.writeUInt16BE(f.sport, 32);
  b.writeUInt16BE(f.dport, 34);
  b[36] = protoNumber(f.proto);
  return b;
}

export interface CtValue {
  backendId: number;
  backendGen: number;
  seenNs: bigint;
  svcId: number;
  state: number;
  fwd: number;
  snatPort: number;
  snatAddr: string;
  peerMac: Buffer;
  /** LB_CT_CLOSE_* (byte 46, padding before it had a name). */
  closeReason: number;
  /** LB_CT_F_* (byte 47; lb_ct_syn entries only). */
  flags: number;
  inIfindex: number;
  snatLease: number;
}

/** Byte offsets of struct lb_ct fields the tests rewrite. */
export const CT_OFF = { seenNs: 8, closeReason: 46, flags: 47 } as const;

/** struct lb_ct. */
export function decodeCt(b: Buffer): CtValue {
  return {
    backendId: b.readUInt32LE(0),
    backendGen: b.readUInt32LE(4),
    seenNs: b.readBigUInt64LE(CT_OFF.seenNs),
    svcId: b.readUInt32LE(16),
    state: b[20]!,
    fwd: b[21]!,
    snatPort: b.readUInt16BE(22),
    snatAddr: formatAddr(b.subarray(24, 40)),
    peerMac: b.subarray(40, 46),
    closeReason: b[CT_OFF.closeReason]!,
    flags: b[CT_OFF.flags]!,
    inIfindex: b.readUInt32LE(48),
    snatLease: b.readUInt32LE(52),
  };
}

export interface SnatValue {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  lease: number;
}

/** struct lb_snat_val. */
export function snatVal(v: SnatValue): Buffer {
  const b = Buffer.alloc(SIZES.snatVal);
  addr(v.src).copy(b, 0);
  addr(v.dst).copy(b, 16);
  b.writeUInt16BE(v.sport, 32);
  b.writeUInt16BE(v.dport, 34);
  b.writeUInt32LE(v.lease >>> 0, 36);
  return b;
}

/** struct lb_snat_val. */
export function decodeSnatVal(b: Buffer): SnatValue {
  return {
    src: formatAddr(b.subarray(0, 16)),
    dst: formatAddr(b.subarray(16, 32)),
    sport: b.readUInt16BE(32),
    dport: b.readUInt16BE(34),
    lease: b.readUInt32LE(36),
  };
}

export interface Counters {
  packets: bigint;
  bytes: bigint;
  newFlows: bigint;
  drops: bigint;
}

/** One per-CPU struct lb_counters value, summed. */
export function sumCounters(perCpu: Buffer[]): Counters {
  const c: Counters = { packets: 0n, bytes: 0n, newFlows: 0n, drops: 0n };
  for (const b of perCpu) {
    c.packets += b.readBigUInt64LE(0);
    c.bytes += b.readBigUInt64LE(8);
    c.newFlows += b.readBigUInt64LE(16);
    c.drops += b.readBigUInt64LE(24);
  }
  return c;
}
