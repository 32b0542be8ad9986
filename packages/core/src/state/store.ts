import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ConfigInput } from '../config/schema.js';
import type { Allocation } from './allocation.js';
import { instancePaths, stateRoot } from './paths.js';
import type { LinkChange } from '../lifecycle/link-prep.js';

/** What a deploy leaves on disk so that every later command (and a restarted agent) can adopt it. */
export interface InstanceState {
  layout: number;
  instance: string;
  /** The applied config, as input the tool accepts (`lb config dump` prints it). */
  config: ConfigInput;
  strategy: { id: string; objectPath: string };
  /** Network namespace the interfaces live in (a /run/netns name), if not the caller's own. */
  netns: string | null;
  interfaces: AttachedInterface[];
  allocation: Allocation;
  /** Chained mode: the chain, our slot in it and the program we put there. */
  chain?: { name: string; slot: number; progId: number };
  /** sysctls deploy changed, with the values undeploy puts back. */
  restore: Record<string, string>;
  /** Device changes deploy made besides attaching (lifecycle/link-prep.ts), undone by undeploy. */
  links?: LinkChange[];
  deployedAt: string;
  updatedAt: string;
}

export interface AttachedInterface {
  name: string;
  ifindex: number;
  requestedMode: string;
  /** The mode obtained: skb (generic), drv (native) or hw (offload). */
  mode: 'skb' | 'drv' | 'hw';
  linkPin: string;
}

export function readState(instance: string): InstanceState | undefined {
  const { stateFile } = instancePaths(instance);
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(readFileSync(stateFile, 'utf8')) as InstanceState;
}

/** Atomic (write + rename) and readable by root only: it names every address of the deployment. */
export function writeState(state: InstanceState): void {
  const { stateFile, stateDir } = instancePaths(state.instance);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
  const tmp = `${stateFile}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, stateFile);
}

export function removeState(instance: string): void {
  const { stateDir } = instancePaths(instance);
  rmSync(stateDir, { recursive: true, force: true });
  try {
    if (readdirSync(dirname(stateDir)).length === 0 && dirname(stateDir) === stateRoot()) rmSync(dirname(stateDir), { recursive: true, force: true });
  } catch {
    /* the root may not exist */
  }
}

export function listInstances(): string[] {
  try {
    return readdirSync(stateRoot()).filter((n) => existsSync(instancePaths(n).stateFile)).sort();
  } catch {
    return [];
  }
}
