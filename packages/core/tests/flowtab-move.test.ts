// A resize of the flow table (or turning it off) moves its live flows into lb_ct / lb_ct_syn,
// where the data plane finds them after its lb_ft4 miss (dataplane/flowtab-move.ts). Real kernel
// maps of the data plane's shapes: an lb_ft4 ARRAY pinned on bpffs with slots written as the data
// plane lays them out, and LRU hashes for lb_ct and lb_ct_syn. (The deploy that calls it, with
// flows the real program made, is core-integration's flowtab.e2e.test.ts.) And the three readers
// of a whole table (status's, the agent's chunked one, the batch one) agree on it.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfMap } from '@xdp-lb/native';
import * as abi from '../src/dataplane/abi.js';
import {
  countFtBuckets,
  countFtChunked,
  flowTimeouts,
  ftTick,
  type FtTuple,
  readFtBuckets,
  readFtBucketsSync,
} from '../src/dataplane/flowtab.js';
import { moveFlowTable } from '../src/dataplane/flowtab-move.js';
import { putSlot } from './helpers/ft-slot.js';

const dir = `/sys/fs/bpf/xlb-ftmove-${process.pid}`;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ARRAY = 2;
const LRU_HASH = 9;
const BPF_F_MMAPABLE = 0x400;
const v4 = (text: string) => ({ text, family: 4 as const });
const tuple = (s: string, sport: number, proto = abi.IPPROTO_TCP): FtTuple => ({
  saddr: v4(s),
  daddr: v4('198.18.0.10'),
  sport,
  dport: 80,
  proto,
});
const timeouts = flowTimeouts({ tcpTimeoutSec: 300, udpTimeoutSec: 30, tcpClosingTimeoutSec: 10, synTimeoutSec: 3 });
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

describe.skipIf(process.getuid?.() !== 0)('moving lb_ft4 flows into lb_ct', () => {
  it('live slots become lb_ct (half-open: lb_ct_syn) entries; expired ones stay behind; a newer entry is kept', async () => {
    mkdirSync(dir, { recursive: true });
    const pin = join(dir, abi.MAPS.ft4);
    const ft = BpfMap.create({
      type: ARRAY,
      keySize: 4,
      valueSize: abi.SIZES.ftBucket,
      maxEntries: 1024,
      flags: BPF_F_MMAPABLE,
      name: 'lb_ft4',
    });
    const ct = BpfMap.create({ type: LRU_HASH, keySize: abi.SIZES.flow, valueSize: abi.SIZES.ct, maxEntries: 1024, name: 'lb_ct' });
    const syn = BpfMap.create({ type: LRU_HASH, keySize: abi.SIZES.flow, valueSize: abi.SIZES.ct, maxEntries: 1024, name: 'lb_ct_syn' });
    try {
      ft.pin(pin);
      const tick = ftTick(process.hrtime.bigint());
      const sec = (s: number) => Math.ceil((s * 1e9) / 2 ** 20);
      const base = { fwd: abi.FWD_IPIP, svcId: 2, backendGen: 5 };
      const b7 = Buffer.alloc(abi.SIZES.ftBucket);
      putSlot(b7, 0, tuple('198.18.1.1', 1000), { ...base, state: abi.CT_OPEN, flags: 0x02, backendId: 11, seen: tick - sec(1) });
      putSlot(b7, 1, tuple('198.18.1.2', 1001), {
        ...base,
        state: abi.CT_CLOSING | (abi.CT_CLOSE_RST << abi.FT_CLOSE_SHIFT),
        backendId: 12,
        seen: tick - sec(2),
      });
      putSlot(b7, 2, tuple('198.18.1.3', 1002), { ...base, state: abi.CT_CLOSING, backendId: 13, seen: tick - sec(60) }); // expired
      putSlot(b7, 3, tuple('198.18.1.4', 1003), { ...base, state: abi.FT_HALF, backendId: 14, seen: tick });
      const b900 = Buffer.alloc(abi.SIZES.ftBucket);
      putSlot(b900, 2, tuple('198.18.1.5', 53, abi.IPPROTO_UDP), { ...base, state: abi.CT_OPEN, backendId: 15, seen: tick - sec(40) }); // expired (udp)
      putSlot(b900, 3, tuple('198.18.1.6', 1006), { ...base, state: abi.CT_OPEN, backendId: 16, seen: tick - sec(100) });
      ft.update(u32(7), b7);
      ft.update(u32(900), b900);
      // An entry the new program already refreshed for flow .6 (newer than the slot): kept.
      const key6 = abi.encodeFlow({ src: v4('198.18.1.6'), dst: v4('198.18.0.10'), sport: 1006, dport: 80, proto: 6 });
      const newer = abi.encodeCt({
        backendId: 99,
        backendGen: 5,
        seenNs: process.hrtime.bigint(),
        svcId: 2,
        state: abi.CT_OPEN,
        fwd: abi.FWD_IPIP,
        closeReason: 0,
        flags: 0,
        encapHash: 7,
      });
      ct.update(key6, newer);

      expect(await moveFlowTable(pin, ct, syn, timeouts)).toBe(3);
      const entries = (m: BpfMap) =>
        new Map(
          [...m.keys()].map((k) => [`${abi.decodeFlow(k).src.text}:${abi.decodeFlow(k).sport}`, abi.decodeCt(m.lookup(k) as Buffer)]),
        );
      const got = entries(ct);
      expect([...got.keys()].sort()).toEqual(['198.18.1.1:1000', '198.18.1.2:1001', '198.18.1.6:1006']);
      const now = process.hrtime.bigint();
      const one = got.get('198.18.1.1:1000')!;
      expect(one).toMatchObject({
        backendId: 11,
        backendGen: 5,
        svcId: 2,
        state: abi.CT_OPEN,
        fwd: abi.FWD_IPIP,
        closeReason: 0,
        inIfindex: 0,
      });
      // Its age carried over: about a second back from now on the data plane's clock.
      expect(Number(now - one.seenNs) / 1e9).toBeGreaterThan(0.9);
      expect(Number(now - one.seenNs) / 1e9).toBeLessThan(1.5);
      expect(got.get('198.18.1.2:1001')).toMatchObject({ backendId: 12, state: abi.CT_CLOSING, closeReason: abi.CT_CLOSE_RST });
      expect(got.get('198.18.1.6:1006')).toMatchObject({ backendId: 99, inIfindex: 7 });
      const half = entries(syn);
      expect([...half.keys()]).toEqual(['198.18.1.4:1003']);
      expect(half.get('198.18.1.4:1003')).toMatchObject({ backendId: 14, state: abi.CT_OPEN });

      // The second pass (after the program swap) writes nothing that is already as recent.
      expect(await moveFlowTable(pin, ct, syn, timeouts)).toBe(0);
      expect(entries(ct).size).toBe(3);
    } finally {
      ft.dispose();
      ct.dispose();
      syn.dispose();
    }
  });
});

describe.skipIf(process.getuid?.() !== 0)('reading a whole lb_ft4', () => {
  it('one lookup a bucket, in chunks, or in batches: the same buckets, the same count', async () => {
    const ft = BpfMap.create({
      type: ARRAY,
      keySize: 4,
      valueSize: abi.SIZES.ftBucket,
      maxEntries: 3000,
      flags: BPF_F_MMAPABLE,
      name: 'lb_ft4',
    });
    try {
      const tick = ftTick(process.hrtime.bigint());
      const base = { fwd: abi.FWD_DSR, svcId: 1, backendId: 1, backendGen: 1, seen: tick };
      for (const [i, bucket] of [0, 1023, 1024, 2999].entries()) {
        const b = Buffer.alloc(abi.SIZES.ftBucket);
        putSlot(b, 0, tuple(`198.18.2.${i}`, 1), { ...base, state: abi.CT_OPEN });
        putSlot(b, 3, tuple(`198.18.2.${i}`, 2), { ...base, state: i % 2 ? abi.FT_HALF : abi.CT_CLOSING });
        ft.update(u32(bucket), b);
      }
      const now = process.hrtime.bigint();
      const want = { established: 6, halfOpen: 2 };
      const sync = [...readFtBucketsSync(ft)];
      expect(sync).toHaveLength(3000);
      expect(countFtBuckets(sync, now, timeouts)).toEqual(want);
      expect(await countFtChunked(ft, now, timeouts, 1024)).toEqual(want);
      expect(await countFtChunked(ft, now, timeouts, 7)).toEqual(want);
      const batch = await readFtBuckets(ft);
      expect(batch).toEqual(sync);
    } finally {
      ft.dispose();
    }
  });
});
