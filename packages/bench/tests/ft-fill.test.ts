// The per-packet benchmark's 1M flows in the flow table (src/ft-fill.ts): clones of a data-plane
// slot land in the bucket core's ftBucketOf names (the real program's placement is checked by the
// benchmark itself: its 1M cases fail their reason counters if a flow is not where the data plane
// looks); full buckets spill to lb_ct and are flagged; the new-flow prediction follows
// lb_ft_insert's rules. Real kernel maps of the data plane's shapes (root only).
import { describe, expect, it } from 'vitest';
import { Abi, FlowTab } from '@xdp-lb/core';
import { BpfMap } from '@xdp-lb/native';
import { cloneSlot, fillFlowTable, findWay, forgetFlows, ftTuple, predictNewFlows, readBuckets, restoreBuckets } from '../src/ft-fill.js';
import { client, VIP } from '../src/testbed.js';

const ARRAY = 2;
const LRU_HASH = 9;
const BUCKETS = 1024;
const SEED = 0;

/** An established slot as the data plane writes it (abi.ts decodeFtSlot's offsets). */
function template(backendId: number): Buffer {
  const s = Buffer.alloc(Abi.SIZES.ftSlot);
  Buffer.from([198, 19, 200, 1]).copy(s, 0);
  Buffer.from(VIP.split('.').map(Number)).copy(s, 4);
  s.writeUInt16BE(40000, 8);
  s.writeUInt16BE(80, 10);
  s.writeUInt8(Abi.IPPROTO_TCP, 12);
  s.writeUInt8(Abi.CT_OPEN, 13);
  s.writeUInt8(Abi.FWD_DSR, 14);
  s.writeUInt16LE(3, 16);
  s.writeUInt16LE(backendId, 18);
  s.writeUInt32LE(77, 20);
  s.writeUInt32LE(12345, 24);
  return s;
}

const tupleOf = (i: number) => {
  const c = client(i);
  return { t: ftTuple(c.src, c.sport, VIP, 80), src: c.src, sport: c.sport };
};

/** A bucket holding `n` established slots of made-up flows (and a live lb_ct_syn flag if `over`). */
function bucketWith(n: number, state = Abi.CT_OPEN, over = false): Buffer {
  const b = Buffer.alloc(Abi.SIZES.ftBucket);
  for (let w = 0; w < n; w++) {
    const s = cloneSlot(template(1), `198.19.250.${w + 1}`, 5000, 1);
    s.writeUInt8(state, 13);
    s.copy(b, w * Abi.SIZES.ftWay + 4);
  }
  if (over) b.writeUInt32LE(Abi.FT_OVER_CT, Abi.FT_OVER * Abi.SIZES.ftWay);
  return b;
}

describe('cloneSlot and findWay', () => {
  it('a clone differs from its template only in the client address, port and tick', () => {
    const c = Abi.decodeFtSlot(cloneSlot(template(4), '198.19.3.7', 1025, 99));
    const t = Abi.decodeFtSlot(template(4));
    expect(c).toEqual({ ...t, saddr: { text: '198.19.3.7', family: 4 }, sport: 1025, seen: 99 });
  });
  it('finds the way holding a tuple, by its bytes, and -1 for another tuple', () => {
    const b = Buffer.alloc(Abi.SIZES.ftBucket);
    cloneSlot(template(1), '198.19.0.5', 1024, 1).copy(b, 2 * Abi.SIZES.ftWay + 4);
    expect(findWay(b, ftTuple('198.19.0.5', 1024, VIP, 80))).toBe(2);
    expect(findWay(b, ftTuple('198.19.0.5', 1025, VIP, 80))).toBe(-1);
    expect(findWay(b, ftTuple('198.19.0.6', 1024, VIP, 80))).toBe(-1);
  });
});

describe('predictNewFlows (lb_ft_insert on pure SYNs)', () => {
  /** n new flows, all of one bucket. */
  function sameBucket(n: number): { tuples: FlowTab.FtTuple[]; bucket: number } {
    const first = tupleOf(0).t;
    const bucket = FlowTab.ftBucketOf(first, SEED, BUCKETS);
    const tuples = [first];
    for (let i = 1; tuples.length < n; i++) if (FlowTab.ftBucketOf(tupleOf(i).t, SEED, BUCKETS) === bucket) tuples.push(tupleOf(i).t);
    return { tuples, bucket };
  }

  it('a free way takes the first SYNs; then one evicts a half-open slot; established-only: overflow, then lb_ct_syn', () => {
    const { tuples, bucket } = sameBucket(3);
    expect(predictNewFlows(new Map([[bucket, bucketWith(1)]]), tuples, BUCKETS)).toEqual({ ft_overflow: 0, ft_evicted: 0, fallback: 0 });
    // 2 established: the first two SYNs fill the bucket, the third evicts one of theirs.
    expect(predictNewFlows(new Map([[bucket, bucketWith(2)]]), tuples, BUCKETS)).toEqual({ ft_overflow: 0, ft_evicted: 1, fallback: 0 });
    // 3 established + the first SYN's half-open slot: the second SYN evicts it, the third too.
    expect(predictNewFlows(new Map([[bucket, bucketWith(3)]]), tuples, BUCKETS)).toEqual({ ft_overflow: 0, ft_evicted: 2, fallback: 0 });
    expect(predictNewFlows(new Map([[bucket, bucketWith(4)]]), tuples, BUCKETS)).toEqual({ ft_overflow: 1, ft_evicted: 0, fallback: 2 });
    expect(predictNewFlows(new Map([[bucket, bucketWith(1, Abi.CT_OPEN, true)]]), tuples, BUCKETS)).toEqual({
      ft_overflow: 0,
      ft_evicted: 0,
      fallback: 3,
    });
    expect(predictNewFlows(new Map([[bucket, bucketWith(4, Abi.FT_HALF)]]), tuples, BUCKETS)).toEqual({
      ft_overflow: 0,
      ft_evicted: 3,
      fallback: 0,
    });
  });
  it('refuses a bucket it was not given', () => {
    expect(() => predictNewFlows(new Map(), [tupleOf(0).t], BUCKETS)).toThrow(/bucket \d+ was not read/);
  });
});

describe.skipIf(process.getuid?.() !== 0)('fillFlowTable into real maps', () => {
  it('refuses a template of another service, writing nothing', async () => {
    const ft = BpfMap.create({ type: ARRAY, keySize: 4, valueSize: Abi.SIZES.ftBucket, maxEntries: BUCKETS, name: 'lb_ft4' });
    const ct = BpfMap.create({ type: LRU_HASH, keySize: Abi.SIZES.flow, valueSize: Abi.SIZES.ct, maxEntries: 1024, name: 'lb_ct' });
    try {
      const other = template(1);
      other.writeUInt16BE(81, 10);
      await expect(fillFlowTable(ft, ct, 10, tupleOf, [other], () => {})).rejects.toThrow(
        /template 0 is not a flow of 198\.18\.0\.10:80\/6/,
      );
      const { values } = await ft.lookupBatch();
      expect(values.every((v) => (v as Buffer).every((x) => x === 0))).toBe(true);
    } finally {
      ft.dispose();
      ct.dispose();
    }
  });

  it('puts each flow in its bucket or, its bucket full, in lb_ct and flags the bucket; clears half-open slots; forgets; restores', async () => {
    const ft = BpfMap.create({ type: ARRAY, keySize: 4, valueSize: Abi.SIZES.ftBucket, maxEntries: BUCKETS, name: 'lb_ft4' });
    const ct = BpfMap.create({ type: LRU_HASH, keySize: Abi.SIZES.flow, valueSize: Abi.SIZES.ct, maxEntries: 8192, name: 'lb_ct' });
    try {
      // An earlier case's unanswered SYN, to be cleared; and a bucket's sequence word, to be kept.
      const stale = ftTuple('198.19.240.1', 3000, VIP, 80);
      const sb = FlowTab.ftBucketOf(stale, SEED, BUCKETS);
      const half = cloneSlot(template(1), '198.19.240.1', 3000, 1);
      half.writeUInt8(Abi.FT_HALF, 13);
      const b0 = Buffer.alloc(Abi.SIZES.ftBucket);
      half.copy(b0, 4);
      b0.writeUInt32LE(42, 0);
      ft.update(Abi.u32(sb), b0);

      const N = 5000; // ~4.9 a bucket: many full buckets
      const templates = [template(1), template(2)];
      const seenBefore = FlowTab.ftTick(process.hrtime.bigint());
      const r = await fillFlowTable(ft, ct, N, tupleOf, templates, () => {});
      expect(r.droppedHalfOpen).toBe(1);
      expect(r.inTable + r.overflow).toBe(N);
      expect(r.overflow).toBeGreaterThan(0);
      expect((ft.lookup(Abi.u32(sb)) as Buffer).readUInt32LE(0)).toBe(42);

      let inTable = 0;
      let inCt = 0;
      for (let i = 0; i < N; i++) {
        const { t } = tupleOf(i);
        const b = FlowTab.ftBucketOf(t, SEED, BUCKETS);
        const bucket = ft.lookup(Abi.u32(b)) as Buffer;
        const way = findWay(bucket, t);
        if (way >= 0) {
          inTable++;
          const s = Abi.decodeFtSlot(bucket.subarray(way * Abi.SIZES.ftWay + 4, (way + 1) * Abi.SIZES.ftWay));
          expect(s.backendId).toBe(1 + (i % 2));
          expect(s.state).toBe(Abi.CT_OPEN);
          expect((s.seen - seenBefore) | 0).toBeGreaterThanOrEqual(0);
          expect((s.seen - seenBefore) | 0).toBeLessThan(1000); // the fill takes well under a second
        } else {
          inCt++;
          expect(Abi.decodeFtBucket(bucket)).toHaveLength(Abi.FT_WAYS);
          expect(Abi.decodeFtAux(bucket).over, 'no flag: only a SYN sent to lb_ct_syn flags a bucket').toBe(0);
          const v = ct.lookup(Abi.encodeFlow(Abi.ftSlotFlow({ ...Abi.decodeFtSlot(templates[0]!), ...t }))) as Buffer | null;
          expect(v, `flow ${i} is neither in its bucket nor in lb_ct`).not.toBeNull();
          expect(Abi.decodeCt(v!).backendId).toBe(1 + (i % 2));
        }
      }
      expect([inTable, inCt]).toEqual([r.inTable, r.overflow]);

      // Forgotten flows: gone from their slots and from lb_ct; the other slots of their buckets stay.
      const gone = Array.from({ length: 200 }, (_, i) => tupleOf(i).t);
      const spilled = gone.filter((t) => ct.lookup(Abi.encodeFlow(Abi.ftSlotFlow({ ...Abi.decodeFtSlot(templates[0]!), ...t }))) !== null);
      expect(forgetFlows(ft, ct, gone)).toBe(gone.length - spilled.length);
      for (const t of gone) {
        expect(findWay(ft.lookup(Abi.u32(FlowTab.ftBucketOf(t, SEED, BUCKETS))) as Buffer, t)).toBe(-1);
        expect(ct.lookup(Abi.encodeFlow(Abi.ftSlotFlow({ ...Abi.decodeFtSlot(templates[0]!), ...t })))).toBeNull();
      }
      const kept = tupleOf(N - 1).t;
      const kb = ft.lookup(Abi.u32(FlowTab.ftBucketOf(kept, SEED, BUCKETS))) as Buffer;
      expect(
        findWay(kb, kept) >= 0 || ct.lookup(Abi.encodeFlow(Abi.ftSlotFlow({ ...Abi.decodeFtSlot(templates[0]!), ...kept }))) !== null,
      ).toBe(true);

      // A batch's buckets, read before it, put back after it.
      const fresh = Array.from({ length: 50 }, (_, k) => tupleOf(N + k).t);
      const snap = readBuckets(ft, fresh, BUCKETS);
      const b = [...snap.keys()][0]!;
      ft.update(Abi.u32(b), Buffer.alloc(Abi.SIZES.ftBucket));
      restoreBuckets(ft, snap);
      expect((ft.lookup(Abi.u32(b)) as Buffer).equals(snap.get(b)!)).toBe(true);
    } finally {
      ft.dispose();
      ct.dispose();
    }
  }, 30_000);
});
