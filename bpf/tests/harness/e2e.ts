/**
 * End-to-end plumbing of the data-plane suites: the real control plane (@xdp-lb/core with the
 * built-in strategies' registry) deploying into lab namespaces, isolated as the CLI's suites are (netlab's
 * useLbIsolation): pins and state in directories of this run only (XDP_LB_BPFFS /
 * XDP_LB_STATE_DIR, read by core at call time), and one afterAll that undeploys what is left,
 * destroys the labs and removes both directories, also after a failure.
 * Call useLbE2e() at module level, before anything uses the LoadBalancer.
 */
import { join } from 'node:path';
import { BUILTIN_STRATEGIES } from '@xdp-lb/builtins';
import { createLoadBalancer, type DeployResult, type LoadBalancer } from '@xdp-lb/core';
import { BpfMap } from '@xdp-lb/native';
import { type Lab, labToolsSupport, type LabSpec } from '@xdp-lb/netlab';
import { useLbIsolation } from '@xdp-lb/netlab/vitest';
import { bpfSkipReason } from './dataplane.js';

/** Namespace prefix of this suite's labs: `xlbd<pid>-<hex>-<host>`. */
export const LAB_PREFIX = 'xlbd';

/** Why the lab suites cannot run here (null: they can). */
export const e2eSkipReason: string | null =
  bpfSkipReason ??
  (() => {
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
  let lbi: LoadBalancer | undefined;
  // Core's composition root with the strategies the CLI ships (their registry): the same program the
  // CLI deploys, assembled once into core's cache (/var/cache/xdp-lb/strategies, shared with
  // core-integration). Not the CLI's composeLoadBalancer: that would make every CLI change select
  // this suite (nx), and nothing here tests the CLI.
  const lb = () => (lbi ??= createLoadBalancer(BUILTIN_STRATEGIES));
  const iso = useLbIsolation({ name: 'bpf', labPrefix: LAB_PREFIX, undeploy: (inst) => lb().undeploy(inst) });
  return {
    bpffs: iso.bpffs,
    lb,
    lab: (spec) => iso.lab(spec),
    instance: iso.instance,
    async deploy(lab, config, host = 'lb') {
      return lb().deploy(config, { netns: iso.deployNetns(lab, config.instance, host) });
    },
    pinnedMap: (instance, name) => BpfMap.fromPinned(join(iso.bpffs, instance, 'maps', name)),
  };
}
