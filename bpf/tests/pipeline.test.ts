// The pipeline through BPF_PROG_TEST_RUN, for each strategy object: what is passed untouched
// (foreign traffic, other protocols, malformed and truncated frames), the fragment policy, and DSR
// forwarding of TCP and UDP flows with conntrack (later packets, FIN then SYN, draining, removal).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFrame, truncate, truncateAt } from '@xdp-lb/netlab';
import {
  LB_ADDR_SNAT,
  LB_ADDR_VIP,
  LB_BE_ACTIVE,
  LB_BE_DRAINING,
  LB_BE_EMPTY,
  LB_CT_CLOSING,
  LB_CT_OPEN,
  LB_FWD_DSR,
} from './harness/abi.js';
import { backendMac, backendOf, bpfSkipReason, itLbCtOnly, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check, type Fixture } from './harness/fixtures.js';
import { MAC, tcp, udp, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf pipeline] skipped: ${bpfSkipReason}`);

const VIP = '198.18.0.10';
const HOST = '198.18.0.2'; // the LB's own address, also a SNAT address
const OTHER = '198.18.0.99';
const CLIENT = '198.18.1.1';

/** DSR output: only the MACs change (destination: the backend, source: the LB). */
const dsrTo = (id: number) => (input: Buffer) => withMacs(input, backendMac(id), MAC.lb);

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('pipeline [%s]', (strategy) => {
  let dp: TestDataplane;

  beforeAll(async () => {
    dp = await TestDataplane.load(strategy, { ct_refresh_ns: 0 });
    dp.addAddr(VIP, LB_ADDR_VIP);
    dp.addAddr(HOST, LB_ADDR_SNAT);
    dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 0, fwd: 'dsr' });
    dp.addService({ vip: VIP, port: 53, proto: 'udp', id: 1, fwd: 'dsr' });
    dp.addService({ vip: VIP, port: 8000, proto: 'tcp', id: 2, fwd: 'dsr' }); // empty table
    dp.setBackend(1, { addr: '198.18.2.1', port: 80 });
    dp.setBackend(2, { addr: '198.18.2.2', port: 80 });
    dp.setBackend(3, { addr: '198.18.2.3', port: 53 });
    dp.setTable(0, [1]);
    dp.setTable(1, [3]);
    dp.setTable(2, []);
  });
  afterAll(() => dp?.dispose());

  it('stamps its strategy id in rodata', () => {
    expect(dp.variable('lb_strategy').toString('latin1').replace(/\0+$/, '')).toBe(strategy);
    // the single form: its one fragment is strategy 0 of the program (bpf/lib/dispatch.h)
    expect(dp.variable('lb_strat_0').toString('latin1').replace(/\0+$/, '')).toBe(strategy);
    expect(dp.variable('layout_version').readUInt32LE(0)).toBe(7);
  });

  describe('passed untouched', () => {
    const syn = tcp({ src: CLIENT, dst: VIP, sport: 40000, dport: 80, flags: 'S' });
    const fixtures: Fixture[] = [
      {
        description: 'TCP to an address that is not ours',
        input: tcp({ src: CLIENT, dst: OTHER, sport: 40000, dport: 22, flags: 'S' }),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      {
        description: "a VIP's other port",
        input: tcp({ src: CLIENT, dst: VIP, sport: 40000, dport: 22, flags: 'S' }),
        verdict: 'PASS',
        reasons: { PASS_UNSUPPORTED: 1 },
      },
      {
        description: "UDP to a VIP's TCP-only port",
        input: udp({ src: CLIENT, dst: VIP, sport: 40000, dport: 80 }),
        verdict: 'PASS',
        reasons: { PASS_UNSUPPORTED: 1 },
      },
      {
        description: 'ARP request for the VIP',
        input: buildFrame({ eth: { src: MAC.client }, arp: { spa: CLIENT, tpa: VIP } }),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      {
        description: 'IPv6 to an address that is not ours',
        input: buildFrame({
          eth: { src: MAC.client, dst: MAC.lb },
          ipv6: { src: '2001:db8::1', dst: '2001:db8::10' },
          tcp: { sport: 40000, dport: 80, flags: 'S' },
        }),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      {
        description: 'ICMP echo to a VIP',
        input: buildFrame({
          eth: { src: MAC.client, dst: MAC.lb },
          ipv4: { src: CLIENT, dst: VIP },
          icmp: { type: 8, id: 1, seq: 1 },
          payload: 'ping',
        }),
        verdict: 'PASS',
        reasons: { PASS_UNSUPPORTED: 1 },
      },
      {
        description: 'ICMP to the host',
        input: buildFrame({ eth: { src: MAC.client, dst: MAC.lb }, ipv4: { src: CLIENT, dst: OTHER }, icmp: { type: 8, id: 1, seq: 1 } }),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      {
        description: 'SSH to the LB (a SNAT address), port outside the NAT range',
        input: tcp({ src: CLIENT, dst: HOST, sport: 40000, dport: 22, flags: 'S' }),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      {
        description: 'two VLAN tags (only one is parsed)',
        input: buildFrame({
          eth: { src: MAC.client, dst: MAC.lb, type: 0x88a8 },
          vlan: { id: 10, type: 0x8100 },
          payload: [0, 20, 0x08, 0x00, 0x45, 0, 0, 20],
        }),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      // malformed: the kernel decides
      { description: 'IHL 4 (< 5)', input: mutate(syn, (b) => (b[14] = 0x44)), verdict: 'PASS', reasons: { PASS_MALFORMED: 1 } },
      {
        description: 'IHL 15 with a 20-byte header',
        input: mutate(syn, (b) => (b[14] = 0x4f)),
        verdict: 'PASS',
        reasons: { PASS_MALFORMED: 1 },
      },
      {
        description: 'IP version 5 under the IPv4 EtherType',
        input: mutate(syn, (b) => (b[14] = 0x55)),
        verdict: 'PASS',
        reasons: { PASS_MALFORMED: 1 },
      },
      {
        description: 'IPv4 total length past the frame',
        input: mutate(syn, (b) => b.writeUInt16BE(b.readUInt16BE(16) + 1, 16)),
        verdict: 'PASS',
        reasons: { PASS_MALFORMED: 1 },
      },
      {
        description: 'IPv4 total length below the header length',
        input: mutate(syn, (b) => b.writeUInt16BE(19, 16)),
        verdict: 'PASS',
        reasons: { PASS_MALFORMED: 1 },
      },
      {
        description: 'TCP data offset 4 (< 5)',
        input: mutate(syn, (b) => (b[14 + 20 + 12] = 4 << 4)),
        verdict: 'PASS',
        reasons: { PASS_MALFORMED: 1 },
      },
      {
        description: 'TCP data offset past the frame',
        input: mutate(syn, (b) => (b[14 + 20 + 12] = 15 << 4)),
        verdict: 'PASS',
        reasons: { PASS_MALFORMED: 1 },
      },
    ];
    for (const f of fixtures) it(f.description, () => check(dp, f));

    // Cut at every header boundary and inside every header (BPF_PROG_TEST_RUN needs >= 14 bytes).
    const tcpFrame = tcp({ src: CLIENT, dst: VIP, sport: 40001, dport: 80, flags: 'PA', payload: 'hello' });
    const udpFrame = udp({ src: CLIENT, dst: VIP, sport: 40001, dport: 53, payload: 'hello' });
    const vlanFrame = tcp({ src: CLIENT, dst: VIP, sport: 40001, dport: 80, flags: 'S', vlan: 7 });
    const cuts: Array<[string, Buffer]> = [
      ['TCP: after Ethernet', truncateAt(tcpFrame, 'ipv4')],
      ['TCP: inside the IPv4 header', truncateAt(tcpFrame, 'ipv4', 10)],
      ['TCP: after IPv4', truncateAt(tcpFrame, 'tcp')],
      ['TCP: inside the TCP header', truncateAt(tcpFrame, 'tcp', 12)],
      ['TCP: after the TCP header (payload missing)', truncateAt(tcpFrame, 'payload')],
      ['TCP: one payload byte missing', truncate(tcpFrame, tcpFrame.length - 1)],
      ['UDP: after IPv4', truncateAt(udpFrame, 'udp')],
      ['UDP: inside the UDP header', truncateAt(udpFrame, 'udp', 4)],
      ['UDP: after the UDP header (payload missing)', truncateAt(udpFrame, 'payload')],
      ['VLAN: inside the tag', truncate(vlanFrame, 16)],
      ['VLAN: after the tag', truncateAt(vlanFrame, 'ipv4')],
    ];
    for (const [what, input] of cuts) {
      it(`truncated ${what}: untouched`, () => check(dp, { description: what, input, verdict: 'PASS', reasons: { PASS_MALFORMED: 1 } }));
    }
  });

  describe('fragments (policy: every fragment follows its first fragment; details in frag.test.ts)', () => {
    const frag = (dst: string, dport: number, id: number, mf: boolean, fragOffset: number) =>
      buildFrame({
        eth: { src: MAC.client, dst: MAC.lb },
        ipv4: { src: CLIENT, dst, id, mf, fragOffset },
        udp: { sport: 40002, dport },
        payload: 'x'.repeat(32),
      });
    const fixtures: Fixture[] = [
      {
        description: 'first fragment to a service: forwarded like the flow',
        input: frag(VIP, 53, 7, true, 0),
        verdict: 'TX',
        output: dsrTo(3),
        reasons: { TX: 1, CT_NEW: 1, FRAGMENT: 1 },
      },
      {
        description: 'its later fragment: the same backend',
        input: frag(VIP, 53, 7, false, 5),
        verdict: 'TX',
        output: dsrTo(3),
        reasons: { TX: 1, FRAGMENT: 1 },
      },
      {
        description: 'a later fragment to a VIP without its first fragment: dropped, never guessed',
        input: frag(VIP, 53, 8, false, 5),
        verdict: 'DROP',
        reasons: { DROP_FRAGMENT: 1 },
      },
      {
        description: "first fragment to a VIP's other port: untouched",
        input: frag(VIP, 9999, 9, true, 0),
        verdict: 'PASS',
        reasons: { PASS_UNSUPPORTED: 1 },
      },
      {
        description: 'and its later fragment: untouched too',
        input: frag(VIP, 9999, 9, false, 5),
        verdict: 'PASS',
        reasons: { PASS_UNSUPPORTED: 1 },
      },
      {
        description: 'fragment to a SNAT address (the host): untouched',
        input: frag(HOST, 20001, 10, false, 4),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      {
        description: 'fragment to a foreign address: untouched',
        input: frag(OTHER, 53, 11, true, 0),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
    ];
    for (const f of fixtures) it(f.description, () => check(dp, f));
  });

  describe('DSR', () => {
    const flow = { src: CLIENT, dst: VIP, sport: 41000, dport: 80, proto: 'tcp' as const };
    const pkt = (flags: string, payload = '') => tcp({ src: CLIENT, dst: VIP, sport: 41000, dport: 80, flags, payload });

    it('new TCP flow: only the MACs change, conntrack records it', () => {
      check(dp, { description: 'SYN', input: pkt('S'), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1, CT_NEW: 1 } });
      expect(dp.ct(flow)).toMatchObject({ backendId: 1, backendGen: 1, svcId: 0, state: LB_CT_OPEN, fwd: LB_FWD_DSR, snatLease: 0 });
    });

    itLbCtOnly('its late SYN makes a half-open lb_ct_syn entry; with the flow table it goes by the open slot (flowtab.test.ts)')(
      'later packets stick to the backend, also after the table changes',
      () => {
        dp.setTable(0, [2]);
        check(dp, { description: 'ACK', input: pkt('A'), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1 } });
        check(dp, { description: 'data', input: pkt('PA', 'GET / HTTP/1.1\r\n\r\n'), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1 } });
        // A pure SYN is not looked up in lb_ct (lb.bpf.h lb_vip): it gets a half-open entry by the
        // table; the connection's own packets keep its lb_ct entry.
        check(dp, {
          description: 'a late duplicate SYN on an open entry: by the table, half-open',
          input: pkt('S'),
          verdict: 'TX',
          output: dsrTo(2),
          reasons: { TX: 1, CT_NEW: 1 },
        });
        check(dp, {
          description: 'data after it: still backend 1',
          input: pkt('PA', 'more'),
          verdict: 'TX',
          output: dsrTo(1),
          reasons: { TX: 1 },
        });
        dp.ageHalfOpen(flow, 1_000_000_000n); // a real late duplicate comes more than a clock tick before the close
        check(dp, {
          description: 'a new flow takes the new table',
          input: tcp({ src: CLIENT, dst: VIP, sport: 41001, dport: 80, flags: 'S' }),
          verdict: 'TX',
          output: dsrTo(2),
        });
      },
    );

    itLbCtOnly("its SYN on a closing lb_ct entry counts no CT_EXPIRED; the flow table's in-place replacement does (flowtab.test.ts)")(
      'FIN closes the entry; a new SYN on the same tuple is a new flow and selects again',
      () => {
        check(dp, { description: 'FIN', input: pkt('FA'), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1 } });
        expect(dp.ct(flow)?.state).toBe(LB_CT_CLOSING);
        check(dp, { description: 'last ACK of the closing flow', input: pkt('A'), verdict: 'TX', output: dsrTo(1), reasons: { TX: 1 } });
        // (the duplicate's half-open entry predates the close: not a new connection, lb_ct_reused)
        check(dp, {
          description: "new SYN: the duplicate's live half-open entry (the table's choice too)",
          input: pkt('S'),
          verdict: 'TX',
          output: dsrTo(2),
          reasons: { TX: 1 },
        });
        check(dp, {
          description: 'its ACK: promoted over the closing entry',
          input: pkt('A'),
          verdict: 'TX',
          output: dsrTo(2),
          reasons: { TX: 1 },
        });
        expect(dp.ct(flow)).toMatchObject({ backendId: 2, state: LB_CT_OPEN });
        dp.setTable(0, [1]);
      },
    );

    it('RST closes the entry too', () => {
      const rstFlow = { ...flow, sport: 41002 };
      check(dp, { description: 'SYN', input: tcp({ ...rstFlow, flags: 'S' }), verdict: 'TX', output: dsrTo(1) });
      check(dp, { description: 'RST', input: tcp({ ...rstFlow, flags: 'R' }), verdict: 'TX', output: dsrTo(1) });
      expect(dp.ct(rstFlow)?.state).toBe(LB_CT_CLOSING);
    });

    it('a draining backend keeps its flows; a removed one (EMPTY or a new generation) loses them', () => {
      const f2 = { ...flow, sport: 41003 };
      const f3 = { ...flow, sport: 41004 };
      check(dp, { description: 'flow A on backend 1', input: tcp({ ...f2, flags: 'S' }), verdict: 'TX', output: dsrTo(1) });
      check(dp, { description: 'flow B on backend 1', input: tcp({ ...f3, flags: 'S' }), verdict: 'TX', output: dsrTo(1) });
      dp.setBackend(1, { addr: '198.18.2.1', port: 80, state: LB_BE_DRAINING });
      dp.setTable(0, [2]);
      check(dp, {
        description: 'flow A continues on the draining backend',
        input: tcp({ ...f2, flags: 'A' }),
        verdict: 'TX',
        output: dsrTo(1),
        reasons: { TX: 1 },
      });
      check(dp, { description: 'new flows avoid it', input: tcp({ ...flow, sport: 41005, flags: 'S' }), verdict: 'TX', output: dsrTo(2) });
      dp.setBackend(1, { addr: '198.18.2.1', port: 80, state: LB_BE_ACTIVE, gen: 2 });
      check(dp, {
        description: 'id 1 given to a new backend (gen 2): flow A is re-balanced',
        input: tcp({ ...f2, flags: 'A' }),
        verdict: 'TX',
        output: dsrTo(2),
        reasons: { TX: 1, CT_NEW: 1, CT_RESELECT: 1 },
      });
      dp.setBackend(1, { addr: '198.18.2.1', port: 80, state: LB_BE_EMPTY, gen: 2 });
      check(dp, {
        description: 'backend EMPTY: flow B is re-balanced',
        input: tcp({ ...f3, flags: 'A' }),
        verdict: 'TX',
        output: dsrTo(2),
        reasons: { TX: 1, CT_NEW: 1, CT_RESELECT: 1 },
      });
      dp.setBackend(1, { addr: '198.18.2.1', port: 80, state: LB_BE_ACTIVE, gen: 3 });
      dp.setTable(0, [1]);
    });

    it('a selected backend that is not ACTIVE refuses the new flow', () => {
      dp.setBackend(4, { addr: '198.18.2.4', port: 80, state: LB_BE_DRAINING });
      dp.setTable(0, [4]);
      check(dp, {
        description: 'SYN',
        input: tcp({ ...flow, sport: 41006, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_NO_BACKEND: 1 },
      });
      dp.setTable(0, [1]);
    });

    it('UDP', () => {
      const input = udp({ src: CLIENT, dst: VIP, sport: 41000, dport: 53, payload: 'query' });
      check(dp, { description: 'datagram', input, verdict: 'TX', output: dsrTo(3), reasons: { TX: 1, CT_NEW: 1 } });
      check(dp, { description: 'next datagram', input, verdict: 'TX', output: dsrTo(3), reasons: { TX: 1 } });
      check(dp, {
        description: 'checksum 0',
        input: udp({ src: CLIENT, dst: VIP, sport: 41001, dport: 53, noChecksum: true }),
        verdict: 'TX',
        output: dsrTo(3),
      });
    });

    it('VLAN-tagged: the tag stays', () => {
      const input = tcp({ src: CLIENT, dst: VIP, sport: 41010, dport: 80, flags: 'S', vlan: 100 });
      check(dp, { description: 'tagged SYN', input, verdict: 'TX', output: dsrTo(1) });
    });

    it('IPv4 options and TCP options', () => {
      const input = tcp({
        src: CLIENT,
        dst: VIP,
        sport: 41011,
        dport: 80,
        flags: 'S',
        ipOptions: [0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x01], // router alert + NOPs
        tcpOptions: [
          { kind: 'mss', value: 1460 },
          { kind: 'sackPermitted' },
          { kind: 'timestamp', value: 1, echo: 0 },
          { kind: 'nop' },
          { kind: 'windowScale', shift: 7 },
        ],
      });
      check(dp, { description: 'options', input, verdict: 'TX', output: dsrTo(1) });
    });

    it('a service without backends drops (no backend)', () => {
      check(dp, {
        description: 'SYN',
        input: tcp({ src: CLIENT, dst: VIP, sport: 41012, dport: 8000, flags: 'S' }),
        verdict: 'DROP',
        reasons: { DROP_NO_BACKEND: 1 },
      });
    });

    it('a removed service: new flows pass untouched', () => {
      dp.removeService(VIP, 53, 'udp');
      check(dp, {
        description: 'UDP to the removed service',
        input: udp({ src: CLIENT, dst: VIP, sport: 41099, dport: 53 }),
        verdict: 'PASS',
        reasons: { PASS_UNSUPPORTED: 1 },
      });
      dp.addService({ vip: VIP, port: 53, proto: 'udp', id: 1, fwd: 'dsr' });
    });

    it('counts per service and per backend', () => {
      const before = { svc: dp.svcStats(0), be: dp.beStats(1) };
      const input = tcp({ src: CLIENT, dst: VIP, sport: 41020, dport: 80, flags: 'S', payload: 'abc' });
      dp.run(input);
      dp.run(input);
      const svc = dp.svcStats(0);
      const be = dp.beStats(1);
      expect(svc.packets - before.svc.packets).toBe(2n);
      expect(svc.newFlows - before.svc.newFlows).toBe(1n);
      expect(svc.bytes - before.svc.bytes).toBe(BigInt(2 * input.length));
      expect(be.packets - before.be.packets).toBe(2n);
      expect(backendOf(dp.run(input).data)).toBe(1);
    });
  });
});

function mutate(frame: Buffer, fn: (b: Buffer) => void): Buffer {
  const b = Buffer.from(frame);
  fn(b);
  return b;
}
