// lb stats' rates between two readings pair services by identity: a service removed between two
// ticks used to shift every later service's rate onto its neighbour (they were paired by position).
import { describe, expect, it } from 'vitest';
import type { DataplaneReading, ServiceReading } from '@xdp-lb/core';
import { rates } from '../src/commands/stats.js';

const svc = (name: string, id: number, packets: number): ServiceReading => ({
  name,
  strategy: 'hash',
  vip: '198.18.0.10:80',
  protocol: 'tcp',
  forward: 'nat',
  id,
  problem: undefined,
  counters: { packets: BigInt(packets), bytes: 0n, newFlows: 0n, drops: 0n },
  backends: [],
});
const reading = (services: ServiceReading[]): DataplaneReading => ({
  instance: 'default',
  strategy: 'hash',
  interfaces: [],
  services,
  reasons: [],
  conntrackMax: 1,
  halfOpenMax: 1,
  flowTableBuckets: 0,
});

describe('lb stats rates', () => {
  it('pairs services by name and id across a removal', () => {
    const a = reading([svc('a', 0, 100), svc('b', 1, 1000)]);
    const b = reading([svc('b', 1, 1500)]);
    expect(rates(a, b, 1).map((r) => [r.service, r.pps])).toEqual([['b', 500]]);
  });

  it('an id given to another service starts from zero', () => {
    const a = reading([svc('a', 0, 100)]);
    const b = reading([svc('c', 0, 30)]);
    expect(rates(a, b, 1).map((r) => [r.service, r.pps])).toEqual([['c', 30]]);
  });
});
