/**
 * What cluster flow sync (config `cluster`, bpf/lib/flowsync.h) costs the forwarding node: the
 * same program deployed twice by core (hash, dsr, generic mode on the test bed's veth), without and
 * with `cluster`, timed with BPF_PROG_TEST_RUN in interleaved rounds:
 *   - an established packet (repeat: not a refresh moment, so sync adds only its test);
 *   - a TCP flow entering lb_ct (the handshake's completing ACK: one record into the ring);
 *   - a UDP flow's first packet (a new entry and one record).
 * One run per syscall for the last two (each a new flow), corrected by the empty program's
 * one-shot overhead as per-packet does. The ring is drained between cases (as the agent does every
 * cluster.flushMs), so every record takes the ring's success path; reason counters check that each
 * case took the path it names (sync_sent per record, none without sync). Between the nodes, the
 * bytes per flow follow from the wire format (packages/core/src/agent/cluster/protocol.ts).
 */
import { Abi, SyncProtocol } from '@xdp-lb/core';
import { BpfObject, RingBuffer } from '@xdp-lb/native';
import { buildFrame } from '@xdp-lb/netlab';
import { kernelProblem, missingObjects, objects } from '../env.js';
import { Deployed, formatReasons, instanceName } from '../lb.js';
import { median, type Stat, summarize } from '../stats.js';
import { backendHost, client, tcpFrame, TestBed, VIP } from '../testbed.js';
import type { Benchmark, BenchContext, Section } from '../types.js';

const TCP_PORT = 80;
const UDP_PORT = 53;
const BACKENDS = Array.from({ length: 10 }, (_, i) => backendHost(i));
/** UDP/IPv4 headers around a datagram. */
const UDP_IP = 28;

interface Params {
  rounds: number;
  repeat: number;
  oneShots: number;
}
const QUICK: Params = { rounds: 3, repeat: 200_000, oneShots: 1000 };
const FULL: Params = { rounds: 7, repeat: 1_000_000, oneShots: 3000 };

export const flowSync: Benchmark = {
  name: 'flow-sync',
  title: 'Cluster flow sync: cost on the forwarding node and between nodes',
  seconds: { quick: 20, full: 60 },
  unavailable: () => kernelProblem() ?? missingObjects(['xdpPass']),
  run: (ctx) => runFlowSync(ctx),
};

function udpFrame(dmac: string, src: string, sport: number): Buffer {
  return buildFrame({
    eth: { src: '02:00:c6:13:00:01', dst: dmac },
    ipv4: { src, dst: VIP, ttl: 64 },
    udp: { sport, dport: UDP_PORT },
    payload: Buffer.alloc(10, 0x61),
  });
}

async function runFlowSync(ctx: BenchContext): Promise<Section> {
  const p = ctx.quick ? QUICK : FULL;
  const bed = await TestBed.up(BACKENDS.length);
  const pass = BpfObject.open(objects.xdpPass());
  const samples: Record<string, Record<'off' | 'on', number[]>> = {
    established: { off: [], on: [] },
    'tcp-enters-ct': { off: [], on: [] },
    'udp-new': { off: [], on: [] },
  };
  const checks: string[] = [];
  let seq = 1 << 20;
  try {
    await pass.load();
    const passProg = pass.programs()[0]!;
    // One XDP program per interface: each round deploys one variant after the other (the order
    // alternating), on the same bed.
    for (let r = 0; r < p.rounds; r++) {
      for (const v of r % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const d = await Deployed.deploy(bed.lab, 'lb', {
          instance: instanceName(`fs-${v}`),
          strategy: 'hash',
          interfaces: ['eth0:generic'],
          limits: { conntrackSize: 1 << 18, newFlowsPerSec: 0 },
          services: [
            { name: 'tcp', vip: `${VIP}:${TCP_PORT}`, forward: 'dsr', backends: BACKENDS.map((b) => b.ip) },
            {
              name: 'udp',
              vip: `${VIP}:${UDP_PORT}`,
              protocol: 'udp',
              forward: 'dsr',
              backends: BACKENDS.map((b) => `${b.ip}:${UDP_PORT}`),
            },
          ],
          // The sync addresses matter only to the agent; deploy turns the data plane's records on.
          ...(v === 'on' ? { cluster: { listen: '198.18.0.2', peers: ['198.18.0.3'], key: 'bench-key-0123456789abcdefghijklmnop' } } : {}),
        });
        const ring = v === 'on' ? RingBuffer.open(d.map(Abi.FLOWSYNC)) : undefined;
        const drain = () => ring?.consume();
        try {
          const prog = d.program('eth0');
          bed.inside(() => {
            const c0 = bed.ctx(64);
            const idle = tcpFrame({ dmac: bed.mac, src: '198.19.255.1', sport: 1, dport: 9 });
            const single = Array.from({ length: 500 }, () => passProg.testRun({ data: idle, ctx: c0 }).durationNs);
            const offset = median(single) - passProg.testRun({ data: idle, ctx: c0, repeat: p.repeat }).durationNs;
            // Established: a flow past its handshake, the same packet again and again.
            const est = client(seq++);
            const estFrame = tcpFrame({ dmac: bed.mac, src: est.src, sport: est.sport, dport: TCP_PORT });
            prog.testRun({ data: estFrame, ctx: bed.ctx(estFrame.length) });
            prog.testRun({ data: estFrame, ctx: bed.ctx(estFrame.length) });
            drain();
            let before = d.reasons();
            samples.established![v].push(prog.testRun({ data: estFrame, ctx: bed.ctx(estFrame.length), repeat: p.repeat }).durationNs);
            let delta = d.reasonsSince(before);
            if (delta.sync_sent) checks.push(`established (${v}): ${formatReasons(delta)}`);
            // TCP flows entering lb_ct: the first packet opens them half-open (untimed), the next one completes.
            const flows = Array.from({ length: p.oneShots }, () => {
              const c = client(seq++);
              return tcpFrame({ dmac: bed.mac, src: c.src, sport: c.sport, dport: TCP_PORT });
            });
            for (const f of flows) prog.testRun({ data: f, ctx: bed.ctx(f.length) });
            drain();
            before = d.reasons();
            const promote = flows.map((f) => prog.testRun({ data: f, ctx: bed.ctx(f.length) }).durationNs);
            delta = d.reasonsSince(before);
            samples['tcp-enters-ct']![v].push(median(promote) - offset);
            if ((delta.ct_promoted ?? 0) !== flows.length || (delta.sync_sent ?? 0) !== (v === 'on' ? flows.length : 0))
              checks.push(`tcp enters ct (${v}): ${formatReasons(delta)}`);
            drain();
            // UDP flows: each datagram a new flow.
            const dgrams = Array.from({ length: p.oneShots }, () => {
              const c = client(seq++);
              return udpFrame(bed.mac, c.src, c.sport);
            });
            before = d.reasons();
            const udpNs = dgrams.map((f) => prog.testRun({ data: f, ctx: bed.ctx(f.length) }).durationNs);
            delta = d.reasonsSince(before);
            samples['udp-new']![v].push(median(udpNs) - offset);
            if ((delta.ct_new ?? 0) !== dgrams.length || (delta.sync_sent ?? 0) !== (v === 'on' ? dgrams.length : 0))
              checks.push(`udp new (${v}): ${formatReasons(delta)}`);
          });
        } finally {
          ring?.dispose();
          d.undeploy();
        }
      }
      ctx.progress((r + 1) / p.rounds, `flow-sync: round ${r + 1}/${p.rounds}`);
    }
  } finally {
    pass.dispose();
    await bed.destroy();
  }

  // (with repeat, the kernel reports the mean time of one run)
  const rows = Object.entries(samples).map(([kind, s]) => {
    const off: Stat = summarize(s.off);
    const on: Stat = summarize(s.on);
    return { kind, off, on, delta: on.median - off.median };
  });
  // Between nodes: one 56-byte record per flow, 23 to a datagram (header 24, HMAC 32), plus UDP/IP.
  const perDatagram = SyncProtocol.HEADER + SyncProtocol.MAC + SyncProtocol.MAX_RECORDS * SyncProtocol.RECORD + UDP_IP;
  const bytesPerFlow = perDatagram / SyncProtocol.MAX_RECORDS;
  const per10k = (bytesPerFlow * 10_000 * 8) / 1e6;
  const label: Record<string, string> = {
    established: 'established packet (no record)',
    'tcp-enters-ct': 'TCP flow enters lb_ct (1 record)',
    'udp-new': 'UDP new flow (entry + 1 record)',
  };
  return {
    summary: [
      ...rows.map(
        (r) =>
          `${label[r.kind]}: ${r.off.median.toFixed(1)} ns without sync, ${r.on.median.toFixed(1)} ns with (${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(1)} ns).`,
      ),
      `Between nodes: ${bytesPerFlow.toFixed(1)} bytes per new flow and peer (full datagrams), ${per10k.toFixed(2)} Mbit/s per peer at 10,000 new flows/s; a live flow is sent again once per sync period (8.6 s by default).`,
      ...(checks.length ? [`Path checks failed: ${checks.join('; ')}`] : []),
    ],
    method: [
      `The hash object deployed twice by core's LoadBalancer.deploy (dsr, generic mode on a lab veth, 10 backends), without and with \`cluster\`; BPF_PROG_TEST_RUN on ${ctx.machine.cores} cores, 64-byte frames; ${p.rounds} interleaved rounds (the order alternates), medians.`,
      `established: repeat ${p.repeat.toLocaleString('en-US')} of one flow's packet (not a refresh moment: sync adds a test); the others one run per syscall (${p.oneShots} flows a round), minus the empty program's one-shot overhead.`,
      "The ring is drained between cases, as the agent drains it every cluster.flushMs: records take bpf_ringbuf_output's success path. Reason counters confirm every case (ct_promoted, ct_new, sync_sent per record, none without sync).",
      `Bandwidth: ${SyncProtocol.MAX_RECORDS} records of ${SyncProtocol.RECORD} bytes per datagram, ${SyncProtocol.HEADER}-byte header, ${SyncProtocol.MAC}-byte HMAC, ${UDP_IP} bytes of UDP/IPv4: ${perDatagram} bytes per ${SyncProtocol.MAX_RECORDS} flows, to each peer.`,
    ],
    tables: [
      {
        title: 'ns per packet, without and with flow sync',
        headers: ['case', 'off (median)', 'on (median)', 'on - off', 'off min–max', 'on min–max'],
        rows: rows.map((r) => [
          label[r.kind]!,
          r.off.median.toFixed(1),
          r.on.median.toFixed(1),
          r.delta.toFixed(1),
          `${r.off.min.toFixed(1)}–${r.off.max.toFixed(1)}`,
          `${r.on.min.toFixed(1)}–${r.on.max.toFixed(1)}`,
        ]),
      },
    ],
    charts: [],
    headlines: rows.map((r) => ({
      metric: `flow sync: ${label[r.kind]} (on - off)`,
      value: Math.round(r.delta * 10) / 10,
      unit: 'ns',
      spread: `off ${r.off.median.toFixed(1)}, on ${r.on.median.toFixed(1)} over ${p.rounds} rounds`,
    })),
    data: { params: p, samples, bytesPerFlow, mbitPer10kFlows: per10k, checks },
    ...(checks.length ? { warnings: checks } : {}),
  };
}
