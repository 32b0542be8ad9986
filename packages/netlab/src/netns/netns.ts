// A named network namespace and the ways to run things in it.
//
// Commands enter with `nsenter --net=/run/netns/NAME`, never `ip netns exec`: the latter also
// unshares the mount namespace and mounts a fresh /sys, so bpffs pins made by the command land in a
// private mount and vanish when it exits (taking a pinned XDP link with them). nsenter switches the
// network namespace only, so /sys/fs/bpf stays the host's.
import { type ExecOptions, type ExecResult, exec, execSync } from './exec.js';
import { trackForExit, untrackForExit } from './cleanup.js';
import { NETNS_DIR, newRunId, netnsExists } from './names.js';
import { killAll, pidsInNetns } from './procfs.js';
import { LabProcess, type SpawnOptions } from './process.js';

/** Anything commands can run in: a `Netns`, or a lab host (which tracks what it spawns). */
export interface NetnsLike {
  readonly netns: Netns;
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  spawn(argv: readonly string[], options?: SpawnOptions): LabProcess;
}

export interface CreateNetnsOptions {
  /** Delete it when this process exits (default true). */
  trackForExit?: boolean;
}

export class Netns implements NetnsLike {
  private deleted = false;

  constructor(readonly name: string) {}

  /** The bind mount that names the namespace (what nsenter and `ip netns` open). */
  get path(): string {
    return `${NETNS_DIR}/${this.name}`;
  }

  /** Itself, so that a `Netns` is a `NetnsLike`. */
  get netns(): Netns {
    return this;
  }

  /** Creates the namespace (failing if the name is taken) and brings its loopback up. */
  static async create(name: string, options: CreateNetnsOptions = {}): Promise<Netns> {
    const ns = new Netns(name);
    if (netnsExists(name)) throw new Error(`network namespace ${name} already exists`);
    if (options.trackForExit ?? true) trackForExit(ns);
    await exec(['ip', 'netns', 'add', name]);
    await ns.exec(['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * Creates `<prefix><pid>-<random>-<label>`: unique, and recognisable by `gcStale` once this
   * process is gone. For one-off namespaces outside a `Lab`.
   */
  static createUnique(label: string, prefix?: string): Promise<Netns> {
    return Netns.create(`${newRunId(prefix)}-${label}`);
  }

  exists(): boolean {
    return netnsExists(this.name);
  }

  /** `argv` prefixed to run inside this namespace (network namespace only). */
  wrap(argv: readonly string[]): string[] {
    return ['nsenter', `--net=${this.path}`, '--', ...argv];
  }

  /** Runs a command to completion inside the namespace (default timeout 30 s, throws on failure). */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    return exec(this.wrap(argv), options);
  }

  execSync(argv: readonly string[], options?: ExecOptions): ExecResult {
    return execSync(this.wrap(argv), options);
  }

  /** Runs a shell script inside the namespace. */
  sh(script: string, options?: ExecOptions): Promise<ExecResult> {
    return this.exec(['sh', '-c', script], options);
  }

  /** Starts a long-running process inside the namespace; see `LabProcess`. */
  spawn(argv: readonly string[], options: SpawnOptions = {}): LabProcess {
    const guarded = (options.dieWithParent ?? true) ? ['setpriv', '--pdeathsig', 'KILL', '--', ...argv] : [...argv];
    return new LabProcess(this.wrap(guarded), { ...options, label: options.label ?? `[${this.name}] ${argv.join(' ')}` });
  }

  /** Sets sysctls inside the namespace (`/proc/sys/net` is per network namespace). */
  async sysctl(values: Record<string, string | number | boolean>): Promise<void> {
    const args = Object.entries(values).map(([k, v]) => `${k}=${typeof v === 'boolean' ? Number(v) : v}`);
    if (args.length > 0) await this.exec(['sysctl', '-q', '-w', ...args]);
  }

  /** Pids of the processes whose network namespace this is. */
  pids(): number[] {
    return pidsInNetns([this.name]).get(this.name) ?? [];
  }

  /** Kills whatever still runs inside, then deletes the namespace. Idempotent. */
  async delete(): Promise<void> {
    this.deleteSync();
  }

  deleteSync(): void {
    if (this.deleted) return;
    this.deleted = true;
    untrackForExit(this);
    deleteNetnsSync([this.name]);
  }

  destroySync(): void {
    this.deleteSync();
  }
}

/**
 * SIGKILLs every process inside the named namespaces and deletes them, in one `ip` call.
 * Returns the pids killed. Names that do not exist are skipped.
 */
export function deleteNetnsSync(names: readonly string[]): number[] {
  const present = names.filter(netnsExists);
  if (present.length === 0) return [];
  const killed = killAll([...pidsInNetns(present).values()].flat());
  execSync(['ip', '-force', '-batch', '-'], { input: present.map((n) => `netns delete ${n}\n`).join(''), check: false, timeoutMs: 15_000 });
  const left = present.filter(netnsExists);
  if (left.length > 0) throw new Error(`could not delete network namespace(s): ${left.join(', ')}`);
  return killed;
}
