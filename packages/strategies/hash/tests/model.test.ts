import { describe, expect, it } from 'vitest';
import { flowKey as encodeFlow, prng, tally, testBackends } from '@xdp-lb/core/strategy';
import { FLOW_WORDS, buildMaglevTable, flowHash, hash, nextPrime, pickHash } from '../src/index.js';

const SEED = 0x5eed1234;

/** n random IPv4 TCP/UDP flows to one VIP, from a deterministic PRNG. */
function randomFlows(n: number, seed: number): Uint8Array[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => {
    const a = r();
    return encodeFlow({
      src: `${10 + (a & 0x3f)}.${(a >>> 6) & 255}.${(a >>> 14) & 255}.${(a >>> 22) & 255}`,
      dst: '198.18.0.10',
      // Linux hands out even ports first: the hash must not care.
      sport: 32768 + ((r() % 14000) & ~1),
      dport: 80,
      proto: r() % 2 ? 6 : 17,
    });
  });
}

describe('pickHash (the reference model of the hash fragment)', () => {
  it('is table[h % n] with h the data plane flow hash', () => {
    const table = buildMaglevTable(testBackends(5), 65537);
    for (const key of randomFlows(100, 1)) {
      expect(pickHash(table, key, SEED)).toBe(table[flowHash(key, SEED, FLOW_WORDS) % 65537]);
    }
  });

  it('returns undefined for an empty table (the data plane drops: no backend)', () => {
    expect(pickHash(new Uint32Array(0), randomFlows(1, 1)[0]!, SEED)).toBeUndefined();
  });

  it('source hashing keeps a client on one backend whatever its ports', () => {
    const table = buildMaglevTable(testBackends(10), 65537);
    const a = encodeFlow({ src: '10.1.2.3', dst: '198.18.0.10', sport: 40000, dport: 80, proto: 6 });
    const b = encodeFlow({ src: '10.1.2.3', dst: '198.18.0.10', sport: 51234, dport: 80, proto: 6 });
    expect(pickHash(table, a, SEED, 'source')).toBe(pickHash(table, b, SEED, 'source'));
  });

  // 100,000 flows over n backends: a backend's count is binomial, one standard deviation being
  // 0.3% of the mean at n = 2, 0.95% at n = 10 and 3.1% at n = 100. The bounds are about five of
  // those for the worst backend, and the coefficient of variation must be that of pure chance.
  it.each([
    [2, 0.02, 0.005],
    [10, 0.05, 0.015],
    [100, 0.15, 0.04],
  ])('spreads 100,000 random flows over %d backends (worst within %d of the mean, CV < %d)', (n, worst, cv) => {
    const table = buildMaglevTable(testBackends(n), 65537);
    const flows = randomFlows(100_000, 7);
    for (const fields of ['five-tuple', 'source'] as const) {
      const hits = new Map<number, number>();
      for (const key of flows) {
        const id = pickHash(table, key, SEED, fields)!;
        hits.set(id, (hits.get(id) ?? 0) + 1);
      }
      expect(hits.size).toBe(n);
      const mean = flows.length / n;
      const values = [...hits.values()];
      for (const v of values) expect(Math.abs(v - mean) / mean).toBeLessThan(worst);
      const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
      expect(sd / mean).toBeLessThan(cv);
    }
  });

  it('follows the weights', () => {
    const bs = testBackends(3, (i) => [1, 2, 5][i]!);
    const table = buildMaglevTable(bs, 65537);
    const hits = new Map<number, number>();
    for (const key of randomFlows(80_000, 9)) {
      const id = pickHash(table, key, SEED)!;
      hits.set(id, (hits.get(id) ?? 0) + 1);
    }
    bs.forEach((b) => expect(Math.abs(hits.get(b.id)! / 80_000 - b.weight / 8)).toBeLessThan(0.01));
  });

  it('moves only the flows of slots that changed when a backend goes', () => {
    const bs = testBackends(100);
    const m = nextPrime(100 * 100);
    const before = buildMaglevTable(bs, m);
    const after = buildMaglevTable(bs.slice(1), m);
    let moved = 0;
    const flows = randomFlows(50_000, 11);
    for (const key of flows) {
      const a = pickHash(before, key, SEED)!;
      const b = pickHash(after, key, SEED)!;
      if (a !== b) moved++;
      if (a !== bs[0]!.id && a !== b) {
        const slot = flowHash(key, SEED, FLOW_WORDS) % m;
        expect(before[slot]).not.toBe(after[slot]);
      }
    }
    expect(moved / flows.length).toBeLessThan(2.5 / 100);
    expect(tally(after).has(bs[0]!.id)).toBe(false);
  });
});

describe('hash strategy object', () => {
  it('model() is pickHash with the service options and the deployment seed', () => {
    const options = hash.optionsSchema.parse({ hashFields: 'source' });
    const table = hash.buildTable(testBackends(4), options);
    for (const flowKey of randomFlows(50, 3)) {
      expect(hash.model(table, { flowKey, hashSeed: SEED, random: 0, counter: 0 }, options)).toBe(pickHash(table, flowKey, SEED, 'source'));
    }
  });
});
