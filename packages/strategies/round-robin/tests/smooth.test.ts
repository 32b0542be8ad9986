import { describe, expect, it } from 'vitest';
import { prng } from '@xdp-lb/core/strategy';
import { smoothWeightedSequence } from '../src/index.js';

/** nginx's loop exactly as ngx_http_upstream_get_peer writes it: the oracle. */
function nginx(weights: readonly number[]): number[] {
  const total = weights.reduce((s, w) => s + w, 0);
  const current = weights.map(() => 0);
  const out: number[] = [];
  for (let t = 0; t < total; t++) {
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out.push(best);
  }
  return out;
}

/** Every weight vector of n backends with weights 1..max. */
function* allWeights(n: number, max: number): Generator<number[]> {
  const w = new Array<number>(n).fill(1);
  for (;;) {
    yield [...w];
    let i = 0;
    while (i < n && w[i] === max) w[i++] = 1;
    if (i === n) return;
    w[i]!++;
  }
}

function randomWeights(r: () => number, count: number): number[][] {
  return Array.from({ length: count }, () => {
    const n = 2 + (r() % 40);
    const max = r() % 2 ? 5 : 40;
    return Array.from({ length: n }, () => 1 + (r() % max));
  });
}

/** The cases the smoothness properties are checked on: exhaustive small ones, random larger ones. */
const CASES = [...allWeights(2, 12), ...allWeights(3, 8), ...allWeights(4, 5), ...randomWeights(prng(42), 300)];

describe('smoothWeightedSequence', () => {
  it('is nginx smooth weighted round-robin, step for step', () => {
    for (const w of CASES) expect([...smoothWeightedSequence(w)]).toEqual(nginx(w));
  });

  it('gives the known nginx sequence for weights 5, 1, 1', () => {
    expect([...smoothWeightedSequence([5, 1, 1])]).toEqual([0, 0, 1, 0, 2, 0, 0]);
  });

  it('equal weights take turns in order', () => {
    expect([...smoothWeightedSequence([1, 1, 1, 1])]).toEqual([0, 1, 2, 3]);
    expect([...smoothWeightedSequence([3, 3])]).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('is empty for no weights', () => {
    expect(smoothWeightedSequence([]).length).toBe(0);
  });

  // The smoothness bound this package promises, checked on every case above:
  //  1. one period (the table) gives backend i exactly w_i slots;
  //  2. in every prefix of the period, backend i's count is within 1 of t * w_i / W, so any window
  //     of consecutive slots, across the table's wrap too, is within 2 of its share;
  //  3. no backend gets two slots in a row, across the wrap too, unless it alone has the largest
  //     weight; its runs are then at most ceil(w_max / w_second) long (2 when w_second >= w_max / 2).
  it('keeps its smoothness bound', () => {
    const broken: string[] = [];
    for (const w of CASES) {
      const seq = smoothWeightedSequence(w);
      const total = seq.length;
      const seen = w.map(() => 0);
      let worst = 0;
      seq.forEach((b, t) => {
        seen[b]!++;
        for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(seen[i]! - ((t + 1) * w[i]!) / total));
      });
      if (worst >= 1) broken.push(`${w}: prefix off by ${worst}`);
      if (seen.some((c, i) => c !== w[i])) broken.push(`${w}: counts ${seen}`);

      const sorted = [...w].sort((a, b) => b - a);
      const [wmax, wsecond] = [sorted[0]!, sorted[1]!];
      let longest = 1;
      for (let t = 0; t < total; t++) {
        let run = 1;
        while (run < total && seq[(t + run) % total] === seq[t]) run++;
        if (run > 1 && !(wmax > wsecond && w[seq[t]!] === wmax)) broken.push(`${w}: backend ${seq[t]} repeats`);
        longest = Math.max(longest, run);
      }
      if (longest > Math.ceil(wmax / wsecond)) broken.push(`${w}: run of ${longest}`);
    }
    expect(broken).toEqual([]);
  });
});
