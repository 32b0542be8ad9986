// Any-port services (issue 20: Katran's port-0 VIPs) through BPF_PROG_TEST_RUN, for each strategy
// object: a service on port 0 of a VIP whose address carries LB_ADDR_ANY_PORT serves every port of
// its protocol that has no service of its own; a port with its own service keeps it; the other
// protocol and an address without the flag are not served by it (the port-0 key is looked up only
// for flagged addresses); DSR keeps the frame; NAT keeps the flow's destination port (backend port
// 0) both ways, checksums checked by netlab's verifier. And the hash strategy's dport-only hashing
// (hashFields destination-port): one backend per port, flow for flow as its TypeScript model says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFrame } from '@xdp-lb/netlab';
import { hash } from '@xdp-lb/strategy-hash';
import { flowKey, LB_ADDR_ANY_PORT, LB_ADDR_SNAT, LB_ADDR_VIP, LB_FWD_NAT } from './harness/abi.js';
import { backendMac, backendOf, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check } from './harness/fixtures.js';
import { MAC, tcp, udp, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf any-port] skipped: ${bpfSkipReason}`);

const VIP = '198.18.0.10'; // tcp/* dsr, tcp/80 dsr (its own service)
const VIP_NAT = '198.18.0.11'; // tcp/* and udp/* nat
const VIP_NOFLAG = '198.18.0.12'; // a port-0 key in lb_services, but the address lacks the flag
const VIP6 = '2001:db8:18::10'; // udp/* dsr
const SNAT = '198.18.0.2';
const CLIENT = '198.18.1.1';
const CLIENT6 = '2001:db8:1::1';
const BE = '198.18.2.1';
const BE6 = '2001:db8:2::1';

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('any-port services [%s]', (strategy) => {
  let dp: TestDataplane;

  beforeAll(async () => {
    dp = await TestDataplane.load(strategy, { ct_refresh_ns: 0 });
    dp.addAddr(VIP, LB_ADDR_VIP | LB_ADDR_ANY_PORT);
    dp.addAddr(VIP_NAT, LB_ADDR_VIP | LB_ADDR_ANY_PORT);
    dp.addAddr(VIP_NOFLAG, LB_ADDR_VIP);
    dp.addAddr(VIP6, LB_ADDR_VIP | LB_ADDR_ANY_PORT);
    dp.addAddr(SNAT, LB_ADDR_SNAT);
    dp.setSnatPool(0, SNAT);
    dp.addService({ vip: VIP, port: 0, proto: 'tcp', id: 0, fwd: 'dsr' });
    dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 1, fwd: 'dsr' });
    dp.addService({ vip: VIP_NAT, port: 0, proto: 'tcp', id: 2, fwd: 'nat', snatFirst: 0, snatCount: 1 });
    dp.addService({ vip: VIP_NAT, port: 0, proto: 'udp', id: 3, fwd: 'nat', snatFirst: 0, snatCount: 1 });
    dp.addService({ vip: VIP_NOFLAG, port: 0, proto: 'tcp', id: 4, fwd: 'dsr' });
    dp.addService({ vip: VIP6, port: 0, proto: 'udp', id: 5, fwd: 'dsr' });
    dp.setBackend(1, { addr: BE, port: 0 });
    dp.setBackend(2, { addr: BE, port: 80 });
    dp.setBackend(3, { addr: BE, port: 0 });
    dp.setBackend(4, { addr: BE, port: 0 });
    dp.setBackend(5, { addr: BE, port: 0 });
    dp.setBackend(6, { addr: BE6, port: 0 });
    for (const [svc, be] of [
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
      [5, 6],
    ])
      dp.setTable(svc!, [be!]);
  });
  afterAll(() => dp?.dispose());

  it('dsr: every TCP port of the VIP reaches the any-port service, the frame kept (MACs aside)', () => {
    for (const dport of [1, 22, 443, 8080, 65535]) {
      const input = tcp({ src: CLIENT, dst: VIP, sport: 40000, dport, flags: 'S' });
      check(dp, {
        description: `SYN to :${dport}`,
        input,
        verdict: 'TX',
        output: withMacs(input, backendMac(1), MAC.lb),
        reasons: { TX: 1, CT_NEW: 1 },
      });
      expect(dp.ct({ src: CLIENT, dst: VIP, sport: 40000, dport, proto: 'tcp' })).toMatchObject({ svcId: 0, backendId: 1 });
    }
    expect(dp.svcStats(0).newFlows).toBe(5n);
  });

  it('a port with its own service keeps it', () => {
    const input = tcp({ src: CLIENT, dst: VIP, sport: 40001, dport: 80, flags: 'S' });
    check(dp, { description: 'SYN to :80', input, verdict: 'TX', output: withMacs(input, backendMac(2), MAC.lb) });
    expect(dp.ct({ src: CLIENT, dst: VIP, sport: 40001, dport: 80, proto: 'tcp' })).toMatchObject({ svcId: 1, backendId: 2 });
  });

  it('the other protocol is not served; nor is an address without LB_ADDR_ANY_PORT', () => {
    check(dp, {
      description: 'UDP to the tcp/* VIP',
      input: udp({ src: CLIENT, dst: VIP, sport: 40002, dport: 53 }),
      verdict: 'PASS',
      reasons: { PASS_UNSUPPORTED: 1 },
    });
    check(dp, {
      description: 'TCP to a VIP without the flag',
      input: tcp({ src: CLIENT, dst: VIP_NOFLAG, sport: 40003, dport: 22, flags: 'S' }),
      verdict: 'PASS',
      reasons: { PASS_UNSUPPORTED: 1 },
    });
  });

  it('IPv6: udp/* of an IPv6 VIP', () => {
    const input = udp({ src: CLIENT6, dst: VIP6, sport: 40004, dport: 4433, payload: 'quic' });
    check(dp, {
      description: 'datagram to :4433',
      input,
      verdict: 'TX',
      output: withMacs(input, backendMac(6), MAC.lb),
      reasons: { TX: 1, CT_NEW: 1 },
    });
  });

  it('nat: the flow keeps its destination port to the backend, and replies come from VIP:that port', () => {
    for (const dport of [8080, 9999]) {
      const r = check(dp, {
        description: `SYN to :${dport}`,
        input: tcp({ src: CLIENT, dst: VIP_NAT, sport: 41000, dport, flags: 'S', payload: 'x' }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1 },
      });
      const f = parseFrame(r.data);
      expect(f.ipv4).toMatchObject({ src: SNAT, dst: BE });
      expect(f.tcp!.dport).toBe(dport);
      const p = f.tcp!.sport;
      expect(dp.ct({ src: CLIENT, dst: VIP_NAT, sport: 41000, dport, proto: 'tcp' })).toMatchObject({
        svcId: 2,
        fwd: LB_FWD_NAT,
        snatPort: p,
      });
      expect(dp.snat({ src: BE, dst: SNAT, sport: dport, dport: p, proto: 'tcp' })).toMatchObject({
        src: CLIENT,
        dst: VIP_NAT,
        sport: 41000,
        dport,
      });
      // the established path (ct_refresh_ns 0: the reverse entry is verified on every packet)
      check(dp, {
        description: `data to :${dport}`,
        input: tcp({ src: CLIENT, dst: VIP_NAT, sport: 41000, dport, flags: 'PA', payload: 'data' }),
        verdict: 'TX',
        output: tcp({ src: SNAT, dst: BE, sport: p, dport, flags: 'PA', payload: 'data', smac: MAC.lb, dmac: backendMac(3) }),
        reasons: { TX: 1 },
      });
      check(dp, {
        description: `reply from :${dport}`,
        input: tcp({ src: BE, dst: SNAT, sport: dport, dport: p, flags: 'SA', smac: backendMac(3), dmac: MAC.lb }),
        verdict: 'TX',
        output: tcp({ src: VIP_NAT, dst: CLIENT, sport: dport, dport: 41000, flags: 'SA', smac: MAC.lb, dmac: MAC.client }),
        reasons: { TX: 1 },
      });
    }
  });

  it('nat udp/*: the datagram keeps its port', () => {
    const r = check(dp, {
      description: 'datagram to :5000',
      input: udp({ src: CLIENT, dst: VIP_NAT, sport: 42000, dport: 5000 }),
      verdict: 'TX',
    });
    const f = parseFrame(r.data);
    expect(f.ipv4).toMatchObject({ src: SNAT, dst: BE });
    expect(f.udp!.dport).toBe(5000);
  });
});

describe.skipIf(bpfSkipReason !== null)('hash, hashFields destination-port, on an any-port VIP', () => {
  const SEED = 0x5eed;
  let dp: TestDataplane;
  let table: Uint32Array;
  const opts = hash.optionsSchema.parse({ hashFields: 'destination-port' });

  beforeAll(async () => {
    dp = await TestDataplane.load('hash', { hash_seed: SEED });
    dp.addAddr(VIP, LB_ADDR_VIP | LB_ADDR_ANY_PORT);
    dp.addService({ vip: VIP, port: 0, proto: 'tcp', id: 0, fwd: 'dsr', flags: hash.serviceFlags(opts) });
    const bs = Array.from({ length: 7 }, (_, i) => ({ id: i + 1, key: `198.18.2.${i + 1}:*`, weight: 1 }));
    for (const b of bs) dp.setBackend(b.id, { addr: `198.18.2.${b.id}`, port: 0 });
    table = hash.buildTable(bs, opts);
    dp.setTable(0, table);
  });
  afterAll(() => dp?.dispose());

  it('every flow to one port goes to one backend, the one the model names; ports spread', () => {
    const perPort = new Map<number, Set<number>>();
    for (let i = 0; i < 400; i++) {
      const dport = 1000 + (i % 40);
      const f = { src: `198.18.1.${1 + (i % 200)}`, dst: VIP, sport: 30000 + i, dport, proto: 'tcp' as const };
      const r = dp.run(tcp({ ...f, flags: 'S' }));
      expect(r.verdict).toBe('TX');
      const got = backendOf(r.data);
      expect(got, `flow ${i}`).toBe(hash.model(table, { flowKey: flowKey(f), hashSeed: SEED, random: 0, counter: 0 }, opts));
      perPort.set(dport, (perPort.get(dport) ?? new Set()).add(got));
    }
    expect([...perPort.values()].every((s) => s.size === 1)).toBe(true);
    expect(new Set([...perPort.values()].map((s) => [...s][0])).size).toBeGreaterThanOrEqual(5);
  });
});
