// BpfMap against the real kernel: element round trips in hash, array, per-CPU array and LRU hash
// maps, iteration, deletes, batches (and their element-by-element fallback), standalone maps,
// pins, and the size checks at the boundary.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BPF_EXIST, BPF_NOEXIST, BpfMap, BpfObject, MapType, numPossibleCpus } from '@xdp-lb/native';
import { fixture, u32, u64 } from './helpers/fixtures.js';
import { ethernetFrame } from './helpers/packets.js';
import { createPinDir, type PinDir } from './helpers/pins.js';
import { announceSkip, bpfSkipReason, byIdSkipReason } from './helpers/requirements.js';

announceSkip('BpfMap', bpfSkipReason);

const frame = ethernetFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', etherType: 0x0800 });

function pair(a: number, b: number): Buffer {
  const v = Buffer.alloc(8);
  v.writeUInt32LE(a, 0);
  v.writeUInt32LE(b, 4);
  return v;
}

describe.skipIf(bpfSkipReason !== null)('BpfMap', () => {
  let obj: BpfObject;
  let pins: PinDir;

  beforeAll(async () => {
    pins = createPinDir();
    obj = BpfObject.open(fixture('config_verdict'));
    await obj.load();
  });
  afterAll(() => {
    obj?.dispose();
    pins?.remove();
  });

  it('reports its info', () => {
    const map = obj.map('t_hash');
    expect(map.info()).toMatchObject({ name: 't_hash', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64 });
    expect(map.id).toBeGreaterThan(0);
    expect(map.fd).toBeGreaterThan(0);
  });

  it('round-trips hash entries: update, lookup, keys, delete, flags', () => {
    const map = obj.map('t_hash');
    for (let k = 100; k < 110; k++) map.update(u32(k), u64(k * 1000));
    expect((map.lookup(u32(105)) as Buffer).readBigUInt64LE(0)).toBe(105000n);
    expect(map.lookup(u32(999))).toBeNull();

    const keys = [...map.keys()].map((k) => k.readUInt32LE(0)).sort((a, b) => a - b);
    expect(keys).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);

    expect(() => map.update(u32(100), u64(1), BPF_NOEXIST)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => map.update(u32(555), u64(1), BPF_EXIST)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    map.update(u32(100), u64(1), BPF_EXIST);
    expect((map.lookup(u32(100)) as Buffer).readBigUInt64LE(0)).toBe(1n);

    expect(map.delete(u32(100))).toBe(true);
    expect(map.delete(u32(100))).toBe(false);
    expect(map.lookupAndDelete(u32(101))?.toString('hex')).toBe(u64(101000).toString('hex'));
    expect(map.lookup(u32(101))).toBeNull();
    for (const k of [...map.keys()]) map.delete(k);
    expect(map.nextKey(null)).toBeNull();
  });

  it('a value written from user space is what the program reads', () => {
    const map = obj.map('t_hash');
    map.update(u32(7), u64(1)); // XDP_DROP
    try {
      expect(obj.program('xdp_from_map').testRun({ data: frame }).retval).toBe(1);
    } finally {
      map.delete(u32(7));
    }
  });

  it('round-trips array entries of struct size and reports out-of-range indexes', () => {
    const map = obj.map('t_array');
    map.update(u32(3), pair(0xdead, 0xbeef));
    expect(map.lookup(u32(3))).toEqual(pair(0xdead, 0xbeef));
    expect(map.lookup(u32(0))).toEqual(Buffer.alloc(8));
    expect([...map.keys()]).toHaveLength(8);
    expect(() => map.update(u32(8), pair(1, 1))).toThrow(expect.objectContaining({ code: 'E2BIG' }));
    expect(() => map.delete(u32(3))).toThrow(
      expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('array maps cannot delete') }),
    );
  });

  it('per-CPU arrays give and take one value per possible CPU', () => {
    const map = obj.map('t_percpu');
    const cpus = numPossibleCpus();
    const runs = obj.program('xdp_verdict');
    const before = (map.lookup(u32(0)) as Buffer[]).reduce((s, b) => s + b.readBigUInt64LE(0), 0n);
    runs.testRun({ data: frame, repeat: 25 });
    const values = map.lookup(u32(0)) as Buffer[];
    expect(values).toHaveLength(cpus);
    expect(values.reduce((s, b) => s + b.readBigUInt64LE(0), 0n) - before).toBe(25n);

    const perCpu = Array.from({ length: cpus }, (_, i) => u64(i + 10));
    map.update(u32(1), perCpu);
    expect(map.lookup(u32(1))).toEqual(perCpu);
    map.update(u32(2), u64(42));
    expect((map.lookup(u32(2)) as Buffer[]).map((b) => b.readBigUInt64LE(0))).toEqual(Array(cpus).fill(42n));
    expect(() => map.update(u32(1), perCpu.slice(1))).toThrow(RangeError);
    expect(() => map.update(u32(1), perCpu.slice(1))).toThrow(new RegExp(`one Buffer per possible CPU \\(${cpus}\\)`));
  });

  it('LRU hashes round-trip and evict instead of failing when full', () => {
    const map = obj.map('t_lru');
    map.update(u32(1), u32(11));
    expect(map.lookup(u32(1))).toEqual(u32(11));
    for (let k = 100; k < 200; k++) map.update(u32(k), u32(k));
    const count = [...map.keys()].length;
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThanOrEqual(16);
  });

  it('batches: update, lookup and delete many entries at once', async () => {
    const map = obj.map('t_hash');
    const keys = Array.from({ length: 20 }, (_, i) => u32(1000 + i));
    const values = keys.map((_, i) => u64(i * 3));
    expect(await map.updateBatch(keys, values)).toEqual({ count: 20, batched: true });

    const all = await map.lookupBatch();
    expect(all.batched).toBe(true);
    const got = new Map(all.keys.map((k, i) => [k.readUInt32LE(0), (all.values[i] as Buffer).readBigUInt64LE(0)]));
    expect(got.size).toBe(20);
    expect(got.get(1007)).toBe(21n);

    expect(await map.deleteBatch(keys.slice(0, 10))).toEqual({ count: 10, batched: true });
    expect([...map.keys()]).toHaveLength(10);
    // Kernel semantics: a missing key stops the batch with ENOENT; err.count says how far it got.
    await expect(map.deleteBatch([keys[10]!, u32(4242)])).rejects.toMatchObject({ code: 'ENOENT', count: 1 });
    await map.deleteBatch(keys.slice(11));
    expect(map.nextKey(null)).toBeNull();
  });

  it('batch lookup of a per-CPU map returns per-CPU values', async () => {
    const all = await obj.map('t_percpu').lookupBatch();
    expect(all.keys).toHaveLength(4);
    for (const v of all.values) expect(v).toHaveLength(numPossibleCpus());
  });

  it('falls back to element-by-element where the kernel has no batch command (DEVMAP_HASH)', async () => {
    // Values are ifindexes that must exist: 1 is the loopback device of any namespace.
    const devmap = BpfMap.create({ type: MapType.DEVMAP_HASH, keySize: 4, valueSize: 4, maxEntries: 8, name: 'test_devmap' });
    try {
      const keys = [u32(10), u32(20)];
      expect(await devmap.updateBatch(keys, [u32(1), u32(1)])).toEqual({ count: 2, batched: false });
      const all = await devmap.lookupBatch();
      expect(all.batched).toBe(false);
      expect(all.keys.map((k) => k.readUInt32LE(0)).sort()).toEqual([10, 20]);
      expect(all.values).toEqual([u32(1), u32(1)]);
      expect(await devmap.deleteBatch(keys)).toEqual({ count: 2, batched: false });
      expect(devmap.nextKey(null)).toBeNull();
    } finally {
      devmap.dispose();
    }
  });

  it('keys and values must have the exact size, with the expected size in the message', async () => {
    const map = obj.map('t_hash');
    expect(() => map.lookup(Buffer.alloc(3))).toThrow(RangeError);
    expect(() => map.lookup(Buffer.alloc(3))).toThrow("key for map 't_hash' must be 4 bytes, got 3");
    expect(() => map.update(u32(1), Buffer.alloc(4))).toThrow("value for map 't_hash' must be 8 bytes, got 4");
    expect(() => map.update(u32(1), 'x' as unknown as Buffer)).toThrow(TypeError);
    await expect(map.updateBatch([u32(1)], [])).rejects.toThrow(RangeError);
  });

  it('creates standalone maps, pins them and reopens them by pin', () => {
    const map = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8, name: 'test_standalone' });
    const pin = pins.at('standalone');
    try {
      expect(map.info()).toMatchObject({ name: 'test_standalone', type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
      map.update(u32(1), u32(2));
      map.pin(pin);
      expect(map.pinPath).toBe(pin);
      const byPin = BpfMap.fromPinned(pin);
      try {
        expect(byPin.id).toBe(map.id);
        expect(byPin.lookup(u32(1))).toEqual(u32(2));
        byPin.update(u32(3), u32(4));
        expect(map.lookup(u32(3))).toEqual(u32(4));
      } finally {
        byPin.dispose();
      }
      map.unpin();
      expect(existsSync(pin)).toBe(false);
    } finally {
      map.dispose();
    }
    expect(() => map.fd).toThrow(expect.objectContaining({ code: 'ERR_LB_DISPOSED' }));
  });

  it.skipIf(byIdSkipReason !== null)('reopens a map by id', () => {
    const map = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
    try {
      map.update(u32(1), u32(9));
      const byId = BpfMap.fromId(map.id);
      try {
        expect(byId.info()).toMatchObject({ id: map.id, type: MapType.ARRAY, maxEntries: 2 });
        expect(byId.lookup(u32(1))).toEqual(u32(9));
      } finally {
        byId.dispose();
      }
    } finally {
      map.dispose();
    }
  });

  it('queue maps have no keys: update pushes, lookupAndDelete pops', () => {
    const queue = BpfMap.create({ type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 4 });
    try {
      queue.update(null, u32(1));
      queue.update(null, u32(2));
      expect(queue.lookupAndDelete(null)).toEqual(u32(1));
      expect(queue.lookupAndDelete(null)).toEqual(u32(2));
      expect(queue.lookupAndDelete(null)).toBeNull();
    } finally {
      queue.dispose();
    }
  });

  it('refuses create options the kernel cannot take, naming them', () => {
    expect(() => BpfMap.create({ type: MapType.HASH, keySize: 0, valueSize: 4, maxEntries: 8 })).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'bpf_map_create' }),
    );
    expect(() => BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8, name: 'a_name_that_is_too_long' })).toThrow(
      RangeError,
    );
    expect(() => BpfMap.create({ type: MapType.HASH } as never)).toThrow(/keySize is required/);
  });
});
