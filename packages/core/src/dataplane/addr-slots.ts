import * as abi from './abi.js';

/** An address of lb_addrs (16-byte lb_addr) with its roles (ADDR_VIP, ADDR_SNAT). */
export interface SlotAddress {
  addr: Uint8Array;
  flags: number;
}

/** One write of lb_addr_slots, in the order returned. */
export interface SlotWrite {
  index: number;
  value: abi.AddrSlot;
}

/**
 * The writes that make lb_addr_slots describe `addrs` (lb_addrs' content once the caller's change
 * is made), starting from `current` (the whole table as read from the map; its length is the map's
 * size). Pure: InstanceMaps.writeAddrs() does the reads and the writes.
 *
 * Why this order. The data plane reads a slot while the control plane writes it, and an ARRAY
 * update is a plain copy of the 24-byte value: a packet on another CPU can see half of the old
 * value and half of the new. Seeing an address as ours when it is not is harmless (every later
 * lookup, service, conntrack, NAT, is exact: such a packet is passed untouched all the same);
 * turning away an address that stays configured is not (its packets go to the host). So:
 *  - lb_addrs, the source of truth, holds an address before any slot names it, and keeps it until
 *    no slot does (the caller's order): a SHARED slot, or any state the data plane does not
 *    know, sends the reader to lb_addrs, which is exact at every moment;
 *  - a slot's address and flags change only while its state is SHARED, and its state changes in
 *    a write of its own, with the address and flags left as they are. The reader reads the state
 *    first (bpf/lib/addrs.h), so if it sees ONE it reads the address written before that ONE:
 *      ONE(a) -> SHARED (an address joins a's slot):  {a, SHARED}            (state only)
 *      SHARED -> ONE(a) (all but a leave):            {a, SHARED}, {a, ONE}
 *      ONE(b) -> ONE(a) (b leaves, a comes):          {b, SHARED}, {a, SHARED}, {a, ONE}
 *      ONE(a) -> ONE(a) with new flags:               {a, ONE} (flags only: old or new, both a's)
 *    so no mix of two consecutive values turns away an address that stays;
 *  - EMPTY -> ONE(a) is one write: a torn read can only miss a itself, which is being added (it
 *    was not ours a moment ago either); X -> EMPTY is one write: no address that stays hashes
 *    here (the ones leaving are still in lb_addrs, deleted only after this).
 * A slot that changes nothing is not written; a SHARED slot that stays SHARED is never written.
 */
export function planAddrSlots(current: readonly abi.AddrSlot[], addrs: readonly SlotAddress[]): SlotWrite[] {
  const byIndex = new Map<number, SlotAddress[]>();
  for (const a of addrs) {
    const i = abi.addrSlot(a.addr, current.length);
    const list = byIndex.get(i);
    if (list) list.push(a);
    else byIndex.set(i, [a]);
  }
  const writes: SlotWrite[] = [];
  current.forEach((cur, index) => {
    for (const value of slotSteps(cur, byIndex.get(index) ?? [])) writes.push({ index, value });
  });
  return writes;
}

/** The values one slot goes through, from `cur` to what `here` (the addresses hashing to it) needs. */
function slotSteps(cur: abi.AddrSlot, here: readonly SlotAddress[]): abi.AddrSlot[] {
  const steps: abi.AddrSlot[] = [];
  const put = (v: abi.AddrSlot) => {
    steps.push(v);
    cur = v;
  };
  if (here.length === 0) {
    if (cur.state !== abi.SLOT_EMPTY) put(abi.EMPTY_SLOT);
    return steps;
  }
  if (here.length > 1) {
    if (cur.state === abi.SLOT_EMPTY || cur.state === abi.SLOT_ONE) put({ ...cur, state: abi.SLOT_SHARED });
    return steps;
  }
  const a = here[0]!;
  const addr = Buffer.from(a.addr.buffer, a.addr.byteOffset, 16);
  if (cur.state === abi.SLOT_ONE && cur.addr.equals(addr)) {
    if (cur.flags !== a.flags) put({ addr, flags: a.flags, state: abi.SLOT_ONE });
    return steps;
  }
  if (cur.state === abi.SLOT_EMPTY) {
    put({ addr, flags: a.flags, state: abi.SLOT_ONE });
    return steps;
  }
  if (cur.state === abi.SLOT_ONE) put({ ...cur, state: abi.SLOT_SHARED });
  if (cur.state !== abi.SLOT_SHARED || !cur.addr.equals(addr) || cur.flags !== a.flags)
    put({ addr, flags: a.flags, state: abi.SLOT_SHARED });
  put({ addr, flags: a.flags, state: abi.SLOT_ONE });
  return steps;
}
