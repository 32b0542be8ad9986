/**
 * Packet rate: packets per second the LB forwards in native XDP mode on a veth, from our own
 * generator; against a bare XDP_TX hairpin (the ceiling) and nftables DNAT (the usual
 * alternative), on the same generator and cores.
 *
 *   gen ns                                          lb ns
 *   gXXX (xdp_loop: the generator) <==veth==> lXXX (the LB | xdp_tx | xdp_pass + nftables DNAT)
 *
 * The generator is a closed loop of frames (loop-generator.ts): it needs no live frames
 * (BPF_F_TEST_XDP_LIVE_FRAMES), which this project's CI kernel refuses. Each side's NAPI runs in
 * its own thread on its own CPU; the generator's ceiling is measured in the same run from its
 * thread's CPU time, and a figure within 1.5x of it is reported as generator-bound. The backends'
 * addresses resolve (permanent neighbour entries) to the generator's MAC, so what the LB forwards
 * comes back to the generator.
 */
import { Abi, parseIp } from '@xdp-lb/core';
import { randomBytes } from 'node:crypto';
import { BpfLink, BpfObject, ifNameToIndex, inNetns } from '@xdp-lb/native';
import { Lab, type LabHost, parseIpv4, parseMac } from '@xdp-lb/netlab';
import { kernelProblem, missingObjects, missingTools, objects, TOOLS, aptHint } from '../env.js';
import { fillFlowTable, ftBuckets, ftTuple, templateSlot } from '../ft-fill.js';
import { Deployed, formatReasons, instanceName, STRATEGY_IDS, type StrategyId } from '../lb.js';
import { LOOP_FRAMES, LoopGenerator, type LoopRun } from '../loop-generator.js';
import { shuffled, prng, type Stat, summarize } from '../stats.js';
import type { Bar, Benchmark, BenchContext, Headline, Section } from '../types.js';

const GEN_MAC = '02:00:c6:12:00:65';
const LB_MAC = '02:00:c6:12:00:02';
const LB_ADDR = '198.18.0.2';
const VIP = '198.18.0.10';
const BACKENDS = ['198.18.0.11', '198.18.0.12'];
const DPORT = 5000;
const FRAME = 60; // 64 bytes on the wire with the FCS
/** A rate within this factor of the generator's ceiling is generator-bound (the issue's 1.5x). */
const GEN_HEADROOM = 1.5;

type Kind = 'hairpin' | 'lb' | 'nft';

interface Config {
  key: string;
  label: string;
  kind: Kind;
  strategy?: StrategyId;
  forward?: 'dsr' | 'nat';
  /** One flow (the established path), a new flow per frame, or 1M live flows in turn. */
  flows: Flows;
}

type Flows = 'one' | 'new' | 'million';
const MILLION = 1_000_000;

export interface RateResult {
  key: string;
  label: string;
  kind: Kind;
  flows: Flows;
  /** Frames per second forwarded back to the generator, millions; one sample per round. */
  mpps: Stat;
  /** The generator's ceiling in the same rounds: frames / its thread's CPU seconds, millions. */
  genCeilingMpps: Stat;
  /** The tested side's own capacity: frames / its thread's CPU seconds, millions. */
  testCapacityMpps: Stat;
  /** Share of the wall time the tested side's thread ran (1: busy all the time, the rate is its own). */
  testBusy: Stat;
  /** The median rate is within GEN_HEADROOM of the generator's ceiling: it measures the generator. */
  generatorBound: boolean;
  /** Frames counted in the last round, and those still circulating at its end (of LOOP_FRAMES). */
  frames: number;
  alive: number;
  /** What the LB's reason counters say about the last round. */
  reasons?: string;
}

/** A dotted IPv4 address as a host-order number (what xdp_loop's rodata takes). */
const ip = (s: string) => parseIpv4(s).readUInt32BE(0);

export const packetRate: Benchmark = {
  name: 'packet-rate',
  title: 'Packet rate in native mode (closed-loop generator)',
  tools: [TOOLS.nft],
  seconds: { quick: 25, full: 110 },
  unavailable: () => kernelProblem() ?? missingObjects(['bench', 'xdpTx', 'xdpPass']),
  run: (ctx) => runPacketRate(ctx),
};

function configs(quick: boolean, nft: boolean): Config[] {
  const list: Config[] = [
    { key: 'hairpin', label: 'XDP_TX hairpin (ceiling)', kind: 'hairpin', flows: 'one' },
    { key: 'lb-hash-dsr-one', label: 'xdp-lb hash, dsr, one flow', kind: 'lb', strategy: 'hash', forward: 'dsr', flows: 'one' },
    { key: 'lb-hash-dsr-new', label: 'xdp-lb hash, dsr, new flow per packet', kind: 'lb', strategy: 'hash', forward: 'dsr', flows: 'new' },
  ];
  if (!quick) {
    list.push(
      { key: 'lb-hash-nat-one', label: 'xdp-lb hash, nat, one flow', kind: 'lb', strategy: 'hash', forward: 'nat', flows: 'one' },
      // Every other strategy's new-flow rate, beside hash's (the registry's strategies).
      ...STRATEGY_IDS.filter((s) => s !== 'hash').map((strategy): Config => ({
        key: `lb-${strategy}-dsr-new`,
        label: `xdp-lb ${strategy}, dsr, new flow per packet`,
        kind: 'lb',
        strategy,
        forward: 'dsr',
        flows: 'new',
      })),
      {
        key: 'lb-hash-dsr-1m',
        label: 'xdp-lb hash, dsr, 1M live flows in turn',
        kind: 'lb',
        strategy: 'hash',
        forward: 'dsr',
        flows: 'million',
      },
    );
  }
  if (nft) {
    list.push({ key: 'nft-one', label: 'nftables DNAT, one flow', kind: 'nft', flows: 'one' });
    if (!quick) list.push({ key: 'nft-new', label: 'nftables DNAT, new flow per packet', kind: 'nft', flows: 'new' });
  }
  return list;
}

const NFT_TABLE = 'xlbb_rate';
const nftRules = () => `table ip ${NFT_TABLE} {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${VIP} udp dport ${DPORT} dnat to numgen inc mod 2 map { 0 : ${BACKENDS[0]}, 1 : ${BACKENDS[1]} }
  }
}
`;

async function runPacketRate(ctx: BenchContext): Promise<Section> {
  const rounds = ctx.quick ? 2 : 3;
  const seconds = ctx.quick ? 0.5 : 2;
  const warnings: string[] = [];
  const nftMissing = missingTools([TOOLS.nft]);
  if (nftMissing.length) warnings.push(`nftables DNAT not measured: nft is missing (${aptHint(nftMissing)})`);
  const list = configs(ctx.quick, nftMissing.length === 0);

  const lab = await Lab.up(
    {
      hosts: [
        { name: 'gen', interfaces: [] },
        { name: 'lb', interfaces: [], forwarding: true },
      ],
    },
    { prefix: 'xlbb' },
  );
  const gen = lab.host('gen');
  const lb = lab.host('lb');
  // Short names of this run only: the NAPI threads are found by name (napi/<dev>-<id>, 15 characters).
  const tag = randomBytes(2).toString('hex').slice(0, 3);
  const genDev = `g${tag}`;
  const lbDev = `l${tag}`;
  const objs: BpfObject[] = [];
  let loop: LoopGenerator | undefined;
  const runs = new Map<string, LoopRun[]>();
  const last = new Map<string, { reasons?: string }>();
  try {
    await setupVeth(gen, lb, genDev, lbDev);
    const open = async (path: string) => {
      const o = BpfObject.open(path);
      objs.push(o);
      await o.load();
      return o;
    };
    const tx = await open(objects.xdpTx());
    const pass = await open(objects.xdpPass());
    loop = await LoopGenerator.start(objects.bench(), {
      gen,
      genDev,
      test: lb,
      testDev: lbDev,
      frame: {
        dmac: parseMac(LB_MAC),
        smac: parseMac(GEN_MAC),
        saddr: ip('198.19.0.1'),
        daddr: ip(VIP),
        sport: 1024,
        dport: DPORT,
        length: FRAME,
      },
    });
    const l0 = inNetns(lb.netns.path, () => ifNameToIndex(lbDev));
    const flowsOf = (f: Flows) => (f === 'one' ? 1 : f === 'new' ? 0 : MILLION);
    // 611953 is coprime with 10^6: every flow once per cycle, scattered over the entries' memory.
    const strideOf = (f: Flows) => (f === 'million' ? 611_953 : 1);

    const rand = prng(11);
    const totalSteps = rounds * list.length;
    let step = 0;
    for (let r = 0; r < rounds; r++) {
      // Interleaved rounds, in a different order each time (the hairpin first in the first round).
      const order = r === 0 ? list : shuffled(list, rand);
      for (const c of order) {
        ctx.progress(step++ / totalSteps, `round ${r + 1}/${rounds}: ${c.label}`);
        let dp: Deployed | undefined;
        let link: BpfLink | undefined;
        try {
          if (c.kind === 'hairpin') link = inNetns(lb.netns.path, () => BpfLink.attachXdp(tx.program('xdp_tx'), l0, { mode: 'drv' }));
          if (c.kind === 'nft') {
            link = inNetns(lb.netns.path, () => BpfLink.attachXdp(pass.program('xdp_pass'), l0, { mode: 'drv' }));
            await lb.exec(['nft', '-f', '-'], { input: nftRules() });
          }
          if (c.kind === 'lb') {
            dp = await Deployed.deploy(lab, 'lb', {
              instance: instanceName(`pr-${c.strategy!.slice(0, 2)}`),
              strategy: c.strategy,
              interfaces: [`${lbDev}:native`],
              ...(c.forward === 'nat' ? { snat: { addresses: [LB_ADDR] } } : {}),
              ...(c.flows === 'million' ? { limits: { conntrackSize: 1 << 21 } } : {}),
              // A new flow per packet is a flood by design: with the guard on, hash would forward
              // statelessly (no insert measured) and random/round-robin would drop (the loop dies).
              ...(c.flows === 'new' ? { limits: { newFlowsPerSec: 0 } } : {}),
              services: [{ name: 'udp', vip: `${VIP}:${DPORT}`, protocol: 'udp', forward: c.forward, backends: BACKENDS }],
            });
          }
          loop.prepareTestSide();
          if (dp && c.flows === 'million') await loadMillion(dp, loop);
          const before = dp?.reasons();
          // The warm-up (established flows, next hops cached) is the run's first 200 ms.
          const res = await loop.run(flowsOf(c.flows), seconds, { stride: strideOf(c.flows) });
          if (res.frames === 0) throw new Error('no frame came back from the program under test');
          let list2 = runs.get(c.key);
          if (!list2) runs.set(c.key, (list2 = []));
          list2.push(res);
          last.set(c.key, dp && before ? { reasons: formatReasons(dp.reasonsSince(before)) } : {});
        } catch (e) {
          warnings.push(`${c.label}, round ${r + 1}: not measured: ${(e as Error).message.split('\n')[0]}`);
        } finally {
          if (c.kind === 'nft') await lb.exec(['nft', 'delete', 'table', 'ip', NFT_TABLE], { check: false });
          link?.dispose();
          dp?.undeploy();
        }
      }
    }
  } finally {
    loop?.dispose();
    for (const o of objs) o.dispose();
    await lab.destroy();
  }

  const results: RateResult[] = list
    .filter((c) => runs.has(c.key))
    .map((c) => {
      const rs = runs.get(c.key)!;
      const mpps = summarize(rs.map((x) => x.pps / 1e6));
      const genCeilingMpps = summarize(rs.map((x) => x.frames / Math.max(x.genCpu, 1e-9) / 1e6));
      const testCapacityMpps = summarize(rs.map((x) => x.frames / Math.max(x.testCpu, 1e-9) / 1e6));
      const testBusy = summarize(rs.map((x) => x.testCpu / x.seconds));
      const lastRun = rs[rs.length - 1]!;
      return {
        key: c.key,
        label: c.label,
        kind: c.kind,
        flows: c.flows,
        mpps,
        genCeilingMpps,
        testCapacityMpps,
        testBusy,
        generatorBound: genCeilingMpps.median < GEN_HEADROOM * mpps.median,
        frames: lastRun.frames,
        alive: lastRun.alive,
        ...(last.get(c.key)?.reasons ? { reasons: last.get(c.key)!.reasons } : {}),
      };
    });
  // A packet rate without the LB's rate is no result: fail the benchmark, saying why.
  if (!results.some((r) => r.kind === 'lb'))
    throw new Error(`packet-rate: no sample of the LB was measured: ${warnings.join('; ') || 'no case ran'}`);
  for (const r of results) {
    if (r.alive !== LOOP_FRAMES)
      warnings.push(
        `${r.label}: ${LOOP_FRAMES - r.alive} of ${LOOP_FRAMES} frames were lost in the loop (last round); its rate is a lower bound`,
      );
    if (r.generatorBound)
      warnings.push(
        `${r.label}: generator-bound: ${r.mpps.median.toFixed(2)} Mpps is within ${GEN_HEADROOM}x of the generator's ceiling (${r.genCeilingMpps.median.toFixed(2)} Mpps); read the tested side's capacity (${r.testCapacityMpps.median.toFixed(2)} Mpps per core) instead`,
      );
  }
  return report(results, rounds, seconds, warnings, ctx);
}

/** The generator's flow i (xdp_gen): source 198.19.0.1 + i / 64512, port 1024 + i % 64512, to VIP:DPORT/udp. */
function genFlow(i: number): { src: string; sport: number } {
  const a = ip('198.19.0.1') + (Math.floor(i / 64512) & 0xffff);
  const src = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
  return { src, sport: 1024 + (i % 64512) };
}

function genFlowKey(i: number): Buffer {
  const { src, sport } = genFlow(i);
  return Abi.encodeFlow({ src: parseIp(src)!, dst: parseIp(VIP)!, sport, dport: DPORT, proto: Abi.IPPROTO_UDP });
}

/**
 * 1M live flows, the ones xdp_loop cycles through with flows = 1M: flow 0 is sent by a short run
 * of the loop (the data plane makes its entry), then its entry is cloned under the other 999,999
 * tuples (batches): lb_ft4 slots when the flow table is on (ft-fill.ts; a full bucket's flows in
 * lb_ct), else lb_ct entries.
 */
async function loadMillion(dp: Deployed, loop: LoopGenerator): Promise<void> {
  await loop.run(1, 0.05, { warmupMs: 20 });
  const ct = dp.map(Abi.MAPS.ct);
  const ft4 = dp.map(Abi.MAPS.ft4);
  const buckets = ftBuckets(ft4);
  if (buckets) {
    const tupleOf = (i: number) => {
      const { src, sport } = genFlow(i);
      return { t: ftTuple(src, sport, VIP, DPORT, Abi.IPPROTO_UDP), src, sport };
    };
    const { slot } = templateSlot(ft4, tupleOf(0).t, buckets);
    await fillFlowTable(ft4, ct, MILLION, tupleOf, [slot], () => {});
    return;
  }
  const template = ct.lookup(genFlowKey(0)) as Buffer | null;
  if (!template) throw new Error('the first flow made no conntrack entry');
  for (let base = 1; base < MILLION; base += 65_536) {
    const keys: Buffer[] = [];
    for (let i = base; i < Math.min(MILLION, base + 65_536); i++) keys.push(genFlowKey(i));
    await ct.updateBatch(
      keys,
      keys.map(() => template),
    );
  }
}

async function setupVeth(gen: LabHost, lb: LabHost, genDev: string, lbDev: string): Promise<void> {
  const noV6 = { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 };
  await gen.sysctl(noV6);
  await lb.sysctl({
    ...noV6,
    'net.ipv4.conf.all.send_redirects': 0,
    'net.ipv4.conf.default.send_redirects': 0,
    'net.ipv4.conf.all.rp_filter': 0,
    'net.ipv4.conf.default.rp_filter': 0,
  });
  await gen.exec(['ip', 'link', 'add', genDev, 'type', 'veth', 'peer', 'name', lbDev, 'netns', lb.netns.name]);
  await gen.exec(['ip', 'link', 'set', genDev, 'address', GEN_MAC, 'up']);
  await lb.exec(['ip', '-batch', '-'], {
    input: [
      `link set ${lbDev} address ${LB_MAC} up`,
      `addr add ${LB_ADDR}/24 dev ${lbDev}`,
      `addr add ${VIP}/32 dev ${lbDev}`,
      ...BACKENDS.map((b) => `neigh replace ${b} lladdr ${GEN_MAC} dev ${lbDev} nud permanent`),
    ].join('\n'),
  });
  await lb.sysctl({
    [`net.ipv4.conf.${lbDev}.forwarding`]: 1,
    [`net.ipv4.conf.${lbDev}.send_redirects`]: 0,
    [`net.ipv4.conf.${lbDev}.rp_filter`]: 0,
  });
}

function report(results: RateResult[], rounds: number, seconds: number, warnings: string[], ctx: BenchContext): Section {
  const get = (k: string) => results.find((r) => r.key === k);
  const hairpin = get('hairpin');
  const nft = get('nft-one');
  const one = get('lb-hash-dsr-one');
  const fmt = (s: Stat) => (s.n > 1 ? `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : s.median.toFixed(2));
  const bound = (r: RateResult) => (r.generatorBound ? ' (generator-bound)' : '');
  const headlines: Headline[] = [];
  if (one && hairpin) {
    // A wall rate the generator held back says nothing about the target: then only the capacity
    // line (CPU time of the tested side's own thread) is judged.
    const bothFree = !one.generatorBound && !hairpin.generatorBound;
    headlines.push({
      metric: 'forwarded, hash dsr, one flow (native, veth)',
      value: one.mpps.median,
      unit: 'Mpps',
      spread: `${one.mpps.min.toFixed(2)}–${one.mpps.max.toFixed(2)} over ${one.mpps.n} rounds${bothFree ? '' : '; generator-bound: see the capacity line'}`,
      ratio: {
        value: one.mpps.median / hairpin.mpps.median,
        of: `the XDP_TX hairpin (${hairpin.mpps.median.toFixed(2)} Mpps${bound(hairpin)})`,
      },
      ...(bothFree
        ? {
            target: {
              value: 0.7 * hairpin.mpps.median,
              better: 'higher' as const,
              text: `≥ 0.7x the hairpin = ${(0.7 * hairpin.mpps.median).toFixed(2)} Mpps`,
            },
          }
        : {}),
    });
    headlines.push({
      metric: "capacity per core, hash dsr, one flow (frames / the LB thread's CPU seconds)",
      value: one.testCapacityMpps.median,
      unit: 'Mpps',
      spread: `${one.testCapacityMpps.min.toFixed(2)}–${one.testCapacityMpps.max.toFixed(2)} over ${one.testCapacityMpps.n} rounds`,
      ratio: {
        value: one.testCapacityMpps.median / hairpin.testCapacityMpps.median,
        of: `the hairpin's capacity (${hairpin.testCapacityMpps.median.toFixed(2)} Mpps)`,
      },
      target: {
        value: 0.7 * hairpin.testCapacityMpps.median,
        better: 'higher',
        text: `≥ 0.7x the hairpin's = ${(0.7 * hairpin.testCapacityMpps.median).toFixed(2)} Mpps`,
      },
    });
  }
  if (one && nft) {
    headlines.push({
      metric: 'capacity per core, hash dsr, one flow, vs nftables DNAT',
      value: one.testCapacityMpps.median / nft.testCapacityMpps.median,
      unit: 'x',
      spread: `nftables DNAT ${nft.testCapacityMpps.median.toFixed(2)} Mpps per core (${nft.mpps.median.toFixed(2)} Mpps wall${bound(nft)})`,
      target: { value: 5, better: 'higher', text: '≥ 5x nftables DNAT' },
    });
  }
  const million = get('lb-hash-dsr-1m');
  if (million && one) {
    headlines.push({
      metric: 'forwarded, hash dsr, 1M live flows in turn',
      value: million.mpps.median,
      unit: 'Mpps',
      spread: `${(1000 / million.mpps.median - 1000 / one.mpps.median).toFixed(0)} ns more per packet than one flow`,
      ratio: { value: million.mpps.median / one.mpps.median, of: 'one flow' },
    });
  }
  const newFlow = get('lb-hash-dsr-new');
  if (newFlow && hairpin)
    headlines.push({
      metric: 'forwarded, hash dsr, new flow per packet',
      value: newFlow.mpps.median,
      unit: 'Mpps',
      ratio: { value: newFlow.mpps.median / hairpin.mpps.median, of: 'the hairpin' },
    });
  if (hairpin)
    headlines.push({
      metric: 'XDP_TX hairpin (ceiling)',
      value: hairpin.mpps.median,
      unit: 'Mpps',
      spread: `${hairpin.mpps.min.toFixed(2)}–${hairpin.mpps.max.toFixed(2)}${bound(hairpin)}`,
    });
  if (one)
    headlines.push({
      metric: "generator's ceiling (same rounds as hash dsr, one flow)",
      value: one.genCeilingMpps.median,
      unit: 'Mpps',
      spread: `${(one.genCeilingMpps.median / one.mpps.median).toFixed(2)}x the rate it measured (${GEN_HEADROOM}x needed)`,
    });

  const bars: Bar[] = results.map((r) => ({
    label: r.label,
    value: r.mpps.median,
    lo: r.mpps.min,
    hi: r.mpps.max,
    group: r.kind === 'lb' ? 'xdp-lb' : r.kind === 'hairpin' ? 'XDP_TX hairpin' : 'nftables',
    text: `${r.mpps.median.toFixed(2)} Mpps${hairpin && r !== hairpin ? ` (${(r.mpps.median / hairpin.mpps.median).toFixed(2)}x)` : ''}${bound(r)}`,
  }));
  return {
    summary: [
      one && hairpin
        ? `xdp-lb (hash, dsr) forwards ${one.mpps.median.toFixed(2)} Mpps of one flow on one core${bound(one)}, with the generator's ceiling at ${one.genCeilingMpps.median.toFixed(2)} Mpps: ${(one.mpps.median / hairpin.mpps.median).toFixed(2)}x the XDP_TX hairpin (${hairpin.mpps.median.toFixed(2)} Mpps)${nft ? ` and ${(one.mpps.median / nft.mpps.median).toFixed(1)}x nftables DNAT (${nft.mpps.median.toFixed(2)} Mpps)` : ''}.`
        : 'The LB or the hairpin was not measured.',
      ...(newFlow ? [`With a new flow in every packet: ${newFlow.mpps.median.toFixed(2)} Mpps (${newFlow.reasons ?? ''}).`] : []),
      ...(million && one
        ? [
            `Cycling through 1M live flows (every packet a conntrack lookup that misses the caches): ${million.mpps.median.toFixed(2)} Mpps, ${(1000 / million.mpps.median - 1000 / one.mpps.median).toFixed(0)} ns more per packet than one flow.`,
          ]
        : []),
    ],
    method: [
      "Two namespaces joined by one veth pair (generator end <-> LB end), IPv6 off, nothing else on the link. The generator is a closed loop (packages/bench/src/loop-generator.ts): 128 frames are injected once with AF_PACKET; xdp_loop (native, on the generator end) writes every header of every 64-byte (60 + FCS) IPv4/UDP frame for the next flow, counts it and sends it (XDP_TX) to the program under test, and every frame that program sends back comes to xdp_loop again. No BPF_F_TEST_XDP_LIVE_FRAMES is used (this machine's kernel refuses it).",
      `On the LB end, native mode: the LB deployed by core (UDP service ${VIP}:${DPORT}, 2 backends whose addresses resolve to the generator's MAC), or bpf/obj/xdp_tx.bpf.o (swaps MACs, XDP_TX: the ceiling), or xdp_pass plus an nftables prerouting DNAT rule (numgen over the 2 backends; the kernel forwards the packet back out; conntrack on, DNAT only).`,
      `Each end's NAPI runs in its own thread (threaded NAPI), pinned to CPU ${ctx.machine.cores >= 2 ? '0 (generator) and CPU 1 (program under test)' : '0 (both: one CPU)'} at nice -20 (other work on the machine gets ~1% of those CPUs while they are busy).`,
      'New flow per packet: the SYN-flood guard is off for these cases (limits.newFlowsPerSec: 0), so every packet is a conntrack insert (with the guard on, hash would forward statelessly and random/round-robin would drop).',
      `Rate = frames that came back / wall time (${seconds} s per round after a 200 ms warm-up). The generator's ceiling = the same frames / the generator thread's CPU seconds (/proc/<pid>/schedstat), measured in the same round; a rate within ${GEN_HEADROOM}x of it is marked generator-bound. "Capacity per core" = frames / the tested side's thread CPU seconds.`,
      'When neither side is busy all the time (the "tested side busy" column well below 100%), the wall rate is bound by the loop itself: 128 frames ping-pong between two NAPI threads that sleep and wake each other, so the hairpin and the LB can show the same wall rate. Their capacity per core (CPU time per frame of the tested side) is then the figure that tells them apart, and the one the headlines judge.',
      `${rounds} rounds, cases interleaved in a different order each round, each case set up and torn down per round; median reported, min–max as spread. After each round the loop is stopped and the frames still circulating are counted: 128 means none was lost.`,
      "1M live flows: conntrack sized 2^21; the entry the data plane made for the generator's first flow (a 50 ms run of one flow) is cloned (BPF_MAP_UPDATE_BATCH) under the 1M tuples xdp_loop then sends in turn (with the flow table on, as lb_ft4 slots in the buckets the data plane's hash gives, the flows of a full bucket in lb_ct; else lb_ct entries) (in a scrambled order: flow = n x 611953 mod 10^6, so that consecutive packets do not touch neighbouring entries), so every packet is an established flow whose entry is not in cache.",
      'Figures from before the kernel change (bench/results up to 2026-11-25) came from a live-frames generator running everything on one CPU: they are not comparable with these.',
    ],
    tables: [
      {
        title: 'Frames per second forwarded back to the generator, millions (median of the rounds, min–max)',
        headers: [
          'case',
          'Mpps',
          'x hairpin',
          "generator's ceiling, Mpps",
          'capacity per core, Mpps',
          'tested side busy',
          'frames alive (last round)',
          'LB reason counters (last round)',
        ],
        rows: results.map((r) => [
          r.label,
          `${fmt(r.mpps)}${bound(r)}`,
          hairpin ? (r.mpps.median / hairpin.mpps.median).toFixed(2) : '—',
          `${r.genCeilingMpps.median.toFixed(2)} (${(r.genCeilingMpps.median / r.mpps.median).toFixed(2)}x)`,
          r.testCapacityMpps.median.toFixed(2),
          `${(r.testBusy.median * 100).toFixed(0)}%`,
          `${r.alive} of ${LOOP_FRAMES} (${r.frames.toLocaleString('en-US')} frames)`,
          r.reasons ?? '—',
        ]),
      },
    ],
    charts: [
      {
        kind: 'bar',
        file: 'packet-rate.svg',
        title: 'Packets per second forwarded on veth, native XDP, one core (64-byte frames)',
        unit: `Mpps (median of ${rounds} rounds; whiskers min–max)`,
        bars,
        ...(hairpin ? { refs: [{ value: 0.7 * hairpin.mpps.median, label: 'target 0.7x hairpin' }] } : {}),
        spread: `median of ${rounds} interleaved rounds of ${seconds} s; whiskers min–max; closed-loop generator on its own core`,
      },
    ],
    headlines,
    data: { rounds, seconds, frameBytes: FRAME, results },
    warnings,
  };
}
