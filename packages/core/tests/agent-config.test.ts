// The config additions of issue 7: services[].health (defaults, cross-field checks, round trip)
// and limits.newFlowsPerSec (the SYN-flood guard's rate).
import { describe, expect, it } from 'vitest';
import { ConfigError, dumpConfigYaml, LB_DEFAULTS, loadConfigFile, parseConfigText, resolveConfig, toInput } from '../src/index.js';

const base = (health?: unknown, limits?: unknown) => ({
  interfaces: ['eth0'],
  ...(limits ? { limits } : {}),
  services: [{ vip: '198.18.0.10:80', forward: 'dsr', backends: ['198.18.0.11', '198.18.0.12'], ...(health ? { health } : {}) }],
});
const problems = (input: unknown) => {
  try {
    resolveConfig(input);
  } catch (e) {
    if (e instanceof ConfigError) return e.lines();
    throw e;
  }
  return [];
};

describe('services[].health', () => {
  it('fills every default (tcp, 2 s, 1 s, rise 2, fall 3) and leaves services without it unchecked', () => {
    expect(resolveConfig(base({})).services[0]!.health).toEqual({
      type: 'tcp',
      intervalMs: 2000,
      timeoutMs: 1000,
      rise: 2,
      fall: 3,
      path: '/',
      expectStatus: 200,
    });
    expect(resolveConfig(base()).services[0]!.health).toBeUndefined();
    expect(LB_DEFAULTS.health.type).toBe('tcp');
  });

  it('takes an http check with path, status and port', () => {
    const h = resolveConfig(
      base({ type: 'http', path: '/health', expectStatus: 204, port: 8080, intervalMs: 500, timeoutMs: 200, rise: 1, fall: 5 }),
    ).services[0]!.health;
    expect(h).toEqual({ type: 'http', path: '/health', expectStatus: 204, port: 8080, intervalMs: 500, timeoutMs: 200, rise: 1, fall: 5 });
  });

  it('reports every problem with its path', () => {
    expect(
      problems(base({ type: 'icmp', intervalMs: 50, rise: 0, fall: 101, port: 0, expectStatus: 99, path: 'health', bogus: 1 })).sort(),
    ).toEqual([
      'services.0.health  unknown key(s) "bogus" (see docs/config.md)',
      expect.stringMatching(/^services\.0\.health\.expectStatus  /),
      expect.stringMatching(/^services\.0\.health\.fall  /),
      expect.stringMatching(/^services\.0\.health\.intervalMs  /),
      'services.0.health.path  an absolute path such as /health (no spaces)',
      expect.stringMatching(/^services\.0\.health\.port  /),
      expect.stringMatching(/^services\.0\.health\.rise  /),
      expect.stringMatching(/^services\.0\.health\.type  /),
    ]);
    expect(problems(base({ timeoutMs: 3000 }))).toEqual([
      'services.0.health.timeoutMs  timeout 3000 ms is longer than the interval 2000 ms',
    ]);
    expect(problems(base({ type: 'tcp', path: '/x', expectStatus: 200 })).sort()).toEqual([
      'services.0.health.expectStatus  expectStatus is for http checks (type: http)',
      'services.0.health.path  path is for http checks (type: http)',
    ]);
  });

  it('round-trips through lb config dump (http fields only on http checks)', () => {
    for (const h of [{}, { type: 'http', path: '/h', expectStatus: 200, port: 81 }]) {
      const cfg = resolveConfig(base(h));
      const again = parseConfigText(dumpConfigYaml(cfg));
      expect(again).toEqual(cfg);
      const dumped = toInput(cfg).services[0]!.health as Record<string, unknown>;
      expect('path' in dumped).toBe(h.type === 'http');
    }
  });
});

describe('limits.newFlowsPerSec', () => {
  it('defaults to the data plane guard rate and accepts 0 (off)', () => {
    expect(resolveConfig(base()).limits.newFlowsPerSec).toBe(LB_DEFAULTS.limits.newFlowsPerSec);
    expect(resolveConfig(base(undefined, { newFlowsPerSec: 0 })).limits.newFlowsPerSec).toBe(0);
    expect(problems(base(undefined, { newFlowsPerSec: -1 }))).toEqual([expect.stringMatching(/^limits\.newFlowsPerSec  /)]);
    expect(problems(base(undefined, { newFlowsPerSec: 1.5 }))).toEqual([expect.stringMatching(/^limits\.newFlowsPerSec  /)]);
  });
});

describe('deploy/examples/production.yaml', () => {
  it('is a valid config with health checks on every service', () => {
    const cfg = loadConfigFile(new URL('../../../deploy/examples/production.yaml', import.meta.url).pathname);
    expect(cfg.instance).toBe('edge');
    expect(cfg.services.map((s) => [s.name, s.health?.type])).toEqual([
      ['web', 'http'],
      ['dns', 'tcp'],
    ]);
    expect(cfg.limits.newFlowsPerSec).toBe(100000);
  });
});
