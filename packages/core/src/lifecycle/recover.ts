import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { detachPinnedLink } from '../dataplane/xdp.js';
import { NetnsScope } from '../dataplane/netns.js';
import { leaveChain } from '../dataplane/chain.js';
import { bpffsRoot, instancePaths } from '../state/paths.js';
import { clearIntent, type Intent, readIntent, readState } from '../state/store.js';
import { restoreLinks } from './link-prep.js';

/**
 * The next writer's repair of a first deploy that was interrupted (killed, a crash) before it
 * wrote its state: pins (maps, links attached to interfaces) and changes outside them (sysctls,
 * device settings, a chain slot) that no state file describes. There is nothing to complete it
 * from that the caller did not ask for, so it is rolled back: every link pinned under the instance
 * detached, its pins removed, and what the intent recorded put back (store.ts Intent). Runs under
 * the instance lock, first thing in deploy, update and undeploy; returns the one line to say, or
 * undefined when there was nothing to repair. An interrupted re-deploy or hot update (a state file
 * exists) is not handled here: the next change rewrites every map (deploy.ts, update.ts).
 */
export function recoverFirstDeploy(instance: string): string | undefined {
  const paths = instancePaths(instance);
  if (readState(instance)) return undefined;
  const intent = readIntent(instance);
  if (!intent && !existsSync(paths.root)) return undefined;
  return rolledBack(instance, intent, rollBack(instance, intent));
}

/** The one line that says a first deploy was rolled back, and what that undid. */
export function rolledBack(instance: string, intent: Intent | undefined, detached: readonly string[]): string {
  const what = intent
    ? `a first deploy of instance ${instance} (pid ${intent.pid}, since ${intent.since})`
    : `a deploy of instance ${instance} that left no state`;
  return `${what} was interrupted: rolled back (${detached.length ? `detached from ${detached.join(', ')}, ` : ''}pins removed${intent?.restore && Object.keys(intent.restore).length ? ', sysctls restored' : ''})`;
}

/** Undoes a first deploy from its pins and intent; returns the interfaces it detached. */
export function rollBack(instance: string, intent: Intent | undefined): string[] {
  const detached = removeInstancePins(instance);
  if (intent?.chain) leaveChain(intent.chain.name, intent.chain.slot, intent.chain.progId ?? -1);
  restoreLinks(intent?.links ?? []);
  const ns = new NetnsScope(intent?.netns ?? null);
  for (const [key, value] of Object.entries(intent?.restore ?? {})) {
    try {
      ns.sysctlWrite(key, value);
    } catch {
      /* the interface or namespace may be gone */
    }
  }
  clearIntent(instance);
  return detached;
}

/**
 * Detaches every link still pinned under the instance (named after its interface) and removes
 * its pins; returns the interfaces detached. The last instance out leaves no empty
 * /sys/fs/bpf/xdp-lb behind either.
 */
export function removeInstancePins(instance: string): string[] {
  const paths = instancePaths(instance);
  const detached: string[] = [];
  for (const name of existsSync(paths.links) ? readdirSync(paths.links) : []) {
    detachPinnedLink(join(paths.links, name));
    detached.push(name);
  }
  rmSync(paths.root, { recursive: true, force: true });
  try {
    if (readdirSync(bpffsRoot()).length === 0) rmdirSync(bpffsRoot());
  } catch {
    /* not there, or not empty */
  }
  return detached;
}
