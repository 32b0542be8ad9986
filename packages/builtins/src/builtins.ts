import type { Strategy } from '@xdp-lb/core';
import { hash } from '@xdp-lb/strategy-hash';
import { random } from '@xdp-lb/strategy-random';
import { roundRobin } from '@xdp-lb/strategy-round-robin';

/**
 * The built-in strategies: the one place a strategy package is registered (with its dependency in
 * this package's package.json). The CLI (its program, help texts, composition), the benchmarks and
 * the per-strategy test tables all take the list from here; the order is the one help texts show.
 */
export const BUILTIN_STRATEGIES: readonly Strategy<any>[] = [hash, roundRobin, random];
