import { describe, expect, it } from 'vitest';
import { FLOW_WORDS, SRC_WORDS, flowHash, flowKey as encodeFlow, fmix32, murmur3 } from '../src/strategy/kit.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('murmur3 (byte-oriented MurmurHash3_x86_32)', () => {
  // Published vectors, re-checked against the reference C MurmurHash3_x86_32 built with gcc.
  it.each([
    ['', 0, 0x00000000],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['hello', 0, 0x248bfa47],
    ['abcd', 0, 0x43ed676a],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ])('murmur3(%j, %d) = %d', (text, seed, expected) => {
    expect(murmur3(bytes(text), seed)).toBe(expected);
  });

  it('hashes backend keys as the reference does (the Maglev permutation inputs)', () => {
    expect(murmur3(bytes('10.0.0.1:80'), 0x4f464653)).toBe(0xfb7d431c);
    expect(murmur3(bytes('10.0.0.1:80'), 0x534b4950)).toBe(0xed3db89c);
    expect(murmur3(bytes('[2001:db8::1]:443'), 0x4f464653)).toBe(0xd508f4f6);
  });

  it('fmix32 is the murmur3 finaliser: 0 is its fixed point, results are unsigned', () => {
    expect(fmix32(0)).toBe(0);
    expect(fmix32(1)).toBe(0x514e28b7); // murmur3("", 1) is fmix32(1 ^ 0)
    for (const x of [1, 0x80000000, 0xffffffff, -1]) expect(fmix32(x)).toBeGreaterThanOrEqual(0);
  });
});

describe('flowHash (lb_hash_words)', () => {
  it('equals murmur3 of the same whole words, so the published vectors apply', () => {
    expect(flowHash(bytes('abcd'), 0, 1)).toBe(0x43ed676a);
    expect(flowHash(bytes('aaaa'), 0x9747b28c, 1)).toBe(0x5a97808a);
    const seq = Uint8Array.from({ length: 40 }, (_, i) => i);
    expect(flowHash(seq, 0, 10)).toBe(0xce736bd7);
    expect(flowHash(seq, 0x12345678, 10)).toBe(0x88bc73db);
    expect(flowHash(seq, 0x12345678, 4)).toBe(0x53e5a4e9);
  });

  // Expected values printed by a C program that includes bpf/include/lb_hash.h and calls
  // lb_hash_words() on the same struct lb_flow bytes: the data plane's own code.
  it('matches lb_hash_words() on an IPv4 TCP flow', () => {
    const key = encodeFlow({ src: '10.0.0.1', dst: '192.0.2.10', sport: 40000, dport: 80, proto: 6 });
    expect(flowHash(key, 0, FLOW_WORDS)).toBe(0x4006a2c6);
    expect(flowHash(key, 0xdeadbeef, FLOW_WORDS)).toBe(0xc9d7ad20);
    expect(flowHash(key, 0xdeadbeef, SRC_WORDS)).toBe(0x979a998a);
  });

  it('matches lb_hash_words() on an IPv6 UDP flow', () => {
    const key = encodeFlow({ src: '2001:db8::1', dst: '2001:db8::100', sport: 55555, dport: 443, proto: 17 });
    expect(flowHash(key, 0x9747b28c, FLOW_WORDS)).toBe(0x24b584a7);
    expect(flowHash(key, 0x9747b28c, SRC_WORDS)).toBe(0x3a812ada);
  });

  it('depends on every field of the tuple, and on the seed', () => {
    const base = { src: '10.0.0.1', dst: '192.0.2.10', sport: 40000, dport: 80, proto: 6 };
    const h = flowHash(encodeFlow(base), 7, FLOW_WORDS);
    for (const change of [{ src: '10.0.0.2' }, { dst: '192.0.2.11' }, { sport: 40002 }, { dport: 81 }, { proto: 17 }]) {
      expect(flowHash(encodeFlow({ ...base, ...change }), 7, FLOW_WORDS)).not.toBe(h);
    }
    expect(flowHash(encodeFlow(base), 8, FLOW_WORDS)).not.toBe(h);
  });

  it('source-only hashing ignores everything but the source address', () => {
    const a = encodeFlow({ src: '10.0.0.1', dst: '192.0.2.10', sport: 40000, dport: 80, proto: 6 });
    const b = encodeFlow({ src: '10.0.0.1', dst: '192.0.2.99', sport: 1234, dport: 443, proto: 17 });
    expect(flowHash(a, 3, SRC_WORDS)).toBe(flowHash(b, 3, SRC_WORDS));
  });

  it('rejects a key shorter than the words asked for', () => {
    expect(() => flowHash(new Uint8Array(16), 0, FLOW_WORDS)).toThrow(RangeError);
  });
});

describe('flowKey (struct lb_flow from text)', () => {
  it('lays out IPv4 as IPv4-mapped IPv6, ports big-endian, zero padding', () => {
    const key = encodeFlow({ src: '10.0.0.1', dst: '192.0.2.10', sport: 0x1234, dport: 80, proto: 6 });
    expect(key.length).toBe(40);
    expect([...key.subarray(0, 16)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
    expect([...key.subarray(16, 32)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10]);
    expect([...key.subarray(32, 40)]).toEqual([0x12, 0x34, 0, 80, 6, 0, 0, 0]);
  });

  it('parses IPv6 text, including :: and an embedded IPv4 tail', () => {
    const key = encodeFlow({ src: '2001:db8::1', dst: '::ffff:192.0.2.10', sport: 1, dport: 2, proto: 17 });
    expect([...key.subarray(0, 16)]).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const v4 = encodeFlow({ src: '192.0.2.10', dst: '192.0.2.10', sport: 1, dport: 2, proto: 17 });
    expect([...key.subarray(16, 32)]).toEqual([...v4.subarray(16, 32)]);
  });

  it('rejects bad input', () => {
    expect(() => encodeFlow({ src: 'nope', dst: '10.0.0.1', sport: 1, dport: 1, proto: 6 })).toThrow(TypeError);
    expect(() => encodeFlow({ src: '10.0.0.1', dst: '10.0.0.1', sport: 70000, dport: 1, proto: 6 })).toThrow(RangeError);
  });
});
