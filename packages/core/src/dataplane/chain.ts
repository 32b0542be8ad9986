import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, BpfObject, BpfProgram } from '@xdp-lb/native';
import { bpfSourceDir } from '../strategy/external.js';
import * as abi from './abi.js';
import { detachPinnedLink } from './xdp.js';

/**
 * The root of an XDP chain ("shared mode"): a tiny program attached to the interface that
 * tail-calls slot 0 of its program array; each member tail-calls the next slot with what it passes
 * on. Shared by every member, so pinned outside any instance: /sys/fs/bpf/xdp-chain/<name>/.
 */
export interface ChainRoot {
  readonly dir: string;
  readonly array: BpfMap;
  readonly program: BpfProgram;
  dispose(): void;
}

export function chainDir(name: string): string {
  return join(process.env.XDP_LB_CHAIN_BPFFS ?? '/sys/fs/bpf/xdp-chain', name);
}

/** Opens the pinned root of chain `name`, or loads and pins it. */
export async function openOrCreateRoot(name: string): Promise<ChainRoot> {
  const dir = chainDir(name);
  const arrayPin = join(dir, abi.ROOT_PROGS);
  const progPin = join(dir, 'xdp_root');
  if (!existsSync(arrayPin) || !existsSync(progPin)) {
    const obj = BpfObject.open(join(bpfSourceDir(), 'obj', 'xdp_root.bpf.o'));
    try {
      await obj.load();
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      obj.map(abi.ROOT_PROGS).pin(arrayPin);
      obj.program('xdp_root').pin(progPin);
    } finally {
      obj.dispose();
    }
  }
  const array = BpfMap.fromPinned(arrayPin);
  if (array.type !== 3 /* PROG_ARRAY */ || array.keySize !== 4 || array.maxEntries !== abi.ROOT_SLOTS) {
    array.dispose();
    throw new Error(`${arrayPin} is not an xdp-lb chain root's program array`);
  }
  const program = BpfProgram.fromPinned(progPin);
  return { dir, array, program, dispose: () => (array.dispose(), program.dispose()) };
}

/** The program id in each occupied slot of a chain (a PROG_ARRAY lookup answers program ids). */
export function chainSlots(name: string): Record<number, number> {
  const pin = join(chainDir(name), abi.ROOT_PROGS);
  if (!existsSync(pin)) return {};
  const array = BpfMap.fromPinned(pin);
  try {
    const out: Record<number, number> = {};
    for (let i = 0; i < abi.ROOT_SLOTS; i++) {
      const v = array.lookup(abi.u32(i)) as Buffer | null;
      if (v) out[i] = v.readUInt32LE(0);
    }
    return out;
  } finally {
    array.dispose();
  }
}

/** Empties our slot (only if it still runs `progId`); removes the root when no slot is used. */
export function leaveChain(name: string, slot: number, progId: number | undefined): void {
  const slots = chainSlots(name);
  if (slots[slot] !== undefined && (progId === undefined || slots[slot] === progId)) {
    const array = BpfMap.fromPinned(join(chainDir(name), abi.ROOT_PROGS));
    try {
      array.delete(abi.u32(slot));
    } finally {
      array.dispose();
    }
    delete slots[slot];
  }
  // Last member out: the root's links (pinned in the chain dir) go with it. Detached explicitly
  // first: dropping a link's last pin releases it from a kernel work queue, a moment later.
  if (Object.keys(slots).length === 0) {
    const links = join(chainDir(name), 'links');
    if (existsSync(links)) for (const pin of readdirSync(links)) detachPinnedLink(join(links, pin));
    rmSync(chainDir(name), { recursive: true, force: true });
  }
}

/** The program id of chain `name`'s pinned root, if the chain exists. */
export function pinnedRootProgramId(name: string): number | undefined {
  const pin = join(chainDir(name), 'xdp_root');
  if (!existsSync(pin)) return undefined;
  const p = BpfProgram.fromPinned(pin);
  try {
    return p.id;
  } finally {
    p.dispose();
  }
}
