// Readable failures: hexdump, the field-level diff, one-line summaries and truncation helpers.
import { describe, expect, it } from 'vitest';
import { assertFrameEqual, buildFrame, diffFrames, hexdump, parseFrame, summarizeFrame, truncateAt, type FrameSpec } from '../src/index.js';

const spec = {
  eth: { src: '02:00:c6:12:00:65', dst: '02:00:c6:12:00:02' },
  ipv4: { src: '198.18.0.101', dst: '198.18.0.10', id: 1 },
  tcp: { sport: 40000, dport: 80, flags: 'S', seq: 7 },
  payload: 'hello',
} satisfies FrameSpec;
const frame = buildFrame(spec);

describe('hexdump', () => {
  it('prints offsets, 16 bytes a line and ASCII', () => {
    const lines = hexdump(Buffer.from('0123456789abcdefXYZ')).split('\n');
    expect(lines).toEqual([
      '0000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|',
      '0010  58 59 5a                                          |XYZ|',
    ]);
  });
});

describe('diffFrames', () => {
  it('is undefined for equal frames', () => {
    expect(diffFrames(frame, Buffer.from(frame))).toBeUndefined();
    expect(() => assertFrameEqual(frame, Buffer.from(frame))).not.toThrow();
  });

  it('names the fields that differ with both values', () => {
    const actual = buildFrame({
      ...spec,
      eth: { ...spec.eth, dst: '02:00:c6:12:00:0b' },
      ipv4: { ...spec.ipv4, dst: '198.18.0.11', ttl: 63 },
    });
    const diff = diffFrames(actual, frame) as string;
    expect(diff).toMatch(/eth\.dst\s+@0\+6\s+expected 02:00:c6:12:00:02\s+actual 02:00:c6:12:00:0b/);
    expect(diff).toMatch(/ipv4\.ttl\s+@22\+1\s+expected 64\s+actual 63/);
    expect(diff).toMatch(/ipv4\.checksum\s+@24\+2\s+expected 0x[0-9a-f]{4}\s+actual 0x[0-9a-f]{4}/);
    expect(diff).toMatch(/ipv4\.dst\s+@30\+4\s+expected 198\.18\.0\.10\s+actual 198\.18\.0\.11/);
    expect(diff).toMatch(/tcp\.checksum/);
    expect(diff).not.toMatch(/tcp\.sport|eth\.src/);
    expect(diff).toMatch(/^- 0000 /m);
    expect(diff).toMatch(/^\+ 0000 /m);
  });

  it('reports payload bytes and length differences', () => {
    const longer = buildFrame({ ...spec, payload: 'hellO!' });
    const diff = diffFrames(longer, frame) as string;
    expect(diff).toContain('expected 59 bytes');
    expect(diff).toContain('actual 60 bytes');
    expect(diff).toMatch(/bytes\s+@58\+2\s+expected 6f\s+actual 4f21/);
  });

  it('throws with the diff from assertFrameEqual', () => {
    const other = buildFrame({ ...spec, tcp: { ...spec.tcp, dport: 81 } });
    expect(() => assertFrameEqual(other, frame, 'rewritten packet')).toThrow(
      /rewritten packet\n[\s\S]*tcp\.dport\s+@36\+2\s+expected 80\s+actual 81/,
    );
  });
});

describe('summarizeFrame', () => {
  it('reads like tcpdump', () => {
    expect(summarizeFrame(frame)).toBe(
      '02:00:c6:12:00:65 > 02:00:c6:12:00:02 IPv4 198.18.0.101:40000 > 198.18.0.10:80 TCP [S] seq 7 ack 0 len 5',
    );
    const v6 = buildFrame({ ipv6: { src: '2001:db8::1', dst: '2001:db8::2' }, udp: { sport: 1, dport: 2 } });
    expect(summarizeFrame(v6)).toContain('IPv6 [2001:db8::1]:1 > [2001:db8::2]:2 UDP');
    expect(summarizeFrame(truncateAt(frame, 'tcp', 3))).toContain('(truncated in tcp)');
  });
});

describe('truncateAt', () => {
  it('cuts at a layer boundary plus extra bytes', () => {
    expect(truncateAt(frame, 'ipv4').length).toBe(14);
    expect(truncateAt(frame, 'tcp', 10).length).toBe(44);
    expect(truncateAt(frame, 'payload').length).toBe(54);
    expect(parseFrame(truncateAt(frame, 'tcp', 19)).truncated).toBe('tcp');
    expect(() => truncateAt(frame, 'udp')).toThrow(/no udp layer/);
  });
});
