import type { z } from 'zod';

/**
 * A backend as a strategy's table builder sees it: only what selection depends on.
 * `key` is the backend's canonical "address:port" text (IPv6 in brackets): the Maglev permutation
 * is derived from it, so two LB nodes with the same config build the same table.
 */
export interface StrategyBackend {
  /** Backend id: the index in the lb_backends map that the slot table refers to. */
  readonly id: number;
  readonly key: string;
  /** Positive integer weight. */
  readonly weight: number;
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
  /** Absolute path of the compiled BPF object (skeleton + this fragment). */
  readonly objectPath: string;
  /**
   * The slot sequence for the active backends (draining ones are left out by the caller):
   * backend ids, one per slot, without the leading count. Must be deterministic for equal input.
   */
  buildTable(backends: readonly StrategyBackend[], options: Options): Uint32Array;
  /** LB_SVC_F_* bits this strategy's options imply for the service entry. */
  serviceFlags(options: Options): number;
}
