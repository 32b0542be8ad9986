import { describe, expect, it } from 'vitest';
import { tally, testBackends } from '@xdp-lb/core/strategy';
import { buildRoundRobinTable, pickRoundRobin, roundRobin } from '../src/index.js';

describe('pickRoundRobin (the reference model of the round-robin fragment)', () => {
  const table = Uint32Array.from([5, 6, 5, 7]);

  it('is table[counter % n]', () => {
    expect([0, 1, 2, 3, 4, 5, 1001].map((c) => pickRoundRobin(table, c))).toEqual([5, 6, 5, 7, 5, 6, 6]);
  });

  it('takes the u64 counter as a bigint', () => {
    expect(pickRoundRobin(table, 0xffffffffffffffffn)).toBe(table[Number(0xffffffffffffffffn % 4n)]);
    expect(pickRoundRobin(table, 2n ** 40n + 3n)).toBe(7);
    expect(() => pickRoundRobin(table, 2n ** 64n)).toThrow(RangeError);
    expect(() => pickRoundRobin(table, -1)).toThrow(RangeError);
  });

  it('returns undefined for an empty table', () => {
    expect(pickRoundRobin(new Uint32Array(0), 7)).toBeUndefined();
  });

  it('gives every backend exactly its share over any run of n consecutive flows', () => {
    const bs = testBackends(4, (i) => [1, 2, 3, 4][i]!);
    const t = buildRoundRobinTable(bs);
    for (const start of [0, 3, 1_000_003]) {
      const c = tally(Array.from({ length: t.length }, (_, k) => pickRoundRobin(t, start + k)!));
      bs.forEach((b) => expect(c.get(b.id)).toBe(b.weight));
    }
  });
});

describe('round-robin strategy object', () => {
  it('model() reads the flow counter', () => {
    const options = roundRobin.optionsSchema.parse({});
    const t = roundRobin.buildTable(testBackends(3), options);
    const picks = [0, 1, 2, 3].map((counter) => roundRobin.model(t, { flowKey: new Uint8Array(40), hashSeed: 0, random: 0, counter }));
    expect(picks).toEqual([100, 101, 102, 100]);
  });
});
