/**
 * Packet rate: packets per second the LB forwards in native XDP mode on a veth, from our own
 * generator, counted on the receiving side; against a bare XDP_TX hairpin (the ceiling) and
 * nftables DNAT (the usual alternative), on the same generator and cores.
 *
 *   gen ns                                   lb ns
 *   g0 (xdp_count_drop: counts, drops) <==veth==> l0 (the LB | xdp_tx | xdp_pass + nftables DNAT)
 *
 * The generator is xdp_gen (packages/bench/bpf/bench.bpf.c) run with BPF_PROG_RUN in live-frames
 * mode (BPF_F_TEST_XDP_LIVE_FRAMES) with g0 as its device: every frame it returns XDP_TX for is
 * transmitted through g0 to l0, where the program under test runs; what it sends back (XDP_TX,
 * or the kernel's forwarding for nftables) arrives at g0 and is counted and dropped there. The
 * backends' addresses resolve (permanent neighbour entries) to g0's MAC. Everything a frame
 * causes runs in the generating thread's softirq on one CPU, so all cases share the generator's
 * cost and the rate is per core.
 */
import { Abi, parseIp } from '@xdp-lb/core';
import { BpfLink, BpfObject, ifNameToIndex, inNetns, TestRunFlags, xdpMd } from '@xdp-lb/native';
import { Lab, type LabHost } from '@xdp-lb/netlab';
import { kernelProblem, missingObjects, missingTools, objects, TOOLS, aptHint } from '../env.js';
import { Deployed, formatReasons, instanceName, type StrategyId } from '../lb.js';
import { shuffled, prng, type Stat, summarize } from '../stats.js';
import type { Bar, Benchmark, BenchContext, Headline, Section } from '../types.js';

const GEN_MAC = '02:00:c6:12:00:65';
const LB_MAC = '02:00:c6:12:00:02';
const LB_ADDR = '198.18.0.2';
const VIP = '198.18.0.10';
const BACKENDS = ['198.18.0.11', '198.18.0.12'];
const DPORT = 5000;
const FRAME = 60; // 64 bytes on the wire with the FCS

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
  /** Frames per second received on g0, millions; one sample per round. */
  mpps: Stat;
  /** Frames sent per round, and the share of them received (last round). */
  frames: number;
  delivered: number;
  /** What the LB's reason counters say about the last round. */
  reasons?: string;
}

const mac = (s: string) => Buffer.from(s.split(':').map((x) => parseInt(x, 16)));
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const ip = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

export const packetRate: Benchmark = {
  name: 'packet-rate',
  title: 'Packet rate in native mode (live-frames generator)',
  tools: [TOOLS.nft],
  seconds: { quick: 25, full: 110 },
  unavailable: () => kernelProblem() ?? missingObjects(['bench', 'xdpTx', 'countDrop', 'xdpPass']),
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
      { key: 'lb-rr-dsr-new', label: 'xdp-lb round-robin, dsr, new flow per packet', kind: 'lb', strategy: 'round-robin', forward: 'dsr', flows: 'new' },
      { key: 'lb-random-dsr-new', label: 'xdp-lb random, dsr, new flow per packet', kind: 'lb', strategy: 'random', forward: 'dsr', flows: 'new' },
      { key: 'lb-hash-dsr-1m', label: 'xdp-lb hash, dsr, 1M live flows in turn', kind: 'lb', strategy: 'hash', forward: 'dsr', flows: 'million' },
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

  const lab = await Lab.up({ hosts: [{ name: 'gen', interfaces: [] }, { name: 'lb', interfaces: [], forwarding: true }] }, { prefix: 'xlbb' });
  const gen = lab.host('gen');
  const lb = lab.host('lb');
  const objs: BpfObject[] = [];
  const links: BpfLink[] = [];
  const samples = new Map<string, number[]>();
  const last = new Map<string, { frames: number; delivered: number; reasons?: string }>();
  try {
    await setupVeth(gen, lb);
    const open = async (path: string, vars: Record<string, Buffer> = {}) => {
      const o = BpfObject.open(path);
      objs.push(o);
      for (const [k, v] of Object.entries(vars)) o.setVariable(k, v);
      await o.load();
      return o;
    };
    const counter = await open(objects.countDrop());
    const tx = await open(objects.xdpTx());
    const pass = await open(objects.xdpPass());
    const genVars = (flows: number, stride = 1) => ({
      gen_dmac: mac(LB_MAC),
      gen_smac: mac(GEN_MAC),
      gen_saddr: u32(ip('198.19.0.1')),
      gen_daddr: u32(ip(VIP)),
      gen_sport: u16(1024),
      gen_dport: u16(DPORT),
      gen_flows: u32(flows),
      gen_stride: u32(stride),
    });
    const genOne = (await open(objects.bench(), genVars(1))).program('xdp_gen');
    const genNew = (await open(objects.bench(), genVars(0))).program('xdp_gen');
    // 611953 is coprime with 10^6: every flow once per cycle, scattered over the entries' memory.
    const genMillion = (await open(objects.bench(), genVars(MILLION, 611_953))).program('xdp_gen');
    const g0 = inNetns(gen.netns.path, () => ifNameToIndex('g0'));
    const l0 = inNetns(lb.netns.path, () => ifNameToIndex('l0'));
    links.push(inNetns(gen.netns.path, () => BpfLink.attachXdp(counter.program('xdp_count_drop'), g0, { mode: 'drv' })));
    const stats = counter.map('cd_stats');
    const received = (): number => (stats.lookup(u32(0)) as Buffer[]).reduce((a, b) => a + Number(b.readBigUInt64LE(0)), 0);
    // One synchronous run on this thread: the frames and everything they cause are processed in
    // its softirq before it returns; frames that straggle in later are counted too.
    const send = async (flows: Flows, frames: number): Promise<{ seconds: number; received: number }> => {
      const prog = flows === 'one' ? genOne : flows === 'new' ? genNew : genMillion;
      const before = received();
      const t0 = process.hrtime.bigint();
      inNetns(gen.netns.path, () =>
        prog.testRun({ data: Buffer.alloc(FRAME), repeat: frames, flags: TestRunFlags.XDP_LIVE_FRAMES, ctx: xdpMd({ packetLength: FRAME, ingressIfindex: g0 }), batchSize: 64 }),
      );
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { seconds: s, received: received() - before };
    };

    // What to send per round: about `seconds` worth at the rate a short probe of each case shows.
    const frames = new Map<string, number>();
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
              interfaces: ['l0:native'],
              ...(c.forward === 'nat' ? { snat: { addresses: [LB_ADDR] } } : {}),
              ...(c.flows === 'million' ? { limits: { conntrackSize: 1 << 21 } } : {}),
              services: [{ name: 'udp', vip: `${VIP}:${DPORT}`, protocol: 'udp', forward: c.forward, backends: BACKENDS }],
            });
            if (c.flows === 'million') await loadMillion(dp, async () => void (await send('one', 1)));
          }
          // Warm-up: flows established, next hops cached; and the probe that sizes the rounds.
          const probe = await send(c.flows, 200_000);
          if (!frames.has(c.key)) {
            const rate = probe.received / probe.seconds;
            frames.set(c.key, Math.round(Math.min(50_000_000, Math.max(200_000, rate * seconds))));
          }
          const n = frames.get(c.key)!;
          const before = dp?.reasons();
          const res = await send(c.flows, n);
          const mpps = res.received / res.seconds / 1e6;
          let list2 = samples.get(c.key);
          if (!list2) samples.set(c.key, (list2 = []));
          list2.push(mpps);
          last.set(c.key, { frames: n, delivered: res.received / n, ...(dp && before ? { reasons: formatReasons(dp.reasonsSince(before)) } : {}) });
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
    for (const l of links) l.dispose();
    for (const o of objs) o.dispose();
    await lab.destroy();
  }

  const results: RateResult[] = list
    .filter((c) => samples.has(c.key))
    .map((c) => ({ key: c.key, label: c.label, kind: c.kind, flows: c.flows, mpps: summarize(samples.get(c.key)!), frames: last.get(c.key)!.frames, delivered: last.get(c.key)!.delivered, ...(last.get(c.key)!.reasons ? { reasons: last.get(c.key)!.reasons } : {}) }));
  return report(results, rounds, seconds, warnings, ctx);
}

/** The generator's flow i (xdp_gen): source 198.19.0.1 + i / 64512, port 1024 + i % 64512, to VIP:DPORT/udp. */
function genFlowKey(i: number): Buffer {
  const a = ip('198.19.0.1') + (Math.floor(i / 64512) & 0xffff);
  const src = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
  return Abi.encodeFlow({ src: parseIp(src)!, dst: parseIp(VIP)!, sport: 1024 + (i % 64512), dport: DPORT, proto: Abi.IPPROTO_UDP });
}

/**
 * 1M live flows, the ones xdp_gen cycles through with gen_flows = 1M: flow 0 is sent once (the data
 * plane makes its entry), then its entry is cloned under the other 999,999 tuples (batches).
 */
async function loadMillion(dp: Deployed, sendFirst: () => Promise<void>): Promise<void> {
  await sendFirst();
  const ct = dp.map(Abi.MAPS.ct);
  const template = ct.lookup(genFlowKey(0)) as Buffer | null;
  if (!template) throw new Error('the first flow made no conntrack entry');
  for (let base = 1; base < MILLION; base += 65_536) {
    const keys: Buffer[] = [];
    for (let i = base; i < Math.min(MILLION, base + 65_536); i++) keys.push(genFlowKey(i));
    await ct.updateBatch(keys, keys.map(() => template));
  }
}

async function setupVeth(gen: LabHost, lb: LabHost): Promise<void> {
  const noV6 = { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 };
  await gen.sysctl(noV6);
  await lb.sysctl({ ...noV6, 'net.ipv4.conf.all.send_redirects': 0, 'net.ipv4.conf.default.send_redirects': 0, 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 });
  await gen.exec(['ip', 'link', 'add', 'g0', 'type', 'veth', 'peer', 'name', 'l0', 'netns', lb.netns.name]);
  await gen.exec(['ip', 'link', 'set', 'g0', 'address', GEN_MAC, 'up']);
  await lb.exec(['ip', '-batch', '-'], {
    input: [
      `link set l0 address ${LB_MAC} up`,
      `addr add ${LB_ADDR}/24 dev l0`,
      `addr add ${VIP}/32 dev l0`,
      ...BACKENDS.map((b) => `neigh replace ${b} lladdr ${GEN_MAC} dev l0 nud permanent`),
    ].join('\n'),
  });
  await lb.sysctl({ 'net.ipv4.conf.l0.forwarding': 1, 'net.ipv4.conf.l0.send_redirects': 0, 'net.ipv4.conf.l0.rp_filter': 0 });
}

function report(results: RateResult[], rounds: number, seconds: number, warnings: string[], ctx: BenchContext): Section {
  const get = (k: string) => results.find((r) => r.key === k);
  const hairpin = get('hairpin');
  const nft = get('nft-one');
  const one = get('lb-hash-dsr-one');
  const fmt = (s: Stat) => (s.n > 1 ? `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : s.median.toFixed(2));
  const headlines: Headline[] = [];
  if (one && hairpin) {
    headlines.push({
      metric: 'forwarded, hash dsr, one flow (native, veth)',
      value: one.mpps.median,
      unit: 'Mpps',
      spread: `${one.mpps.min.toFixed(2)}–${one.mpps.max.toFixed(2)} over ${one.mpps.n} rounds`,
      ratio: { value: one.mpps.median / hairpin.mpps.median, of: `the XDP_TX hairpin (${hairpin.mpps.median.toFixed(2)} Mpps)` },
      target: { value: 0.7 * hairpin.mpps.median, better: 'higher', text: `≥ 0.7x the hairpin = ${(0.7 * hairpin.mpps.median).toFixed(2)} Mpps (reference LB: ~7.3 Mpps, 0.6–0.69x)` },
    });
  }
  if (one && nft) {
    headlines.push({
      metric: 'forwarded, hash dsr, one flow, vs nftables DNAT',
      value: one.mpps.median / nft.mpps.median,
      unit: 'x',
      spread: `nftables DNAT ${nft.mpps.median.toFixed(2)} Mpps`,
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
  if (newFlow && hairpin) headlines.push({ metric: 'forwarded, hash dsr, new flow per packet', value: newFlow.mpps.median, unit: 'Mpps', ratio: { value: newFlow.mpps.median / hairpin.mpps.median, of: 'the hairpin' } });
  if (hairpin) headlines.push({ metric: 'XDP_TX hairpin (ceiling)', value: hairpin.mpps.median, unit: 'Mpps', spread: `${hairpin.mpps.min.toFixed(2)}–${hairpin.mpps.max.toFixed(2)}` });

  const bars: Bar[] = results.map((r) => ({
    label: r.label,
    value: r.mpps.median,
    lo: r.mpps.min,
    hi: r.mpps.max,
    group: r.kind === 'lb' ? 'xdp-lb' : r.kind === 'hairpin' ? 'XDP_TX hairpin' : 'nftables',
    text: `${r.mpps.median.toFixed(2)} Mpps${hairpin && r !== hairpin ? ` (${(r.mpps.median / hairpin.mpps.median).toFixed(2)}x)` : ''}`,
  }));
  return {
    summary: [
      one && hairpin ? `xdp-lb (hash, dsr) forwards ${one.mpps.median.toFixed(2)} Mpps of one flow per core: ${(one.mpps.median / hairpin.mpps.median).toFixed(2)}x the XDP_TX hairpin (${hairpin.mpps.median.toFixed(2)} Mpps)${nft ? ` and ${(one.mpps.median / nft.mpps.median).toFixed(1)}x nftables DNAT (${nft.mpps.median.toFixed(2)} Mpps)` : ''}.` : 'The LB or the hairpin was not measured.',
      ...(newFlow ? [`With a new flow in every packet: ${newFlow.mpps.median.toFixed(2)} Mpps (${newFlow.reasons ?? ''}).`] : []),
      ...(million && one ? [`Cycling through 1M live flows (every packet a conntrack lookup that misses the caches): ${million.mpps.median.toFixed(2)} Mpps, ${(1000 / million.mpps.median - 1000 / one.mpps.median).toFixed(0)} ns more per packet than one flow.`] : []),
    ],
    method: [
      'Two namespaces joined by one veth pair (g0 <-> l0), IPv6 off, nothing else on the link. The generator, xdp_gen, runs with BPF_PROG_RUN in live-frames mode on g0 and writes every header of every 64-byte (60 + FCS) IPv4/UDP frame on every run (sent pages come back recycled, possibly rewritten by the receiver). xdp_count_drop on g0 counts what comes back.',
      `On l0, native mode: the LB deployed by core (UDP service ${VIP}:${DPORT}, 2 backends whose addresses resolve to g0's MAC), or bpf/obj/xdp_tx.bpf.o (swaps MACs, XDP_TX: the ceiling), or xdp_pass plus an nftables prerouting DNAT rule (numgen over the 2 backends; the kernel forwards the packet back out of l0; conntrack on, DNAT only: no masquerade on a one-way stream).`,
      `Rate = frames counted at g0 / wall time of the generator's run (${seconds} s worth per round, sized by a 200k-frame warm-up run of each case). All of it runs in the generating thread's softirq on one CPU, so it is a per-core rate that includes the generator and the counter; the same for every case.`,
      `${rounds} rounds, cases interleaved in a different order each round, each case set up and torn down per round; median reported, min–max as spread.`,
      '1M live flows: conntrack sized 2^21; the entry the data plane made for the generator\'s first flow is cloned (BPF_MAP_UPDATE_BATCH) under the 1M tuples xdp_gen then sends in turn (gen_flows = 1M, in a scrambled order: flow = n x 611953 mod 10^6, so that consecutive packets do not touch neighbouring entries), so every packet is an established flow whose entry is not in cache.',
    ],
    tables: [
      {
        title: 'Frames per second forwarded back to the generator, millions (median of the rounds, min–max)',
        headers: ['case', 'Mpps', 'x hairpin', 'delivered (last round)', 'LB reason counters (last round)'],
        rows: results.map((r) => [r.label, fmt(r.mpps), hairpin ? (r.mpps.median / hairpin.mpps.median).toFixed(2) : '—', `${(r.delivered * 100).toFixed(1)}% of ${r.frames.toLocaleString('en-US')}`, r.reasons ?? '—']),
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
        spread: `median of ${rounds} interleaved rounds of ${seconds} s; whiskers min–max; ${ctx.machine.cores} cores, the whole path on the generator's core`,
      },
    ],
    headlines,
    data: { rounds, seconds, frameBytes: FRAME, results },
    warnings,
  };
}
