// Connection tracking under pressure (issue 7) through BPF_PROG_TEST_RUN, for each strategy object,
// with a tiny ct_new_rate: past it, a DSR service of the hash strategy (stateless) forwards new
// flows by hash without conntrack entries, NAT services and DSR services of random / round-robin
// refuse new flows (drop_flood), and established flows of both modes are untouched. The window is
// per CPU: the test process is pinned to one CPU (taskset) so that every run counts in one window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { numPossibleCpus } from '@xdp-lb/native';
import { LB_ADDR_SNAT, LB_ADDR_VIP } from './harness/abi.js';
import { backendMac, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { pinToCpu0, tasksetSkipReason } from './harness/cpu.js';
import { check } from './harness/fixtures.js';
import { MAC, tcp, withMacs } from './harness/frames.js';

const skip = bpfSkipReason ?? tasksetSkipReason;
if (skip) console.warn(`[bpf flood] skipped: ${skip}`);

const VIP = '198.18.0.10';
const SNAT = '198.18.0.2';
const CLIENT = '198.18.1.1';
const BE1 = '198.18.2.1';
const BE2 = '198.18.2.2';
const THRESHOLD = 4;

/** lb_flood on every CPU: a window that started `agoMs` ago (CLOCK_MONOTONIC) with `count` misses. */
function setFloodWindow(dp: TestDataplane, count: number, agoMs: number | null): void {
  const v = Buffer.alloc(16);
  if (agoMs !== null) v.writeBigUInt64LE(process.hrtime.bigint() - BigInt(agoMs) * 1_000_000n, 0);
  v.writeBigUInt64LE(BigInt(count), 8);
  dp.map('lb_flood').update(
    Buffer.alloc(4),
    Array.from({ length: numPossibleCpus() }, () => v),
  );
}

/** The strategy's object with `knobs`: a DSR service on :80 (backend 1), a NAT one on :443 (backend 2), lb_flood's window reset. */
async function loadGuarded(strategy: (typeof STRATEGIES)[number], knobs: Record<string, number>): Promise<TestDataplane> {
  const dp = await TestDataplane.load(strategy, knobs);
  dp.addAddr(VIP, LB_ADDR_VIP);
  dp.addAddr(SNAT, LB_ADDR_SNAT);
  dp.setSnatPool(0, SNAT);
  dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 0, fwd: 'dsr' });
  dp.addService({ vip: VIP, port: 443, proto: 'tcp', id: 1, fwd: 'nat', snatFirst: 0, snatCount: 1 });
  dp.setBackend(1, { addr: BE1, port: 80 });
  dp.setBackend(2, { addr: BE2, port: 8443 });
  dp.setTable(0, [1]);
  dp.setTable(1, [2]);
  setFloodWindow(dp, 0, null); // window start 0: the first miss opens a new window
  return dp;
}

describe.skipIf(skip !== null).each(STRATEGIES)('flood guard [%s]', (strategy) => {
  let dp: TestDataplane;
  let unpin: (() => void) | undefined;
  const stateless = strategy === 'hash';

  beforeAll(async () => {
    unpin = pinToCpu0();
    dp = await loadGuarded(strategy, { ct_refresh_ns: 0, ct_new_rate: THRESHOLD });
  });
  afterAll(() => {
    dp?.dispose();
    unpin?.();
  });

  const dsr = (sport: number, flags = 'S') => tcp({ src: CLIENT, dst: VIP, sport, dport: 80, flags });
  const nat = (sport: number, flags = 'S') => tcp({ src: CLIENT, dst: VIP, sport, dport: 443, flags });
  const flow = (sport: number, dport: number) => ({ src: CLIENT, dst: VIP, sport, dport, proto: 'tcp' as const });
  const toBe1 = (input: Buffer) => withMacs(input, backendMac(1), MAC.lb);
  let natPort = 0;

  it(`up to ${THRESHOLD} new flows per window are tracked as usual`, () => {
    check(dp, { description: 'long DSR flow', input: dsr(1000), verdict: 'TX', output: toBe1, reasons: { TX: 1, CT_NEW: 1 } });
    const r = check(dp, { description: 'long NAT flow', input: nat(1000), verdict: 'TX', reasons: { TX: 1, CT_NEW: 1 } });
    natPort = r.data.readUInt16BE(34);
    check(dp, { description: 'third', input: dsr(1001), verdict: 'TX', reasons: { TX: 1, CT_NEW: 1 } });
    check(dp, { description: 'fourth', input: dsr(1002), verdict: 'TX', reasons: { TX: 1, CT_NEW: 1 } });
    expect(dp.ct(flow(1002, 80))).not.toBeNull();
  });

  it(
    stateless
      ? 'past the threshold: DSR new flows are forwarded by hash, without an entry'
      : 'past the threshold: DSR new flows are refused (the choice would not be repeated)',
    () => {
      for (const sport of [2000, 2001, 2000]) {
        if (stateless)
          check(dp, {
            description: `DSR SYN :${sport}`,
            input: dsr(sport),
            verdict: 'TX',
            output: toBe1,
            reasons: { TX: 1, FLOOD_STATELESS: 1 },
          });
        else check(dp, { description: `DSR SYN :${sport}`, input: dsr(sport), verdict: 'DROP', reasons: { DROP_FLOOD: 1 } });
        expect(dp.ct(flow(sport, 80))).toBeNull();
      }
      if (stateless)
        check(dp, {
          description: 'a later packet of such a flow: the same backend',
          input: dsr(2000, 'PA'),
          verdict: 'TX',
          output: toBe1,
          reasons: { TX: 1, FLOOD_STATELESS: 1 },
        });
    },
  );

  it('past the threshold: NAT new flows are refused, no entry and no port taken', () => {
    const snatBefore = [...dp.map('lb_snat').keys()].length;
    const dropsBefore = dp.svcStats(1).drops;
    check(dp, { description: 'NAT SYN', input: nat(3000), verdict: 'DROP', reasons: { DROP_FLOOD: 1 } });
    check(dp, { description: 'NAT SYN', input: nat(3001), verdict: 'DROP', reasons: { DROP_FLOOD: 1 } });
    expect(dp.ct(flow(3000, 443))).toBeNull();
    expect([...dp.map('lb_snat').keys()].length).toBe(snatBefore);
    expect(dp.svcStats(1).drops - dropsBefore).toBe(2n);
  });

  it('established flows of both modes are untouched by flood mode', () => {
    check(dp, { description: 'long DSR flow, data', input: dsr(1000, 'PA'), verdict: 'TX', output: toBe1, reasons: { TX: 1 } });
    const fwd = check(dp, { description: 'long NAT flow, data', input: nat(1000, 'PA'), verdict: 'TX', reasons: { TX: 1 } });
    expect(fwd.data.readUInt16BE(34)).toBe(natPort);
    const reply = tcp({ src: BE2, dst: SNAT, sport: 8443, dport: natPort, flags: 'A', smac: backendMac(2), dmac: MAC.lb });
    const back = tcp({ src: VIP, dst: CLIENT, sport: 443, dport: 1000, flags: 'A', smac: MAC.lb, dmac: MAC.client });
    check(dp, { description: 'long NAT flow, reply', input: reply, verdict: 'TX', output: back, reasons: { TX: 1 } });
  });

  it('a new window ends flood mode: new flows are tracked again', () => {
    setFloodWindow(dp, THRESHOLD + 100, 1500); // the window started 1.5 s ago
    check(dp, { description: 'DSR SYN', input: dsr(4000), verdict: 'TX', output: toBe1, reasons: { TX: 1, CT_NEW: 1 } });
    check(dp, { description: 'NAT SYN', input: nat(4000), verdict: 'TX', reasons: { TX: 1, CT_NEW: 1 } });
    expect(dp.ct(flow(4000, 80))).not.toBeNull();
  });
});

describe.skipIf(skip !== null).each(STRATEGIES)('the half-open table under pressure [%s]', (strategy) => {
  // ct_syn_churn 4 (the control plane: the rate that replaces lb_ct_syn within 100 ms), no rate
  // guard: past it, DSR of a stateless strategy (hash) forwards new flows without an entry; NAT and
  // the other strategies keep tracking them (half-open), never refusing.
  let dp: TestDataplane;
  let unpin: (() => void) | undefined;
  const stateless = strategy === 'hash';

  beforeAll(async () => {
    unpin = pinToCpu0();
    dp = await loadGuarded(strategy, { ct_new_rate: 0, ct_syn_churn: THRESHOLD });
  });
  afterAll(() => {
    dp?.dispose();
    unpin?.();
  });

  it(
    stateless
      ? 'past ct_syn_churn: DSR new flows go stateless, NAT ones are still tracked'
      : 'past ct_syn_churn: new flows are still tracked (nothing to go stateless)',
    () => {
      for (let i = 0; i < THRESHOLD; i++)
        check(dp, {
          description: `SYN ${i}`,
          input: tcp({ src: CLIENT, dst: VIP, sport: 6000 + i, dport: 80, flags: 'S' }),
          verdict: 'TX',
          reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 },
        });
      const dsr = tcp({ src: CLIENT, dst: VIP, sport: 6100, dport: 80, flags: 'S' });
      if (stateless)
        check(dp, {
          description: 'DSR SYN past it',
          input: dsr,
          verdict: 'TX',
          output: withMacs(dsr, backendMac(1), MAC.lb),
          reasons: { TX: 1, FLOOD_STATELESS: 1 },
        });
      else check(dp, { description: 'DSR SYN past it', input: dsr, verdict: 'TX', reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 } });
      check(dp, {
        description: 'NAT SYN past it: tracked, not refused',
        input: tcp({ src: CLIENT, dst: VIP, sport: 6101, dport: 443, flags: 'S' }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1, CT_HALF_OPEN: 1 },
      });
    },
  );
});

describe.skipIf(bpfSkipReason !== null)('flood guard off', () => {
  it('ct_new_rate 0: never in flood mode, lb_flood untouched', async () => {
    const dp = await TestDataplane.load('hash', { ct_new_rate: 0 });
    try {
      dp.addAddr(VIP, LB_ADDR_VIP);
      dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 0, fwd: 'dsr' });
      dp.setBackend(1, { addr: BE1, port: 80 });
      dp.setTable(0, [1]);
      setFloodWindow(dp, 1_000_000, 10);
      for (let i = 0; i < 5; i++)
        check(dp, { description: `SYN ${i}`, input: syn80(5000 + i), verdict: 'TX', reasons: { TX: 1, CT_NEW: 1 } });
      const v = dp.map('lb_flood').lookup(Buffer.alloc(4)) as Buffer[];
      expect(v.every((b) => b.readBigUInt64LE(8) === 1_000_000n)).toBe(true);
    } finally {
      dp.dispose();
    }
  });
});

function syn80(sport: number): Buffer {
  return tcp({ src: CLIENT, dst: VIP, sport, dport: 80, flags: 'S' });
}
