import { existsSync } from 'node:fs';
import { inject, injectable } from 'inversify';
import { readConfigFile } from '../config/load.js';
import { type ResolveContext, resolveConfig } from '../config/resolve.js';
import type { LbConfig } from '../config/types.js';
import { NetnsScope } from '../dataplane/netns.js';
import { ifindexOf } from '../dataplane/xdp.js';
import { listInstances, readIntent, readState } from '../state/store.js';
import { runningAgent, withChainLock, withChainLockSync, withInstanceLock, withInstanceLockSync } from '../state/lock.js';
import { StrategyRegistry } from '../strategy/registry.js';
import { deploy, type DeployOptions, type DeployResult } from './deploy.js';
import { doctor, type DoctorOptions, type DoctorReport } from './doctor.js';
import { chainAdd, chainRemove, chains, type ChainSlotView, type ChainView } from './chains.js';
import type { MemberRequest } from '../dataplane/chain-member.js';
import { requireBpffs, requireNetns, requirePrivileges } from './privileges.js';
import { slotTable, status, type StatusView } from './status.js';
import { type DataplaneReading, readDataplaneOf } from './reading.js';
import { checkLayout } from './layout.js';
import { instancePaths } from '../state/paths.js';
import { undeploy, type UndeployResult } from './undeploy.js';
import { requireState, requireStateRecovered, update } from './update.js';
import type { Mutation } from './mutations.js';
import type { InstanceState } from '../state/store.js';
import { programFor, programOf } from '../strategy/compose-program.js';
import type { ProgramStrategies } from '../strategy/program.js';
import { programStrategyIds } from '../state/store.js';
import { LbError } from './errors.js';

/**
 * The library's front door: everything the CLI does is one call here. Every call that changes an
 * instance (deploy, update, reload, undeploy) holds the instance's lock (state/lock.ts) while it
 * reads the applied state and writes the kernel and the new state: one writer at a time.
 *   const lb = createLoadBalancer([hash]);
 *   await lb.deploy({ interfaces: ['eth0'], services: [...] });
 */
@injectable()
export class LoadBalancer {
  /** Told when a change waits for another process's lock (the CLI says it on stderr). */
  onLockWait: ((message: string) => void) | undefined;

  constructor(@inject(StrategyRegistry) readonly strategies: StrategyRegistry) {}

  private get lockOptions() {
    return this.onLockWait ? { onWait: this.onLockWait } : {};
  }

  /** Resolution context: strategies from the registry, interfaces looked up in `netns`. */
  context(netns: string | null = null, source?: string): ResolveContext {
    const ns = new NetnsScope(netns);
    return {
      strategyOptions: (id) => this.strategies.find(id)?.optionsSchema,
      strategyIds: () => this.strategies.ids(),
      strategyProblem: (id) => {
        const path = this.strategies.find(id)?.fragmentPath;
        return path && !existsSync(path) ? `strategy fragment ${path} does not exist` : undefined;
      },
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

  /** Validates a config without touching the kernel (a third-party strategy is compiled first). */
  async checkConfig(input: unknown, opts: { netns?: string | null; source?: string; checkInterfaces?: boolean } = {}): Promise<LbConfig> {
    // An unknown namespace, not "no interface named eth0" for each of its interfaces.
    if (opts.checkInterfaces !== false) requireNetns(opts.netns ?? null);
    await this.resolveStrategyOf(input);
    const ctx = this.context(opts.netns ?? null, opts.source);
    if (opts.checkInterfaces === false) delete ctx.interfaceExists;
    const cfg = resolveConfig(input, ctx);
    // A third-party strategy is checked by compiling the program it joins (once: cached).
    const builtin = new Set(this.strategies.builtins().map((s) => s.id));
    if (cfg.services.some((s) => !builtin.has(s.strategy))) await this.program(cfg);
    return cfg;
  }

  async checkConfigFile(file: string, opts: { netns?: string | null; checkInterfaces?: boolean } = {}): Promise<LbConfig> {
    return this.checkConfig(readConfigFile(file), { ...opts, source: file });
  }

  /** What this machine lets xdp-lb do, found by trying (`lb doctor`); changes nothing. */
  async doctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
    return doctor(opts);
  }

  /** Every xdp-lb chain (or one) with the program in each slot and who owns it (`lb chain status`). */
  chains(name?: string): ChainView[] {
    return chains(name);
  }

  /** Puts another XDP program (a firewall, a filter) into a free slot of a chain (`lb chain add`). */
  async chainAdd(req: MemberRequest, opts: { replace?: boolean } = {}): Promise<ChainSlotView> {
    requirePrivileges('chain add');
    return withChainLock(req.chain, () => chainAdd(req, opts), this.lockOptions);
  }

  /** Empties an operator's slot of a chain; the last program out removes the chain (`lb chain remove`). */
  chainRemove(chain: string, slot: number): { removed: ChainSlotView; chainRemoved: boolean } {
    requirePrivileges('chain remove');
    return withChainLockSync(chain, () => chainRemove(chain, slot), this.lockOptions);
  }

  async deploy(input: unknown, opts: DeployOptions & { source?: string } = {}): Promise<DeployResult> {
    // The first error is the one to fix first: privileges, the pin filesystem, the namespace, and
    // only then the config (whose interfaces are looked up in that namespace).
    requirePrivileges('deploy');
    requireBpffs();
    requireNetns(opts.netns ?? null);
    const cfg = await this.checkConfig(input, { netns: opts.netns ?? null, ...(opts.source ? { source: opts.source } : {}) });
    const program = await this.program(cfg);
    const run = () => deploy(cfg, program, new NetnsScope(opts.netns ?? null), opts);
    // Chained: the chain's lock too (inside the instance's), as lb chain add/remove take it.
    return withInstanceLock(
      cfg.instance,
      () => (cfg.chain ? withChainLock(cfg.chain.name, run, this.lockOptions) : run()),
      this.lockOptions,
    );
  }

  async deployFile(file: string, opts: DeployOptions = {}): Promise<DeployResult> {
    return this.deploy(readConfigFile(file), { ...opts, source: file });
  }

  /** Imports (or finds) the third-party strategies named by the config, its own and its services', before it is validated. */
  private async resolveStrategyOf(input: unknown): Promise<void> {
    const cfg = input as { strategy?: unknown; services?: { strategy?: unknown }[] } | null;
    const refs = [cfg?.strategy, ...(Array.isArray(cfg?.services) ? cfg.services.map((s) => s?.strategy) : [])];
    for (const ref of new Set(refs)) if (typeof ref === 'string' && ref) await this.strategies.resolve(ref);
  }

  /**
   * The program (its strategies, in fragment order, and its object) a config needs: built-ins and
   * the third-party strategies its services use, assembled (compiled once, cached).
   */
  async program(cfg: Pick<LbConfig, 'services'>): Promise<ProgramStrategies> {
    try {
      return await programFor(this.strategies, cfg);
    } catch (e) {
      throw e instanceof LbError ? e : new LbError((e as Error).message, 'EINVAL');
    }
  }

  /** The program an instance runs. */
  private async programOfState(state: InstanceState): Promise<ProgramStrategies> {
    try {
      return await programOf(this.strategies, programStrategyIds(state), state.strategy.objectPath);
    } catch (e) {
      throw new LbError(`instance ${state.instance}: ${(e as Error).message}`);
    }
  }

  /** `force`: also when the state file is damaged (undeploy.ts). */
  undeploy(instance = 'default', opts: { force?: boolean } = {}): UndeployResult {
    requirePrivileges('undeploy');
    return withInstanceLockSync(
      instance,
      () => {
        // An agent would lose its lock file and state under it, and deploy again at its next resync.
        const agent = runningAgent(instance);
        if (agent) {
          throw new LbError(
            `instance ${instance} is served by an agent: pid ${agent.pid} (${agent.command}); stop the agent first (lb serve --detach-on-exit undeploys as it stops), then undeploy`,
            'EBUSY',
          );
        }
        const chain = chainOfInstance(instance);
        return chain ? withChainLockSync(chain, () => undeploy(instance, opts), this.lockOptions) : undeploy(instance, opts);
      },
      this.lockOptions,
    );
  }

  status(instance = 'default'): StatusView {
    requirePrivileges('status');
    return status(instance);
  }

  /**
   * The data plane's counters, attachments and serving state, cheap enough for every tick (`lb
   * stats`) and scrape (the agent): no conntrack walk, no slot count (lifecycle/reading.ts).
   */
  reading(instance = 'default'): DataplaneReading {
    requirePrivileges('status');
    const state = requireState(instance);
    checkLayout(instance, instancePaths(instance));
    return readDataplaneOf(state);
  }

  /** A service's slot table as the data plane reads it, backend keys slot by slot (compare nodes). */
  table(instance: string, service: string): (string | null)[] {
    requirePrivileges('status');
    return slotTable(instance, service);
  }

  /** Applies one hot change (backend add/remove/drain/weight, service add/remove). */
  async update(instance: string, mutation: Mutation): Promise<{ config: LbConfig; warnings: string[] }> {
    requirePrivileges('update');
    return withInstanceLock(
      instance,
      async () => {
        const state = requireStateRecovered(instance);
        if (mutation.kind === 'service-add') await this.resolveStrategyOf({ services: [mutation.service] });
        if (mutation.kind === 'service-strategy') await this.resolveStrategyOf({ strategy: mutation.strategy });
        return update(instance, mutation, await this.programOfState(state), this.context(state.netns));
      },
      this.lockOptions,
    );
  }

  /**
   * Replaces the services of a running instance with those of `input` (same load-time settings).
   * Only what changed is written; `rewrite`: everything (to repair maps that disagree with it).
   */
  async reload(instance: string, input: unknown, opts: { rewrite?: boolean } = {}): Promise<{ config: LbConfig; warnings: string[] }> {
    requirePrivileges('reload');
    return withInstanceLock(
      instance,
      async () => {
        const state = requireStateRecovered(instance);
        await this.resolveStrategyOf(input);
        return update(instance, { kind: 'replace', config: input }, await this.programOfState(state), this.context(state.netns), opts);
      },
      this.lockOptions,
    );
  }

  /** The applied config of a running instance. */
  async config(instance = 'default'): Promise<LbConfig> {
    const state = requireState(instance);
    const program = await this.programOfState(state);
    return resolveConfig(state.config, {
      strategyOptions: (id) => (program.carries(id) ? program.of(id).optionsSchema : undefined),
      source: 'saved state',
    });
  }

  instances(): string[] {
    return listInstances();
  }
}

/** The chain an instance has (or an interrupted first deploy took) a slot in, if any. */
function chainOfInstance(instance: string): string | undefined {
  try {
    return readState(instance)?.chain?.name ?? readIntent(instance)?.chain?.name;
  } catch {
    return readIntent(instance)?.chain?.name; // a damaged state (undeploy --force)
  }
}
