import { existsSync } from 'node:fs';
import { NetnsScope } from '../dataplane/netns.js';
import { instancePaths } from '../state/paths.js';
import { type InstanceState, readIntent, readState, removeState } from '../state/store.js';
import { crashPoint } from './crash-point.js';
import { removeInstancePins, rollBack, rolledBack } from './recover.js';
import { detachPinnedLink } from '../dataplane/xdp.js';
import { chainSlots, leaveChain } from '../dataplane/chain.js';
import { LbError } from './errors.js';
import { restoreLinks } from './link-prep.js';

export interface UndeployResult {
  instance: string;
  detached: string[];
  /** What could not be undone (with `force` and a damaged state file: the sysctls it recorded). */
  warnings: string[];
}

/**
 * Removes every link, pin and state file of the instance and restores the sysctls and device
 * settings it changed.
 * Without a state file (a deploy interrupted before it wrote one) the pins alone say what to
 * remove. `force`: also when the state file is damaged (it is then ignored: the links pinned under
 * the instance are detached, and what only the state knew, the sysctls and device settings to restore or
 * a chain slot, is reported instead of undone).
 */
export function undeploy(instance: string, opts: { force?: boolean } = {}): UndeployResult {
  const paths = instancePaths(instance);
  const warnings: string[] = [];
  let state: InstanceState | undefined;
  try {
    state = readState(instance);
  } catch (e) {
    if (!opts.force) throw e;
    warnings.push(
      `damaged state file ${paths.stateFile} ignored: the sysctls (forwarding) and device settings (ethtool features, a veth peer's xdp_pass) it recorded are left as they are, and a chain slot it held must be emptied with lb chain remove`,
    );
  }
  if (!state && !existsSync(paths.root) && !existsSync(paths.stateFile) && !readIntent(instance))
    throw new LbError(`instance ${instance} is not deployed`, 'ENOENT');
  if (!state) {
    // An interrupted first deploy (its intent says what it changed besides pins), or a damaged
    // state with --force: the pins alone, every link pinned under the instance.
    const intent = readIntent(instance);
    const detached = rollBack(instance, intent);
    if (intent?.action === 'deploy') warnings.push(rolledBack(instance, intent, detached));
    removeState(instance);
    return { instance, detached, warnings };
  }
  const detached: string[] = [];
  if (state?.chain) {
    // Chained: leave our slot; the root stays on the interfaces while other members use it.
    leaveChain(state.chain.name, state.chain.slot, state.chain.progId);
    if (Object.keys(chainSlots(state.chain.name)).length === 0) {
      for (const iface of state.interfaces) detachPinnedLink(iface.linkPin);
      detached.push(...state.interfaces.map((i) => i.name));
    }
  } else {
    for (const iface of state.interfaces) {
      detachPinnedLink(iface.linkPin);
      detached.push(iface.name);
    }
  }
  crashPoint('undeploy:detached');
  // After the detach: the veth peer's xdp_pass goes only once nothing forwards to it. A chain
  // root that stays on the interfaces (other members) still needs the peers as they are.
  if (detached.length) restoreLinks(state.links ?? []);
  const ns = new NetnsScope(state.netns);
  for (const [key, value] of Object.entries(state.restore ?? {})) {
    try {
      ns.sysctlWrite(key, value);
    } catch {
      /* the interface or namespace may be gone already */
    }
  }
  removeInstancePins(instance);
  removeState(instance);
  return { instance, detached, warnings };
}
