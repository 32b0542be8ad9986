import type { Benchmark } from '../types.js';
import { disruption } from './disruption.js';
import { perPacket } from './per-packet.js';
import { spread } from './spread.js';

/** Every benchmark, in the order `lb bench` runs them. */
export const BENCHMARKS: readonly Benchmark[] = [perPacket, spread, disruption];
