// The health checker's state machine with a scripted prober (no sockets): fall failures take a
// backend down, rise successes bring it back, inconclusive results (the checker could not run)
// count for nothing, changes of one moment are reported together, a reload keeps what it knew.
import { afterEach, describe, expect, it } from 'vitest';
import {
  type HealthChange,
  HealthChecker,
  healthKey,
  type LbConfig,
  type Prober,
  type ProbeRequest,
  type ProbeResult,
  resolveConfig,
  silentLogger,
} from '../src/index.js';

/** Answers each probe with the next scripted result for its address (then keeps the last). */
class ScriptedProber implements Prober {
  readonly calls: ProbeRequest[] = [];
  closed = false;
  constructor(readonly script: Record<string, ProbeResult[]>) {}
  async probe(req: ProbeRequest): Promise<ProbeResult> {
    this.calls.push(req);
    const s = this.script[req.address]!;
    return s.length > 1 ? s.shift()! : s[0]!;
  }
  close(): void {
    this.closed = true;
  }
}

const ok: ProbeResult = { ok: true, ms: 1 };
const bad: ProbeResult = { ok: false, ms: 1, error: 'ECONNREFUSED' };
const what: ProbeResult = { ok: false, ms: 0, error: 'checker exited', inconclusive: true };

/** A config whose checks run every 10 ms (below the schema's minimum: the checker takes any). */
function cfg(
  health: Partial<NonNullable<LbConfig['services'][number]['health']>> | null = {},
  backends = ['198.18.0.11', '198.18.0.12'],
): LbConfig {
  const c = resolveConfig({
    interfaces: ['eth0'],
    services: [{ name: 'web', vip: '198.18.0.10:80', forward: 'dsr', backends, ...(health ? { health: {} } : {}) }],
  });
  if (!health) return c;
  const svc = c.services[0]!;
  return { ...c, services: [{ ...svc, health: { ...svc.health!, intervalMs: 10, timeoutMs: 5, ...health } }] };
}

let checker: HealthChecker | undefined;
afterEach(() => checker?.stop());

function start(prober: Prober, config: LbConfig, down: string[] = []) {
  const changes: HealthChange[][] = [];
  checker = new HealthChecker(prober, silentLogger, (c) => changes.push(c));
  checker.configure(config, new Set(down.map((b) => healthKey('web', `${b}:80`))));
  return changes;
}
const until = async (fn: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('HealthChecker', () => {
  it('takes a backend down after fall failures in a row, and up after rise successes', async () => {
    const p = new ScriptedProber({ '198.18.0.11': [ok], '198.18.0.12': [ok, bad, ok, bad, bad, bad, bad, ok, ok] });
    const changes = start(p, cfg({ fall: 3, rise: 2 }));
    await until(() => changes.length === 2);
    expect(changes.flat()).toEqual([
      { service: 'web', backend: '198.18.0.12:80', up: false, reason: '3 failed checks in a row (last: ECONNREFUSED)' },
      { service: 'web', backend: '198.18.0.12:80', up: true, reason: '2 good checks in a row' },
    ]);
    expect(checker!.isUp('web', '198.18.0.11:80')).toBe(true);
    const v = checker!.view().find((h) => h.backend === '198.18.0.12:80')!;
    expect(v.checks.fail).toBe(5);
    expect(checker!.isUp('web', 'unchecked:80')).toBe(true);
  });

  it('ignores inconclusive results (the checker, not the backend, failed)', async () => {
    const p = new ScriptedProber({ '198.18.0.11': [bad, what, what, bad, what, ok], '198.18.0.12': [ok] });
    const changes = start(p, cfg({ fall: 3 }));
    await until(() => p.calls.filter((c) => c.address === '198.18.0.11').length >= 8);
    expect(changes).toEqual([]);
    expect(checker!.view().find((h) => h.backend === '198.18.0.11:80')!.checks).toMatchObject({ inconclusive: 3, fail: 2 });
  });

  it('starts a backend that was out before as down: it needs rise good checks', async () => {
    const p = new ScriptedProber({ '198.18.0.11': [ok], '198.18.0.12': [ok] });
    const changes = start(p, cfg({ rise: 3 }), ['198.18.0.12']);
    expect(checker!.isUp('web', '198.18.0.12:80')).toBe(false);
    await until(() => changes.length === 1);
    expect(changes[0]).toEqual([{ service: 'web', backend: '198.18.0.12:80', up: true, reason: '3 good checks in a row' }]);
  });

  it('reports changes of the same moment together', async () => {
    const p = new ScriptedProber({ '198.18.0.11': [bad], '198.18.0.12': [bad] });
    const changes = start(p, cfg({ fall: 1, intervalMs: 1000 }));
    await until(() => changes.flat().length === 2);
    expect(changes.length).toBeLessThanOrEqual(2);
  });

  it('a reload keeps the verdicts of backends it still checks, drops the others, checks new ones', async () => {
    const p = new ScriptedProber({ '198.18.0.11': [bad], '198.18.0.12': [ok], '198.18.0.13': [ok] });
    const changes = start(p, cfg({ fall: 1 }));
    await until(() => changes.length === 1);
    checker!.configure(cfg({ fall: 1, intervalMs: 20 }, ['198.18.0.11', '198.18.0.13']));
    expect(checker!.isUp('web', '198.18.0.11:80')).toBe(false);
    expect(
      checker!
        .view()
        .map((h) => h.backend)
        .sort(),
    ).toEqual(['198.18.0.11:80', '198.18.0.13:80']);
    await until(() => p.calls.some((c) => c.address === '198.18.0.13'));
    checker!.configure(cfg(null));
    expect(checker!.view()).toEqual([]);
  });

  it('asks the prober for http checks with path and status, and closes it on stop', async () => {
    const p = new ScriptedProber({ '198.18.0.11': [ok], '198.18.0.12': [ok] });
    start(p, cfg({ type: 'http', path: '/health', expectStatus: 204, port: 8080 }));
    await until(() => p.calls.length >= 2);
    expect(p.calls[0]).toEqual({
      type: 'http',
      address: expect.stringMatching(/^198\.18\.0\.1[12]$/),
      port: 8080,
      timeoutMs: 5,
      path: '/health',
      expectStatus: 204,
    });
    checker!.stop();
    expect(p.closed).toBe(true);
    const n = p.calls.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(p.calls.length).toBe(n);
  });
});
