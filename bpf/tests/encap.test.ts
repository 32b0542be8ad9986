// Encapsulated DSR (issue 8: `ipip` and `ip6ip6`, Katran style) through BPF_PROG_TEST_RUN, for each
// strategy object: the exact outer header (outer source = the configured prefix + the flow hash,
// computed here with the hash strategy's TypeScript murmur3; DF/TOS/traffic class from the inner
// packet; TTL 64; flow label), the inner packet byte for byte, VLAN tags kept, IPv4 in IPv6, the same
// outer source for every packet of a flow, ICMP errors about an encapsulated flow encapsulated to its
// backend, a backend of the wrong family refused; and in a namespace: a backend behind a router
// (allowed, unlike L2 DSR) and the MTU check of the egress interface: ICMP fragmentation needed /
// packet too big with the MTU less the outer header (valid checksums, the quote, the rate limit).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { BpfObject, ifNameToIndex, inNetns, XdpAction } from '@xdp-lb/native';
import {
  buildFrame,
  buildIpPacket,
  diffFrames,
  formatIpv4,
  formatIpv6,
  labSupport,
  Netns,
  parseFrame,
  verifyChecksums,
} from '@xdp-lb/netlab';
import { flowHash } from '@xdp-lb/strategy-hash';
import { addr, type Flow, flowKey, LB_ADDR_VIP, LB_BE_EMPTY, LB_FWD_GUE, LB_FWD_IP6IP6, LB_FWD_IPIP } from './harness/abi.js';
import { ftHash } from './harness/flowtab.js';
import { backendMac, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check } from './harness/fixtures.js';
import { MAC, tcp, tooBig, udp, withMacs } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf encap] skipped: ${bpfSkipReason}`);

const SEED = 0x5eed;
const ENCAP_SALT = 0x1e4c0de5; // lib/encap.h LB_ENCAP_SALT
const SRC4 = '198.19.0.0'; // the /16 of outer IPv4 sources (rodata encap_src4)
const SRC6 = '2001:db8:ffff::'; // the /96 of outer IPv6 sources (rodata encap_src6)
const VIP4 = '198.18.0.10';
const VIP6 = '2001:db8:18::10';
const CLIENT4 = '198.18.1.1';
const CLIENT6 = '2001:db8:1::1';
const BE4 = '198.18.5.1';
const BE6 = '2001:db8:5::1';

/** The data plane's outer-source hash of a flow. */
// IPv4: the flow table's hash (lib/encap.h lb_encap_hash), whichever table holds the flow
const encapHash = (f: Flow) => (f.src.includes(':') ? flowHash(flowKey(f), (SEED ^ ENCAP_SALT) >>> 0, 10) : ftHash(f, SEED));
const outerSrc4 = (f: Flow) =>
  formatIpv4(Buffer.concat([addr(SRC4).subarray(12, 14), Buffer.from([(encapHash(f) >> 8) & 0xff, encapHash(f) & 0xff])]));
const outerSrc6 = (f: Flow) => {
  const b = Buffer.from(addr(SRC6));
  b.writeUInt32BE(encapHash(f), 12);
  return formatIpv6(b);
};

const GUE_PORT = 6080; // rodata gue_port's default

/** `inner` (a frame) as the LB must send it to backend `id`: an outer header added after its L2
 * header (gue: and a UDP header, source port 49152 + 14 bits of the flow hash, checksum 0). */
function encapsulated(inner: Buffer, f: Flow, id: number, outer: 'ipv4' | 'ipv6', backend: string, gue = false): Buffer {
  const p = parseFrame(inner);
  const ip = inner.subarray(p.offsets.l3!);
  const eth = { src: MAC.lb, dst: backendMac(id) };
  const vlan = p.vlan ? { vlan: { id: p.vlan.id } } : {};
  const tc = p.ipv4 ? p.ipv4.tos : p.ipv6!.trafficClass;
  const proto = gue ? 17 : p.ipv4 ? 4 : 41;
  const l4 = gue ? { udp: { sport: 49152 | (encapHash(f) & 0x3fff), dport: GUE_PORT, checksum: 0 } } : {};
  if (outer === 'ipv4') {
    return buildFrame({
      eth,
      ...vlan,
      ipv4: {
        src: outerSrc4(f),
        dst: backend,
        id: p.ipv4?.id ?? 0,
        df: p.ipv4 ? p.ipv4.df : true,
        ttl: 64,
        tos: tc,
        ...(gue ? {} : { protocol: proto }),
      },
      ...l4,
      payload: ip,
    });
  }
  return buildFrame({
    eth,
    ...vlan,
    ipv6: {
      src: outerSrc6(f),
      dst: backend,
      hopLimit: 64,
      trafficClass: tc,
      flowLabel: encapHash(f) & 0xfffff,
      ...(gue ? {} : { nextHeader: proto }),
    },
    ...l4,
    payload: ip,
  });
}

function knobs(): { hash_seed: number; ct_refresh_ns: number; encap_src4: Buffer; encap_src6: Buffer } {
  return { hash_seed: SEED, ct_refresh_ns: 0, encap_src4: addr(SRC4).subarray(12, 16), encap_src6: addr(SRC6) };
}

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('ipip / ip6ip6 [%s]', (strategy) => {
  let dp: TestDataplane;

  beforeAll(async () => {
    dp = await TestDataplane.load(strategy, knobs());
    dp.addAddr(VIP4, LB_ADDR_VIP);
    dp.addAddr(VIP6, LB_ADDR_VIP);
    dp.addService({ vip: VIP4, port: 80, proto: 'tcp', id: 0, fwd: 'ipip' });
    dp.addService({ vip: VIP4, port: 53, proto: 'udp', id: 1, fwd: 'ipip' });
    dp.addService({ vip: VIP6, port: 80, proto: 'tcp', id: 2, fwd: 'ip6ip6' });
    dp.addService({ vip: VIP4, port: 81, proto: 'tcp', id: 3, fwd: 'ip6ip6' }); // IPv4 in IPv6
    dp.addService({ vip: VIP4, port: 82, proto: 'tcp', id: 4, fwd: 'ipip' }); // an IPv6 backend: refused
    dp.addService({ vip: VIP4, port: 83, proto: 'tcp', id: 5, fwd: 'gue' }); // IPv4 in IPv4 + UDP
    dp.addService({ vip: VIP6, port: 83, proto: 'tcp', id: 6, fwd: 'gue' }); // IPv6 in IPv6 + UDP
    dp.addService({ vip: VIP4, port: 84, proto: 'tcp', id: 7, fwd: 'gue' }); // IPv4 in IPv6 + UDP
    dp.addService({ vip: VIP6, port: 81, proto: 'tcp', id: 8, fwd: 'ipip' }); // IPv6 in IPv4 (6in4)
    dp.addService({ vip: VIP4, port: 54, proto: 'udp', id: 9, fwd: 'ip6ip6' }); // UDP, IPv4 in IPv6
    dp.setBackend(1, { addr: BE4, port: 80 });
    dp.setBackend(2, { addr: BE4, port: 53 });
    dp.setBackend(3, { addr: BE6, port: 80 });
    dp.setBackend(4, { addr: BE6, port: 81 });
    dp.setBackend(5, { addr: BE6, port: 82 });
    dp.setBackend(6, { addr: BE4, port: 83 });
    dp.setBackend(7, { addr: BE6, port: 83 });
    dp.setBackend(8, { addr: BE6, port: 84 });
    dp.setBackend(9, { addr: BE4, port: 81 });
    dp.setBackend(10, { addr: BE6, port: 54 });
    for (let i = 0; i < 10; i++) dp.setTable(i, [i + 1]);
  });
  afterAll(() => dp?.dispose());

  it('ipip: IPv4 in IPv4, outer source from the flow hash, DF and TOS copied, the inner packet intact', () => {
    const f: Flow = { src: CLIENT4, dst: VIP4, sport: 41000, dport: 80, proto: 'tcp' };
    for (const [flags, payload] of [
      ['S', ''],
      ['A', ''],
      ['PA', 'GET / HTTP/1.1\r\n\r\n'],
    ] as const) {
      const input = tcp({ ...f, flags, payload, tos: 0x28 });
      const r = check(dp, {
        description: `${flags}`,
        input,
        verdict: 'TX',
        output: encapsulated(input, f, 1, 'ipv4', BE4),
        reasons: flags === 'S' ? { TX: 1, CT_NEW: 1 } : { TX: 1 },
      });
      expect(verifyChecksums(r.data.subarray(14 + 20), { l3Offset: 0 }), 'the inner packet').toEqual([]);
    }
    expect(dp.ct(f)).toMatchObject({ backendId: 1, fwd: LB_FWD_IPIP });
  });

  it('ipip: the outer source is computed once, at flow creation, and stays right when the backend changes', () => {
    const f: Flow = { src: CLIENT4, dst: VIP4, sport: 42100, dport: 53, proto: 'udp' };
    const input = udp({ ...f, payload: 'q' });
    check(dp, { description: 'first datagram', input, verdict: 'TX', output: encapsulated(input, f, 2, 'ipv4', BE4) });
    expect(dp.ct(f)!.inIfindex, "the entry's encap_hash (the union with in_ifindex)").toBe(encapHash(f));
    // Re-addressed in place (same id and generation): the flow keeps its entry and cached hash,
    // the outer destination follows the backend.
    const moved = '198.18.5.9';
    dp.setBackend(2, { addr: moved, port: 53 });
    check(dp, {
      description: 'backend re-addressed',
      input,
      verdict: 'TX',
      output: encapsulated(input, f, 2, 'ipv4', moved),
      reasons: { TX: 1 },
    });
    // Replaced (a new generation): a new entry, its hash computed again.
    dp.setBackend(2, { addr: BE4, port: 53, gen: 2 });
    check(dp, {
      description: 'backend replaced',
      input,
      verdict: 'TX',
      output: encapsulated(input, f, 2, 'ipv4', BE4),
      reasons: { TX: 1, CT_NEW: 1, CT_RESELECT: 1 },
    });
    expect(dp.ct(f)).toMatchObject({ backendGen: 2, inIfindex: encapHash(f) });
    // An entry of an older program (no cached hash): computed per packet, the same outer source.
    // (lb_ct's: with the flow table on, the flow's slot has no hash to lose: lib/flowtab.h.)
    if (dp.ft) return;
    const old = Buffer.from(dp.map('lb_ct').lookup(flowKey(f)) as Buffer);
    old.writeUInt32LE(0, 48);
    dp.map('lb_ct').update(flowKey(f), old);
    check(dp, {
      description: 'entry without a cached hash',
      input,
      verdict: 'TX',
      output: encapsulated(input, f, 2, 'ipv4', BE4),
      reasons: { TX: 1 },
    });
  });

  it("ipip, established TCP: a new next hop is followed at once; a removed backend's flow is not sent on; re-added, it gets a new entry", () => {
    // What an entry caches is the flow's (the outer-source hash); the backend's address and next hop
    // are read per packet (lb_backends, lb_nh), so a change there reaches the flow's next packet.
    const BE = '198.18.5.11';
    dp.addService({ vip: VIP4, port: 85, proto: 'tcp', id: 10, fwd: 'ipip' });
    dp.setBackend(11, { addr: BE, port: 85 });
    dp.setTable(10, [11]);
    const f: Flow = { src: CLIENT4, dst: VIP4, sport: 43000, dport: 85, proto: 'tcp' };
    const data = tcp({ ...f, flags: 'PA', payload: 'x' });
    for (const flags of ['S', 'A']) {
      const input = tcp({ ...f, flags });
      check(dp, { description: flags, input, verdict: 'TX', output: encapsulated(input, f, 11, 'ipv4', BE) });
    }
    expect(dp.established(f)).toMatchObject({ backendId: 11, inIfindex: encapHash(f) });

    const mac = '02:be:00:00:77:77';
    dp.setBackend(11, { addr: BE, port: 85, mac });
    check(dp, {
      description: 'data after the next hop changed',
      input: data,
      verdict: 'TX',
      output: withMacs(encapsulated(data, f, 11, 'ipv4', BE), mac, MAC.lb),
      reasons: { TX: 1 },
    });

    // Removed (as the control plane does: out of the slot table, then EMPTY): the flow's packet
    // goes nowhere, its entry is not used again.
    dp.setTable(10, []);
    dp.setBackend(11, { addr: BE, port: 85, state: LB_BE_EMPTY });
    check(dp, { description: 'data after the removal', input: data, verdict: 'DROP', reasons: { DROP_NO_BACKEND: 1, CT_RESELECT: 1 } });

    // Re-added under the same id at another address (a new generation): the flow's next packet
    // makes a new (half-open, picked up mid-stream) entry to it; the outer source is the flow's.
    const moved = '198.18.5.12';
    dp.setBackend(11, { addr: moved, port: 85, gen: 2 });
    dp.setTable(10, [11]);
    check(dp, {
      description: 'data after the re-add',
      input: data,
      verdict: 'TX',
      output: encapsulated(data, f, 11, 'ipv4', moved),
      reasons: { TX: 1, CT_NEW: 1, CT_RESELECT: 1, CT_HALF_OPEN: 1, CT_MIDSTREAM: 1 },
    });
    expect(dp.ct(f)).toMatchObject({ backendId: 11, backendGen: 2, inIfindex: encapHash(f) });
  });

  it('ipip: UDP without DF, different flows get different outer sources', () => {
    const srcs = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const f: Flow = { src: CLIENT4, dst: VIP4, sport: 42000 + i, dport: 53, proto: 'udp' };
      const input = udp({ ...f, payload: 'q' });
      const r = check(dp, { description: `datagram ${i}`, input, verdict: 'TX', output: encapsulated(input, f, 2, 'ipv4', BE4) });
      srcs.add(parseFrame(r.data).ipv4!.src);
    }
    expect(srcs.size).toBeGreaterThan(15);
  });

  it('ipip: a VLAN tag stays in front of the outer header', () => {
    const f: Flow = { src: CLIENT4, dst: VIP4, sport: 41001, dport: 80, proto: 'tcp' };
    const input = tcp({ ...f, flags: 'S', vlan: 30 });
    check(dp, { description: 'tagged SYN', input, verdict: 'TX', output: encapsulated(input, f, 1, 'ipv4', BE4) });
  });

  it('ip6ip6: IPv6 in IPv6, traffic class copied, flow label from the flow hash', () => {
    const f: Flow = { src: CLIENT6, dst: VIP6, sport: 43000, dport: 80, proto: 'tcp' };
    for (const flags of ['S', 'PA']) {
      const input = tcp({ ...f, flags, payload: flags === 'PA' ? 'data' : '', tos: 0xb8 });
      const r = check(dp, { description: flags, input, verdict: 'TX', output: encapsulated(input, f, 3, 'ipv6', BE6) });
      expect(verifyChecksums(r.data.subarray(14 + 40), { l3Offset: 0 }), 'the inner packet').toEqual([]);
    }
    expect(dp.ct(f)).toMatchObject({ backendId: 3, fwd: LB_FWD_IP6IP6 });
  });

  it('ip6ip6 with an IPv4 client: IPv4 in IPv6 (next header 4)', () => {
    const f: Flow = { src: CLIENT4, dst: VIP4, sport: 44000, dport: 81, proto: 'tcp' };
    const input = tcp({ ...f, flags: 'S' });
    check(dp, { description: 'SYN', input, verdict: 'TX', output: encapsulated(input, f, 4, 'ipv6', BE6) });
  });

  it('mixed families (issue 20): 4in6 TCP and UDP, 6in4; outer and inner checksums valid, the inner packet intact', () => {
    const cases = [
      { f: { src: CLIENT4, dst: VIP4, sport: 44100, dport: 81, proto: 'tcp' } as Flow, be: 4, outer: 'ipv6', to: BE6, fwd: LB_FWD_IP6IP6 },
      { f: { src: CLIENT4, dst: VIP4, sport: 44101, dport: 54, proto: 'udp' } as Flow, be: 10, outer: 'ipv6', to: BE6, fwd: LB_FWD_IP6IP6 },
      { f: { src: CLIENT6, dst: VIP6, sport: 44102, dport: 81, proto: 'tcp' } as Flow, be: 9, outer: 'ipv4', to: BE4, fwd: LB_FWD_IPIP },
    ] as const;
    for (const { f, be, outer, to, fwd } of cases) {
      for (const [i, payload] of ['first', 'second'].entries()) {
        const input =
          f.proto === 'tcp' ? tcp({ ...f, flags: i ? 'PA' : 'S', payload: i ? payload : '', tos: 0x28 }) : udp({ ...f, payload });
        const r = check(dp, {
          description: `${f.proto} ${f.src} -> ${to} #${i}`,
          input,
          verdict: 'TX',
          output: encapsulated(input, f, be, outer, to),
        });
        const innerAt = 14 + (outer === 'ipv6' ? 40 : 20);
        expect(parseFrame(r.data)[outer]!.src, 'outer source from the prefix').toBe(outer === 'ipv6' ? outerSrc6(f) : outerSrc4(f));
        expect(r.data.subarray(innerAt).equals(input.subarray(14)), 'the inner packet byte for byte').toBe(true);
        expect(verifyChecksums(r.data.subarray(innerAt), { l3Offset: 0 }), 'the inner packet').toEqual([]);
      }
      expect(dp.ct(f)).toMatchObject({ backendId: be, fwd });
    }
  });

  it('ipip to an IPv6 backend: refused, nothing tracked', () => {
    const f: Flow = { src: CLIENT4, dst: VIP4, sport: 45000, dport: 82, proto: 'tcp' };
    check(dp, { description: 'SYN', input: tcp({ ...f, flags: 'S' }), verdict: 'DROP', reasons: { DROP_ERROR: 1 } });
    expect(dp.ct(f)).toBeNull();
  });

  it('gue to an IPv4 backend: IPv4 + UDP to gue_port, source port from the flow hash, UDP checksum 0 ("none")', () => {
    const sports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const f: Flow = { src: CLIENT4, dst: VIP4, sport: 46000 + i, dport: 83, proto: 'tcp' };
      const input = tcp({ ...f, flags: i === 0 ? 'S' : 'PA', payload: i === 0 ? '' : 'data', tos: 0x28 });
      const r = check(dp, { description: `packet ${i}`, input, verdict: 'TX', output: encapsulated(input, f, 6, 'ipv4', BE4, true) });
      expect(verifyChecksums(r.data.subarray(14 + 28), { l3Offset: 0 }), 'the inner packet').toEqual([]);
      sports.add(parseFrame(r.data).udp!.sport);
    }
    expect(sports.size).toBeGreaterThan(15);
    expect(dp.ct({ src: CLIENT4, dst: VIP4, sport: 46000, dport: 83, proto: 'tcp' })).toMatchObject({ backendId: 6, fwd: LB_FWD_GUE });
  });

  it.each([
    ['IPv6 in IPv6 + UDP', CLIENT6, VIP6, 7, 83],
    ['IPv4 in IPv6 + UDP', CLIENT4, VIP4, 8, 84],
  ] as const)('gue to an IPv6 backend: %s, UDP checksum 0 (RFC 6935; the decapsulator accepts it)', (_n, src, dst, be, dport) => {
    const f: Flow = { src, dst, sport: 47000, dport, proto: 'tcp' };
    const input = tcp({ ...f, flags: 'PA', payload: 'hello', tos: 0xb8 });
    const r = dp.run(input);
    expect(r.verdict).toBe('TX');
    expect(diffFrames(r.data, encapsulated(input, f, be, 'ipv6', BE6, true))).toBeUndefined();
    // the one checksum problem is the outer UDP's zero; the inner packet's are intact
    expect(verifyChecksums(r.data).map((p) => `${p.layer} ${p.found}`)).toEqual(['udp 0']);
    expect(verifyChecksums(r.data.subarray(14 + 48), { l3Offset: 0 })).toEqual([]);
  });

  it('an ICMP error about an encapsulated flow reaches its backend encapsulated', () => {
    const f: Flow = { src: CLIENT4, dst: VIP4, sport: 41000, dport: 80, proto: 'tcp' };
    const quote = buildIpPacket({
      ipv4: { src: VIP4, dst: CLIENT4, ttl: 60, df: true },
      tcp: { sport: 80, dport: 41000, flags: 'PA' },
      payload: 'z'.repeat(100),
    });
    const input = buildFrame({
      eth: { src: MAC.router, dst: MAC.lb },
      ipv4: { src: '198.18.3.254', dst: VIP4, id: 5 },
      icmp: { type: 3, code: 4, rest: 1400 },
      payload: quote,
    });
    check(dp, {
      description: 'frag needed',
      input,
      verdict: 'TX',
      output: encapsulated(input, f, 1, 'ipv4', BE4),
      reasons: { TX: 1, ICMP_RELAYED: 1 },
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The backend side: bpf/progs/xdp_decap.bpf.o gives back exactly the frame the client sent (MACs
// aside), from what the LB sent.

describe.skipIf(bpfSkipReason !== null)('xdp_decap (the backend side of the lab)', () => {
  let obj: BpfObject;
  let lb: TestDataplane;
  beforeAll(async () => {
    obj = BpfObject.open(fileURLToPath(new URL('../obj/xdp_decap.bpf.o', import.meta.url)));
    await obj.load();
    lb = await TestDataplane.load('hash', knobs());
    lb.addAddr(VIP4, LB_ADDR_VIP);
    lb.addAddr(VIP6, LB_ADDR_VIP);
    lb.addService({ vip: VIP4, port: 80, proto: 'tcp', id: 0, fwd: 'ipip' });
    lb.addService({ vip: VIP6, port: 80, proto: 'tcp', id: 1, fwd: 'ip6ip6' });
    lb.addService({ vip: VIP4, port: 81, proto: 'tcp', id: 2, fwd: 'ip6ip6' });
    lb.addService({ vip: VIP4, port: 83, proto: 'tcp', id: 3, fwd: 'gue' });
    lb.addService({ vip: VIP6, port: 83, proto: 'tcp', id: 4, fwd: 'gue' });
    lb.addService({ vip: VIP4, port: 84, proto: 'tcp', id: 5, fwd: 'gue' });
    lb.setBackend(1, { addr: BE4, port: 80 });
    lb.setBackend(2, { addr: BE6, port: 80 });
    lb.setBackend(3, { addr: BE6, port: 81 });
    lb.setBackend(4, { addr: BE4, port: 83 });
    lb.setBackend(5, { addr: BE6, port: 83 });
    lb.setBackend(6, { addr: BE6, port: 84 });
    for (let i = 0; i < 6; i++) lb.setTable(i, [i + 1]);
  });
  afterAll(() => {
    obj?.dispose();
    lb?.dispose();
  });
  const decap = (frame: Buffer) => {
    const r = obj.program('xdp_decap').testRun({ data: frame });
    return { retval: r.retval, data: r.data as Buffer };
  };

  it.each([
    ['IPv4 in IPv4', CLIENT4, VIP4, 80],
    ['IPv6 in IPv6', CLIENT6, VIP6, 80],
    ['IPv4 in IPv6', CLIENT4, VIP4, 81],
    ['gue: IPv4 in IPv4 + UDP', CLIENT4, VIP4, 83],
    ['gue: IPv6 in IPv6 + UDP', CLIENT6, VIP6, 83],
    ['gue: IPv4 in IPv6 + UDP', CLIENT4, VIP4, 84],
  ] as const)('%s: the inner frame, byte for byte', (_n, src, dst, dport) => {
    const input = tcp({ src, dst, sport: 50000, dport, flags: 'PA', payload: 'hello' });
    const sent = lb.run(input);
    expect(sent.verdict).toBe('TX');
    const got = decap(sent.data);
    expect(got.retval).toBe(XdpAction.PASS);
    expect(got.data.equals(Buffer.concat([sent.data.subarray(0, 12), input.subarray(12)]))).toBe(true);
  });

  it('anything else passes untouched (UDP to another port, or to gue_port without an IP packet inside)', () => {
    const plain = tcp({ src: CLIENT4, dst: VIP4, sport: 50000, dport: 80, flags: 'S' });
    const otherPort = udp({ src: CLIENT4, dst: BE4, sport: 50000, dport: 53, payload: 'E'.repeat(40) });
    const notIp = udp({ src: CLIENT4, dst: BE4, sport: 50000, dport: GUE_PORT, payload: '\x01notip' });
    for (const frame of [plain, otherPort, notIp]) {
      const got = decap(frame);
      expect(got.retval).toBe(XdpAction.PASS);
      expect(got.data.equals(frame)).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// In a namespace: next hops through the FIB (a routed backend is fine for encapsulation) and the MTU.

const support = labSupport();
const nsSkip = bpfSkipReason ?? (support.ok ? null : support.reason!);

describe.skipIf(nsSkip !== null)('ipip across L3 [hash]', () => {
  let ns: Netns;
  let dp: TestDataplane;
  let ifIn = 0;

  beforeAll(async () => {
    ns = await Netns.createUnique('bpfencap');
    await ns.sh(`
      ip link add in type veth peer name in-peer
      ip link set in address ${MAC.lb} mtu 1500
      ip link set in up
      ip link set in-peer up
      ip addr add 198.18.0.2/24 dev in
      ip neigh replace 198.18.0.254 lladdr 02:00:00:00:00:fe dev in nud permanent
      ip route add 198.18.5.0/24 via 198.18.0.254 dev in
      ip -6 addr add 2001:db8:ff::2/64 dev in nodad
      ip -6 neigh replace 2001:db8:ff::fe lladdr 02:00:00:00:00:fe dev in nud permanent
      ip -6 route add 2001:db8:5::/64 via 2001:db8:ff::fe dev in
    `);
    await ns.sysctl({ 'net.ipv4.conf.in.forwarding': 1, 'net.ipv6.conf.in.forwarding': 1 });
    ifIn = inNetns(ns.path, () => ifNameToIndex('in'));
    // a small rate limit (the bucket holds one second's worth: 3 messages)
    dp = await TestDataplane.load('hash', { ...knobs(), nh_refresh_ns: 0, icmp_too_big_rate: 3 });
    dp.addAddr(VIP4, LB_ADDR_VIP);
    dp.addAddr(VIP6, LB_ADDR_VIP);
    dp.addService({ vip: VIP4, port: 80, proto: 'tcp', id: 0, fwd: 'ipip' });
    dp.addService({ vip: VIP4, port: 81, proto: 'tcp', id: 1, fwd: 'dsr' });
    dp.addService({ vip: VIP6, port: 80, proto: 'tcp', id: 2, fwd: 'ip6ip6' });
    dp.addService({ vip: VIP4, port: 53, proto: 'udp', id: 3, fwd: 'ipip' });
    dp.addService({ vip: VIP4, port: 83, proto: 'tcp', id: 4, fwd: 'gue' });
    dp.setBackend(1, { addr: BE4, port: 80, mac: null });
    dp.setBackend(2, { addr: BE4, port: 81, mac: null });
    dp.setBackend(3, { addr: BE6, port: 80, mac: null });
    dp.setBackend(4, { addr: BE4, port: 53, mac: null });
    dp.setBackend(5, { addr: BE4, port: 83, mac: null });
    for (let i = 0; i < 5; i++) dp.setTable(i, [i + 1]);
  });
  afterAll(() => {
    dp?.dispose();
    ns?.deleteSync();
  });

  const frame = (dport: number, sport: number, payload: number, src = CLIENT4, dst = VIP4) =>
    tcp({ src, dst, sport, dport, flags: 'PA', payload: 'p'.repeat(payload) });
  const inNs = <T>(fn: () => T): T => inNetns(ns.path, fn);
  const run = (dport: number, sport: number, payload: number) => inNs(() => dp.run(frame(dport, sport, payload), ifIn));

  it('a backend behind a router: L2 DSR refuses it, ipip reaches it through the router', () => {
    expect(run(81, 40000, 0).verdict).toBe('DROP');
    const r = run(80, 40000, 0);
    expect(r.verdict).toBe('TX');
    expect(parseFrame(r.data).eth.dst).toBe('02:00:00:00:00:fe');
    expect(parseFrame(r.data).ipv4!.dst).toBe(BE4);
  });

  it('ipip, egress MTU 1500: 1480 bytes of IP fit; 1481 (DF) get ICMP fragmentation needed, MTU 1480', () => {
    expect(run(80, 40001, 1480 - 40).verdict).toBe('TX');
    const input = frame(80, 40001, 1481 - 40);
    const r = inNs(() =>
      check(dp, { description: '1481 bytes, DF', input, verdict: 'TX', output: tooBig(input, 1480), reasons: { ICMP_TOO_BIG: 1 } }),
    );
    const icmp = parseFrame(r.data);
    expect(icmp.icmp).toMatchObject({ type: 3, code: 4, rest: 1480 });
    expect(icmp.ipv4).toMatchObject({ src: VIP4, dst: CLIENT4 });
  });

  it('ip6ip6, egress MTU 1500: 1460 bytes fit; 1461 get ICMPv6 packet too big, MTU 1460', () => {
    const input6 = (n: number) => frame(80, 40002, n - 60, CLIENT6, VIP6);
    expect(inNs(() => dp.run(input6(1460), ifIn)).verdict).toBe('TX');
    const input = input6(1461);
    const r = inNs(() =>
      check(dp, { description: '1461 bytes', input, verdict: 'TX', output: tooBig(input, 1460), reasons: { ICMP_TOO_BIG: 1 } }),
    );
    expect(parseFrame(r.data).icmp6).toMatchObject({ type: 2, code: 0, rest: 1460 });
    expect(parseFrame(r.data).ipv6).toMatchObject({ src: VIP6, dst: CLIENT6 });
  });

  it('gue, egress MTU 1500: 1472 bytes fit; 1473 get ICMP fragmentation needed, MTU 1472', () => {
    expect(run(83, 40004, 1472 - 40).verdict).toBe('TX');
    const input = frame(83, 40004, 1473 - 40);
    inNs(() =>
      check(dp, { description: '1473 bytes, DF', input, verdict: 'TX', output: tooBig(input, 1472), reasons: { ICMP_TOO_BIG: 1 } }),
    );
  });

  it('IPv4 without DF (here UDP) is dropped and counted: the client allowed fragmentation, XDP cannot fragment', () => {
    expect(inNs(() => dp.run(udp({ src: CLIENT4, dst: VIP4, sport: 40003, dport: 53, payload: 'u' }), ifIn)).verdict).toBe('TX');
    const input = udp({ src: CLIENT4, dst: VIP4, sport: 40003, dport: 53, payload: 'u'.repeat(1500 - 28) });
    inNs(() => check(dp, { description: 'a 1500-byte datagram', input, verdict: 'DROP', reasons: { DROP_TOO_BIG: 1 } }));
  });

  it('rate limited per CPU: past the bucket, too-big packets are dropped and counted', () => {
    // earlier tests spent 2 of the 3 messages of this second (the coarse clock may have moved on)
    const verdicts = Array.from({ length: 8 }, (_, i) => inNs(() => dp.run(frame(80, 41000 + i, 1481 - 40), ifIn)).verdict);
    expect(verdicts.filter((v) => v === 'TX').length).toBeLessThanOrEqual(3);
    expect(verdicts.filter((v) => v === 'DROP').length).toBeGreaterThanOrEqual(5);
  });
});
