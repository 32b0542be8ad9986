// The flow table (bpf/lib/flowtab.h, lb_ft4), through BPF_PROG_TEST_RUN for each strategy object
// loaded with the table on (knob ft_mask): where a flow's slot is (the bucket the harness's own
// reading of lb_ft_hash names), its life (half-open, promoted in place, refreshed, closed, expired,
// reselected after its backend went), and the bucket's limits: a SYN may take only a half-open
// slot (FT_EVICTED), never an established one; a bucket full of live flows sends the flow to
// lb_ct / lb_ct_syn (FT_OVERFLOW) and is flagged, and from then on its new SYNs go there too.
// A bucket is filled by planting slots (FlowTable.plant: what the data plane writes, nothing runs
// meanwhile), so the tests choose exactly which ways are live, expired, half-open or established.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Flow, LB_ADDR_SNAT, LB_ADDR_VIP, LB_CT_CLOSE_FIN, LB_CT_CLOSING, LB_CT_OPEN, LB_FWD_DSR } from './harness/abi.js';
import { backendMac, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check } from './harness/fixtures.js';
import { LB_FT_HALF, LB_FT_WAYS } from './harness/flowtab.js';
import { MAC, tcp, udp, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf flowtab] skipped: ${bpfSkipReason}`);

const VIP = '198.18.0.10';
const VIP6 = '2001:db8::10';
const SNAT = '198.18.0.2';
const DSR = 1; // service ids
const NAT = 0;
const A = 1; // backends
const B = 2;
const NAT_A = 3;
const BUCKETS = 64;
const SEC = 1_000_000_000n;
const SYN_TIMEOUT = 3n * SEC; // config.h defaults
const TCP_TIMEOUT = 300n * SEC;

const toBe = (id: number) => (input: Buffer) => withMacs(input, backendMac(id), MAC.lb);
const flowOf = (sport: number, src = '198.18.1.1'): Flow => ({ src, dst: VIP, sport, dport: 80, proto: 'tcp' });
const dir = (f: Flow) => ({ src: f.src, dst: f.dst, sport: f.sport, dport: f.dport });

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('the flow table [%s]', (strategy) => {
  let dp: TestDataplane;
  let nextPort = 20000;

  beforeAll(async () => {
    dp = await TestDataplane.load(strategy, { ct_refresh_ns: 0, ft_mask: BUCKETS - 1 });
    dp.addAddr(VIP, LB_ADDR_VIP);
    dp.addAddr(VIP6, LB_ADDR_VIP);
    dp.addAddr(SNAT, LB_ADDR_SNAT);
    dp.setSnatPool(0, SNAT);
    dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: DSR, fwd: 'dsr' });
    dp.addService({ vip: VIP, port: 53, proto: 'udp', id: DSR, fwd: 'dsr' });
    dp.addService({ vip: VIP6, port: 80, proto: 'tcp', id: DSR, fwd: 'dsr' });
    dp.addService({ vip: VIP, port: 443, proto: 'tcp', id: NAT, fwd: 'nat', snatFirst: 0, snatCount: 1 });
    dp.setBackend(A, { addr: '198.18.2.1', port: 80 });
    dp.setBackend(B, { addr: '198.18.2.2', port: 80 });
    dp.setBackend(NAT_A, { addr: '198.18.2.3', port: 8443 });
    dp.setTable(NAT, [NAT_A]);
  });
  afterAll(() => dp?.dispose());
  beforeEach(() => dp.setTable(DSR, [A]));

  const ft = () => dp.ft!;
  /** A fresh tuple whose bucket is empty, so a test's planted ways are the only neighbours. */
  const fresh = (): Flow => {
    for (;;) {
      const f = flowOf(nextPort++);
      if (ft().slots(ft().bucketOf(f)).length === 0 && !ft().flags(ft().bucketOf(f))) return f;
    }
  };
  /** `n` more tuples of flow `f`'s bucket (TCP to port 80, or UDP to 53). */
  const neighbours = (f: Flow, n: number, proto: 'tcp' | 'udp' = 'tcp'): Flow[] => {
    const out: Flow[] = [];
    for (let p = 40000; out.length < n; p++) {
      const g: Flow = { ...flowOf(p, '198.18.1.9'), ...(proto === 'udp' ? { dport: 53, proto } : {}) };
      if (ft().bucketOf(g) === ft().bucketOf(f)) out.push(g);
    }
    return out;
  };
  const keys = (name: string) => [...dp.map(name).keys()];
  const nowTick = () => {
    // a slot written by the data plane just now carries the current tick: read it back from one
    const probe = fresh();
    check(dp, { description: 'clock probe', input: udp({ ...dir(probe), dport: 53 }), verdict: 'TX' });
    return ft().find({ ...probe, dport: 53, proto: 'udp' })!.seen;
  };
  const plant = (g: Flow, way: number, state: number, ageTicks: number, tick: number) =>
    ft().plant(g, { way, state, backendId: A, svcId: DSR, fwd: LB_FWD_DSR, seen: tick - ageTicks });

  it('a TCP flow: half-open slot in its hash bucket, promoted in place by the ACK; lb_ct and lb_ct_syn stay empty', () => {
    const f = fresh();
    check(dp, {
      description: 'SYN',
      input: tcp({ ...dir(f), flags: 'S' }),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 },
    });
    const half = ft().find(f)!;
    expect(half).toMatchObject({ half: true, backendId: A, svcId: DSR, fwd: LB_FWD_DSR });
    check(dp, {
      description: 'ACK',
      input: tcp({ ...dir(f), flags: 'A' }),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1, CT_PROMOTED: 1 },
    });
    expect(ft().find(f)).toMatchObject({ way: half.way, half: false, state: LB_CT_OPEN, backendId: A });
    dp.setTable(DSR, [B]); // the flow keeps its backend
    check(dp, {
      description: 'data',
      input: tcp({ ...dir(f), flags: 'PA', payload: 'x' }),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1 },
    });
    check(dp, { description: 'FIN', input: tcp({ ...dir(f), flags: 'FA' }), verdict: 'TX', output: toBe(A), reasons: { TX: 1 } });
    expect(ft().find(f)).toMatchObject({ state: LB_CT_CLOSING, closeReason: LB_CT_CLOSE_FIN });
    expect(keys('lb_ct')).toEqual([]);
    expect(keys('lb_ct_syn')).toEqual([]);
  });

  it('a VIP without LB_ADDR_FT (NAT services only, as core flags it) is not looked up in lb_ft4', () => {
    const f = fresh();
    check(dp, { description: 'SYN', input: tcp({ ...dir(f), flags: 'S' }), verdict: 'TX', output: toBe(A) });
    check(dp, {
      description: 'ACK',
      input: tcp({ ...dir(f), flags: 'A' }),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1, CT_PROMOTED: 1 },
    });
    dp.addAddrExact(VIP, LB_ADDR_VIP); // the flag gone: the established lookup skips the table
    try {
      // the packet misses lb_ct and lb_ct_syn; its new-flow insert finds the slot (the insert is
      // the lookup) and goes by it: the same backend, a midstream pickup counted
      dp.setTable(DSR, [B]);
      check(dp, {
        description: 'data, flag unset',
        input: tcp({ ...dir(f), flags: 'PA', payload: 'z' }),
        verdict: 'TX',
        output: toBe(A),
        reasons: { TX: 1, CT_MIDSTREAM: 1 },
      });
    } finally {
      dp.addAddr(VIP, LB_ADDR_VIP);
    }
    check(dp, {
      description: 'data, flag set',
      input: tcp({ ...dir(f), flags: 'PA', payload: 'z' }),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1 },
    });
  });

  it('a UDP flow is established at once; IPv6 and NAT flows never enter lb_ft4', () => {
    const f = { ...fresh(), dport: 53, proto: 'udp' as const };
    check(dp, { description: 'datagram', input: udp(dir(f)), verdict: 'TX', output: toBe(A), reasons: { TX: 1, CT_NEW: 1 } });
    expect(ft().find(f)).toMatchObject({ half: false, state: LB_CT_OPEN, backendId: A });
    const before = ft().count();
    const v6: Flow = { src: '2001:db8::1:1', dst: VIP6, sport: 999, dport: 80, proto: 'tcp' };
    check(dp, { description: 'IPv6 SYN', input: tcp({ ...dir(v6), flags: 'S' }), verdict: 'TX' });
    expect(dp.halfOpen(v6), 'IPv6: lb_ct_syn as before').toMatchObject({ backendId: A });
    const nat = { ...fresh(), dport: 443 };
    check(dp, { description: 'NAT SYN', input: tcp({ ...dir(nat), flags: 'S' }), verdict: 'TX' });
    expect(ft().find(nat), 'NAT: lb_ct_syn, its lease and reverse entry as before').toBeNull();
    expect(ft().count()).toBe(before);
  });

  it('a retransmitted SYN goes by its half-open slot; a late duplicate SYN by the open one', () => {
    const f = fresh();
    check(dp, { description: 'SYN', input: tcp({ ...dir(f), flags: 'S' }), verdict: 'TX', output: toBe(A) });
    dp.setTable(DSR, [B]);
    check(dp, { description: 'SYN again', input: tcp({ ...dir(f), flags: 'S' }), verdict: 'TX', output: toBe(A), reasons: { TX: 1 } });
    check(dp, {
      description: 'ACK',
      input: tcp({ ...dir(f), flags: 'A' }),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1, CT_PROMOTED: 1 },
    });
    check(dp, { description: 'late SYN', input: tcp({ ...dir(f), flags: 'S' }), verdict: 'TX', output: toBe(A), reasons: { TX: 1 } });
    expect(ft().find(f)).toMatchObject({ half: false, state: LB_CT_OPEN, backendId: A });
  });

  it('a SYN on a closing slot is a new connection: a new choice, in the same way', () => {
    const f = fresh();
    check(dp, { description: 'SYN', input: tcp({ ...dir(f), flags: 'S' }), verdict: 'TX', output: toBe(A) });
    check(dp, { description: 'ACK', input: tcp({ ...dir(f), flags: 'A' }), verdict: 'TX', output: toBe(A) });
    check(dp, { description: 'FIN', input: tcp({ ...dir(f), flags: 'FA' }), verdict: 'TX', output: toBe(A) });
    const way = ft().find(f)!.way;
    dp.setTable(DSR, [B]);
    check(dp, {
      description: 'SYN, reused tuple',
      input: tcp({ ...dir(f), flags: 'S' }),
      verdict: 'TX',
      output: toBe(B),
      reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1, CT_EXPIRED: 1 },
    });
    expect(ft().find(f)).toMatchObject({ way, half: true, backendId: B });
    check(dp, {
      description: 'its ACK',
      input: tcp({ ...dir(f), flags: 'A' }),
      verdict: 'TX',
      output: toBe(B),
      reasons: { TX: 1, CT_PROMOTED: 1 },
    });
  });

  it('expiry and a removed backend: the slot is replaced in place, counted once', () => {
    const f = { ...fresh(), dport: 53, proto: 'udp' as const };
    check(dp, { description: 'first', input: udp(dir(f)), verdict: 'TX', output: toBe(A) });
    const way = ft().find(f)!.way;
    dp.setTable(DSR, [B]);
    ft().age(f, 31n * SEC); // udp_timeout 30 s
    check(dp, {
      description: 'after the timeout',
      input: udp(dir(f)),
      verdict: 'TX',
      output: toBe(B),
      reasons: { TX: 1, CT_NEW: 1, CT_EXPIRED: 1 },
    });
    expect(ft().find(f)).toMatchObject({ way, backendId: B });
    dp.setBackend(B, { addr: '198.18.2.2', port: 80, gen: 7 });
    dp.setTable(DSR, [A]);
    check(dp, {
      description: 'backend replaced',
      input: udp(dir(f)),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1, CT_NEW: 1, CT_RESELECT: 1 },
    });
    expect(ft().find(f)).toMatchObject({ way, backendId: A });
    dp.setBackend(B, { addr: '198.18.2.2', port: 80 });
  });

  it('a refresh writes the slot back', () => {
    const f = fresh();
    check(dp, { description: 'SYN', input: tcp({ ...dir(f), flags: 'S' }), verdict: 'TX' });
    check(dp, { description: 'ACK', input: tcp({ ...dir(f), flags: 'A' }), verdict: 'TX' });
    ft().age(f, 10n * SEC);
    const aged = ft().find(f)!.seen;
    check(dp, { description: 'data', input: tcp({ ...dir(f), flags: 'PA', payload: 'y' }), verdict: 'TX', output: toBe(A) });
    expect(ft().find(f)!.seen - aged, 'refreshed (ct_refresh_ns 0 here)').toBeGreaterThanOrEqual(9000);
  });

  it('a SYN takes the oldest half-open slot of a full bucket, never an established one; the bucket stays unflagged', () => {
    const f = fresh();
    const g = neighbours(f, LB_FT_WAYS);
    const tick = nowTick();
    plant(g[0]!, 0, LB_CT_OPEN, 5, tick);
    plant(g[1]!, 1, LB_FT_HALF, 100, tick); // the oldest half-open: the victim
    plant(g[2]!, 2, LB_FT_HALF, 10, tick);
    plant(g[3]!, 3, LB_CT_OPEN, 2000, tick); // idle longer, but established: kept
    check(dp, {
      description: 'SYN into the full bucket',
      input: tcp({ ...dir(f), flags: 'S' }),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1, FT_EVICTED: 1 },
    });
    expect(ft().find(f)).toMatchObject({ way: 1, half: true });
    expect(ft().find(g[1]!)).toBeNull();
    expect(ft().find(g[3]!)).toMatchObject({ state: LB_CT_OPEN });
    expect(ft().flags(ft().bucketOf(f))).toBe(0);
  });

  it('an expired or free way is taken before any live one', () => {
    const f = fresh();
    const g = neighbours(f, LB_FT_WAYS);
    const tick = nowTick();
    plant(g[0]!, 0, LB_FT_HALF, 1, tick);
    plant(g[1]!, 1, LB_FT_HALF, 2, tick);
    plant(g[2]!, 2, LB_CT_OPEN, Number((TCP_TIMEOUT + SEC) >> 20n), tick); // expired
    plant(g[3]!, 3, LB_FT_HALF, Number((SYN_TIMEOUT + SEC) >> 20n), tick); // expired half-open
    check(dp, { description: 'SYN', input: tcp({ ...dir(f), flags: 'S' }), verdict: 'TX', reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 } });
    expect(ft().find(f)).toMatchObject({ way: 2 });
  });

  it('a bucket of live established flows: the new flow goes to lb_ct_syn / lb_ct, the bucket is flagged, its next SYNs follow until syn_timeout_ns after the last', () => {
    const f = fresh();
    const g = neighbours(f, LB_FT_WAYS + 1);
    const tick = nowTick();
    for (let w = 0; w < LB_FT_WAYS; w++) plant(g[w]!, w, LB_CT_OPEN, 3, tick);
    for (const k of keys('lb_ct')) dp.map('lb_ct').delete(k);
    for (const k of keys('lb_ct_syn')) dp.map('lb_ct_syn').delete(k);
    check(dp, {
      description: 'SYN, no slot',
      input: tcp({ ...dir(f), flags: 'S' }),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1, FT_OVERFLOW: 1 },
    });
    const flagged = ft().flags(ft().bucketOf(f));
    expect(flagged & 1, 'the flag: the tick | 1').toBe(1);
    expect(Math.abs(flagged - tick), 'the tick of that SYN').toBeLessThan(1000);
    expect(ft().find(f)).toBeNull();
    expect(keys('lb_ct_syn').length).toBe(1);
    dp.setTable(DSR, [B]);
    check(dp, {
      description: 'its ACK: promoted into lb_ct',
      input: tcp({ ...dir(f), flags: 'A' }),
      verdict: 'TX',
      output: toBe(A),
      reasons: { TX: 1, CT_PROMOTED: 1 },
    });
    expect(keys('lb_ct').length).toBe(1);
    // a way frees up (expired): a new SYN of the flagged bucket still goes to lb_ct_syn
    ft().age(g[0]!, TCP_TIMEOUT + SEC);
    const h = g[LB_FT_WAYS]!;
    check(dp, {
      description: 'SYN of the flagged bucket',
      input: tcp({ ...dir(h), flags: 'S' }),
      verdict: 'TX',
      output: toBe(B),
      reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 },
    });
    expect(ft().find(h)).toBeNull();
    // while a UDP flow (looked up in lb_ct first: it is in neither) takes the free way
    const u = neighbours(f, 1, 'udp')[0]!;
    check(dp, { description: 'UDP of the flagged bucket', input: udp(dir(u)), verdict: 'TX', reasons: { TX: 1, CT_NEW: 1 } });
    expect(ft().find(u)).toMatchObject({ way: 0 });
    // syn_timeout_ns after the bucket's last SYN that went to lb_ct_syn, its half-open entries there
    // are gone: the flag no longer holds, a new SYN takes a free way (a flood's overflow decays)
    ft().age(g[1]!, TCP_TIMEOUT + SEC);
    ft().setFlags(ft().bucketOf(f), (ft().flags(ft().bucketOf(f)) - Number((SYN_TIMEOUT + SEC) >> 20n)) | 1);
    const late = neighbours(f, LB_FT_WAYS + 2)[LB_FT_WAYS + 1]!;
    check(dp, {
      description: 'SYN after the flag decayed',
      input: tcp({ ...dir(late), flags: 'S' }),
      verdict: 'TX',
      reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 },
    });
    expect(ft().find(late)).toMatchObject({ half: true });
    for (const k of keys('lb_ct')) dp.map('lb_ct').delete(k);
    for (const k of keys('lb_ct_syn')) dp.map('lb_ct_syn').delete(k);
  });
});
