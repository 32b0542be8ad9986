import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
  existsSync,
  readdirSync,
} from 'node:fs';
import { z } from 'zod';
import { LbError } from '../lifecycle/errors.js';
import { dirname } from 'node:path';
import type { ConfigInput } from '../config/schema.js';
import type { Allocation } from './allocation.js';
import { instancePaths, stateRoot } from './paths.js';
import { INSTANCE_NAME } from '../config/defaults.js';
import type { LinkChange } from '../lifecycle/link-prep.js';

/** What a deploy leaves on disk so that every later command (and a restarted agent) can adopt it. */
export interface InstanceState {
  layout: number;
  instance: string;
  /** The applied config, as input the tool accepts (`lb config dump` prints it). */
  config: ConfigInput;
  /** The default strategy (the config's) and the loaded program's object. */
  strategy: { id: string; objectPath: string };
  /** The strategies the loaded program carries, in fragment order (lb_svc.strategy indexes it);
   * absent in states written before per-service strategies: [strategy.id]. */
  strategies?: string[];
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

/**
 * The shape a state file must have before anything acts on it. The applied config inside is
 * checked by resolveConfig (desiredOf) like any config, naming this file as its source.
 */
const StateSchema = z.object({
  layout: z.number().int(),
  instance: z.string(),
  config: z.record(z.string(), z.unknown()),
  strategy: z.object({ id: z.string(), objectPath: z.string() }),
  strategies: z.array(z.string()).min(1).optional(),
  netns: z.string().nullable(),
  interfaces: z.array(
    z.object({
      name: z.string(),
      ifindex: z.number().int(),
      requestedMode: z.string(),
      mode: z.enum(['skb', 'drv', 'hw']),
      linkPin: z.string(),
    }),
  ),
  allocation: z.object({
    nextGen: z.number().int(),
    services: z.record(
      z.string(),
      z.object({
        id: z.number().int().nonnegative(),
        backends: z.record(z.string(), z.object({ id: z.number().int().nonnegative(), gen: z.number().int() })),
      }),
    ),
    retired: z.record(z.string(), z.number()).optional(),
  }),
  chain: z.object({ name: z.string(), slot: z.number().int(), progId: z.number().int() }).optional(),
  // Device changes deploy made (lifecycle/link-prep.ts): undeploy puts each back, so a read must keep them.
  links: z
    .array(
      z.object({
        netns: z.string().nullable(),
        dev: z.string(),
        features: z.array(z.string()).optional(),
        xdpPass: z.number().int().optional(),
      }),
    )
    .optional(),
  restore: z.record(z.string(), z.string()),
  deployedAt: z.string(),
  updatedAt: z.string(),
});

/**
 * The instance's state, validated; undefined when it is not deployed. A file that cannot be read
 * or does not have the state's shape (a disk error, a hand edit, a crash of an old version that
 * wrote in place) is an LbError naming the file and the way out, never a raw JSON or TypeError.
 */
export function readState(instance: string): InstanceState | undefined {
  const { stateFile } = instancePaths(instance);
  if (!existsSync(stateFile)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch (e) {
    throw damaged(instance, stateFile, (e as Error).message);
  }
  const r = StateSchema.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw damaged(instance, stateFile, `${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  if (r.data.instance !== instance) throw damaged(instance, stateFile, `it is the state of instance "${r.data.instance}"`);
  return r.data as InstanceState;
}

function damaged(instance: string, file: string, why: string): LbError {
  return new LbError(
    `state file ${file} is damaged (${why}): lb undeploy --force --instance ${instance} removes the instance from its pins alone`,
    'EBADSTATE',
  );
}

/**
 * Atomic and durable: written to a temporary file, flushed, renamed over the old one and the
 * directory flushed, so that a crash or a power cut leaves the old state or the new one, never a
 * torn file. Readable by root only: it names every address of the deployment.
 */
export function writeState(state: InstanceState): void {
  const { stateFile, stateDir } = instancePaths(state.instance);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
  const tmp = `${stateFile}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(state, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, stateFile);
  // A writer killed before its rename left its temporary file; under the lock, none is in use.
  for (const f of readdirSync(stateDir)) if (f.startsWith('state.json.tmp-')) rmSync(`${stateDir}/${f}`, { force: true });
  const dir = openSync(stateDir, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export function removeState(instance: string): void {
  const { stateDir } = instancePaths(instance);
  rmSync(stateDir, { recursive: true, force: true });
  try {
    if (readdirSync(dirname(stateDir)).length === 0 && dirname(stateDir) === stateRoot())
      rmSync(dirname(stateDir), { recursive: true, force: true });
  } catch {
    /* the root may not exist */
  }
}

export function listInstances(): string[] {
  try {
    return readdirSync(stateRoot())
      .filter((n) => INSTANCE_NAME.test(n) && existsSync(instancePaths(n).stateFile))
      .sort();
  } catch {
    return [];
  }
}

/**
 * The intent of a change in progress: written (durably) before a change touches the kernel and
 * removed once the new state is written. Found by the next writer (under the instance lock, so
 * its writer is gone), it says a change was interrupted between the two. With a state file (a
 * re-deploy or hot update was interrupted), the maps may hold part of it, so the next change
 * rewrites every map instead of only what differs from the state. Without one (a first deploy was
 * interrupted), the next writer rolls the deploy back (lifecycle/recover.ts) from the pins and from
 * what the intent records of the changes outside them, rewritten as the deploy makes them.
 */
export interface Intent {
  pid: number;
  action: string;
  since: string;
  /** A first deploy: the network namespace of its interfaces. */
  netns?: string | null;
  /** A first deploy: sysctls it changed (forwarding), with the values to put back. */
  restore?: Record<string, string>;
  /** A first deploy: device changes it made (lifecycle/link-prep.ts), to undo. */
  links?: LinkChange[];
  /** A first deploy in chained mode: its chain, slot and (once loaded) program. */
  chain?: { name: string; slot: number; progId?: number };
}

const intentFile = (instance: string) => `${instancePaths(instance).stateDir}/intent.json`;

/** Writes (or rewrites, as a first deploy records more of what it changed) the intent, durably. */
export function writeIntent(instance: string, action: string, record: Omit<Intent, 'pid' | 'action' | 'since'> = {}): void {
  const { stateDir } = instancePaths(instance);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const tmp = `${intentFile(instance)}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify({ pid: process.pid, action, since: new Date().toISOString(), ...record } satisfies Intent) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // Renamed: a rewrite killed half-way leaves the previous record, not a torn one.
  renameSync(tmp, intentFile(instance));
}

/** The intent an interrupted change left, if any (a torn one counts as interrupted too). */
export function readIntent(instance: string): Intent | undefined {
  const f = intentFile(instance);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Intent;
  } catch {
    return { pid: 0, action: 'unknown', since: 'unknown' };
  }
}

export function clearIntent(instance: string): void {
  rmSync(intentFile(instance), { force: true });
}

/** The strategies of an instance's loaded program, in fragment order (lb_svc.strategy indexes it). */
export function programStrategyIds(state: Pick<InstanceState, 'strategy' | 'strategies'>): string[] {
  return state.strategies ?? [state.strategy.id];
}
