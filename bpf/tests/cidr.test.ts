// Prefix VIPs (issue 20: Katran's CIDR VIPs) through BPF_PROG_TEST_RUN, for each strategy object.
// Small prefixes are expanded by the control plane into exact keys that share one service id (the
// data plane sees ordinary VIPs); large ones live in the LPM tries lb_vip_nets / lb_svc_nets, read
// only when the knob vip_nets is set. The order (bpf/lib/service.h): the flow's own port before an
// any-port service, and within either the longest prefix, an exact VIP being the longest of all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LB_ADDR_ANY_PORT, LB_ADDR_NET, LB_ADDR_VIP } from './harness/abi.js';
import { backendMac, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check } from './harness/fixtures.js';
import { MAC, tcp, udp, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf cidr] skipped: ${bpfSkipReason}`);

const SMALL = ['198.18.10.0', '198.18.10.1', '198.18.10.2', '198.18.10.3']; // 198.18.10.0/30 tcp/80, expanded: service 0
const NET = '198.18.20.0/24'; // tcp/80 service 1, tcp/* service 4
const NET_HI = '198.18.20.128/25'; // tcp/80 service 2 (longer: wins over NET for .128-.255)
const EXACT_IN_NET = '198.18.20.9'; // tcp/80 service 3, an exact VIP inside NET
const NET6 = '2001:db8:20::/64'; // udp/53 service 5
const CLIENT = '198.18.1.1';
const CLIENT6 = '2001:db8:1::1';
const NET_FLAGS = LB_ADDR_VIP | LB_ADDR_NET | LB_ADDR_ANY_PORT;

/** The same maps in an object loaded with `vip_nets`. */
async function loadWith(strategy: (typeof STRATEGIES)[number], vipNets: number): Promise<TestDataplane> {
  const dp = await TestDataplane.load(strategy, { vip_nets: vipNets });
  for (const ip of SMALL) {
    dp.addAddr(ip, LB_ADDR_VIP);
    dp.addService({ vip: ip, port: 80, proto: 'tcp', id: 0, fwd: 'dsr' });
  }
  dp.addNet(NET, NET_FLAGS);
  dp.addNet(NET_HI, NET_FLAGS); // a nested prefix carries the roles of every prefix around it
  dp.addNetService({ vip: NET, port: 80, proto: 'tcp', id: 1, fwd: 'dsr' });
  dp.addNetService({ vip: NET_HI, port: 80, proto: 'tcp', id: 2, fwd: 'dsr' });
  dp.addNetService({ vip: NET, port: 0, proto: 'tcp', id: 4, fwd: 'dsr' });
  // an exact address inside a large prefix carries the prefix's roles as well as its own
  dp.addAddr(EXACT_IN_NET, NET_FLAGS);
  dp.addService({ vip: EXACT_IN_NET, port: 80, proto: 'tcp', id: 3, fwd: 'dsr' });
  dp.addNet(NET6, LB_ADDR_VIP | LB_ADDR_NET);
  dp.addNetService({ vip: NET6, port: 53, proto: 'udp', id: 5, fwd: 'dsr' });
  for (let svc = 0; svc <= 5; svc++) {
    dp.setBackend(svc + 1, { addr: svc === 5 ? '2001:db8:2::1' : `198.18.2.${svc + 1}`, port: svc === 4 ? 0 : svc === 5 ? 53 : 80 });
    dp.setTable(svc, [svc + 1]);
  }
  return dp;
}

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('prefix VIPs [%s]', (strategy) => {
  let dp: TestDataplane;

  beforeAll(async () => {
    dp = await loadWith(strategy, 1);
  });
  afterAll(() => dp?.dispose());

  /** A SYN to dst:dport must reach backend svc + 1 with the flow tracked under service `svc`. */
  function expectService(dst: string, dport: number, svc: number, sport = 40000): void {
    const input = tcp({ src: CLIENT, dst, sport, dport, flags: 'S' });
    check(dp, {
      description: `SYN to ${dst}:${dport}`,
      input,
      verdict: 'TX',
      output: withMacs(input, backendMac(svc + 1), MAC.lb),
      reasons: { TX: 1, CT_NEW: 1 },
    });
    expect(dp.ct({ src: CLIENT, dst, sport, dport, proto: 'tcp' }), `${dst}:${dport}`).toMatchObject({ svcId: svc, backendId: svc + 1 });
  }

  it('a small prefix, expanded: every address is one service', () => {
    const before = dp.svcStats(0).newFlows;
    SMALL.forEach((ip, i) => expectService(ip, 80, 0, 40100 + i));
    expect(dp.svcStats(0).newFlows - before).toBe(4n);
  });

  it('a large prefix: any address of it, through the trie', () => {
    for (const ip of ['198.18.20.0', '198.18.20.7', '198.18.20.127']) expectService(ip, 80, 1, 40200);
  });

  it('overlapping prefixes: the longest wins', () => {
    for (const ip of ['198.18.20.128', '198.18.20.200', '198.18.20.255']) expectService(ip, 80, 2, 40300);
  });

  it('an exact VIP inside a prefix wins for its port; its other ports fall to the prefix', () => {
    expectService(EXACT_IN_NET, 80, 3, 40400);
    expectService(EXACT_IN_NET, 443, 4, 40401); // no exact :443, no prefix :443: the prefix's tcp/*
  });

  it('the port before the prefix length: :80 of the prefix, every other port its any-port service', () => {
    expectService('198.18.20.77', 8080, 4, 40500);
    expectService('198.18.20.77', 80, 1, 40501);
  });

  it('IPv6: a /64', () => {
    const input = udp({ src: CLIENT6, dst: '2001:db8:20::abcd:1', sport: 40600, dport: 53, payload: 'q' });
    check(dp, {
      description: 'datagram into the /64',
      input,
      verdict: 'TX',
      output: withMacs(input, backendMac(6), MAC.lb),
      reasons: { TX: 1, CT_NEW: 1 },
    });
  });

  it('misses: outside every prefix, another protocol, another port of a prefix without any-port', () => {
    check(dp, {
      description: 'outside the /24',
      input: tcp({ src: CLIENT, dst: '198.18.21.1', sport: 40700, dport: 80, flags: 'S' }),
      verdict: 'PASS',
      reasons: { PASS_NOT_OURS: 1 },
    });
    check(dp, {
      description: 'outside the /30',
      input: tcp({ src: CLIENT, dst: '198.18.10.4', sport: 40700, dport: 80, flags: 'S' }),
      verdict: 'PASS',
      reasons: { PASS_NOT_OURS: 1 },
    });
    check(dp, {
      description: 'UDP into the tcp prefix',
      input: udp({ src: CLIENT, dst: '198.18.20.7', sport: 40701, dport: 80 }),
      verdict: 'PASS',
      reasons: { PASS_UNSUPPORTED: 1 },
    });
    check(dp, {
      description: 'another port of the /64',
      input: udp({ src: CLIENT6, dst: '2001:db8:20::1', sport: 40702, dport: 54 }),
      verdict: 'PASS',
      reasons: { PASS_UNSUPPORTED: 1 },
    });
    check(dp, {
      description: 'outside the /64',
      input: udp({ src: CLIENT6, dst: '2001:db8:21::1', sport: 40703, dport: 53 }),
      verdict: 'PASS',
      reasons: { PASS_NOT_OURS: 1 },
    });
  });
});

describe.skipIf(bpfSkipReason !== null)('prefix VIPs: the tries are not read without vip_nets', () => {
  let dp: TestDataplane;

  beforeAll(async () => {
    dp = await loadWith('hash', 0);
  });
  afterAll(() => dp?.dispose());

  it('a large prefix is not ours; expanded and exact VIPs are served as ever', () => {
    check(dp, {
      description: 'into the /24',
      input: tcp({ src: CLIENT, dst: '198.18.20.7', sport: 40800, dport: 80, flags: 'S' }),
      verdict: 'PASS',
      reasons: { PASS_NOT_OURS: 1 },
    });
    check(dp, {
      description: 'exact :443 (LB_ADDR_NET ignored)',
      input: tcp({ src: CLIENT, dst: EXACT_IN_NET, sport: 40801, dport: 443, flags: 'S' }),
      verdict: 'PASS',
      reasons: { PASS_UNSUPPORTED: 1 },
    });
    const input = tcp({ src: CLIENT, dst: SMALL[1]!, sport: 40802, dport: 80, flags: 'S' });
    check(dp, { description: 'expanded address', input, verdict: 'TX', output: withMacs(input, backendMac(1), MAC.lb) });
  });
});
