import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BpfLink, BpfObject, type BpfProgram, probe, type ProbeResult } from '@xdp-lb/native';
import { bpfSourceDir } from '../strategy/external.js';
import * as abi from './abi.js';

/**
 * Probes that *try* a kernel mechanism instead of guessing from versions or config files: load the
 * real thing, run it once with BPF_PROG_TEST_RUN, report what happened. Nothing is attached to an
 * interface and everything is released before they return.
 */

const XDP_PASS = 2;
const XDP_TX = 3;

/** The addon's quick checks: the bpf() syscall, the XDP program type, the JIT, kernel BTF. */
export function kernelFeatures(): ProbeResult {
  return probe();
}

/** What one probe found: `ok`, or the stage that failed with the kernel's errno name. */
export interface ProbeOutcome {
  ok: boolean;
  /** The step that failed: load of the target, load of the member, attach, or the run's verdict. */
  stage?: 'target' | 'load' | 'attach' | 'run';
  /** errno name of the failure (EPERM, EINVAL, ...), when the kernel refused. */
  code?: string;
  /** One line: what was tried and what came of it. */
  detail: string;
}

function utilityObject(name: string): string {
  return join(bpfSourceDir(), 'obj', `${name}.bpf.o`);
}

/** 64 zero bytes: enough of a frame for programs that never look at it. */
const FRAME = Buffer.alloc(64);

function verdictOf(program: BpfProgram): number {
  return program.testRun({ data: FRAME }).retval;
}

function failure(stage: ProbeOutcome['stage'], e: unknown, what: string): ProbeOutcome {
  const err = e as Error & { code?: string };
  return { ok: false, stage, ...(err.code ? { code: err.code } : {}), detail: `${what}: ${err.message}` };
}

/**
 * Extension ("freplace", BPF_PROG_TYPE_EXT) programs, the mechanism of libxdp's multi-program
 * dispatcher: load a dispatcher-shaped XDP program (xdp_ext_target: its verdict comes from a global
 * function), load a member as an extension of that function, attach it, and check that a test run
 * of the target now answers the member's XDP_TX instead of the slot's XDP_PASS.
 */
export async function probeExtensions(): Promise<ProbeOutcome> {
  const target = BpfObject.open(utilityObject('xdp_ext_target'));
  let member: BpfObject | undefined;
  let link: BpfLink | undefined;
  try {
    try {
      await target.load();
    } catch (e) {
      return failure('target', e, 'loading the dispatcher-shaped target failed');
    }
    const entry = target.program('xdp_ext_target');
    member = BpfObject.open(utilityObject('xdp_ext_member'));
    member.program('xdp_ext_member').setAttachTarget(entry, 'ext_slot0');
    try {
      await member.load();
    } catch (e) {
      return failure('load', e, 'the kernel refused to load an extension (freplace) program');
    }
    try {
      link = BpfLink.attachExtension(member.program('xdp_ext_member'));
    } catch (e) {
      return failure('attach', e, 'the kernel loaded an extension program but refused to attach it');
    }
    const verdict = verdictOf(entry);
    if (verdict !== XDP_TX)
      return {
        ok: false,
        stage: 'run',
        detail: `an attached extension did not take over its function (verdict ${verdict}, expected ${XDP_TX})`,
      };
    return { ok: true, detail: 'an extension program loaded, attached and replaced a global function of an XDP program' };
  } finally {
    link?.dispose();
    member?.dispose();
    target.dispose();
  }
}

/**
 * Chain mode's mechanism (xdp-lb's own, Katran style): the root program tail-calls slot 0 of its
 * program array. Empty, the root passes; with xdp_tx in slot 0 it must answer XDP_TX.
 */
export async function probeTailCalls(): Promise<ProbeOutcome> {
  const root = BpfObject.open(utilityObject('xdp_root'));
  const member = BpfObject.open(utilityObject('xdp_tx'));
  try {
    try {
      await root.load();
      await member.load();
    } catch (e) {
      return failure('load', e, 'loading the chain root or a member failed');
    }
    const entry = root.program('xdp_root');
    const array = root.map(abi.ROOT_PROGS);
    const empty = verdictOf(entry);
    try {
      array.update(abi.u32(0), member.program('xdp_tx'));
    } catch (e) {
      return failure('attach', e, "the kernel refused a program in the chain root's program array");
    }
    const chained = verdictOf(entry);
    if (empty !== XDP_PASS || chained !== XDP_TX) {
      return {
        ok: false,
        stage: 'run',
        detail: `the root answered ${empty} with an empty slot and ${chained} with xdp_tx in it (expected ${XDP_PASS}, ${XDP_TX})`,
      };
    }
    return { ok: true, detail: 'the chain root passes with an empty slot 0 and runs the program put there (tail call)' };
  } finally {
    member.dispose();
    root.dispose();
  }
}

/** The kernel lockdown mode from securityfs (`none`, `integrity`, `confidentiality`), or null if not visible. */
export function lockdownMode(path = '/sys/kernel/security/lockdown'): string | null {
  try {
    const m = /\[(\w+)\]/.exec(readFileSync(path, 'utf8'));
    return m ? (m[1] as string) : null;
  } catch {
    return null;
  }
}
