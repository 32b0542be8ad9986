/**
 * A sampled CPU profile of this process around a block of BPF_PROG_TEST_RUN calls: `perf record
 * -e cpu-clock -c P -p <pid>`, started disabled and switched on and off through its control FIFO
 * (so the window is exactly the block), then the samples counted per symbol. JIT'd BPF functions
 * are kernel symbols `bpf_prog_<tag>_<function>` (net.core.bpf_jit_kallsyms=1), a global function
 * (a subprogram verified once, like lb_select) its own symbol; each sample stands for P ns of this
 * process's CPU time, so a function's cost per packet is its samples x P / packets. Its sampling
 * error is Poisson: sqrt(samples) x P / packets.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onPath } from './env.js';

/** Why a profile cannot be taken here (null: it can). */
export function perfProblem(): string | null {
  if (!onPath('perf')) return 'perf is not installed (apt-get install linux-perf)';
  try {
    if (readFileSync('/proc/sys/net/core/bpf_jit_kallsyms', 'utf8').trim() !== '1')
      return 'JIT-ed BPF functions are not kernel symbols here (sysctl net.core.bpf_jit_kallsyms=1 makes them)';
  } catch {
    return 'no /proc/sys/net/core/bpf_jit_kallsyms (no BPF JIT?)';
  }
  return null;
}

/** Samples per symbol name, and the period each stands for. */
export interface Profile {
  periodNs: number;
  total: number;
  bySymbol: Map<string, number>;
}

/** `bpf_prog_<tag>_<name>` -> `<name>` (other symbols as they are). */
export function bpfFunction(symbol: string): string {
  const m = /^bpf_prog_[0-9a-f]{16}_(.+)$/.exec(symbol);
  return m ? m[1]! : symbol;
}

/**
 * Samples of this process's CPU time while `fn` runs, per symbol: perf is started disabled, switched
 * on just before `fn` and off right after (its control FIFO), then stopped and its file read.
 */
export async function profile(fn: () => void, periodNs = 20_000): Promise<Profile> {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-lb-perf-'));
  const data = join(dir, 'perf.data');
  let child: ChildProcess | undefined;
  let ctl: number | undefined;
  let ack: number | undefined;
  try {
    execFileSync('mkfifo', [join(dir, 'ctl'), join(dir, 'ack')]);
    // prettier-ignore
    const args = ['record', '-q', '-e', 'cpu-clock', '-c', String(periodNs), '-p', String(process.pid), '-D', '-1', '-o', data,
      `--control=fifo:${join(dir, 'ctl')},${join(dir, 'ack')}`];
    child = spawn('perf', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    // perf record ends its run on SIGINT by raising it again: a clean stop exits by that signal.
    const exited = new Promise<boolean>((resolve) => child!.on('exit', (code, signal) => resolve(code === 0 || signal === 'SIGINT')));
    // Opening a FIFO blocks until perf opens the other end: perf is up when both return.
    ctl = openSync(join(dir, 'ctl'), 'w');
    ack = openSync(join(dir, 'ack'), 'r');
    const command = (cmd: 'enable' | 'disable') => {
      writeSync(ctl!, `${cmd}\n`);
      const buf = Buffer.alloc(16);
      const n = readSync(ack!, buf, 0, 16, null);
      if (!buf.subarray(0, n).toString().startsWith('ack')) throw new Error(`perf did not acknowledge ${cmd}`);
    };
    command('enable');
    try {
      fn();
    } finally {
      command('disable');
    }
    child.kill('SIGINT');
    if (!(await exited) || !existsSync(data)) throw new Error(`perf record failed: ${stderr.trim().split('\n')[0] ?? ''}`);
    // -F sym alone prints no kernel symbols (perf 6.1): ask for the address too and drop it.
    const out = execFileSync('perf', ['script', '-i', data, '-F', 'ip,sym'], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const bySymbol = new Map<string, number>();
    let total = 0;
    const lines = out.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    // One line per sample: `<address> <symbol>`, the symbol `[unknown]` or empty where perf has none.
    for (const line of lines) {
      const sym = line.trim().replace(/^[0-9a-f]+\s*/, '') || '[unknown]';
      bySymbol.set(sym, (bySymbol.get(sym) ?? 0) + 1);
      total++;
    }
    return { periodNs, total, bySymbol };
  } finally {
    if (ctl !== undefined) closeSync(ctl);
    if (ack !== undefined) closeSync(ack);
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Samples of the BPF function `name` (any program's), and its cost: ns per packet with its Poisson error. */
export function perPacket(p: Profile, name: string, packets: number): { samples: number; ns: number; errNs: number } {
  let samples = 0;
  for (const [sym, n] of p.bySymbol) if (bpfFunction(sym) === name) samples += n;
  return { samples, ns: (samples * p.periodNs) / packets, errNs: (Math.sqrt(samples) * p.periodNs) / packets };
}

/** ns per packet of every BPF function with samples (by function name, programs summed). */
export function bpfFunctions(p: Profile, packets: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [sym, n] of p.bySymbol) {
    if (!sym.startsWith('bpf_prog_')) continue;
    const f = bpfFunction(sym);
    out[f] = (out[f] ?? 0) + (n * p.periodNs) / packets;
  }
  return out;
}
