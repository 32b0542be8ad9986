// The load-time settings, one list for update (refuses) and the agent (re-deploys).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resolveConfig, type ResolveContext } from '../src/index.js';
import { loadTimeChanges } from '../src/lifecycle/load-time.js';

const ctx: ResolveContext = {
  strategyOptions: () => z.object({}).strict(),
  strategyIds: () => ['hash', 'random'],
  interfaceExists: () => true,
};
const base = {
  interfaces: ['eth0'],
  snat: { addresses: ['198.18.0.2'] },
  services: [{ vip: '198.18.0.10:80', backends: ['198.18.0.11'] }],
};
const cfg = (over: Record<string, unknown>) => resolveConfig({ ...base, ...over }, ctx);

describe('loadTimeChanges', () => {
  it('names each load-time setting that changed, and nothing for a service or backend change', () => {
    const a = cfg({});
    expect(loadTimeChanges(a, cfg({ services: [{ vip: '198.18.0.10:80', backends: ['198.18.0.11', '198.18.0.12'] }] }))).toEqual([]);
    // a strategy the running program lacks needs a deploy; one it carries is a hot change
    expect(loadTimeChanges(a, cfg({ strategy: 'random' }))).toEqual(['strategy']);
    expect(loadTimeChanges(a, cfg({ strategy: 'random' }), ['hash', 'random'])).toEqual([]);
    expect(
      loadTimeChanges(a, cfg({ services: [{ vip: '198.18.0.10:80', strategy: 'random', backends: ['198.18.0.11'] }] }), ['hash', 'random']),
    ).toEqual([]);
    expect(
      loadTimeChanges(a, cfg({ services: [{ vip: '198.18.0.10:80', strategy: './x.bpf.c', backends: ['198.18.0.11'] }] }), [
        'hash',
        'random',
      ]),
    ).toEqual(['strategy']);
    expect(loadTimeChanges(a, cfg({ hashSeed: 7 }))).toEqual(['hashSeed']);
    expect(loadTimeChanges(a, cfg({ interfaces: ['eth0:generic'] }))).toEqual(['interfaces']);
    expect(loadTimeChanges(a, cfg({ limits: { conntrackSize: 4096 } }))).toEqual(['limits']);
    expect(loadTimeChanges(a, cfg({ chain: { name: 'edge', slot: 1 } }))).toEqual(['chain']);
    expect(loadTimeChanges(a, cfg({ snat: { addresses: ['198.18.0.2'], ports: '30000-39999' } }))).toEqual(['snat.ports']);
  });
});
