/**
 * Control plane:
 *   - how long the TypeScript table builders take (Maglev at M = 65537 and 655373 for 10, 100 and
 *     1000 backends; round-robin and random for comparison), median of several builds;
 *   - how long from `lb backend add` until the first packet reaches the new backend, with new
 *     flows arriving all the time: the LB deployed by core in native mode in the tutorial's lab,
 *     a paced stream of new UDP flows from a client (raw frames, a new source each), and a probe
 *     program on the new backend's interface that stamps the first frame it sees with the kernel's
 *     monotonic clock (the clock of process.hrtime). Measured from the library call
 *     (LoadBalancer.update) and, when the CLI is known, from starting the `lb backend add` process.
 */
import { join } from 'node:path';
import { Abi } from '@xdp-lb/core';
import { BpfLink, BpfObject, ifNameToIndex, inNetns } from '@xdp-lb/native';
import { Lab, type LabProcess, tutorialAddresses, tutorialTopology } from '@xdp-lb/netlab';
import { kernelProblem, missingObjects, missingTools, objects, packageRoot, TOOLS } from '../env.js';
import { Deployed, instanceName, loadBalancer, STRATEGY_IDS } from '../lb.js';
import { backendSet, buildTable } from '../models.js';
import { type Stat, summarize } from '../stats.js';
import type { Benchmark, BenchContext, Headline, Section, TableSpec } from '../types.js';

const SIZES = [65537, 655373];
const NS = [10, 100, 1000];
const DPORT = 5000;

export interface BuildRow {
  strategy: string;
  n: number;
  tableSize: number | null;
  ms: Stat | null;
  refused?: string;
}

export interface LatencyRow {
  via: 'library' | 'cli';
  /** From the call (or process start) to the first frame at the new backend, ms. */
  firstPacketMs: Stat;
  /** From the call (or process start) until it returned (or exited), ms. */
  callMs: Stat;
}

export const controlPlane: Benchmark = {
  name: 'control-plane',
  title: 'Control plane: table builds and backend-add latency',
  tools: [TOOLS.python3],
  seconds: { quick: 20, full: 45 },
  unavailable: () => null,
  run: (ctx) => runControlPlane(ctx),
};

function timeMs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function runControlPlane(ctx: BenchContext): Promise<Section> {
  const rounds = ctx.quick ? 3 : 7;
  const warnings: string[] = [];
  const builds: BuildRow[] = [];
  const jobs = SIZES.length * NS.length + 2 * NS.length;
  let job = 0;
  for (const m of SIZES) {
    for (const n of NS) {
      ctx.progress((0.5 * job++) / jobs, `Maglev build, N=${n}, M=${m}`);
      await new Promise((r) => setImmediate(r));
      const backends = backendSet(n);
      try {
        buildTable('hash', backends, m); // warm-up (JIT), and the refusal check
      } catch (e) {
        builds.push({ strategy: 'hash', n, tableSize: m, ms: null, refused: (e as Error).message.split('.')[0]! });
        continue;
      }
      builds.push({
        strategy: 'hash',
        n,
        tableSize: m,
        ms: summarize(Array.from({ length: rounds }, () => timeMs(() => buildTable('hash', backends, m)))),
      });
    }
  }
  for (const strategy of STRATEGY_IDS.filter((s) => s !== 'hash')) {
    for (const n of NS) {
      ctx.progress((0.5 * job++) / jobs, `${strategy} build, N=${n}`);
      const backends = backendSet(n, (i) => 1 + (i % 4));
      const table = buildTable(strategy, backends);
      builds.push({
        strategy: `${strategy} (weights 1:2:3:4)`,
        n,
        tableSize: table.length,
        ms: summarize(Array.from({ length: rounds }, () => timeMs(() => buildTable(strategy, backends)))),
      });
    }
  }

  let latency: LatencyRow[] = [];
  let rate = NaN;
  let noNeigh: number[] = [];
  const why =
    kernelProblem() ??
    missingObjects(['bench']) ??
    (missingTools([TOOLS.python3]).length ? 'python3 is missing (apt-get install python3)' : null);
  if (why) warnings.push(`backend-add latency not measured: ${why}`);
  else ({ latency, rate, noNeigh } = await addLatency(ctx, rounds, warnings));

  const fmt = (s: Stat | null) =>
    s ? (s.n > 1 ? `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : s.median.toFixed(2)) : '—';
  const maglev = (n: number, m: number) => builds.find((b) => b.strategy === 'hash' && b.n === n && b.tableSize === m);
  const headlines: Headline[] = [];
  const big = maglev(1000, 655373);
  if (big?.ms)
    headlines.push({
      metric: 'Maglev table build, N=1000, M=655373 (TypeScript)',
      value: big.ms.median,
      unit: 'ms',
      spread: `${big.ms.min.toFixed(1)}–${big.ms.max.toFixed(1)} over ${big.ms.n} builds`,
      target: { value: 20, better: 'lower', text: "< 20 ms (the paper's C++: 1.8 ms at M = 65537)" },
    });
  const small = maglev(100, 65537);
  if (small?.ms)
    headlines.push({
      metric: 'Maglev table build, N=100, M=65537',
      value: small.ms.median,
      unit: 'ms',
      spread: `${small.ms.min.toFixed(2)}–${small.ms.max.toFixed(2)} over ${small.ms.n} builds`,
    });
  for (const l of latency) {
    headlines.push({
      metric: `${l.via === 'cli' ? '`lb backend add` process' : 'LoadBalancer.update (backend-add)'} -> first packet on the new backend`,
      value: l.firstPacketMs.median,
      unit: 'ms',
      spread: `${l.firstPacketMs.min.toFixed(1)}–${l.firstPacketMs.max.toFixed(1)} over ${l.firstPacketMs.n} rounds`,
    });
  }

  const tables: TableSpec[] = [
    {
      title: 'Table build time, ms (median of the builds, min–max)',
      headers: ['strategy', 'backends', 'table slots', 'build ms'],
      rows: builds.map((b) => [b.strategy, b.n, b.tableSize ?? '—', b.refused ? `refused: ${b.refused}` : fmt(b.ms)]),
      notes: [
        `${rounds} builds each after one warm-up build, in this process (Node ${ctx.machine.node}). Maglev refuses M < 100 N (slot share max/mean would exceed 1.01).`,
      ],
    },
  ];
  if (latency.length) {
    tables.push({
      title: 'From `lb backend add` to the first packet on the new backend, ms (median, min–max)',
      headers: ['how', 'call returned', 'first packet at the new backend'],
      rows: latency.map((l) => [
        l.via === 'cli' ? '`lb backend add` (a new Node process)' : 'LoadBalancer.update (library)',
        fmt(l.callMs),
        fmt(l.firstPacketMs),
      ]),
      notes: [
        `New flows arrive at about ${Math.round(rate).toLocaleString('en-US')} per second, a third of them mapped to the new backend once it is in the table: the first one comes within ~${(3000 / rate).toFixed(2)} ms of the switch.`,
      ],
    });
  }
  const bars = builds
    .filter((b) => b.ms)
    .map((b) => ({
      label: `${b.strategy}, N=${b.n}, ${b.tableSize} slots`,
      value: b.ms!.median,
      lo: b.ms!.min,
      hi: b.ms!.max,
      group: b.strategy.split(' ')[0]!,
      text: `${b.ms!.median.toFixed(2)} ms`,
    }));
  return {
    summary: [
      `Maglev builds in ${NS.map((n) => `${fmt(maglev(n, 65537)?.ms ?? null)} ms (N=${n}, M=65537)`)
        .filter((x) => !x.startsWith('—'))
        .join(', ')}; at M=655373: ${NS.map((n) => `${maglev(n, 655373)?.ms?.median.toFixed(1) ?? '—'} ms (N=${n})`).join(', ')}.`,
      ...latency.map(
        (l) =>
          `${l.via === 'cli' ? 'Starting `lb backend add`' : 'Calling LoadBalancer.update'}: the first packet reaches the new backend after ${l.firstPacketMs.median.toFixed(1)} ms (the call itself takes ${l.callMs.median.toFixed(1)} ms).`,
      ),
      ...(noNeigh.some((n) => n > 0)
        ? [
            `While a backend was being added, the data plane dropped ${noNeigh.join(', ')} new flows per round as drop_no_neigh: the new backend is in the table before its neighbour entry is resolved (update primes neighbours after the table switch), so its first flows wait for ARP.`,
          ]
        : []),
    ],
    method: [
      `Table builds: each strategy's buildTable (the function core calls on every change) on N backends with keys 198.18.x.y:80; ${rounds} timed builds after a warm-up, median reported.`,
      "Backend add: the tutorial's lab (1 client, 3 backends), the hash strategy deployed by core in native mode with a DSR UDP service on backends 1 and 2. The client sends a paced stream of new flows (raw frames, a new source address or port each: lab-scripts/flow-sender.py). xdp_stamp (packages/bench/bpf/bench.bpf.c) on backend 3 records the kernel monotonic time of the first frame it gets. Each round: add backend 3, wait for the stamp, remove it again, let in-flight frames drain, reset the stamp.",
      'Library: from just before LoadBalancer.update to the stamp. CLI: from just before spawning `node <lb> backend add` (Node start-up, module loading, the update) to the stamp.',
    ],
    tables,
    charts: [
      {
        kind: 'bar',
        file: 'control-plane-builds.svg',
        title: 'Table build time by strategy, backends and table size (TypeScript)',
        unit: `ms per build (median of ${rounds}; whiskers min–max; log scale)`,
        bars,
        log: true,
        refs: [{ value: 20, label: 'target: N=1000 < 20 ms' }],
        spread: `median of ${rounds} builds after a warm-up; whiskers min–max`,
      },
    ],
    headlines,
    data: { rounds, builds, latency, newFlowsPerSecond: rate, dropNoNeighPerRound: noNeigh },
    warnings,
  };
}

async function addLatency(
  ctx: BenchContext,
  rounds: number,
  warnings: string[],
): Promise<{ latency: LatencyRow[]; rate: number; noNeigh: number[] }> {
  const topo = { clients: 1, backends: 3, vipOnBackendsLoopback: true, http: false };
  const a = tutorialAddresses(topo);
  const lab = await Lab.up(tutorialTopology(topo), { prefix: 'xlbb' });
  const stamp = BpfObject.open(objects.bench());
  let link: BpfLink | undefined;
  let dp: Deployed | undefined;
  let sender: LabProcess | undefined;
  const lib = { first: [] as number[], call: [] as number[] };
  const cli = { first: [] as number[], call: [] as number[] };
  const noNeigh: number[] = [];
  let rate = NaN;
  try {
    ctx.progress(0.55, 'deploying the LB in the lab');
    const port = Buffer.alloc(2);
    port.writeUInt16LE(DPORT);
    stamp.setVariable('stamp_dport', port);
    await stamp.load();
    const newHost = lab.host('http3');
    link = inNetns(newHost.netns.path, () => BpfLink.attachXdp(stamp.program('xdp_stamp'), ifNameToIndex('eth0'), { mode: 'drv' }));
    const map = stamp.map('stamp_map');
    const zero = Abi.u32(0);
    const reset = () => map.update(zero, Buffer.alloc(16));
    const first = (): bigint => (map.lookup(zero) as Buffer).readBigUInt64LE(0);

    dp = await Deployed.deploy(lab, 'lb', {
      instance: instanceName('cp'),
      strategy: 'hash',
      interfaces: ['eth0:native'],
      services: [{ name: 'udp', vip: `${a.vip}:${DPORT}`, protocol: 'udp', forward: 'dsr', backends: a.backends.slice(0, 2) }],
    });
    const c = lab.host('client1');
    sender = c.spawn(
      [
        'python3',
        '-u',
        join(packageRoot(), 'lab-scripts', 'flow-sender.py'),
        '--iface',
        'eth0',
        '--src-mac',
        c.mac!,
        '--dst-mac',
        lab.host('lb').mac!,
        '--dst',
        a.vip,
        '--dport',
        String(DPORT),
        '--rate',
        '20000',
      ],
      { label: 'flow sender' },
    );
    await sender.waitForLine(/"event": ?"ready"/);
    const t0 = Date.now();
    const svcBefore = dp.reasons().ct_new;
    await new Promise((r) => setTimeout(r, 500));
    rate = Number(dp.reasons().ct_new - svcBefore) / ((Date.now() - t0) / 1000);
    if (!(rate > 100)) throw new Error(`the flow sender does not reach the LB (${rate.toFixed(0)} new flows/s)`);

    const waitStamp = async (since: bigint): Promise<number> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const f = first();
        if (f !== 0n) return Number(f - since) / 1e6;
        if (Date.now() > deadline) throw new Error('no packet reached the new backend within 5 s');
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const settle = async () => {
      await loadBalancer().update(dp!.instance, { kind: 'backend-remove', service: 'udp', backend: a.backends[2]! });
      await new Promise((r) => setTimeout(r, 200));
      reset();
    };
    reset();
    for (let r = 0; r < rounds; r++) {
      ctx.progress(0.6 + (0.4 * r) / (rounds * (ctx.cliMain ? 2 : 1)), `backend add, library, round ${r + 1}/${rounds}`);
      const before = dp.reasons();
      const t = process.hrtime.bigint();
      await loadBalancer().update(dp.instance, { kind: 'backend-add', service: 'udp', backend: a.backends[2]! });
      lib.call.push(Number(process.hrtime.bigint() - t) / 1e6);
      lib.first.push(await waitStamp(t));
      noNeigh.push(Number(dp.reasons().drop_no_neigh - before.drop_no_neigh));
      await settle();
    }
    if (ctx.cliMain) {
      for (let r = 0; r < rounds; r++) {
        ctx.progress(0.8 + (0.2 * r) / rounds, `backend add, CLI process, round ${r + 1}/${rounds}`);
        const t = process.hrtime.bigint();
        const proc = lab
          .host('lb')
          .spawn([process.execPath, ctx.cliMain, 'backend', 'add', 'udp', a.backends[2]!, '--instance', dp.instance], {
            label: 'lb backend add',
          });
        const stamped = waitStamp(t);
        const exit = await proc.exited;
        cli.call.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (exit.code !== 0) throw new Error(`lb backend add exited with ${exit.code}: ${proc.stderr().trim().split('\n').pop()}`);
        cli.first.push(await stamped);
        await settle();
      }
    }
    const end = sender;
    sender = undefined;
    await end.kill('SIGTERM');
  } catch (e) {
    warnings.push(`backend-add latency: ${(e as Error).message}`);
  } finally {
    if (sender) await sender.kill('SIGKILL');
    try {
      dp?.undeploy();
    } catch (e) {
      warnings.push(`undeploy: ${(e as Error).message}`);
    }
    link?.dispose();
    stamp.dispose();
    await lab.destroy();
  }
  const latency: LatencyRow[] = [];
  if (lib.first.length) latency.push({ via: 'library', firstPacketMs: summarize(lib.first), callMs: summarize(lib.call) });
  if (cli.first.length) latency.push({ via: 'cli', firstPacketMs: summarize(cli.first), callMs: summarize(cli.call) });
  return { latency, rate, noNeigh };
}
