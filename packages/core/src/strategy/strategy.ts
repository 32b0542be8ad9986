import type { z } from 'zod';

/**
 * A backend as a strategy's table builder sees it: only what selection depends on.
 * `key` is the backend's canonical "address:port" text (IPv6 in brackets): the Maglev permutation
 * is derived from it, so two LB nodes with the same config build the same table.
 */
export interface StrategyBackend {
  /** Backend id: the index in the lb_backends map that the slot table refers to. */
  readonly id: number;
  /** Unique within one service's backend list; table builders order backends by it. */
  readonly key: string;
  /** Positive integer weight. */
  readonly weight: number;
}

/**
 * What the data plane knows about a new flow when select_backend() runs on a conntrack miss:
 * the reference model's per-flow input. A strategy reads only the fields it uses; the data plane
 * has all of them, so a caller that drives every strategy's model (tests, bench) fills all of them.
 */
export interface StrategyFlowInput {
  /** The 40-byte struct lb_flow (bpf/include/lb_abi.h) exactly as the data plane hashes it. */
  readonly flowKey: Uint8Array;
  /** The deployment's hash_seed (rodata), equal on every LB node of a cluster. */
  readonly hashSeed: number;
  /** The flow's 32-bit random draw (random: `fmix32(lo(t) ^ hi(t) ^ flowhash)`). */
  readonly random: number;
  /** The service's round-robin counter value returned by the fetch-add for this flow. */
  readonly counter: number | bigint;
}

/**
 * A backend-selection strategy: both halves of one algorithm.
 * - BPF: a fragment compiled with the common skeleton into `objectPath`, defining select_backend().
 * - TypeScript: an options schema and the table builder that fills the service's slot table
 *   (slot[0] = n, slot[1..n] = backend ids; see bpf/include/lb_abi.h).
 */
export interface Strategy<Options = unknown> {
  /** Short id used in configs and on the command line ("hash"). */
  readonly id: string;
  readonly description: string;
  /** zod schema of the per-service options; parse() fills defaults. */
  readonly optionsSchema: z.ZodType<Options>;
  /** Absolute path of the compiled BPF object (skeleton + this fragment alone). */
  readonly objectPath: string;
  /**
   * Absolute path of the BPF C fragment (defines LB_STRATEGY and select_backend()): core
   * assembles it with the other strategies of a program, so that each service runs its own
   * (bpf/lib/dispatch.h). A strategy without one runs only as the one strategy of its program.
   */
  readonly fragmentPath?: string;
  /**
   * The slot sequence for the active backends (draining ones are left out by the caller):
   * backend ids, one per slot, without the leading count. Must be deterministic for equal input
   * and independent of the order of `backends`. No backends: an empty table (the data plane then
   * drops with LB_R_DROP_NO_BACKEND), not an error. Throws on input no table can serve (duplicate
   * keys, non-positive weights, a table size too small for the backend count).
   */
  buildTable(backends: readonly StrategyBackend[], options: Options): Uint32Array;
  /** LB_SVC_F_* bits this strategy's options imply for the service entry. */
  serviceFlags(options: Options): number;
  /**
   * Reference model of select_backend(): the backend id the data plane picks for a new flow, given
   * the table `buildTable` returned (without the leading count) and the flow's inputs. undefined
   * for an empty table (the data plane drops). Tests prove the data plane agrees with it. Optional
   * for third-party strategies; every built-in one has it.
   */
  model?(table: Uint32Array, flow: StrategyFlowInput, options: Options): number | undefined;
}
