// The agent's policy, with fakes of everything that touches the world (agent/parts.ts: prober,
// announcer, server, watcher, gauge) and of the LoadBalancer (it records what the agent asks and
// keeps a state file in a temporary directory). No kernel, no namespace, no sockets:
//   - a first start deploys; a backend that fails its checks leaves the rotation by a hot update
//     (drained in the input given to reload), and comes back when it passes again;
//   - every backend of a service failing: fail open (kept active, reported in status().failOpen);
//   - a file change of backends is a hot update; of a load-time setting, a re-deploy.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Agent, type LbConfig, type LoadBalancer, type ProbeRequest, type ProbeResult, resolveConfig, silentLogger } from '../src/index.js';
import type { AgentParts } from '../src/agent/parts.js';
import { toInput } from '../src/config/load.js';
import { readState, writeState } from '../src/state/store.js';

const root = mkdtempSync(join(tmpdir(), 'xlb-agent-policy-'));
process.env.XDP_LB_STATE_DIR = join(root, 'state');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Checks every 5 ms (below the schema's minimum: the checker takes any), fall 2, rise 1. */
function check(input: unknown): LbConfig {
  // The agent hands back what it was given (with 5 ms): valid values in, 5 ms again after.
  const shaped = structuredClone(input) as { services: { health?: Record<string, unknown> }[] };
  for (const s of shaped.services) if (s.health) Object.assign(s.health, { intervalMs: 100, timeoutMs: 10 });
  const c = resolveConfig(shaped);
  return {
    ...c,
    services: c.services.map((s) => (s.health ? { ...s, health: { ...s.health, intervalMs: 5, timeoutMs: 3, fall: 2, rise: 1 } } : s)),
  };
}

/** The LoadBalancer the agent drives, as far as it drives it: calls recorded, state kept on disk. */
class FakeLb {
  readonly calls: { op: 'deploy' | 'reload'; input: ReturnType<typeof toInput> }[] = [];
  async checkConfig(input: unknown): Promise<LbConfig> {
    return check(input);
  }
  async deploy(input: unknown) {
    const cfg = check(input);
    const prev = readState(cfg.instance);
    this.calls.push({ op: 'deploy', input: toInput(cfg) });
    const now = new Date().toISOString();
    writeState({
      layout: 1,
      instance: cfg.instance,
      config: toInput(cfg),
      strategy: { id: cfg.strategy, objectPath: '/none' },
      netns: null,
      interfaces: [],
      allocation: { nextGen: 1, services: {} },
      restore: {},
      deployedAt: now,
      updatedAt: now,
    });
    return { instance: cfg.instance, redeploy: !!prev, interfaces: [], warnings: [], links: [] };
  }
  async reload(instance: string, input: unknown) {
    const cfg = check(input);
    this.calls.push({ op: 'reload', input: toInput(cfg) });
    writeState({ ...readState(instance)!, config: toInput(cfg), updatedAt: new Date().toISOString() });
    return { config: cfg, warnings: [] };
  }
  async config(instance: string): Promise<LbConfig> {
    return check(readState(instance)!.config);
  }
  undeploy() {
    throw new Error('not in these tests');
  }
}

/** Backends answer as `up` says (by address), immediately. */
class FakeProber {
  readonly up = new Map<string, boolean>();
  async probe(req: ProbeRequest): Promise<ProbeResult> {
    return this.up.get(req.address) === false ? { ok: false, ms: 1, error: 'ECONNREFUSED' } : { ok: true, ms: 1 };
  }
  close(): void {}
}

function fakeParts(prober: FakeProber): AgentParts {
  return {
    prober: () => prober,
    announcer: () => ({
      configure: async () => {},
      poke: async () => {},
      withdraw: async () => {},
      drain: async () => {},
      undrain: async () => {},
      status: () => undefined,
      metricsText: () => '',
      stop: () => {},
    }),
    server: () => ({ listen: async (a) => a, close: async () => {} }),
    watcher: () => ({ start: () => {}, stop: () => {} }),
    gauge: () => ({
      start: () => {},
      stop: () => {},
      refresh: async () => 0,
      entries: 0,
      halfOpen: 0,
      snatPorts: undefined,
      updatedAt: undefined,
    }),
  };
}

const waitFor = async (what: string, fn: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

let n = 0;
let agent: Agent | undefined;
afterEach(async () => agent?.stop());

async function startAgent(services: unknown[], extra: Record<string, unknown> = {}) {
  const instance = `policy${n++}`;
  const file = join(root, `${instance}.json`);
  const write = (s: unknown[], e: Record<string, unknown> = extra) =>
    writeFileSync(file, JSON.stringify({ instance, interfaces: ['eth0'], services: s, ...e }));
  write(services);
  const lb = new FakeLb();
  const prober = new FakeProber();
  agent = new Agent(lb as unknown as LoadBalancer, fakeParts(prober));
  const started = await agent.start({ file, metrics: null, watch: false, resyncMs: 0, log: silentLogger });
  return { lb, prober, agent, started, write };
}

const web = (backends: unknown[]) => [{ name: 'web', vip: '198.18.0.10:80', forward: 'dsr', backends, health: { type: 'tcp' } }];
const states = (input: ReturnType<typeof toInput>) =>
  Object.fromEntries((input.services[0]!.backends as { address: string; state?: string }[]).map((b) => [b.address, b.state ?? 'active']));

describe.skipIf(process.getuid?.() !== 0)("the agent's policy", () => {
  it('deploys at start; a failing backend leaves the rotation by a hot update and comes back', async () => {
    const { lb, prober, agent, started } = await startAgent(web(['198.18.0.11', '198.18.0.12']));
    expect(started.action).toBe('deployed');
    expect(lb.calls.map((c) => c.op)).toEqual(['deploy']);
    prober.up.set('198.18.0.11', false);
    await waitFor('a hot update draining .11', () => lb.calls.length === 2);
    expect(lb.calls[1]!.op).toBe('reload');
    expect(states(lb.calls[1]!.input)).toEqual({ '198.18.0.11:80': 'draining', '198.18.0.12:80': 'active' });
    expect(agent.status().health.find((h) => h.backend === '198.18.0.11:80')?.up).toBe(false);
    prober.up.set('198.18.0.11', true);
    await waitFor('a hot update activating .11', () => lb.calls.length === 3);
    expect(lb.calls[2]!.op).toBe('reload');
    expect(states(lb.calls[2]!.input)).toEqual({ '198.18.0.11:80': 'active', '198.18.0.12:80': 'active' });
  });

  it('every backend failing: fail open, kept in rotation and reported', async () => {
    const { lb, prober, agent } = await startAgent(web(['198.18.0.11', '198.18.0.12']));
    prober.up.set('198.18.0.11', false);
    await waitFor('.11 drained', () => lb.calls.length === 2);
    prober.up.set('198.18.0.12', false);
    await waitFor('fail open', () => agent.status().failOpen.includes('web'));
    const last = lb.calls.at(-1)!;
    expect(last.op).toBe('reload');
    expect(states(last.input)).toEqual({ '198.18.0.11:80': 'active', '198.18.0.12:80': 'active' });
  });

  it('a changed backend list is a hot update; a changed load-time setting a re-deploy', async () => {
    const { lb, agent, write } = await startAgent(web(['198.18.0.11']));
    write(web(['198.18.0.11', '198.18.0.13']));
    const hot = await agent.reload('test');
    expect(hot).toMatchObject({ ok: true, action: 'updated' });
    expect(lb.calls.map((c) => c.op)).toEqual(['deploy', 'reload']);
    write(web(['198.18.0.11', '198.18.0.13']), { limits: { conntrackSize: 8192 } });
    const again = await agent.reload('test');
    expect(again).toMatchObject({ ok: true, action: 're-deployed' });
    expect(lb.calls.map((c) => c.op)).toEqual(['deploy', 'reload', 'deploy']);
    const unchanged = await agent.reload('test');
    expect(unchanged).toMatchObject({ ok: true, action: 'unchanged' });
    expect(lb.calls).toHaveLength(3);
  });
});
