import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { NetnsScope } from '../dataplane/netns.js';
import { bpffsRoot, instancePaths } from '../state/paths.js';
import { readState, removeState } from '../state/store.js';
import { detachPinnedLink } from '../dataplane/xdp.js';
import { chainSlots, leaveChain } from '../dataplane/chain.js';
import { LbError } from './errors.js';
import { restoreLinks } from './link-prep.js';

export interface UndeployResult {
  instance: string;
  detached: string[];
}

/** Removes every link, pin and state file of the instance and restores the sysctls and device settings it changed. */
export function undeploy(instance: string): UndeployResult {
  const paths = instancePaths(instance);
  const state = readState(instance);
  if (!state && !existsSync(paths.root)) throw new LbError(`instance ${instance} is not deployed`, 'ENOENT');
  const detached: string[] = [];
  if (state?.chain) {
    // Chained: leave our slot; the root stays on the interfaces while other members use it.
    leaveChain(state.chain.name, state.chain.slot, state.chain.progId);
    if (Object.keys(chainSlots(state.chain.name)).length === 0) {
      for (const iface of state.interfaces) detachPinnedLink(iface.linkPin);
      detached.push(...state.interfaces.map((i) => i.name));
    }
  } else {
    for (const iface of state?.interfaces ?? []) {
      detachPinnedLink(iface.linkPin);
      detached.push(iface.name);
    }
  }
  if (state) {
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
  }
  rmSync(paths.root, { recursive: true, force: true });
  // The last instance out leaves no empty /sys/fs/bpf/xdp-lb behind either.
  try {
    if (readdirSync(bpffsRoot()).length === 0) rmdirSync(bpffsRoot());
  } catch {
    /* not there, or not empty */
  }
  removeState(instance);
  return { instance, detached };
}
