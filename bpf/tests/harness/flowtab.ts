/**
 * The harness's reading of lb_ft4, the flow table (bpf/lib/flowtab.h, bpf/include/lb_abi.h struct
 * lb_ft_bucket): which bucket a flow hashes to, what its slot holds, and the writes tests make to
 * let time pass. The bucket index comes from core's murmur3 (`flowHash`): lb_ft_hash is
 * lb_hash_words over 4 words with the seed hash_seed ^ LB_FT_SALT, so a wrong word order or salt in
 * either shows up as a flow not found where the kernel put it.
 */
import { flowHash } from '@xdp-lb/core/strategy';
import type { BpfMap } from '@xdp-lb/native';
import { addr, type CtValue, type Flow, LB_CT_OPEN, protoNumber, u32 } from './abi.js';

export const LB_FT_WAYS = 4;
export const LB_FT_HALF = 3;
export const LB_FT_TICK_SHIFT = 20n;
export const LB_FT_SALT = 0x7f4a7c15;
export const FT_BUCKET = 128;
const WAY = 32;
const SLOT = 4; // a way's slot after its aux word

/** lb_ft_hash of an IPv4 flow. */
export function ftHash(flow: Flow, seed = 0): number {
  const w = Buffer.alloc(16);
  addr(flow.src).copy(w, 0, 12, 16);
  addr(flow.dst).copy(w, 4, 12, 16);
  w.writeUInt16BE(flow.sport, 8);
  w.writeUInt16BE(flow.dport, 10);
  w.writeUInt32LE(protoNumber(flow.proto), 12);
  return flowHash(w, (seed ^ LB_FT_SALT) >>> 0, 4);
}

export interface FtSlot extends CtValue {
  way: number;
  /** LB_FT_HALF: a half-open flow (its state reads LB_CT_OPEN, as an lb_ct_syn entry's). */
  half: boolean;
  /** The raw tick (coarse clock >> 20). */
  seen: number;
}

export class FlowTable {
  constructor(
    private readonly map: BpfMap,
    private readonly seed = 0,
  ) {}

  get buckets(): number {
    return this.map.maxEntries;
  }

  bucketOf(flow: Flow): number {
    return ftHash(flow, this.seed) & (this.buckets - 1);
  }

  bucket(index: number): Buffer {
    return this.map.lookup(u32(index)) as Buffer;
  }

  /** Way 1's aux: the tick | 1 of the bucket's last SYN sent to lb_ct_syn (0: never). */
  flags(index: number): number {
    return this.bucket(index).readUInt32LE(WAY);
  }

  /** Rewrites it (a test lets time pass for the flag). */
  setFlags(index: number, value: number): void {
    const b = this.bucket(index);
    b.writeUInt32LE(value >>> 0, WAY);
    this.map.update(u32(index), b);
  }

  /** The flow's slot, if the table holds it. */
  find(flow: Flow): FtSlot | null {
    const b = this.bucket(this.bucketOf(flow));
    for (let way = 0; way < LB_FT_WAYS; way++) {
      const o = way * WAY + SLOT;
      if (b[o + 12] === protoNumber(flow.proto) && this.keyAt(b, o).equals(this.key(flow)))
        return { ...this.decode(b, o, way), inIfindex: ftHash(flow, this.seed) }; // its encap_hash: the table hash
    }
    return null;
  }

  /** Live slots of a bucket (proto != 0). */
  slots(index: number): FtSlot[] {
    const b = this.bucket(index);
    const out: FtSlot[] = [];
    for (let way = 0; way < LB_FT_WAYS; way++) if (b[way * WAY + SLOT + 12]) out.push(this.decode(b, way * WAY + SLOT, way));
    return out;
  }

  /** Every occupied slot of the table (a test's table is small). */
  count(): number {
    let n = 0;
    for (let i = 0; i < this.buckets; i++) n += this.slots(i).length;
    return n;
  }

  /** Time passes for the flow's slot: its tick becomes `ns` older (rounded up to whole ticks). */
  age(flow: Flow, ns: bigint): void {
    this.edit(flow, (b, o) => {
      const ticks = Number((ns + (1n << LB_FT_TICK_SHIFT) - 1n) >> LB_FT_TICK_SHIFT);
      b.writeUInt32LE((b.readUInt32LE(o + 24) - ticks) >>> 0, o + 24);
    });
  }

  /** Rewrites the flow's slot with `fn` (offset `o` is the slot's first byte in the bucket). */
  edit(flow: Flow, fn: (bucket: Buffer, o: number) => void): void {
    const index = this.bucketOf(flow);
    const b = this.bucket(index);
    const s = this.find(flow);
    if (!s) throw new Error(`lb_ft4 holds no slot of ${JSON.stringify(flow)}`);
    fn(b, s.way * WAY + SLOT);
    this.map.update(u32(index), b);
  }

  /** Frees the flow's slot (proto 0), as if it had never been made. */
  forget(flow: Flow): boolean {
    if (!this.find(flow)) return false;
    this.edit(flow, (b, o) => {
      b.fill(0, o, o + 28);
    });
    return true;
  }

  /** Writes a slot as the data plane would (tests that fill a bucket; nothing runs meanwhile). */
  plant(
    flow: Flow,
    v: { way: number; state: number; backendId: number; backendGen?: number; svcId: number; fwd: number; seen: number },
  ): void {
    const index = this.bucketOf(flow);
    const b = this.bucket(index);
    const o = v.way * WAY + SLOT;
    this.key(flow).copy(b, o);
    b[o + 12] = protoNumber(flow.proto);
    b[o + 13] = v.state;
    b[o + 14] = v.fwd;
    b[o + 15] = 0;
    b.writeUInt16LE(v.svcId, o + 16);
    b.writeUInt16LE(v.backendId, o + 18);
    b.writeUInt32LE(v.backendGen ?? 0, o + 20);
    b.writeUInt32LE(v.seen >>> 0, o + 24);
    this.map.update(u32(index), b);
  }

  private key(flow: Flow): Buffer {
    const k = Buffer.alloc(12);
    addr(flow.src).copy(k, 0, 12, 16);
    addr(flow.dst).copy(k, 4, 12, 16);
    k.writeUInt16BE(flow.sport, 8);
    k.writeUInt16BE(flow.dport, 10);
    return k;
  }

  private keyAt(b: Buffer, o: number): Buffer {
    return b.subarray(o, o + 12);
  }

  private decode(b: Buffer, o: number, way: number): FtSlot {
    const stateByte = b[o + 13]!;
    const state = stateByte & 0x0f;
    const seen = b.readUInt32LE(o + 24);
    return {
      way,
      half: state === LB_FT_HALF,
      seen,
      backendId: b.readUInt16LE(o + 18),
      backendGen: b.readUInt32LE(o + 20),
      seenNs: BigInt(seen) << LB_FT_TICK_SHIFT,
      svcId: b.readUInt16LE(o + 16),
      state: state === LB_FT_HALF ? LB_CT_OPEN : state,
      fwd: b[o + 14]!,
      snatPort: 0,
      snatAddr: '::',
      peerMac: Buffer.alloc(6),
      closeReason: stateByte >> 4,
      flags: b[o + 15]!,
      inIfindex: 0,
      snatLease: 0,
    };
  }
}
