// Vitest helpers for suites that need a lab (entry `@xdp-lb/netlab/vitest`, kept apart from the
// main entry so that only tests load vitest).
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe } from 'vitest';
import { Lab } from './lab/lab.js';
import type { LabHost } from './lab/host.js';
import type { LabOptions, LabSpec } from './lab/spec.js';
import { labSupport, type Support } from './lab/support.js';
import { listNetns } from './netns/names.js';

export interface LabRef {
  /** The running lab (throws before `beforeAll` has built it). */
  readonly lab: Lab;
  /** Shorthand for `lab.host(name)`. */
  host(name: string): LabHost;
}

/**
 * Builds the lab in `beforeAll` and destroys it in `afterAll`, whatever the tests did. Call it
 * inside a `describe` (or at the top of a file). The exit hooks back this up if the worker dies.
 */
export function useLab(spec: LabSpec | (() => LabSpec), options: LabOptions & { timeoutMs?: number } = {}): LabRef {
  let current: Lab | undefined;
  const timeout = options.timeoutMs ?? 60_000;
  beforeAll(async () => {
    current = await Lab.up(typeof spec === 'function' ? spec() : spec, options);
  }, timeout);
  afterAll(async () => {
    await current?.destroy();
    current = undefined;
  }, timeout);
  return {
    get lab(): Lab {
      if (!current) throw new Error('useLab: the lab is not up (used outside a test, or beforeAll failed)');
      return current;
    },
    host(name: string): LabHost {
      return this.lab.host(name);
    },
  };
}

/**
 * `describe`, or `describe.skip` with the reason in its name when the machine cannot run labs
 * (not root, tools missing).
 */
export function describeLab(name: string, fn: () => void, support: Support = labSupport()): void {
  if (support.ok) describe(name, fn);
  else describe.skip(`${name} [skipped: ${support.reason}]`, fn);
}

export interface LbIsolationOptions {
  /** Names the run's directories: `/sys/fs/bpf/xlb-<name>-<id>` and `/tmp/xlb-<name>-state-<id>`. */
  name: string;
  /** Namespace prefix of the run's labs (`<prefix><pid>-<hex>-<host>`). */
  labPrefix: string;
  /** Undeploys an instance that is still deployed at the end (`LoadBalancer.undeploy`). */
  undeploy(instance: string): void;
}

export interface LbIsolation {
  /** The run's bpffs root (XDP_LB_BPFFS). */
  readonly bpffs: string;
  /** The run's state root (XDP_LB_STATE_DIR). */
  readonly stateDir: string;
  /** A lab of the run, destroyed in afterAll whatever happens. */
  lab(spec: LabSpec, options?: LabOptions): Promise<Lab>;
  /** A fresh instance name (unique per run and per call, at most 32 characters). */
  instance(label: string): string;
  /**
   * Registers an instance's pin dir with the lab (so that even a killed run's pins are removed, by
   * the next run's stale-lab GC) and returns the namespace of the lab's `host` to deploy it into.
   */
  deployNetns(lab: Lab, instance: string, host?: string): string;
}

/**
 * Isolation of one test file that deploys the load balancer (@xdp-lb/core) into labs, shared by
 * the end-to-end suites of every package. Call it at module level, BEFORE anything uses the
 * LoadBalancer: it points XDP_LB_BPFFS and XDP_LB_STATE_DIR (read by core at call time) at
 * directories of this run only, and registers one afterAll that undeploys what is still deployed
 * (while its namespaces exist), destroys the labs, removes both directories and fails when
 * namespaces or pins are left, also after a failed test.
 */
export function useLbIsolation(options: LbIsolationOptions): LbIsolation {
  const rand = () => randomBytes(3).toString('hex');
  const id = `${process.pid}-${rand()}`;
  const bpffs = `/sys/fs/bpf/xlb-${options.name}-${id}`;
  const stateDir = `/tmp/xlb-${options.name}-state-${id}`;
  process.env.XDP_LB_BPFFS = bpffs;
  process.env.XDP_LB_STATE_DIR = stateDir;
  const labs: Lab[] = [];
  let counter = 0;
  afterAll(async () => {
    const problems: string[] = [];
    if (existsSync(stateDir)) {
      for (const inst of readdirSync(stateDir)) {
        try {
          options.undeploy(inst);
        } catch (e) {
          problems.push(`undeploy ${inst}: ${(e as Error).message}`);
        }
      }
    }
    for (const lab of labs) {
      try {
        await lab.destroy();
      } catch (e) {
        problems.push(`lab ${lab.id}: ${(e as Error).message}`);
      }
    }
    rmSync(bpffs, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
    const ns = listNetns().filter((n) => labs.some((l) => n.startsWith(`${l.id}-`)));
    if (ns.length) problems.push(`namespaces left: ${ns.join(', ')}`);
    if (existsSync(bpffs)) problems.push(`pins left under ${bpffs}`);
    if (problems.length) throw new Error(`e2e cleanup: ${problems.join('; ')}`);
  }, 60_000);
  return {
    bpffs,
    stateDir,
    async lab(spec, labOptions = {}) {
      const lab = await Lab.up(spec, { prefix: options.labPrefix, ...labOptions });
      labs.push(lab);
      return lab;
    },
    instance: (label) => `${label}-${rand()}${(counter++).toString(36)}`.slice(0, 32),
    deployNetns(lab, instance, host = 'lb') {
      lab.registerPinDir(`${bpffs}/${instance}`);
      return lab.host(host).netns.name;
    },
  };
}

export { labSupport, labToolsSupport, type Support } from './lab/support.js';
