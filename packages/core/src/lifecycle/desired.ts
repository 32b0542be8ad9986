import { ConfigError } from '../config/errors.js';
import { resolveConfig } from '../config/resolve.js';
import type { LbConfig } from '../config/types.js';
import { type Allocation, serviceIdentity } from '../state/allocation.js';
import type { InstanceState } from '../state/store.js';
import { instancePaths } from '../state/paths.js';
import type { ProgramStrategies } from '../strategy/program.js';
import { LbError } from './errors.js';
import type { Desired } from './reconcile.js';

/** What a saved state asked the maps to say (its config was validated when it was applied). */
export function desiredOf(state: InstanceState): Desired {
  const file = instancePaths(state.instance).stateFile;
  try {
    return { config: resolveConfig(state.config, { source: file }), allocation: state.allocation };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new LbError(
      `state file ${file} is damaged (config.${e.lines()[0]}): lb undeploy --force --instance ${state.instance} removes the instance from its pins alone`,
      'EBADSTATE',
    );
  }
}

/** Builds every table once before the kernel is touched, so a builder's refusal changes nothing. */
export function validateTables(cfg: LbConfig, strategies: ProgramStrategies, allocation: Allocation): void {
  for (const svc of cfg.services) {
    if (!strategies.carries(svc.strategy)) {
      throw new LbError(
        `service ${svc.name}: strategy "${svc.strategy}" is not in the running program (it carries ${strategies.ids.join(', ')}): run lb deploy to load one that does (a re-deploy keeps conntrack)`,
        'EINVAL',
      );
    }
    const strategy = strategies.of(svc.strategy);
    const alloc = allocation.services[serviceIdentity(svc)]!;
    const active = svc.backends
      .filter((b) => b.state === 'active')
      .map((b) => ({ id: alloc.backends[b.key]!.id, key: b.key, weight: b.weight }));
    try {
      strategy.buildTable(active, svc.options);
    } catch (e) {
      throw new LbError(`service ${svc.name}: ${(e as Error).message}`, 'EINVAL');
    }
  }
}
