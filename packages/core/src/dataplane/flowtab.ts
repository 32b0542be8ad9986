import type { BpfMap } from '@xdp-lb/native';
import type { IpAddress } from '../config/address.js';
import { fmix32, murmurStep } from '../strategy/flow-hash.js';
import * as abi from './abi.js';

/**
 * The control plane's side of the flow table (lb_ft4, bpf/lib/flowtab.h): the bucket a flow lives
 * in, when a slot has expired, and reading the whole table (status, the agent, the cluster pull,
 * a resize). Userspace only reads lb_ft4: a bucket written from userspace would race the data
 * plane's per-bucket sequence lock.
 */

/** bpf/include/lb_hash.h LB_FT_SALT: lb_ft_hash's seed is hash_seed ^ this. */
export const FT_SALT = 0x7f4a7c15;

/** An IPv4 flow as lb_ft_hash reads it. */
export interface FtTuple {
  saddr: IpAddress;
  daddr: IpAddress;
  sport: number;
  dport: number;
  proto: number;
}

/** The 4 bytes of an IPv4 address, network order, read as a little-endian u32 (the data plane's __be32 word). */
function v4Word(a: IpAddress): number {
  if (a.family !== 4) throw new RangeError(`the flow table holds IPv4 flows only, not ${a.text}`);
  const [b0, b1, b2, b3] = a.text.split('.').map(Number) as [number, number, number, number];
  return b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
}

/**
 * lb_ft_hash (bpf/include/lb_hash.h), bit for bit: murmur3_x86_32 of the words saddr, daddr, ports
 * (bytes [sport_hi, sport_lo, dport_hi, dport_lo] as a little-endian u32: the ports as they lie in
 * the header) and proto, seeded with hash_seed ^ FT_SALT. Unsigned.
 */
export function ftHash(t: FtTuple, hashSeed: number): number {
  let h = (hashSeed ^ FT_SALT) | 0;
  h = murmurStep(h, v4Word(t.saddr));
  h = murmurStep(h, v4Word(t.daddr));
  h = murmurStep(h, (t.sport >> 8) | ((t.sport & 0xff) << 8) | ((t.dport >> 8) << 16) | ((t.dport & 0xff) << 24));
  h = murmurStep(h, t.proto);
  return fmix32(h ^ 16);
}

/** The bucket of a flow in a table of `buckets` (a power of two): what the data plane's `& ft_mask` gives. */
export function ftBucketOf(t: FtTuple, hashSeed: number, buckets: number): number {
  return (ftHash(t, hashSeed) & (buckets - 1)) >>> 0;
}

/** Idle timeouts in ns, the data plane's rodata (tcp/udp/closing/syn_timeout_ns). */
export interface FlowTimeouts {
  tcp: bigint;
  udp: bigint;
  closing: bigint;
  syn: bigint;
}

export function flowTimeouts(limits: {
  tcpTimeoutSec: number;
  udpTimeoutSec: number;
  tcpClosingTimeoutSec: number;
  synTimeoutSec: number;
}): FlowTimeouts {
  const s = (n: number) => BigInt(n) * 1_000_000_000n;
  return {
    tcp: s(limits.tcpTimeoutSec),
    udp: s(limits.udpTimeoutSec),
    closing: s(limits.tcpClosingTimeoutSec),
    syn: s(limits.synTimeoutSec),
  };
}

/** The coarse clock in lb_ft_slot.seen's unit: ns >> FT_TICK_SHIFT, truncated to a u32. */
export function ftTick(nowNs: bigint): number {
  return Number((nowNs >> BigInt(abi.FT_TICK_SHIFT)) & 0xffffffffn);
}

/** A slot's age in ns: the signed 32-bit difference of ticks (a CPU a tick ahead gives 0, not 52 days). */
export function ftSlotAgeNs(s: abi.FtSlot, nowNs: bigint): bigint {
  const ticks = (ftTick(nowNs) - s.seen) | 0;
  return ticks <= 0 ? 0n : BigInt(ticks) << BigInt(abi.FT_TICK_SHIFT);
}

/** The idle timeout of a slot: syn for half-open, udp, closing or tcp, as for lb_ct entries. */
export function ftSlotTimeout(s: abi.FtSlot, t: FlowTimeouts): bigint {
  if (s.state === abi.FT_HALF) return t.syn;
  if (s.proto === abi.IPPROTO_UDP) return t.udp;
  return s.state === abi.CT_CLOSING ? t.closing : t.tcp;
}

export function ftSlotExpired(s: abi.FtSlot, nowNs: bigint, t: FlowTimeouts): boolean {
  return ftSlotAgeNs(s, nowNs) > ftSlotTimeout(s, t);
}

/** Live (not expired) flows of the table: established (open or closing) and half-open. */
export interface FtCount {
  established: number;
  halfOpen: number;
}

export function countFtBuckets(buckets: Iterable<Buffer>, nowNs: bigint, t: FlowTimeouts): FtCount {
  const c: FtCount = { established: 0, halfOpen: 0 };
  for (const b of buckets)
    for (const s of abi.decodeFtBucket(b)) {
      if (ftSlotExpired(s, nowNs, t)) continue;
      if (s.state === abi.FT_HALF) c.halfOpen++;
      else c.established++;
    }
  return c;
}

/**
 * countFtBuckets over the whole map, `chunk` buckets at a time with the event loop running between
 * chunks (the agent's background walk: no 64 MiB of buffers at once, no long stall of scrapes).
 */
export async function countFtChunked(map: BpfMap, nowNs: bigint, t: FlowTimeouts, chunk = 4096): Promise<FtCount> {
  const c: FtCount = { established: 0, halfOpen: 0 };
  const part: Buffer[] = [];
  for (const b of readFtBucketsSync(map)) {
    part.push(b);
    if (part.length < chunk) continue;
    add(c, countFtBuckets(part.splice(0), nowNs, t));
    await new Promise((r) => setImmediate(r));
  }
  add(c, countFtBuckets(part, nowNs, t));
  return c;
}

function add(to: FtCount, c: FtCount): void {
  to.established += c.established;
  to.halfOpen += c.halfOpen;
}

/**
 * Every bucket of lb_ft4, read in batches (BPF_MAP_LOOKUP_BATCH on a worker thread). A bucket
 * being written meanwhile may read half-old: a count or a copy may miss or double one flow.
 */
export async function readFtBuckets(map: BpfMap): Promise<Buffer[]> {
  const { values } = await map.lookupBatch();
  return values as Buffer[];
}

/**
 * The same, synchronously (`lb status` is synchronous): one lookup a bucket, a syscall each
 * (about 2.3 µs with the decode: 1.2 s for the default 512Ki buckets, as long as the walk of a
 * full lb_ct; BPF_MAP_LOOKUP_BATCH was slower here, 1.6 s), never on a per-tick path.
 */
export function* readFtBucketsSync(map: BpfMap): Generator<Buffer> {
  const key = Buffer.alloc(4);
  for (let i = 0; i < map.maxEntries; i++) {
    key.writeUInt32LE(i);
    const v = map.lookup(key) as Buffer | null;
    if (v) yield v;
  }
}

/**
 * A slot's seen as a full coarse-clock time in ns: the tick of 64 bits nearest `nowNs` whose low 32
 * bits are `seen` (its start: at most one tick older than it was), never after `nowNs` (lb_ct ages
 * are unsigned: a time ahead of the data plane's clock would read as expired). The same slot gives
 * the same time on every call within that tick's lifetime.
 */
export function ftSlotSeenNs(s: abi.FtSlot, nowNs: bigint): bigint {
  const shift = BigInt(abi.FT_TICK_SHIFT);
  const tick = (nowNs >> shift) - BigInt((ftTick(nowNs) - s.seen) | 0);
  const ns = tick << shift;
  return ns > nowNs ? nowNs : ns;
}

/**
 * A slot as the lb_ct (or, half-open, lb_ct_syn) entry the data plane would have made for the flow
 * without the table: seen_ns from the slot's tick (ftSlotSeenNs; `nowNs` on the coarse clock's
 * base, CLOCK_MONOTONIC, which process.hrtime reads), encap_hash 0 (the data plane computes it on
 * the flow's next packet).
 */
export function ftSlotToCt(s: abi.FtSlot, nowNs: bigint): { key: Buffer; value: Buffer; halfOpen: boolean } {
  const halfOpen = s.state === abi.FT_HALF;
  return {
    key: abi.encodeFlow(abi.ftSlotFlow(s)),
    value: abi.encodeCt({
      backendId: s.backendId,
      backendGen: s.backendGen,
      seenNs: ftSlotSeenNs(s, nowNs),
      svcId: s.svcId,
      state: halfOpen ? abi.CT_OPEN : s.state,
      fwd: s.fwd,
      closeReason: halfOpen ? 0 : s.closeReason,
      // lb_ct_syn's flags mean LB_CT_F_REPLIED (nat only); a slot's are LB_CT_F_SYNC_*.
      flags: halfOpen ? 0 : s.flags,
      encapHash: 0,
    }),
    halfOpen,
  };
}
