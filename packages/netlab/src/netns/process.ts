// A long-running process started in a namespace: a server, a client loop, a capture. The handle
// buffers its output (tests read it, failures quote it), waits for readiness lines, and kills its
// whole process group. Every handle is registered for teardown at exit.
import { type ChildProcess, spawn } from 'node:child_process';
import { killGroup } from './exec.js';
import { trackForExit, untrackForExit } from './cleanup.js';

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A name for messages; default the command. */
  label?: string;
  /** Keep a pipe to the process's stdin (see `write`). Default false. */
  stdin?: boolean;
  /**
   * Have the kernel SIGKILL the process when this Node process dies, even by SIGKILL (setpriv
   * --pdeathsig). Default true; false for processes that must outlive us (persistent labs).
   */
  dieWithParent?: boolean;
  /** Register for teardown at exit (default true). */
  trackForExit?: boolean;
  /** Characters of stdout/stderr kept for inspection (each; oldest dropped). Default 1 MiB. */
  keepChars?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WaitOptions {
  /** Default 10 s. */
  timeoutMs?: number;
}

type LineListener = (line: string) => void;

export class LabProcess {
  readonly pid: number;
  readonly label: string;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess;
  private out = '';
  private err = '';
  private partial = '';
  private readonly allLines: string[] = [];
  private readonly listeners = new Set<LineListener>();
  private exit: ExitInfo | undefined;
  private readonly keepChars: number;

  constructor(
    readonly argv: readonly string[],
    options: SpawnOptions = {},
  ) {
    const [cmd, ...args] = argv;
    if (!cmd) throw new TypeError('spawn: empty argv');
    this.label = options.label ?? argv.join(' ');
    this.keepChars = options.keepChars ?? 1 << 20;
    this.child = spawn(cmd, args, {
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true, // own process group: kill() reaches grandchildren too
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    if (this.child.pid === undefined) {
      // spawn failed synchronously (ENOENT is reported through 'error' with pid undefined)
      this.pid = -1;
    } else {
      this.pid = this.child.pid;
    }
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.on('error', (e) => {
        this.err += `${e.message}\n`;
        if (this.pid === -1) {
          this.exit = { code: null, signal: null };
          resolve(this.exit);
        }
      });
      this.child.on('close', (code, signal) => {
        if (this.partial) this.pushLine(this.partial);
        this.partial = '';
        this.exit = { code, signal };
        untrackForExit(this);
        resolve(this.exit);
      });
    });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => this.onStdout(d));
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.err = keepTail(this.err + d, this.keepChars);
    });
    this.child.stdin?.on('error', () => undefined);
    if (options.trackForExit ?? true) trackForExit(this);
    else this.unref();
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.exit === undefined;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.exit;
  }

  /** Buffered stdout (the last `keepChars` characters). */
  stdout(): string {
    return this.out;
  }

  stderr(): string {
    return this.err;
  }

  /** Complete stdout lines so far. */
  lines(): readonly string[] {
    return this.allLines;
  }

  /** Calls `listener` for each stdout line from now on; returns an unsubscribe function. */
  onLine(listener: LineListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves with the first stdout line (already seen or future) that matches. Rejects on timeout,
   * when the process exits first (quoting its output), or when `match` throws (to fail fast).
   */
  waitForLine(match: RegExp | ((line: string) => boolean), options: WaitOptions = {}): Promise<string> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: unknown, line?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        off();
        if (err) reject(err);
        else resolve(line as string);
      };
      const test = (line: string): boolean => {
        try {
          return typeof match === 'function' ? match(line) : match.test(line);
        } catch (e) {
          finish(e);
          return false;
        }
      };
      const scan = (): void => {
        for (const line of this.allLines) {
          if (settled) return;
          if (test(line)) return finish(undefined, line);
        }
      };
      const off = this.onLine((line) => {
        if (!settled && test(line)) finish(undefined, line);
      });
      const timer = setTimeout(() => {
        finish(new Error(`${this.label}: no matching output within ${timeoutMs} ms${this.describeTail()}`));
      }, timeoutMs);
      scan();
      void this.exited.then((info) => {
        // Let the last buffered output arrive before declaring failure.
        setImmediate(() => {
          scan();
          finish(new Error(`${this.label}: exited (${describeExit(info)}) before the expected output${this.describeTail()}`));
        });
      });
    });
  }

  /** Writes to stdin (needs `stdin: true`). */
  write(data: string | Buffer): void {
    if (!this.child.stdin) throw new Error(`${this.label}: spawned without stdin`);
    this.child.stdin.write(data);
  }

  /** Sends `signal` to the process group; after `graceMs` without exiting, SIGKILL. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 2000): Promise<ExitInfo> {
    if (!this.running) return this.exit as ExitInfo;
    killGroup(this.pid, signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), graceMs);
    });
    const first = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (first !== 'timeout') return first;
    killGroup(this.pid, 'SIGKILL');
    return this.exited;
  }

  /** SIGKILLs the process group now (exit handlers). */
  killSync(): void {
    if (this.running) killGroup(this.pid, 'SIGKILL');
    untrackForExit(this);
  }

  destroySync(): void {
    this.killSync();
  }

  /** Lets this Node process exit while the child still runs. */
  unref(): void {
    this.child.unref();
    (this.child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    (this.child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  }

  private onStdout(d: string): void {
    this.out = keepTail(this.out + d, this.keepChars);
    const parts = (this.partial + d).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.pushLine(line);
  }

  private pushLine(line: string): void {
    this.allLines.push(line);
    for (const l of [...this.listeners]) l(line);
  }

  private describeTail(): string {
    const tail = (this.err.trim() || this.out.trim()).split('\n').slice(-8).join('\n');
    return tail ? `; last output:\n${tail}` : '';
  }
}

function keepTail(s: string, max: number): string {
  return s.length > max ? s.slice(s.length - max) : s;
}

export function describeExit(info: ExitInfo): string {
  return info.signal ? `signal ${info.signal}` : `code ${info.code}`;
}
