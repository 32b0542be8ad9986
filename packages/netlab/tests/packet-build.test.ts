// The builder and the parser: exact bytes for hand-checked frames, every layer's fields, round
// trips (parse(build(x)) and build(parse(bytes))), overrides for malformed input, truncation.
import { describe, expect, it } from 'vitest';
import {
  buildFrame,
  buildIpPacket,
  formatIpv6,
  parseFrame,
  parseIpPacket,
  parseIpv4,
  parseIpv6,
  parseMac,
  tcpFlagBits,
  tcpFlagsString,
  truncate,
  verifyChecksums,
  type FrameSpec,
} from '../src/index.js';

describe('addresses', () => {
  it('parses and formats MACs and IPv4', () => {
    expect(parseMac('02:00:C6:12:00:0b').toString('hex')).toBe('0200c612000b');
    expect(parseIpv4('198.18.0.10').toString('hex')).toBe('c612000a');
    expect(() => parseIpv4('198.18.0.256')).toThrow(TypeError);
    expect(() => parseMac('02:00:00:00:00')).toThrow(TypeError);
  });

  it('formats IPv6 per RFC 5952', () => {
    const cases: Array<[string, string]> = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal runs
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero word is not compressed
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['::ffff:198.18.0.1', '::ffff:c612:1'],
    ];
    for (const [input, want] of cases) expect(formatIpv6(parseIpv6(input))).toBe(want);
    expect(() => parseIpv6('1::2::3')).toThrow(TypeError);
    expect(() => parseIpv6('1:2:3:4:5:6:7:8:9')).toThrow(TypeError);
  });
});

describe('buildFrame', () => {
  it('builds a TCP SYN byte for byte', () => {
    const f = buildFrame({
      eth: { src: '02:00:c6:12:00:65', dst: '02:00:c6:12:00:0b' },
      ipv4: { src: '198.18.0.101', dst: '198.18.0.11', id: 0x1234, df: true },
      tcp: {
        sport: 40000,
        dport: 80,
        seq: 0x01020304,
        flags: 'S',
        window: 64240,
        options: [
          { kind: 'mss', value: 1460 },
          { kind: 'sackPermitted' },
          { kind: 'timestamp', value: 1, echo: 0 },
          { kind: 'nop' },
          { kind: 'windowScale', shift: 7 },
        ],
      },
    });
    expect(f.length).toBe(74);
    expect(f.subarray(0, 14).toString('hex')).toBe('0200c612000b0200c61200650800');
    expect(f.subarray(14, 34).toString('hex')).toBe('4500003c123440004006' + f.subarray(24, 26).toString('hex') + 'c6120065c612000b');
    expect(f.subarray(34, 54).toString('hex')).toBe(
      '9c40005001020304' + '00000000' + 'a002faf0' + f.subarray(50, 52).toString('hex') + '0000',
    );
    expect(f.subarray(54).toString('hex')).toBe('020405b4' + '0402' + '080a0000000100000000' + '01' + '030307');
    expect(verifyChecksums(f)).toEqual([]);
  });

  it('computes the IPv4 header checksum of the classic example', () => {
    // The worked example of Wikipedia's "Internet checksum" article: checksum 0xb861.
    const ip = buildIpPacket({
      ipv4: { src: '192.168.0.1', dst: '192.168.0.199', id: 0, df: true, ttl: 64, protocol: 17, totalLength: 0x73 },
    });
    expect(ip.subarray(0, 20).toString('hex')).toBe('4500007300004000' + '4011b861c0a80001c0a800c7');
  });

  it('derives EtherTypes, protocols and lengths', () => {
    const v4 = parseFrame(buildFrame({ ipv4: { src: '198.18.0.1', dst: '198.18.0.2' }, udp: { sport: 1, dport: 2 }, payload: 'abc' }));
    expect(v4.eth.type).toBe(0x0800);
    expect(v4.ipv4).toMatchObject({ protocol: 17, totalLength: 20 + 8 + 3, ihl: 5, ttl: 64, version: 4 });
    expect(v4.udp?.length).toBe(11);
    const v6 = parseFrame(buildFrame({ ipv6: { src: '2001:db8::1', dst: '2001:db8::2' }, tcp: { sport: 1, dport: 2 } }));
    expect(v6.eth.type).toBe(0x86dd);
    expect(v6.ipv6).toMatchObject({ nextHeader: 6, payloadLength: 20, hopLimit: 64, version: 6 });
    const tagged = buildFrame({
      vlan: { id: 100, pcp: 5, dei: true },
      ipv4: { src: '198.18.0.1', dst: '198.18.0.2' },
      icmp: { type: 8, id: 1, seq: 2 },
    });
    expect(tagged.subarray(12, 18).toString('hex')).toBe('8100b0640800');
    expect(parseFrame(tagged).vlan).toEqual({ tpid: 0x8100, pcp: 5, dei: true, id: 100, type: 0x0800 });
  });

  it('round-trips every layer through the parser', () => {
    const specs: FrameSpec[] = [
      {
        ipv4: { src: '198.18.0.101', dst: '198.18.0.10', tos: 0xb8, id: 7, ttl: 3, df: true },
        tcp: { sport: 1, dport: 65535, seq: 0xffffffff, ack: 5, flags: 'FSRPAUEC', window: 0, urgent: 9 },
        payload: 'x'.repeat(101),
      },
      { ipv4: { src: '198.18.0.1', dst: '198.18.0.2', options: [0x94, 0x04, 0, 0] }, udp: { sport: 53, dport: 5353 }, payload: [1, 2, 3] },
      { ipv4: { src: '198.18.0.1', dst: '198.18.0.2', mf: true, id: 99 }, udp: { sport: 1, dport: 2 }, payload: 'first fragment' },
      { ipv4: { src: '198.18.0.1', dst: '198.18.0.2', fragOffset: 185, protocol: 17 }, payload: 'later fragment' },
      {
        ipv6: { src: '2001:db8:18::101', dst: '2001:db8:18::10', trafficClass: 0x2e, flowLabel: 0xabcde, hopLimit: 1 },
        udp: { sport: 9, dport: 7000 },
        payload: 'v6',
      },
      { ipv6: { src: 'fe80::1', dst: 'ff02::1' }, icmp6: { type: 135, code: 0, rest: 0 }, payload: parseIpv6('2001:db8::5') },
      {
        ipv6: {
          src: '2001:db8::1',
          dst: '2001:db8::2',
          extensions: [
            { type: 0, data: [5, 2, 0, 0, 1, 0] },
            { type: 44, fragOffset: 0, mf: true, id: 0xdeadbeef },
          ],
        },
        tcp: { sport: 4, dport: 5, flags: 'PA' },
        payload: 'behind two extension headers',
      },
      {
        vlan: { id: 4095, tpid: 0x88a8 },
        arp: { op: 'reply', spa: '198.18.0.2', tpa: '198.18.0.101', sha: '02:00:c6:12:00:02', tha: '02:00:c6:12:00:65' },
      },
      { eth: { type: 0x88b5 }, payload: 'raw ethernet' },
    ];
    for (const spec of specs) {
      const bytes = buildFrame(spec);
      const parsed = parseFrame(bytes);
      expect(parsed.truncated).toBeUndefined();
      expect(buildFrame(parsed).equals(bytes)).toBe(true);
      expect(buildFrame(parsed, { recompute: true }).equals(bytes)).toBe(true);
      for (const layer of ['ipv4', 'ipv6', 'tcp', 'udp', 'icmp', 'icmp6', 'arp', 'vlan'] as const) {
        if (spec[layer]) expect(parsed[layer], layer).toBeDefined();
      }
      if (!spec.ipv4?.mf) expect(verifyChecksums(bytes)).toEqual([]);
    }
  });

  it('parses TCP options into objects, and keeps odd ones raw so rebuilding stays exact', () => {
    const opts = [
      {
        kind: 'sack' as const,
        blocks: [
          [1, 2],
          [3, 4],
        ] as Array<[number, number]>,
      },
      { kind: 30, data: [1, 2] },
      { kind: 'eol' as const },
    ];
    const f = parseFrame(buildFrame({ ipv4: { src: '198.18.0.1', dst: '198.18.0.2' }, tcp: { sport: 1, dport: 2, options: opts } }));
    expect(f.tcp?.options).toEqual([
      {
        kind: 'sack',
        blocks: [
          [1, 2],
          [3, 4],
        ],
      },
      { kind: 30, data: Buffer.from([1, 2]) },
      { kind: 'eol' },
    ]);
    const odd = buildFrame({ ipv4: { src: '198.18.0.1', dst: '198.18.0.2' }, tcp: { sport: 1, dport: 2, options: [2, 9, 1, 1] } }); // length runs past the end
    const parsedOdd = parseFrame(odd);
    expect(Buffer.isBuffer(parsedOdd.tcp?.options)).toBe(true);
    expect(buildFrame(parsedOdd).equals(odd)).toBe(true);
  });

  it('writes wrong checksums and lengths on request', () => {
    const base = { ipv4: { src: '198.18.0.1', dst: '198.18.0.2' }, udp: { sport: 1, dport: 2 }, payload: 'p' } satisfies FrameSpec;
    const good = parseFrame(buildFrame(base));
    const bad = parseFrame(buildFrame({ ...base, ipv4: { ...base.ipv4, checksum: 'bad' }, udp: { ...base.udp, checksum: 'bad' } }));
    expect(bad.ipv4?.checksum).not.toBe(good.ipv4?.checksum);
    expect(bad.udp?.checksum).not.toBe(good.udp?.checksum);
    expect(parseFrame(buildFrame({ ...base, udp: { ...base.udp, checksum: 0 } })).udp?.checksum).toBe(0);
    expect(parseFrame(buildFrame({ ...base, ipv4: { ...base.ipv4, checksum: 0xbeef } })).ipv4?.checksum).toBe(0xbeef);
    const lying = parseFrame(buildFrame({ ...base, ipv4: { ...base.ipv4, totalLength: 500, ihl: 4 }, udp: { ...base.udp, length: 3 } }));
    expect(lying.ipv4).toMatchObject({ totalLength: 500, ihl: 4 });
  });

  it('recompute repairs an edited frame', () => {
    const orig = parseFrame(buildFrame({ ipv4: { src: '198.18.0.101', dst: '198.18.0.10' }, tcp: { sport: 5555, dport: 80, flags: 'S' } }));
    const edited = { ...orig, ipv4: { ...orig.ipv4!, dst: '198.18.0.11', ttl: 63 } };
    expect(verifyChecksums(buildFrame(edited)).map((p) => p.layer)).toEqual(['ipv4', 'tcp']);
    expect(verifyChecksums(buildFrame(edited, { recompute: true }))).toEqual([]);
  });

  it('sends a computed UDP checksum of zero as 0xffff (RFC 768)', () => {
    // Find a payload whose checksum computes to zero, then check it is transmitted as all ones.
    for (let i = 0; i < 0x10000; i++) {
      const spec = {
        ipv4: { src: '198.18.0.1', dst: '198.18.0.2' },
        udp: { sport: 1, dport: 2 },
        payload: [i >> 8, i & 0xff],
      } satisfies FrameSpec;
      const f = parseFrame(buildFrame(spec));
      if (f.udp?.checksum === 0xffff) {
        expect(verifyChecksums(buildFrame(spec))).toEqual([]);
        return;
      }
    }
    throw new Error('no payload gave a zero checksum');
  });

  it('rejects contradictory specs', () => {
    expect(() => buildFrame({ ipv4: { src: '1.1.1.1', dst: '1.1.1.2' }, ipv6: { src: '::1', dst: '::2' } })).toThrow(TypeError);
    expect(() => buildFrame({ tcp: { sport: 1, dport: 2 } })).toThrow(/needs ipv4 or ipv6/);
    expect(() => buildFrame({ ipv6: { src: '::1', dst: '::2' }, icmp: { type: 8 } })).toThrow(/icmp6/);
    expect(() =>
      buildFrame({ ipv4: { src: '1.1.1.1', dst: '1.1.1.2' }, tcp: { sport: 1, dport: 2 }, udp: { sport: 1, dport: 2 } }),
    ).toThrow(TypeError);
    expect(() => tcpFlagBits('SX')).toThrow(/unknown TCP flag/);
  });

  it('has TCP flag helpers that agree with each other', () => {
    expect(tcpFlagBits('SA')).toBe(0x12);
    expect(tcpFlagBits({ syn: true, ack: true })).toBe(0x12);
    expect(tcpFlagsString(0x12)).toBe('SA');
    expect(tcpFlagsString({ fin: true, syn: false, rst: false, psh: true, ack: true, urg: false, ece: false, cwr: false })).toBe('FPA');
  });
});

describe('parseFrame on short and odd input', () => {
  const full = buildFrame({
    ipv4: { src: '198.18.0.101', dst: '198.18.0.10' },
    tcp: { sport: 1000, dport: 80, flags: 'S' },
    payload: 'hello',
  });

  it('names the layer that was cut short and never throws', () => {
    const expectations: Array<[number, string | undefined]> = [
      [0, 'eth'],
      [13, 'eth'],
      [14, 'ipv4'],
      [33, 'ipv4'],
      [34, 'tcp'],
      [53, 'tcp'],
      [54, undefined],
      [full.length, undefined],
    ];
    for (const [n, layer] of expectations) expect(parseFrame(truncate(full, n)).truncated, `${n} bytes`).toBe(layer);
    for (let n = 0; n <= full.length; n++) expect(() => parseFrame(truncate(full, n))).not.toThrow();
  });

  it('takes the payload from the IP length and the rest as padding', () => {
    const short = buildFrame({
      ipv4: { src: '198.18.0.1', dst: '198.18.0.2' },
      udp: { sport: 1, dport: 2 },
      padding: new Array(18).fill(0),
    });
    expect(short.length).toBe(60);
    const f = parseFrame(short);
    expect(f.payload.length).toBe(0);
    expect(f.padding.length).toBe(18);
    expect(buildFrame(f).equals(short)).toBe(true);
    expect(verifyChecksums(short)).toEqual([]);
  });

  it('parses bare IP packets', () => {
    const p = parseIpPacket(buildIpPacket({ ipv6: { src: '2001:db8::1', dst: '2001:db8::2' }, udp: { sport: 1, dport: 2 } }));
    expect(p.udp).toMatchObject({ sport: 1, dport: 2 });
    expect(p.offsets).toEqual({ l3: 0, l4: 40, payload: 48 });
  });

  it('does not look for L4 headers in later fragments', () => {
    const f = parseFrame(
      buildFrame({ ipv4: { src: '198.18.0.1', dst: '198.18.0.2', fragOffset: 1, protocol: 6 }, payload: 'not a tcp header at all' }),
    );
    expect(f.tcp).toBeUndefined();
    expect(f.payload.toString()).toBe('not a tcp header at all');
  });
});
