// Readable output for packet assertions: a hexdump, a one-line summary, a field-level diff ("which
// header field differs and how"), and cutting frames short for malformed-input fixtures.
import { formatIpv4, formatIpv6, formatMac } from './addr.js';
import { tcpFlagsString } from './build.js';
import { type FieldSpan, frameLayout, parseFrame } from './parse.js';
import type { LayerName } from './types.js';

/** Classic 16-bytes-per-line hexdump with offsets and printable ASCII. */
export function hexdump(data: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < data.length; off += 16) lines.push(hexLine(data, off));
  return lines.join('\n');
}

function hexLine(data: Uint8Array, off: number): string {
  const chunk = data.subarray(off, off + 16);
  const hex = Array.from({ length: 16 }, (_, i) => (i < chunk.length ? (chunk[i] as number).toString(16).padStart(2, '0') : '  '));
  const ascii = Array.from(chunk, (c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('');
  return `${off.toString(16).padStart(4, '0')}  ${hex.slice(0, 8).join(' ')}  ${hex.slice(8).join(' ')}  |${ascii}|`;
}

/** One line in the spirit of tcpdump: `02:..:01 > 02:..:02 IPv4 198.18.0.101:40000 > 198.18.0.10:80 TCP [S] len 0`. */
export function summarizeFrame(data: Uint8Array): string {
  const f = parseFrame(data);
  const parts = [`${f.eth.src} > ${f.eth.dst}`];
  if (f.vlan) parts.push(`vlan ${f.vlan.id}`);
  const ip = f.ipv4 ?? f.ipv6;
  const l4 = f.tcp ?? f.udp;
  if (f.arp) parts.push(`ARP ${f.arp.op === 1 ? 'who-has' : f.arp.op === 2 ? 'reply' : `op ${f.arp.op}`} ${f.arp.tpa} tell ${f.arp.spa}`);
  else if (ip) {
    const fam = f.ipv4 ? 'IPv4' : 'IPv6';
    const host = (a: string): string => (f.ipv6 ? `[${a}]` : a);
    if (l4) parts.push(`${fam} ${host(ip.src)}:${l4.sport} > ${host(ip.dst)}:${l4.dport}`);
    else parts.push(`${fam} ${ip.src} > ${ip.dst}`);
    if (f.ipv4 && (f.ipv4.mf || f.ipv4.fragOffset)) parts.push(`frag off ${f.ipv4.fragOffset * 8}${f.ipv4.mf ? ' MF' : ''}`);
    if (f.tcp) parts.push(`TCP [${tcpFlagsString(f.tcp.flags)}] seq ${f.tcp.seq} ack ${f.tcp.ack}`);
    else if (f.udp) parts.push('UDP');
    else if (f.icmp ?? f.icmp6) {
      const i = (f.icmp ?? f.icmp6) as NonNullable<typeof f.icmp>;
      parts.push(`${f.icmp ? 'ICMP' : 'ICMPv6'} type ${i.type} code ${i.code}`);
    } else parts.push(`proto ${f.ipv4?.protocol ?? f.ipv6?.nextHeader}`);
  } else parts.push(`ethertype 0x${(f.vlan?.type ?? f.eth.type).toString(16).padStart(4, '0')}`);
  parts.push(`len ${f.payload.length}`);
  if (f.truncated) parts.push(`(truncated in ${f.truncated})`);
  return parts.join(' ');
}

function formatField(data: Uint8Array, span: FieldSpan): string {
  if (span.offset + span.length > data.length) return '(missing)';
  const b = Buffer.from(data.buffer, data.byteOffset + span.offset, span.length);
  switch (span.format) {
    case 'mac':
      return formatMac(b);
    case 'ipv4':
      return formatIpv4(b);
    case 'ipv6':
      return formatIpv6(b);
    case 'uint':
      return span.length <= 4 ? String(b.readUIntBE(0, span.length)) : b.toString('hex');
    default:
      return span.length <= 4 ? `0x${b.toString('hex')}` : b.toString('hex');
  }
}

/**
 * Explains how `actual` differs from `expected`, field by field, followed by a hexdump diff
 * (`-` expected, `+` actual). Returns undefined when the frames are identical.
 */
export function diffFrames(actual: Uint8Array, expected: Uint8Array): string | undefined {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const e = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(e)) return undefined;
  const out: string[] = [];
  out.push(`frames differ: expected ${e.length} bytes (${summarizeFrame(e)})`);
  out.push(`                 actual ${a.length} bytes (${summarizeFrame(a)})`);

  const differs = (i: number): boolean => i >= a.length || i >= e.length || a[i] !== e[i];
  const covered = new Set<number>();
  for (const span of frameLayout(e)) {
    let diff = false;
    for (let i = span.offset; i < span.offset + span.length; i++) {
      covered.add(i);
      if (differs(i)) diff = true;
    }
    if (!diff) continue;
    out.push(`  ${span.name.padEnd(26)} @${span.offset}+${span.length}  expected ${formatField(e, span)}  actual ${formatField(a, span)}`);
  }
  // Differences outside known header fields (payload bytes, or past the shorter frame's end).
  let runStart = -1;
  const maxLen = Math.max(a.length, e.length);
  for (let i = 0; i <= maxLen; i++) {
    const hit = i < maxLen && !covered.has(i) && differs(i);
    if (hit && runStart < 0) runStart = i;
    if (!hit && runStart >= 0) {
      out.push(
        `  ${'bytes'.padEnd(26)} @${runStart}+${i - runStart}  expected ${e.subarray(runStart, i).toString('hex') || '(none)'}  actual ${a.subarray(runStart, i).toString('hex') || '(none)'}`,
      );
      runStart = -1;
    }
  }

  out.push('hexdump (- expected, + actual):');
  let same = 0;
  for (let off = 0; off < maxLen; off += 16) {
    const el = off < e.length ? hexLine(e, off) : undefined;
    const al = off < a.length ? hexLine(a, off) : undefined;
    if (el === al) {
      same++;
      if (same <= 2) out.push(`  ${el}`);
      else if (same === 3) out.push('  ...');
      continue;
    }
    same = 0;
    if (el !== undefined) out.push(`- ${el}`);
    if (al !== undefined) out.push(`+ ${al}`);
  }
  return out.join('\n');
}

/** Throws an Error carrying `diffFrames` output when the frames differ. */
export function assertFrameEqual(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  const diff = diffFrames(actual, expected);
  if (diff !== undefined) throw new Error(message ? `${message}\n${diff}` : diff);
}

/** The first `length` bytes of `frame` (a copy). */
export function truncate(frame: Uint8Array, length: number): Buffer {
  return Buffer.from(frame.subarray(0, Math.max(0, length)));
}

/**
 * Cuts `frame` at the start of `layer` plus `extra` bytes: `truncateAt(f, 'tcp', 10)` keeps the
 * first 10 bytes of the TCP header. `'payload'` is the start of the innermost payload.
 */
export function truncateAt(frame: Uint8Array, layer: LayerName | 'payload', extra = 0): Buffer {
  let start: number | undefined;
  if (layer === 'payload') start = parseFrame(frame).offsets.payload;
  else start = frameLayout(frame).find((s) => s.name.startsWith(`${layer}.`))?.offset;
  if (start === undefined) throw new TypeError(`truncateAt: the frame has no ${layer} layer (${summarizeFrame(frame)})`);
  return truncate(frame, start + extra);
}
