// The per-strategy e2e tables, drawn from the built-ins' registry: a strategy registered there is
// run by every table without a line here.
import { BUILTIN_IDS } from '@xdp-lb/builtins';

export type Mode = 'native' | 'generic';
export type Forward = 'nat' | 'dsr';
export interface Cover {
  strategy: string;
  mode: Mode;
  forward: Forward;
}

/** The (mode, forward) pairs a lean cover cycles through: each mode and each forward twice. */
const PAIRS: readonly Omit<Cover, 'strategy'>[] = [
  { mode: 'native', forward: 'nat' },
  { mode: 'generic', forward: 'dsr' },
  { mode: 'native', forward: 'dsr' },
  { mode: 'generic', forward: 'nat' },
];

/**
 * A lean cover: every built-in strategy at least once, and, once there are `pairs` combinations,
 * every pair of `pairs`: combination i is strategy i (mod the strategies) on pair i (mod the pairs).
 */
export function leanCover(pairs: readonly Omit<Cover, 'strategy'>[] = PAIRS): Cover[] {
  const n = Math.max(BUILTIN_IDS.length, pairs.length);
  return Array.from({ length: n }, (_, i) => ({ strategy: BUILTIN_IDS[i % BUILTIN_IDS.length]!, ...pairs[i % pairs.length]! }));
}

/** Every built-in strategy x XDP mode x forwarding mode. */
export function fullMatrix(): Cover[] {
  return BUILTIN_IDS.flatMap((strategy) =>
    (['native', 'generic'] as const).flatMap((mode) => (['nat', 'dsr'] as const).map((forward) => ({ strategy, mode, forward }))),
  );
}
