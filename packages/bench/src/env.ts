/**
 * What the benchmarks need from the machine: root, the BPF objects (the bench's own and the
 * workspace's utility programs), and the third-party programs they compare against. Each missing
 * thing is reported with the one command that fixes it.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probe } from '@xdp-lb/native';
import { labSupport, xdpPassObjectPath } from '@xdp-lb/netlab';

let root: string | undefined;

/** This package's directory (from src/ in tests and from dist/ when built alike). */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === '@xdp-lb/bench') return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the @xdp-lb/bench package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The workspace root (holds nx.json), or undefined when the package runs outside the repository. */
export function workspaceRoot(): string | undefined {
  const guess = resolve(packageRoot(), '../..');
  return existsSync(join(guess, 'nx.json')) ? guess : undefined;
}

/** Where results go by default: <workspace>/bench/results, else ./bench-results. */
export function defaultResultsDir(): string {
  const ws = workspaceRoot();
  return ws ? join(ws, 'bench', 'results') : resolve('bench-results');
}

/** BPF objects the benchmarks load. `$XDP_LB_BPF_OBJ_DIR` moves the workspace's bpf/obj. */
export const objects = {
  /** The generator (xdp_gen) and the backend probe (xdp_stamp): packages/bench/bpf/bench.bpf.c. */
  bench: (): string => join(packageRoot(), 'obj', 'bench.bpf.o'),
  xdpTx: (): string => join(process.env['XDP_LB_BPF_OBJ_DIR'] ?? resolve(packageRoot(), '../../bpf/obj'), 'xdp_tx.bpf.o'),
  countDrop: (): string => join(process.env['XDP_LB_BPF_OBJ_DIR'] ?? resolve(packageRoot(), '../../bpf/obj'), 'xdp_count_drop.bpf.o'),
  xdpPass: (): string => xdpPassObjectPath(),
};

/** Why the objects cannot be used (null: all present). */
export function missingObjects(which: (keyof typeof objects)[]): string | null {
  const missing: string[] = [];
  for (const k of which) {
    try {
      const p = objects[k]();
      if (!existsSync(p)) missing.push(p);
    } catch (e) {
      missing.push((e as Error).message);
    }
  }
  if (!missing.length) return null;
  return `BPF object(s) missing: ${missing.join(', ')} (build them: npx nx run-many -t build-bpf)`;
}

/** Why kernel-facing benchmarks cannot run here (null: they can). */
export function kernelProblem(): string | null {
  const lab = labSupport();
  if (!lab.ok) return lab.reason ?? 'cannot build network namespaces';
  try {
    const p = probe();
    if (!p.bpf || !p.xdp) return `no usable BPF/XDP: ${p.reasons.join('; ')}`;
  } catch (e) {
    return `native addon unavailable: ${(e as Error).message}`;
  }
  return null;
}

/** A program the comparisons run, and the Debian package it comes from. */
export interface Tool {
  command: string;
  apt: string;
}

export const TOOLS = {
  wrk: { command: 'wrk', apt: 'wrk' },
  nginx: { command: 'nginx', apt: 'nginx-light' },
  haproxy: { command: 'haproxy', apt: 'haproxy' },
  nft: { command: 'nft', apt: 'nftables' },
  python3: { command: 'python3', apt: 'python3' },
  perf: { command: 'perf', apt: 'linux-perf' },
} as const satisfies Record<string, Tool>;

export function onPath(cmd: string): boolean {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin']);
  return dirs.some((d) => {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The tools of `list` that are not installed. */
export function missingTools(list: readonly Tool[]): Tool[] {
  return list.filter((t) => !onPath(t.command));
}

/** The one line that installs them: `apt-get install wrk nginx-light`. */
export function aptHint(tools: readonly Tool[]): string {
  return `apt-get install ${[...new Set(tools.map((t) => t.apt))].join(' ')}`;
}
