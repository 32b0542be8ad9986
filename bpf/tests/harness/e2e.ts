/**
 * End-to-end plumbing of the data-plane suites: the real control plane (@xdp-lb/core with the
 * built-in strategies) deploying into lab namespaces, with pins and state in directories of this
 * run only (XDP_LB_BPFFS / XDP_LB_STATE_DIR, read by core at call time), and one afterAll that
 * undeploys what is left, destroys the labs and removes both directories, also after a failure.
 * Call useLbE2e() at module level, before anything uses the LoadBalancer.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createLoadBalancer, type DeployResult, type LoadBalancer } from '@xdp-lb/core';
import { BpfMap } from '@xdp-lb/native';
import { Lab, labToolsSupport, type LabSpec, listNetns } from '@xdp-lb/netlab';
import { hash } from '@xdp-lb/strategy-hash';
import { random } from '@xdp-lb/strategy-random';
import { roundRobin } from '@xdp-lb/strategy-round-robin';
import { bpfSkipReason } from './dataplane.js';

/** Namespace prefix of this suite's labs: `xlbd<pid>-<hex>-<host>`. */
export const LAB_PREFIX = 'xlbd';

/** Why the lab suites cannot run here (null: they can). */
export const e2eSkipReason: string | null = bpfSkipReason ?? (() => {
  const s = labToolsSupport();
  return s.ok ? null : (s.reason ?? 'lab tools missing');
})();

export interface LbE2e {
  readonly bpffs: string;
  lb(): LoadBalancer;
  lab(spec: LabSpec): Promise<Lab>;
  instance(label: string): string;
  /** lb.deploy(config) into the lab's `lb` host (pins registered with the lab first). */
  deploy(lab: Lab, config: Record<string, unknown> & { instance: string }, host?: string): Promise<DeployResult>;
  /** A pinned map of an instance (dispose it). */
  pinnedMap(instance: string, name: string): BpfMap;
}

export function useLbE2e(): LbE2e {
  const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const bpffs = `/sys/fs/bpf/xlb-bpf-${id}`;
  const stateDir = `/tmp/xlb-bpf-state-${id}`;
  process.env.XDP_LB_BPFFS = bpffs;
  process.env.XDP_LB_STATE_DIR = stateDir;
  let lbi: LoadBalancer | undefined;
  const labs: Lab[] = [];
  let n = 0;
  const e2e: LbE2e = {
    bpffs,
    lb: () => (lbi ??= createLoadBalancer([hash, random, roundRobin])),
    async lab(spec) {
      const lab = await Lab.up(spec, { prefix: LAB_PREFIX });
      labs.push(lab);
      return lab;
    },
    instance: (label) => `${label}-${randomBytes(2).toString('hex')}${(n++).toString(36)}`.slice(0, 32),
    async deploy(lab, config, host = 'lb') {
      lab.registerPinDir(join(bpffs, config.instance));
      return e2e.lb().deploy(config, { netns: lab.host(host).netns.name });
    },
    pinnedMap: (instance, name) => BpfMap.fromPinned(join(bpffs, instance, 'maps', name)),
  };
  afterAll(async () => {
    const problems: string[] = [];
    if (existsSync(stateDir)) {
      for (const inst of readdirSync(stateDir)) {
        try {
          e2e.lb().undeploy(inst);
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
    const left = listNetns().filter((x) => labs.some((l) => x.startsWith(`${l.id}-`)));
    if (left.length) problems.push(`namespaces left: ${left.join(', ')}`);
    if (problems.length) throw new Error(`e2e cleanup: ${problems.join('; ')}`);
  }, 60_000);
  return e2e;
}
