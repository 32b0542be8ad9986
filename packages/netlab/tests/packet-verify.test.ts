// The independent checksum verifier: against frames the kernel sent (tests/fixtures, captured by
// kernel-frames.test.ts), against hand-computed RFC examples, and against the builder (both must
// agree, and every single-bit corruption of a covered byte must be caught).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildFrame, buildIpPacket, parseFrame, summarizeFrame, truncate, verifyChecksums, type FrameSpec } from '../src/index.js';

interface Fixture {
  what: string;
  dir: string;
  hex: string;
}
const fixtures = (JSON.parse(readFileSync(new URL('./fixtures/kernel-frames.json', import.meta.url), 'utf8')) as Fixture[]).map((f) => ({
  ...f,
  data: Buffer.from(f.hex, 'hex'),
}));

describe('verifyChecksums on frames the kernel sent', () => {
  it('has a varied fixture set', () => {
    const kinds = fixtures.map((f) => f.what).join('\n');
    for (const k of [
      'arp',
      'ipv4 options',
      'fragment first',
      'fragment later',
      'tcp syn',
      'ipv6 / tcp',
      'ipv6 / udp',
      'icmp6 135',
      'udp zero checksum',
    ]) {
      expect(kinds).toContain(k);
    }
  });

  it.each(fixtures.map((f) => [f.what, f.data] as const))('accepts %s', (_what, data) => {
    expect(verifyChecksums(data)).toEqual([]);
  });

  it.each(fixtures.map((f) => [f.what, f.data] as const))('builder computes the same checksums as the kernel: %s', (_what, data) => {
    const f = parseFrame(data);
    const fragment = f.ipv4 && (f.ipv4.mf || f.ipv4.fragOffset > 0);
    expect(buildFrame(f).equals(data)).toBe(true);
    if (!fragment && f.udp?.checksum !== 0) expect(buildFrame(f, { recompute: true }).equals(data)).toBe(true);
  });

  it('catches every single-bit error in checksummed bytes', () => {
    let checked = 0;
    for (const { data, what } of fixtures) {
      const f = parseFrame(data);
      if (f.arp || (f.udp && f.udp.checksum === 0)) continue;
      const l3 = f.offsets.l3 as number;
      const fragment = Boolean(f.ipv4 && (f.ipv4.mf || f.ipv4.fragOffset > 0));
      const covered: number[] = [];
      if (f.ipv4) for (let i = l3; i < l3 + f.ipv4.ihl * 4; i++) covered.push(i);
      if (f.ipv6) for (let i = l3 + 8; i < l3 + 40; i++) covered.push(i); // addresses: in the pseudo-header
      if (!fragment && f.offsets.l4 !== undefined) for (let i = f.offsets.l4; i < data.length - f.padding.length; i++) covered.push(i);
      for (const i of covered) {
        for (const bit of [0x01, 0x80]) {
          const bad = Buffer.from(data);
          bad[i] = (bad[i] as number) ^ bit;
          expect(verifyChecksums(bad).length, `${what}: bit 0x${bit.toString(16)} of byte ${i}`).toBeGreaterThan(0);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});

describe('verifyChecksums from the RFCs', () => {
  // Hand-assembled, not built: Ethernet + IPv4 (checksum 0xeeb7 computed by hand) + an ICMP message
  // whose words are the RFC 1071 section 3 example (0001 f203 f4f5 f6f7: sum 0xddf2, checksum 0x220d).
  const frame = Buffer.from('0200000000020200000000010800' + '4500001e000000004001eeb7c6120001c6120002' + '0001220df203f4f5f6f7', 'hex');

  it('accepts the RFC 1071 worked example', () => {
    expect(verifyChecksums(frame)).toEqual([]);
  });

  it('reports the expected value when a checksum is wrong', () => {
    const bad = Buffer.from(frame);
    bad.writeUInt16BE(0x1234, 24);
    bad.writeUInt16BE(0x0000, 36);
    expect(verifyChecksums(bad)).toEqual([
      expect.objectContaining({ layer: 'ipv4', field: 'checksum', offset: 24, found: 0x1234, expected: 0xeeb7 }),
      expect.objectContaining({ layer: 'icmp', field: 'checksum', offset: 36, found: 0, expected: 0x220d }),
    ]);
  });

  it('allows UDP checksum zero over IPv4 but not over IPv6 (RFC 768, RFC 8200 8.1)', () => {
    const v4 = buildFrame({ ipv4: { src: '198.18.0.1', dst: '198.18.0.2' }, udp: { sport: 1, dport: 2, checksum: 0 }, payload: 'x' });
    expect(verifyChecksums(v4)).toEqual([]);
    const v6 = buildFrame({ ipv6: { src: '2001:db8::1', dst: '2001:db8::2' }, udp: { sport: 1, dport: 2, checksum: 0 }, payload: 'x' });
    expect(verifyChecksums(v6)).toEqual([expect.objectContaining({ layer: 'udp', field: 'checksum', found: 0 })]);
  });

  it('checks through VLAN tags, IPv6 extension headers and bare IP packets', () => {
    const spec: FrameSpec = {
      vlan: { id: 5 },
      ipv6: { src: '2001:db8::1', dst: '2001:db8::2', extensions: [{ type: 60, data: [1, 4, 0, 0, 0, 0] }] },
      tcp: { sport: 1, dport: 2, checksum: 'bad' },
    };
    expect(verifyChecksums(buildFrame(spec)).map((p) => p.layer)).toEqual(['tcp']);
    const bare = buildIpPacket({ ipv4: { src: '198.18.0.1', dst: '198.18.0.2', checksum: 'bad' }, udp: { sport: 1, dport: 2 } });
    expect(verifyChecksums(bare, { l3Offset: 0 }).map((p) => p.layer)).toEqual(['ipv4']);
  });

  it('does not judge the L4 checksum of a fragment', () => {
    const first = buildFrame({
      ipv4: { src: '198.18.0.1', dst: '198.18.0.2', mf: true },
      udp: { sport: 1, dport: 2, checksum: 0x1111 },
      payload: 'part',
    });
    expect(verifyChecksums(first)).toEqual([]);
  });

  it('reports lengths that make a checksum uncheckable', () => {
    const tcp = buildFrame({ ipv4: { src: '198.18.0.1', dst: '198.18.0.2' }, tcp: { sport: 1, dport: 2 }, payload: 'data' });
    expect(verifyChecksums(truncate(tcp, tcp.length - 2))).toEqual([expect.objectContaining({ layer: 'ipv4', field: 'length' })]);
    const short = buildFrame({ ipv4: { src: '198.18.0.1', dst: '198.18.0.2', totalLength: 30 }, tcp: { sport: 1, dport: 2 } });
    expect(verifyChecksums(short)).toEqual([expect.objectContaining({ layer: 'tcp', field: 'length' })]);
    const udpLen = buildFrame({ ipv4: { src: '198.18.0.1', dst: '198.18.0.2' }, udp: { sport: 1, dport: 2, length: 99 } });
    expect(verifyChecksums(udpLen)).toEqual([expect.objectContaining({ layer: 'udp', field: 'length' })]);
    const ihl = buildFrame({ ipv4: { src: '198.18.0.1', dst: '198.18.0.2', ihl: 4 } });
    expect(verifyChecksums(ihl)).toEqual([expect.objectContaining({ layer: 'ipv4', field: 'length' })]);
  });
});

describe('verifier and builder agree', () => {
  // A small deterministic PRNG so failures reproduce.
  let seed = 0x5eed;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const bytes = (n: number): number[] => Array.from({ length: n }, () => rnd(256));
  const v4 = (): string => `198.18.${rnd(256)}.${rnd(256)}`;
  const v6 = (): string => `2001:db8:${rnd(0x10000).toString(16)}::${rnd(0x10000).toString(16)}`;

  it('on 500 random frames, and on each with one corrupted checksum', () => {
    for (let i = 0; i < 500; i++) {
      const six = rnd(2) === 1;
      const l4 = rnd(3);
      const spec: FrameSpec = {
        ...(rnd(4) === 0 ? { vlan: { id: rnd(4096) } } : {}),
        ...(six
          ? { ipv6: { src: v6(), dst: v6(), hopLimit: rnd(256), flowLabel: rnd(0x100000) } }
          : { ipv4: { src: v4(), dst: v4(), ttl: rnd(256), id: rnd(0x10000), options: rnd(3) === 0 ? bytes(rnd(40)) : [] } }),
        ...(l4 === 0
          ? { tcp: { sport: rnd(0x10000), dport: rnd(0x10000), seq: rnd(2 ** 31), flags: rnd(256), options: bytes(rnd(40)) } }
          : {}),
        ...(l4 === 1 ? { udp: { sport: rnd(0x10000), dport: rnd(0x10000) } } : {}),
        ...(l4 === 2 ? { [six ? 'icmp6' : 'icmp']: { type: rnd(256), code: rnd(256), rest: rnd(2 ** 31) } } : {}),
        payload: bytes(rnd(300)),
      };
      const frame = buildFrame(spec);
      expect(verifyChecksums(frame), summarizeFrame(frame)).toEqual([]);
      const layer = l4 === 0 ? 'tcp' : l4 === 1 ? 'udp' : six ? 'icmp6' : 'icmp';
      const right = (parseFrame(frame)[layer] as { checksum: number }).checksum;
      const broken = buildFrame({ ...spec, [layer]: { ...(spec[layer] as object), checksum: 'bad' } });
      expect(verifyChecksums(broken)).toEqual([expect.objectContaining({ layer, field: 'checksum', expected: right })]);
    }
  });
});
