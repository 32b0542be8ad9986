import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chainDir, leaveChain, pinnedRootProgramId } from '../dataplane/chain.js';
import { addMember, checkMember, listChains, type MemberRequest, slotPrograms, type SlotProgram } from '../dataplane/chain-member.js';
import * as abi from '../dataplane/abi.js';
import { listInstances, readState } from '../state/store.js';
import { LbError } from './errors.js';

/**
 * `lb chain`: what runs in each xdp-lb chain, and the other programs (a firewall, a DDoS filter) an
 * operator puts next to xdp-lb in it. xdp-lb's own slots belong to its instances (deploy with
 * `chain:`, leave with undeploy); every other slot is the operator's.
 */
export interface ChainSlotView extends SlotProgram {
  /** `instance <name>` for an xdp-lb instance's slot, else `external`. */
  owner: string;
}

export interface ChainView {
  name: string;
  /** The pinned root's program id (the program attached to the chain's interfaces). */
  rootProgId?: number;
  slots: ChainSlotView[];
}

/** Which instance holds each (chain, slot). */
function instanceSlots(): Map<string, string> {
  const out = new Map<string, string>();
  for (const instance of listInstances()) {
    const c = readState(instance)?.chain;
    if (c) out.set(`${c.name}/${c.slot}`, instance);
  }
  return out;
}

export function chains(name?: string): ChainView[] {
  const names = name === undefined ? listChains() : [requireChain(name)];
  const owners = instanceSlots();
  return names.map((n) => {
    const rootProgId = pinnedRootProgramId(n);
    return {
      name: n,
      ...(rootProgId !== undefined ? { rootProgId } : {}),
      slots: slotPrograms(n).map((s) => {
        const instance = owners.get(`${n}/${s.slot}`);
        return { ...s, owner: instance ? `instance ${instance}` : 'external' };
      }),
    };
  });
}

function requireChain(name: string): string {
  if (!existsSync(join(chainDir(name), 'xdp_root'))) {
    throw new LbError(
      `chain ${name} does not exist (no root pinned at ${chainDir(name)}): deploy xdp-lb with chain: {name: ${name}, slot, next} first`,
      'ENOENT',
    );
  }
  return name;
}

function requireSlot(what: string, slot: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot >= abi.ROOT_SLOTS)
    throw new LbError(`${what} ${slot}: a slot is 0-${abi.ROOT_SLOTS - 1}`, 'EINVAL');
}

function slotOf(chain: string, slot: number): ChainSlotView | undefined {
  return chains(chain)[0]!.slots.find((s) => s.slot === slot);
}

/** Puts another program into a free slot of a chain (validated in full before the kernel sees it). */
export async function chainAdd(req: MemberRequest, opts: { replace?: boolean } = {}): Promise<ChainSlotView> {
  requireChain(req.chain);
  requireSlot('slot', req.slot);
  if (req.next !== undefined) {
    requireSlot('next slot', req.next);
    if (req.next === req.slot)
      throw new LbError(`next slot ${req.next} is the member's own slot: a program cannot pass packets on to itself`, 'EINVAL');
  }
  const held = slotOf(req.chain, req.slot);
  if (held && held.owner !== 'external') {
    throw new LbError(`slot ${req.slot} of chain ${req.chain} is xdp-lb's (${held.owner}): choose a free slot`, 'EBUSY');
  }
  if (held && !opts.replace) {
    throw new LbError(
      `slot ${req.slot} of chain ${req.chain} holds program ${held.progId}${held.name ? ` (${held.name})` : ''}: remove it first (lb chain remove ${req.chain} ${req.slot}) or replace it (--replace, atomic)`,
      'EBUSY',
    );
  }
  let progName: string;
  try {
    progName = checkMember(req);
  } catch (e) {
    throw new LbError((e as Error).message, 'EINVAL');
  }
  return { ...(await addMember(req, progName)), owner: 'external' };
}

/**
 * Empties an operator's slot. The last program out of a chain takes the root with it (its links are
 * pinned in the chain's directory), which detaches the root from the interfaces.
 */
export function chainRemove(chain: string, slot: number): { removed: ChainSlotView; chainRemoved: boolean } {
  requireChain(chain);
  requireSlot('slot', slot);
  const held = slotOf(chain, slot);
  if (!held) throw new LbError(`slot ${slot} of chain ${chain} is empty`, 'ENOENT');
  if (held.owner !== 'external') {
    throw new LbError(
      `slot ${slot} of chain ${chain} is xdp-lb's (${held.owner}): it leaves the chain with lb undeploy --instance ${held.owner.slice('instance '.length)}`,
      'EBUSY',
    );
  }
  leaveChain(chain, slot, held.progId);
  return { removed: held, chainRemoved: !existsSync(chainDir(chain)) };
}
