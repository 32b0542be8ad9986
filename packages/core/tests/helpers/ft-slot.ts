import type { FtTuple } from '../../src/dataplane/flowtab.js';

/**
 * Writes a struct lb_ft_slot at way `way` of `bucket` as the data plane lays it out (lb_abi.h;
 * abi-btf.test.ts checks the decoder against the compiler's layout). Only tests write slots:
 * userspace never writes lb_ft4.
 */
export function putSlot(
  bucket: Buffer,
  way: number,
  t: FtTuple,
  v: { state: number; fwd: number; flags?: number; svcId: number; backendId: number; backendGen: number; seen: number },
) {
  const o = way * 32 + 4;
  Buffer.from(t.saddr.text.split('.').map(Number)).copy(bucket, o);
  Buffer.from(t.daddr.text.split('.').map(Number)).copy(bucket, o + 4);
  bucket.writeUInt16BE(t.sport, o + 8);
  bucket.writeUInt16BE(t.dport, o + 10);
  bucket.writeUInt8(t.proto, o + 12);
  bucket.writeUInt8(v.state, o + 13);
  bucket.writeUInt8(v.fwd, o + 14);
  bucket.writeUInt8(v.flags ?? 0, o + 15);
  bucket.writeUInt16LE(v.svcId, o + 16);
  bucket.writeUInt16LE(v.backendId, o + 18);
  bucket.writeUInt32LE(v.backendGen, o + 20);
  bucket.writeUInt32LE(v.seen >>> 0, o + 24);
}
