/**
 * MurmurHash3 x86_32, bit for bit the data plane's lb_hash_words() (bpf/include/lb_hash.h).
 * All arithmetic is 32-bit: Math.imul for products, `>>> 0` to read a result as unsigned.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Words of struct lb_flow the five-tuple hash covers (LB_FLOW_WORDS: all 40 bytes). */
export const FLOW_WORDS = 10;
/** Words the source-only hash covers (LB_SRC_WORDS: the 16-byte source address). */
export const SRC_WORDS = 4;

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** One murmur3 block: mix word `k` into state `h` (lb_murmur_step). Returns a signed 32-bit value. */
export function murmurStep(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = rotl32(k, 15);
  k = Math.imul(k, C2);
  h ^= k;
  h = rotl32(h, 13);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** murmur3's finaliser: full avalanche of a 32-bit value (lb_fmix32). Returns an unsigned value. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The data plane's flow hash: murmur3_x86_32 of the first `words` little-endian u32 words of
 * `flowKey` (a struct lb_flow), seeded with the deployment's hash_seed. `words` is FLOW_WORDS (10,
 * the five-tuple with its zero padding) or SRC_WORDS (4, the source address only).
 */
export function flowHash(flowKey: Uint8Array, seed: number, words: number): number {
  if (!Number.isInteger(words) || words < 0 || words * 4 > flowKey.length) {
    throw new RangeError(`flowHash: ${words} words need ${words * 4} bytes, the key has ${flowKey.length}`);
  }
  let h = seed | 0;
  for (let i = 0, o = 0; i < words; i++, o += 4) {
    const k = flowKey[o]! | (flowKey[o + 1]! << 8) | (flowKey[o + 2]! << 16) | (flowKey[o + 3]! << 24);
    h = murmurStep(h, k);
  }
  h ^= words * 4;
  return fmix32(h);
}

/**
 * murmur3_x86_32 of arbitrary bytes (with the reference tail handling). The Maglev permutation
 * hashes backend keys with it; for inputs of whole words it equals flowHash.
 */
export function murmur3(bytes: Uint8Array, seed: number): number {
  const len = bytes.length;
  const blocks = len >>> 2;
  let h = seed | 0;
  let o = 0;
  for (let i = 0; i < blocks; i++, o += 4) {
    h = murmurStep(h, bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24));
  }
  let k = 0;
  switch (len & 3) {
    case 3:
      k ^= bytes[o + 2]! << 16;
    // falls through
    case 2:
      k ^= bytes[o + 1]! << 8;
    // falls through
    case 1:
      k ^= bytes[o]!;
      k = Math.imul(k, C1);
      k = rotl32(k, 15);
      k = Math.imul(k, C2);
      h ^= k;
  }
  h ^= len;
  return fmix32(h);
}
