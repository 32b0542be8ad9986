import { loadTimeChanges } from './load-time.js';
import { existsSync } from 'node:fs';
import { toInput } from '../config/load.js';
import { type ResolveContext, resolveConfig } from '../config/resolve.js';
import type { LbConfig } from '../config/types.js';
import { InstanceMaps } from '../dataplane/maps.js';
import { primeNeighbours } from '../dataplane/neighbours.js';
import { NetnsScope } from '../dataplane/netns.js';
import { allocate } from '../state/allocation.js';
import { instancePaths } from '../state/paths.js';
import { clearIntent, readIntent, readState, writeIntent, writeState, type InstanceState } from '../state/store.js';
import type { ProgramStrategies } from '../strategy/program.js';
import { desiredOf, validateTables } from './desired.js';
import { pinnedCapacity } from '../dataplane/capacity.js';
import { LbError } from './errors.js';
import { checkLayout } from './layout.js';
import { applyMutation, type Mutation } from './mutations.js';
import { enableForwarding } from './forwarding.js';
import { reconcile } from './reconcile.js';
import { crashPoint } from './crash-point.js';
import { recoverFirstDeploy } from './recover.js';
import { checkSnatOwned } from './preflight.js';

export function requireState(instance: string): InstanceState {
  const state = readState(instance);
  if (state) return state;
  const { root } = instancePaths(instance);
  if (existsSync(root)) {
    throw new LbError(
      `instance ${instance} is not deployed, but pins of it remain under ${root} (an interrupted deploy): the next lb deploy or lb undeploy of it rolls them back`,
      'ENOENT',
    );
  }
  throw new LbError(`instance ${instance} is not deployed (lb deploy first)`, 'ENOENT');
}

/** requireState for a writer (under the lock): an interrupted first deploy is rolled back first. */
export function requireStateRecovered(instance: string): InstanceState {
  const recovered = recoverFirstDeploy(instance);
  if (recovered) throw new LbError(`instance ${instance} is not deployed: ${recovered}`, 'ENOENT');
  return requireState(instance);
}

/**
 * A hot update: the new config is validated in full, then written into the running maps in the
 * reconciler's safe order (tables swapped whole). The program and conntrack are untouched, so
 * established flows keep their backends; only what the change names moves.
 * Things fixed at load (interfaces, limits, SNAT ports, hash seed, a strategy the program does
 * not carry) need a re-deploy; a service moving to another strategy of the program is hot.
 * Only what changed is written; `rewrite` writes everything (maps that disagree with the state).
 */
export async function update(
  instance: string,
  mutation: Mutation | { kind: 'replace'; config: unknown },
  strategies: ProgramStrategies,
  ctx: ResolveContext,
  opts: { rewrite?: boolean } = {},
): Promise<{ config: LbConfig; warnings: string[] }> {
  const state = requireStateRecovered(instance);
  const input = mutation.kind === 'replace' ? mutation.config : applyMutation(state.config, mutation);
  const cfg = resolveConfig(input, ctx);
  const prev = desiredOf(state);
  const fixed = loadTimeChanges(prev.config, cfg, strategies.ids);
  const missing = [...new Set(cfg.services.map((s) => s.strategy).filter((id) => !strategies.carries(id)))];
  if (missing.length) {
    throw new LbError(
      `strategy ${missing.join(', ')} is not in the running program (it carries ${strategies.ids.join(', ')}): lb deploy of a config that uses it loads a program that carries it (conntrack kept; lb serve re-deploys by itself)`,
      'EINVAL',
    );
  }
  if (fixed.length)
    throw new LbError(
      `${fixed.join(', ')} changed: these are fixed at load; run lb deploy to apply them (a re-deploy keeps conntrack)`,
      'EINVAL',
    );
  checkLayout(instance, instancePaths(instance));
  const allocation = allocate(state.allocation, cfg, pinnedCapacity(instancePaths(instance).maps));
  validateTables(cfg, strategies, allocation);
  // Before the tables name anything new: a first IPv6 service needs IPv6 forwarding on the
  // interfaces (a no-op when already on), and a new backend's next hop must be resolved (the data
  // plane cannot trigger ARP/ND itself; its first flows would be dropped as drop_no_neigh).
  const ns = new NetnsScope(state.netns);
  // Only when they change: the agent updates on every health flip, and this spawns `ip`.
  const snatText = (c: LbConfig) => (c.snat?.addresses ?? []).map((a) => a.text).join(',');
  if (snatText(cfg) !== snatText(prev.config)) checkSnatOwned(cfg, ns);
  const restore = { ...(state.restore ?? {}) };
  enableForwarding(ns, cfg, restore);
  // Only backends this update adds: the others were primed when they came, and the agent's health
  // checks keep their neighbours resolved. (Each priming runs `ip` in the namespace: a health flip
  // must not wait for a round of processes.)
  const known = new Set(prev.config.services.flatMap((s) => s.backends.map((b) => b.address.text)));
  const unresolved = primeNeighbours(
    ns,
    cfg.services.flatMap((s) => s.backends.map((b) => b.address)).filter((a) => !known.has(a.text)),
  );
  const warnings = unresolved.length ? [`next hop not resolved yet for ${unresolved.join(', ')}`] : [];
  // A change interrupted between its map writes and its state (killed, a crash) left maps the
  // state does not describe: this one rewrites them all rather than only what differs.
  const interrupted = readIntent(instance);
  if (interrupted)
    warnings.push(`a change (${interrupted.action}, pid ${interrupted.pid}, ${interrupted.since}) was interrupted: every map is rewritten`);
  writeIntent(instance, mutation.kind);
  crashPoint('update:intent');
  const maps = InstanceMaps.fromPins(instancePaths(instance).maps);
  try {
    await reconcile(maps, strategies, { config: cfg, allocation }, prev, { full: (opts.rewrite ?? false) || !!interrupted });
  } finally {
    maps.dispose();
  }
  crashPoint('update:maps');
  writeState({ ...state, config: toInput(cfg), allocation, restore, updatedAt: new Date().toISOString() });
  clearIntent(instance);
  return { config: cfg, warnings };
}
