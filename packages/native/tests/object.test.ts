// BpfObject against the real kernel: open, BTF variables, rodata set before load and proven by the
// program's verdict, live .data/.bss after load, map parameters before load, pins, dispose.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfMap, BpfObject, XdpAction } from '@xdp-lb/native';
import { bpfFdCount, fixture, u32, u64 } from './helpers/fixtures.js';
import { ethernetFrame } from './helpers/packets.js';
import { createPinDir, type PinDir } from './helpers/pins.js';
import { announceSkip, bpfSkipReason } from './helpers/requirements.js';

announceSkip('BpfObject', bpfSkipReason);

const frame = ethernetFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', etherType: 0x0800 });

async function loadVerdict(configure?: (obj: BpfObject) => void): Promise<BpfObject> {
  const obj = BpfObject.open(fixture('config_verdict'));
  configure?.(obj);
  await obj.load();
  return obj;
}

describe.skipIf(bpfSkipReason !== null)('BpfObject', () => {
  let pins: PinDir;
  beforeAll(() => {
    pins = createPinDir();
  });
  afterAll(() => pins?.remove());

  it("reads a struct's layout from BTF; null for a struct it does not have", () => {
    const obj = BpfObject.open(fixture('config_verdict'));
    try {
      expect(obj.structLayout('pair')).toEqual({
        name: 'pair',
        size: 8,
        members: [
          { name: 'a', offset: 0, size: 4, bitSize: 0 },
          { name: 'b', offset: 4, size: 4, bitSize: 0 },
        ],
      });
      expect(obj.structLayout('no_such_struct')).toBeNull();
    } finally {
      obj.dispose();
    }
  });

  it('lists the global variables from BTF with section, offset and size', () => {
    const obj = BpfObject.open(fixture('config_verdict'));
    try {
      expect(obj.state).toBe('opened');
      expect(obj.name).toBe('config_verdict.bpf.o');
      const vars = Object.fromEntries(obj.variables().map((v) => [v.name, v]));
      expect(vars.cfg_verdict).toEqual({ name: 'cfg_verdict', section: '.rodata', offset: 0, size: 4 });
      expect(vars.seen_frames).toMatchObject({ section: '.bss', size: 8 });
      expect(vars.data_marker).toMatchObject({ section: '.data', size: 4 });
      expect(obj.getVariable('data_marker').readUInt32LE(0)).toBe(0x5eed);
    } finally {
      obj.dispose();
    }
  });

  it.each([
    ['XDP_DROP', XdpAction.DROP],
    ['XDP_TX', XdpAction.TX],
    ['XDP_ABORTED', XdpAction.ABORTED],
  ])('a rodata verdict set before load (%s) is what the program returns', async (_name, verdict) => {
    const obj = await loadVerdict((o) => o.setVariable('cfg_verdict', u32(verdict)));
    try {
      expect(obj.program('xdp_verdict').testRun({ data: frame }).retval).toBe(verdict);
      expect(obj.getVariable('cfg_verdict').readUInt32LE(0)).toBe(verdict);
    } finally {
      obj.dispose();
    }
  });

  it('without setVariable the compiled default (XDP_PASS) holds', async () => {
    const obj = await loadVerdict();
    try {
      expect(obj.program('xdp_verdict').testRun({ data: frame }).retval).toBe(XdpAction.PASS);
    } finally {
      obj.dispose();
    }
  });

  it('after load, .bss is read live and .data written live; .rodata is frozen', async () => {
    const obj = await loadVerdict();
    try {
      obj.program('xdp_verdict').testRun({ data: frame, repeat: 5 });
      expect(obj.getVariable('seen_frames').readBigUInt64LE(0)).toBe(5n);

      obj.setVariable('data_marker', u32(77));
      // The kernel's copy, read through the section map, shows the write.
      expect((obj.map('.data').lookup(u32(0)) as Buffer).readUInt32LE(0)).toBe(77);
      expect(obj.getVariable('data_marker').readUInt32LE(0)).toBe(77);

      expect(() => obj.setVariable('cfg_verdict', u32(1))).toThrow(
        expect.objectContaining({ code: 'ERR_LB_ALREADY_LOADED', message: expect.stringContaining('.rodata') }),
      );
    } finally {
      obj.dispose();
    }
  });

  it('setVariable checks the size and the name', () => {
    const obj = BpfObject.open(fixture('config_verdict'));
    try {
      expect(() => obj.setVariable('cfg_verdict', Buffer.alloc(8))).toThrow(RangeError);
      expect(() => obj.setVariable('cfg_verdict', Buffer.alloc(8))).toThrow(/must be 4 bytes, got 8/);
      expect(() => obj.setVariable('no_such', u32(1))).toThrow(
        expect.objectContaining({ code: 'ERR_LB_NOT_FOUND', message: expect.stringContaining('cfg_verdict') }),
      );
      expect(() => obj.setVariable('cfg_verdict', 'x' as unknown as Buffer)).toThrow(TypeError);
    } finally {
      obj.dispose();
    }
  });

  it('setMaxEntries before load sizes the kernel map', async () => {
    const obj = await loadVerdict((o) => o.map('t_hash').setMaxEntries(128));
    try {
      const map = obj.map('t_hash');
      // The kernel map takes exactly 128 entries (the object declares 64).
      for (let k = 0; k < 128; k++) map.update(u32(k), u64(k));
      expect(() => map.update(u32(128), u64(0))).toThrow(expect.objectContaining({ code: 'E2BIG' }));
      expect(map.maxEntries).toBe(128);
      expect(() => map.setMaxEntries(4)).toThrow(expect.objectContaining({ code: 'ERR_LB_ALREADY_LOADED' }));
    } finally {
      obj.dispose();
    }
  });

  it('opens from a Buffer', async () => {
    const obj = BpfObject.open(readFileSync(fixture('config_verdict')), { name: 'from-buffer' });
    try {
      expect(obj.name).toBe('from-buffer');
      expect(obj.path).toBeNull();
      obj.setVariable('cfg_verdict', u32(XdpAction.DROP));
      await obj.load();
      expect(obj.program('xdp_verdict').testRun({ data: frame }).retval).toBe(XdpAction.DROP);
    } finally {
      obj.dispose();
    }
  });

  it('setPinPath pins a new map at load and a second object reuses it with its contents', async () => {
    const pin = pins.at('t_hash');
    const first = await loadVerdict((o) => o.map('t_hash').setPinPath(pin));
    try {
      expect(existsSync(pin)).toBe(true);
      first.map('t_hash').update(u32(7), u64(XdpAction.DROP));
      const second = await loadVerdict((o) => o.map('t_hash').setPinPath(pin));
      try {
        expect(second.map('t_hash').id).toBe(first.map('t_hash').id);
        // The second object's program reads the entry the first object wrote.
        expect(second.program('xdp_from_map').testRun({ data: frame }).retval).toBe(XdpAction.DROP);
      } finally {
        second.dispose();
      }
      // A pin with other parameters is not silently reused: the load fails and says so.
      const third = BpfObject.open(fixture('config_verdict'));
      try {
        third.map('t_hash').setMaxEntries(32);
        third.map('t_hash').setPinPath(pin);
        await expect(third.load()).rejects.toMatchObject({ code: 'EINVAL', syscall: 'bpf_object__load' });
        expect(third.state).toBe('load-failed');
      } finally {
        third.dispose();
      }
    } finally {
      first.dispose();
      rmSync(pin, { force: true });
    }
    expect(existsSync(pin)).toBe(false);
  });

  it('reusePinned shares a pinned map and refuses an incompatible one', async () => {
    const shared = BpfMap.create({ type: 1, keySize: 4, valueSize: 8, maxEntries: 64, name: 'shared' });
    const wrong = BpfMap.create({ type: 1, keySize: 4, valueSize: 4, maxEntries: 64, name: 'wrong' });
    shared.pin(pins.at('shared'));
    wrong.pin(pins.at('wrong'));
    try {
      shared.update(u32(7), u64(XdpAction.TX));
      const obj = await loadVerdict((o) => o.map('t_hash').reusePinned(pins.at('shared')));
      try {
        expect(obj.map('t_hash').id).toBe(shared.id);
        expect(obj.program('xdp_from_map').testRun({ data: frame }).retval).toBe(XdpAction.TX);
      } finally {
        obj.dispose();
      }
      const other = BpfObject.open(fixture('config_verdict'));
      try {
        expect(() => other.map('t_hash').reusePinned(pins.at('wrong'))).toThrow(
          expect.objectContaining({ code: 'ERR_LB_INCOMPATIBLE', message: expect.stringContaining('value size 4') }),
        );
        other.map('t_hash').reuseFd(shared);
        await other.load();
        expect(other.map('t_hash').id).toBe(shared.id);
      } finally {
        other.dispose();
      }
    } finally {
      shared.unpin();
      wrong.unpin();
      shared.dispose();
      wrong.dispose();
    }
  });

  it('pinMaps and unpinMaps pin every map by name', async () => {
    const obj = await loadVerdict();
    const dir = pins.at('all');
    try {
      obj.pinMaps(dir);
      for (const name of ['t_hash', 't_array', 't_percpu', 't_lru']) expect(existsSync(`${dir}/${name}`)).toBe(true);
      obj.unpinMaps(dir);
      expect(existsSync(`${dir}/t_hash`)).toBe(false);
    } finally {
      obj.dispose();
    }
  });

  it('lists programs and maps; unknown names list what exists', () => {
    const obj = BpfObject.open(fixture('config_verdict'));
    try {
      expect(
        obj
          .programs()
          .map((p) => p.name)
          .sort(),
      ).toEqual(['xdp_from_map', 'xdp_verdict']);
      expect(obj.maps().map((m) => m.name)).toEqual(expect.arrayContaining(['t_hash', 't_array', 't_percpu', 't_lru']));
      expect(() => obj.program('nope')).toThrow(/program 'nope' not found in config_verdict\.bpf\.o \(programs: .*xdp_verdict/);
      expect(() => obj.map('nope')).toThrow(expect.objectContaining({ code: 'ERR_LB_NOT_FOUND' }));
      // Before load a program has a name, type and section but no fd.
      const prog = obj.program('xdp_verdict');
      expect(prog.section).toBe('xdp');
      expect(() => prog.fd).toThrow(expect.objectContaining({ code: 'ERR_LB_NOT_LOADED' }));
    } finally {
      obj.dispose();
    }
  });

  it('load twice is refused; dispose is idempotent and closes every fd', async () => {
    const before = bpfFdCount();
    const obj = await loadVerdict();
    expect(bpfFdCount()).toBeGreaterThan(before);
    await expect(obj.load()).rejects.toMatchObject({ code: 'ERR_LB_ALREADY_LOADED' });
    const map = obj.map('t_hash');
    const prog = obj.program('xdp_verdict');
    obj.dispose();
    obj.dispose();
    expect(obj.state).toBe('disposed');
    expect(bpfFdCount()).toBe(before);
    for (const call of [() => map.lookup(u32(1)), () => prog.testRun({ data: frame }), () => obj.maps()]) {
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_LB_DISPOSED' }));
    }
    expect(map.disposed).toBe(true);
  });

  it('cannot be constructed directly', () => {
    expect(() => new (BpfObject as unknown as new () => unknown)()).toThrow(TypeError);
  });
});
