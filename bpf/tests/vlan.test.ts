// VLAN tags through BPF_PROG_TEST_RUN (issue 15 #4), for each strategy object: a frame never changes
// VLAN through the LB. One tag (802.1Q, or an 802.1ad S-tag alone) is parsed and kept byte for byte,
// priority bits included, in dsr and in nat both ways; two tags (QinQ, or 802.1Q in 802.1Q) are not
// parsed: passed untouched, even with a packet for a VIP service inside. (That the kernel hands the
// program the tags at all is deploy's job: lifecycle/link-prep.ts, tested in veth-edges.e2e.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFrame, buildIpPacket, parseFrame } from '@xdp-lb/netlab';
import { LB_ADDR_SNAT, LB_ADDR_VIP } from './harness/abi.js';
import { backendMac, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check, type Fixture } from './harness/fixtures.js';
import { MAC, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf vlan] skipped: ${bpfSkipReason}`);

const VIP = '198.18.0.10';
const SNAT = '198.18.0.2';
const CLIENT = '198.18.1.1';
const BE = '198.18.2.1';

const syn = (dport: number, sport: number) => ({
  ipv4: { src: CLIENT, dst: VIP, id: 9 },
  tcp: { sport, dport, flags: 'S' as const, seq: 100 },
});

/** Two tags: outer `outer` (TPID), then 802.1Q `inner`, then the IPv4 packet. */
function twoTags(outer: number, outerId: number, innerId: number, sport: number): Buffer {
  const inner = Buffer.alloc(4);
  inner.writeUInt16BE(innerId, 0);
  inner.writeUInt16BE(0x0800, 2);
  return buildFrame({
    eth: { src: MAC.client, dst: MAC.lb, type: outer },
    vlan: { id: outerId, type: 0x8100 },
    payload: Buffer.concat([inner, buildIpPacket(syn(80, sport))]),
  });
}

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('VLAN [%s]', (strategy) => {
  let dp: TestDataplane;

  beforeAll(async () => {
    dp = await TestDataplane.load(strategy, { ct_refresh_ns: 0 });
    dp.addAddr(VIP, LB_ADDR_VIP);
    dp.addAddr(SNAT, LB_ADDR_SNAT);
    dp.setSnatPool(0, SNAT);
    dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 0, fwd: 'dsr' });
    dp.addService({ vip: VIP, port: 443, proto: 'tcp', id: 1, fwd: 'nat', snatFirst: 0, snatCount: 1 });
    dp.setBackend(1, { addr: BE, port: 80 });
    dp.setBackend(2, { addr: BE, port: 8443 });
    dp.setTable(0, [1]);
    dp.setTable(1, [2]);
  });
  afterAll(() => dp?.dispose());

  describe('one tag: parsed, kept', () => {
    const fixtures: Fixture[] = [
      {
        description: 'dsr, 802.1Q tag 100 with priority 5: only the MACs change',
        input: buildFrame({ eth: { src: MAC.client, dst: MAC.lb }, vlan: { id: 100, pcp: 5 }, ...syn(80, 40000) }),
        verdict: 'TX',
        output: (i) => withMacs(i, backendMac(1), MAC.lb),
      },
      {
        description: 'dsr, an 802.1ad S-tag alone: only the MACs change',
        input: buildFrame({ eth: { src: MAC.client, dst: MAC.lb }, vlan: { id: 7, tpid: 0x88a8 }, ...syn(80, 40001) }),
        verdict: 'TX',
        output: (i) => withMacs(i, backendMac(1), MAC.lb),
      },
    ];
    for (const f of fixtures) it(f.description, () => check(dp, f));

    it('nat, both ways: the tag of each frame is the tag it came with', () => {
      const out = check(dp, {
        description: 'SYN on VLAN 200',
        input: buildFrame({ eth: { src: MAC.client, dst: MAC.lb }, vlan: { id: 200, pcp: 3 }, ...syn(443, 40002) }),
        verdict: 'TX',
      });
      const f = parseFrame(out.data);
      expect(f.vlan).toMatchObject({ id: 200, pcp: 3, tpid: 0x8100 });
      expect(f.ipv4).toMatchObject({ src: SNAT, dst: BE });
      const port = f.tcp!.sport;
      const reply = check(dp, {
        description: 'SYN-ACK on VLAN 300',
        input: buildFrame({
          eth: { src: backendMac(2), dst: MAC.lb },
          vlan: { id: 300 },
          ipv4: { src: BE, dst: SNAT },
          tcp: { sport: 8443, dport: port, flags: 'SA', seq: 7, ack: 101 },
        }),
        verdict: 'TX',
      });
      const r = parseFrame(reply.data);
      expect(r.vlan).toMatchObject({ id: 300, pcp: 0 });
      expect(r.ipv4).toMatchObject({ src: VIP, dst: CLIENT });
      expect(r.tcp).toMatchObject({ sport: 443, dport: 40002 });
    });
  });

  describe('two tags: not parsed, passed untouched (never balanced on the inner tag)', () => {
    const fixtures: Fixture[] = [
      {
        description: 'QinQ (802.1ad outer 10, 802.1Q inner 100) with a SYN to a dsr VIP service',
        input: twoTags(0x88a8, 10, 100, 40010),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      {
        description: '802.1Q in 802.1Q with a SYN to a dsr VIP service',
        input: twoTags(0x8100, 10, 100, 40011),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
      {
        description: 'the legacy QinQ TPID 0x9100 is not a tag we parse',
        input: buildFrame({
          eth: { src: MAC.client, dst: MAC.lb, type: 0x9100 },
          vlan: { id: 10, type: 0x0800 },
          payload: buildIpPacket(syn(80, 40012)),
        }),
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      },
    ];
    for (const f of fixtures) it(f.description, () => check(dp, f));
  });
});
