/**
 * The Maglev population loop written as plainly as the paper's pseudocode (Eisenbud et al., NSDI
 * '16, Pseudocode 1), with the per-round credit scheme for weights: the oracle the optimised
 * builder must match slot for slot.
 */
import type { StrategyBackend } from '@xdp-lb/core';
import { MAGLEV_OFFSET_SEED, MAGLEV_SKIP_SEED, murmur3 } from '../src/index.js';

export function referenceMaglev(backends: readonly StrategyBackend[], m: number): Uint32Array {
  const sorted = [...backends].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const n = sorted.length;
  if (n === 0) return new Uint32Array(0);
  const enc = new TextEncoder();
  const offset = sorted.map((b) => murmur3(enc.encode(b.key), MAGLEV_OFFSET_SEED) % m);
  const skip = sorted.map((b) => (murmur3(enc.encode(b.key), MAGLEV_SKIP_SEED) % (m - 1)) + 1);
  const next = sorted.map(() => 0);
  const entry: number[] = new Array<number>(m).fill(-1);
  const wmax = Math.max(...sorted.map((b) => b.weight));
  const credit = sorted.map(() => 0);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      credit[i]! += sorted[i]!.weight;
      if (credit[i]! < wmax) continue;
      credit[i]! -= wmax;
      let c = (offset[i]! + next[i]! * skip[i]!) % m;
      while (entry[c]! >= 0) {
        next[i]!++;
        c = (offset[i]! + next[i]! * skip[i]!) % m;
      }
      entry[c] = i;
      next[i]!++;
      if (++filled === m) return Uint32Array.from(entry, (i) => sorted[i]!.id);
    }
  }
}
