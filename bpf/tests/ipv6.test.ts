// IPv6 through BPF_PROG_TEST_RUN (issue 8), for each strategy object: DSR and NAT66 with exact
// output frames and independently verified checksums, conntrack keyed by IPv6 5-tuples, extension
// headers (skipped safely, or the packet is left to the kernel), neighbour discovery and other
// ICMPv6 untouched, malformed IPv6 untouched, the hash strategy agreeing with its TypeScript model
// for IPv6 flows, and the next hop of IPv6 backends from the kernel's neighbour table (a netns).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ifNameToIndex, inNetns } from '@xdp-lb/native';
import { buildFrame, labSupport, Netns, parseFrame, truncate } from '@xdp-lb/netlab';
import { hash, pickHash } from '@xdp-lb/strategy-hash';
import { type Flow, flowKey, LB_ADDR_SNAT, LB_ADDR_VIP, LB_CT_CLOSING, LB_CT_OPEN, LB_FWD_DSR, LB_FWD_NAT } from './harness/abi.js';
import { backendMac, backendOf, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check, type Fixture } from './harness/fixtures.js';
import { MAC, tcp, udp, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf ipv6] skipped: ${bpfSkipReason}`);

const VIP = '2001:db8:18::10';
const SNAT = '2001:db8:18::2';
const OTHER = '2001:db8:18::99';
const CLIENT = '2001:db8:1::1';
const CLIENT2 = '2001:db8:1::2';
const BE = '2001:db8:2::1';
const SEED = 0x1234567;

const dsrTo = (id: number) => (input: Buffer) => withMacs(input, backendMac(id), MAC.lb);

/** VIP:80/tcp dsr (backend 1), VIP:443/tcp nat (2, :8443), VIP:5353/udp nat (3), VIP:53/udp dsr (4). */
function setUp(dp: TestDataplane): void {
  dp.addAddr(VIP, LB_ADDR_VIP);
  dp.addAddr(SNAT, LB_ADDR_SNAT);
  dp.setSnatPool(0, SNAT);
  dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 0, fwd: 'dsr' });
  dp.addService({ vip: VIP, port: 443, proto: 'tcp', id: 1, fwd: 'nat', snatFirst: 0, snatCount: 1 });
  dp.addService({ vip: VIP, port: 5353, proto: 'udp', id: 2, fwd: 'nat', snatFirst: 0, snatCount: 1 });
  dp.addService({ vip: VIP, port: 53, proto: 'udp', id: 3, fwd: 'dsr' });
  dp.setBackend(1, { addr: BE, port: 80 });
  dp.setBackend(2, { addr: BE, port: 8443 });
  dp.setBackend(3, { addr: BE, port: 5353 });
  dp.setBackend(4, { addr: BE, port: 53 });
  for (let i = 0; i < 4; i++) dp.setTable(i, [i + 1]);
}

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('IPv6 [%s]', (strategy) => {
  let dp: TestDataplane;

  beforeAll(async () => {
    dp = await TestDataplane.load(strategy, { ct_refresh_ns: 0, hash_seed: SEED });
    setUp(dp);
  });
  afterAll(() => dp?.dispose());

  describe('DSR', () => {
    const flow: Flow = { src: CLIENT, dst: VIP, sport: 41000, dport: 80, proto: 'tcp' };
    const pkt = (flags: string, payload = '', sport = 41000) => tcp({ src: CLIENT, dst: VIP, sport, dport: 80, flags, payload });

    it('a new TCP flow: only the MACs change, conntrack keyed by the IPv6 5-tuple', () => {
      check(dp, { description: 'SYN', input: pkt('S'), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1, CT_NEW: 1 } });
      expect(dp.ct(flow)).toMatchObject({ backendId: 1, svcId: 0, state: LB_CT_OPEN, fwd: LB_FWD_DSR });
      check(dp, { description: 'data', input: pkt('PA', 'GET / HTTP/1.1\r\n\r\n'), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1 } });
      check(dp, { description: 'FIN', input: pkt('FA'), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1 } });
      expect(dp.ct(flow)?.state).toBe(LB_CT_CLOSING);
      check(dp, {
        description: 'a new SYN on the closed tuple (dsr: not looked up in lb_ct, so no CT_EXPIRED)',
        input: pkt('S'),
        verdict: 'TX',
        output: dsrTo(1),
        reasons: { TX: 1, CT_NEW: 1 },
      });
    });

    it('UDP', () => {
      const input = udp({ src: CLIENT, dst: VIP, sport: 41000, dport: 53, payload: 'query' });
      check(dp, { description: 'datagram', input, verdict: 'TX', output: dsrTo(4), reasons: { TX: 1, CT_NEW: 1 } });
      check(dp, { description: 'again', input, verdict: 'TX', output: dsrTo(4), reasons: { TX: 1 } });
    });

    it('VLAN-tagged IPv6: the tag stays', () => {
      check(dp, {
        description: 'tagged SYN',
        input: tcp({ src: CLIENT, dst: VIP, sport: 41001, dport: 80, flags: 'S', vlan: 42 }),
        verdict: 'TX',
        output: dsrTo(1),
      });
    });
  });

  describe('extension headers', () => {
    const opts = (type: 0 | 60) => ({ type, data: [1, 4, 0, 0, 0, 0] }); // PadN
    const routing = (segmentsLeft: number) => ({ type: 43 as const, data: [4, segmentsLeft, 0, 0, 0, 0] });
    const withExt = (sport: number, ext: Parameters<typeof tcp>[0]['ext']) =>
      tcp({ src: CLIENT, dst: VIP, sport, dport: 80, flags: 'S', ext });
    /** A frame whose first extension header (16 bytes of destination options) is turned into AH. */
    const withAh = (): Buffer => {
      const f = withExt(42010, [{ type: 60, data: new Array(14).fill(0) }]);
      f[14 + 6] = 51; // next header of the fixed header: AH
      f[14 + 40 + 1] = 2; // AH length: 16 bytes = (2 + 2) * 4
      return f;
    };
    const fixtures: Fixture[] = [
      {
        description: 'hop-by-hop options: skipped, forwarded',
        input: withExt(42001, [opts(0)]),
        verdict: 'TX',
        output: dsrTo(1),
        reasons: { TX: 1, CT_NEW: 1 },
      },
      {
        description: 'hop-by-hop + destination options',
        input: withExt(42002, [opts(0), opts(60)]),
        verdict: 'TX',
        output: dsrTo(1),
        reasons: { TX: 1, CT_NEW: 1 },
      },
      {
        description: 'a routing header with no segments left (the VIP is the final destination)',
        input: withExt(42003, [routing(0)]),
        verdict: 'TX',
        output: dsrTo(1),
        reasons: { TX: 1, CT_NEW: 1 },
      },
      {
        description: 'a routing header with segments left: the VIP is a waypoint, the kernel decides',
        input: withExt(42004, [routing(1)]),
        verdict: 'PASS',
        reasons: { PASS_UNSUPPORTED: 1 },
      },
      {
        description: 'an atomic fragment (offset 0, no more): whole',
        input: withExt(42005, [{ type: 44, fragOffset: 0, mf: false, id: 99 }]),
        verdict: 'TX',
        output: dsrTo(1),
        reasons: { TX: 1, CT_NEW: 1 },
      },
      { description: 'AH: skipped', input: withAh(), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1, CT_NEW: 1 } },
      {
        description: 'six extension headers: still followed',
        input: withExt(42006, [opts(0), opts(60), opts(60), opts(60), routing(0), opts(60)]),
        verdict: 'TX',
        output: dsrTo(1),
        reasons: { TX: 1, CT_NEW: 1 },
      },
      {
        description: 'seven: more than we follow, untouched',
        input: withExt(42007, [opts(0), opts(60), opts(60), opts(60), opts(60), opts(60), opts(60)]),
        verdict: 'PASS',
        reasons: { PASS_UNSUPPORTED: 1 },
      },
      {
        description: 'an extension header cut short',
        input: truncate(withExt(42008, [opts(0)]), 14 + 40 + 1),
        verdict: 'PASS',
        reasons: { PASS_MALFORMED: 1 },
      },
      {
        description: 'ESP to a VIP: untouched',
        input: buildFrame({
          eth: { src: MAC.client, dst: MAC.lb },
          ipv6: { src: CLIENT, dst: VIP, nextHeader: 50 },
          payload: 'x'.repeat(24),
        }),
        verdict: 'PASS',
        reasons: { PASS_UNSUPPORTED: 1 },
      },
      {
        description: 'no next header to a VIP: untouched',
        input: buildFrame({ eth: { src: MAC.client, dst: MAC.lb }, ipv6: { src: CLIENT, dst: VIP } }),
        verdict: 'PASS',
        reasons: { PASS_UNSUPPORTED: 1 },
      },
    ];
    for (const f of fixtures) it(f.description, () => check(dp, f));

    it('the flow of a packet with extension headers is the same flow without them', () => {
      check(dp, {
        description: 'plain ACK of the hop-by-hop flow',
        input: tcp({ src: CLIENT, dst: VIP, sport: 42001, dport: 80, flags: 'A' }),
        verdict: 'TX',
        output: dsrTo(1),
        reasons: { TX: 1 },
      });
    });
  });

  describe('untouched', () => {
    const icmp6 = (dst: string, type: number, payload: number[] = new Array(20).fill(0)) =>
      buildFrame({ eth: { src: MAC.client, dst: MAC.lb }, ipv6: { src: CLIENT, dst, hopLimit: 255 }, icmp6: { type, rest: 0 }, payload });
    const syn = tcp({ src: CLIENT, dst: VIP, sport: 43000, dport: 80, flags: 'S' });
    const fixtures: Fixture[] = [
      {
        description: 'neighbour solicitation to the VIP (unicast, NUD)',
        input: icmp6(VIP, 135),
        verdict: 'PASS',
        reasons: { PASS_UNSUPPORTED: 1 },
      },
      {
        description: 'neighbour solicitation to the solicited-node group',
        input: icmp6('ff02::1:ff00:10', 135),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      {
        description: 'neighbour advertisement to the SNAT address',
        input: icmp6(SNAT, 136),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      { description: 'router solicitation', input: icmp6('ff02::2', 133), verdict: 'PASS', reasons: { PASS_NOT_OURS: 1 } },
      { description: 'router advertisement', input: icmp6('ff02::1', 134), verdict: 'PASS', reasons: { PASS_NOT_OURS: 1 } },
      { description: 'echo request to a VIP (icmp_echo off)', input: icmp6(VIP, 128), verdict: 'PASS', reasons: { PASS_UNSUPPORTED: 1 } },
      {
        description: 'TCP to an IPv6 address that is not ours',
        input: tcp({ src: CLIENT, dst: OTHER, sport: 43000, dport: 80, flags: 'S' }),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      {
        description: "a VIP's other port",
        input: tcp({ src: CLIENT, dst: VIP, sport: 43000, dport: 22, flags: 'S' }),
        verdict: 'PASS',
        reasons: { PASS_UNSUPPORTED: 1 },
      },
      {
        description: 'SSH to the SNAT address (outside the NAT range)',
        input: tcp({ src: CLIENT, dst: SNAT, sport: 43000, dport: 22, flags: 'S' }),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      {
        description: 'UDP with checksum 0 (forbidden over IPv6)',
        input: udp({ src: CLIENT, dst: VIP, sport: 43000, dport: 53, noChecksum: true }),
        verdict: 'PASS',
        reasons: { PASS_MALFORMED: 1 },
      },
      {
        description: 'payload length past the frame',
        input: mutate(syn, (b) => b.writeUInt16BE(b.readUInt16BE(18) + 1, 18)),
        verdict: 'PASS',
        reasons: { PASS_MALFORMED: 1 },
      },
      {
        description: 'version 4 under the IPv6 EtherType',
        input: mutate(syn, (b) => (b[14] = (4 << 4) | (b[14]! & 0x0f))),
        verdict: 'PASS',
        reasons: { PASS_MALFORMED: 1 },
      },
      { description: 'cut inside the IPv6 header', input: truncate(syn, 14 + 30), verdict: 'PASS', reasons: { PASS_MALFORMED: 1 } },
      { description: 'cut inside the TCP header', input: truncate(syn, 14 + 40 + 10), verdict: 'PASS', reasons: { PASS_MALFORMED: 1 } },
    ];
    for (const f of fixtures) it(f.description, () => check(dp, f));
  });

  describe('NAT66', () => {
    const client = { src: CLIENT, dst: VIP, sport: 44000, dport: 443 };
    const clientFlow: Flow = { ...client, proto: 'tcp' };
    let P = 0;
    const toBackend =
      (port: number, flags: string, payload = '') =>
      () =>
        tcp({ src: SNAT, dst: BE, sport: port, dport: 8443, flags, payload, smac: MAC.lb, dmac: backendMac(2) });
    const reply = (port: number, flags: string, payload = '') =>
      tcp({ src: BE, dst: SNAT, sport: 8443, dport: port, flags, payload, smac: backendMac(2), dmac: MAC.lb });
    const toClient = (sport: number, flags: string, payload = '', dst = CLIENT, dmac: string = MAC.client) =>
      tcp({ src: VIP, dst, sport: 443, dport: sport, flags, payload, smac: MAC.lb, dmac });

    it('forward: dst -> backend, src -> SNAT address:port, TCP checksum (pseudo-header) patched', () => {
      const r = check(dp, {
        description: 'SYN',
        input: tcp({ ...client, flags: 'S', payload: 'x' }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1 },
      });
      P = parseFrame(r.data).tcp!.sport;
      expect(P).toBeGreaterThanOrEqual(20000);
      expect(P).toBeLessThanOrEqual(29999);
      check(dp, {
        description: 'SYN, exact frame',
        input: tcp({ ...client, flags: 'S', payload: 'x' }),
        verdict: 'TX',
        output: toBackend(P, 'S', 'x'),
      });
      expect(dp.ct(clientFlow)).toMatchObject({ backendId: 2, fwd: LB_FWD_NAT, snatPort: P });
      expect(dp.snat({ src: BE, dst: SNAT, sport: 8443, dport: P, proto: 'tcp' })).toMatchObject({ sport: 44000, dport: 443 });
      check(dp, {
        description: 'data',
        input: tcp({ ...client, flags: 'PA', payload: 'y'.repeat(1000) }),
        verdict: 'TX',
        output: toBackend(P, 'PA', 'y'.repeat(1000)),
        reasons: { TX: 1 },
      });
    });

    it('reverse: src -> VIP:443, dst -> client', () => {
      check(dp, { description: 'SYN-ACK', input: reply(P, 'SA'), verdict: 'TX', output: toClient(44000, 'SA'), reasons: { TX: 1 } });
      check(dp, {
        description: 'data',
        input: reply(P, 'PA', 'HTTP/1.1 200 OK\r\n\r\n'),
        verdict: 'TX',
        output: toClient(44000, 'PA', 'HTTP/1.1 200 OK\r\n\r\n'),
        reasons: { TX: 1 },
      });
    });

    it('extension headers stay in place, addresses and checksum are rewritten', () => {
      const ext = [{ type: 0 as const, data: [1, 4, 0, 0, 0, 0] }];
      check(dp, {
        description: 'hop-by-hop data packet',
        input: tcp({ ...client, flags: 'PA', payload: 'ext', ext }),
        verdict: 'TX',
        output: () =>
          tcp({ src: SNAT, dst: BE, sport: P, dport: 8443, flags: 'PA', payload: 'ext', ext, smac: MAC.lb, dmac: backendMac(2) }),
        reasons: { TX: 1 },
      });
    });

    it('two clients with the same source port get their own ports; replies go to the right one', () => {
      const a = { src: CLIENT, dst: VIP, sport: 45000, dport: 443 };
      const b = { src: CLIENT2, dst: VIP, sport: 45000, dport: 443 };
      const pa = parseFrame(check(dp, { description: 'A', input: tcp({ ...a, flags: 'S' }), verdict: 'TX' }).data).tcp!.sport;
      const pb = parseFrame(
        check(dp, { description: 'B', input: tcp({ ...b, flags: 'S', smac: '02:00:00:00:00:02' }), verdict: 'TX' }).data,
      ).tcp!.sport;
      expect(pa).not.toBe(pb);
      check(dp, {
        description: 'to B',
        input: reply(pb, 'SA', 'B'),
        verdict: 'TX',
        output: toClient(45000, 'SA', 'B', CLIENT2, '02:00:00:00:00:02'),
      });
      check(dp, { description: 'to A', input: reply(pa, 'SA', 'A'), verdict: 'TX', output: toClient(45000, 'SA', 'A') });
    });

    it('UDP both ways', () => {
      const q = { src: CLIENT, dst: VIP, sport: 46000, dport: 5353 };
      const r = check(dp, {
        description: 'query',
        input: udp({ ...q, payload: 'question' }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1 },
      });
      const port = parseFrame(r.data).udp!.sport;
      check(dp, {
        description: 'query, exact',
        input: udp({ ...q, payload: 'question' }),
        verdict: 'TX',
        output: udp({ src: SNAT, dst: BE, sport: port, dport: 5353, payload: 'question', smac: MAC.lb, dmac: backendMac(3) }),
      });
      check(dp, {
        description: 'answer',
        input: udp({ src: BE, dst: SNAT, sport: 5353, dport: port, payload: 'answer', smac: backendMac(3), dmac: MAC.lb }),
        verdict: 'TX',
        output: udp({ src: VIP, dst: CLIENT, sport: 5353, dport: 46000, payload: 'answer', smac: MAC.lb, dmac: MAC.client }),
      });
    });

    it('a reply to an unknown port in the range is passed untouched', () => {
      check(dp, { description: 'unknown port', input: reply(29999, 'SA'), verdict: 'PASS', reasons: { PASS_SNAT_UNKNOWN: 1 } });
    });

    it('an IPv4 backend behind an IPv6 VIP is refused (NAT46 is not supported; core keeps families equal)', () => {
      dp.addService({ vip: VIP, port: 8080, proto: 'tcp', id: 9, fwd: 'nat', snatFirst: 0, snatCount: 1 });
      dp.setBackend(9, { addr: '198.18.2.9', port: 80 });
      dp.setTable(9, [9]);
      check(dp, {
        description: 'SYN',
        input: tcp({ src: CLIENT, dst: VIP, sport: 47000, dport: 8080, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_ERROR: 1 },
      });
    });
  });

  // Only hash has a model flow for flow: the case exists for it alone (not a skip).
  if (strategy === 'hash')
    it('the hash strategy picks what its TypeScript model picks, for IPv6 flows', () => {
      dp.addService({ vip: VIP, port: 81, proto: 'tcp', id: 5, fwd: 'dsr' });
      const ids = [11, 12, 13, 14, 15];
      for (const id of ids) dp.setBackend(id, { addr: `2001:db8:2::${id}`, port: 81 });
      const table = hash.buildTable(
        ids.map((id) => ({ id, key: `[2001:db8:2::${id}]:81`, weight: 1 })),
        hash.optionsSchema.parse({}) as never,
      );
      dp.setTable(5, table);
      let agree = 0;
      for (let i = 0; i < 400; i++) {
        const f: Flow = {
          src: `2001:db8:1:${((i * 7919) % 65536).toString(16)}::${(i + 1).toString(16)}`,
          dst: VIP,
          sport: 1024 + i * 13,
          dport: 81,
          proto: 'tcp',
        };
        const got = backendOf(dp.run(tcp({ src: f.src, dst: VIP, sport: f.sport, dport: 81, flags: 'S' })).data);
        if (got === pickHash(table, flowKey(f), SEED)) agree++;
      }
      expect(agree).toBe(400);
    });
});

// ---------------------------------------------------------------------------------------------
// Next hops of IPv6 backends from the kernel (bpf_fib_lookup, AF_INET6), in a throwaway namespace:
//   "in" 2001:db8:18::2/64 (MAC 02:00:00:00:00:0b): backend ::21 resolved, ::22 not; a router
//   fe80::fe / 2001:db8:18::fe (resolved) to 2001:db8:5::/64 where backend 2001:db8:5::1 lives.

const support = labSupport();
const fibSkip = bpfSkipReason ?? (support.ok ? null : support.reason!);

describe.skipIf(fibSkip !== null)('IPv6 next hop [hash]', () => {
  let ns: Netns;
  let dp: TestDataplane;
  let ifIn = 0;
  const checkIn = (f: Fixture) => inNetns(ns.path, () => check(dp, { ...f, ingressIfindex: ifIn }));
  const syn = (dport: number, sport = 40000) => tcp({ src: '2001:db8:18::100', dst: VIP, sport, dport, flags: 'S' });

  beforeAll(async () => {
    ns = await Netns.createUnique('bpffib6');
    await ns.sh(`
      ip link add in type veth peer name in-peer
      ip link set in address ${MAC.lb}
      ip link set in up
      ip link set in-peer up
      ip -6 addr add 2001:db8:18::2/64 dev in nodad
      ip -6 neigh replace 2001:db8:18::21 lladdr ${backendMac(1)} dev in nud permanent
      ip -6 neigh replace 2001:db8:18::fe lladdr 02:00:00:00:00:fe dev in nud permanent
      ip -6 route add 2001:db8:5::/64 via 2001:db8:18::fe dev in
    `);
    await ns.sysctl({ 'net.ipv6.conf.in.forwarding': 1 });
    ifIn = inNetns(ns.path, () => ifNameToIndex('in'));
    dp = await TestDataplane.load('hash', { nh_refresh_ns: 0 });
    dp.addAddr(VIP, LB_ADDR_VIP);
    dp.addAddr(SNAT, LB_ADDR_SNAT);
    dp.setSnatPool(0, SNAT);
    const backends: Array<[number, string]> = [
      [1, '2001:db8:18::21'],
      [2, '2001:db8:18::22'],
      [3, '2001:db8:5::1'],
    ];
    backends.forEach(([id, ip], i) => {
      dp.setBackend(id, { addr: ip, port: 80, mac: null });
      dp.addService({ vip: VIP, port: 81 + i, proto: 'tcp', id: i, fwd: 'dsr' });
      dp.addService({ vip: VIP, port: 91 + i, proto: 'tcp', id: 10 + i, fwd: 'nat', snatFirst: 0, snatCount: 1 });
      dp.setTable(i, [id]);
      dp.setTable(10 + i, [id]);
    });
  });
  afterAll(() => {
    dp?.dispose();
    ns?.deleteSync();
  });

  it('a resolved on-link backend: its MAC from the neighbour table', () => {
    checkIn({ description: 'dsr to ::21', input: syn(81), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1, CT_NEW: 1 } });
    expect(dp.nextHop(1).ifindex).toBe(ifIn);
  });

  it('an unresolved neighbour: dropped and counted', () => {
    checkIn({ description: 'dsr to ::22', input: syn(82), verdict: 'DROP', reasons: { DROP_NO_NEIGH: 1 } });
  });

  it('a backend behind a router: refused in DSR, reached through the router in NAT66', () => {
    checkIn({ description: 'dsr to 2001:db8:5::1', input: syn(83), verdict: 'DROP', reasons: { DROP_NO_ROUTE: 1 } });
    const r = checkIn({ description: 'nat to 2001:db8:5::1', input: syn(93), verdict: 'TX', reasons: { TX: 1, CT_NEW: 1 } });
    expect(parseFrame(r.data).eth.dst).toBe('02:00:00:00:00:fe');
    expect(parseFrame(r.data).ipv6).toMatchObject({ src: SNAT, dst: '2001:db8:5::1' });
  });

  it('IPv6 forwarding off on the ingress interface: the FIB refuses (no route)', async () => {
    await ns.sysctl({ 'net.ipv6.conf.in.forwarding': 0 });
    await ns.sh(`ip -6 neigh replace 2001:db8:18::22 lladdr ${backendMac(2)} dev in nud permanent`);
    checkIn({ description: 'dsr to ::22', input: syn(82, 40001), verdict: 'DROP', reasons: { DROP_NO_ROUTE: 1 } });
    await ns.sysctl({ 'net.ipv6.conf.in.forwarding': 1 });
    checkIn({ description: 'dsr to ::22, forwarding on', input: syn(82, 40002), verdict: 'TX', output: dsrTo(2) });
  });
});

function mutate(frame: Buffer, fn: (b: Buffer) => void): Buffer {
  const b = Buffer.from(frame);
  fn(b);
  return b;
}
