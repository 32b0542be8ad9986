import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, BpfObject, type BpfProgram, ProgType } from '@xdp-lb/native';
import * as abi from './abi.js';
import { chainDir, chainSlots } from './chain.js';
import { programName } from './xdp.js';

/**
 * Other programs in an xdp-lb chain (`lb chain add/remove/status`): a firewall or DDoS filter put in
 * a slot of the root's program array next to xdp-lb. A member passes a packet on by tail-calling
 * the next slot of the *root's* array, so an object that declares `lb_root_progs` gets the root's
 * array by fd before load, and its `chain_next_slot` rodata (if it has one) names the slot it
 * passes on to. An object without them ends the chain with its own verdicts.
 */

/** The rodata variable a member reads to know where to pass packets on (the lb uses the same). */
export const CHAIN_NEXT_VARIABLE = 'chain_next_slot';

export interface MemberRequest {
  chain: string;
  slot: number;
  objectPath: string;
  /** The program to put in the slot; default: the object's only XDP program. */
  program?: string;
  /** The slot it passes packets on to (needs a chain_next_slot variable in the object). */
  next?: number;
  /** Global variables to set before load (integers, written little-endian at their size). */
  set?: Readonly<Record<string, bigint>>;
}

export interface SlotProgram {
  slot: number;
  progId: number;
  /** The kernel's name for the program (at most 15 characters). */
  name?: string;
}

/** Names of the chains that exist (a pinned root under the chain root dir). */
export function listChains(): string[] {
  const root = chainDir('');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((n) => existsSync(join(chainDir(n), 'xdp_root')))
    .sort();
}

/** Each occupied slot of a chain with its program's id and name. */
export function slotPrograms(name: string): SlotProgram[] {
  return Object.entries(chainSlots(name))
    .map(([slot, progId]) => {
      const progName = programName(progId);
      return { slot: Number(slot), progId, ...(progName ? { name: progName } : {}) };
    })
    .sort((a, b) => a.slot - b.slot);
}

/**
 * Everything about a member that can be checked without the kernel: the program exists and is plain
 * XDP (a PROG_ARRAY takes only programs like its owner, the root: SEC("xdp"), no frags), the
 * variables exist with values that fit, `next` has a variable to go to. Returns the program's name.
 * Throws one line naming what is wrong. The object is only parsed.
 */
export function checkMember(req: MemberRequest): string {
  if (!existsSync(req.objectPath)) throw new Error(`${req.objectPath}: no such file`);
  let obj: BpfObject;
  try {
    obj = BpfObject.open(req.objectPath);
  } catch (e) {
    throw new Error(`${req.objectPath}: not a BPF object (${(e as Error).message.split('\n')[0]})`);
  }
  try {
    return validate(obj, req);
  } finally {
    obj.dispose();
  }
}

function validate(obj: BpfObject, req: MemberRequest): string {
  const xdp = obj.programs().filter((p) => p.type === ProgType.XDP);
  let prog: BpfProgram | undefined;
  if (req.program !== undefined) {
    prog = obj.programs().find((p) => p.name === req.program);
    if (!prog)
      throw new Error(
        `${req.objectPath} has no program ${req.program} (it has: ${
          obj
            .programs()
            .map((p) => p.name)
            .join(', ') || 'none'
        })`,
      );
    if (prog.type !== ProgType.XDP)
      throw new Error(`program ${req.program} of ${req.objectPath} is not an XDP program (section ${prog.section})`);
  } else {
    if (xdp.length !== 1) {
      throw new Error(
        `${req.objectPath} has ${xdp.length === 0 ? 'no XDP program' : `${xdp.length} XDP programs (${xdp.map((p) => p.name).join(', ')}): name one with --program`}`,
      );
    }
    prog = xdp[0]!;
  }
  if (prog.section !== 'xdp') {
    throw new Error(
      `program ${prog.name} is SEC("${prog.section}"): a chain's program array takes only plain SEC("xdp") programs, like its root`,
    );
  }
  const vars = new Map(obj.variables().map((v) => [v.name, v]));
  if (req.next !== undefined && !vars.has(CHAIN_NEXT_VARIABLE)) {
    throw new Error(
      `${req.objectPath} has no ${CHAIN_NEXT_VARIABLE} variable: it cannot pass packets on to slot ${req.next} (without --next it ends the chain)`,
    );
  }
  for (const [name, value] of Object.entries(req.set ?? {})) {
    const v = vars.get(name);
    if (!v) throw new Error(`${req.objectPath} has no global variable ${name} (it has: ${[...vars.keys()].join(', ') || 'none'})`);
    if (v.size > 8 || value < 0n || value >= 1n << BigInt(8 * v.size)) {
      throw new Error(
        `${name} is ${v.size} byte(s): ${value} does not fit (an unsigned integer of at most ${Math.min(v.size, 8) * 8} bits)`,
      );
    }
  }
  return prog.name;
}

function littleEndian(value: bigint, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return b;
}

/**
 * Loads the member and puts program `progName` (what checkMember returned for `req`) into the
 * slot: from then on the slot before it hands packets to it. The array holds the program; the
 * object is released.
 */
export async function addMember(req: MemberRequest, progName: string): Promise<SlotProgram> {
  const array = BpfMap.fromPinned(join(chainDir(req.chain), abi.ROOT_PROGS));
  const obj = BpfObject.open(req.objectPath);
  try {
    const vars = new Map(obj.variables().map((v) => [v.name, v]));
    for (const [name, value] of Object.entries(req.set ?? {})) obj.setVariable(name, littleEndian(value, vars.get(name)!.size));
    if (vars.has(CHAIN_NEXT_VARIABLE) && req.next !== undefined) obj.setVariable(CHAIN_NEXT_VARIABLE, abi.u32(req.next));
    if (obj.maps().some((m) => m.name === abi.ROOT_PROGS)) obj.map(abi.ROOT_PROGS).reuseFd(array);
    await obj.load();
    const prog = obj.program(progName);
    array.update(abi.u32(req.slot), prog);
    return { slot: req.slot, progId: prog.id, name: prog.name };
  } finally {
    obj.dispose();
    array.dispose();
  }
}
