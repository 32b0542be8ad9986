// The strategies' behaviour through the real objects (issue 3): stickiness of 10,000 flows of
// several packets, the spread each strategy promises, the hash strategy agreeing with its TypeScript
// model flow for flow (five-tuple and source-only), Maglev's minimal disruption when a backend goes,
// round-robin following its smooth weighted sequence across flows, and draining.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinStrategy } from '@xdp-lb/builtins';
import type { StrategyBackend } from '@xdp-lb/core';
import { hash } from '@xdp-lb/strategy-hash';
import { roundRobin } from '@xdp-lb/strategy-round-robin';
import { LB_ADDR_VIP, LB_BE_DRAINING, LB_BE_EMPTY, flowKey } from './harness/abi.js';
import { backendOf, bpfSkipReason, STRATEGIES, type StrategyId, TestDataplane } from './harness/dataplane.js';
import { clients, tcp } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf strategies] skipped: ${bpfSkipReason}`);

const VIP = '198.18.0.10';
const SEED = 0x2545f491;
const FLOWS = 10_000;

function backends(weights: number[]): StrategyBackend[] {
  return weights.map((weight, i) => ({ id: i + 1, key: `198.18.2.${i + 1}:80`, weight }));
}

/** A DSR service VIP:80 (id 0) over `bs`, its table built by the strategy's own TypeScript. */
async function setUp(id: StrategyId, bs: StrategyBackend[], options: Record<string, unknown> = {}) {
  const dp = await TestDataplane.load(id, { hash_seed: SEED, ct_refresh_ns: 1_000_000_000 });
  const strategy = builtinStrategy(id);
  const opts = strategy.optionsSchema.parse(options) as never;
  const flags = strategy.serviceFlags(opts);
  dp.addAddr(VIP, LB_ADDR_VIP);
  dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 0, fwd: 'dsr', flags });
  for (const b of bs) dp.setBackend(b.id, { addr: `198.18.2.${b.id}`, port: 80 });
  const table = strategy.buildTable(bs, opts);
  dp.setTable(0, table);
  return { dp, table, opts };
}

/** Sends one packet of a flow; returns the backend id it went to (-1: not forwarded). */
function send(dp: TestDataplane, c: { src: string; sport: number }, flags: string, payload = ''): number {
  const r = dp.run(tcp({ src: c.src, dst: VIP, sport: c.sport, dport: 80, flags, payload }));
  return r.verdict === 'TX' ? backendOf(r.data) : -1;
}

function shares(picks: number[], ids: number[]): Map<number, number> {
  const m = new Map<number, number>(ids.map((i) => [i, 0]));
  for (const p of picks) m.set(p, (m.get(p) ?? 0) + 1);
  for (const [k, v] of m) m.set(k, v / picks.length);
  return m;
}

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('stickiness and spread [%s]', (id) => {
  const weights = [1, 2, 3, 4];
  const flows = clients(FLOWS, 1);
  let dp: TestDataplane;
  const first: number[] = [];

  beforeAll(async () => {
    ({ dp } = await setUp(id, backends(weights)));
  });
  afterAll(() => dp?.dispose());

  it(`${FLOWS} flows x 4 packets: every packet of a flow reaches the same backend`, () => {
    for (const c of flows) first.push(send(dp, c, 'S'));
    expect(first.every((b) => b >= 1 && b <= 4)).toBe(true);
    // Interleaved rounds: each flow's later packets come after every other flow's first.
    for (const [flags, payload] of [
      ['A', ''],
      ['PA', 'GET / HTTP/1.1\r\n\r\n'],
      ['FA', ''],
    ] as const) {
      const moved = flows.filter((c, i) => send(dp, c, flags, payload) !== first[i]);
      expect(moved.length, `${flags}: flows that changed backend`).toBe(0);
    }
    expect(dp.reasons().CT_NEW).toBe(BigInt(FLOWS));
  });

  it('spread: per-backend shares within 5 sigma of the weight shares', () => {
    // Every strategy promises at least this much: the binomial noise of FLOWS weighted draws
    // (round-robin does better, exactly, as the test below holds it to).
    const s = shares(first, [1, 2, 3, 4]);
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((w, i) => {
      const p = w / total;
      const sigma = Math.sqrt((p * (1 - p)) / FLOWS);
      expect(Math.abs(s.get(i + 1)! - p), `backend ${i + 1}: share ${s.get(i + 1)} vs ${p}`).toBeLessThan(5 * sigma + 0.005);
    });
  });
});

describe.skipIf(bpfSkipReason !== null)('round-robin: the smooth weighted sequence', () => {
  it(`${FLOWS} new flows: flow i takes slot i of the sequence, exact over whole cycles`, async () => {
    const weights = [1, 2, 3, 4];
    const { dp, table } = await setUp('round-robin', backends(weights));
    try {
      const first = clients(FLOWS, 1).map((c) => send(dp, c, 'S'));
      const s = shares(first, [1, 2, 3, 4]);
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((w, i) => expect(s.get(i + 1)! * FLOWS).toBe((FLOWS * w) / total));
      // The counter started at 0 and advanced once per flow.
      const expected = first.map((_, i) => roundRobin.model(table, { flowKey: new Uint8Array(40), hashSeed: 0, random: 0, counter: i }));
      expect(first).toEqual(expected);
    } finally {
      dp.dispose();
    }
  });
});

describe.skipIf(bpfSkipReason !== null)('hash: the data plane agrees with the TypeScript model', () => {
  it.each(['five-tuple', 'source', 'destination-port'] as const)(`${FLOWS} random flows, hashFields %s`, async (hashFields) => {
    const bs = backends([1, 1, 1, 1, 1, 1, 1]);
    const { dp, table, opts } = await setUp('hash', bs, { hashFields });
    try {
      const flows = clients(FLOWS, 2);
      let disagree = 0;
      for (const c of flows) {
        const want = hash.model(
          table,
          { flowKey: flowKey({ src: c.src, dst: VIP, sport: c.sport, dport: 80, proto: 'tcp' }), hashSeed: SEED, random: 0, counter: 0 },
          opts,
        );
        if (send(dp, c, 'S') !== want) disagree++;
      }
      expect(disagree).toBe(0);
      if (hashFields === 'source') {
        // client affinity: every port of one address lands on one backend
        const src = flows[0]!.src;
        const picks = new Set(Array.from({ length: 50 }, (_, i) => send(dp, { src, sport: 2000 + i }, 'S')));
        expect(picks.size).toBe(1);
      }
    } finally {
      dp.dispose();
    }
  });

  it('removing one of N backends: tracked flows keep theirs, untracked flows move about 1/N', async () => {
    const N = 10;
    const bs = backends(new Array(N).fill(1));
    const { dp, table, opts } = await setUp('hash', bs);
    try {
      const flows = clients(FLOWS, 3);
      const before = flows.map((c) => send(dp, c, 'S'));
      const removed = 4;
      const remaining = bs.filter((b) => b.id !== removed);
      const newTable = hash.buildTable(remaining, opts);
      dp.setTable(0, newTable);
      dp.setBackend(removed, { addr: `198.18.2.${removed}`, port: 80, state: LB_BE_EMPTY, gen: 2 });

      // Tracked flows: all that were not on the removed backend keep their backend.
      const model = (t: Uint32Array, c: { src: string; sport: number }) =>
        hash.model(
          t,
          { flowKey: flowKey({ src: c.src, dst: VIP, sport: c.sport, dport: 80, proto: 'tcp' }), hashSeed: SEED, random: 0, counter: 0 },
          opts,
        );
      let reselected = 0;
      flows.forEach((c, i) => {
        const now = send(dp, c, 'A');
        if (before[i] === removed) {
          reselected++;
          expect(now).toBe(model(newTable, c));
        } else {
          expect(now).toBe(before[i]);
        }
      });
      expect(dp.reasons().CT_RESELECT).toBe(BigInt(reselected));

      // Untracked flows: new ones go where the new table says; compared with the old table, about 1/N move.
      const fresh = clients(FLOWS, 4);
      let moved = 0;
      for (const c of fresh) {
        const got = send(dp, c, 'S');
        expect(got).toBe(model(newTable, c));
        if (got !== model(table, c)) moved++;
      }
      const fraction = moved / FLOWS;
      expect(fraction).toBeGreaterThan(0.8 / N);
      expect(fraction).toBeLessThan(1.5 / N);
    } finally {
      dp.dispose();
    }
  });
});

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('draining [%s]', (id) => {
  it('a draining backend gets no new flow and keeps its existing ones', async () => {
    const bs = backends([1, 1, 1]);
    const { dp, opts } = await setUp(id, bs);
    try {
      const flows = clients(3000, 5);
      const before = flows.map((c) => send(dp, c, 'S'));
      const draining = 2;
      expect(before.filter((b) => b === draining).length).toBeGreaterThan(0);
      dp.setBackend(draining, { addr: '198.18.2.2', port: 80, state: LB_BE_DRAINING });
      dp.setTable(
        0,
        builtinStrategy(id).buildTable(
          bs.filter((b) => b.id !== draining),
          opts as never,
        ),
      );
      flows.forEach((c, i) => expect(send(dp, c, 'A')).toBe(before[i]));
      const fresh = clients(3000, 6).map((c) => send(dp, c, 'S'));
      expect(fresh.includes(draining)).toBe(false);
      expect(new Set(fresh)).toEqual(new Set([1, 3]));
    } finally {
      dp.dispose();
    }
  });
});
