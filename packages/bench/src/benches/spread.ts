/**
 * Quality of spread: how evenly each strategy spreads 1M synthetic new flows over N = 2, 10, 100,
 * 1000 backends (max/mean and the coefficient of variation of flows per backend), with equal
 * weights and with weights 1:2:3:4. Computed from the strategies' table builders and reference
 * models (which the packet tests prove equal to the data plane), so it is exact for these flows
 * and independent of the machine's load.
 */
import { STRATEGY_IDS, type StrategyId } from '../lb.js';
import { backendSet, buildTable, FlowSet, loads, maglevSize, slotShares } from '../models.js';
import { cv, maxOverMean, mean } from '../stats.js';
import type { Benchmark, BenchContext, Headline, Section } from '../types.js';

const NS = [2, 10, 100, 1000];
const WEIGHTED_NS = [10, 100, 1000];
const weight = (i: number) => 1 + (i % 4);

export interface SpreadRow {
  strategy: StrategyId;
  n: number;
  weighted: boolean;
  tableSize: number;
  flows: number;
  /** Equal weights: flows per backend / mean. Weighted: (flows / expected flows) per backend. */
  maxOverMean: number;
  minOverMean: number;
  cv: number;
  /** Hash only: the largest table-slot share over the mean (equal weights). */
  slotMaxOverMean?: number;
  /** The CV that binomial noise alone gives for this many flows: sqrt((N - 1) / flows). */
  binomialCv: number;
}

export const spread: Benchmark = {
  name: 'spread',
  title: 'Quality of spread (table builders and models)',
  seconds: { quick: 25, full: 35 },
  unavailable: () => null,
  run: (ctx) => runSpread(ctx),
};

async function runSpread(ctx: BenchContext): Promise<Section> {
  const flowsN = 1_000_000;
  ctx.progress(0, `generating ${flowsN.toLocaleString('en-US')} synthetic flows`);
  const flows = new FlowSet(flowsN, 1);
  const rows: SpreadRow[] = [];
  const hist = new Map<StrategyId, number[]>();
  const jobs = STRATEGY_IDS.length * (NS.length + WEIGHTED_NS.length);
  let done = 0;
  for (const strategy of STRATEGY_IDS) {
    for (const weighted of [false, true]) {
      for (const n of weighted ? WEIGHTED_NS : NS) {
        ctx.progress(0.1 + (0.9 * done++) / jobs, `${strategy}, ${n} backends${weighted ? ', weighted' : ''}`);
        await new Promise((r) => setImmediate(r));
        const backends = backendSet(n, weighted ? weight : undefined);
        const table = buildTable(strategy, backends);
        const load = loads(flows.assign(strategy, table), n);
        const totalW = backends.reduce((s, b) => s + b.weight, 0);
        // Equal weights: load / mean load. Weighted: load / the backend's expected load.
        const norm = weighted ? load.map((l, i) => l / ((flowsN * backends[i]!.weight) / totalW)) : load.map((l) => l / mean(load));
        rows.push({
          strategy,
          n,
          weighted,
          tableSize: table.length,
          flows: flowsN,
          maxOverMean: Math.max(...norm),
          minOverMean: Math.min(...norm),
          cv: cv(norm),
          ...(strategy === 'hash' && !weighted ? { slotMaxOverMean: maxOverMean(slotShares(table, n)) } : {}),
          binomialCv: Math.sqrt((n - 1) / flowsN),
        });
        if (!weighted && n === 1000) hist.set(strategy, norm);
      }
    }
  }

  const edges = Array.from({ length: 31 }, (_, i) => Number((0.85 + i * 0.01).toFixed(2)));
  const series = [...hist].map(([s, norm]) => {
    const counts = new Array<number>(edges.length - 1).fill(0);
    for (const x of norm) {
      const b = Math.min(counts.length - 1, Math.max(0, Math.floor((x - edges[0]!) / 0.01 + 1e-9)));
      counts[b]!++;
    }
    return { label: s, counts };
  });

  const f3 = (x: number) => x.toFixed(3);
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const find = (s: StrategyId, n: number, w = false) => rows.find((r) => r.strategy === s && r.n === n && r.weighted === w);
  const h1000 = find('hash', 1000);
  const headlines: Headline[] = [];
  for (const n of [100, 1000]) {
    const r = find('hash', n);
    if (r?.slotMaxOverMean !== undefined) {
      headlines.push({
        metric: `hash: Maglev slot share max/mean, N=${n}, M=${r.tableSize}`,
        value: r.slotMaxOverMean,
        unit: '',
        target: { value: 1.01, better: 'lower', text: '≤ 1.01 when M ≥ 100 N' },
      });
    }
  }
  if (h1000)
    headlines.push({
      metric: 'hash: flows per backend CV, N=1000, 1M flows',
      value: h1000.cv * 100,
      unit: '%',
      spread: `binomial noise alone: ${pct(h1000.binomialCv)}`,
    });

  return {
    summary: [
      `Maglev (hash) gives every backend floor(M/N) or ceil(M/N) slots: slot share max/mean ${rows
        .filter((r) => r.slotMaxOverMean !== undefined)
        .map((r) => `${f3(r.slotMaxOverMean!)} (N=${r.n})`)
        .join(', ')}.`,
      `With 1M flows the flow spread of hash and random is the binomial noise of ${flowsN / 1000}/N thousand flows per backend (CV ${pct(find('hash', 1000)?.cv ?? NaN)} vs ${pct(find('hash', 1000)?.binomialCv ?? NaN)} expected at N=1000); round-robin is exact (CV ${pct(find('round-robin', 1000)?.cv ?? NaN)}).`,
      `Weights 1:2:3:4 are honoured: the largest load over its expected share is ${WEIGHTED_NS.map((n) => `${f3(find('hash', n, true)?.maxOverMean ?? NaN)}`).join(', ')} for hash (N=${WEIGHTED_NS.join(', ')}).`,
    ],
    method: [
      `${flowsN.toLocaleString('en-US')} synthetic TCP flows (clients drawn from 198.18.0.0/15 and ports 1024-65535 by a seeded generator: the same flows every run), keys encoded as struct lb_flow by core's codec.`,
      "Each flow goes through the strategy's reference model: hash = pickHash (Maglev table, five-tuple, seed 0), random = pickRandom(randomDraw(t, flow hash)) with t = 1 µs per flow, round-robin = pickRoundRobin(counter = flow index). The packet tests prove the data plane computes the same.",
      `Tables from each strategy's buildTable: hash M = 65537 for N ≤ 655, 655373 above (≥ 100 slots per backend); random and round-robin default maxSlots (65536). Weighted rows: weight 1 + (i mod 4).`,
      "max/mean and min/mean: flows per backend over the mean (weighted: over the backend's expected share). CV: standard deviation / mean of the same. Binomial CV: what independent uniform picks give, sqrt((N-1)/flows).",
    ],
    tables: [
      {
        title: 'Flows per backend (1M flows)',
        headers: ['strategy', 'N', 'weights', 'table slots', 'max/mean', 'min/mean', 'CV', 'binomial CV', 'slot max/mean'],
        rows: rows.map((r) => [
          r.strategy,
          r.n,
          r.weighted ? '1:2:3:4' : 'equal',
          r.tableSize,
          f3(r.maxOverMean),
          f3(r.minOverMean),
          pct(r.cv),
          pct(r.binomialCv),
          r.slotMaxOverMean !== undefined ? f3(r.slotMaxOverMean) : '—',
        ]),
      },
    ],
    charts: [
      {
        kind: 'histogram',
        file: 'spread-histogram.svg',
        title: 'Per-backend load, 1000 backends, 1M flows (flows per backend / mean)',
        xLabel: 'flows per backend / mean (bins of 0.01; the edge bins hold everything beyond)',
        yLabel: 'backends',
        edges,
        series,
        spread: `exact counts of one seeded set of 1M flows (no rounds: the models are deterministic); Maglev M = ${maglevSize(1000)}`,
      },
    ],
    headlines,
    data: { flows: flowsN, rows, histogram: { edges, series } },
  };
}
