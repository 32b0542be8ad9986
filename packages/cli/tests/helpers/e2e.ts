// Shared plumbing of the end-to-end suites: per-file isolation of the LB's pins and state, labs
// that are always torn down, the CLI run in-process and as the built binary, short-connection
// HTTP load from inside a client, and the checks that nothing is left behind.
//
// Every suite calls `useE2e()` at module level, BEFORE anything calls the LoadBalancer: netlab's
// useLbIsolation points XDP_LB_BPFFS and XDP_LB_STATE_DIR (read by core at call time) at
// directories of this run only, and registers one afterAll that undeploys what is still deployed,
// destroys the labs and removes both directories, also when a test failed.
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DeployResult, LoadBalancer, StatusView } from '@xdp-lb/core';
import { exec, type Lab, type LabOptions, type LabSpec, type NetnsLike } from '@xdp-lb/netlab';
import { useLbIsolation } from '@xdp-lb/netlab/vitest';
import { buildProgram, composeLoadBalancer, run, type Io } from '../../src/index.js';

/** Namespace prefix of the labs these suites build: `xlbe<pid>-<hex>-<host>`. */
export const LAB_PREFIX = 'xlbe';
export const CLI_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
export const XDP_PASS_OBJ = fileURLToPath(new URL('../../../../bpf/obj/xdp_pass.bpf.o', import.meta.url));
const LOAD_CLIENT = fileURLToPath(new URL('./load-client.mjs', import.meta.url));
const CLI_MAIN_SRC = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const NATIVE_ADDON = fileURLToPath(new URL('../../../native/build/Release/xdp_lb_native.node', import.meta.url));

export const FULL_MATRIX = process.env.XDP_LB_FULL_MATRIX === '1';

export interface E2e {
  /** This file's bpffs root (XDP_LB_BPFFS). */
  readonly bpffs: string;
  /** This file's state root (XDP_LB_STATE_DIR). */
  readonly stateDir: string;
  /** The library, composed as the CLI composes it. */
  lb(): LoadBalancer;
  /** A lab of this suite, destroyed in afterAll whatever happens. */
  lab(spec: LabSpec, options?: LabOptions): Promise<Lab>;
  /** A fresh instance name (unique per run and per call). */
  instance(label: string): string;
  /**
   * A SNAT port range no earlier deployment of this file used (1000 ports, below the ephemeral
   * range). A fresh instance knows nothing of the ports its predecessors on the same lab used, and
   * the backends keep those connections in TIME_WAIT for 60 s: a reused port bounces the handshake
   * once (see the SNAT reuse BUG in nat.e2e.test.ts) and counts a second new flow.
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

export function useE2e(): E2e {
  let lbi: LoadBalancer | undefined;
  const lb = () => (lbi ??= composeLoadBalancer());
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
// The CLI

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** `lb ...argv` in this process, against this suite's pins and state (a capturing Io). */
export async function lbInProcess(...argv: string[]): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: Io = { out: (s) => stdout.push(s), err: (s) => stderr.push(s) };
  const code = await run(buildProgram(composeLoadBalancer, io), argv, io);
  return { code, out: stdout.join('\n'), err: stderr.join('\n') };
}

/**
 * The built binary (`node packages/cli/dist/main.js ...argv`) as a subprocess, with this suite's
 * XDP_LB_BPFFS / XDP_LB_STATE_DIR. `asNobody` drops to uid/gid 65534 with no groups (setpriv).
 */
export async function lbBinary(argv: string[], opts: { asNobody?: boolean; timeoutMs?: number } = {}): Promise<CliResult> {
  if (opts.asNobody) return lbAsNobody(argv, opts);
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run \`npx nx run cli:build\` first`);
  return lbCommand([process.execPath, CLI_MAIN, ...argv], argv, opts);
}

async function lbCommand(cmd: string[], argv: readonly string[], opts: { timeoutMs?: number }): Promise<CliResult> {
  const r = await exec(cmd, { check: false, timeoutMs: opts.timeoutMs ?? 30_000, cwd: '/' });
  if (r.timedOut) throw new Error(`lb ${argv.join(' ')} timed out: ${r.stderr}`);
  return { code: r.code ?? -1, out: r.stdout.trimEnd(), err: r.stderr.trimEnd() };
}

/**
 * `lb ...argv` as nobody (uid/gid 65534, no groups, setpriv). nobody may not be able to reach the
 * checkout at all (a clone under a root-only directory, as `mktemp -d` makes one), so it runs
 * from a world-readable copy in a fresh /tmp directory: the CLI bundled from source and the
 * native addon (XDP_LB_NATIVE_ADDON); the directory is removed afterwards.
 */
export async function lbAsNobody(argv: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  const dir = mkdtempSync('/tmp/xlb-nobody-');
  try {
    chmodSync(dir, 0o755);
    const main = await bundleCli(join(dir, 'lb.mjs'));
    const addon = join(dir, 'xdp_lb_native.node');
    copyFileSync(NATIVE_ADDON, addon);
    chmodSync(main, 0o644);
    chmodSync(addon, 0o644);
    const as = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
    return await lbCommand([...as, 'env', `XDP_LB_NATIVE_ADDON=${addon}`, process.execPath, main, ...argv], argv, opts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The CLI as one ESM file built from the TypeScript sources (the `@xdp-lb/source` condition).
 * `import.meta.url` is replaced in each module by its source file's URL, so that everything located
 * relative to a module (the native addon, the strategies' BPF objects) is found as from source.
 */
export async function bundleCli(out: string): Promise<string> {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [CLI_MAIN_SRC],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@xdp-lb/source'],
    logLevel: 'error',
    banner: { js: "import { createRequire as __xlbRequire } from 'node:module'; const require = __xlbRequire(import.meta.url);" },
    plugins: [
      {
        name: 'source-import-meta-url',
        setup(build) {
          build.onLoad({ filter: /\/packages\/.*\.(ts|mjs|js)$/ }, (args) => {
            if (args.path.includes('/node_modules/')) return undefined;
            const text = readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
            return { contents: text, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
          });
        },
      },
    ],
  });
  return out;
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
