// ARRAY_OF_MAPS: inner maps created with BpfMap.create are written into the outer map by fd; the
// program reads its verdict through whichever inner map is current, so swapping the inner map
// swaps the whole table in one write.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfMap, BpfObject, MapType, XdpAction } from '@xdp-lb/native';
import { fixture, u32 } from './helpers/fixtures.js';
import { ethernetFrame } from './helpers/packets.js';
import { announceSkip, bpfSkipReason, byIdSkipReason } from './helpers/requirements.js';

announceSkip('ARRAY_OF_MAPS', bpfSkipReason);

const frame = ethernetFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', etherType: 0x0800 });

function verdictTable(verdict: number): BpfMap {
  // Same shape as the object's inner template (array, u32 -> u32, 4 entries): the kernel checks it.
  const inner = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, name: 'test_inner' });
  inner.update(u32(0), u32(verdict));
  return inner;
}

describe.skipIf(bpfSkipReason !== null)('ARRAY_OF_MAPS', () => {
  let obj: BpfObject;
  const inners: BpfMap[] = [];

  beforeAll(async () => {
    obj = BpfObject.open(fixture('map_in_map'));
    await obj.load();
  });
  afterAll(() => {
    for (const m of inners) m.dispose();
    obj?.dispose();
  });

  it('the program reads through the inner map in slot 0, and a swap takes effect at once', () => {
    const outer = obj.map('t_outer');
    const prog = obj.program('xdp_via_inner');
    expect(outer.type).toBe(MapType.ARRAY_OF_MAPS);
    expect(prog.testRun({ data: frame }).retval).toBe(XdpAction.ABORTED); // empty slot

    const drop = verdictTable(XdpAction.DROP);
    const tx = verdictTable(XdpAction.TX);
    inners.push(drop, tx);

    outer.update(u32(0), u32(drop.fd)); // the raw form: the inner map's fd as the 4-byte value
    expect(prog.testRun({ data: frame }).retval).toBe(XdpAction.DROP);
    // User space reads back the inner map's id, not an fd.
    expect((outer.lookup(u32(0)) as Buffer).readUInt32LE(0)).toBe(drop.id);

    outer.update(u32(0), tx); // the convenient form: a BpfMap
    expect(prog.testRun({ data: frame }).retval).toBe(XdpAction.TX);
    expect((outer.lookup(u32(0)) as Buffer).readUInt32LE(0)).toBe(tx.id);
  });

  it.skipIf(byIdSkipReason !== null)('the outer map keeps the current inner map alive after its handle is gone', () => {
    const outer = obj.map('t_outer');
    const table = verdictTable(XdpAction.PASS);
    outer.update(u32(0), table);
    const id = table.id;
    table.dispose();
    expect(obj.program('xdp_via_inner').testRun({ data: frame }).retval).toBe(XdpAction.PASS);
    const current = BpfMap.fromId((outer.lookup(u32(0)) as Buffer).readUInt32LE(0));
    try {
      expect(current.id).toBe(id);
      expect(current.lookup(u32(0))).toEqual(u32(XdpAction.PASS));
    } finally {
      current.dispose();
    }
  });

  it('an inner map of another shape is refused by the kernel', () => {
    const wrong = BpfMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
    try {
      expect(() => obj.map('t_outer').update(u32(0), wrong)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    } finally {
      wrong.dispose();
    }
  });
});
