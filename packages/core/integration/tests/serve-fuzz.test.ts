// Packet fuzzing of the deployed data plane: 100,000 random and mutated frames through
// BPF_PROG_TEST_RUN of the very program `lb deploy` attached in the lab (its maps filled by the
// control plane: NAT and DSR services, TCP and UDP, SNAT; real next hops from the lab's
// neighbours, run inside the LB's namespace with the LB's eth0 as the ingress interface), for each
// of the three strategy objects, one with the SYN-flood guard at a low rate so that flood mode is
// fuzzed too. Frames: random bytes; well-formed TCP/UDP/ICMP/ARP/IPv6/VLAN to the VIP (service
// ports and others), to the SNAT address (inside and outside the NAT port range) and elsewhere;
// replies of backends to flows the fuzz itself created; and mutations of all of these (bit flips,
// header fields set at random, truncation, trailing bytes). Checked for every frame:
//   - the verdict is one of the documented ones (PASS, DROP, TX, REDIRECT; never ABORTED);
//   - a frame not addressed to one of the LB's addresses is passed, untouched;
//   - a passed frame is byte for byte the one that came in;
//   - a rewritten frame keeps its length and payload, and has valid checksums (netlab's independent
//     verifier) whenever the input had: a rewrite never breaks a checksum (and never "fixes" one);
//   - a reply the LB generates (an RST, an ICMP too-big) goes back to the frame's source with valid
//     checksums;
//   - a rewritten TCP/UDP frame to the VIP was for a configured service;
// and for the whole run: every frame counted exactly one verdict reason, matching its verdict
// (bpf/README.md "Reasons"), and no internal error (drop_error).
// The harness shares nothing with bpf/tests/harness (the maps here are the control plane's).
import { describe, expect, it } from 'vitest';
import { BUILTIN_IDS } from '@xdp-lb/builtins';
import { Abi, instancePaths } from '@xdp-lb/core';
import { prng as draws } from '@xdp-lb/core/strategy';
import { BpfMap, BpfProgram, inNetns, xdpMd } from '@xdp-lb/native';
import { buildFrame, type FrameSpec, type Lab, tutorialAddresses, tutorialTopology, verifyChecksums } from '@xdp-lb/netlab';
import { join } from 'node:path';
import { useAgentEnv } from './support.js';

const env = useAgentEnv();
const addr = tutorialAddresses({ clients: 1, backends: 3 });
const TOTAL = Number(process.env.XDP_LB_FUZZ_PACKETS ?? 100_000);
const VERDICT: Record<number, string> = { 1: 'DROP', 2: 'PASS', 3: 'TX', 4: 'REDIRECT' };
/** bpf/README.md "Reasons": the verdict each verdict reason stands for (the others are counted in addition). */
const VERDICT_OF: Record<string, string> = {
  pass_not_ours: 'PASS',
  pass_malformed: 'PASS',
  pass_unsupported: 'PASS',
  pass_snat_unknown: 'PASS',
  tx: 'TX',
  redirect: 'REDIRECT',
  drop_no_backend: 'DROP',
  drop_no_neigh: 'DROP',
  drop_no_route: 'DROP',
  drop_fragment: 'DROP',
  drop_snat_exhausted: 'DROP',
  drop_snat_stale: 'DROP',
  drop_error: 'DROP',
  drop_no_tx_port: 'DROP',
  drop_flood: 'DROP',
  drop_too_big: 'DROP',
  // Replies the LB makes itself, sent back where the frame came from (XDP_TX).
  reset: 'TX',
  icmp_too_big: 'TX',
  icmp_echo: 'TX',
};

const VIP = addr.vip;
const SNAT = addr.lb;
const OURS = new Set([VIP, SNAT]);
const SERVICES = new Set(['tcp:80', 'udp:53', 'tcp:8080']);

/** Draws in [0, 1) from the strategy kit's seeded mulberry32: the same frames on every run. */
function prng(seed: number): () => number {
  const draw = draws(seed);
  return () => draw() / 4294967296;
}

interface Parsed {
  /** Offset of the IPv4 header, when the frame is IPv4 (after at most one 802.1Q tag). */
  l3?: number;
  dst?: string;
  proto?: number;
  l4?: number;
  payload?: number;
  fragment?: boolean;
  dport?: number;
}

/** What this test needs to know of a frame, parsed on its own (no code shared with the LB or netlab's parser). */
/** Is `out` a reply the LB generated to `input` (an RST or an ICMP error, addressed to its source)? */
function generatedReply(input: Buffer, out: Buffer): boolean {
  const p = parse(input);
  const q = parse(out);
  if (p.l3 === undefined || q.l3 === undefined) return false;
  const src = `${input[p.l3 + 12]}.${input[p.l3 + 13]}.${input[p.l3 + 14]}.${input[p.l3 + 15]}`;
  if (q.dst !== src) return false;
  if (q.proto === 1) return true; // ICMP: fragmentation needed (an echo reply keeps the length)
  return q.proto === 6 && q.l4 !== undefined && (out[q.l4 + 13]! & 0x04) !== 0; // an RST
}

function parse(f: Buffer): Parsed {
  if (f.length < 14) return {};
  let type = f.readUInt16BE(12);
  let l3 = 14;
  if (type === 0x8100 && f.length >= 18) {
    type = f.readUInt16BE(16);
    l3 = 18;
  }
  if (type !== 0x0800 || f.length < l3 + 20) return {};
  const ihl = (f[l3]! & 0x0f) * 4;
  const dst = `${f[l3 + 16]}.${f[l3 + 17]}.${f[l3 + 18]}.${f[l3 + 19]}`;
  const proto = f[l3 + 9]!;
  const fragment = (f.readUInt16BE(l3 + 6) & 0x3fff) !== 0;
  const out: Parsed = { l3, dst, proto, fragment };
  const l4 = l3 + ihl;
  if (ihl >= 20 && (proto === 6 || proto === 17) && f.length >= l4 + (proto === 6 ? 20 : 8)) {
    out.l4 = l4;
    out.dport = f.readUInt16BE(l4 + 2);
    out.payload = proto === 6 ? l4 + (f[l4 + 12]! >> 4) * 4 : l4 + 8;
  }
  return out;
}

class Fuzzer {
  readonly r: () => number;
  /** SNAT-side reply tuples of NAT flows the fuzz created: [backend, backend port, snat port, proto]. */
  readonly flows: [string, number, number, number][] = [];
  /** Unmutated replies handed out (the reverse path, each of which a live flow should take). */
  readonly replies = new WeakSet<Buffer>();

  constructor(seed: number) {
    this.r = prng(seed);
  }

  int(n: number): number {
    return Math.floor(this.r() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  ip(): string {
    return this.pick([
      VIP,
      VIP,
      VIP,
      SNAT,
      SNAT,
      '198.18.0.99',
      addr.backends[0]!,
      `10.${this.int(256)}.${this.int(256)}.${this.int(256)}`,
    ]);
  }

  port(dst: string): number {
    if (dst === VIP) return this.pick([80, 80, 53, 8080, 22, 443, this.int(65536)]);
    if (dst === SNAT) return this.pick([20000 + this.int(10000), 20000, 29999, 22, 40000 + this.int(20000)]);
    return this.int(65536);
  }

  /** A well-formed frame of some kind. */
  frame(): Buffer {
    const k = this.r();
    const eth = {
      src: `02:00:00:00:${this.int(256).toString(16).padStart(2, '0')}:01`,
      dst: this.pick(['02:00:00:00:00:0b', 'ff:ff:ff:ff:ff:ff']),
    };
    const vlan = this.r() < 0.05 ? { vlan: { id: 1 + this.int(4094) } } : {};
    const src = this.r() < 0.5 ? addr.clients[0]! : `10.${this.int(256)}.${this.int(256)}.${this.int(256)}`;
    const dst = this.ip();
    const ipv4 = {
      src,
      dst,
      id: this.int(65536),
      ttl: 1 + this.int(255),
      df: this.r() < 0.5,
      ...(this.r() < 0.03 ? { options: [1, 1, 1, 0] } : {}),
      ...(this.r() < 0.04 ? { mf: true } : {}),
      ...(this.r() < 0.03 ? { fragOffset: 1 + this.int(100) } : {}),
    };
    const payload = this.bytes(this.pick([0, 0, 1, 5, 64, 200, 1000]));
    let spec: FrameSpec;
    if (k < 0.55) {
      spec = {
        eth,
        ...vlan,
        ipv4,
        tcp: {
          sport: 1 + this.int(65535),
          dport: this.port(dst),
          flags: this.pick(['S', 'S', 'A', 'PA', 'FA', 'R', 'SA', 'RA', 'F', 'U', 'SF', '']),
          seq: this.int(2 ** 32),
          ack: this.int(2 ** 32),
          ...(this.r() < 0.2
            ? { options: [{ kind: 'mss', value: 1460 }, { kind: 'sackPermitted' }, { kind: 'windowScale', shift: 7 }] }
            : {}),
        },
        payload,
      };
    } else if (k < 0.8) {
      spec = {
        eth,
        ...vlan,
        ipv4,
        udp: { sport: 1 + this.int(65535), dport: this.port(dst), ...(this.r() < 0.2 ? { checksum: 0 } : {}) },
        payload,
      };
    } else if (k < 0.87) {
      spec = {
        eth,
        ...vlan,
        ipv4,
        icmp: { type: this.pick([8, 0, 3, 11]), code: this.int(4), id: this.int(65536), seq: this.int(65536) },
        payload,
      };
    } else if (k < 0.92) {
      spec = { eth, arp: { spa: src, tpa: dst } };
    } else if (k < 0.97) {
      spec = { eth, ipv6: { src: '2001:db8::1', dst: '2001:db8:18::10' }, tcp: { sport: 40000, dport: 80, flags: 'S' }, payload };
    } else {
      spec = { eth: { ...eth, type: 0x88a8 }, vlan: { id: 10, type: 0x8100 }, payload: [0, 20, 0x08, 0x00, ...this.bytes(40)] };
    }
    return Buffer.from(buildFrame(spec));
  }

  /** A backend's reply to a NAT flow this fuzz created (the reverse path). */
  reply(): Buffer | undefined {
    if (!this.flows.length) return undefined;
    const [backend, bport, snatPort, proto] = this.pick(this.flows);
    const eth = { src: '02:00:00:00:00:77', dst: '02:00:00:00:00:0b' };
    const ipv4 = { src: backend, dst: SNAT, id: this.int(65536) };
    const payload = this.bytes(this.pick([0, 10, 100]));
    return Buffer.from(
      buildFrame(
        proto === 6
          ? { eth, ipv4, tcp: { sport: bport, dport: snatPort, flags: this.pick(['SA', 'A', 'PA', 'FA', 'R']) }, payload }
          : { eth, ipv4, udp: { sport: bport, dport: snatPort }, payload },
      ),
    );
  }

  /** Random bytes, or a frame broken in one of the ways parsers get wrong. */
  mutate(f: Buffer): Buffer {
    const m = Buffer.from(f);
    const k = this.r();
    const p = parse(m);
    if (k < 0.35) {
      for (let i = 0, n = 1 + this.int(4); i < n; i++) {
        const at = this.int(m.length);
        m[at] = m[at]! ^ (1 << this.int(8));
      }
      return m;
    }
    if (k < 0.55 && p.l3 !== undefined) {
      const at = this.pick([0, 2, 3, 6, 7, 9, 16, 19].map((o) => p.l3! + o));
      m[at] = this.int(256);
      return m;
    }
    if (k < 0.7 && p.l4 !== undefined) {
      const at = p.l4 + this.pick(p.proto === 6 ? [12, 13, 2, 3] : [4, 5, 2, 3]);
      m[at] = this.int(256);
      return m;
    }
    if (k < 0.9) return m.subarray(0, Math.max(14, this.int(m.length)));
    return Buffer.concat([m, this.bytes(1 + this.int(64))]);
  }

  next(): Buffer {
    const k = this.r();
    if (k < 0.1) return this.bytes(14 + this.int(200));
    if (k < 0.2) {
      const r = this.reply();
      if (r) this.replies.add(r);
      return r ?? this.frame();
    }
    if (k < 0.5) return this.mutate(this.r() < 0.2 ? (this.reply() ?? this.frame()) : this.frame());
    return this.frame();
  }
}

const problemLayers = (f: Buffer) => [...new Set(verifyChecksums(f).map((p) => `${p.layer}:${p.field}`))].sort().join(',');

interface Case {
  strategy: string;
  packets: number;
  newFlowsPerSec?: number;
}
// Every built-in strategy (the registry's): the first gets half the frames, the others share the
// rest; the second runs under a new-flow rate limit (the flood guard's paths).
const CASES: Case[] = BUILTIN_IDS.map((strategy, i, ids) => {
  const rest = Math.round(TOTAL / 2 / Math.max(1, ids.length - 1));
  const packets = i === 0 ? TOTAL - rest * (ids.length - 1) : rest;
  return { strategy, packets, ...(i === 1 ? { newFlowsPerSec: 100 } : {}) };
});

describe(`${TOTAL} fuzzed frames through the deployed program`, () => {
  let lab: Lab;

  it.each(CASES.map((c) => [c.strategy, c] as const))(
    '%s',
    async (_s, c) => {
      lab ??= await env.lab(tutorialTopology({ clients: 1, backends: 3 }));
      const instance = env.instance(`fuzz-${c.strategy}`);
      const lbNs = lab.host('lb').netns.name;
      lab.registerPinDir(`${env.bpffs}/${instance}`);
      const lb = env.lb();
      const dep = await lb.deploy(
        {
          instance,
          strategy: c.strategy,
          interfaces: ['eth0'],
          limits: { conntrackSize: 16384, ...(c.newFlowsPerSec !== undefined ? { newFlowsPerSec: c.newFlowsPerSec } : {}) },
          snat: { addresses: [SNAT] },
          services: [
            { name: 'web', vip: `${VIP}:80`, backends: addr.backends },
            { name: 'dns', vip: `${VIP}:53`, protocol: 'udp', backends: addr.backends.map((b) => `${b}:5353`) },
            { name: 'dsr', vip: `${VIP}:8080`, forward: 'dsr', backends: addr.backends.slice(0, 2).map((b) => `${b}:8080`) },
          ],
        },
        { netns: lbNs },
      );
      const ifindex = dep.interfaces[0]!.ifindex;
      const prog = BpfProgram.fromId(dep.interfaces[0]!.progId);
      const reasonsMap = BpfMap.fromPinned(join(instancePaths(instance).maps, Abi.MAPS.reasons));
      const reasons = () => {
        const out: Record<string, bigint> = {};
        for (let i = 0; i < reasonsMap.maxEntries; i++) {
          const v = reasonsMap.lookup(Abi.u32(i)) as Buffer[];
          out[Abi.REASONS[i] ?? `reason_${i}`] = v.reduce((a, b) => a + b.readBigUInt64LE(0), 0n);
        }
        return out;
      };
      const fz = new Fuzzer(0x5eed + CASES.indexOf(c));
      const verdicts: Record<string, number> = {};
      let repliesForwarded = 0;
      let generated = 0;
      const failures: string[] = [];
      const fail = (why: string, input: Buffer, out?: Buffer) => {
        if (failures.length < 20) failures.push(`${why}\n  in:  ${input.toString('hex')}${out ? `\n  out: ${out.toString('hex')}` : ''}`);
      };
      const before = reasons();
      try {
        for (let done = 0; done < c.packets;) {
          const n = Math.min(5000, c.packets - done);
          inNetns(`/run/netns/${lbNs}`, () => {
            for (let i = 0; i < n; i++) {
              const input = fz.next();
              const r = prog.testRun({ data: input, ctx: xdpMd({ packetLength: input.length, ingressIfindex: ifindex }) });
              const verdict = VERDICT[r.retval];
              const out = r.data as Buffer;
              if (!verdict) {
                fail(`undocumented verdict ${r.retval}`, input);
                continue;
              }
              verdicts[verdict] = (verdicts[verdict] ?? 0) + 1;
              const p = parse(input);
              if (!p.dst || !OURS.has(p.dst)) {
                if (verdict !== 'PASS') fail(`${verdict} for a frame not addressed to the LB (${p.dst ?? 'not IPv4'})`, input, out);
              }
              if (verdict === 'PASS' && !out.equals(input)) fail('a passed frame was changed', input, out);
              // A reply the LB makes itself (an RST for a flow it cannot carry on, an ICMP too-big):
              // another packet, back to the sender; only its checksums are checked.
              if (verdict === 'TX' && generatedReply(input, out)) {
                generated++;
                if (problemLayers(out) !== '') fail(`a generated reply has bad checksums [${problemLayers(out)}]`, input, out);
                continue;
              }
              if (verdict === 'TX' || verdict === 'REDIRECT') {
                if (out.length !== input.length) fail('a rewrite changed the length', input, out);
                const inProblems = problemLayers(input);
                const outProblems = problemLayers(out);
                if (inProblems !== outProblems) fail(`checksums: input [${inProblems}], output [${outProblems}]`, input, out);
                const q = parse(out);
                if (fz.replies.has(input)) repliesForwarded++;
                if (p.payload !== undefined && q.payload !== undefined && !out.subarray(q.payload).equals(input.subarray(p.payload)))
                  fail('a rewrite changed the payload', input, out);
                if (p.dst === VIP && p.l4 !== undefined && !p.fragment && !SERVICES.has(`${p.proto === 6 ? 'tcp' : 'udp'}:${p.dport}`))
                  fail(`rewrote a frame to ${VIP}:${p.dport}, not a service`, input, out);
                // A new NAT flow: remember its reply tuple for the reverse path.
                if (p.dst === VIP && q.l4 !== undefined && q.dst !== VIP && fz.flows.length < 2000) {
                  fz.flows.push([q.dst!, out.readUInt16BE(q.l4 + 2), out.readUInt16BE(q.l4), q.proto!]);
                }
              }
            }
          });
          done += n;
          await new Promise((res) => setImmediate(res));
        }
        const after = reasons();
        const delta: Record<string, number> = {};
        for (const k of Object.keys(after)) if (after[k] !== before[k]) delta[k] = Number(after[k]! - (before[k] ?? 0n));
        const byVerdict: Record<string, number> = {};
        for (const [k, v] of Object.entries(delta)) if (VERDICT_OF[k]) byVerdict[VERDICT_OF[k]!] = (byVerdict[VERDICT_OF[k]!] ?? 0) + v;
        const unknown = Object.keys(delta).filter((k) => k.startsWith('reason_'));
        console.log(
          `${c.strategy}: ${c.packets} frames, verdicts ${JSON.stringify(verdicts)}, reasons ${JSON.stringify(delta)}, ${fz.flows.length} NAT flows replayed from, ${repliesForwarded} replies forwarded, ${generated} replies generated`,
        );
        expect(failures, failures.join('\n')).toEqual([]);
        expect(unknown, 'reasons this test does not know: add them to VERDICT_OF (bpf/README.md)').toEqual([]);
        expect(byVerdict, `one verdict reason per frame, matching its verdict (reasons ${JSON.stringify(delta)})`).toEqual(verdicts);
        expect(delta.drop_error ?? 0, 'internal errors').toBe(0);
        expect(verdicts.TX ?? 0, 'the fuzz reached the rewrite paths').toBeGreaterThan(c.packets / 50);
        expect(delta.ct_new ?? 0).toBeGreaterThan(0);
        expect(repliesForwarded, 'backend replies went the NAT reverse path').toBeGreaterThan(c.newFlowsPerSec ? 0 : 500);
        if (c.newFlowsPerSec)
          expect((delta.drop_flood ?? 0) + (delta.flood_stateless ?? 0), 'flood mode was fuzzed too').toBeGreaterThan(0);
      } finally {
        reasonsMap.dispose();
        prog.dispose();
        lb.undeploy(instance);
      }
    },
    120_000,
  );
});
