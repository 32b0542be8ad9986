import { fmix32 } from '@xdp-lb/core/strategy';

/**
 * The random fragment's per-flow draw: r = fmix32(lo(t) ^ hi(t) ^ flowHash), with t the
 * bpf_ktime_get_ns() of the flow's first packet and flowHash the data plane's hash of its tuple.
 * Mixing the full clock and the tuple makes r uniform even though the clock's low bits are coarse
 * and flows arrive in bursts; it is drawn once per new flow, never per packet.
 */
export function randomDraw(tNs: bigint, flowHash: number): number {
  const lo = Number(tNs & 0xffffffffn);
  const hi = Number((tNs >> 32n) & 0xffffffffn);
  return fmix32(lo ^ hi ^ flowHash);
}

/**
 * Reference model of the random fragment's select_backend(): idx = (r * n) >> 32 (a multiply-shift,
 * uniform over the n slots without a division), backend = table[idx]. `table` is what
 * buildRandomTable returned (without the leading count); `r` is the flow's 32-bit draw.
 * undefined for an empty table.
 */
export function pickRandom(table: Uint32Array, r: number): number | undefined {
  const n = table.length;
  if (n === 0) return undefined;
  const u = r >>> 0;
  // r * n < 2^53 is exact in a double for every table this package builds; larger ones use BigInt.
  const idx = n <= 1 << 21 ? Math.floor((u * n) / 4294967296) : Number((BigInt(u) * BigInt(n)) >> 32n);
  return table[idx];
}
