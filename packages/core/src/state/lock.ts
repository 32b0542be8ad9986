import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { flock } from '../dataplane/flock.js';
import { LbError } from '../lifecycle/errors.js';
import { instancePaths, stateRoot } from './paths.js';

/**
 * One writer at a time per instance. Every command that changes an instance (deploy, hot update,
 * reload, undeploy: the CLI, the library and the agent alike) holds `<state dir>/lock`; a second
 * one waits, at most `XDP_LB_LOCK_TIMEOUT` seconds (default 30), then gives up naming the holder.
 * `lb serve` also holds `<state dir>/agent.lock` for its whole life: one agent per instance.
 *
 * Why flock(2) on a file: the kernel drops the lock when its holder's descriptor closes, so a
 * killed command (SIGKILL, OOM) never leaves a stale lock to clean up by hand, unlike a pid file or
 * an O_EXCL lock file; it works across network namespaces (an abstract unix socket, the other
 * lock that dies with its holder, is per namespace), and it is what flock(1) and ip(8)'s users
 * know. It is advisory: a tool that ignores it is not stopped (nothing else writes our pins).
 * The holder's pid and command are written into the file for the message of whoever waits.
 */
export type LockName = 'lock' | 'agent.lock';

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

export class InstanceLock {
  private released = false;

  /** `instance`: the instance, or `chain <name>` for a chain's lock (chainLockFile). */
  constructor(
    private readonly fd: number,
    readonly instance: string,
    readonly file: string,
  ) {}

  /**
   * Lets the next writer in. An instance that is not deployed (after undeploy, or a first deploy
   * that failed) leaves nothing: the lock file, and its state dir when that is empty, go first.
   * A chain's lock file always goes (a waiter checks that it holds the file at the path).
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      if (this.instance.startsWith('chain ')) removeEmptyStateDir(this.file);
      else if (!existsSync(instancePaths(this.instance).stateFile)) removeEmptyStateDir(this.file);
      else ftruncateSync(this.fd, 0);
    } finally {
      closeSync(this.fd);
    }
  }
}

/**
 * A chain's lock: `lb chain add/remove` and every deploy or undeploy of an instance that has a slot
 * in the chain hold it while they change the chain's program array and root, so that two writers
 * never decide on the same slot. Taken after the instance's lock when both are needed, never the
 * other way round. Kept in `<state root>/.chains/` (a name no instance can have).
 */
export function chainLockFile(chain: string): string {
  return join(stateRoot(), '.chains', `${chain}.lock`);
}

export async function lockChain(chain: string, opts: LockOptions = {}): Promise<InstanceLock> {
  return acquire(`chain ${chain}`, chainLockFile(chain), opts, async (ms) => new Promise((r) => setTimeout(r, ms)));
}

export async function withChainLock<T>(chain: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  return holding(lockChain(chain, opts), fn);
}

export function withChainLockSync<T>(chain: string, fn: () => T, opts: LockOptions = {}): T {
  return holdingSync(acquireSync(`chain ${chain}`, chainLockFile(chain), opts), fn);
}

/**
 * The agent (`lb serve`) of the instance, when one runs in another process: undeploy refuses
 * under a running agent (it would remove the agent's lock file and state under it, and the
 * agent's next resync would deploy again). The agent's own undeploy (on stop) is not refused.
 */
export function runningAgent(instance: string): LockHolder | undefined {
  const file = join(instancePaths(instance).stateDir, 'agent.lock');
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDWR);
  } catch {
    return undefined; // no agent ever ran, or it stopped and removed its file
  }
  try {
    if (flock(fd, 'exclusive')) return undefined; // nobody holds it (released by closing fd)
    const holder = holderOf(file);
    return holder?.pid === process.pid ? undefined : (holder ?? { pid: 0, command: 'lb serve', since: 'unknown' });
  } finally {
    closeSync(fd);
  }
}

/** Seconds a writer waits for the lock: XDP_LB_LOCK_TIMEOUT, default 30. */
export function lockTimeoutMs(): number {
  const v = Number(process.env.XDP_LB_LOCK_TIMEOUT ?? 30);
  return Number.isFinite(v) && v >= 0 ? v * 1000 : 30_000;
}

export interface LockOptions {
  name?: LockName;
  timeoutMs?: number;
  /** Called once, when the lock is held by another process and this one starts waiting. */
  onWait?: (message: string) => void;
}

/** Takes the instance's lock, waiting (without blocking the event loop) up to `timeoutMs`. */
export async function lockInstance(instance: string, opts: LockOptions = {}): Promise<InstanceLock> {
  return acquire(
    instance,
    join(instancePaths(instance).stateDir, opts.name ?? 'lock'),
    opts,
    async (ms) => new Promise((r) => setTimeout(r, ms)),
  );
}

/** The same for synchronous callers (undeploy): sleeps the thread between tries. */
export function lockInstanceSync(instance: string, opts: LockOptions = {}): InstanceLock {
  return acquireSync(instance, join(instancePaths(instance).stateDir, opts.name ?? 'lock'), opts);
}

async function acquire(what: string, file: string, opts: LockOptions, sleep: (ms: number) => Promise<void>): Promise<InstanceLock> {
  const timeoutMs = opts.timeoutMs ?? lockTimeoutMs();
  const end = Date.now() + timeoutMs;
  const notice = waitNotice(what, timeoutMs, opts);
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const r = tryLock(what, file);
    if (r instanceof InstanceLock) return r;
    if (Date.now() >= end) throw busy(what, r, timeoutMs, opts.name);
    notice(r);
    await sleep(delay);
  }
}

function acquireSync(what: string, file: string, opts: LockOptions): InstanceLock {
  const timeoutMs = opts.timeoutMs ?? lockTimeoutMs();
  const end = Date.now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const notice = waitNotice(what, timeoutMs, opts);
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const r = tryLock(what, file);
    if (r instanceof InstanceLock) return r;
    if (Date.now() >= end) throw busy(what, r, timeoutMs, opts.name);
    notice(r);
    Atomics.wait(sleeper, 0, 0, delay);
  }
}

/**
 * Says once that this writer waits (onWait), naming the holder. A holder writes its name just
 * after it takes the lock, so a waiter that reads the file in between finds nobody yet: it gives
 * the name three tries (about 35 ms) to appear before it says "another process".
 */
function waitNotice(what: string, timeoutMs: number, opts: LockOptions): (holder: LockHolder | undefined) => void {
  let tries = 0;
  let told = false;
  return (holder) => {
    tries++;
    if (told || timeoutMs <= 0 || (holder === undefined && tries < 4)) return;
    told = true;
    opts.onWait?.(`${label(what)} is locked: ${holderText(holder)}; waiting up to ${timeoutMs / 1000} s`);
  };
}

/** `instance X` or `chain X` in messages. */
function label(what: string): string {
  return what.startsWith('chain ') ? what : `instance ${what}`;
}

/** `fn` under the instance's lock (released also when it throws). */
export async function withInstanceLock<T>(instance: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  return holding(lockInstance(instance, opts), fn);
}

export function withInstanceLockSync<T>(instance: string, fn: () => T, opts: LockOptions = {}): T {
  return holdingSync(lockInstanceSync(instance, opts), fn);
}

/** `fn` once `lock` is taken; the lock is released also when `fn` throws. */
async function holding<T>(lock: Promise<InstanceLock>, fn: () => Promise<T>): Promise<T> {
  const held = await lock;
  try {
    return await fn();
  } finally {
    held.release();
  }
}

function holdingSync<T>(lock: InstanceLock, fn: () => T): T {
  try {
    return fn();
  } finally {
    lock.release();
  }
}

/** The lock, or who holds it now (undefined when the file names nobody yet). */
function tryLock(instance: string, file: string): InstanceLock | LockHolder | undefined {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (e) {
    // The holder removed the dir (undeploy) between our mkdir and open: try again.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LbError(`lock ${file}: ${(e as Error).message}`, (e as NodeJS.ErrnoException).code);
  }
  let ok = false;
  try {
    if (!flock(fd, 'exclusive')) return holderOf(file);
    // Taken, but on the file we opened: if its holder removed it meanwhile (undeploy removes the
    // state dir), a newer writer may hold a new file at the same path. Only the file at the path counts.
    let same = false;
    try {
      same = statSync(file).ino === fstatSync(fd).ino;
    } catch {
      /* gone */
    }
    if (!same) return undefined;
    const holder: LockHolder = { pid: process.pid, command: commandLine(), since: new Date().toISOString() };
    ftruncateSync(fd, 0);
    writeSync(fd, `${JSON.stringify(holder)}\n`, 0);
    ok = true;
    return new InstanceLock(fd, instance, file);
  } finally {
    if (!ok) closeSync(fd);
  }
}

function holderOf(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

function holderText(holder: LockHolder | undefined): string {
  return holder ? `pid ${holder.pid} (${holder.command}) holds it since ${holder.since}` : 'another process holds it';
}

function busy(instance: string, holder: LockHolder | undefined, timeoutMs: number, name: LockName | undefined): LbError {
  const who = holderText(holder);
  if (name === 'agent.lock')
    return new LbError(`instance ${instance} is already served by an agent: ${who}; one lb serve per instance`, 'EBUSY');
  return new LbError(
    `${label(instance)} is locked by another command: ${who}; gave up after ${timeoutMs / 1000} s (XDP_LB_LOCK_TIMEOUT)`,
    'EBUSY',
  );
}

/** What the waiting side's message calls the holder: `lb backend add ...` for the CLI. */
function commandLine(): string {
  const script = process.argv[1] ? basename(process.argv[1]) : '';
  const name =
    process.title && process.title !== 'node' && !process.title.includes('/') ? process.title : script ? `node ${script}` : 'node';
  return [name, ...process.argv.slice(2)].join(' ').slice(0, 200);
}

/** The lock file of an instance that is not deployed, and its then empty state dir (and root). */
function removeEmptyStateDir(file: string): void {
  rmSync(file, { force: true });
  const dir = dirname(file);
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
    // Under the state root: an instance's dir, or .chains.
    if (readdirSync(stateRoot()).length === 0) rmdirSync(stateRoot());
  } catch {
    /* not empty, or gone */
  }
}
