// The end-to-end suites' shared plumbing: per-file isolation of the LB's pins and state, labs
// that are always torn down, short-connection HTTP load from inside a client, and the checks that
// nothing is left behind. The LoadBalancer is composed by the caller (core's integration suite
// with the strategies it tests, the CLI's suites as the CLI composes it): this package depends on
// core, native and netlab only, so no strategy and no CLI is below it.
//
// Every suite calls `useE2e(compose)` at module level, BEFORE anything calls the LoadBalancer:
// netlab's useLbIsolation points XDP_LB_BPFFS and XDP_LB_STATE_DIR (read by core at call time) at
// directories of this run only, and registers one afterAll that undeploys what is still deployed,
// destroys the labs and removes both directories, also when a test failed.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DeployResult, LoadBalancer, StatusView } from '@xdp-lb/core';
import { exec, type Lab, type LabOptions, type LabSpec, type NetnsLike } from '@xdp-lb/netlab';
import { useLbIsolation } from '@xdp-lb/netlab/vitest';

/** Namespace prefix of the labs these suites build: `xlbe<pid>-<hex>-<host>`. */
export const LAB_PREFIX = 'xlbe';
const LOAD_CLIENT = fileURLToPath(new URL('../scripts/load-client.mjs', import.meta.url));

export const FULL_MATRIX = process.env.XDP_LB_FULL_MATRIX === '1';

/** Builds the LoadBalancer a suite tests (called once, on first use, after the isolation is set). */
export type ComposeLb = () => LoadBalancer;

export interface E2e {
  /** This file's bpffs root (XDP_LB_BPFFS). */
  readonly bpffs: string;
  /** This file's state root (XDP_LB_STATE_DIR). */
  readonly stateDir: string;
  /** The library, as the suite composed it. */
  lb(): LoadBalancer;
  /** A lab of this suite, destroyed in afterAll whatever happens. */
  lab(spec: LabSpec, options?: LabOptions): Promise<Lab>;
  /** A fresh instance name (unique per run and per call). */
  instance(label: string): string;
  /**
   * A SNAT port range no earlier deployment of this file used (1000 ports, below the ephemeral
   * range). A fresh instance knows nothing of the ports its predecessors on the same lab used, and
   * the backends keep those connections in TIME_WAIT for 60 s: a reused port bounces the handshake
   * once (see the SNAT reuse BUG in packages/core/integration/tests/nat.e2e.test.ts) and counts a second new flow.
   */
  snatPorts(): string;
  /**
   * `lb.deploy(config, { netns: <lab's lb host> })`, after registering the instance's pin dir with
   * the lab, so that even a killed run's leftovers are removed (by the next run's stale-lab GC).
   */
  deploy(
    lab: Lab,
    config: Record<string, unknown> & { instance: string },
    opts?: { force?: boolean; host?: string },
  ): Promise<DeployResult>;
  /** What an instance left on the host: its pin dir entries and whether its state file exists. */
  leftovers(instance: string): { pins: string[]; state: boolean };
}

export function useE2e(compose: ComposeLb): E2e {
  let lbi: LoadBalancer | undefined;
  const lb = () => (lbi ??= compose());
  const iso = useLbIsolation({ name: 'e2e', labPrefix: LAB_PREFIX, undeploy: (inst) => lb().undeploy(inst) });
  let ranges = 0;
  return {
    bpffs: iso.bpffs,
    stateDir: iso.stateDir,
    lb,
    lab: iso.lab,
    async deploy(lab, config, opts = {}) {
      return lb().deploy(config, { netns: iso.deployNetns(lab, config.instance, opts.host), force: opts.force ?? false });
    },
    snatPorts() {
      const lo = 20000 + 1000 * ranges++;
      if (lo + 999 >= 32768) throw new Error('useE2e: out of SNAT port ranges');
      return `${lo}-${lo + 999}`;
    },
    instance: iso.instance,
    leftovers(instance) {
      const dir = `${iso.bpffs}/${instance}`;
      return {
        pins: existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [],
        state: existsSync(`${iso.stateDir}/${instance}`),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Traffic

export interface LoadResult {
  tag: string;
  sent: number;
  ok: number;
  errors: number;
  misdelivered: number;
  /** Responses per backend name (`http1`...). */
  byBackend: Record<string, number>;
  /** The client address as each backend saw it (NAT: the SNAT address; DSR: the client). */
  peers: Record<string, number>;
  /** The address each backend was reached at (NAT: its own; DSR: the VIP). */
  locals: Record<string, number>;
  /** Connections that took over 900 ms (a SYN was retransmitted: the first one got no answer). */
  slow: number;
  maxMs: number;
  errorSamples: string[];
  records?: [number, string][];
  ms: number;
}

/** `count` short HTTP connections (a new TCP connection each) from inside `host`. */
export async function httpLoad(
  host: NetnsLike & { name?: string },
  opts: { address: string; port?: number; count: number; concurrency?: number; tag?: string; timeoutMs?: number; records?: boolean },
): Promise<LoadResult> {
  const argv = [
    process.execPath,
    LOAD_CLIENT,
    '--host',
    opts.address,
    '--port',
    String(opts.port ?? 80),
    '--count',
    String(opts.count),
    '--concurrency',
    String(opts.concurrency ?? 1),
    '--tag',
    opts.tag ?? host.name ?? 'load',
    '--timeout',
    String(opts.timeoutMs ?? 3000),
    ...(opts.records ? ['--records'] : []),
  ];
  const r = await host.exec(argv, { timeoutMs: 120_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`load client gave no result: ${r.stderr}`);
  return JSON.parse(line) as LoadResult;
}

/** Sums per-backend counts of several load results. */
export function mergeCounts(results: readonly LoadResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.byBackend)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** The lab backend's name for a tutorial backend address (198.18.0.11 -> http1). */
export function backendName(address: string): string {
  const last = Number(address.replace(/:\d+$/, '').split('.').pop());
  return `http${last - 10}`;
}

/** Per-backend new flows of one service in a status view, by backend name. */
export function flowsByBackend(s: StatusView, service = 0): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of s.services[service]!.backends) out[backendName(b.key)] = b.counters.newFlows;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Kernel leftovers

interface BpftoolLink {
  id: number;
  type: string;
  prog_id: number;
  ifindex?: number;
}

/** bpf links (system-wide) that hold program `progId`. */
export async function linksOfProgram(progId: number): Promise<BpftoolLink[]> {
  const r = await exec(['bpftool', '-j', 'link', 'show']);
  return (JSON.parse(r.stdout || '[]') as BpftoolLink[]).filter((l) => l.prog_id === progId);
}

/** Whether a program id still exists in the kernel. */
export async function programExists(progId: number): Promise<boolean> {
  const r = await exec(['bpftool', '-j', 'prog', 'show', 'id', String(progId)], { check: false });
  return r.code === 0;
}

/** Interfaces of a host that carry any XDP program (from `ip -d -j link show` inside its namespace). */
export async function xdpInterfaces(host: NetnsLike): Promise<string[]> {
  const r = await host.exec(['ip', '-d', '-j', 'link', 'show']);
  return (JSON.parse(r.stdout) as { ifname: string; xdp?: unknown }[]).filter((l) => l.xdp !== undefined).map((l) => l.ifname);
}

/**
 * Polls `fn` until it returns true (the kernel frees programs after an RCU grace period, and
 * releases links from a work queue: later on a busy machine). Returns at once when it holds, so
 * the deadline is generous: it only decides how long a real leak takes to fail.
 */
export async function eventually(fn: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
