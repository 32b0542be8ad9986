// Malformed L4 is never forwarded (issue 15 #5), through BPF_PROG_TEST_RUN for each strategy object:
//   - UDP whose length field disagrees with the IP packet (above what it holds, below 8) is passed
//     untouched (pass_malformed), in nat and dsr, IPv4 and IPv6; a first fragment's length counts
//     the whole datagram; a length below the IP payload (a surplus: RFC 768 datagram, RFC 9868 UDP
//     options) is forwarded with the surplus as it came;
//   - Ethernet padding after the IP packet (a 60-byte frame) is not a header: a small datagram in a
//     padded frame is forwarded, a UDP/TCP/ICMP header or length reaching into the padding is not;
//   - the quote of an ICMP error the LB would translate must describe a well-formed packet (UDP
//     length, TCP data offset, IP length); a malformed one is passed, a well-formed one translated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFrame, buildIpPacket, type FrameSpec, parseFrame } from '@xdp-lb/netlab';
import { addFamily, FAMILIES, V4, V6 } from './harness/families.js';
import { backendMac, bpfSkipReason, STRATEGIES, TestDataplane } from './harness/dataplane.js';
import { check, type Fixture } from './harness/fixtures.js';
import { MAC, tcp } from './harness/frames.js';

if (bpfSkipReason) console.warn(`[bpf malformed] skipped: ${bpfSkipReason}`);

const NAT_UDP = 5353;
const DSR_UDP = 53;
const MALFORMED = { PASS_MALFORMED: 1 };

const l3 = (src: string, dst: string, extra: Record<string, unknown> = {}): Pick<FrameSpec, 'ipv4' | 'ipv6'> =>
  src.includes(':') ? { ipv6: { src, dst, ...extra } } : { ipv4: { src, dst, id: 0x4321, ...extra } };

/** A UDP frame whose length field says `length` (default: right), its checksum right for what the field covers. */
function udpFrame(
  src: string,
  dst: string,
  dport: number,
  o: { payload?: string; length?: number; surplus?: number[]; padding?: number[]; ip?: Record<string, unknown>; sport?: number } = {},
): Buffer {
  const payload = o.payload ?? 'query';
  const base: FrameSpec = {
    eth: { src: MAC.client, dst: MAC.lb },
    ...l3(src, dst, o.ip),
    udp: { sport: o.sport ?? 40000, dport },
    payload,
  };
  // The checksum of the datagram the field describes (RFC 768), computed by the builder on the right frame.
  const right = parseFrame(buildFrame(base)).udp!.checksum;
  return buildFrame({
    ...base,
    udp: { sport: o.sport ?? 40000, dport, length: o.length ?? 8 + payload.length, checksum: right },
    payload: Buffer.concat([Buffer.from(payload), Buffer.from(o.surplus ?? [])]),
    ...(o.padding ? { padding: o.padding } : {}),
  });
}

/** A copy of `frame` with its IPv4 total length set to `tot` (header checksum fixed) and padded to 60 bytes. */
function ipv4Shortened(frame: Buffer, tot: number): Buffer {
  const b = Buffer.from(frame.length < 60 ? Buffer.concat([frame, Buffer.alloc(60 - frame.length)]) : frame);
  b.writeUInt16BE(tot, 16);
  b.writeUInt16BE(0, 24);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, 24);
  return b;
}

describe.skipIf(bpfSkipReason !== null).each(STRATEGIES)('malformed L4 [%s]', (strategy) => {
  let dp: TestDataplane;

  beforeAll(async () => {
    dp = await TestDataplane.load(strategy, { ct_refresh_ns: 0, icmp_echo: 1 });
    for (const [n, f] of FAMILIES) {
      addFamily(dp, n, f);
      dp.addService({ vip: f.vip, port: NAT_UDP, proto: 'udp', id: 10 * n + 0, fwd: 'nat', snatFirst: n, snatCount: 1 });
      dp.addService({ vip: f.vip, port: DSR_UDP, proto: 'udp', id: 10 * n + 1, fwd: 'dsr' });
      dp.addService({ vip: f.vip, port: 80, proto: 'tcp', id: 10 * n + 2, fwd: 'dsr' });
      dp.addService({ vip: f.vip, port: 443, proto: 'tcp', id: 10 * n + 3, fwd: 'nat', snatFirst: n, snatCount: 1 });
      dp.setBackend(10 * n + 1, { addr: f.be, port: NAT_UDP });
      dp.setBackend(10 * n + 2, { addr: f.be, port: DSR_UDP });
      dp.setBackend(10 * n + 3, { addr: f.be, port: 80 });
      dp.setBackend(10 * n + 4, { addr: f.be, port: 8443 });
      dp.setTable(10 * n + 0, [10 * n + 1]);
      dp.setTable(10 * n + 1, [10 * n + 2]);
      dp.setTable(10 * n + 2, [10 * n + 3]);
      dp.setTable(10 * n + 3, [10 * n + 4]);
    }
  });
  afterAll(() => dp?.dispose());

  describe.each([
    ['IPv4', V4],
    ['IPv6', V6],
  ] as const)('UDP length, %s', (_name, F) => {
    const fixtures: Fixture[] = [
      {
        description: 'nat: length 900, more than the IP packet holds',
        input: udpFrame(F.client, F.vip, NAT_UDP, { length: 900 }),
        verdict: 'PASS',
        reasons: MALFORMED,
      },
      {
        description: 'nat: length 4, below the 8-byte header',
        input: udpFrame(F.client, F.vip, NAT_UDP, { length: 4 }),
        verdict: 'PASS',
        reasons: MALFORMED,
      },
      { description: 'nat: length 0', input: udpFrame(F.client, F.vip, NAT_UDP, { length: 0 }), verdict: 'PASS', reasons: MALFORMED },
      {
        description: 'nat: one byte more than the IP packet holds',
        input: udpFrame(F.client, F.vip, NAT_UDP, { length: 8 + 5 + 1 }),
        verdict: 'PASS',
        reasons: MALFORMED,
      },
      { description: 'dsr: length 900', input: udpFrame(F.client, F.vip, DSR_UDP, { length: 900 }), verdict: 'PASS', reasons: MALFORMED },
      { description: 'dsr: length 4', input: udpFrame(F.client, F.vip, DSR_UDP, { length: 4 }), verdict: 'PASS', reasons: MALFORMED },
      {
        description: 'to a SNAT address (a reply), length 900: the reverse NAT does not touch it',
        input: udpFrame(F.be, F.snat, 20000, { length: 900, sport: NAT_UDP }),
        verdict: 'PASS',
        reasons: MALFORMED,
      },
    ];
    for (const f of fixtures) it(f.description, () => check(dp, f));

    it('the right length: forwarded (the control for the cases above)', () => {
      check(dp, {
        description: 'nat',
        input: udpFrame(F.client, F.vip, NAT_UDP, { sport: 40010 }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1 },
      });
      check(dp, {
        description: 'dsr',
        input: udpFrame(F.client, F.vip, DSR_UDP, { sport: 40010 }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1 },
      });
    });

    it('a length below the IP payload (a surplus): forwarded, the surplus as it came', () => {
      const surplus = [0x01, 0x01, 0x00, 0x02, 0xaa, 0xbb, 0xcc];
      const input = udpFrame(F.client, F.vip, NAT_UDP, { sport: 40001, surplus });
      const r = check(dp, { description: 'nat with surplus', input, verdict: 'TX', reasons: { TX: 1, CT_NEW: 1 } });
      const out = parseFrame(r.data);
      expect(out.udp!.dport).toBe(NAT_UDP);
      expect(out.udp!.length).toBe(8 + 5);
      expect(r.data.subarray(r.data.length - surplus.length)).toEqual(Buffer.from(surplus));
      expect(r.data.length).toBe(input.length);
    });

    it('a first fragment counts the whole datagram: its length may pass the fragment, not go below 8', () => {
      const ip = (id: number) => (F === V6 ? { extensions: [{ type: 44, fragOffset: 0, mf: true, id }] } : { mf: true, id });
      check(dp, {
        description: 'first fragment, length of the whole datagram',
        input: udpFrame(F.client, F.vip, DSR_UDP, { sport: 40002, length: 8 + 5 + 1200, ip: ip(0x777) }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1, FRAGMENT: 1 },
      });
      check(dp, {
        description: 'first fragment, length 4',
        input: udpFrame(F.client, F.vip, DSR_UDP, { sport: 40003, length: 4, ip: ip(0x778) }),
        verdict: 'PASS',
        reasons: MALFORMED,
      });
    });
  });

  describe('Ethernet padding (frames below 60 bytes are padded after the IP packet)', () => {
    it('a small datagram in a padded 60-byte frame: forwarded, the padding kept', () => {
      const input = udpFrame(V4.client, V4.vip, DSR_UDP, { sport: 40100, payload: 'a', padding: Array(60 - 43).fill(0) });
      expect(input.length).toBe(60);
      const r = check(dp, {
        description: 'padded',
        input,
        verdict: 'TX',
        output: (i) => {
          const o = Buffer.from(i);
          Buffer.from(
            backendMac(2)
              .split(':')
              .map((x) => parseInt(x, 16)),
          ).copy(o, 0);
          Buffer.from(MAC.lb.split(':').map((x) => parseInt(x, 16))).copy(o, 6);
          return o;
        },
      });
      expect(r.data.length).toBe(60);
      check(dp, {
        description: 'padded, nat',
        input: udpFrame(V4.client, V4.vip, NAT_UDP, { sport: 40101, payload: 'a', padding: Array(17).fill(0xee) }),
        verdict: 'TX',
        reasons: { TX: 1, CT_NEW: 1 },
      });
    });

    const fixtures: Fixture[] = [
      {
        description: 'a UDP length that counts the padding',
        input: udpFrame(V4.client, V4.vip, NAT_UDP, { sport: 40102, payload: 'a', length: 8 + 1 + 10, padding: Array(17).fill(0) }),
        verdict: 'PASS',
        reasons: MALFORMED,
      },
      {
        description: 'a UDP header in the padding (IP length 20)',
        input: ipv4Shortened(udpFrame(V4.client, V4.vip, NAT_UDP, { sport: 40103, payload: 'a' }), 20),
        verdict: 'PASS',
        reasons: MALFORMED,
      },
      {
        description: 'a UDP header cut by the IP length (IP length 24)',
        input: ipv4Shortened(udpFrame(V4.client, V4.vip, NAT_UDP, { sport: 40104, payload: 'a' }), 24),
        verdict: 'PASS',
        reasons: MALFORMED,
      },
      {
        description: 'a TCP header reaching into the padding (IP length 20 + 16)',
        input: ipv4Shortened(tcp({ src: V4.client, dst: V4.vip, sport: 40105, dport: 80, flags: 'S' }), 36),
        verdict: 'PASS',
        reasons: MALFORMED,
      },
      {
        description: 'TCP options reaching into the padding (data offset 6, IP length 20 + 20)',
        input: ipv4Shortened(
          tcp({ src: V4.client, dst: V4.vip, sport: 40106, dport: 80, flags: 'S', tcpOptions: [{ kind: 'mss', value: 1460 }] }),
          40,
        ),
        verdict: 'PASS',
        reasons: MALFORMED,
      },
      {
        description: 'an ICMP echo header in the padding (IP length 20)',
        input: ipv4Shortened(
          buildFrame({ eth: { src: MAC.client, dst: MAC.lb }, ipv4: { src: V4.client, dst: V4.vip }, icmp: { type: 8, id: 1, seq: 1 } }),
          20,
        ),
        verdict: 'PASS',
        reasons: MALFORMED,
      },
    ];
    for (const f of fixtures) it(f.description, () => check(dp, f));
  });

  describe.each([
    ['IPv4', V4],
    ['IPv6', V6],
  ] as const)('the quote of an ICMP error, %s', (_name, F) => {
    const v6 = F === V6;
    const unreach = v6 ? { type: 1, code: 4 } : { type: 3, code: 3 };
    let port = 0;
    /** The datagram the LB forwarded to the backend (what the backend's port unreachable quotes). */
    const sent = (o: { length?: number; ip?: Record<string, unknown> } = {}) =>
      buildIpPacket({
        ...l3(F.snat, F.be, o.ip),
        udp: { sport: port, dport: NAT_UDP, ...(o.length !== undefined ? { length: o.length } : {}) },
        payload: 'query',
      });
    const error = (quote: Buffer) =>
      buildFrame({
        eth: { src: backendMac(v6 ? 11 : 1), dst: MAC.lb },
        ...l3(F.be, F.snat),
        ...(v6
          ? { icmp6: { type: unreach.type, code: unreach.code, rest: 0 } }
          : { icmp: { type: unreach.type, code: unreach.code, rest: 0 } }),
        payload: quote,
      });

    beforeAll(() => {
      const r = dp.run(udpFrame(F.client, F.vip, NAT_UDP, { sport: 43000 }));
      expect(r.verdict).toBe('TX');
      port = parseFrame(r.data).udp!.sport;
    });

    it('a well-formed quote: translated for the client (the control)', () => {
      check(dp, { description: 'port unreachable', input: error(sent()), verdict: 'TX', reasons: { TX: 1, ICMP_RELAYED: 1 } });
    });

    const hl = v6 ? 40 : 20;
    const cases: Array<[string, () => Buffer]> = [
      ['quoted UDP length 4', () => error(sent({ length: 4 }))],
      ['quoted UDP length past the quoted IP packet', () => error(sent({ length: 900 }))],
      ['quoted IP length without room for the UDP header', () => error(sent({ ip: v6 ? { payloadLength: 4 } : { totalLength: 24 } }))],
      ['a quote of 4 bytes of UDP (RFC 792 wants 8)', () => error(sent().subarray(0, hl + 4))],
      [
        'a quote reaching into the Ethernet padding',
        () => {
          const f = error(sent().subarray(0, hl + 8));
          if (v6) {
            const b = Buffer.concat([f, Buffer.alloc(8)]);
            b.writeUInt16BE(b.readUInt16BE(18) - 4, 18); // the last 4 quoted bytes now lie after the IPv6 packet
            return b;
          }
          return ipv4Shortened(f, f.length - 14 - 4);
        },
      ],
    ];
    for (const [what, input] of cases) {
      it(`${what}: untouched`, () => check(dp, { description: what, input: input(), verdict: 'PASS', reasons: MALFORMED }));
    }

    it('a quoted TCP data offset below 5: untouched', () => {
      const r = dp.run(tcp({ src: F.client, dst: F.vip, sport: 43001, dport: 443, flags: 'S' }));
      expect(r.verdict).toBe('TX');
      const p = parseFrame(r.data).tcp!.sport;
      const quote = buildIpPacket({ ...l3(F.snat, F.be), tcp: { sport: p, dport: 8443, flags: 'A' }, payload: 'x' });
      check(dp, { description: 'control', input: error(quote), verdict: 'TX', reasons: { TX: 1, ICMP_RELAYED: 1 } });
      const bad = Buffer.from(quote);
      bad[hl + 12] = 4 << 4;
      check(dp, { description: 'data offset 4', input: error(bad), verdict: 'PASS', reasons: MALFORMED });
    });
  });
});
