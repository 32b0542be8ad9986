import { bytesToIp, type IpAddress, ipToBytes } from '../config/address.js';

/**
 * Byte-exact codecs of bpf/include/lb_abi.h. Keys and values cross into the kernel as Buffers of
 * the struct's size; this file is the one TypeScript mirror of that header (sizes asserted in
 * tests against the compiled object's BTF-free map definitions, and by the kernel itself, which
 * rejects a wrong size).
 */
/** bpf/include/lb_abi.h LB_LAYOUT_VERSION (2: lb_reasons has 64 slots; 3: lb_addr_slots; 4: lb_ct_syn, the half-open table; 5: lb_vip_nets and lb_svc_nets, large prefix VIPs; 6: lb_svc.strategy; 7: lb_ft4, the flow table). */
export const LAYOUT_VERSION = 7;

export const MAPS = {
  addrs: 'lb_addrs',
  addrSlots: 'lb_addr_slots',
  services: 'lb_services',
  backends: 'lb_backends',
  tables: 'lb_tables',
  ct: 'lb_ct',
  /** Half-open TCP flows (bpf/lib/halfopen.h). */
  ctSyn: 'lb_ct_syn',
  snat: 'lb_snat',
  nh: 'lb_nh',
  txPorts: 'lb_tx_ports',
  svcStats: 'lb_svc_stats',
  beStats: 'lb_be_stats',
  reasons: 'lb_reasons',
  snatPool: 'lb_snat_pool',
  ifMacs: 'lb_if_macs',
  /** Large prefix VIPs (LPM tries, bpf/lib/service.h): address prefix -> roles. */
  vipNets: 'lb_vip_nets',
  /** ... and their services: (protocol, port, address prefix) -> lb_svc. */
  svcNets: 'lb_svc_nets',
  /** QUIC connection-id routing (bpf/lib/quic.h): (service id, server id) -> backend id. */
  quicIds: 'lb_quic_ids',
  /** The flow table of IPv4 dsr/ipip/gue flows (bpf/lib/flowtab.h): bucket index -> struct lb_ft_bucket. */
  ft4: 'lb_ft4',
} as const;

/** The cluster flow-sync ring (bpf/lib/flowsync.h): pinned beside MAPS, outside the layout. */
export const FLOWSYNC = 'lb_flowsync';

export const ADDR_VIP = 1 << 0;
export const ADDR_SNAT = 1 << 1;
/** With ADDR_VIP: one of its services has port 0 (every port), looked up after the exact key. */
export const ADDR_ANY_PORT = 1 << 2;
/** With ADDR_VIP: a large prefix VIP covers the address (its services: lb_svc_nets, after the exact key). */
export const ADDR_NET = 1 << 3;
/** With ADDR_VIP: a dsr/ipip/ip6ip6/gue service of it may keep IPv4 flows in lb_ft4 (layout 7); without it the established path does not look there. */
export const ADDR_FT = 1 << 4;
/** struct lb_addr_slot states (LB_SLOT_*); the data plane treats any other value as SHARED. */
export const SLOT_EMPTY = 0;
export const SLOT_ONE = 1;
export const SLOT_SHARED = 2;
export const FWD_DSR = 1;
export const FWD_NAT = 2;
/** DSR across L3: the packet in an outer IPv4 header to an IPv4 backend. */
export const FWD_IPIP = 3;
/** DSR across L3: the packet in an outer IPv6 header to an IPv6 backend. */
export const FWD_IP6IP6 = 4;
/** DSR across L3: the packet in outer IP (the backend's family) + UDP to gue_port (GUE variant 1). */
export const FWD_GUE = 5;
export const SVC_F_HASH_SRC = 1 << 0;
/** The hash strategy hashes the destination port only. */
export const SVC_F_HASH_DPORT = 1 << 1;
/** UDP: QUIC connection-id routing (bpf/lib/quic.h). */
export const SVC_F_QUIC = 1 << 2;
export const BE_EMPTY = 0;
export const BE_ACTIVE = 1;
export const BE_DRAINING = 2;
export const CT_OPEN = 1;
export const CT_CLOSING = 2;
/** lb_ct.close_reason (LB_CT_CLOSE_*): how a TCP entry turned CLOSING. 0: open, or an entry of an
 * older program (the byte was padding), which the data plane treats as FIN. */
export const CT_CLOSE_UNKNOWN = 0;
/** A FIN (or a FIN after the RST): the backend may hold the tuple in TIME_WAIT. */
export const CT_CLOSE_FIN = 1;
/** An RST before any FIN: no TIME_WAIT, the SNAT port is free snat_grace_ns after the last packet. */
export const CT_CLOSE_RST = 2;
/** lb_snat_val.lease bit of a half-open flow's lease (layout 4). */
export const SNAT_LEASE_HALF = 0x40000000;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** enum lb_reason, in ABI order. */
export const REASONS = [
  'pass_not_ours',
  'pass_malformed',
  'pass_unsupported',
  'tx',
  'redirect',
  'drop_no_backend',
  'drop_no_neigh',
  'drop_no_route',
  'drop_fragment',
  'drop_snat_exhausted',
  'pass_snat_unknown',
  'drop_snat_stale',
  'ct_new',
  'ct_expired',
  'ct_reselect',
  'drop_error',
  'drop_no_tx_port',
  'snat_reclaimed',
  'snat_repaired',
  'flood_stateless',
  'drop_flood',
  'icmp_echo',
  'icmp_relayed',
  'fragment',
  'drop_too_big',
  'ct_half_open',
  'ct_promoted',
  'ct_midstream',
  'snat_half_freed',
  'reset',
  'icmp_too_big',
  'quic_routed',
  'quic_unknown',
  'sync_sent',
  'sync_dropped',
  'ft_overflow',
  'ft_evicted',
  'ft_busy',
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
  mac: 8,
  counters: 32,
  ftSlot: 28,
  ftWay: 32,
  ftBucket: 128,
} as const;

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

export function encodeAddr(ip: IpAddress): Buffer {
  return Buffer.from(ipToBytes(ip));
}

export function encodeAddrInfo(flags: number): Buffer {
  return u32(flags);
}

/** struct lb_addr_slot: an lb_addr_slots entry. `addr` is the 16-byte lb_addr. */
export interface AddrSlot {
  addr: Buffer;
  flags: number;
  state: number;
}

export const EMPTY_SLOT: AddrSlot = Object.freeze({ addr: Buffer.alloc(16), flags: 0, state: SLOT_EMPTY });

export function encodeAddrSlot(v: AddrSlot): Buffer {
  const b = Buffer.alloc(SIZES.addrSlot);
  v.addr.copy(b, 0, 0, 16);
  b.writeUInt32LE(v.flags >>> 0, 16);
  b.writeUInt32LE(v.state >>> 0, 20);
  return b;
}

export function decodeAddrSlot(b: Buffer): AddrSlot {
  return { addr: Buffer.from(b.subarray(0, 16)), flags: b.readUInt32LE(16), state: b.readUInt32LE(20) };
}

/** bpf/include/lb_hash.h's multiplier of lb_addr_slot(). */
const ADDR_SLOT_MUL = 0x9e3779b1;

/**
 * The lb_addr_slots index of a 16-byte lb_addr, bit for bit bpf/include/lb_hash.h lb_addr_slot():
 * the XOR of its 4 little-endian words, times 0x9E3779B1 (32-bit), the top log2(`slots`) bits.
 * `slots`: the map's max_entries, a power of two (read it from the map, never assume it).
 */
export function addrSlot(addr: Uint8Array, slots: number): number {
  const bits = Math.log2(slots);
  if (!Number.isInteger(bits) || bits < 1 || bits > 31)
    throw new RangeError(`lb_addr_slots has ${slots} entries: not a power of two from 2 to 2^31`);
  const v = new DataView(addr.buffer, addr.byteOffset, 16);
  const x = v.getUint32(0, true) ^ v.getUint32(4, true) ^ v.getUint32(8, true) ^ v.getUint32(12, true);
  return Math.imul(x, ADDR_SLOT_MUL) >>> (32 - bits);
}

export interface SvcKey {
  vip: IpAddress;
  port: number;
  proto: number;
}

export function encodeSvcKey(k: SvcKey): Buffer {
  const b = Buffer.alloc(SIZES.svcKey);
  encodeAddr(k.vip).copy(b, 0);
  b.writeUInt16BE(k.port, 16);
  b.writeUInt8(k.proto, 18);
  return b;
}

export function decodeSvcKey(b: Buffer): SvcKey {
  return { vip: bytesToIp(b.subarray(0, 16)), port: b.readUInt16BE(16), proto: b.readUInt8(18) };
}

/** struct lb_net_key: an address prefix of lb_vip_nets (an IPv4 prefix counts from bit 96, the address being IPv4-mapped). */
export function encodeNetKey(vip: IpAddress, prefix: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(netBits(vip, prefix), 0);
  encodeAddr(vip).copy(b, 4);
  return b;
}

/** struct lb_svc_net_key: (protocol, port, address prefix) of lb_svc_nets; prefixlen counts proto, pad and port too. */
export function encodeSvcNetKey(k: SvcKey, prefix: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(32 + netBits(k.vip, prefix), 0);
  b.writeUInt8(k.proto, 4);
  b.writeUInt16BE(k.port, 6);
  encodeAddr(k.vip).copy(b, 8);
  return b;
}

/** struct lb_quic_key: a QUIC service's server id. */
export function encodeQuicKey(svcId: number, serverId: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(svcId, 0);
  b.writeUInt32LE(serverId >>> 0, 4);
  return b;
}

const netBits = (vip: IpAddress, prefix: number) => (vip.family === 4 ? 96 : 0) + prefix;

export interface SvcValue {
  id: number;
  flags: number;
  fwd: number;
  /** The index of the service's strategy in the program (lb_strat_<i>; layout 6, was padding). */
  strategy: number;
  snatFirst: number;
  snatCount: number;
}

export function encodeSvc(v: SvcValue): Buffer {
  const b = Buffer.alloc(SIZES.svc);
  b.writeUInt32LE(v.id, 0);
  b.writeUInt32LE(v.flags, 4);
  b.writeUInt8(v.fwd, 8);
  b.writeUInt8(v.strategy, 9);
  b.writeUInt32LE(v.snatFirst, 12);
  b.writeUInt32LE(v.snatCount, 16);
  return b;
}

export function decodeSvc(b: Buffer): SvcValue {
  return {
    id: b.readUInt32LE(0),
    flags: b.readUInt32LE(4),
    fwd: b.readUInt8(8),
    strategy: b.readUInt8(9),
    snatFirst: b.readUInt32LE(12),
    snatCount: b.readUInt32LE(16),
  };
}

export interface BackendValue {
  addr: IpAddress;
  port: number;
  state: number;
  gen: number;
}

export function encodeBackend(v: BackendValue): Buffer {
  const b = Buffer.alloc(SIZES.backend);
  encodeAddr(v.addr).copy(b, 0);
  b.writeUInt16BE(v.port, 16);
  b.writeUInt8(v.state, 18);
  b.writeUInt32LE(v.gen >>> 0, 20);
  return b;
}

export function decodeBackend(b: Buffer): BackendValue {
  return { addr: bytesToIp(b.subarray(0, 16)), port: b.readUInt16BE(16), state: b.readUInt8(18), gen: b.readUInt32LE(20) };
}

export interface Flow {
  src: IpAddress;
  dst: IpAddress;
  sport: number;
  dport: number;
  proto: number;
}

export function encodeFlow(f: Flow): Buffer {
  const b = Buffer.alloc(SIZES.flow);
  encodeAddr(f.src).copy(b, 0);
  encodeAddr(f.dst).copy(b, 16);
  b.writeUInt16BE(f.sport, 32);
  b.writeUInt16BE(f.dport, 34);
  b.writeUInt8(f.proto, 36);
  return b;
}

export function decodeFlow(b: Buffer): Flow {
  return {
    src: bytesToIp(b.subarray(0, 16)),
    dst: bytesToIp(b.subarray(16, 32)),
    sport: b.readUInt16BE(32),
    dport: b.readUInt16BE(34),
    proto: b.readUInt8(36),
  };
}

export interface CtValue {
  backendId: number;
  backendGen: number;
  seenNs: bigint;
  svcId: number;
  state: number;
  fwd: number;
  snatPort: number;
  snatAddr: IpAddress;
  peerMac: string;
  /** CT_CLOSE_*. */
  closeReason: number;
  /** nat: the client side's interface; ipip/ip6ip6/gue: the flow's encap_hash (a union). */
  inIfindex: number;
  snatLease: number;
}

export function decodeCt(b: Buffer): CtValue {
  return {
    backendId: b.readUInt32LE(0),
    backendGen: b.readUInt32LE(4),
    seenNs: b.readBigUInt64LE(8),
    svcId: b.readUInt32LE(16),
    state: b.readUInt8(20),
    fwd: b.readUInt8(21),
    snatPort: b.readUInt16BE(22),
    snatAddr: bytesToIp(b.subarray(24, 40)),
    peerMac: formatMac(b.subarray(40, 46)),
    closeReason: b.readUInt8(46),
    inIfindex: b.readUInt32LE(48),
    snatLease: b.readUInt32LE(52),
  };
}

/** struct lb_ct as userspace writes it (flows moved from lb_ft4, a peer's flows): dsr/ipip/gue, no NAT fields. */
export type CtWrite = Pick<CtValue, 'backendId' | 'backendGen' | 'seenNs' | 'svcId' | 'state' | 'fwd' | 'closeReason'> & {
  /** LB_CT_F_*. */
  flags: number;
  /** ipip/ip6ip6/gue: the outer source hash; 0: the data plane computes it. */
  encapHash: number;
};

export function encodeCt(v: CtWrite): Buffer {
  const b = Buffer.alloc(SIZES.ct);
  b.writeUInt32LE(v.backendId >>> 0, 0);
  b.writeUInt32LE(v.backendGen >>> 0, 4);
  b.writeBigUInt64LE(v.seenNs, 8);
  b.writeUInt32LE(v.svcId >>> 0, 16);
  b.writeUInt8(v.state, 20);
  b.writeUInt8(v.fwd, 21);
  b.writeUInt8(v.closeReason, 46);
  b.writeUInt8(v.flags, 47);
  b.writeUInt32LE(v.encapHash >>> 0, 48);
  return b;
}

/** lb_ft4 (bpf/lib/flowtab.h): LB_FT_WAYS slots a bucket. */
export const FT_WAYS = 4;
/** lb_ft_slot.seen is the coarse clock >> FT_TICK_SHIFT, truncated to a u32. */
export const FT_TICK_SHIFT = 20;
/** lb_ft_slot.state: a half-open TCP flow (LB_FT_HALF); else CT_OPEN or CT_CLOSING. */
export const FT_HALF = 3;
export const FT_STATE_MASK = 0x0f;
/** lb_ft_slot.state bits 4-5: CT_CLOSE_*. */
export const FT_CLOSE_SHIFT = 4;
/** The way whose aux is the bucket's sequence (odd: a CPU is writing it). */
export const FT_SEQ = 0;
/** The way whose aux is the tick | 1 (0: never) of the bucket's last SYN that went to lb_ct_syn: its SYNs follow for syn_timeout_ns. */
export const FT_OVER = 1;
/** The bit of FT_OVER's aux that is always set when a tick is there (the tick is or-ed with it). */
export const FT_OVER_CT = 0x1;

/** One live slot of a bucket (proto != 0), decoded. Addresses are IPv4, network order as in the packet. */
export interface FtSlot {
  way: number;
  saddr: IpAddress;
  daddr: IpAddress;
  sport: number;
  dport: number;
  proto: number;
  /** FT_HALF, CT_OPEN or CT_CLOSING (state & FT_STATE_MASK). */
  state: number;
  /** CT_CLOSE_* (state bits 4-5). */
  closeReason: number;
  fwd: number;
  flags: number;
  svcId: number;
  backendId: number;
  backendGen: number;
  /** The coarse clock >> FT_TICK_SHIFT of the last refresh, a u32. */
  seen: number;
}

/** The bucket's header words (aux of ways FT_SEQ and FT_OVER). */
export function decodeFtAux(b: Buffer): { seq: number; over: number } {
  return { seq: b.readUInt32LE(FT_SEQ * SIZES.ftWay), over: b.readUInt32LE(FT_OVER * SIZES.ftWay) };
}

/** Byte offsets of struct lb_ft_slot's fields; a way is its u32 aux, then the slot (FT_WAY_SLOT). */
export const FT_SLOT = {
  saddr: 0,
  daddr: 4,
  sport: 8,
  dport: 10,
  proto: 12,
  state: 13,
  fwd: 14,
  flags: 15,
  svcId: 16,
  backendId: 18,
  backendGen: 20,
  seen: 24,
} as const;
export const FT_WAY_SLOT = 4;

/** The live slots of a struct lb_ft_bucket value (a free slot has proto 0). */
export function decodeFtBucket(b: Buffer): FtSlot[] {
  if (b.length !== SIZES.ftBucket) throw new RangeError(`an lb_ft_bucket is ${SIZES.ftBucket} bytes, not ${b.length}`);
  const out: FtSlot[] = [];
  for (let way = 0; way < FT_WAYS; way++) {
    const o = way * SIZES.ftWay + FT_WAY_SLOT;
    if (b.readUInt8(o + FT_SLOT.proto) !== 0) out.push(decodeFtSlot(b.subarray(o, o + SIZES.ftSlot), way));
  }
  return out;
}

/** One struct lb_ft_slot (28 bytes), live or not; `way`: its index in the bucket. */

export function decodeFtSlot(b: Buffer, way = 0): FtSlot {
  const o = FT_SLOT;
  const state = b.readUInt8(o.state);
  return {
    way,
    saddr: bytesToIp(v4mapped(b.subarray(o.saddr, o.saddr + 4))),
    daddr: bytesToIp(v4mapped(b.subarray(o.daddr, o.daddr + 4))),
    sport: b.readUInt16BE(o.sport),
    dport: b.readUInt16BE(o.dport),
    proto: b.readUInt8(o.proto),
    state: state & FT_STATE_MASK,
    closeReason: (state >> FT_CLOSE_SHIFT) & 0x3,
    fwd: b.readUInt8(o.fwd),
    flags: b.readUInt8(o.flags),
    svcId: b.readUInt16LE(o.svcId),
    backendId: b.readUInt16LE(o.backendId),
    backendGen: b.readUInt32LE(o.backendGen),
    seen: b.readUInt32LE(o.seen),
  };
}

/** A slot's flow as the struct lb_flow key of lb_ct (IPv4-mapped addresses). */
export function ftSlotFlow(s: FtSlot): Flow {
  return { src: s.saddr, dst: s.daddr, sport: s.sport, dport: s.dport, proto: s.proto };
}

function v4mapped(a: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(a, 12);
  return out;
}

export interface Counters {
  packets: bigint;
  bytes: bigint;
  newFlows: bigint;
  drops: bigint;
}

export const ZERO_COUNTERS: Counters = { packets: 0n, bytes: 0n, newFlows: 0n, drops: 0n };

/** Sums one per-CPU value array of struct lb_counters. */
export function sumCounters(perCpu: readonly Buffer[]): Counters {
  const c = { ...ZERO_COUNTERS };
  for (const b of perCpu) {
    c.packets += b.readBigUInt64LE(0);
    c.bytes += b.readBigUInt64LE(8);
    c.newFlows += b.readBigUInt64LE(16);
    c.drops += b.readBigUInt64LE(24);
  }
  return c;
}

export function sumU64(perCpu: readonly Buffer[]): bigint {
  return perCpu.reduce((acc, b) => acc + b.readBigUInt64LE(0), 0n);
}

export function formatMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** A slot table as the data plane reads it: slot[0] = n, slot[1..n] = backend ids. */
export function encodeSlotTable(ids: Uint32Array): Buffer[] {
  const out: Buffer[] = [u32(ids.length)];
  for (const id of ids) out.push(u32(id));
  return out;
}

export function protoNumber(p: 'tcp' | 'udp'): number {
  return p === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
}

/** Chaining with other XDP programs (bpf/README.md): the root's program array and its slots. */
export const ROOT_PROGS = 'lb_root_progs';
export const ROOT_SLOTS = 16;
export const CHAIN_OFF = 0xffffffff;
