// lb_addr_slots, the data plane's first lookup, planned by the control plane (pure logic; the real
// program reads what these plans write in bpf/tests/addr-slots.test.ts). What must hold while a
// plan is being written: a packet on another CPU that reads a slot half-written never turns away
// an address that stays configured, and at the end every slot says exactly what lb_addrs says.
import { describe, expect, it } from 'vitest';
import * as abi from '../src/dataplane/abi.js';
import { planAddrSlots, type SlotAddress, type SlotWrite } from '../src/dataplane/addr-slots.js';
import { ipToBytes, parseIp } from '../src/config/address.js';

const A = (text: string, flags = abi.ADDR_VIP): SlotAddress => ({ addr: Buffer.from(ipToBytes(parseIp(text)!)), flags });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const SLOTS = 1 << 14;

/** The data plane's reading of a slot (bpf/lib/addrs.h lb_addr_flags): its flags, 0 = not ours. */
function read(slot: abi.AddrSlot, dst: Uint8Array, lbAddrs: ReadonlyMap<string, number>): number {
  if (slot.state === abi.SLOT_ONE) return slot.addr.equals(dst) ? slot.flags : 0;
  if (slot.state === abi.SLOT_EMPTY) return 0;
  return lbAddrs.get(hex(dst)) ?? 0;
}

/** A slot value as its 6 words (4 of the address, flags, state) and back. */
const words = (v: abi.AddrSlot): number[] => {
  const b = abi.encodeAddrSlot(v);
  return [0, 4, 8, 12, 16, 20].map((o) => b.readUInt32LE(o));
};
const fromWords = (w: number[]): abi.AddrSlot => {
  const b = Buffer.alloc(24);
  w.forEach((x, i) => b.writeUInt32LE(x >>> 0, i * 4));
  return abi.decodeAddrSlot(b);
};

/**
 * Every value a reader can assemble from a slot that went through `values` (the old value, then
 * each write): it reads the state first, seeing values[i]'s (whose write may not have stored its
 * other words yet), then each other word from any value written since, values[i-1] onwards.
 */
function* tornReads(values: readonly abi.AddrSlot[]): Generator<abi.AddrSlot> {
  const w = values.map(words);
  for (let i = 0; i < values.length; i++) {
    const from = w.slice(Math.max(0, i - 1));
    const pick = (k: number, acc: number[]): number[][] => (k === 5 ? [acc] : from.flatMap((v) => pick(k + 1, [...acc, v[k]!])));
    for (const rest of pick(0, [])) yield fromWords([...rest, w[i]![5]!]);
  }
}

/** A table in the state a plan of `addrs` leaves from an empty one (the first deploy). */
function tableOf(slots: number, addrs: readonly SlotAddress[]): abi.AddrSlot[] {
  const t: abi.AddrSlot[] = Array.from({ length: slots }, () => abi.EMPTY_SLOT);
  for (const w of planAddrSlots(t, addrs)) t[w.index] = w.value;
  return t;
}

/**
 * Goes from `before` to `after` as InstanceMaps.writeAddrs does (lb_addrs gets the new addresses,
 * the slots are written, then lb_addrs loses the removed ones), checking every torn read of every
 * slot written on the way. Returns the writes and the final table.
 */
function change(slots: number, before: readonly SlotAddress[], after: readonly SlotAddress[], plan = planAddrSlots) {
  const table = tableOf(slots, before);
  const lbAddrs = new Map([...before, ...after].map((a) => [hex(a.addr), a.flags]));
  for (const a of after) lbAddrs.set(hex(a.addr), a.flags);
  const staying = after.filter((a) => before.some((b) => hex(b.addr) === hex(a.addr)));
  const writes = plan(table, after);
  const history = new Map<number, abi.AddrSlot[]>();
  for (const w of writes) {
    if (!history.has(w.index)) history.set(w.index, [table[w.index]!]);
    history.get(w.index)!.push(w.value);
    table[w.index] = w.value;
  }
  const turnedAway: string[] = [];
  for (const [index, values] of history) {
    const here = staying.filter((a) => abi.addrSlot(a.addr, slots) === index);
    for (const seen of tornReads(values)) for (const a of here) if (read(seen, a.addr, lbAddrs) === 0) turnedAway.push(hex(a.addr));
  }
  for (const b of before) if (!after.some((a) => hex(a.addr) === hex(b.addr))) lbAddrs.delete(hex(b.addr));
  return { writes, table, lbAddrs, turnedAway };
}

/** Two IPv4 addresses of 10.0.0.0/16 in one slot (of SLOTS), found by the hash itself. */
function collidingPair(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const ip = `10.0.${i >> 8}.${i & 255}`;
    const s = abi.addrSlot(ipToBytes(parseIp(ip)!), SLOTS);
    const other = seen.get(s);
    if (other) return [other, ip];
    seen.set(s, ip);
  }
}

const states = (ws: SlotWrite[]) => ws.map((w) => [w.value.state, hex(w.value.addr).slice(-8), w.value.flags]);

describe('the slot hash (lb_hash.h lb_addr_slot)', () => {
  it('is the XOR of the 4 little-endian words times 0x9E3779B1, top bits (checked in 64-bit arithmetic)', () => {
    for (const ip of ['198.18.0.10', '10.0.0.2', '2001:db8::10', 'fe80::1:2:3:4', '::', '255.255.255.255']) {
      const b = Buffer.from(ipToBytes(parseIp(ip)!));
      const x = BigInt((b.readUInt32LE(0) ^ b.readUInt32LE(4) ^ b.readUInt32LE(8) ^ b.readUInt32LE(12)) >>> 0);
      const want = Number(((x * 0x9e3779b1n) & 0xffffffffn) >> 18n);
      expect(abi.addrSlot(b, SLOTS)).toBe(want);
      expect(abi.addrSlot(b, 1024)).toBe(want >> 4);
    }
  });

  it('puts the 256 addresses of a /24 in 256 different slots', () => {
    const slots = new Set(Array.from({ length: 256 }, (_, i) => abi.addrSlot(ipToBytes(parseIp(`198.18.7.${i}`)!), SLOTS)));
    expect(slots.size).toBe(256);
  });

  it('refuses a table size that is not a power of two', () => {
    expect(() => abi.addrSlot(Buffer.alloc(16), 1000)).toThrow(/not a power of two/);
  });
});

describe('planAddrSlots: what the table says at the end', () => {
  it('a first deploy: one write per address, ONE with its flags; nothing else is touched', () => {
    const addrs = [A('198.18.0.10'), A('198.18.0.2', abi.ADDR_SNAT), A('2001:db8::10', abi.ADDR_VIP | abi.ADDR_SNAT)];
    const r = change(SLOTS, [], addrs);
    expect(r.writes).toHaveLength(3);
    for (const a of addrs)
      expect(r.table[abi.addrSlot(a.addr, SLOTS)]).toEqual({ addr: Buffer.from(a.addr), flags: a.flags, state: abi.SLOT_ONE });
    expect(r.table.filter((s) => s.state !== abi.SLOT_EMPTY)).toHaveLength(3);
  });

  it('the same addresses again: no write', () => {
    const addrs = [A('198.18.0.10'), A('198.18.0.2', abi.ADDR_SNAT)];
    expect(planAddrSlots(tableOf(SLOTS, addrs), addrs)).toEqual([]);
  });

  it('two addresses in one slot: SHARED (both looked up in lb_addrs)', () => {
    const [a, b] = collidingPair();
    const r = change(SLOTS, [], [A(a), A(b, abi.ADDR_SNAT)]);
    const slot = r.table[abi.addrSlot(A(a).addr, SLOTS)]!;
    expect(slot.state).toBe(abi.SLOT_SHARED);
    expect(read(slot, A(a).addr, r.lbAddrs)).toBe(abi.ADDR_VIP);
    expect(read(slot, A(b).addr, r.lbAddrs)).toBe(abi.ADDR_SNAT);
    expect(read(slot, A('10.9.9.9').addr, r.lbAddrs)).toBe(0);
  });
});

describe('planAddrSlots: the order of writes (torn reads never turn away an address that stays)', () => {
  const [a, b] = collidingPair();

  it('ONE(a) -> SHARED when b joins: one write, the state alone (the address stays a)', () => {
    const r = change(SLOTS, [A(a)], [A(a), A(b)]);
    expect(states(r.writes)).toEqual([[abi.SLOT_SHARED, hex(A(a).addr).slice(-8), abi.ADDR_VIP]]);
    expect(r.turnedAway).toEqual([]);
  });

  it('SHARED -> ONE(b) when a leaves: first the address under SHARED, then the state', () => {
    const r = change(SLOTS, [A(a), A(b, abi.ADDR_SNAT)], [A(b, abi.ADDR_SNAT)]);
    expect(states(r.writes)).toEqual([
      [abi.SLOT_SHARED, hex(A(b).addr).slice(-8), abi.ADDR_SNAT],
      [abi.SLOT_ONE, hex(A(b).addr).slice(-8), abi.ADDR_SNAT],
    ]);
    expect(r.turnedAway).toEqual([]);
    expect(read(r.table[abi.addrSlot(A(b).addr, SLOTS)]!, A(a).addr, r.lbAddrs)).toBe(0);
  });

  it('ONE(a) -> ONE(b) in one change: through SHARED, three writes', () => {
    const r = change(SLOTS, [A(a)], [A(b)]);
    expect(states(r.writes).map((s) => s[0])).toEqual([abi.SLOT_SHARED, abi.SLOT_SHARED, abi.SLOT_ONE]);
    expect(r.turnedAway).toEqual([]);
  });

  it('new flags of an address: its slot is rewritten with the flags alone', () => {
    const r = change(SLOTS, [A(a)], [A(a, abi.ADDR_VIP | abi.ADDR_SNAT)]);
    expect(states(r.writes)).toEqual([[abi.SLOT_ONE, hex(A(a).addr).slice(-8), abi.ADDR_VIP | abi.ADDR_SNAT]]);
    expect(r.turnedAway).toEqual([]);
  });

  it('an address removed: its slot goes EMPTY (lb_addrs loses it after)', () => {
    const r = change(SLOTS, [A(a), A('198.18.0.10')], [A('198.18.0.10')]);
    expect(r.writes).toEqual([{ index: abi.addrSlot(A(a).addr, SLOTS), value: abi.EMPTY_SLOT }]);
    expect(r.lbAddrs.has(hex(A(a).addr))).toBe(false);
  });

  it('a slot in a state the data plane does not know is treated as SHARED (it sends readers to lb_addrs)', () => {
    const t = tableOf(SLOTS, [A(a)]);
    const i = abi.addrSlot(A(a).addr, SLOTS);
    t[i] = { ...t[i]!, state: 7 };
    expect(states(planAddrSlots(t, [A(a)]))).toEqual([
      [abi.SLOT_SHARED, hex(A(a).addr).slice(-8), abi.ADDR_VIP],
      [abi.SLOT_ONE, hex(A(a).addr).slice(-8), abi.ADDR_VIP],
    ]);
  });

  it('the check bites: writing SHARED -> ONE(b) in one write would turn b away', () => {
    const oneWrite = (cur: readonly abi.AddrSlot[], addrs: readonly SlotAddress[]) =>
      planAddrSlots(cur, addrs).filter((w, i, all) => !(w.value.state === abi.SLOT_SHARED && all[i + 1]?.index === w.index));
    const r = change(SLOTS, [A(a), A(b)], [A(b)], oneWrite);
    expect(r.turnedAway).toContain(hex(A(b).addr));
  });

  it('random changes among crowded slots: no torn read turns away an address that stays; the end is exact; a re-plan writes nothing', () => {
    // 4 slots, 12 addresses: every slot goes through EMPTY, ONE and SHARED over and over.
    const pool = Array.from({ length: 12 }, (_, i) => (i % 3 === 2 ? `2001:db8::${i.toString(16)}` : `10.0.${i}.${i * 7}`));
    let seed = 12345;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const pick = () => pool.filter(() => rand() < 0.4).map((ip) => A(ip, 1 + Math.floor(rand() * 3)));
    let before = pick();
    for (let round = 0; round < 400; round++) {
      const after = pick();
      const r = change(4, before, after);
      expect(r.turnedAway, `round ${round}`).toEqual([]);
      for (const ip of pool) {
        const want = after.find((x) => hex(x.addr) === hex(A(ip).addr))?.flags ?? 0;
        expect(read(r.table[abi.addrSlot(A(ip).addr, 4)]!, A(ip).addr, r.lbAddrs)).toBe(want);
      }
      expect(planAddrSlots(r.table, after)).toEqual([]);
      before = after;
    }
  });
});
