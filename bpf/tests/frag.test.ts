// The fragment policy (issue 8) through BPF_PROG_TEST_RUN, for each strategy object: every fragment
// of a datagram goes where its first fragment went (same backend, same rewrite), for IPv4 and IPv6,
// in dsr and in nat both ways (the datagrams the LB sends are reassembled here and their UDP/TCP
// checksums verified independently); a later fragment that overtook its first one, or came after
// frag_timeout_ns, is dropped rather than guessed; passed datagrams stay passed; a later fragment
// never starts a flow of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFrame, buildIpPacket, type IpPacketSpec, parseFrame, parseIpPacket, verifyChecksums } from '@xdp-lb/netlab';
import { LB_ADDR_SNAT, LB_ADDR_VIP } from './harness/abi.js';
import { backendMac, backendOf, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check } from './harness/fixtures.js';
import { MAC, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf frag] skipped: ${bpfSkipReason}`);

const V4 = { vip: '198.18.0.10', snat: '198.18.0.2', client: '198.18.1.1', be: '198.18.2.1' };
const V6 = { vip: '2001:db8:18::10', snat: '2001:db8:18::2', client: '2001:db8:1::1', be: '2001:db8:2::1' };
type Fam = typeof V4;
const IN: { src: string; dst: string } = { src: MAC.client, dst: MAC.lb };

/** A whole UDP (or TCP) datagram as an IP packet. */
function datagram(src: string, dst: string, sport: number, dport: number, size: number, proto: 'udp' | 'tcp' = 'udp'): Buffer {
  const v6 = src.includes(':');
  const payload = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + 3) & 0xff));
  const l4: Pick<IpPacketSpec, 'udp' | 'tcp'> = proto === 'udp' ? { udp: { sport, dport } } : { tcp: { sport, dport, flags: 'PA' } };
  return buildIpPacket({ ...(v6 ? { ipv6: { src, dst, hopLimit: 64 } } : { ipv4: { src, dst, ttl: 64 } }), ...l4, payload });
}

/** `pkt` split into fragments (frames) at the given offsets of its upper-layer bytes (multiples of 8). */
function fragments(pkt: Buffer, cuts: number[], id: number, macs: { src: string; dst: string } = IN): Buffer[] {
  const p = parseIpPacket(pkt);
  const v6 = Boolean(p.ipv6);
  const hl = v6 ? 40 : 20;
  const proto = v6 ? p.ipv6!.nextHeader : p.ipv4!.protocol;
  const body = pkt.subarray(hl);
  const edges = [0, ...cuts, body.length];
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const [a, b] = [edges[i]!, edges[i + 1]!];
    const mf = b < body.length;
    if (v6) {
      const f = buildFrame({
        eth: macs,
        ipv6: { src: p.ipv6!.src, dst: p.ipv6!.dst, hopLimit: 64, extensions: [{ type: 44, fragOffset: a / 8, mf, id }] },
        payload: body.subarray(a, b),
      });
      f[14 + 40] = proto; // the fragment header's next header: the upper layer
      out.push(f);
    } else {
      out.push(
        buildFrame({
          eth: macs,
          ipv4: { src: p.ipv4!.src, dst: p.ipv4!.dst, id, mf, fragOffset: a / 8, protocol: proto, ttl: 64 },
          payload: body.subarray(a, b),
        }),
      );
    }
  }
  return out;
}

/** Reassembles fragment frames into the IP packet (header of the first, lengths fixed). */
function reassemble(frames: Buffer[]): Buffer {
  const parts = frames.map((f) => {
    const p = parseFrame(f);
    const v6 = Boolean(p.ipv6);
    const l3 = f.subarray(p.offsets.l3!);
    const hl = v6 ? 48 : 20;
    const off = v6 ? (l3.readUInt16BE(40 + 2) >> 3) * 8 : (l3.readUInt16BE(6) & 0x1fff) * 8;
    return { v6, head: Buffer.from(l3.subarray(0, v6 ? 40 : 20)), next: v6 ? l3[40]! : 0, off, data: l3.subarray(hl) };
  });
  const body = Buffer.alloc(Math.max(...parts.map((x) => x.off + x.data.length)));
  for (const x of parts) x.data.copy(body, x.off);
  const head = parts.find((x) => x.off === 0)!;
  if (head.v6) {
    head.head.writeUInt16BE(body.length, 4);
    head.head[6] = head.next;
  } else {
    head.head.writeUInt16BE(20 + body.length, 2);
    head.head.writeUInt16BE(0, 6);
  }
  return Buffer.concat([head.head, body]);
}

/** The upper-layer checksum problems of a reassembled packet (its IPv4 header checksum is not ours). */
const l4Problems = (pkt: Buffer) => verifyChecksums(pkt, { l3Offset: 0 }).filter((p) => p.layer !== 'ipv4');

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('fragments [%s]', (strategy) => {
  let dp: TestDataplane;
  const stateless = strategy === 'hash';

  beforeAll(async () => {
    dp = await TestDataplane.load(strategy, { ct_refresh_ns: 0 });
    for (const [n, f] of [
      [0, V4],
      [1, V6],
    ] as const) {
      dp.addAddr(f.vip, LB_ADDR_VIP);
      dp.addAddr(f.snat, LB_ADDR_SNAT);
      dp.setSnatPool(n, f.snat);
      // :53/udp dsr over 8 backends (ids 10n+1..10n+8), :5353/udp nat, :80/tcp dsr, :443/tcp nat
      dp.addService({ vip: f.vip, port: 53, proto: 'udp', id: 10 * n, fwd: 'dsr' });
      dp.addService({ vip: f.vip, port: 5353, proto: 'udp', id: 10 * n + 1, fwd: 'nat', snatFirst: n, snatCount: 1 });
      dp.addService({ vip: f.vip, port: 80, proto: 'tcp', id: 10 * n + 2, fwd: 'dsr' });
      dp.addService({ vip: f.vip, port: 443, proto: 'tcp', id: 10 * n + 3, fwd: 'nat', snatFirst: n, snatCount: 1 });
      const many = Array.from({ length: 8 }, (_, i) => 100 * (n + 1) + i);
      many.forEach((id, i) => dp.setBackend(id, { addr: f === V4 ? `198.18.2.${i + 1}` : `2001:db8:2::${i + 1}`, port: 53 }));
      dp.setTable(10 * n, many);
      dp.setBackend(10 * n + 1, { addr: f.be, port: 5353 });
      dp.setBackend(10 * n + 2, { addr: f.be, port: 80 });
      dp.setBackend(10 * n + 3, { addr: f.be, port: 8443 });
      dp.setTable(10 * n + 1, [10 * n + 1]);
      dp.setTable(10 * n + 2, [10 * n + 2]);
      dp.setTable(10 * n + 3, [10 * n + 3]);
    }
  });
  afterAll(() => dp?.dispose());

  describe.each([
    ['IPv4', V4],
    ['IPv6', V6],
  ] as const)('%s', (_name, F: Fam) => {
    const v6 = F === V6;
    let nextId = v6 ? 0x10000 : 1;
    const id = () => nextId++;

    it('dsr: 60 datagrams of 3 fragments over 8 backends: every fragment where its first went, untouched but the MACs', () => {
      let firstFrags = 0;
      for (let i = 0; i < 60; i++) {
        const frs = fragments(datagram(F.client, F.vip, 30000 + i, 53, 600), [200, 400], id());
        const outs = frs.map((fr) => dp.run(fr));
        expect(outs.map((o) => o.verdict)).toEqual(['TX', 'TX', 'TX']);
        const be = backendOf(outs[0]!.data);
        frs.forEach((fr, k) =>
          expect(outs[k]!.data.equals(withMacs(fr, backendMac(be), MAC.lb)), `datagram ${i} fragment ${k}`).toBe(true),
        );
        firstFrags += be;
      }
      expect(firstFrags).toBeGreaterThan(0);
    });

    it('the counters: fragment, counted once per forwarded fragment', () => {
      const frs = fragments(datagram(F.client, F.vip, 31000, 53, 300), [160], id());
      check(dp, { description: 'first', input: frs[0]!, verdict: 'TX', reasons: { TX: 1, CT_NEW: 1, FRAGMENT: 1 } });
      check(dp, { description: 'last', input: frs[1]!, verdict: 'TX', reasons: { TX: 1, FRAGMENT: 1 } });
    });

    it('a later fragment that overtook its first one is dropped, never guessed; after the first it passes', () => {
      const frs = fragments(datagram(F.client, F.vip, 32000, 53, 300), [160], id());
      check(dp, { description: 'later first', input: frs[1]!, verdict: 'DROP', reasons: { DROP_FRAGMENT: 1 } });
      const first = dp.run(frs[0]!);
      expect(first.verdict).toBe('TX');
      check(dp, {
        description: 'later again',
        input: frs[1]!,
        verdict: 'TX',
        output: withMacs(frs[1]!, backendMac(backendOf(first.data)), MAC.lb),
      });
    });

    it('nat: the first fragment carries the rewritten ports and the checksum of the whole datagram; the others their new addresses', () => {
      const ident = id();
      const frs = fragments(datagram(F.client, F.vip, 33000, 5353, 700), [256, 512], ident);
      const outs = frs.map((fr) => check(dp, { description: 'fragment', input: fr, verdict: 'TX', reasons: undefined }).data);
      const port = parseFrame(outs[0]!).udp!.sport;
      const want = fragments(datagram(F.snat, F.be, port, 5353, 700), [256, 512], ident, { src: MAC.lb, dst: backendMac(v6 ? 11 : 1) });
      outs.forEach((o, k) => expect(o.equals(want[k]!), `fragment ${k}`).toBe(true));
      expect(l4Problems(reassemble(outs)), 'the reassembled datagram').toEqual([]);

      // the backend's answer, fragmented too, back to the client
      const back = fragments(datagram(F.be, F.snat, 5353, port, 900), [304, 608], id(), { src: backendMac(v6 ? 11 : 1), dst: MAC.lb });
      const outs2 = back.map((fr) => check(dp, { description: 'reply fragment', input: fr, verdict: 'TX' }).data);
      const p0 = parseFrame(outs2[0]!);
      expect(p0.udp).toMatchObject({ sport: 5353, dport: 33000 });
      for (const o of outs2) expect(v6 ? parseFrame(o).ipv6 : parseFrame(o).ipv4).toMatchObject({ src: F.vip, dst: F.client });
      expect(l4Problems(reassemble(outs2)), 'the reassembled answer').toEqual([]);
    });

    it('nat over TCP: the same', () => {
      const frs = fragments(datagram(F.client, F.vip, 34000, 443, 1000, 'tcp'), [512], id());
      const outs = frs.map((fr) => check(dp, { description: 'fragment', input: fr, verdict: 'TX' }).data);
      expect(parseFrame(outs[0]!).tcp!.dport).toBe(8443);
      expect(l4Problems(reassemble(outs))).toEqual([]);
    });

    it('a datagram whose first fragment was dropped: the rest is dropped too', () => {
      dp.setTable(10 * (v6 ? 1 : 0) + 2, []); // :80 has no backend for a moment
      const frs = fragments(datagram(F.client, F.vip, 35000, 80, 400, 'tcp'), [200], id());
      check(dp, { description: 'first', input: frs[0]!, verdict: 'DROP', reasons: { DROP_NO_BACKEND: 1 } });
      check(dp, { description: 'later', input: frs[1]!, verdict: 'DROP', reasons: { DROP_FRAGMENT: 1 } });
      dp.setTable(10 * (v6 ? 1 : 0) + 2, [10 * (v6 ? 1 : 0) + 2]);
    });

    it("a passed datagram stays passed: a VIP's other port, the SNAT address's host ports", () => {
      const other = fragments(datagram(F.client, F.vip, 36000, 9999, 300), [160], id());
      for (const fr of other) check(dp, { description: 'other port', input: fr, verdict: 'PASS', reasons: { PASS_UNSUPPORTED: 1 } });
      const host = fragments(datagram(F.client, F.snat, 36000, 22, 300, 'tcp'), [160], id());
      for (const fr of host) check(dp, { description: 'to the host', input: fr, verdict: 'PASS', reasons: { PASS_NOT_OURS: 1 } });
      const unknown = fragments(datagram(F.client, F.snat, 36001, 22, 300, 'tcp'), [160], id());
      check(dp, {
        description: "a later fragment to a SNAT address without its first: the host's",
        input: unknown[1]!,
        verdict: 'PASS',
        reasons: { PASS_NOT_OURS: 1 },
      });
    });

    it(
      stateless
        ? 'a later fragment whose flow entry is gone: placed by the hash (stateless)'
        : 'a later fragment whose flow entry is gone: dropped (no new flow from a later fragment)',
      () => {
        const frs = fragments(datagram(F.client, F.vip, 37000, 53, 300), [160], id());
        const first = dp.run(frs[0]!);
        dp.deleteCt({ src: F.client, dst: F.vip, sport: 37000, dport: 53, proto: 'udp' });
        if (stateless)
          check(dp, {
            description: 'later',
            input: frs[1]!,
            verdict: 'TX',
            output: withMacs(frs[1]!, backendMac(backendOf(first.data)), MAC.lb),
            reasons: { TX: 1, FRAGMENT: 1 },
          });
        else check(dp, { description: 'later', input: frs[1]!, verdict: 'DROP', reasons: { DROP_FRAGMENT: 1 } });
      },
    );

    // IPv6 only (IPv4 has no extension headers): the case exists for v6 alone (not a skip).
    if (v6)
      it('an extension header after the fragment header: later fragments still follow', () => {
        const ident = id();
        const first = buildFrame({
          eth: IN,
          ipv6: {
            src: F.client,
            dst: F.vip,
            extensions: [
              { type: 44, fragOffset: 0, mf: true, id: ident },
              { type: 60, data: [1, 4, 0, 0, 0, 0] },
            ],
          },
          udp: { sport: 39000, dport: 53 },
          payload: 'a'.repeat(200),
        });
        const later = buildFrame({
          eth: IN,
          ipv6: { src: F.client, dst: F.vip, extensions: [{ type: 44, fragOffset: 27, mf: false, id: ident }] },
          payload: 'b'.repeat(100),
        });
        later[14 + 40] = 60; // every fragment names what follows the fragment header: destination options
        const r = check(dp, { description: 'first', input: first, verdict: 'TX', reasons: { TX: 1, CT_NEW: 1, FRAGMENT: 1 } });
        check(dp, {
          description: 'later',
          input: later,
          verdict: 'TX',
          output: withMacs(later, backendMac(backendOf(r.data)), MAC.lb),
          reasons: { TX: 1, FRAGMENT: 1 },
        });
      });

    it('fragments of other protocols (ICMP): left to the host', () => {
      const ping = buildIpPacket({
        ...(v6 ? { ipv6: { src: F.client, dst: F.vip } } : { ipv4: { src: F.client, dst: F.vip } }),
        ...(v6 ? { icmp6: { type: 128, id: 1, seq: 1 } } : { icmp: { type: 8, id: 1, seq: 1 } }),
        payload: 'x'.repeat(300),
      });
      for (const fr of fragments(ping, [160], id()))
        check(dp, { description: 'echo fragment', input: fr, verdict: 'PASS', reasons: { PASS_UNSUPPORTED: 1 } });
    });
  });
});

describe.skipIf(bpfSkipReason !== null)('fragments: frag_timeout_ns', () => {
  it('a later fragment after the timeout is dropped', async () => {
    const dp = await TestDataplane.load('random', { frag_timeout_ns: 50_000_000 });
    try {
      dp.addAddr(V4.vip, LB_ADDR_VIP);
      dp.addService({ vip: V4.vip, port: 53, proto: 'udp', id: 0, fwd: 'dsr' });
      dp.setBackend(1, { addr: V4.be, port: 53 });
      dp.setTable(0, [1]);
      const frs = fragments(datagram(V4.client, V4.vip, 38000, 53, 300), [160], 4242);
      expect(dp.run(frs[0]!).verdict).toBe('TX');
      await new Promise((r) => setTimeout(r, 120));
      check(dp, { description: 'late', input: frs[1]!, verdict: 'DROP', reasons: { DROP_FRAGMENT: 1 } });
    } finally {
      dp.dispose();
    }
  });
});
