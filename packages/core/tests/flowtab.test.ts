import { describe, expect, it } from 'vitest';
import * as abi from '../src/dataplane/abi.js';
import {
  countFtBuckets,
  flowTimeouts,
  ftBucketOf,
  ftHash,
  ftSlotExpired,
  ftSlotToCt,
  ftTick,
  type FtTuple,
} from '../src/dataplane/flowtab.js';
import { putSlot } from './helpers/ft-slot.js';

const v4 = (text: string) => ({ text, family: 4 as const });
const tuple = (s: string, d: string, sport: number, dport: number, proto: number): FtTuple => ({
  saddr: v4(s),
  daddr: v4(d),
  sport,
  dport,
  proto,
});

describe('ftHash (lb_ft_hash)', () => {
  // Pinned from bpf/include/lb_hash.h's lb_ft_hash itself, compiled with gcc (words as the
  // data plane reads them from the packet: addresses and ports in network order, read LE).
  it.each([
    ['198.18.0.1', '198.18.0.10', 40000, 80, 6, 0x0, 0x0067dea5],
    ['198.18.0.1', '198.18.0.10', 40000, 80, 17, 0x0, 0x9bbc3497],
    ['198.18.0.1', '198.18.0.10', 40001, 80, 6, 0x0, 0x884ae380],
    ['10.1.2.3', '198.18.0.10', 1, 65535, 6, 0xdeadbeef, 0x8fc2cce2],
    ['255.255.255.255', '0.0.0.0', 0, 0, 6, 0x7f4a7c15, 0x2706c6ba],
  ])('%s -> %s %d->%d proto %d seed %d = %d', (s, d, sp, dp, proto, seed, want) => {
    expect(ftHash(tuple(s, d, sp, dp, proto), seed)).toBe(want);
  });

  it('names the bucket by its low bits', () => {
    const t = tuple('198.18.0.1', '198.18.0.10', 40000, 80, 6);
    expect(ftBucketOf(t, 0, 1024)).toBe(0x0067dea5 & 1023);
    expect(ftBucketOf(t, 0, 1 << 25)).toBe(0x0067dea5 & ((1 << 25) - 1));
  });

  it('refuses an IPv6 flow (the table holds IPv4 only)', () => {
    expect(() => ftHash({ ...tuple('1.2.3.4', '1.2.3.5', 1, 2, 6), saddr: { text: '2001:db8::1', family: 6 } }, 0)).toThrow(
      /IPv4 flows only, not 2001:db8::1/,
    );
  });
});

describe('lb_ft_bucket decoder', () => {
  it('returns the live slots only, with their ways, fields and the bucket header', () => {
    const b = Buffer.alloc(abi.SIZES.ftBucket);
    b.writeUInt32LE(7, 0); // way 0's aux: the sequence
    b.writeUInt32LE(abi.FT_OVER_CT, 32); // way 1's aux: over
    putSlot(b, 1, tuple('198.18.0.1', '198.18.0.10', 40000, 80, 6), {
      state: abi.CT_CLOSING | (abi.CT_CLOSE_RST << abi.FT_CLOSE_SHIFT),
      fwd: abi.FWD_IPIP,
      flags: 0x02,
      svcId: 3,
      backendId: 65535,
      backendGen: 0xfffffffe,
      seen: 0xfffffff0,
    });
    putSlot(b, 3, tuple('10.0.0.1', '198.18.0.10', 5353, 53, 17), {
      state: abi.FT_HALF,
      fwd: abi.FWD_DSR,
      svcId: 1,
      backendId: 2,
      backendGen: 1,
      seen: 5,
    });
    expect(abi.decodeFtAux(b)).toEqual({ seq: 7, over: abi.FT_OVER_CT });
    const slots = abi.decodeFtBucket(b);
    expect(slots).toEqual([
      {
        way: 1,
        saddr: v4('198.18.0.1'),
        daddr: v4('198.18.0.10'),
        sport: 40000,
        dport: 80,
        proto: 6,
        state: abi.CT_CLOSING,
        closeReason: abi.CT_CLOSE_RST,
        fwd: abi.FWD_IPIP,
        flags: 0x02,
        svcId: 3,
        backendId: 65535,
        backendGen: 0xfffffffe,
        seen: 0xfffffff0,
      },
      expect.objectContaining({ way: 3, proto: 17, sport: 5353, dport: 53, state: abi.FT_HALF, closeReason: 0, seen: 5 }),
    ]);
    expect(abi.ftSlotFlow(slots[0]!)).toEqual({ src: v4('198.18.0.1'), dst: v4('198.18.0.10'), sport: 40000, dport: 80, proto: 6 });
  });

  it('an empty bucket has no slots; a value of another size is refused', () => {
    expect(abi.decodeFtBucket(Buffer.alloc(128))).toEqual([]);
    expect(() => abi.decodeFtBucket(Buffer.alloc(64))).toThrow(/128 bytes, not 64/);
  });
});

describe('expiry and counting', () => {
  const t = flowTimeouts({ tcpTimeoutSec: 300, udpTimeoutSec: 30, tcpClosingTimeoutSec: 10, synTimeoutSec: 3 });
  const now = 5_000_000_000_000n; // 5000 s of monotonic clock
  const tick = ftTick(now);
  const secTicks = (s: number) => Math.ceil((s * 1e9) / 2 ** 20);

  it('ages slots by the signed difference of u32 ticks, with the timeout of their state', () => {
    const bucket = Buffer.alloc(128);
    const base = { fwd: abi.FWD_DSR, svcId: 1, backendId: 1, backendGen: 1 };
    putSlot(bucket, 0, tuple('1.0.0.1', '2.0.0.1', 1, 80, 6), { ...base, state: abi.CT_OPEN, seen: tick - secTicks(299) });
    putSlot(bucket, 1, tuple('1.0.0.2', '2.0.0.1', 1, 80, 6), { ...base, state: abi.CT_CLOSING, seen: tick - secTicks(11) });
    putSlot(bucket, 2, tuple('1.0.0.3', '2.0.0.1', 1, 53, 17), { ...base, state: abi.CT_OPEN, seen: tick - secTicks(31) });
    putSlot(bucket, 3, tuple('1.0.0.4', '2.0.0.1', 1, 80, 6), { ...base, state: abi.FT_HALF, seen: tick - secTicks(2) });
    const s = abi.decodeFtBucket(bucket);
    expect(s.map((x) => ftSlotExpired(x, now, t))).toEqual([false, true, true, false]);
    expect(countFtBuckets([bucket], now, t)).toEqual({ established: 1, halfOpen: 1 });
    // A slot stamped by a CPU a tick ahead is not 52 days old; the clock's u32 wrap is no expiry.
    const ahead = { ...s[0]!, seen: (tick + 1) >>> 0 };
    expect(ftSlotExpired(ahead, now, t)).toBe(false);
    const wrapNow = (1n << 52n) + 10n * (1n << 20n); // tick 10 after the u32 wrapped
    expect(ftSlotExpired({ ...s[0]!, seen: 0xfffffff0 }, wrapNow, t)).toBe(false);
  });

  it('a slot becomes the lb_ct entry the data plane would have made (half-open: an lb_ct_syn one)', () => {
    const bucket = Buffer.alloc(128);
    const ft = tuple('198.18.0.1', '198.18.0.10', 40000, 80, 6);
    putSlot(bucket, 2, ft, {
      state: abi.CT_CLOSING | (abi.CT_CLOSE_FIN << abi.FT_CLOSE_SHIFT),
      fwd: abi.FWD_GUE,
      flags: 0x02,
      svcId: 9,
      backendId: 4,
      backendGen: 7,
      seen: tick - 100,
    });
    putSlot(bucket, 3, ft, { state: abi.FT_HALF, fwd: abi.FWD_DSR, flags: 0x02, svcId: 9, backendId: 4, backendGen: 7, seen: tick });
    const [closing, half] = abi.decodeFtBucket(bucket).map((s) => ftSlotToCt(s, now));
    expect(closing!.halfOpen).toBe(false);
    expect(abi.decodeFlow(closing!.key)).toEqual({ src: ft.saddr, dst: ft.daddr, sport: 40000, dport: 80, proto: 6 });
    expect(abi.decodeCt(closing!.value)).toMatchObject({
      backendId: 4,
      backendGen: 7,
      seenNs: ((now >> 20n) - 100n) << 20n, // the start of its tick
      svcId: 9,
      state: abi.CT_CLOSING,
      fwd: abi.FWD_GUE,
      closeReason: abi.CT_CLOSE_FIN,
      inIfindex: 0, // encap_hash 0: computed by the data plane
      snatLease: 0,
    });
    expect(closing!.value.readUInt8(47)).toBe(0x02);
    expect(half!.halfOpen).toBe(true);
    expect(abi.decodeCt(half!.value)).toMatchObject({ state: abi.CT_OPEN, seenNs: (now >> 20n) << 20n, closeReason: 0 });
    // The same slot, later in the same tick: the same time (a second move pass compares equal).
    expect(ftSlotToCt(abi.decodeFtBucket(bucket)[0]!, now + 1000n).value).toEqual(closing!.value);
    // A slot a tick ahead of the clock is stamped now, never in the future (it would read as expired).
    const ahead = { ...abi.decodeFtBucket(bucket)[1]!, seen: (tick + 1) >>> 0 };
    expect(abi.decodeCt(ftSlotToCt(ahead, now).value).seenNs).toBe(now);
    expect(half!.value.readUInt8(47)).toBe(0);
  });
});
