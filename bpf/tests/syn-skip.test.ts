// A pure SYN skips the lb_ct lookup (bpf/lb.bpf.h lb_vip, lb_vip_miss), through BPF_PROG_TEST_RUN for
// each strategy object: for dsr/ipip/ip6ip6/gue the SYN goes straight to the service and its
// half-open entry's BPF_NOEXIST insert; NAT keeps the lookup first. What that must not break: a
// client reusing a closed tuple (its lb_ct entry CLOSING) gets its new connection's ACK to the
// SYN's backend, the closing entry replaced; a retransmitted SYN keeps its half-open backend.
// The new choice is made to differ from the old one by changing the slot table between the two
// connections (every strategy then picks the other backend), and the proof that the SYN took no
// lb_ct lookup is where it goes and what it counts with an lb_ct entry planted for its tuple.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFrame } from '@xdp-lb/netlab';
import { type Flow, LB_ADDR_SNAT, LB_ADDR_VIP, LB_CT_CLOSING, LB_CT_OPEN } from './harness/abi.js';
import { backendMac, bpfSkipReason, itLbCtOnly, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check } from './harness/fixtures.js';
import { MAC, tcp, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf syn-skip] skipped: ${bpfSkipReason}`);

const VIP = '198.18.0.10';
const SNAT = '198.18.0.2';
const CLIENT = '198.18.1.1';
const DSR = 1; // service ids
const NAT = 0;
const A = 1; // dsr backends
const B = 2;
const NAT_A = 3; // nat backends (another address each: the output tells them apart)
const NAT_B = 4;

function setUp(dp: TestDataplane): void {
  dp.addAddr(VIP, LB_ADDR_VIP);
  dp.addAddr(SNAT, LB_ADDR_SNAT);
  dp.setSnatPool(0, SNAT);
  dp.addService({ vip: VIP, port: 443, proto: 'tcp', id: NAT, fwd: 'nat', snatFirst: 0, snatCount: 1 });
  dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: DSR, fwd: 'dsr' });
  dp.setBackend(A, { addr: '198.18.2.1', port: 80 });
  dp.setBackend(B, { addr: '198.18.2.2', port: 80 });
  dp.setBackend(NAT_A, { addr: '198.18.2.3', port: 8443 });
  dp.setBackend(NAT_B, { addr: '198.18.2.4', port: 8443 });
}

const toBe = (id: number) => (input: Buffer) => withMacs(input, backendMac(id), MAC.lb);

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('a pure SYN skips lb_ct [%s]', (strategy) => {
  let dp: TestDataplane;

  beforeAll(async () => {
    dp = await TestDataplane.load(strategy, { ct_refresh_ns: 0 });
    setUp(dp);
  });
  afterAll(() => dp?.dispose());

  /** One dsr connection on `sport` through A: SYN, ACK (promoted), data. Its lb_ct entry is A's. */
  const openOnA = (sport: number) => {
    const d = { src: CLIENT, dst: VIP, sport, dport: 80 };
    dp.setTable(DSR, [A]);
    check(dp, { description: 'SYN', input: tcp({ ...d, flags: 'S' }), verdict: 'TX', output: toBe(A) });
    check(dp, { description: 'ACK', input: tcp({ ...d, flags: 'A' }), verdict: 'TX', output: toBe(A), reasons: { TX: 1, CT_PROMOTED: 1 } });
    expect(dp.established({ ...d, proto: 'tcp' })).toMatchObject({ backendId: A, state: LB_CT_OPEN });
    return d;
  };

  itLbCtOnly("lb_ct / lb_ct_syn only: with the flow table a reused tuple's SYN replaces its closing slot in place (flowtab.test.ts)").each([
    ['FIN', 'FA'],
    ['RST', 'R'],
  ])('a tuple reused after a %s: the new SYN picks anew, its ACK goes to the SYN backend and replaces the closing entry', (_, close) => {
    const d = openOnA(close === 'FA' ? 43000 : 43001);
    const f: Flow = { ...d, proto: 'tcp' };
    check(dp, { description: `client ${close}`, input: tcp({ ...d, flags: close }), verdict: 'TX', output: toBe(A) });
    expect(dp.established(f)).toMatchObject({ backendId: A, state: LB_CT_CLOSING });
    if (close === 'FA') {
      check(dp, {
        description: "the old connection's last ACK: the closing entry's backend (no half-open entry of the tuple)",
        input: tcp({ ...d, flags: 'A' }),
        verdict: 'TX',
        output: toBe(A),
        reasons: { TX: 1, CT_HALF_OPEN: undefined, CT_PROMOTED: undefined },
      });
    }
    dp.setTable(DSR, [B]); // any strategy now chooses B
    check(dp, {
      description: 'SYN on the reused tuple: a new half-open flow on B (no lb_ct lookup: CT_EXPIRED not counted)',
      input: tcp({ ...d, flags: 'S' }),
      verdict: 'TX',
      output: toBe(B),
      reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 },
    });
    expect(dp.halfOpen(f)).toMatchObject({ backendId: B });
    expect(dp.established(f)).toMatchObject({ backendId: A, state: LB_CT_CLOSING });
    check(dp, {
      description: "the new connection's ACK: to B, promoted over the closing entry",
      input: tcp({ ...d, flags: 'A' }),
      verdict: 'TX',
      output: toBe(B),
      reasons: { TX: 1, CT_PROMOTED: 1 },
    });
    expect(dp.halfOpen(f)).toBeNull();
    expect(dp.established(f)).toMatchObject({ backendId: B, state: LB_CT_OPEN });
    check(dp, {
      description: 'data: B',
      input: tcp({ ...d, flags: 'PA', payload: 'GET /' }),
      verdict: 'TX',
      output: toBe(B),
      reasons: { TX: 1 },
    });
  });

  it("a retransmitted SYN keeps its half-open entry's backend, on a fresh tuple and on a reused one", () => {
    const d = { src: CLIENT, dst: VIP, sport: 43010, dport: 80 };
    const f: Flow = { ...d, proto: 'tcp' };
    dp.setTable(DSR, [A]);
    check(dp, {
      description: 'SYN',
      input: tcp({ ...d, flags: 'S' }),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 },
    });
    dp.setTable(DSR, [B]);
    check(dp, {
      description: 'SYN again: its entry (BPF_NOEXIST met it), A',
      input: tcp({ ...d, flags: 'S' }),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1, CT_HALF_OPEN: undefined },
    });
    expect(dp.halfOpen(f)).toMatchObject({ backendId: A });
    check(dp, {
      description: 'ACK: A',
      input: tcp({ ...d, flags: 'A' }),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1, CT_PROMOTED: 1 },
    });

    const r = openOnA(43011);
    const rf: Flow = { ...r, proto: 'tcp' };
    check(dp, { description: 'client FIN', input: tcp({ ...r, flags: 'FA' }), verdict: 'TX', output: toBe(A) });
    dp.setTable(DSR, [B]);
    check(dp, { description: 'SYN on the reused tuple: B', input: tcp({ ...r, flags: 'S' }), verdict: 'TX', output: toBe(B) });
    dp.setTable(DSR, [A]);
    check(dp, {
      description: 'that SYN again: B still (its half-open entry, not the closing entry, not the table)',
      input: tcp({ ...r, flags: 'S' }),
      verdict: 'TX',
      output: toBe(B),
      reasons: { TX: 1, CT_HALF_OPEN: undefined },
    });
    check(dp, {
      description: 'ACK: B',
      input: tcp({ ...r, flags: 'A' }),
      verdict: 'TX',
      output: toBe(B),
      reasons: { TX: 1, CT_PROMOTED: 1 },
    });
    expect(dp.established(rf)).toMatchObject({ backendId: B, state: LB_CT_OPEN });
  });

  itLbCtOnly('lb_ct / lb_ct_syn only: with the flow table a late SYN goes by the open slot (flowtab.test.ts)')(
    'dsr: an OPEN lb_ct entry does not change where a pure SYN goes (no lookup); its later packets still find that entry',
    () => {
      const d = openOnA(43020);
      const f: Flow = { ...d, proto: 'tcp' };
      dp.setTable(DSR, [B]);
      check(dp, {
        description: 'a late duplicate SYN: the table chooses (B), a half-open entry',
        input: tcp({ ...d, flags: 'S' }),
        verdict: 'TX',
        output: toBe(B),
        reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 },
      });
      expect(dp.halfOpen(f)).toMatchObject({ backendId: B });
      check(dp, {
        description: "the connection's own data: the OPEN entry first, A (documented in lb_vip)",
        input: tcp({ ...d, flags: 'PA', payload: 'x' }),
        verdict: 'TX',
        output: toBe(A),
        reasons: { TX: 1, CT_HALF_OPEN: undefined, CT_PROMOTED: undefined },
      });
      expect(dp.established(f)).toMatchObject({ backendId: A, state: LB_CT_OPEN });
    },
  );

  it('nat keeps the lookup first: a SYN on a live entry goes by it, on a closing one counts CT_EXPIRED', () => {
    const n = { src: CLIENT, dst: VIP, sport: 43030, dport: 443 };
    const f: Flow = { ...n, proto: 'tcp' };
    dp.setTable(NAT, [NAT_A]);
    const syn = check(dp, { description: 'NAT SYN', input: tcp({ ...n, flags: 'S' }), verdict: 'TX' });
    const port = parseFrame(syn.data).tcp!.sport;
    const reply = (flags: string) =>
      tcp({ src: '198.18.2.3', dst: SNAT, sport: 8443, dport: port, flags, smac: backendMac(NAT_A), dmac: MAC.lb });
    check(dp, { description: 'SYN-ACK', input: reply('SA'), verdict: 'TX' });
    check(dp, { description: 'ACK', input: tcp({ ...n, flags: 'A' }), verdict: 'TX', reasons: { TX: 1, CT_PROMOTED: 1 } });
    expect(dp.established(f)).toMatchObject({ backendId: NAT_A, state: LB_CT_OPEN });
    dp.setTable(NAT, [NAT_B]);
    const dup = check(dp, {
      description: 'a SYN on the live entry: by the entry (NAT_A), no new flow',
      input: tcp({ ...n, flags: 'S' }),
      verdict: 'TX',
      reasons: { TX: 1, CT_HALF_OPEN: undefined },
    });
    expect(parseFrame(dup.data).ipv4).toMatchObject({ dst: '198.18.2.3' });
    expect(dp.halfOpen(f)).toBeNull();
    check(dp, { description: 'client FIN', input: tcp({ ...n, flags: 'FA' }), verdict: 'TX' });
    const again = check(dp, {
      description: 'SYN on the closed tuple: looked up (CT_EXPIRED), a new flow on NAT_B',
      input: tcp({ ...n, flags: 'S' }),
      verdict: 'TX',
      reasons: { TX: 1, CT_NEW: 1, CT_EXPIRED: 1, CT_HALF_OPEN: 1 },
    });
    expect(parseFrame(again.data).ipv4).toMatchObject({ dst: '198.18.2.4' });
    expect(dp.established(f)).toBeNull(); // deleted after the allocation (lb_new_flow)
  });
});
