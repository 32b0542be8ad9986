import { FLOW_WORDS, SRC_WORDS, flowHash } from '@xdp-lb/core/strategy';
import type { HashFields } from './options.js';

/**
 * Reference model of the hash fragment's select_backend(): h = lb_hash_words(flow, seed) over the
 * five-tuple (10 words), the source address (4 words) or the destination port (1 word), then backend = table[h % n]. `table` is
 * what buildMaglevTable returned (without the leading count). undefined for an empty table.
 */
export function pickHash(table: Uint32Array, flowKey: Uint8Array, seed: number, hashFields: HashFields = 'five-tuple'): number | undefined {
  const n = table.length;
  if (n === 0) return undefined;
  // destination-port: the one word lb_hash_words() sees, the port's two bytes (at 34 in the key) then zeros
  const h =
    hashFields === 'destination-port'
      ? flowHash(Uint8Array.of(flowKey[34]!, flowKey[35]!, 0, 0), seed, 1)
      : flowHash(flowKey, seed, hashFields === 'source' ? SRC_WORDS : FLOW_WORDS);
  return table[h % n];
}
