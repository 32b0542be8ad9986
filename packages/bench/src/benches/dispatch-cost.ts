/**
 * What a strategy per service costs (issue 16, bpf/lib/dispatch.h): the same hash DSR service in
 * programs that carry 1 strategy (hash alone), every built-in one, and the built-ins plus the
 * example third-party fragment, each deployed by core (a LoadBalancer composed with those
 * strategies). New flows pay the dispatcher (one call of the global function lb_select and one
 * switch on lb_svc.strategy); established flows must pay nothing. Part of `lb bench per-packet`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLoadBalancer, type LoadBalancer, type Strategy } from '@xdp-lb/core';
import type { BpfProgram } from '@xdp-lb/native';
import { Deployed, formatReasons, instanceName, STRATEGIES } from '../lb.js';
import { type Stat, summarize } from '../stats.js';
import { backendHost, client, tcpFrame, type TestBed, VIP } from '../testbed.js';
import type { TableSpec } from '../types.js';
import type { Wrapper } from '../wrapper.js';

export const PORT = 80;
const EXTRA_PORT = 82;
/** The hash service's Maglev table size: the smallest prime of 100 slots per backend (10). */
const TABLE_SIZE = 1009;
const BACKENDS = Array.from({ length: 10 }, (_, i) => backendHost(i));
/** The example third-party strategy, found above this file (src/ or the bundle in dist/): a checkout of the workspace only. */
const EXAMPLE = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    const f = join(dir, 'deploy', 'examples', 'strategies', 'subnet-affinity', 'bpf', 'subnet-affinity.bpf.c');
    if (existsSync(f)) return f;
  }
  return undefined;
})();

/** The programs compared: hash alone, every built-in, and the built-ins + the example third-party fragment. */
export function dispatchVariants(): Variant[] {
  const hash = STRATEGIES.find((s) => s.id === 'hash')!;
  return [
    { label: '1 strategy (hash)', strategies: [hash] },
    { label: `${STRATEGIES.length} strategies (built-ins)`, strategies: STRATEGIES },
    ...(EXAMPLE
      ? [{ label: `${STRATEGIES.length + 1} strategies (built-ins + subnet-affinity)`, strategies: STRATEGIES, extra: EXAMPLE }]
      : []),
  ];
}

/**
 * Deploys variant `vi` on `iface` of the lab's LB host: the hash DSR service (and the extra one).
 * `newFlowsPerSec` 0: every new flow takes the stateful path; 1: past the first of each second a
 * CPU is in flood mode, where the (stateless) hash service forwards new flows without a
 * conntrack entry: selection without the insert.
 */
export async function deployVariant(
  bed: TestBed,
  v: Variant,
  vi: number,
  iface: string,
  newFlowsPerSec = 0,
): Promise<{ lb: LoadBalancer; dp: Deployed }> {
  const lb = createLoadBalancer(v.strategies);
  const dp = await Deployed.deploy(
    bed.lab,
    'lb',
    {
      instance: instanceName(`pd-${vi}`),
      strategy: 'hash',
      interfaces: [`${iface}:generic`],
      limits: { conntrackSize: 1 << 18, newFlowsPerSec },
      services: [
        // A small Maglev table (1009 slots, 4 KB): the slot the selection reads stays in cache, so
        // that the selection's own cost does not swing with cache misses the dispatch never causes.
        { name: 'dsr', vip: `${VIP}:${PORT}`, forward: 'dsr', options: { tableSize: TABLE_SIZE }, backends: BACKENDS.map((b) => b.ip) },
        ...(v.extra
          ? [{ name: 'extra', vip: `${VIP}:${EXTRA_PORT}`, forward: 'dsr', strategy: v.extra, backends: BACKENDS.map((b) => b.ip) }]
          : []),
      ],
    },
    lb,
  );
  return { lb, dp };
}

export interface Variant {
  label: string;
  strategies: readonly Strategy<any>[];
  /** A second service of a third-party strategy, so that the program carries it. */
  extra?: string;
}

export interface DispatchResult {
  label: string;
  /** Strategies the program carries. */
  carried: string[];
  newFlow: Stat;
  established: Stat;
  verified: boolean;
  reasons: string;
}

export interface DispatchParams {
  rounds: number;
  repeat: number;
  inserts: number;
  /** Passes over the variants (each deploys every variant again): drift shows as a spread. */
  passes: number;
}

/**
 * Measures the variants: per pass, each deployed in turn, `rounds` rounds of new DSR flows (the
 * wrapper method, a distinct tuple per packet) and of one established flow (repeat), the reason
 * counters checked; the figures are the medians over every round of every pass.
 */
export async function measureDispatch(
  bed: TestBed,
  wrap: Wrapper,
  floor: BpfProgram,
  p: DispatchParams,
  flowBase: number,
  tick: (label: string) => void,
): Promise<{ results: DispatchResult[]; flowsUsed: number }> {
  if (STRATEGIES.some((s) => !s.fragmentPath))
    throw new Error('the strategies have no fragments to assemble (XDP_LB_BENCH_OBJ_DIR): skipped');
  const variants = dispatchVariants();
  const acc = variants.map(() => ({ carried: [] as string[], newNs: [] as number[], estNs: [] as number[], verified: true, reasons: '' }));
  let flowSeq = flowBase;
  const only = (d: Partial<Record<string, number>>, want: Record<string, number>) =>
    Object.keys(d).length === Object.keys(want).length && Object.entries(want).every(([k, v]) => d[k] === v);
  for (let pass = 0; pass < p.passes; pass++) {
    for (const [vi, v] of variants.entries()) {
      const { lb, dp } = await deployVariant(bed, v, vi, 'eth0');
      try {
        const a = acc[vi]!;
        a.carried = lb.status(dp.instance).strategies;
        const prog = dp.program('eth0');
        const run = (pr: BpfProgram, f: Buffer, n: number) => pr.testRun({ data: f, ctx: bed.ctx(f.length), repeat: n }).durationNs;
        const c0 = client(flowSeq++);
        const est = tcpFrame({ dmac: bed.mac, src: c0.src, sport: c0.sport, dport: PORT });
        // SYN, then ACK: the flow is in lb_ct (established), so the repeated ACKs only forward.
        const syn = tcpFrame({ dmac: bed.mac, src: c0.src, sport: c0.sport, dport: PORT, flags: 'S' });
        bed.inside(() => [syn, est].forEach((f) => prog.testRun({ data: f, ctx: bed.ctx(f.length) })));
        for (let r = 0; r < p.rounds; r++) {
          bed.inside(() => {
            let before = dp.reasons();
            a.estNs.push(run(prog, est, p.repeat));
            let d = dp.reasonsSince(before);
            a.verified &&= only(d, { tx: p.repeat });
            const c = client(flowSeq);
            const base = flowSeq;
            flowSeq += p.inserts;
            before = dp.reasons();
            // A SYN: a new TCP flow's first packet (an ACK would take the mid-stream path).
            const t = wrap.time(
              prog,
              floor,
              tcpFrame({ dmac: bed.mac, src: c.src, sport: c.sport, dport: PORT, flags: 'S' }),
              { kind: 'distinct', base },
              p.inserts,
              run,
            );
            d = dp.reasonsSince(before);
            a.newNs.push(t.net);
            a.verified &&= only(d, { tx: p.inserts, ct_new: p.inserts, ct_half_open: p.inserts });
            a.reasons = formatReasons(d);
          });
          tick(`dispatch: ${v.label}, pass ${pass + 1}, round ${r + 1}/${p.rounds}`);
        }
      } finally {
        dp.undeploy();
      }
    }
  }
  return {
    results: variants.map((v, i) => {
      const a = acc[i]!;
      return {
        label: v.label,
        carried: a.carried,
        newFlow: summarize(a.newNs),
        established: summarize(a.estNs),
        verified: a.verified,
        reasons: a.reasons,
      };
    }),
    flowsUsed: flowSeq - flowBase,
  };
}

/** The report's table: each variant's costs and the difference from the one-strategy program. */
export function dispatchTable(results: readonly DispatchResult[], p: DispatchParams): TableSpec {
  const one = results[0];
  const diff = (x: Stat, y: Stat | undefined) => (y ? `${x.median - y.median >= 0 ? '+' : ''}${(x.median - y.median).toFixed(1)}` : '—');
  const fmt = (s: Stat) => (s.n > 1 ? `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})` : s.median.toFixed(1));
  return {
    title:
      'Dispatch: a hash DSR service in programs carrying 1, every built-in, and the built-ins + one third-party strategy (ns per packet)',
    headers: ['program', 'strategies', 'new flow (wrapper)', 'vs 1 strategy', 'established (repeat)', 'vs 1 strategy', 'reason counters'],
    rows: results.map((r) => [
      r.label,
      r.carried.join(', '),
      fmt(r.newFlow),
      diff(r.newFlow, one?.newFlow),
      fmt(r.established),
      diff(r.established, one?.established),
      `${r.verified ? '' : 'UNEXPECTED: '}${r.reasons}`,
    ]),
    notes: [
      `The hash service has 10 backends and a Maglev table of ${TABLE_SIZE} slots. Each program deployed by core in turn, ${p.passes} pass(es) over the programs, ${p.rounds} rounds each: new flows by the wrapper method (${p.inserts.toLocaleString('en-US')} distinct tuples per round), one established flow by repeat ${p.repeat.toLocaleString('en-US')}; median (min–max) over all rounds.`,
      'A new flow calls lb_select (a global function) and switches on lb_svc.strategy; an established flow never reaches it: its difference is noise. Reported, not asserted.',
    ],
  };
}

/** One sentence for the summary. */
export function dispatchSummary(results: readonly DispatchResult[]): string | undefined {
  const one = results[0];
  const many = results[results.length - 1];
  if (!one || !many || one === many) return undefined;
  return `Dispatch: a hash DSR new flow costs ${many.newFlow.median.toFixed(1)} ns in a program of ${many.carried.length} strategies against ${one.newFlow.median.toFixed(1)} ns with hash alone (${(many.newFlow.median - one.newFlow.median).toFixed(1)} ns); established ${many.established.median.toFixed(1)} vs ${one.established.median.toFixed(1)} ns.`;
}
