// lb_addr_slots, the first lookup of every packet (bpf/lib/addrs.h), through BPF_PROG_TEST_RUN for
// each strategy object: an address alone in its slot (ONE) is handled without lb_addrs, another
// address in that slot is not ours, addresses that share a slot (SHARED) are looked up in lb_addrs,
// and removals; and core's TypeScript slot hash (the one that fills the slots in production) lands
// on the slot the program reads, for IPv4 and IPv6 addresses. The write order that keeps readers
// on other CPUs safe is core's (packages/core/tests/addr-slots.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Abi, parseIp } from '@xdp-lb/core';
import { addr, LB_ADDR_FT, LB_ADDR_SNAT, LB_ADDR_VIP, LB_SLOT_EMPTY, LB_SLOT_ONE, LB_SLOT_SHARED, u32 } from './harness/abi.js';
import { backendMac, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check } from './harness/fixtures.js';
import { MAC, tcp, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf addr-slots] skipped: ${bpfSkipReason}`);

const CLIENT = '198.18.1.1';
const VIP = '198.18.0.10';
const VIP6 = '2001:db8::10';
const CLIENT6 = '2001:db8:1::1';

/** The first `count` addresses of `candidates` (other than `not`) that `dp` puts in `slot`. */
function inSlot(dp: TestDataplane, slot: number, not: readonly string[], count = 1): string[] {
  const out: string[] = [];
  for (let i = 0; i < 1 << 16 && out.length < count; i++) {
    const ip = `198.18.${(i >> 8) & 0xff}.${i & 0xff}`;
    if (!not.includes(ip) && dp.slotOf(ip) === slot) out.push(ip);
  }
  if (out.length < count) throw new Error(`no ${count} addresses of 198.18.0.0/16 in slot ${slot}`);
  return out;
}

/** Two addresses of 198.18.0.0/16 in one slot (other than those of `not`). */
function collidingPair(dp: TestDataplane, not: readonly string[]): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; i < 1 << 16; i++) {
    const ip = `198.18.${(i >> 8) & 0xff}.${i & 0xff}`;
    if (not.includes(ip) || not.some((n) => dp.slotOf(n) === dp.slotOf(ip))) continue;
    const other = seen.get(dp.slotOf(ip));
    if (other) return [other, ip];
    seen.set(dp.slotOf(ip), ip);
  }
  throw new Error('no colliding pair in 198.18.0.0/16');
}

const dsrTo = (id: number) => (input: Buffer) => withMacs(input, backendMac(id), MAC.lb);
const syn = (dst: string, sport: number, src = CLIENT) => tcp({ src, dst, sport, dport: 80, flags: 'S' });

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('lb_addr_slots [%s]', (strategy) => {
  let dp: TestDataplane;
  /** A VIP's flags as the harness writes them (LB_ADDR_FT too with the flow table on). */
  const vip = () => LB_ADDR_VIP | (dp.ft ? LB_ADDR_FT : 0);
  let pair: [string, string];

  beforeAll(async () => {
    dp = await TestDataplane.load(strategy, { ct_refresh_ns: 0 });
    dp.setBackend(1, { addr: '198.18.2.1', port: 80 });
    dp.setBackend(2, { addr: '2001:db8:2::1', port: 80 });
    dp.setTable(0, [1]);
    dp.setTable(1, [1]);
    dp.setTable(2, [1]);
    dp.setTable(3, [2]);
    dp.addAddr(VIP, LB_ADDR_VIP);
    dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 0, fwd: 'dsr' });
    dp.addAddr(VIP6, LB_ADDR_VIP);
    dp.addService({ vip: VIP6, port: 80, proto: 'tcp', id: 3, fwd: 'dsr' });
    pair = collidingPair(dp, [VIP]);
  });
  afterAll(() => dp?.dispose());

  it('the map: an ARRAY of a power-of-two number of 24-byte slots, 16 or more per lb_addrs entry', () => {
    const m = dp.map('lb_addr_slots');
    expect({ type: m.type, keySize: m.keySize, valueSize: m.valueSize }).toEqual({ type: 2, keySize: 4, valueSize: 24 });
    expect(Number.isInteger(Math.log2(m.maxEntries))).toBe(true);
    expect(m.maxEntries).toBeGreaterThanOrEqual(16 * dp.map('lb_addrs').maxEntries);
  });

  it('a configured address alone in its slot (ONE): handled', () => {
    expect(dp.slot(VIP)).toEqual({ addr: addr(VIP), flags: vip(), state: LB_SLOT_ONE });
    check(dp, { description: 'SYN to the VIP', input: syn(VIP, 40000), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1, CT_NEW: 1 } });
    check(dp, {
      description: 'and its flow',
      input: tcp({ src: CLIENT, dst: VIP, sport: 40000, dport: 80, flags: 'A' }),
      verdict: 'TX',
      output: dsrTo(1),
      reasons: { TX: 1 },
    });
  });

  it('an IPv6 address alone in its slot: handled', () => {
    expect(dp.slot(VIP6)).toEqual({ addr: addr(VIP6), flags: vip(), state: LB_SLOT_ONE });
    check(dp, {
      description: 'SYN to the IPv6 VIP',
      input: syn(VIP6, 40000, CLIENT6),
      verdict: 'TX',
      output: dsrTo(2),
      reasons: { TX: 1, CT_NEW: 1 },
    });
  });

  it('an unconfigured address that hashes to a ONE slot: passed untouched, not ours', () => {
    const [other] = inSlot(dp, dp.slotOf(VIP), [VIP]);
    check(dp, {
      description: `SYN to ${other} (slot of ${VIP})`,
      input: syn(other!, 40001),
      verdict: 'PASS',
      reasons: { PASS_NOT_OURS: 1 },
    });
  });

  it('a ONE slot decides alone: an lb_addrs entry that no slot names is never looked up', () => {
    const [other] = inSlot(dp, dp.slotOf(VIP), [VIP]);
    dp.map('lb_addrs').update(addr(other!), u32(LB_ADDR_VIP));
    try {
      check(dp, {
        description: `SYN to ${other}, in lb_addrs behind ${VIP}'s slot`,
        input: syn(other!, 40002),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      });
    } finally {
      dp.map('lb_addrs').delete(addr(other!));
    }
  });

  it('two configured addresses in one slot (SHARED): both handled through lb_addrs, a third one in the slot is not ours', () => {
    const [a, b] = pair;
    dp.addAddr(a, LB_ADDR_VIP);
    dp.addService({ vip: a, port: 80, proto: 'tcp', id: 1, fwd: 'dsr' });
    dp.addAddr(b, LB_ADDR_VIP | LB_ADDR_SNAT);
    dp.addService({ vip: b, port: 80, proto: 'tcp', id: 2, fwd: 'dsr' });
    expect(dp.slotOf(a)).toBe(dp.slotOf(b));
    expect(dp.slot(a).state).toBe(LB_SLOT_SHARED);
    check(dp, { description: `SYN to ${a}`, input: syn(a, 40010), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1, CT_NEW: 1 } });
    check(dp, { description: `SYN to ${b}`, input: syn(b, 40011), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1, CT_NEW: 1 } });
    const [third] = inSlot(dp, dp.slotOf(a), [a, b]);
    check(dp, {
      description: `SYN to ${third} (same slot, not configured)`,
      input: syn(third!, 40012),
      verdict: 'PASS',
      reasons: { PASS_NOT_OURS: 1 },
    });
  });

  it('one of the two removed: the other alone in the slot (ONE) still works; the removed one is not ours', () => {
    const [a, b] = pair;
    dp.removeService(a, 80, 'tcp');
    dp.removeAddr(a);
    expect(dp.slot(b)).toEqual({ addr: addr(b), flags: vip() | LB_ADDR_SNAT, state: LB_SLOT_ONE });
    check(dp, {
      description: `${b}'s flow`,
      input: tcp({ src: CLIENT, dst: b, sport: 40011, dport: 80, flags: 'A' }),
      verdict: 'TX',
      output: dsrTo(1),
      reasons: { TX: 1 },
    });
    check(dp, { description: `a new flow to ${b}`, input: syn(b, 40013), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1, CT_NEW: 1 } });
    check(dp, {
      description: `${a}'s flow, its address removed`,
      input: tcp({ src: CLIENT, dst: a, sport: 40010, dport: 80, flags: 'A' }),
      verdict: 'PASS',
      reasons: { PASS_NOT_OURS: 1 },
    });
  });

  it('an address removed (its slot EMPTY): not ours, its tracked flow too', () => {
    const [, b] = pair;
    dp.removeService(b, 80, 'tcp');
    dp.removeAddr(b);
    expect(dp.slot(b)).toEqual({ addr: Buffer.alloc(16), flags: 0, state: LB_SLOT_EMPTY });
    check(dp, {
      description: `${b}'s flow`,
      input: tcp({ src: CLIENT, dst: b, sport: 40013, dport: 80, flags: 'A' }),
      verdict: 'PASS',
      reasons: { PASS_NOT_OURS: 1 },
    });
    check(dp, { description: `SYN to ${b}`, input: syn(b, 40014), verdict: 'PASS', reasons: { PASS_NOT_OURS: 1 } });
    check(dp, {
      description: `${VIP} is still handled`,
      input: syn(VIP, 40015),
      verdict: 'TX',
      output: dsrTo(1),
      reasons: { TX: 1, CT_NEW: 1 },
    });
  });
});

describe.skipIf(bpfSkipReason !== null)("core's slot hash is the data plane's", () => {
  let dp: TestDataplane;
  beforeAll(async () => {
    dp = await TestDataplane.load('hash');
  });
  afterAll(() => dp?.dispose());

  // IPv4 and IPv6 addresses with every word in play; none is in lb_addrs: a ONE slot alone makes
  // an address ours (a VIP without a service on the port: pass_unsupported instead of not ours).
  const addresses = [
    ...Array.from({ length: 24 }, (_, i) => `${10 + i * 9}.${(i * 37) & 255}.${(i * 101) & 255}.${(i * 53 + 1) & 255}`),
    ...Array.from(
      { length: 24 },
      (_, i) =>
        `2001:db8:${((i * 4099) & 0xffff).toString(16)}:${i.toString(16)}::${((i * 2654435761) >>> 16).toString(16)}:${(i + 1).toString(16)}`,
    ),
  ];
  it.each(addresses)('%s', (text) => {
    const ip = parseIp(text)!;
    const slots = dp.map('lb_addr_slots');
    const index = Abi.addrSlot(Abi.encodeAddr(ip), slots.maxEntries);
    const src = ip.family === 4 ? CLIENT : CLIENT6;
    const probe = tcp({ src, dst: text, sport: 40000, dport: 9, flags: 'S' });
    check(dp, { description: 'no slot: not ours', input: probe, verdict: 'PASS', reasons: { PASS_NOT_OURS: 1 } });
    slots.update(Abi.u32(index), Abi.encodeAddrSlot({ addr: Abi.encodeAddr(ip), flags: Abi.ADDR_VIP, state: Abi.SLOT_ONE }));
    try {
      check(dp, { description: `ONE slot ${index} (core's index): ours`, input: probe, verdict: 'PASS', reasons: { PASS_UNSUPPORTED: 1 } });
    } finally {
      slots.update(Abi.u32(index), Abi.encodeAddrSlot(Abi.EMPTY_SLOT));
    }
  });
});
