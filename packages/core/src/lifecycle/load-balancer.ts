import { inject, injectable } from 'inversify';
import { loadConfigFile } from '../config/load.js';
import { type ResolveContext, resolveConfig } from '../config/resolve.js';
import type { LbConfig } from '../config/types.js';
import { NetnsScope } from '../dataplane/netns.js';
import { ifindexOf } from '../dataplane/xdp.js';
import { listInstances } from '../state/store.js';
import { StrategyRegistry } from '../strategy/registry.js';
import { deploy, type DeployOptions, type DeployResult } from './deploy.js';
import { requirePrivileges } from './privileges.js';
import { status, type StatusView } from './status.js';
import { undeploy, type UndeployResult } from './undeploy.js';
import { requireState, update } from './update.js';
import type { Mutation } from './mutations.js';
import { desiredOf } from './desired.js';

/**
 * The library's front door: everything the CLI does is one call here.
 *   const lb = createLoadBalancer([hash]);
 *   await lb.deploy({ interfaces: ['eth0'], services: [...] });
 */
@injectable()
export class LoadBalancer {
  constructor(@inject(StrategyRegistry) readonly strategies: StrategyRegistry) {}

  /** Resolution context: strategies from the registry, interfaces looked up in `netns`. */
  context(netns: string | null = null, source?: string): ResolveContext {
    const ns = new NetnsScope(netns);
    return {
      strategyOptions: (id) => this.strategies.find(id)?.optionsSchema,
      strategyIds: () => this.strategies.ids(),
      interfaceExists: (name) => {
        try {
          return ns.run(() => ifindexOf(name)) > 0;
        } catch {
          return false;
        }
      },
      ...(source ? { source } : {}),
    };
  }

  /** Validates a config (object or file) without touching the kernel. */
  checkConfig(input: unknown, opts: { netns?: string | null; source?: string; checkInterfaces?: boolean } = {}): LbConfig {
    const ctx = this.context(opts.netns ?? null, opts.source);
    if (opts.checkInterfaces === false) delete ctx.interfaceExists;
    return resolveConfig(input, ctx);
  }

  checkConfigFile(file: string, opts: { netns?: string | null; checkInterfaces?: boolean } = {}): LbConfig {
    const ctx = this.context(opts.netns ?? null);
    if (opts.checkInterfaces === false) delete ctx.interfaceExists;
    return loadConfigFile(file, ctx);
  }

  async deploy(input: unknown, opts: DeployOptions & { source?: string } = {}): Promise<DeployResult> {
    const cfg = this.checkConfig(input, { netns: opts.netns ?? null, ...(opts.source ? { source: opts.source } : {}) });
    requirePrivileges('deploy');
    return deploy(cfg, this.strategies.get(cfg.strategy), new NetnsScope(opts.netns ?? null), opts);
  }

  async deployFile(file: string, opts: DeployOptions = {}): Promise<DeployResult> {
    const cfg = this.checkConfigFile(file, { netns: opts.netns ?? null });
    requirePrivileges('deploy');
    return deploy(cfg, this.strategies.get(cfg.strategy), new NetnsScope(opts.netns ?? null), opts);
  }

  undeploy(instance = 'default'): UndeployResult {
    requirePrivileges('undeploy');
    return undeploy(instance);
  }

  status(instance = 'default'): StatusView {
    requirePrivileges('status');
    return status(instance);
  }

  /** Applies one hot change (backend add/remove/drain/weight, service add/remove). */
  update(instance: string, mutation: Mutation): { config: LbConfig; warnings: string[] } {
    requirePrivileges('update');
    const state = requireState(instance);
    return update(instance, mutation, this.strategies.get(state.strategy.id), this.context(state.netns));
  }

  /** Replaces the services of a running instance with those of `input` (same load-time settings). */
  reload(instance: string, input: unknown): { config: LbConfig; warnings: string[] } {
    requirePrivileges('reload');
    const state = requireState(instance);
    return update(instance, { kind: 'replace', config: input }, this.strategies.get(state.strategy.id), this.context(state.netns));
  }

  /** The applied config of a running instance. */
  config(instance = 'default'): LbConfig {
    return desiredOf(requireState(instance)).config;
  }

  instances(): string[] {
    return listInstances();
  }
}
