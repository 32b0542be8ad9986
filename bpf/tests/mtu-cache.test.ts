// The egress MTU as each CPU caches it (bpf/lib/toobig.h lb_fits, issue 17): ipip packets are
// compared with this CPU's last answer of bpf_check_mtu() while it is younger than nh_refresh_ns,
// and a change of the interface's MTU is seen once it is older; a packet the cached MTU says is too
// big always asks the device, so a raise is seen at once. In a throwaway namespace (a veth whose
// MTU the test changes), through BPF_PROG_TEST_RUN; the process is pinned to one CPU so that every
// run reads the same CPU's cache.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ifNameToIndex, inNetns } from '@xdp-lb/native';
import { labSupport, Netns, parseFrame } from '@xdp-lb/netlab';
import { addr, LB_ADDR_VIP } from './harness/abi.js';
import { bpfSkipReason, TestDataplane } from './harness/dataplane.js';
import { pinToCpu0, tasksetSkipReason } from './harness/cpu.js';
import { check } from './harness/fixtures.js';
import { MAC, tcp, tooBig } from './harness/frames.js';

const support = labSupport();
const skip = bpfSkipReason ?? tasksetSkipReason ?? (support.ok ? null : support.reason!);
if (skip) console.warn(`[bpf mtu-cache] skipped: ${skip}`);

const VIP = '198.18.0.10';
const CLIENT = '198.18.1.1';
const BE = '198.18.5.1';
const REFRESH_MS = 1000;

describe.skipIf(skip !== null)('ipip: the egress MTU cached per CPU [hash]', () => {
  let ns: Netns;
  let dp: TestDataplane;
  let ifIn = 0;
  let unpin: (() => void) | undefined;

  beforeAll(async () => {
    unpin = pinToCpu0();
    ns = await Netns.createUnique('bpfmtu');
    await ns.sh(`
      ip link add in type veth peer name in-peer
      ip link set in address ${MAC.lb} mtu 1500
      ip link set in up
      ip link set in-peer up
    `);
    ifIn = inNetns(ns.path, () => ifNameToIndex('in'));
    dp = await TestDataplane.load('hash', {
      nh_refresh_ns: BigInt(REFRESH_MS) * 1_000_000n,
      encap_src4: addr('198.19.0.0').subarray(12, 16),
      icmp_too_big_rate: 1000,
    });
    dp.addAddr(VIP, LB_ADDR_VIP);
    dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 0, fwd: 'ipip' });
    dp.setBackend(1, { addr: BE, port: 80, ifindex: ifIn }); // a static next hop out of `in`
    dp.setTable(0, [1]);
  });
  afterAll(() => {
    dp?.dispose();
    ns?.deleteSync();
    unpin?.();
  });

  let sport = 45000;
  /** A client packet of `ipLen` bytes of IP (a new flow each: the MTU is the only thing at stake). */
  const input = (ipLen: number) => tcp({ src: CLIENT, dst: VIP, sport: sport++, dport: 80, flags: 'PA', payload: 'm'.repeat(ipLen - 40) });
  /** Runs `frame`: was it sent on, encapsulated to the backend (not answered with a too-big)? */
  const forwarded = (frame: Buffer): boolean => {
    const r = inNetns(ns.path, () => dp.run(frame, ifIn));
    const ip = r.verdict === 'TX' ? parseFrame(r.data).ipv4 : undefined;
    return ip?.dst === BE && ip.protocol === 4;
  };
  const tooBigFor = (frame: Buffer, mtu: number) =>
    inNetns(ns.path, () =>
      check(dp, {
        description: `${frame.length - 14} bytes`,
        input: frame,
        verdict: 'TX',
        output: tooBig(frame, mtu),
        ingressIfindex: ifIn,
      }),
    );

  it('MTU 1500: 1480 bytes fit, 1481 get fragmentation needed (1480), from the cache as from the device', () => {
    expect(forwarded(input(1480))).toBe(true);
    tooBigFor(input(1481), 1480);
    expect(forwarded(input(1480)), 'the cached answer').toBe(true);
  });

  it('the MTU lowered to 1400: the cached 1500 holds until nh_refresh_ns has passed, then 1400 is read', async () => {
    expect(forwarded(input(1480))).toBe(true); // refreshes nothing: the cache is young
    await ns.sh('ip link set in mtu 1400');
    // Within the refresh period this CPU still compares with 1500 (what the cache promises: a
    // change is seen as late as the next hop's): the packet is sent (the device would drop it).
    expect(forwarded(input(1480)), 'within nh_refresh_ns of the cached answer').toBe(true);
    await sleep(REFRESH_MS + 200);
    tooBigFor(input(1381), 1380);
    expect(forwarded(input(1380))).toBe(true);
  });

  it('the MTU raised back to 1500: seen at once (a cached too-big is asked again), and cached anew', async () => {
    tooBigFor(input(1381), 1380); // the device still says 1400: the cache holds 1400, young
    await ns.sh('ip link set in mtu 1500');
    // Within nh_refresh_ns of the cached 1400: a packet the cache says is too big is never
    // answered from it (lb_fits asks the device), so the raise is seen by the very next packet.
    expect(forwarded(input(1480)), 'the cached 1400 asked again, the device says 1500').toBe(true);
    // That answer replaced the cached one: lowered again at once (1500 -> 1400 -> 1500 -> 1400),
    // the CPU compares with the young 1500, as after the first drop. A cache that kept its first
    // answer (never refreshed while it holds one) would ask the device here and answer too-big.
    await ns.sh('ip link set in mtu 1400');
    expect(forwarded(input(1480)), 'the 1500 cached by the last question').toBe(true);
    await sleep(REFRESH_MS + 200);
    tooBigFor(input(1381), 1380);
    await ns.sh('ip link set in mtu 1500');
    expect(forwarded(input(1480))).toBe(true);
  });
});
