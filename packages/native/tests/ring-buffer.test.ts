// RingBuffer against the real kernel: records a program put into a ringbuf map come out in order,
// each a copy; consume(max) leaves the rest; a full ring refuses records (the producer sees it); a
// map of another type and a disposed reader are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfMap, BpfObject, type BpfProgram, MapType, RingBuffer, XdpAction } from '@xdp-lb/native';
import { fixture } from './helpers/fixtures.js';
import { announceSkip, bpfSkipReason } from './helpers/requirements.js';

announceSkip('RingBuffer', bpfSkipReason);

/** A 14-byte frame whose first 8 bytes are `n` (little-endian). */
const frame = (n: number) => {
  const b = Buffer.alloc(14);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

describe.skipIf(bpfSkipReason !== null)('RingBuffer', () => {
  let obj: BpfObject;
  let prog: BpfProgram;
  let ring: RingBuffer;

  beforeAll(async () => {
    obj = BpfObject.open(fixture('ring_out'));
    await obj.load();
    prog = obj.program('xdp_ring_out');
    ring = RingBuffer.open(obj.map('records'));
  });
  afterAll(() => {
    ring?.dispose();
    obj?.dispose();
  });

  it('hands over every record in order, each once', () => {
    expect(ring.consume()).toEqual([]);
    for (let i = 1; i <= 5; i++) expect(prog.testRun({ data: frame(i) }).retval).toBe(XdpAction.PASS);
    const got = ring.consume();
    expect(got.map((b) => Number(b.readBigUInt64LE(0)))).toEqual([1, 2, 3, 4, 5]);
    expect(got.every((b) => b.length === 8)).toBe(true);
    expect(ring.consume()).toEqual([]);
  });

  it('consume(max) takes at most max; the rest wait for the next call', () => {
    for (let i = 10; i < 16; i++) prog.testRun({ data: frame(i) });
    expect(ring.consume(4).map((b) => Number(b.readBigUInt64LE(0)))).toEqual([10, 11, 12, 13]);
    expect(ring.consume(4).map((b) => Number(b.readBigUInt64LE(0)))).toEqual([14, 15]);
  });

  it('a full ring refuses records until they are consumed', () => {
    // 4096 bytes, 16 per record (8-byte header + 8): the 257th is refused.
    const verdicts = Array.from({ length: 300 }, (_, i) => prog.testRun({ data: frame(i) }).retval);
    expect(verdicts.filter((v) => v === XdpAction.DROP).length).toBeGreaterThan(0);
    const n = ring.consume().length;
    expect(n).toBe(verdicts.filter((v) => v === XdpAction.PASS).length);
    expect(prog.testRun({ data: frame(1) }).retval).toBe(XdpAction.PASS);
    expect(ring.consume().length).toBe(1);
  });

  it('outlives the object it was opened from (its own fd keeps the map)', async () => {
    const other = BpfObject.open(fixture('ring_out'));
    await other.load();
    const r = RingBuffer.open(other.map('records'));
    try {
      other.program('xdp_ring_out').testRun({ data: frame(42) });
      other.dispose();
      expect(r.consume().map((b) => Number(b.readBigUInt64LE(0)))).toEqual([42]);
    } finally {
      r.dispose();
    }
  });

  it('refuses a map of another type, and a disposed reader', () => {
    const hash = BpfMap.create({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    try {
      expect(() => RingBuffer.open(hash)).toThrow(/is not a ringbuf/);
    } finally {
      hash.dispose();
    }
    const r = RingBuffer.open(obj.map('records'));
    r.dispose();
    expect(r.disposed).toBe(true);
    expect(() => r.consume()).toThrow(expect.objectContaining({ code: 'ERR_LB_DISPOSED' }));
  });
});
