/**
 * The load balancer as the benchmarks drive it: deployed by core's own `LoadBalancer.deploy` into
 * a lab host (the real control plane fills every map: services, backends, slot tables, SNAT pool,
 * next hops), then reached through its pins: the attached program for BPF_PROG_TEST_RUN, the
 * maps for counters and conntrack. Benchmarks never write the data plane's maps themselves except
 * to bulk-load conntrack entries cloned from ones the data plane made.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BUILTIN_STRATEGIES } from '@xdp-lb/builtins';
import { Abi, createLoadBalancer, instancePaths, type DeployResult, type LoadBalancer, type Strategy } from '@xdp-lb/core';
import { BpfLink, BpfMap, BpfProgram } from '@xdp-lb/native';
import type { Lab } from '@xdp-lb/netlab';

/**
 * `$XDP_LB_BENCH_OBJ_DIR=<dir>`: deploy `<dir>/lb_<id>.bpf.o` (a program of that one strategy: every
 * service of an instance must then use it, and per-packet's dispatch comparison is skipped) instead of each strategy package's
 * object (a build of another commit), so two data planes can be measured side by side in
 * alternating runs of the same benchmark. The TypeScript side (tables, models) stays this one's.
 */
function withObjectDir(s: Strategy<any>): Strategy<any> {
  const dir = process.env['XDP_LB_BENCH_OBJ_DIR'];
  // Without its fragment a strategy runs as the one strategy of its program: that object, as built.
  return dir ? { ...s, objectPath: join(dir, `lb_${s.id}.bpf.o`), fragmentPath: undefined } : s;
}

/** The benchmarks' strategies, the built-ins' registry's: every list of ids and every model derives from it. */
export const STRATEGIES: readonly Strategy<any>[] = BUILTIN_STRATEGIES.map(withObjectDir);
export type StrategyId = string;
export const STRATEGY_IDS: readonly StrategyId[] = STRATEGIES.map((s) => s.id);

/** A benchmark strategy by id. */
export function strategyById(id: StrategyId): Strategy<any> {
  const s = STRATEGIES.find((x) => x.id === id);
  if (!s) throw new Error(`bench: no strategy ${id} (${STRATEGY_IDS.join(', ')})`);
  return s;
}

let lbi: LoadBalancer | undefined;

/** The library, composed with the built-in strategies (as the CLI composes it). */
export function loadBalancer(): LoadBalancer {
  return (lbi ??= createLoadBalancer(STRATEGIES));
}

let counter = 0;

/** A fresh instance name: `b-<label>-<random><n>` (lower case, at most 32 characters). */
export function instanceName(label: string): string {
  return `b-${label}-${randomBytes(2).toString('hex')}${(counter++).toString(36)}`.slice(0, 32);
}

export type Reasons = Record<Abi.Reason, bigint>;

/** One deployed instance inside a lab host. */
export class Deployed {
  private readonly maps = new Map<string, BpfMap>();
  private prog: BpfProgram | undefined;
  private gone = false;

  private constructor(
    readonly instance: string,
    readonly lab: Lab,
    readonly host: string,
    readonly result: DeployResult,
  ) {}

  /**
   * `lb.deploy(config, { netns: <host> })`. The instance's pin directory is registered with the lab
   * first, so even a killed run's pins are removed (by the lab's teardown or the next run's GC).
   * `lb`: a library composed with other strategies (the program carries the registry's built-ins).
   */
  static async deploy(
    lab: Lab,
    host: string,
    config: Record<string, unknown> & { instance: string },
    lb: LoadBalancer = loadBalancer(),
  ): Promise<Deployed> {
    lab.registerPinDir(instancePaths(config.instance).root);
    const r = await lb.deploy(config, { netns: lab.host(host).netns.name });
    return new Deployed(config.instance, lab, host, r);
  }

  get paths(): { maps: string; links: string; root: string } {
    return instancePaths(this.instance);
  }

  /** The xdp_lb program attached to `ifname` (opened from its pinned link). */
  program(ifname = 'eth0'): BpfProgram {
    if (this.prog) return this.prog;
    const link = BpfLink.fromPinned(join(this.paths.links, ifname));
    try {
      this.prog = BpfProgram.fromId(link.info().progId);
    } finally {
      link.dispose();
    }
    return this.prog;
  }

  map(name: string): BpfMap {
    let m = this.maps.get(name);
    if (!m) {
      m = BpfMap.fromPinned(join(this.paths.maps, name));
      this.maps.set(name, m);
    }
    return m;
  }

  /** lb_reasons summed over the CPUs. */
  reasons(): Reasons {
    const m = this.map(Abi.MAPS.reasons);
    const out = {} as Reasons;
    Abi.REASONS.forEach((name, i) => {
      out[name] = Abi.sumU64(m.lookup(Abi.u32(i)) as Buffer[]);
    });
    return out;
  }

  /** Reason counters added since `before` (non-zero ones only). */
  reasonsSince(before: Reasons): Partial<Record<Abi.Reason, number>> {
    const now = this.reasons();
    const out: Partial<Record<Abi.Reason, number>> = {};
    for (const r of Abi.REASONS) if (now[r] !== before[r]) out[r] = Number(now[r] - before[r]);
    return out;
  }

  /** Closes the handles and undeploys (idempotent; errors are the caller's to report). */
  undeploy(): void {
    if (this.gone) return;
    this.gone = true;
    this.prog?.dispose();
    for (const m of this.maps.values()) m.dispose();
    this.maps.clear();
    loadBalancer().undeploy(this.instance);
  }
}

/** "a, b (n)" of a reason delta: `tx 1000, ct_new 1000`. */
export function formatReasons(d: Partial<Record<string, number>>): string {
  const parts = Object.entries(d).map(([k, v]) => `${k} ${v}`);
  return parts.length ? parts.join(', ') : 'none';
}
