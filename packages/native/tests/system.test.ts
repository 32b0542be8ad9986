// The small helpers and inNetns: namespace switching on the calling thread, always switched back.
import { readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BPF_ANY,
  BPF_EXIST,
  BPF_NOEXIST,
  MapType,
  ProgType,
  TestRunFlags,
  XdpAction,
  XdpFlags,
  ifIndexToName,
  ifNameToIndex,
  inNetns,
  kernelRelease,
  libbpfVersion,
  numPossibleCpus,
  probe,
} from '@xdp-lb/native';
import { createVethNetns, type VethNetns } from './helpers/netns.js';
import { announceSkip, netnsSkipReason } from './helpers/requirements.js';

announceSkip('inNetns', netnsSkipReason);

const currentNetns = () => readlinkSync('/proc/thread-self/ns/net');

describe('helpers', () => {
  it('report the machine', () => {
    expect(numPossibleCpus()).toBeGreaterThan(0);
    expect(libbpfVersion()).toMatch(/^1\.\d+$/);
    expect(kernelRelease()).toMatch(/^\d+\.\d+/);
    const p = probe();
    expect(typeof p.bpf).toBe('boolean');
    expect(Array.isArray(p.reasons)).toBe(true);
    if (!p.bpf) expect(p.reasons.length).toBeGreaterThan(0);
  });

  it('export the UAPI constants by name', () => {
    expect([BPF_ANY, BPF_NOEXIST, BPF_EXIST]).toEqual([0, 1, 2]);
    expect(MapType).toMatchObject({ HASH: 1, ARRAY: 2, PERCPU_ARRAY: 6, LRU_HASH: 9, ARRAY_OF_MAPS: 12, DEVMAP_HASH: 25 });
    expect(ProgType.XDP).toBe(6);
    expect(XdpAction).toEqual({ ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 });
    expect(XdpFlags).toMatchObject({ UPDATE_IF_NOEXIST: 1, SKB_MODE: 2, DRV_MODE: 4, HW_MODE: 8 });
    expect(TestRunFlags.XDP_LIVE_FRAMES).toBe(2);
    expect(Object.isFrozen(MapType)).toBe(true);
  });

  it('ifNameToIndex and ifIndexToName agree on the loopback device', () => {
    expect(ifIndexToName(ifNameToIndex('lo'))).toBe('lo');
  });
});

describe.skipIf(netnsSkipReason !== null)('inNetns', () => {
  let ns: VethNetns;
  beforeAll(() => {
    ns = createVethNetns();
  });
  afterAll(() => ns?.remove());

  it('runs fn inside the namespace and returns its value', () => {
    const outside = currentNetns();
    const inside = inNetns(ns.path, () => ({ netns: currentNetns(), ifindex: ifNameToIndex(ns.a) }));
    expect(inside.netns).not.toBe(outside);
    expect(inside.ifindex).toBeGreaterThan(0);
    expect(currentNetns()).toBe(outside);
    expect(() => ifNameToIndex(ns.a)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
  });

  it('switches back when fn throws, and nests', () => {
    const outside = currentNetns();
    expect(() =>
      inNetns(ns.path, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(currentNetns()).toBe(outside);
    const nested = inNetns(ns.path, () => inNetns(ns.path, () => currentNetns()));
    expect(nested).not.toBe(outside);
    expect(currentNetns()).toBe(outside);
  });

  it('refuses an asynchronous fn and a path that is not a namespace', async () => {
    const outside = currentNetns();
    expect(() => inNetns(ns.path, async () => 1)).toThrow(/must be synchronous/);
    expect(currentNetns()).toBe(outside);
    expect(() => inNetns('/run/netns/xlb-does-not-exist', () => 1)).toThrow(
      expect.objectContaining({ code: 'ENOENT', path: '/run/netns/xlb-does-not-exist' }),
    );
    expect(() => inNetns('/proc/self/ns/uts', () => 1)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'setns' }));
    expect(currentNetns()).toBe(outside);
  });
});
