// The next hop from the kernel's tables (bpf_fib_lookup) and the way out (XDP_TX, devmap redirect),
// in a throwaway network namespace with two interfaces:
//   "in"  198.18.0.2/24 (MAC 02:00:00:00:00:0b): clients; backend 1 resolved, backend 2 not;
//         a router 198.18.0.254 (resolved) to 198.18.5.0/24, where backend 5 lives
//   "out" 198.18.3.2/24 (MAC 02:00:00:00:00:2b): backend 3 resolved
// The test runs happen inside the namespace (native inNetns), so ingress_ifindex and the FIB are its.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ifNameToIndex, inNetns } from '@xdp-lb/native';
import { labSupport, Netns } from '@xdp-lb/netlab';
import { LB_ADDR_SNAT, LB_ADDR_VIP, LB_NH_STATIC, u32 } from './harness/abi.js';
import { backendMac, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check, expectReset, type Fixture } from './harness/fixtures.js';
import { MAC, tcp, tooBig, withMacs } from './harness/frames.js';
import type { RunResult } from './harness/dataplane.js';

const support = labSupport();
const skip = bpfSkipReason ?? (support.ok ? null : support.reason!);
if (skip) console.warn(`[bpf fib] skipped: ${skip}`);

const VIP = '198.18.0.10';
const SNAT = '198.18.0.2';
const CLIENT = '198.18.0.100';
const MAC_OUT = '02:00:00:00:00:2b';
const MAC_ROUTER = '02:00:00:00:00:fe';

describe.skipIf(skip !== null).each(STRATEGIES)('next hop and egress [%s]', (strategy) => {
  let ns: Netns;
  let dp: TestDataplane;
  let ifIn = 0;
  let ifOut = 0;
  /** Runs a fixture as if the frame arrived on `ifindex` inside the namespace. */
  const checkIn = (f: Fixture, ifindex = ifIn): RunResult => inNetns(ns.path, () => check(dp, { ...f, ingressIfindex: ifindex }));

  beforeAll(async () => {
    ns = await Netns.createUnique('bpffib');
    await ns.sh(`
      ip link add in type veth peer name in-peer
      ip link add out type veth peer name out-peer
      ip link set in address ${MAC.lb}
      ip link set out address ${MAC_OUT}
      for l in in in-peer out out-peer; do ip link set $l up; done
      ip addr add ${SNAT}/24 dev in
      ip addr add 198.18.3.2/24 dev out
      ip neigh replace 198.18.0.21 lladdr ${backendMac(1)} dev in nud permanent
      ip neigh replace 198.18.3.31 lladdr ${backendMac(3)} dev out nud permanent
      ip neigh replace 198.18.0.254 lladdr ${MAC_ROUTER} dev in nud permanent
      ip route add 198.18.5.0/24 via 198.18.0.254 dev in
    `);
    await ns.sysctl({ 'net.ipv4.conf.in.forwarding': 1, 'net.ipv4.conf.out.forwarding': 1 });
    [ifIn, ifOut] = inNetns(ns.path, () => [ifNameToIndex('in'), ifNameToIndex('out')]);

    dp = await TestDataplane.load(strategy, { nh_refresh_ns: 0 }); // look up on every packet
    dp.addAddr(VIP, LB_ADDR_VIP);
    dp.addAddr(SNAT, LB_ADDR_SNAT);
    dp.setSnatPool(0, SNAT);
    const backends: Array<[number, string]> = [
      [1, '198.18.0.21'],
      [2, '198.18.0.22'],
      [3, '198.18.3.31'],
      [4, '10.99.0.1'],
      [5, '198.18.5.1'],
    ];
    backends.forEach(([id, ip], i) => {
      dp.setBackend(id, { addr: ip, port: 80, mac: null }); // no static next hop: the FIB decides
      dp.addService({ vip: VIP, port: 81 + i, proto: 'tcp', id: i, fwd: 'dsr' }); // ports 81..85: dsr to backend id
      dp.addService({ vip: VIP, port: 91 + i, proto: 'tcp', id: 10 + i, fwd: 'nat', snatFirst: 0, snatCount: 1 }); // 91..95: nat
      dp.setTable(i, [id]);
      dp.setTable(10 + i, [id]);
    });
  });
  afterAll(() => {
    dp?.dispose();
    ns?.deleteSync();
  });

  const syn = (dport: number, sport = 40000) => tcp({ src: CLIENT, dst: VIP, sport, dport, flags: 'S' });

  it('a resolved backend on the ingress interface: its MAC from the neighbour table, XDP_TX, cached', () => {
    checkIn({
      description: 'dsr to backend 1',
      input: syn(81),
      verdict: 'TX',
      output: (i) => withMacs(i, backendMac(1), MAC.lb),
      reasons: { TX: 1, CT_NEW: 1 },
    });
    const nh = dp.nextHop(1);
    expect(nh).toMatchObject({ ifindex: ifIn });
    expect(nh.dmac).toEqual(
      Buffer.from(
        backendMac(1)
          .split(':')
          .map((x) => parseInt(x, 16)),
      ),
    );
    expect(nh.checkedNs).not.toBe(0n);
    expect(nh.checkedNs).not.toBe(LB_NH_STATIC);
  });

  it('an unresolved neighbour: dropped and counted, nothing cached', () => {
    checkIn({ description: 'dsr to backend 2', input: syn(82), verdict: 'DROP', reasons: { DROP_NO_NEIGH: 1 } });
    expect(dp.nextHop(2).checkedNs).toBe(0n);
  });

  it('no route: dropped and counted', () => {
    checkIn({ description: 'dsr to backend 4', input: syn(84), verdict: 'DROP', reasons: { DROP_NO_ROUTE: 1 } });
  });

  it('a backend behind a router: refused in DSR (not on-link), reached through the router in NAT', () => {
    checkIn({ description: 'dsr to backend 5', input: syn(85), verdict: 'DROP', reasons: { DROP_NO_ROUTE: 1 } });
    const r = checkIn({ description: 'nat to backend 5', input: syn(95), verdict: 'TX', reasons: { TX: 1, CT_NEW: 1 } });
    expect(r.data.subarray(0, 6)).toEqual(Buffer.from([2, 0, 0, 0, 0, 0xfe]));
    // The router's MAC is now cached for backend 5: DSR must still refuse it.
    checkIn({ description: 'dsr to backend 5 again', input: syn(85, 40002), verdict: 'DROP', reasons: { DROP_NO_ROUTE: 1 } });
  });

  it('another interface: dropped until it is in lb_tx_ports, then redirected with its MACs', () => {
    checkIn({
      description: 'dsr to backend 3, out not in lb_tx_ports',
      input: syn(83),
      verdict: 'DROP',
      reasons: { DROP_NO_TX_PORT: 1, CT_NEW: 1 },
    });
    inNetns(ns.path, () => {
      dp.map('lb_tx_ports').update(u32(ifOut), u32(ifOut));
      dp.map('lb_tx_ports').update(u32(ifIn), u32(ifIn));
    });
    checkIn({
      description: 'dsr to backend 3',
      input: syn(83, 40001),
      verdict: 'REDIRECT',
      output: (i) => withMacs(i, backendMac(3), MAC_OUT),
      reasons: { REDIRECT: 1, CT_NEW: 1 },
    });
  });

  it('NAT across interfaces: forward redirected out, the reply redirected back with the client side MAC learned', () => {
    const fwd = checkIn({ description: 'nat to backend 3', input: syn(93, 42000), verdict: 'REDIRECT' });
    const port = fwd.data.readUInt16BE(34);
    expect(fwd.data.subarray(0, 12)).toEqual(Buffer.concat([mac(backendMac(3)), mac(MAC_OUT)]));
    const reply = tcp({ src: '198.18.3.31', dst: SNAT, sport: 80, dport: port, flags: 'SA', smac: backendMac(3), dmac: MAC_OUT });
    const back = tcp({ src: VIP, dst: CLIENT, sport: 93, dport: 42000, flags: 'SA', smac: MAC.lb, dmac: MAC.client });
    checkIn({ description: 'reply on out', input: reply, verdict: 'REDIRECT', output: back, reasons: { REDIRECT: 1 } }, ifOut);
  });

  it('out of an interface with a smaller MTU (1400): dsr and nat answer ICMP fragmentation needed, MTU 1400', async () => {
    await ns.sh('ip link set out mtu 1400');
    try {
      const big = (dport: number, sport: number, ipLen: number) =>
        tcp({ src: CLIENT, dst: VIP, sport, dport, flags: 'PA', payload: 'b'.repeat(ipLen - 40) });
      checkIn({ description: 'dsr, 1400 bytes', input: big(83, 40001, 1400), verdict: 'REDIRECT' });
      const d = big(83, 40001, 1401);
      checkIn({ description: 'dsr, 1401 bytes', input: d, verdict: 'TX', output: tooBig(d, 1400), reasons: { ICMP_TOO_BIG: 1 } });
      checkIn({ description: 'nat, 1400 bytes', input: big(93, 42000, 1400), verdict: 'REDIRECT' });
      const n = big(93, 42000, 1401);
      checkIn({ description: 'nat, 1401 bytes', input: n, verdict: 'TX', output: tooBig(n, 1400), reasons: { ICMP_TOO_BIG: 1 } });
      // out of the ingress interface (XDP_TX), a packet fits: it came in through it
      checkIn({
        description: 'dsr to backend 1, 1500 bytes',
        input: big(81, 40000, 1500),
        verdict: 'TX',
        output: (i) => withMacs(i, backendMac(1), MAC.lb),
      });
    } finally {
      await ns.sh('ip link set out mtu 1500');
    }
  });

  it('a reply to a NAT flow whose forward entry was evicted: an RST to the client (by the FIB), never to another client', async () => {
    // nat to backend 1 (port 91), established: SYN, SYN-ACK, ACK
    const c = { src: CLIENT, dst: VIP, sport: 43000, dport: 91 };
    const port = checkIn({ description: 'SYN', input: tcp({ ...c, flags: 'S' }), verdict: 'TX' }).data.readUInt16BE(34);
    const fromBe = (flags: string, payload = '', seq?: number) =>
      tcp({
        src: '198.18.0.21',
        dst: SNAT,
        sport: 80,
        dport: port,
        flags,
        payload,
        smac: backendMac(1),
        dmac: MAC.lb,
        ...(seq === undefined ? {} : { seq }),
      });
    checkIn({ description: 'SYN-ACK', input: fromBe('SA'), verdict: 'TX' });
    checkIn({ description: 'ACK', input: tcp({ ...c, flags: 'A' }), verdict: 'TX', reasons: { TX: 1, CT_PROMOTED: 1 } });
    expect(dp.deleteCt({ ...c, proto: 'tcp' })).toBe(true); // evicted by established flows (lb_ct full)
    // no neighbour entry for the client yet: dropped as before
    checkIn({
      description: 'the response, client unresolved',
      input: fromBe('PA', 'response', 5000),
      verdict: 'DROP',
      reasons: { DROP_SNAT_STALE: 1 },
    });
    await ns.sh(`ip neigh replace ${CLIENT} lladdr ${MAC.client} dev in nud permanent`);
    const r = checkIn({
      description: 'the response (the backend retransmits)',
      input: fromBe('PA', 'response', 5000),
      verdict: 'TX',
      reasons: { RESET: 1 },
    });
    expectReset(r.data, { src: VIP, dst: CLIENT, sport: 91, dport: 43000, seq: 5000 });
    expect(r.data.subarray(0, 12)).toEqual(Buffer.concat([mac(MAC.client), mac(MAC.lb)]));
    checkIn({
      description: "the backend's RST itself: dropped, never answered",
      input: fromBe('R', '', 5000),
      verdict: 'DROP',
      reasons: { DROP_SNAT_STALE: 1 },
    });
  });

  it('a failed refresh keeps the last good next hop', async () => {
    await ns.sh('ip neigh del 198.18.0.21 dev in');
    checkIn({
      description: 'dsr to backend 1, neighbour gone',
      input: syn(81, 40010),
      verdict: 'TX',
      output: (i) => withMacs(i, backendMac(1), MAC.lb),
    });
    await ns.sh(`ip neigh replace 198.18.0.21 lladdr ${backendMac(1)} dev in nud permanent`);
  });

  it('forwarding disabled on the ingress interface: the FIB refuses (no route) for an uncached backend', async () => {
    await ns.sysctl({ 'net.ipv4.conf.in.forwarding': 0 });
    await ns.sh(`ip neigh replace 198.18.0.22 lladdr ${backendMac(2)} dev in nud permanent`);
    checkIn({ description: 'dsr to backend 2', input: syn(82, 40020), verdict: 'DROP', reasons: { DROP_NO_ROUTE: 1 } });
    await ns.sysctl({ 'net.ipv4.conf.in.forwarding': 1 });
    checkIn({
      description: 'dsr to backend 2 with forwarding on',
      input: syn(82, 40021),
      verdict: 'TX',
      output: (i) => withMacs(i, backendMac(2), MAC.lb),
    });
  });
});

function mac(text: string): Buffer {
  return Buffer.from(text.split(':').map((x) => parseInt(x, 16)));
}
