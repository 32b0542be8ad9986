/**
 * Disruption: when 1 of N backends is removed or added, what share of flows changes backend?
 *   - Untracked flows (a flow that must be balanced again: a new LB node, a lost conntrack entry)
 *     follow the table: Maglev promises about 1/N; random and round-robin pick afresh, so almost
 *     every flow moves. From the table builders and reference models, 1M flows, N = 10, 100, 1000,
 *     and for N = 100 as backends are removed one by one.
 *   - Tracked flows must not move at all: conntrack keeps them. Shown with the real program: flows
 *     sent through BPF_PROG_TEST_RUN, a backend added and one removed with `lb.update` (the control
 *     plane's own hot-update path), the same flows sent again.
 */
import { Abi } from '@xdp-lb/core';
import { kernelProblem } from '../env.js';
import { forgetFlows, ftTuple } from '../ft-fill.js';
import { Deployed, instanceName, loadBalancer, STRATEGY_IDS, type StrategyId } from '../lb.js';
import { backendSet, buildTable, FlowSet, movedShare } from '../models.js';
import { backendHost, backendIndexOf, client, tcpFrame, TestBed, VIP } from '../testbed.js';
import type { Benchmark, BenchContext, Headline, Section, TableSpec } from '../types.js';

const NS = [10, 100, 1000];

export interface ModelRow {
  strategy: StrategyId;
  n: number;
  change: 'remove 1' | 'add 1';
  moved: number;
  ideal: number;
}

export interface TrackedRow {
  strategy: StrategyId;
  flows: number;
  backends: number;
  /** Tracked flows that changed backend after one backend was added (must be 0). */
  movedAfterAdd: number;
  /** The same flows with their conntrack entries (lb_ct, and lb_ft4 slots with the flow table on) deleted first: how many the new table moves. */
  untrackedMovedAfterAdd: number;
  /** Tracked flows of the surviving backends that changed backend after one was removed (must be 0). */
  movedAfterRemove: number;
  /** Flows of the removed backend: all of them re-balanced to others (ct_reselect). */
  removedBackendFlows: number;
  rebalanced: number;
  untrackedMovedAfterRemove: number;
}

export const disruption: Benchmark = {
  name: 'disruption',
  title: 'Disruption when backends change',
  seconds: { quick: 25, full: 45 },
  unavailable: () => null,
  run: (ctx) => runDisruption(ctx),
};

async function runDisruption(ctx: BenchContext): Promise<Section> {
  const warnings: string[] = [];
  const flowsN = 1_000_000;
  const yield_ = () => new Promise((r) => setImmediate(r));
  ctx.progress(0, 'generating flows');
  const flows = new FlowSet(flowsN, 2);

  // 1 of N removed / added, from the models.
  const rows: ModelRow[] = [];
  let step = 0;
  const steps = STRATEGY_IDS.length * NS.length;
  for (const strategy of STRATEGY_IDS) {
    for (const n of NS) {
      ctx.progress((0.4 * step++) / steps, `${strategy}, ${n} backends`);
      await yield_();
      const all = backendSet(n + 1);
      const base = all.slice(0, n);
      const before = flows.assign(strategy, buildTable(strategy, base));
      const removed = base.filter((b) => b.id !== Math.floor(n / 2));
      // A re-balanced flow draws again later (random: another clock; round-robin: later counter values).
      const afterRemove = flows.assign(strategy, buildTable(strategy, removed), 1);
      const afterAdd = flows.assign(strategy, buildTable(strategy, all), 1);
      rows.push({ strategy, n, change: 'remove 1', moved: movedShare(before, afterRemove), ideal: 1 / n });
      rows.push({ strategy, n, change: 'add 1', moved: movedShare(before, afterAdd), ideal: 1 / (n + 1) });
    }
  }

  // Remapped flows vs backends removed, N = 100.
  const lineN = 100;
  const maxK = ctx.quick ? 10 : 20;
  const lineFlows = new FlowSet(ctx.quick ? 200_000 : 500_000, 3);
  const lines = new Map<StrategyId, [number, number][]>();
  for (const strategy of STRATEGY_IDS) {
    const backends = backendSet(lineN);
    const before = lineFlows.assign(strategy, buildTable(strategy, backends));
    const pts: [number, number][] = [];
    for (let k = 0; k <= maxK; k++) {
      ctx.progress(
        0.4 + (0.3 * (STRATEGY_IDS.indexOf(strategy) * (maxK + 1) + k)) / (STRATEGY_IDS.length * (maxK + 1)),
        `${strategy}: ${k} of ${lineN} removed`,
      );
      await yield_();
      // Remove every 5th backend first (spread over the key order), then the others.
      const order = backends.map((b) => b.id).sort((a, b) => (a % 5) - (b % 5) || a - b);
      const gone = new Set(order.slice(0, k));
      const after = lineFlows.assign(
        strategy,
        buildTable(
          strategy,
          backends.filter((b) => !gone.has(b.id)),
        ),
        k === 0 ? 0 : 1,
      );
      pts.push([k, movedShare(before, after) * 100]);
    }
    lines.set(strategy, pts);
  }

  // Tracked flows with the real program.
  const tracked: TrackedRow[] = [];
  const why = kernelProblem();
  if (why) warnings.push(`tracked flows not measured: ${why}`);
  else tracked.push(...(await trackedFlows(ctx, warnings)));

  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const model = (s: StrategyId, n: number, c: ModelRow['change']) => rows.find((r) => r.strategy === s && r.n === n && r.change === c);
  const headlines: Headline[] = [];
  for (const n of NS) {
    const r = model('hash', n, 'remove 1');
    if (!r) continue;
    headlines.push({
      metric: `hash: flows remapped when 1 of ${n} backends goes, over the ideal 1/N`,
      value: r.moved / r.ideal,
      unit: 'x',
      spread: `${pct(r.moved)} of flows remapped (ideal ${pct(r.ideal)})`,
      target: { value: 1.5, better: 'lower', text: 'about 1.5/N expected' },
    });
  }
  const worst = tracked.reduce((m, t) => Math.max(m, t.movedAfterAdd, t.movedAfterRemove), 0);
  if (tracked.length)
    headlines.push({
      metric: 'tracked flows moved by a backend add/remove (all strategies, real program)',
      value: worst,
      unit: 'flows',
      target: { value: 0, better: 'lower', text: 'must be 0' },
    });

  const tables: TableSpec[] = [
    {
      title: 'Untracked flows that change backend (1M flows, models)',
      headers: ['strategy', 'N', 'change', 'flows moved', 'ideal', 'moved / ideal'],
      rows: rows.map((r) => [r.strategy, r.n, r.change, pct(r.moved), pct(r.ideal), (r.moved / r.ideal).toFixed(2)]),
      notes: [
        "ideal: only the flows of the removed backend (1/N), or the new backend's share (1/(N+1)). A re-balanced random or round-robin flow picks afresh: it lands elsewhere with probability 1 - 1/N.",
      ],
    },
  ];
  if (tracked.length) {
    tables.push({
      title: 'Tracked flows (the real program, BPF_PROG_TEST_RUN; changes made with lb.update)',
      headers: [
        'strategy',
        'flows',
        'backends',
        'tracked moved after add',
        'untracked moved after add',
        'tracked moved after remove (survivors)',
        'flows of the removed backend re-balanced',
        'untracked moved after remove',
      ],
      rows: tracked.map((t) => [
        t.strategy,
        t.flows,
        `${t.backends} -> ${t.backends + 1} -> ${t.backends}`,
        t.movedAfterAdd,
        `${t.untrackedMovedAfterAdd} (${pct(t.untrackedMovedAfterAdd / t.flows)})`,
        t.movedAfterRemove,
        `${t.rebalanced} of ${t.removedBackendFlows}`,
        `${t.untrackedMovedAfterRemove} (${pct(t.untrackedMovedAfterRemove / t.flows)})`,
      ]),
      notes: [
        "Untracked: the same flows sent again after deleting their conntrack entries (lb_ct, and their lb_ft4 slots with the flow table on) (what a flow without conntrack would see). A removed backend's flows cannot stay: the data plane re-balances them (ct_reselect).",
      ],
    });
  }
  return {
    summary: [
      `Removing 1 of N backends remaps ${NS.map((n) => `${pct(model('hash', n, 'remove 1')?.moved ?? NaN)} (N=${n})`).join(', ')} of untracked flows with hash, against an ideal of 1/N (${NS.map((n) => (model('hash', n, 'remove 1')!.moved * n).toFixed(2)).join(', ')} x the ideal).`,
      `Random and round-robin remap ${pct(model('random', 100, 'remove 1')?.moved ?? NaN)} and ${pct(model('round-robin', 100, 'remove 1')?.moved ?? NaN)} of re-balanced flows at N=100: without conntrack they could not keep a connection.`,
      tracked.length
        ? `Tracked flows moved by a backend add or remove, all strategies, real program: ${worst} (must be 0); ${tracked.map((t) => `${t.strategy}: ${t.untrackedMovedAfterAdd} of ${t.flows} would have moved on add without conntrack`).join('; ')}.`
        : 'Tracked flows: not measured (no kernel access).',
    ],
    method: [
      `Models: ${flowsN.toLocaleString('en-US')} seeded synthetic flows assigned by each strategy's table builder and reference model before and after the change; a flow whose backend differs counts as moved. Random and round-robin flows re-balanced after the change draw again (random: a clock 1 s later; round-robin: the next counter values).`,
      `Line chart: N = ${lineN}, backends removed one at a time (every 5th key first), ${lineFlows.count.toLocaleString('en-US')} flows, compared with the state before any removal; the ideal is k/N.`,
      "Tracked flows: the strategy's object deployed by core (10 backends, DSR, new-flow guard off so that every flow is tracked however fast the runs come) in a lab namespace; flows sent with BPF_PROG_TEST_RUN (the destination MAC of each forwarded frame names its backend), a backend added and then one removed with LoadBalancer.update (the `lb backend add/remove` path), and every flow sent again. Untracked: the flows' conntrack entries deleted (lb_ct entries, and with the flow table on their lb_ft4 slots freed), then sent again.",
    ],
    tables,
    charts: [
      {
        kind: 'line',
        file: 'disruption.svg',
        title: `Flows remapped vs backends removed (N = ${lineN}, untracked flows)`,
        xLabel: `backends removed (of ${lineN})`,
        yLabel: '% of flows remapped',
        series: [
          ...STRATEGY_IDS.map((s) => ({ label: s, points: lines.get(s)! })),
          {
            label: 'ideal (k/N)',
            points: Array.from({ length: maxK + 1 }, (_, k) => [k, (100 * k) / lineN] as [number, number]),
            dashed: true,
          },
        ],
        spread: `exact for one seeded set of ${lineFlows.count.toLocaleString('en-US')} flows (deterministic models; no rounds)`,
      },
    ],
    headlines,
    data: { flows: flowsN, rows, line: { n: lineN, points: Object.fromEntries(lines) }, tracked },
    warnings,
  };
}

async function trackedFlows(ctx: BenchContext, warnings: string[]): Promise<TrackedRow[]> {
  const S = ctx.quick ? 2000 : 10_000;
  const N = 10;
  const out: TrackedRow[] = [];
  const bed = await TestBed.up(N + 1);
  try {
    let seq = 1 << 24;
    for (const strategy of STRATEGY_IDS) {
      try {
        ctx.progress(0.7 + 0.1 * STRATEGY_IDS.indexOf(strategy), `${strategy}: tracked flows through the real program`);
        const dp = await Deployed.deploy(bed.lab, 'lb', {
          instance: instanceName(`dis-${strategy.slice(0, 2)}`),
          strategy,
          interfaces: ['eth0:generic'],
          limits: { conntrackSize: 65536, newFlowsPerSec: 0 },
          services: [
            { name: 'web', vip: '198.18.0.10:80', forward: 'dsr', backends: Array.from({ length: N }, (_, i) => backendHost(i).ip) },
          ],
        });
        try {
          const prog = dp.program('eth0');
          const ct = dp.map(Abi.MAPS.ct);
          const clients = Array.from({ length: S }, () => client(seq++));
          const frames = clients.map((c) => tcpFrame({ dmac: bed.mac, src: c.src, sport: c.sport, dport: 80 }));
          const send = (): number[] => bed.inside(() => frames.map((f) => backendIndexOf(bed.run(prog, f).data as Buffer)));
          // Untracked: their entries gone from lb_ct and, with the flow table on, lb_ft4 (ft-fill.ts).
          const ft4 = dp.map(Abi.MAPS.ft4);
          const tuples = clients.map((c) => ftTuple(c.src, c.sport, VIP, 80));
          const forget = () => forgetFlows(ft4, ct, tuples);
          const diff = (a: number[], b: number[], only?: (i: number) => boolean) =>
            a.filter((x, i) => (!only || only(i)) && x !== b[i]).length;

          const first = send();
          if (first.some((b) => b < 0 || b >= N)) warnings.push(`${strategy}: some flows were not forwarded to a backend`);
          await loadBalancer().update(dp.instance, { kind: 'backend-add', service: 'web', backend: backendHost(N).ip });
          const afterAdd = send();
          forget();
          const untrackedAdd = send();
          // The new baseline: what the flows have now (tracked again after the "forget").
          const gone = 3;
          await loadBalancer().update(dp.instance, { kind: 'backend-remove', service: 'web', backend: backendHost(gone).ip });
          const afterRemove = send();
          forget();
          const untrackedRemove = send();
          const onGone = untrackedAdd.filter((b) => b === gone).length;
          out.push({
            strategy,
            flows: S,
            backends: N,
            movedAfterAdd: diff(first, afterAdd),
            untrackedMovedAfterAdd: diff(first, untrackedAdd),
            movedAfterRemove: diff(untrackedAdd, afterRemove, (i) => untrackedAdd[i] !== gone),
            removedBackendFlows: onGone,
            rebalanced: afterRemove.filter((b, i) => untrackedAdd[i] === gone && b !== gone && b >= 0).length,
            untrackedMovedAfterRemove: diff(untrackedAdd, untrackedRemove),
          });
        } finally {
          dp.undeploy();
        }
      } catch (e) {
        warnings.push(`${strategy}: tracked flows not measured: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  } finally {
    await bed.destroy();
  }
  return out;
}
