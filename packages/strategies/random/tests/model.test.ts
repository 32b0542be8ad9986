import { describe, expect, it } from 'vitest';
import { prng, tally, testBackends } from '@xdp-lb/core/strategy';
import { buildRandomTable, pickRandom, random, randomDraw } from '../src/index.js';

describe('pickRandom (the reference model of the random fragment)', () => {
  it('is table[(r * n) >> 32]', () => {
    const table = Uint32Array.from([7, 8, 9]);
    expect(pickRandom(table, 0)).toBe(7);
    expect(pickRandom(table, 0x55555555)).toBe(7); // 0x55555555 * 3 = 0xFFFFFFFF: still slot 0
    expect(pickRandom(table, 0x55555556)).toBe(8);
    expect(pickRandom(table, 0xaaaaaaab)).toBe(9);
    expect(pickRandom(table, 0xffffffff)).toBe(9);
    const r = prng(1);
    for (let i = 0; i < 1000; i++) {
      const x = r();
      expect(pickRandom(table, x)).toBe(table[Number((BigInt(x) * 3n) >> 32n)]);
    }
  });

  it('agrees with the BigInt formula on large tables too', () => {
    const big = new Uint32Array((1 << 22) + 3).map((_, i) => i);
    const r = prng(2);
    for (let i = 0; i < 1000; i++) {
      const x = r();
      expect(pickRandom(big, x)).toBe(Number((BigInt(x) * BigInt(big.length)) >> 32n));
    }
  });

  it('returns undefined for an empty table', () => {
    expect(pickRandom(new Uint32Array(0), 123)).toBeUndefined();
  });

  // Exact uniformity: over all 2^32 draws each slot gets floor(2^32 / n) or ceil(2^32 / n) of them.
  // Slot k is picked for r in [ceil(k 2^32 / n), ceil((k + 1) 2^32 / n)).
  it.each([2, 3, 7, 10, 100, 1000, 65536])('is uniform over all 2^32 draws for n = %d', (n) => {
    const table = new Uint32Array(n).map((_, i) => i);
    const first = (k: number) => (k === n ? 2 ** 32 : Math.ceil((k * 2 ** 32) / n));
    for (const k of [0, 1, Math.floor(n / 2), n - 1]) {
      const lo = first(k);
      const hi = first(k + 1) - 1;
      expect(pickRandom(table, lo)).toBe(k);
      expect(pickRandom(table, hi)).toBe(k);
      if (lo > 0) expect(pickRandom(table, lo - 1)).toBe(k - 1);
      expect(hi - lo + 1 - Math.floor(2 ** 32 / n)).toBeGreaterThanOrEqual(0);
      expect(hi - lo + 1 - Math.floor(2 ** 32 / n)).toBeLessThanOrEqual(1);
    }
  });

  it('spreads 100,000 random draws evenly (and by weight)', () => {
    for (const [bs, tolerance] of [
      [testBackends(2), 0.02],
      [testBackends(10), 0.05],
      [testBackends(4, (i) => [1, 2, 3, 4][i]!), 0.05],
    ] as const) {
      const table = buildRandomTable(bs);
      const r = prng(3);
      const hits = tally(Array.from({ length: 100_000 }, () => pickRandom(table, r())!));
      const total = bs.reduce((s, b) => s + b.weight, 0);
      for (const b of bs) {
        const expected = (100_000 * b.weight) / total;
        expect(Math.abs(hits.get(b.id)! - expected) / expected).toBeLessThan(tolerance);
      }
    }
  });
});

describe('randomDraw', () => {
  it('is fmix32(lo(t) ^ hi(t) ^ flowHash)', () => {
    expect(randomDraw(0n, 0)).toBe(0); // fmix32's fixed point
    expect(randomDraw(1n, 0)).toBe(randomDraw(0n, 1));
    expect(randomDraw(0x1_0000_0000n, 0)).toBe(randomDraw(1n, 0)); // hi and lo fold together
    expect(randomDraw(5n, 3)).toBe(randomDraw(6n, 0));
  });

  it('turns consecutive clock values into uniform slots', () => {
    const table = new Uint32Array(10).map((_, i) => i);
    const hits = tally(
      Array.from({ length: 100_000 }, (_, i) => pickRandom(table, randomDraw(1_700_000_000_000_000_000n + BigInt(i) * 1000n, 0x1234))!),
    );
    for (const v of hits.values()) expect(Math.abs(v - 10_000) / 10_000).toBeLessThan(0.05);
  });
});

describe('random strategy object', () => {
  it('model() reads the flow draw', () => {
    const options = random.optionsSchema.parse({});
    const table = random.buildTable(testBackends(5), options);
    const r = prng(4);
    for (let i = 0; i < 100; i++) {
      const x = r();
      expect(random.model(table, { flowKey: new Uint8Array(40), hashSeed: 0, random: x, counter: 0 })).toBe(pickRandom(table, x));
    }
  });
});
