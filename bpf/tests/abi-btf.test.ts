// Core's lb_abi.h codecs (packages/core/src/dataplane/abi.ts) against the compiled objects' BTF:
// what the compiler laid out, read through the native addon (BpfObject.structLayout). Each codec
// is observed, not restated: an encoder writes one field at a time, and the bytes that change must
// be exactly its C member's (the member named like the field, snake_case); a decoder is given one
// member's bytes set, and exactly the field named like it must change. Sizes must agree too. A field
// that moves in C, or a codec offset typed wrong, fails here instead of being misread in the kernel.
import { describe, expect, it } from 'vitest';
import { Abi, parseIp } from '@xdp-lb/core';
import { BpfObject, type StructLayout } from '@xdp-lb/native';
import { bpfSkipReason, objectPath, STRATEGIES } from './harness/dataplane.js';

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
/** Members that no codec reads or writes: padding, and lb_ct.flags (the data plane's own). */
const UNCODED = new Set(['pad', 'lb_ct.flags']);
const coded = (layout: StructLayout) => layout.members.filter((m) => !UNCODED.has(m.name) && !UNCODED.has(`${layout.name}.${m.name}`));

const ip = (text: string) => parseIp(text)!;
const ADDR_A = ip('2001:db8::a');
const ADDR_B = ip('a5a5:a5a5:a5a5:a5a5:a5a5:a5a5:a5a5:a5a5');

/** A value unlike the base's for a field of `size` bytes. */
function other(value: unknown, size: number): unknown {
  if (typeof value === 'number') return size === 1 ? 0xa5 : size === 2 ? 0xa5a5 : 0xa5a5a5a5;
  if (Buffer.isBuffer(value)) return Buffer.alloc(value.length, 0xa5);
  return ADDR_B; // an address
}

const changedBytes = (a: Buffer, b: Buffer) => [...a.keys()].filter((i) => a[i] !== b[i]);
const range = (offset: number, size: number) => Array.from({ length: size }, (_, i) => offset + i);

interface Encoder<T> {
  struct: string;
  size: number;
  base: T;
  encode: (v: T) => Buffer;
}

const ENCODERS: Encoder<any>[] = [
  { struct: 'lb_svc_key', size: Abi.SIZES.svcKey, base: { vip: ADDR_A, port: 0, proto: 0 }, encode: Abi.encodeSvcKey },
  {
    struct: 'lb_svc',
    size: Abi.SIZES.svc,
    base: { id: 0, flags: 0, fwd: 0, strategy: 0, snatFirst: 0, snatCount: 0 },
    encode: Abi.encodeSvc,
  },
  { struct: 'lb_backend', size: Abi.SIZES.backend, base: { addr: ADDR_A, port: 0, state: 0, gen: 0 }, encode: Abi.encodeBackend },
  { struct: 'lb_flow', size: Abi.SIZES.flow, base: { src: ADDR_A, dst: ADDR_A, sport: 0, dport: 0, proto: 0 }, encode: Abi.encodeFlow },
  { struct: 'lb_addr_slot', size: Abi.SIZES.addrSlot, base: { addr: Buffer.alloc(16), flags: 0, state: 0 }, encode: Abi.encodeAddrSlot },
];

interface Decoder {
  struct: string;
  size: number;
  decode: (b: Buffer) => Record<string, unknown>;
}

const DECODERS: Decoder[] = [
  { struct: 'lb_ct', size: Abi.SIZES.ct, decode: (b) => ({ ...Abi.decodeCt(b) }) },
  { struct: 'lb_counters', size: Abi.SIZES.counters, decode: (b) => ({ ...Abi.sumCounters([b]) }) },
  { struct: 'lb_svc', size: Abi.SIZES.svc, decode: (b) => ({ ...Abi.decodeSvc(b) }) },
  { struct: 'lb_backend', size: Abi.SIZES.backend, decode: (b) => ({ ...Abi.decodeBackend(b) }) },
  { struct: 'lb_flow', size: Abi.SIZES.flow, decode: (b) => ({ ...Abi.decodeFlow(b) }) },
  { struct: 'lb_addr_slot', size: Abi.SIZES.addrSlot, decode: (b) => ({ ...Abi.decodeAddrSlot(b) }) },
  // The state byte holds two fields (state, close_reason << 4): compared as one.
  {
    struct: 'lb_ft_slot',
    size: Abi.SIZES.ftSlot,
    decode: (b) => {
      const { way: _way, closeReason, ...s } = Abi.decodeFtSlot(b);
      return { ...s, state: [s.state, closeReason] };
    },
  },
];

/** Comparable text of a decoded field (addresses, buffers and bigints included). */
const text = (v: unknown) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('hex') : JSON.stringify(v));

describe.skipIf(!!bpfSkipReason)("core codecs against the objects' BTF", () => {
  for (const id of STRATEGIES) {
    describe(`lb_${id}.bpf.o`, () => {
      const layouts = new Map<string, StructLayout>();
      const layout = (name: string) => {
        if (!layouts.has(name)) {
          const obj = BpfObject.open(objectPath(id));
          try {
            const l = obj.structLayout(name);
            expect(l, `struct ${name} in the BTF of lb_${id}.bpf.o`).not.toBeNull();
            layouts.set(name, l!);
          } finally {
            obj.dispose();
          }
        }
        return layouts.get(name)!;
      };

      for (const e of ENCODERS) {
        it(`encodes struct ${e.struct} where the compiler put each member`, () => {
          const l = layout(e.struct);
          expect(e.size, `SIZES of ${e.struct}`).toBe(l.size);
          const base = e.encode(e.base);
          expect(base.length).toBe(l.size);
          const fields = Object.keys(e.base);
          const members = coded(l);
          expect(members.map((m) => camel(m.name)).sort(), `${e.struct}: the codec's fields are its members`).toEqual([...fields].sort());
          for (const m of members) {
            expect(m.bitSize, `${e.struct}.${m.name} is no bitfield`).toBe(0);
            const field = camel(m.name);
            const changed = e.encode({ ...e.base, [field]: other(e.base[field], m.size) });
            expect(
              changedBytes(base, changed),
              `${e.struct}.${m.name} (offset ${m.offset}, ${m.size} bytes): the bytes ${field} writes`,
            ).toEqual(range(m.offset, m.size));
          }
        });
      }

      it('lays out lb_ft4 buckets as abi.ts reads them: ways of an aux word and a slot', () => {
        expect(layout('lb_ft_bucket').size).toBe(Abi.SIZES.ftBucket);
        expect(layout('lb_ft_bucket').members.map((m) => [m.name, m.offset, m.size])).toEqual([['w', 0, Abi.FT_WAYS * Abi.SIZES.ftWay]]);
        expect(layout('lb_ft_way').members.map((m) => [m.name, m.offset, m.size])).toEqual([
          ['aux', 0, 4],
          ['s', 4, Abi.SIZES.ftSlot],
        ]);
      });

      for (const d of DECODERS) {
        it(`decodes struct ${d.struct} from where the compiler put each member`, () => {
          const l = layout(d.struct);
          expect(d.size, `SIZES of ${d.struct}`).toBe(l.size);
          const zero = d.decode(Buffer.alloc(l.size));
          for (const m of coded(l)) {
            const b = Buffer.alloc(l.size);
            b.fill(0xa5, m.offset, m.offset + m.size);
            const got = d.decode(b);
            const moved = Object.keys(got).filter((k) => text(got[k]) !== text(zero[k]));
            // An anonymous union (lb_ct's in_ifindex / encap_hash) has no name of its own: the
            // codec reads its bytes as one field, whichever of the union's names it uses.
            if (m.name === '')
              expect(moved, `${d.struct} anonymous member (offset ${m.offset}, ${m.size} bytes): one field reads it`).toHaveLength(1);
            else
              expect(moved, `${d.struct}.${m.name} (offset ${m.offset}, ${m.size} bytes): the field read from its bytes`).toEqual([
                camel(m.name),
              ]);
          }
        });
      }
    });
  }
});
