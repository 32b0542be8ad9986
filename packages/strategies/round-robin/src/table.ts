import type { StrategyBackend } from '@xdp-lb/core/strategy';
import { slotCounts, sortBackends } from '@xdp-lb/core/strategy';
import { ROUND_ROBIN_DEFAULTS } from './options.js';

/**
 * nginx's smooth weighted round-robin over `weights` (ngx_http_upstream_get_peer): each step every
 * backend's current value grows by its weight, the largest (the first in order on a tie) is picked
 * and loses the total. One period is sum(weights) steps, in which backend i is picked exactly
 * weights[i] times, spread out instead of in bursts. Returns the picked indices.
 *
 * Backends of equal weight take turns in order, so only one member of each weight class can be
 * the largest: a step compares the D distinct weights, not all N backends (D <= 361 for a table of
 * 65536 slots, since distinct positive weights summing to T number at most sqrt(2T)).
 */
export function smoothWeightedSequence(weights: readonly number[]): Uint32Array {
  const total = weights.reduce((s, w) => s + w, 0);
  const out = new Uint32Array(total);
  if (total === 0) return out;
  // Classes of equal weight; members in order. A class's members 0..ahead-1 have been picked
  // `base + 1` times, the others `base` times; member `ahead` is its candidate.
  const byWeight = new Map<number, number[]>();
  weights.forEach((w, i) => {
    const members = byWeight.get(w);
    if (members) members.push(i);
    else byWeight.set(w, [i]);
  });
  const classes = [...byWeight.entries()];
  const d = classes.length;
  const weight = new Float64Array(d);
  const members = classes.map(([, m]) => Int32Array.from(m));
  const base = new Float64Array(d);
  const ahead = new Int32Array(d);
  const front = new Int32Array(d); // members[c][ahead[c]]: the class's candidate
  classes.forEach(([w, m], c) => {
    weight[c] = w;
    front[c] = m[0]!;
  });
  for (let t = 1; t <= total; t++) {
    // A backend's current value after step t's increase is t * w - total * (times picked so far).
    let best = 0;
    let bestValue = t * weight[0]! - total * base[0]!;
    for (let c = 1; c < d; c++) {
      const value = t * weight[c]! - total * base[c]!;
      if (value > bestValue || (value === bestValue && front[c]! < front[best]!)) {
        best = c;
        bestValue = value;
      }
    }
    out[t - 1] = front[best]!;
    const m = members[best]!;
    let a = ahead[best]! + 1;
    if (a === m.length) {
      a = 0;
      base[best]!++;
    }
    ahead[best] = a;
    front[best] = m[a]!;
  }
  return out;
}

/**
 * The round-robin strategy's slot table: a smooth weighted round-robin sequence of backend ids
 * (backends in key order, so the table never depends on input order). The weights become slot
 * counts: divided by their common factor, and scaled down to at most `maxSlots` slots (every
 * backend keeping at least one) when they sum to more. Equal weights: each id once, in key order.
 * No backends: an empty table.
 */
export function buildRoundRobinTable(backends: readonly StrategyBackend[], maxSlots: number = ROUND_ROBIN_DEFAULTS.maxSlots): Uint32Array {
  const sorted = sortBackends(backends);
  const counts = slotCounts(
    sorted.map((b) => b.weight),
    maxSlots,
  );
  const order = smoothWeightedSequence(counts);
  const table = new Uint32Array(order.length);
  for (let s = 0; s < order.length; s++) table[s] = sorted[order[s]!]!.id;
  return table;
}
