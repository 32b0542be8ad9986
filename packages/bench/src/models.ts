/**
 * The strategies' own halves, driven without a kernel: each strategy's table builder (through its
 * `Strategy.buildTable`) and its reference model of select_backend() (the packages' exported
 * `pickHash`, `pickRandom`/`randomDraw`, `pickRoundRobin`, which the packet tests prove equal to
 * the data plane), applied to synthetic flows. Used by the spread and disruption benchmarks.
 */
import { Abi, type StrategyBackend } from '@xdp-lb/core';
import { FLOW_WORDS, flowHash } from '@xdp-lb/core/strategy';
// The flow's random draw as the data plane makes it (StrategyFlowInput.random): every model gets it.
import { randomDraw } from '@xdp-lb/strategy-random';
import { strategyById, type StrategyId } from './lb.js';
import { prng } from './stats.js';

/** The Maglev table size for N backends: 65537 while it holds 100 slots per backend, else 655373. */
export function maglevSize(n: number): number {
  return n * 100 <= 65537 ? 65537 : 655373;
}

/** N backends (ids 0..N-1, keys 198.18.x.y:80), weights from `weight(i)` (default 1). */
export function backendSet(n: number, weight: (i: number) => number = () => 1): StrategyBackend[] {
  return Array.from({ length: n }, (_, i) => ({ id: i, key: `198.18.${1 + (i >> 8)}.${i & 255}:80`, weight: weight(i) }));
}

/** A strategy's options for N backends: a strategy with a table size (Maglev) gets M = maglevSize(N) unless given; the defaults otherwise. */
export function optionsFor(strategy: StrategyId, n: number, tableSize?: number): unknown {
  const s = strategyById(strategy);
  const sized = s.optionsSchema.safeParse({ tableSize: tableSize ?? maglevSize(n) });
  return sized.success ? sized.data : s.optionsSchema.parse({});
}

/** A strategy's table for these backends (through its own buildTable). */
export function buildTable(strategy: StrategyId, backends: readonly StrategyBackend[], tableSize?: number): Uint32Array {
  return strategyById(strategy).buildTable(backends, optionsFor(strategy, backends.length, tableSize));
}

/**
 * `count` synthetic TCP flows to the VIP from random clients (addresses in 198.18.0.0/15, ports
 * 1024-65535), seeded: the same flows on every run. Keys are struct lb_flow (core's codec), and
 * each flow's hash (seed 0) is computed once.
 */
export class FlowSet {
  readonly keys: Uint8Array[];
  readonly hashes: Uint32Array;
  /** Arrival time of flow i (ns): 1M new flows per second from t = 1000 s. */
  static readonly T0 = 1_000_000_000_000n;

  constructor(
    readonly count: number,
    seed = 1,
  ) {
    const rand = prng(seed);
    const vip = { text: '198.18.0.10', family: 4 as const };
    this.keys = new Array<Uint8Array>(count);
    this.hashes = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      const a = Math.floor(rand() * 131072);
      const src = { text: `198.${18 + (a >> 16)}.${(a >> 8) & 255}.${a & 255}`, family: 4 as const };
      const key = Abi.encodeFlow({ src, dst: vip, sport: 1024 + Math.floor(rand() * 64512), dport: 80, proto: Abi.IPPROTO_TCP });
      this.keys[i] = key;
      this.hashes[i] = flowHash(key, 0, FLOW_WORDS);
    }
  }

  /**
   * The backend each flow gets from `table` under the strategy's model. `epoch` shifts what the
   * model cannot know in advance: random's clock (by `epoch` seconds) and round-robin's counter
   * (by `epoch` x count flows): a flow re-balanced later draws again.
   */
  assign(strategy: StrategyId, table: Uint32Array, epoch = 0): Uint32Array {
    const s = strategyById(strategy);
    if (!s.model) throw new Error(`bench: strategy ${strategy} has no reference model`);
    // The options the table was built with (the model reads the same ones: hash's fields).
    const options = optionsFor(strategy, 0, table.length);
    const out = new Uint32Array(this.count);
    for (let i = 0; i < this.count; i++) {
      const b = s.model(
        table,
        {
          flowKey: this.keys[i]!,
          hashSeed: 0,
          random: randomDraw(FlowSet.T0 + BigInt(epoch) * 1_000_000_000n + BigInt(i * 1000), this.hashes[i]!),
          counter: i + epoch * this.count,
        },
        options,
      );
      out[i] = b ?? 0xffffffff;
    }
    return out;
  }
}

/** Flows per backend id (0..n-1). */
export function loads(assignment: Uint32Array, n: number): number[] {
  const c = new Array<number>(n).fill(0);
  for (const b of assignment) if (b < n) c[b]!++;
  return c;
}

/** Slots per backend id in a table (0..n-1). */
export function slotShares(table: Uint32Array, n: number): number[] {
  return loads(table, n);
}

/** Share of flows whose backend differs between two assignments. */
export function movedShare(a: Uint32Array, b: Uint32Array): number {
  let moved = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) moved++;
  return moved / a.length;
}
