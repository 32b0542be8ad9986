// A strategy per service (bpf/lib/dispatch.h): one program that core assembled from several
// fragments, each service naming its own by index (lb_svc.strategy). Through BPF_PROG_TEST_RUN:
// hash, random, round-robin and a third-party fragment on one VIP at once, 10,000 flows each,
// each service's choices equal to its strategy's reference model flow for flow (random: a uniform
// draw whose clock the test cannot see, so its spread instead); two third-party fragments in one
// program, each with its own map; a clash of names refused naming both files; and a service moved
// to another strategy: tracked flows keep their backend, new flows follow the new strategy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleProgram, type Strategy, type StrategyBackend } from '@xdp-lb/core';
import { hash } from '@xdp-lb/strategy-hash';
import { random } from '@xdp-lb/strategy-random';
import { roundRobin } from '@xdp-lb/strategy-round-robin';
import { LB_ADDR_VIP, flowKey, u32 } from './harness/abi.js';
import { backendOf, bpfSkipReason, TestDataplane } from './harness/dataplane.js';
import { clients, tcp } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf per-service] skipped: ${bpfSkipReason}`);

const VIP = '198.18.0.10';
const SEED = 0x2545f491;
const FLOWS = 10_000;
const SUBNET_AFFINITY = fileURLToPath(
  new URL('../../deploy/examples/strategies/subnet-affinity/bpf/subnet-affinity.bpf.c', import.meta.url),
);
const SPORT_MOD = fileURLToPath(new URL('fixtures/sport-mod.bpf.c', import.meta.url));
const RR_CLASH = fileURLToPath(new URL('fixtures/rr-clash.bpf.c', import.meta.url));

/** What a service's strategy is to the test: its fragment, its table and the backend its model picks for flow #i of the service. */
interface Under {
  name: string;
  fragment: string;
  table: (bs: StrategyBackend[]) => Uint32Array;
  /** undefined: no flow-for-flow model (random: the data plane's clock). */
  model?: (table: Uint32Array, c: { src: string; sport: number }, dport: number, i: number) => number | undefined;
}

const key = (c: { src: string; sport: number }, dport: number) => flowKey({ src: c.src, dst: VIP, sport: c.sport, dport, proto: 'tcp' });
const slotTable = (bs: StrategyBackend[]) => Uint32Array.from(bs.flatMap((b) => Array<number>(b.weight).fill(b.id)));

function builtin(s: Strategy<any>, model: boolean): Under {
  const opts = s.optionsSchema.parse({});
  return {
    name: s.id,
    fragment: s.fragmentPath!,
    table: (bs) => s.buildTable(bs, opts),
    ...(model ? { model: (t, c, dport, i) => s.model!(t, { flowKey: key(c, dport), hashSeed: SEED, random: 0, counter: i }, opts) } : {}),
  };
}

/** The example third-party package deploy/examples/strategies/subnet-affinity: its fragment and its own model (index.js). */
const subnetPkg = (await import(new URL('../../deploy/examples/strategies/subnet-affinity/index.js', import.meta.url).href)) as {
  strategy: Strategy<{ maxSlots: number }>;
};
const subnetAffinity: Under = {
  name: 'subnet-affinity',
  fragment: SUBNET_AFFINITY,
  table: (bs) => subnetPkg.strategy.buildTable(bs, { maxSlots: 65536 }),
  model: (t, c, dport) =>
    subnetPkg.strategy.model!(t, { flowKey: key(c, dport), hashSeed: SEED, random: 0, counter: 0 }, { maxSlots: 65536 }),
};

/** fixtures/sport-mod.bpf.c: slot[sport % n]. */
const sportMod: Under = { name: 'sport-mod', fragment: SPORT_MOD, table: slotTable, model: (t, c) => t[c.sport % t.length] };

const backends: StrategyBackend[] = [1, 2, 3, 4].map((w, i) => ({ id: i + 1, key: `198.18.2.${i + 1}:80`, weight: w }));

let cacheDir: string;
beforeAll(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'xdp-lb-per-service-'));
});
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

/** The assembled program of `unders` loaded, one DSR service per strategy on VIP:80, :81, ... (service i: strategy i, id i). */
async function setUp(unders: Under[]) {
  const object = assembleProgram(
    unders.map((u) => u.fragment),
    { cacheDir },
  );
  const dp = await TestDataplane.loadObject(object, unders.map((u) => u.name).join('+'), { hash_seed: SEED, ct_refresh_ns: 1_000_000_000 });
  dp.addAddr(VIP, LB_ADDR_VIP);
  for (const b of backends) dp.setBackend(b.id, { addr: `198.18.2.${b.id}`, port: 80 });
  const tables = unders.map((u, i) => {
    dp.addService({ vip: VIP, port: 80 + i, proto: 'tcp', id: i, fwd: 'dsr', strategy: i });
    const t = u.table(backends);
    dp.setTable(i, t);
    return t;
  });
  return { dp, tables };
}

/** The assembled program of `unders` for a describe's tests (loaded before them, disposed after). */
function useProgram(unders: Under[]): { dp: TestDataplane; tables: Uint32Array[] } {
  const got = {} as { dp: TestDataplane; tables: Uint32Array[] };
  beforeAll(async () => {
    Object.assign(got, await setUp(unders));
  }, 120_000);
  afterAll(() => got.dp?.dispose());
  return got;
}

function send(dp: TestDataplane, c: { src: string; sport: number }, dport: number, flags: string): number {
  const r = dp.run(tcp({ src: c.src, dst: VIP, sport: c.sport, dport, flags }));
  return r.verdict === 'TX' ? backendOf(r.data) : -1;
}

/** Sends `perService` new flows to each service, interleaved (the dispatcher alternates); the picks per service. */
function newFlows(dp: TestDataplane, services: number, perService: number, seed: number) {
  const cs = clients(services * perService, seed);
  const picks = Array.from({ length: services }, () => [] as { c: { src: string; sport: number }; got: number }[]);
  cs.forEach((c, k) => {
    const s = k % services;
    picks[s]!.push({ c, got: send(dp, c, 80 + s, 'S') });
  });
  return picks;
}

describe.skipIf(bpfSkipReason !== null)('one program, a strategy per service', () => {
  const unders = [builtin(hash, true), builtin(random, false), builtin(roundRobin, true), subnetAffinity];
  let dp: TestDataplane;
  let tables: Uint32Array[];
  let picks: ReturnType<typeof newFlows>;

  beforeAll(async () => {
    ({ dp, tables } = await setUp(unders));
    picks = newFlows(dp, unders.length, FLOWS, 16);
  }, 120_000);
  afterAll(() => dp?.dispose());

  it("stamps each fragment's id in rodata, in program order", () => {
    unders.forEach((u, i) => expect(dp.variable(`lb_strat_${i}`).toString('latin1').replace(/\0+$/, '')).toBe(u.name));
    expect(dp.variable('lb_strategy').toString('latin1').replace(/\0+$/, '')).toBe('hash');
  });

  it.each([0, 2, 3])(`service %i: ${FLOWS} flows, each where its strategy's model puts it`, (s) => {
    const u = unders[s]!;
    const wrong = picks[s]!.map((p, i) => ({ ...p, want: u.model!(tables[s]!, p.c, 80 + s, i) })).filter((p) => p.got !== p.want);
    expect(wrong.slice(0, 3), `${u.name}: ${wrong.length} of ${FLOWS} flows off the model`).toEqual([]);
  });

  it("the random service: a uniform draw over its weighted table, not another strategy's choice", () => {
    const got = picks[1]!.map((p) => p.got);
    const share = (id: number) => got.filter((g) => g === id).length / FLOWS;
    for (const b of backends) expect(Math.abs(share(b.id) - b.weight / 10)).toBeLessThan(0.03);
    // the hash model on the same flows agrees only by chance (about 30% with these weights)
    const sameAsHash = picks[1]!.filter(
      (p) =>
        p.got === hash.model!(tables[1]!, { flowKey: key(p.c, 81), hashSeed: SEED, random: 0, counter: 0 }, hash.optionsSchema.parse({})),
    ).length;
    expect(sameAsHash / FLOWS).toBeLessThan(0.5);
  });

  it('a strategy index the program does not carry: no backend, the flow dropped and counted', () => {
    dp.addService({ vip: VIP, port: 90, proto: 'tcp', id: 9, fwd: 'dsr', strategy: 7 });
    dp.setTable(9, slotTable(backends));
    const before = dp.reasons().DROP_NO_BACKEND;
    expect(send(dp, { src: '10.9.9.9', sport: 4242 }, 90, 'S')).toBe(-1);
    expect(dp.reasons().DROP_NO_BACKEND - before).toBe(1n);
  });
});

describe.skipIf(bpfSkipReason !== null)('two third-party fragments in one program', () => {
  const unders = [subnetAffinity, sportMod];
  const p = useProgram(unders);

  it('each service follows its own fragment, which keeps its own map', () => {
    const { dp, tables } = p;
    const picks = newFlows(dp, 2, 2000, 17);
    unders.forEach((u, s) => {
      const wrong = picks[s]!.filter((p, i) => p.got !== u.model!(tables[s]!, p.c, 80 + s, i));
      expect(wrong.length, u.name).toBe(0);
    });
    // sport-mod counted its own flows in its own map (service id 1), and only those
    expect((dp.map('sport_mod_picks').lookup(u32(1)) as Buffer).readBigUInt64LE(0)).toBe(2000n);
    expect((dp.map('sport_mod_picks').lookup(u32(0)) as Buffer).readBigUInt64LE(0)).toBe(0n);
  });

  it('fragments whose names clash are refused, naming both files', () => {
    let message = '';
    try {
      assembleProgram([roundRobin.fragmentPath!, RR_CLASH], { cacheDir });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/both define 'lb_rr_ctr'/);
    expect(message).toContain(RR_CLASH);
    expect(message).toContain(roundRobin.fragmentPath!);
  });
});

describe.skipIf(bpfSkipReason !== null)('moving a service to another strategy', () => {
  const unders = [builtin(hash, true), sportMod];
  const p = useProgram(unders);

  it('tracked flows keep their backend; new flows follow the new strategy', () => {
    const { dp, tables } = p;
    const old = clients(2000, 18);
    const first = old.map((c) => send(dp, c, 80, 'S'));
    old.forEach((c) => send(dp, c, 80, 'A')); // established (promoted to lb_ct)
    old.forEach((c, i) => expect(first[i]).toBe(unders[0]!.model!(tables[0]!, c, 80, i)));
    // service :80 moves from hash (0) to sport-mod (1): one write of its entry, as core does after
    // swapping in the new strategy's table
    tables[0] = sportMod.table(backends);
    dp.setTable(0, tables[0]);
    dp.addService({ vip: VIP, port: 80, proto: 'tcp', id: 0, fwd: 'dsr', strategy: 1 });
    const again = old.map((c) => send(dp, c, 80, 'A'));
    expect(again).toEqual(first);
    const fresh = clients(2000, 19);
    const wrong = fresh.filter((c) => send(dp, c, 80, 'S') !== sportMod.model!(tables[0]!, c, 80, 0));
    expect(wrong.length).toBe(0);
    // the flows that the two strategies place differently prove the move (not a coincidence)
    expect(old.filter((c, i) => sportMod.model!(tables[0]!, c, 80, 0) !== first[i]).length).toBeGreaterThan(500);
  });
});
