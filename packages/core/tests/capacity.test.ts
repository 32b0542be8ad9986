// Capacities come from the maps (bpf/include/lb_abi.h: sizes are -D overrides at build time and
// userspace never hard-codes them). Before, desired.ts said 512 services and 4096 backends whatever
// the object was built with: a data plane built smaller took ids its maps could not hold.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfMap } from '@xdp-lb/native';
import { MAPS } from '../src/dataplane/abi.js';
import { pinnedCapacity } from '../src/dataplane/capacity.js';
import { allocate } from '../src/state/allocation.js';
import { resolveConfig } from '../src/index.js';

const dir = `/sys/fs/bpf/xlb-capacity-${process.pid}`;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Pins a map of `maxEntries` under `name` (only max_entries is read). */
function pinMap(name: string, maxEntries: number, type = 2 /* ARRAY */): void {
  const m = BpfMap.create({ type, keySize: 4, valueSize: 4, maxEntries });
  try {
    m.pin(join(dir, name));
  } finally {
    m.dispose();
  }
}

describe.skipIf(process.getuid?.() !== 0)('capacity from the maps', () => {
  it('the smallest map an id indexes bounds it, and allocation refuses beyond it', () => {
    mkdirSync(dir, { recursive: true });
    pinMap(MAPS.services, 8, 1 /* HASH */);
    pinMap(MAPS.tables, 16);
    pinMap(MAPS.svcStats, 3);
    pinMap(MAPS.backends, 5);
    pinMap(MAPS.beStats, 64);
    pinMap(MAPS.addrs, 40, 1 /* HASH */);
    pinMap(MAPS.svcNets, 7, 1 /* HASH: only max_entries is read */);
    const cap = pinnedCapacity(dir);
    expect(cap).toEqual({ maxServices: 3, maxBackends: 5, vip: { serviceKeys: 8, addresses: 40, nets: 7 } });
    const services = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ vip: `198.18.0.10:${80 + i}`, forward: 'dsr', backends: ['198.18.0.11'] }));
    expect(Object.keys(allocate(undefined, resolveConfig({ interfaces: ['eth0'], services: services(3) }), cap).services)).toHaveLength(3);
    expect(() => allocate(undefined, resolveConfig({ interfaces: ['eth0'], services: services(4) }), cap)).toThrow(
      'too many services: the data plane holds at most 3',
    );
    // A /28 takes 16 service keys and addresses: more than this lb_services holds.
    const prefix = [{ vip: '198.18.10.0/28:80', forward: 'dsr', backends: ['198.18.0.11'] }];
    expect(() => allocate(undefined, resolveConfig({ interfaces: ['eth0'], services: prefix }), cap)).toThrow(
      'the services need 16 service keys, the data plane holds 8',
    );
  });
});
