// Running a command to completion with a hard time limit. Every command the harness runs goes
// through here, so nothing it starts can hang a test run.
import { spawn, spawnSync } from 'node:child_process';

export interface ExecOptions {
  /** Kill the command (its whole process group) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  input?: string | Buffer;
  /** Throw an `ExecError` on a non-zero exit (default true). */
  check?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ExecResult {
  argv: string[];
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** A command failed: carries the result, and says which command and why in the message. */
export class ExecError extends Error {
  override readonly name = 'ExecError';
  constructor(readonly result: ExecResult) {
    const why = result.timedOut ? 'timed out' : result.signal ? `killed by ${result.signal}` : `exited with ${result.code}`;
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).join('\n');
    super(`${formatArgv(result.argv)} ${why}${detail ? `: ${detail}` : ''}`);
  }
}

export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;

/** Runs `argv` and collects its output. The command gets its own process group so a timeout kills all of it. */
export function exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.reject(new TypeError('exec: empty argv'));
  const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined); // the command may exit without reading its input
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${formatArgv(argv)}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: ExecResult = {
        argv: [...argv],
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      };
      if ((options.check ?? true) && (code !== 0 || timedOut)) reject(new ExecError(result));
      else resolve(result);
    });
    child.stdin.end(options.input);
  });
}

/** The synchronous twin of `exec`, for exit handlers (where no promise will ever settle). */
export function execSync(argv: readonly string[], options: ExecOptions = {}): ExecResult {
  const [cmd, ...args] = argv;
  if (!cmd) throw new TypeError('execSync: empty argv');
  const r = spawnSync(cmd, args, {
    input: options.input,
    timeout: options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    env: options.env ?? process.env,
    cwd: options.cwd,
    encoding: 'utf8',
  });
  const result: ExecResult = {
    argv: [...argv],
    code: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? (r.error ? String(r.error.message) : ''),
    timedOut: (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT',
  };
  if ((options.check ?? true) && (result.code !== 0 || result.timedOut)) throw new ExecError(result);
  return result;
}

/** Signals a process group, ignoring "already gone". */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already exited
    }
  }
}

/** Shell-like rendering of an argv for messages. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
