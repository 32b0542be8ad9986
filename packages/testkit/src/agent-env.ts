// The agent suites' shared plumbing: per-file isolation of pins and state (useE2e's), labs and
// agents that are always torn down, the agent in-process (its JSON log lines captured), a
// continuous HTTP load generator with per-request timestamps, and a byte-exact snapshot of the
// control-plane-written maps. The CLI's suites add `lb serve` as a process on top
// (packages/cli/tests/serve-support.ts).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { Abi, Agent, type AgentOptions, createLogger, instancePaths, type LoadBalancer, parseMetrics } from '@xdp-lb/core';
import { BpfLink, BpfMap } from '@xdp-lb/native';
import type { Lab, LabHost, LabOptions, LabProcess, LabSpec } from '@xdp-lb/netlab';
import { type ComposeLb, useE2e } from './e2e.js';

const LOAD_SCRIPT = fileURLToPath(new URL('../scripts/serve-load.mjs', import.meta.url));

const rand = () => randomBytes(3).toString('hex');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LogLine {
  time: string;
  level: string;
  msg: string;
  [k: string]: unknown;
}

/** An agent running in this process, its JSON log lines captured. */
export interface TestAgent {
  agent: Agent;
  logs: LogLine[];
  metricsUrl: string;
  scrape(): Promise<Map<string, number>>;
  get(path: string): Promise<{ status: number; body: string }>;
  /** The log lines so far, for failure messages. */
  logText(): string;
}

export interface AgentEnv {
  readonly bpffs: string;
  readonly stateDir: string;
  /** A scratch directory of this file (configs; the CLI suites put their bundle there). */
  readonly dir: string;
  lb(): LoadBalancer;
  lab(spec: LabSpec, options?: LabOptions): Promise<Lab>;
  instance(label: string): string;
  /** Writes `config` as YAML to `<dir>/<name>.yaml` (atomically: write + rename) and returns the path. */
  writeConfig(name: string, config: unknown): string;
  /** Starts an agent in this process on `file` (metrics on 127.0.0.1, an ephemeral port). */
  startAgent(lab: Lab, file: string, options?: Partial<AgentOptions>): Promise<TestAgent>;
}

/** Removes what runs of these suites left when their process died before its afterAll. */
function removeStale(): void {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  for (const [root, re] of [
    ['/sys/fs/bpf', /^xlb-agent-(\d+)-[0-9a-f]+$/],
    ['/tmp', /^xlb-agent-(?:state|files)-(\d+)-[0-9a-f]+$/],
  ] as const) {
    let names: string[] = [];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const n of names) {
      const m = re.exec(n);
      if (m && !alive(Number(m[1]))) rmSync(join(root, n), { recursive: true, force: true });
    }
  }
}

export function useAgentEnv(compose: ComposeLb): AgentEnv {
  removeStale();
  // Pins, state, labs and what a failed test left deployed: the e2e suites' isolation, as is.
  const base = useE2e(compose);
  const { bpffs, stateDir } = base;
  const dir = `/tmp/xlb-agent-files-${process.pid}-${rand()}`;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const agents: Agent[] = [];
  const env: AgentEnv = {
    bpffs,
    stateDir,
    dir,
    lb: base.lb,
    lab: base.lab,
    instance: base.instance,
    writeConfig(name, config) {
      const file = join(dir, `${name}.yaml`);
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, typeof config === 'string' ? config : toYaml(config));
      // rename: what editors and config managers do (and what the watcher must not lose)
      renameSync(tmp, file);
      return file;
    },
    async startAgent(lab, file, options = {}) {
      const logs: LogLine[] = [];
      const agent = new Agent(env.lb());
      agents.push(agent);
      const lbNs = lab.host('lb').netns.name;
      for (const inst of instancesIn(file)) lab.registerPinDir(`${bpffs}/${inst}`);
      await agent.start({
        file,
        netns: lbNs,
        metrics: { host: '127.0.0.1', port: 0 },
        conntrackCountMs: 60_000,
        resyncMs: 0,
        log: createLogger({ format: 'json', level: 'debug', write: (l) => logs.push(JSON.parse(l) as LogLine) }),
        ...options,
      });
      const m = agent.status().metrics!;
      const metricsUrl = `http://127.0.0.1:${m.port}`;
      const get = async (path: string) => {
        const r = await fetch(`${metricsUrl}${path}`);
        return { status: r.status, body: await r.text() };
      };
      return {
        agent,
        logs,
        metricsUrl,
        get,
        scrape: async () => parseMetrics((await get('/metrics')).body),
        logText: () => logs.map((l) => JSON.stringify(l)).join('\n'),
      };
    },
  };
  // Registered after useE2e's: vitest runs after-hooks in reverse, so agents stop before the
  // shared cleanup undeploys and destroys the labs.
  afterAll(async () => {
    const problems: string[] = [];
    for (const a of agents) await a.stop().catch((e: Error) => problems.push(`agent stop: ${e.message}`));
    rmSync(dir, { recursive: true, force: true });
    if (problems.length) throw new Error(`agent suite cleanup: ${problems.join('; ')}`);
  }, 60_000);
  return env;
}

function instancesIn(file: string): string[] {
  const m = /^instance:\s*(\S+)/m.exec(readFileSync(file, 'utf8'));
  return [m?.[1] ?? 'default'];
}

// ---------------------------------------------------------------------------------------------
// Load

export interface LoadRecord {
  /** ms since the load started: request start, end. */
  t0: number;
  t1: number;
  ok: boolean;
  backend?: string;
  error?: string;
  port?: number;
}

export interface LoadSummary {
  sent: number;
  ok: number;
  errors: number;
  misdelivered: number;
  byBackend: Record<string, number>;
  /** Wall-clock ms (Date.now()) when the load started: records' times are relative to it. */
  startedAt: number;
  failures: LoadRecord[];
  /** Every request, when asked for. */
  records?: LoadRecord[];
}

/** Short HTTP connections (one per request) from `host` to `address`, until stop(). */
export class LoadGen {
  private constructor(
    readonly process: LabProcess,
    /** Date.now() when the load started: the progress lines' times are relative to it. */
    readonly startedAt: number,
  ) {}

  static async start(
    host: LabHost,
    opts: { address: string; port?: number; concurrency?: number; timeoutMs?: number; records?: boolean; pauseMs?: number },
  ): Promise<LoadGen> {
    const argv = [
      process.execPath,
      LOAD_SCRIPT,
      '--host',
      opts.address,
      '--port',
      String(opts.port ?? 80),
      '--concurrency',
      String(opts.concurrency ?? 4),
      '--timeout',
      String(opts.timeoutMs ?? 2000),
      '--pause',
      String(opts.pauseMs ?? 0),
      ...(opts.records ? ['--records'] : []),
    ];
    const p = host.spawn(argv, { label: `load -> ${opts.address}` });
    const started = await p.waitForLine(/"event":"started"/, { timeoutMs: 10_000 });
    return new LoadGen(p, (JSON.parse(started) as { startedAt: number }).startedAt);
  }

  /**
   * Requests completed so far (from the progress lines, every 100 ms); `t` is the line's time and
   * `oldest` the start of the oldest request then under way that may hold a backend (connected, or
   * connecting for under 500 ms: see serve-load.mjs), in ms since the start; null: none.
   */
  progress(): { sent: number; ok: number; errors: number; t: number; oldest: number | null } {
    const last = [...this.process.lines()].reverse().find((l) => l.includes('"event":"progress"'));
    return last ? (JSON.parse(last) as ReturnType<LoadGen['progress']>) : { sent: 0, ok: 0, errors: 0, t: 0, oldest: null };
  }

  /**
   * Resolves once no request started before `wall` (a Date.now() time) may still hold a backend: a
   * progress line written after it shows none under way, connected or just connecting, that started
   * at or before it. Each worker runs one request at a time, so this takes one request's time (at
   * most half a second for one whose SYN was dropped), not a fixed pause.
   */
  async settledSince(wall: number, timeoutMs = 10_000): Promise<number> {
    const since = wall - this.startedAt;
    return waitFor(
      `the requests under way at ${since} ms of the load to end`,
      () => {
        const p = this.progress();
        return p.t > since && (p.oldest === null || p.oldest > since);
      },
      timeoutMs,
      10,
    ).catch((e: Error) => {
      throw new Error(`${e.message} (last progress: ${JSON.stringify(this.progress())})`);
    });
  }

  async stop(): Promise<LoadSummary> {
    await this.process.kill('SIGTERM', 10_000);
    const line = this.process.lines().find((l) => l.includes('"event":"summary"'));
    if (!line) throw new Error(`load generator gave no summary: ${this.process.stderr()}`);
    return JSON.parse(line) as LoadSummary;
  }
}

// ---------------------------------------------------------------------------------------------
// Kernel state

/**
 * Every entry of the maps the control plane writes, hex by key, plus the contents of each
 * service's slot table (and its inner map id: a swapped table is a change even if equal). The
 * data plane's own maps (conntrack, NAT, next hops, counters) are left out: traffic moves them.
 */
export async function snapshotMaps(instance: string): Promise<Record<string, Record<string, string>>> {
  const dir = instancePaths(instance).maps;
  const out: Record<string, Record<string, string>> = {};
  for (const name of [Abi.MAPS.addrs, Abi.MAPS.services, Abi.MAPS.backends, Abi.MAPS.snatPool, Abi.MAPS.txPorts, Abi.MAPS.tables]) {
    const m = BpfMap.fromPinned(join(dir, name));
    try {
      const entries: Record<string, string> = {};
      const all = await m.lookupBatch();
      for (const [i, k] of all.keys.entries()) {
        const v = all.values[i] as Buffer | null;
        if (!v) continue;
        if (name === Abi.MAPS.backends && v.every((b) => b === 0)) continue;
        entries[k.toString('hex')] = v.toString('hex');
        if (name === Abi.MAPS.tables) {
          const inner = BpfMap.fromId(v.readUInt32LE(0));
          try {
            const slots = await inner.lookupBatch();
            const byIndex = new Map(
              slots.keys.map((key, i) => [(key as Buffer).readUInt32LE(0), (slots.values[i] as Buffer).readUInt32LE(0)]),
            );
            const n = byIndex.get(0) ?? 0;
            const ids: number[] = [];
            for (let i = 1; i <= n; i++) ids.push(byIndex.get(i)!);
            entries[`${k.toString('hex')}/slots`] = ids.join(',');
          } finally {
            inner.dispose();
          }
        }
      }
      out[name] = entries;
    } finally {
      m.dispose();
    }
  }
  return out;
}

/** The id of a pinned bpf_link and the program it runs. */
export function linkInfo(pin: string): { id: number; progId: number; ifindex: number } {
  const l = BpfLink.fromPinned(pin);
  try {
    const i = l.info();
    return { id: i.id, progId: i.progId ?? 0, ifindex: i.ifindex ?? 0 };
  } finally {
    l.dispose();
  }
}

/** Polls until `fn` is truthy; returns the time it took (ms) or throws with `what`. */
export async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 20): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** The metric `name{a="x",...}` (labels in the order the agent writes them). */
export function metric(m: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return m.get(l ? `${name}{${l}}` : name);
}
