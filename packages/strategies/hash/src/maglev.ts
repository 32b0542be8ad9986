/**
 * Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer", NSDI '16, section 3.4), with weights.
 *
 * Each backend has a preference list over the M slots, a permutation given by
 * offset = murmur3(key, MAGLEV_OFFSET_SEED) mod M and skip = murmur3(key, MAGLEV_SKIP_SEED) mod (M - 1) + 1
 * (the key's UTF-8 bytes; M prime, so every skip walks all M slots). Backends then take turns claiming
 * their next preferred free slot until the table is full.
 *
 * Weights: a per-round credit scheme. Each round every backend earns its weight in credit and claims
 * one slot per `wmax` of credit, so the heaviest backend claims once per round and a backend of
 * weight w claims w / wmax as often. Within a round backends claim in key order (very skewed
 * weights replay the same order from a heap, so rounds in which light backends claim nothing cost
 * nothing). Equal weights give the paper's table: every backend owns floor(M/N) or ceil(M/N) slots.
 */
import type { StrategyBackend } from '@xdp-lb/core/strategy';
import { sortBackends } from '@xdp-lb/core/strategy';
import { murmur3 } from '@xdp-lb/core/strategy';

/** Seed of the hash that gives a backend's first preferred slot ("OFFS"). */
export const MAGLEV_OFFSET_SEED = 0x4f464653;
/** Seed of the hash that gives a backend's stride through the table ("SKIP"). */
export const MAGLEV_SKIP_SEED = 0x534b4950;
/** The table holds at least this many slots per backend: max/mean slot share stays within 1 + 1/100. */
export const MAGLEV_SLOTS_PER_BACKEND = 100;
/** slot[0] (the count) and M slots must fit an inner map of LB_TABLE_MAX_SLOTS (1 << 24) entries. */
export const MAGLEV_MAX_TABLE_SIZE = (1 << 24) - 1;
/** Weights are scaled down to at most this before claims are scheduled (exact integer arithmetic). */
const MAX_CREDIT_WEIGHT = 1 << 20;
/** Above this max/mean weight ratio, weighted claims are scheduled by a heap instead of rounds. */
const ROUND_LOOP_MAX_SKEW = 32;

/** Deterministic trial division; M is at most 2^24, so at most ~2^11 divisions. */
export function isPrime(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  if (n % 3 === 0) return n === 3;
  for (let d = 5; d * d <= n; d += 6) {
    if (n % d === 0 || n % (d + 2) === 0) return false;
  }
  return true;
}

/** The smallest prime >= n. */
export function nextPrime(n: number): number {
  let p = Math.max(2, Math.ceil(n));
  while (!isPrime(p)) p++;
  return p;
}

/** Checks a Maglev table size on its own (the schema's rule): a prime in 100..MAGLEV_MAX_TABLE_SIZE. */
export function tableSizeProblem(tableSize: number): string | undefined {
  if (!Number.isInteger(tableSize)) return `tableSize must be an integer, got ${tableSize}`;
  if (tableSize > MAGLEV_MAX_TABLE_SIZE) {
    return `tableSize ${tableSize} is too large: at most ${MAGLEV_MAX_TABLE_SIZE} slots fit a slot table (the largest prime that fits is 16777213)`;
  }
  if (tableSize < MAGLEV_SLOTS_PER_BACKEND) {
    return `tableSize must be at least ${MAGLEV_SLOTS_PER_BACKEND} (${MAGLEV_SLOTS_PER_BACKEND} slots per backend), got ${tableSize}`;
  }
  if (!isPrime(tableSize)) {
    return `tableSize must be a prime so every backend's stride visits every slot; ${tableSize} is not (try ${nextPrime(tableSize)})`;
  }
  return undefined;
}

function tooSmallMessage(tableSize: number, n: number): string {
  const need = MAGLEV_SLOTS_PER_BACKEND * n;
  const prime = nextPrime(need);
  const paper = need <= 655373 && prime !== 655373 ? ` or 655373 (the paper's size, up to 6553 backends)` : '';
  return (
    `tableSize ${tableSize} is too small for ${n} backends: Maglev needs at least ` +
    `${MAGLEV_SLOTS_PER_BACKEND} slots per backend (${need}) to keep every share within 1% of the mean. ` +
    `Set the hash option tableSize to a prime >= ${need}, e.g. ${prime}${paper}.`
  );
}

/** Removes the weights' common factor and scales very large ones down to MAX_CREDIT_WEIGHT. */
function creditWeights(weights: Float64Array): void {
  let g = 0;
  let max = 0;
  for (const w of weights) {
    let a = w;
    let b = g;
    while (b !== 0) [a, b] = [b, a % b];
    g = a;
    if (w > max) max = w;
  }
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]! / g;
    weights[i] = max / g > MAX_CREDIT_WEIGHT ? Math.max(1, Math.round((w * MAX_CREDIT_WEIGHT) / (max / g))) : w;
  }
}

/**
 * The Maglev table for `backends` (ordered by key first): `tableSize` backend ids, one per slot.
 * No backends: an empty table. Throws RangeError if `tableSize` is not a prime, or is smaller than
 * 100 slots per backend.
 */
export function buildMaglevTable(backends: readonly StrategyBackend[], tableSize: number): Uint32Array {
  const problem = tableSizeProblem(tableSize);
  if (problem) throw new RangeError(problem);
  const sorted = sortBackends(backends);
  const n = sorted.length;
  if (n === 0) return new Uint32Array(0);
  const m = tableSize;
  if (m < MAGLEV_SLOTS_PER_BACKEND * n) throw new RangeError(tooSmallMessage(m, n));

  const encoder = new TextEncoder();
  const next = new Int32Array(n); // the next slot of each backend's permutation to try
  const skip = new Int32Array(n);
  const weights = new Float64Array(n);
  let equal = true;
  for (let i = 0; i < n; i++) {
    const b = sorted[i]!;
    const bytes = encoder.encode(b.key);
    next[i] = murmur3(bytes, MAGLEV_OFFSET_SEED) % m;
    skip[i] = (murmur3(bytes, MAGLEV_SKIP_SEED) % (m - 1)) + 1;
    weights[i] = b.weight;
    if (b.weight !== sorted[0]!.weight) equal = false;
  }

  const ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) ids[i] = sorted[i]!.id;
  const fill = new MaglevFill(m, next, skip, ids);

  if (equal) {
    // The paper's loop: one claim per backend per round.
    for (;;) {
      for (let i = 0; i < n; i++) {
        fill.claim(i);
        if (fill.filled === m) return fill.table;
      }
    }
  }

  // Weighted: each round backend i earns w_i credit and claims a slot when it holds wmax, so its
  // k-th claim (k = 1, 2, ...) falls in round ceil(k * wmax / w_i); within a round, key order.
  creditWeights(weights);
  let wmax = 0;
  let wsum = 0;
  for (const w of weights) {
    wsum += w;
    if (w > wmax) wmax = w;
  }
  if (wmax * n <= ROUND_LOOP_MAX_SKEW * wsum) {
    // About M * wmax / mean(w) credit steps: cheap unless the weights are very skewed.
    const credit = new Float64Array(n);
    for (;;) {
      for (let i = 0; i < n; i++) {
        const c = credit[i]! + weights[i]!;
        if (c >= wmax) {
          credit[i] = c - wmax;
          fill.claim(i);
          if (fill.filled === m) return fill.table;
        } else {
          credit[i] = c;
        }
      }
    }
  }
  // Very skewed weights: the same claims in the same order, from a binary min-heap of each
  // backend's next (round, backend), so rounds in which a light backend claims nothing cost nothing.
  const claims = new Float64Array(n); // claims made so far
  const heapRound = new Float64Array(n);
  const heapIdx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    heapRound[i] = Math.ceil(wmax / weights[i]!);
    heapIdx[i] = i;
  }
  for (let i = (n >> 1) - 1; i >= 0; i--) siftDown(heapRound, heapIdx, i, n);
  while (fill.filled < m) {
    const i = heapIdx[0]!;
    fill.claim(i);
    const k = ++claims[i]!;
    heapRound[0] = Math.ceil(((k + 1) * wmax) / weights[i]!);
    siftDown(heapRound, heapIdx, 0, n);
  }
  return fill.table;
}

/** (round, backend) of heap entry a orders before that of b. */
function before(round: Float64Array, idx: Int32Array, a: number, b: number): boolean {
  return round[a]! < round[b]! || (round[a] === round[b] && idx[a]! < idx[b]!);
}

function siftDown(round: Float64Array, idx: Int32Array, at: number, size: number): void {
  let i = at;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= size) return;
    if (c + 1 < size && before(round, idx, c + 1, c)) c++;
    if (!before(round, idx, c, i)) return;
    const r = round[i]!;
    round[i] = round[c]!;
    round[c] = r;
    const x = idx[i]!;
    idx[i] = idx[c]!;
    idx[c] = x;
    i = c;
  }
}

/**
 * The table being filled. claim(i) gives backend i the next free slot of its permutation.
 *
 * Early on, that is a walk along the permutation (a few probes). Near the end a walk costs about M/F
 * probes with F slots free, which is where most of the time would go; once F <= sqrt(M) a claim
 * instead scans the F free slots for the one that comes first in backend i's permutation: rank
 * ((s - next_i) * skip_i^-1) mod M. Every slot the backend's walk passed is taken, so that is the
 * slot the walk would reach: both ways give the same table.
 */
class MaglevFill {
  /** The slots: backend ids, written as they are claimed. */
  readonly table: Uint32Array;
  filled = 0;
  private readonly taken: Uint8Array;
  private readonly back: Int32Array; // skip - m: p += back, then add m back if negative (no branch)
  private free: Int32Array | undefined; // the free slots, once few are left
  private freeCount = 0;
  private inverse: Float64Array | undefined; // skip^-1 mod m, per backend
  private readonly scanFrom: number;

  constructor(
    private readonly m: number,
    private readonly next: Int32Array,
    private readonly skip: Int32Array,
    private readonly ids: Uint32Array,
  ) {
    this.table = new Uint32Array(m);
    this.taken = new Uint8Array(m);
    this.back = new Int32Array(skip.length);
    for (let i = 0; i < skip.length; i++) this.back[i] = skip[i]! - m;
    this.scanFrom = m - Math.floor(Math.sqrt(m));
  }

  claim(i: number): void {
    if (this.filled >= this.scanFrom) {
      this.claimByScan(i);
      return;
    }
    const m = this.m;
    const taken = this.taken;
    const b = this.back[i]!;
    let p = this.next[i]!;
    while (taken[p] !== 0) {
      p += b;
      p += m & (p >> 31);
    }
    taken[p] = 1;
    this.table[p] = this.ids[i]!;
    p += b;
    p += m & (p >> 31);
    this.next[i] = p;
    this.filled++;
  }

  private claimByScan(i: number): void {
    const m = this.m;
    if (!this.free) this.startScan();
    const free = this.free!;
    const inv = this.inverse![i]!;
    const from = this.next[i]!;
    let best = 0;
    let bestRank = Infinity;
    for (let f = 0; f < this.freeCount; f++) {
      let d = free[f]! - from;
      if (d < 0) d += m;
      // d * inv < 2^48: exact in a double, and so is the floor of its quotient by m.
      const x = d * inv;
      const rank = x - Math.floor(x / m) * m;
      if (rank < bestRank) {
        bestRank = rank;
        best = f;
      }
    }
    const slot = free[best]!;
    free[best] = free[--this.freeCount]!;
    this.taken[slot] = 1;
    this.table[slot] = this.ids[i]!;
    let p = slot + this.back[i]!;
    p += m & (p >> 31);
    this.next[i] = p;
    this.filled++;
  }

  private startScan(): void {
    const m = this.m;
    this.free = new Int32Array(m - this.filled);
    for (let s = 0; s < m; s++) if (this.taken[s] === 0) this.free[this.freeCount++] = s;
    this.inverse = new Float64Array(this.skip.length);
    for (let i = 0; i < this.skip.length; i++) this.inverse[i] = modInverse(this.skip[i]!, m);
  }
}

/** a^-1 mod m for a prime m and 0 < a < m (extended Euclid). */
function modInverse(a: number, m: number): number {
  let [r0, r1] = [m, a];
  let [t0, t1] = [0, 1];
  while (r1 !== 0) {
    const q = Math.floor(r0 / r1);
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return t0 < 0 ? t0 + m : t0;
}
