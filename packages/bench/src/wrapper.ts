/**
 * The wrapper method of per-packet timing (xdp_wrap in packages/bench/bpf/bench.bpf.c): one
 * BPF_PROG_TEST_RUN with repeat R of a wrapper that restores the frame, optionally gives it
 * another flow, and tail-calls the program under test. The wrapper's own cost is the same run
 * with the bare XDP_TX program as the target, measured right after with the same R and mode, and
 * subtracted. This is how the side-by-side harness times Katran and xdp-lb
 * (../shared/tools/katran-side-by-side), so figures of this method compare with its figures;
 * "one per syscall" figures do not (they include a syscall's cold caches).
 */
import { Abi } from '@xdp-lb/core';
import { BpfObject, type BpfMap, type BpfProgram } from '@xdp-lb/native';

const { u32 } = Abi;

/** The frames the wrapper restores are exactly this long (bench's tcpFrame). */
export const WRAP_LEN = 64;

export type WrapMode = { kind: 'same' } | { kind: 'distinct'; base: number } | { kind: 'cycle'; flows: number; stride: number };

export class Wrapper {
  private readonly frame: BpfMap;
  private readonly ctl: BpfMap;
  private readonly target: BpfMap;
  private readonly seq: BpfMap;
  private readonly prog: BpfProgram;

  private constructor(private readonly obj: BpfObject) {
    this.frame = obj.map('wrap_frame');
    this.ctl = obj.map('wrap_ctl');
    this.target = obj.map('wrap_target');
    this.seq = obj.map('wrap_seq');
    this.prog = obj.program('xdp_wrap');
  }

  static async load(objectPath: string): Promise<Wrapper> {
    const obj = BpfObject.open(objectPath);
    try {
      await obj.load();
      return new Wrapper(obj);
    } catch (e) {
      obj.dispose();
      throw e;
    }
  }

  /**
   * Average ns of one iteration of `target` on `frame` in `mode`, repeat R: the wrapper around
   * `target` minus the wrapper around `floor` (same R, same mode, same frame). `run` executes a
   * test run (inside the right namespace) and returns durationNs.
   */
  time(
    target: BpfProgram,
    floor: BpfProgram,
    frame: Buffer,
    mode: WrapMode,
    repeat: number,
    run: (prog: BpfProgram, frame: Buffer, repeat: number) => number,
  ): { net: number; gross: number; floor: number } {
    const gross = this.gross(target, frame, mode, repeat, run);
    this.target.update(u32(0), floor);
    this.seq.update(u32(0), Buffer.alloc(8));
    const base = run(this.prog, frame, repeat);
    return { net: gross - base, gross, floor: base };
  }

  /**
   * The wrapper around `target` alone (no floor run): what a profile of the target runs, whose
   * figures come from samples rather than from this duration. Flows start at `mode`'s base.
   */
  gross(
    target: BpfProgram,
    frame: Buffer,
    mode: WrapMode,
    repeat: number,
    run: (prog: BpfProgram, frame: Buffer, repeat: number) => number,
  ): number {
    if (frame.length !== WRAP_LEN) throw new Error(`the wrapper restores ${WRAP_LEN}-byte frames, got ${frame.length}`);
    this.frame.update(u32(0), frame);
    const setMode = () => {
      const v = Buffer.alloc(16);
      if (mode.kind === 'distinct') {
        v.writeUInt32LE(1, 0);
        v.writeUInt32LE(mode.base >>> 0, 4);
      }
      if (mode.kind === 'cycle') {
        v.writeUInt32LE(2, 0);
        v.writeUInt32LE(mode.flows, 8);
        v.writeUInt32LE(mode.stride, 12);
      }
      this.ctl.update(u32(0), v);
    };
    setMode();
    this.target.update(u32(0), target);
    // Each run starts at n = 0 (one counter for every CPU: a run may move CPU), so the floor's run
    // after it sees the same flows.
    this.seq.update(u32(0), Buffer.alloc(8));
    return run(this.prog, frame, repeat);
  }

  dispose(): void {
    this.obj.dispose();
  }
}
