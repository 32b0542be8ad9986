/**
 * The per-packet benchmark's "1M live flows" in the flow table (lb_ft4, bpf/lib/flowtab.h): the
 * deployed program keeps IPv4 dsr flows there, not in lb_ct, when limits.flowTable is on. So the
 * 1M flows are written as slots into the buckets the data plane would have put them in (core's
 * ftBucketOf with the deployment's hash_seed), each a clone of a slot the data plane made itself
 * with only the tuple and the refresh tick changed; a flow whose bucket already holds LB_FT_WAYS
 * flows goes to lb_ct and flags the bucket, as the data plane's insert does (LB_R_FT_OVERFLOW).
 *
 * Userspace writes buckets here, which core never does (it would race the data plane's per-bucket
 * sequence lock): in the benchmark nothing runs while it writes, and the sequence words are kept.
 */
import { Abi, FlowTab, LB_DEFAULTS } from '@xdp-lb/core';
import type { BpfMap } from '@xdp-lb/native';

const { SIZES, FT_WAYS, u32 } = Abi;

/** Byte offsets in a struct lb_ft_bucket / lb_ft_slot (bpf/include/lb_abi.h; abi.ts decodeFtSlot). */
const SLOT_OFF = Abi.FT_WAY_SLOT;
const { saddr: S_SADDR, sport: S_SPORT, proto: S_PROTO, state: S_STATE, seen: S_SEEN } = Abi.FT_SLOT;

/** More than a jiffy at any HZ: how far CLOCK_MONOTONIC may lead the coarse clock. */
const JIFFY_NS = 10_000_000n;

/** The flows' own seed: the benchmark deploys with the default hash_seed. */
export const BENCH_HASH_SEED = LB_DEFAULTS.hashSeed;

/** lb_ft4's buckets when the table is on (the loader gives the map 1 entry and ft_mask 0 when it is off), else 0. */
export function ftBuckets(ft4: BpfMap): number {
  return ft4.maxEntries > 1 ? ft4.maxEntries : 0;
}

/** An IPv4 tuple to the VIP (addresses as the bench writes them: dotted quads, not re-validated). */
export function ftTuple(src: string, sport: number, dst: string, dport: number, proto = Abi.IPPROTO_TCP): FlowTab.FtTuple {
  return { saddr: { text: src, family: 4 }, daddr: { text: dst, family: 4 }, sport, dport, proto };
}

/** A tuple as a slot's first 13 bytes hold it: saddr, daddr, sport, dport (network order), proto. */
function tupleBytes(t: FlowTab.FtTuple): Buffer {
  const b = Buffer.alloc(13);
  Buffer.from(t.saddr.text.split('.').map(Number)).copy(b, 0);
  Buffer.from(t.daddr.text.split('.').map(Number)).copy(b, 4);
  b.writeUInt16BE(t.sport, 8);
  b.writeUInt16BE(t.dport, 10);
  b.writeUInt8(t.proto, 12);
  return b;
}

function slotAt(bucket: Buffer, way: number): Buffer {
  const o = way * SIZES.ftWay + SLOT_OFF;
  return bucket.subarray(o, o + SIZES.ftSlot);
}

/** The way of `bucket` whose slot holds the tuple, or -1 (a byte compare: the fill calls it 1M times). */
export function findWay(bucket: Buffer, t: FlowTab.FtTuple): number {
  return findKey(bucket, tupleBytes(t));
}

/** The way whose slot starts with `key` (a slot's 13 tuple bytes), or -1. */
function findKey(bucket: Buffer, key: Buffer): number {
  for (let w = 0; w < FT_WAYS; w++) {
    const o = w * SIZES.ftWay + SLOT_OFF;
    if (key.compare(bucket, o, o + key.length) === 0) return w;
  }
  return -1;
}

/** `template` (a 28-byte slot) under another client address and port, refreshed at `seen`. */
export function cloneSlot(template: Buffer, src: string, sport: number, seen: number): Buffer {
  const s = Buffer.from(template);
  Buffer.from(src.split('.').map(Number)).copy(s, S_SADDR);
  s.writeUInt16BE(sport, S_SPORT);
  s.writeUInt32LE(seen >>> 0, S_SEEN);
  return s;
}

/**
 * The slot of a flow the data plane made (SYN, then ACK), checked to be an established one; call
 * it right after the packet. `lead`: how many ticks our clock (CLOCK_MONOTONIC, read now) is ahead
 * of the data plane's stamp (bpf_ktime_get_coarse_ns, lib/clock.h): the coarse clock lags by up to
 * a jiffy, so 0 to a few.
 */
export function templateSlot(ft4: BpfMap, t: FlowTab.FtTuple, buckets: number): { slot: Buffer; lead: number } {
  const tick = FlowTab.ftTick(process.hrtime.bigint());
  const b = FlowTab.ftBucketOf(t, BENCH_HASH_SEED, buckets);
  const bucket = ft4.lookup(u32(b)) as Buffer;
  const way = findWay(bucket, t);
  if (way < 0)
    throw new Error(
      `flow table: ${t.saddr.text}:${t.sport}'s slot is not in bucket ${b} of ${buckets}: the data plane's hash_seed or table size is not the bench's`,
    );
  const s = Buffer.from(slotAt(bucket, way));
  const state = s.readUInt8(S_STATE) & Abi.FT_STATE_MASK;
  if (state !== Abi.CT_OPEN) throw new Error(`flow table: ${t.saddr.text}:${t.sport}'s slot is in state ${state}, not open`);
  return { slot: s, lead: (tick - s.readUInt32LE(S_SEEN)) | 0 };
}

export interface FtFillResult {
  /** Flows written as slots of lb_ft4. */
  inTable: number;
  /** Flows whose bucket was full: in lb_ct (their buckets not flagged: only a SYN flags one). */
  overflow: number;
  /** Half-open slots of earlier cases' unanswered SYNs in the flows' buckets, freed (see fillFlowTable). */
  droppedHalfOpen: number;
}

/** Frees the half-open slots of `bucket` (in place); returns how many. */
function clearHalfOpen(bucket: Buffer): number {
  let n = 0;
  for (let w = 0; w < FT_WAYS; w++) {
    const s = slotAt(bucket, w);
    if (s.readUInt8(S_PROTO) !== 0 && (s.readUInt8(S_STATE) & Abi.FT_STATE_MASK) === Abi.FT_HALF) {
      s.fill(0);
      n++;
    }
  }
  return n;
}

/**
 * Writes the flows `tuples(i)`, i < n, into lb_ft4 (and lb_ct for those of full buckets), the i-th
 * a clone of templates[i % templates.length]. Their buckets are read one lookup each (faster here
 * than BPF_MAP_LOOKUP_BATCH of the whole table: 1 s against 4.6 s for 2^20 buckets), changed in
 * memory and written back with BPF_MAP_UPDATE_BATCH. Half-open slots in them (the earlier cases'
 * SYNs, never answered, expired or soon) are freed first, so the buckets hold established flows
 * only, the same in every round: a new flow's fate (a free way, or a full bucket) is known in
 * advance (predictNewFlows). The slots' seen: the coarse clock's tick now (FlowTab.ftTick of
 * CLOCK_MONOTONIC, the coarse clock's base; it leads the coarse clock by at most a jiffy,
 * templateSlot's `lead`, which the data plane's signed ages read as "just refreshed").
 */
export async function fillFlowTable(
  ft4: BpfMap,
  ct: BpfMap,
  n: number,
  tuples: (i: number) => { t: FlowTab.FtTuple; src: string; sport: number },
  templates: readonly Buffer[],
  progress: (done: number) => void,
): Promise<FtFillResult> {
  const buckets = ftBuckets(ft4);
  if (!buckets) throw new Error('flow table: lb_ft4 is off (1 bucket)');
  const table = new Map<number, Buffer>();
  let droppedHalfOpen = 0;
  const now = process.hrtime.bigint();
  const seen = FlowTab.ftTick(now);
  const ctKeys: Buffer[] = [];
  const ctValues: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const { t, src, sport } = tuples(i);
    const b = FlowTab.ftBucketOf(t, BENCH_HASH_SEED, buckets);
    let bucket = table.get(b);
    if (!bucket) {
      bucket = Buffer.from(ft4.lookup(u32(b)) as Buffer);
      droppedHalfOpen += clearHalfOpen(bucket);
      table.set(b, bucket);
    }
    const slot = cloneSlot(templates[i % templates.length]!, src, sport, seen);
    if (i < templates.length && !tupleBytes(t).equals(slot.subarray(0, S_PROTO + 1)))
      throw new Error(`flow table: template ${i} is not a flow of ${t.daddr.text}:${t.dport}/${t.proto}`);
    let way = findKey(bucket, slot.subarray(0, S_PROTO + 1)); // the template's daddr, dport, proto: the tuple's (checked above)
    if (way < 0) for (way = 0; way < FT_WAYS && slotAt(bucket, way).readUInt8(S_PROTO) !== 0; way++);
    if (way < FT_WAYS) slot.copy(bucket, way * SIZES.ftWay + SLOT_OFF);
    else {
      // seen_ns a jiffy back: hrtime may lead the coarse clock by that, and lb_ct ages are unsigned.
      const { key, value } = FlowTab.ftSlotToCt(Abi.decodeFtSlot(slot), now - JIFFY_NS);
      ctKeys.push(key);
      ctValues.push(value);
      // no flag: the data plane flags a bucket only for a SYN it sends to lb_ct_syn
    }
  }
  const order = [...table.keys()];
  const CHUNK = 65_536;
  for (let i = 0; i < order.length; i += CHUNK) {
    const part = order.slice(i, i + CHUNK);
    await ft4.updateBatch(
      part.map((b) => u32(b)),
      part.map((b) => table.get(b)!),
    );
    progress(Math.min(1, (i + CHUNK) / order.length));
  }
  for (let i = 0; i < ctKeys.length; i += CHUNK) await ct.updateBatch(ctKeys.slice(i, i + CHUNK), ctValues.slice(i, i + CHUNK));
  return { inTable: n - ctKeys.length, overflow: ctKeys.length, droppedHalfOpen };
}

/** The flow-table reason counters a batch of new flows (pure SYNs) must add, besides tx, ct_new and ct_half_open. */
export interface NewFlowPlan {
  ft_overflow: number;
  ft_evicted: number;
  /** Flows of flagged buckets: to lb_ct_syn without a reason of their own. */
  fallback: number;
}

/**
 * What lb_ft_insert (bpf/lib/flowtab.h) does with SYNs of new `tuples`, in order, given their
 * buckets' contents `snapshot` (bucket -> struct lb_ft_bucket, read just before): a flagged bucket
 * sends the SYN to lb_ct_syn; else a free way takes it (half-open); else it evicts a half-open
 * slot (ft_evicted); else the bucket is flagged (ft_overflow). Every slot of the snapshot is taken
 * as live: readBuckets leaves no half-open slot to expire, and established ones live minutes.
 */
export function predictNewFlows(snapshot: ReadonlyMap<number, Buffer>, tuples: readonly FlowTab.FtTuple[], buckets: number): NewFlowPlan {
  const plan: NewFlowPlan = { ft_overflow: 0, ft_evicted: 0, fallback: 0 };
  const state = new Map<number, { used: number; half: number; over: boolean }>();
  for (const t of tuples) {
    const b = FlowTab.ftBucketOf(t, BENCH_HASH_SEED, buckets);
    let s = state.get(b);
    if (!s) {
      const bucket = snapshot.get(b);
      if (!bucket) throw new Error(`flow table: bucket ${b} was not read`);
      const slots = Abi.decodeFtBucket(bucket);
      s = {
        used: slots.length,
        half: slots.filter((x) => x.state === Abi.FT_HALF).length,
        over: Abi.decodeFtAux(bucket).over !== 0, // readBuckets clears it: set only by this batch's SYNs
      };
      state.set(b, s);
    }
    if (s.over) plan.fallback++;
    else if (s.used < FT_WAYS) {
      s.used++;
      s.half++;
    } else if (s.half > 0) plan.ft_evicted++;
    else {
      s.over = true;
      plan.ft_overflow++;
    }
  }
  return plan;
}

/**
 * The buckets of `tuples`, read now (to predict a batch, and to put back after it), their
 * half-open slots freed and their lb_ct_syn flag cleared (and written so): earlier cases'
 * unanswered SYNs, which the data plane may take as expired or evict, and a flag that decays
 * syn_timeout_ns after its last SYN (bpf/lib/flowtab.h lb_ft_over_live), so predictNewFlows could
 * not tell. None are left after a batch (restoreBuckets), so this frees only those of the cases
 * before the 1M fill.
 */
export function readBuckets(ft4: BpfMap, tuples: readonly FlowTab.FtTuple[], buckets: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const t of tuples) {
    const b = FlowTab.ftBucketOf(t, BENCH_HASH_SEED, buckets);
    if (out.has(b)) continue;
    const bucket = Buffer.from(ft4.lookup(u32(b)) as Buffer);
    const o = Abi.FT_OVER * SIZES.ftWay;
    const flagged = bucket.readUInt32LE(o) !== 0;
    bucket.writeUInt32LE(0, o);
    if (clearHalfOpen(bucket) || flagged) ft4.update(u32(b), bucket);
    out.set(b, bucket);
  }
  return out;
}

/**
 * Writes `snapshot` back: the batch's half-open slots and flags are gone, the next round starts from
 * the same table. Synchronous (a few thousand buckets, one update each): the cases run inside
 * TestBed.inside's synchronous callback.
 */
export function restoreBuckets(ft4: BpfMap, snapshot: ReadonlyMap<number, Buffer>): void {
  for (const [b, v] of snapshot) ft4.update(u32(b), v);
}

/**
 * Removes the flows `tuples` from lb_ft4 (their slots freed) and from lb_ct: the data plane then
 * meets their next packet as an untracked flow's (disruption's "forget"). Returns how many slots
 * were freed.
 */
export function forgetFlows(ft4: BpfMap, ct: BpfMap, tuples: readonly FlowTab.FtTuple[]): number {
  const buckets = ftBuckets(ft4);
  let freed = 0;
  for (const t of tuples) {
    ct.delete(Abi.encodeFlow({ src: t.saddr, dst: t.daddr, sport: t.sport, dport: t.dport, proto: t.proto }));
    if (!buckets) continue;
    const b = FlowTab.ftBucketOf(t, BENCH_HASH_SEED, buckets);
    const bucket = ft4.lookup(u32(b)) as Buffer;
    const way = findWay(bucket, t);
    if (way < 0) continue;
    slotAt(bucket, way).fill(0);
    ft4.update(u32(b), bucket);
    freed++;
  }
  return freed;
}
