import type { Benchmark } from '../types.js';
import { controlPlane } from './control-plane.js';
import { disruption } from './disruption.js';
import { e2e } from './e2e.js';
import { flowSync } from './flow-sync.js';
import { packetRate } from './packet-rate.js';
import { perPacket } from './per-packet.js';
import { spread } from './spread.js';

/** Every benchmark, in the order `lb bench` runs them. */
export const BENCHMARKS: readonly Benchmark[] = [perPacket, spread, disruption, controlPlane, e2e, packetRate, flowSync];
