/**
 * Reference model of the round-robin fragment's select_backend(): the service's counter
 * (lb_rr_ctr, a u64 advanced by an atomic fetch-add on every new flow, from any CPU) gives
 * c, and backend = table[c % n]. `table` is what buildRoundRobinTable returned (without the
 * leading count); `counter` is the value the fetch-add returned for this flow. undefined for an
 * empty table.
 */
export function pickRoundRobin(table: Uint32Array, counter: number | bigint): number | undefined {
  const n = table.length;
  if (n === 0) return undefined;
  if (typeof counter === 'bigint') {
    if (counter < 0n || counter > 0xffffffffffffffffn) throw new RangeError(`counter must be a u64, got ${counter}`);
    return table[Number(counter % BigInt(n))];
  }
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new RangeError(`counter must be a non-negative safe integer (or a bigint), got ${counter}`);
  }
  return table[counter % n];
}
