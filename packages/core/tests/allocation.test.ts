import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/index.js';
import { allocate } from '../src/state/allocation.js';
import { applyMutation } from '../src/lifecycle/mutations.js';

const cap = { maxServices: 4, maxBackends: 6 };
const base = {
  interfaces: ['eth0'],
  services: [
    { vip: '198.18.0.10:80', forward: 'dsr', backends: ['198.18.0.11', '198.18.0.12'] },
    { vip: '198.18.0.10:443', forward: 'dsr', backends: ['198.18.0.11'] },
  ],
} as const;
const cfg = (input: unknown) => resolveConfig(input);

describe('allocation', () => {
  it('gives distinct ids and increasing generations', () => {
    const a = allocate(undefined, cfg(base), cap);
    expect(Object.values(a.services).map((s) => s.id)).toEqual([0, 1]);
    const be = Object.values(a.services).flatMap((s) => Object.values(s.backends));
    expect(new Set(be.map((b) => b.id)).size).toBe(3);
    expect(be.map((b) => b.gen)).toEqual([1, 2, 3]);
    expect(a.nextGen).toBe(4);
  });

  it('keeps the ids of what survives an update, whatever the order', () => {
    const a = allocate(undefined, cfg(base), cap);
    const reordered = { ...base, services: [{ ...base.services[1], backends: ['198.18.0.13', '198.18.0.11'] }, base.services[0]] };
    const b = allocate(a, cfg(reordered), cap);
    expect(b.services['198.18.0.10:80/tcp']).toEqual(a.services['198.18.0.10:80/tcp']);
    expect(b.services['198.18.0.10:443/tcp']!.backends['198.18.0.11:443']).toEqual(
      a.services['198.18.0.10:443/tcp']!.backends['198.18.0.11:443'],
    );
    const fresh = b.services['198.18.0.10:443/tcp']!.backends['198.18.0.13:443']!;
    expect(fresh.gen).toBe(4);
  });

  it("never gives a removed backend's id to a new one in the same update, and bumps gen on later reuse", () => {
    const a = allocate(undefined, cfg(base), cap);
    const removedId = a.services['198.18.0.10:80/tcp']!.backends['198.18.0.12:80']!.id;
    const swap = { ...base, services: [{ ...base.services[0], backends: ['198.18.0.11', '198.18.0.14'] }, base.services[1]] };
    const b = allocate(a, cfg(swap), cap);
    expect(b.services['198.18.0.10:80/tcp']!.backends['198.18.0.14:80']!.id).not.toBe(removedId);
    // Fill the id space so that the freed id must be reused: it comes back with a new generation.
    const many = {
      ...base,
      services: [
        { ...base.services[0], backends: ['198.18.0.11', '198.18.0.14', '198.18.0.15', '198.18.0.16', '198.18.0.17'] },
        base.services[1],
      ],
    };
    const c = allocate(b, cfg(many), cap);
    const ids = Object.values(c.services).flatMap((s) => Object.values(s.backends));
    expect(new Set(ids.map((x) => x.id)).size).toBe(ids.length);
    const reused = ids.find((x) => x.id === removedId)!;
    expect(reused.gen).toBeGreaterThan(a.services['198.18.0.10:80/tcp']!.backends['198.18.0.12:80']!.gen);
  });

  it("never gives a removed service's id to a new one in the same update (A -> B -> A)", () => {
    const svc = (vip: string) => ({ interfaces: ['eth0'], services: [{ vip, forward: 'dsr', backends: ['198.18.0.11'] }] });
    const a = allocate(undefined, cfg(svc('198.18.0.10:80')), cap);
    const b = allocate(a, cfg(svc('198.18.0.20:80')), cap);
    expect(b.services['198.18.0.20:80/tcp']!.id).not.toBe(a.services['198.18.0.10:80/tcp']!.id);
    const again = allocate(b, cfg(svc('198.18.0.10:80')), cap);
    expect(again.services['198.18.0.10:80/tcp']!.id).not.toBe(b.services['198.18.0.20:80/tcp']!.id);
  });

  it("rests a removed service's id until its flows can have expired (tcpTimeoutSec + 60 s), then reuses it", () => {
    const svc = (vip: string) => ({
      interfaces: ['eth0'],
      limits: { tcpTimeoutSec: 100 },
      services: [{ vip, forward: 'dsr', backends: ['198.18.0.11'] }],
    });
    const t0 = 1_000_000;
    const a = allocate(undefined, cfg(svc('198.18.0.10:80')), cap, t0);
    const b = allocate(a, cfg(svc('198.18.0.20:80')), cap, t0 + 1000);
    expect(b.retired).toEqual({ [a.services['198.18.0.10:80/tcp']!.id]: t0 + 1000 });
    const c = allocate(b, cfg(svc('198.18.0.10:80')), cap, t0 + 2000);
    const ids = [a, b, c].map((x) => Object.values(x.services)[0]!.id);
    expect(new Set(ids).size, 'A, B and A again: three ids').toBe(3);
    // 160 s later both retired ids may be taken again: the lowest free one is.
    const d = allocate(c, cfg(svc('198.18.0.30:80')), cap, t0 + 2000 + 160_001);
    expect(Object.values(d.services)[0]!.id).toBe(Math.min(ids[0]!, ids[1]!));
  });

  it("reuses a removed service's id only when every other id is taken", () => {
    const four = (port: number) => ({
      interfaces: ['eth0'],
      services: [0, 1, 2, 3].map((i) => ({ vip: `198.18.0.10:${port + i}`, forward: 'dsr', backends: ['198.18.0.11'] })),
    });
    const a = allocate(undefined, cfg(four(100)), { maxServices: 4, maxBackends: 99 });
    const b = allocate(a, cfg(four(200)), { maxServices: 4, maxBackends: 99 });
    expect(
      Object.values(b.services)
        .map((s) => s.id)
        .sort(),
    ).toEqual([0, 1, 2, 3]);
  });

  it('refuses more services than the data plane holds', () => {
    const services = Array.from({ length: 5 }, (_, i) => ({ vip: `198.18.0.10:${100 + i}`, forward: 'dsr', backends: ['198.18.0.11'] }));
    expect(() => allocate(undefined, cfg({ interfaces: ['eth0'], services }), { maxServices: 4, maxBackends: 99 })).toThrow(
      /too many services: the data plane holds at most 4/,
    );
  });
});

describe('mutations', () => {
  const input = {
    interfaces: ['eth0'],
    services: [{ name: 'web', vip: '198.18.0.10:80', forward: 'dsr' as const, backends: ['198.18.0.11', '198.18.0.12@3'] }],
  };

  it('adds, drains, re-weights and removes backends by address with or without port', () => {
    let x = applyMutation(input, { kind: 'backend-add', service: '198.18.0.10:80', backend: '198.18.0.13' });
    x = applyMutation(x, { kind: 'backend-drain', service: 'web', backend: '198.18.0.11' });
    x = applyMutation(x, { kind: 'backend-weight', service: 'web', backend: '198.18.0.12:80', weight: 7 });
    x = applyMutation(x, { kind: 'backend-remove', service: '198.18.0.10:80/tcp', backend: '198.18.0.13:80' });
    expect(x.services![0]!.backends).toEqual([
      { address: '198.18.0.11', state: 'draining' },
      { address: '198.18.0.12', weight: 7 },
    ]);
    expect(resolveConfig(x).services[0]!.backends.map((b) => [b.key, b.weight, b.state])).toEqual([
      ['198.18.0.11:80', 1, 'draining'],
      ['198.18.0.12:80', 7, 'active'],
    ]);
  });

  it('names what is missing', () => {
    expect(() => applyMutation(input, { kind: 'backend-drain', service: 'db', backend: '198.18.0.11' })).toThrow(
      /no service "db" \(services: web\)/,
    );
    expect(() => applyMutation(input, { kind: 'backend-drain', service: 'web', backend: '198.18.0.99' })).toThrow(
      /has no backend 198.18.0.99/,
    );
    expect(() =>
      applyMutation(
        { ...input, services: [{ ...input.services[0]!, backends: ['198.18.0.11'] }] },
        { kind: 'backend-remove', service: 'web', backend: '198.18.0.11' },
      ),
    ).toThrow(/last of service web/);
  });
});
