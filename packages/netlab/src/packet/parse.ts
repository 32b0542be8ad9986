// Frames back into objects. Lenient by design: a test feeds it malformed and truncated input, so it
// never throws on packet content; it stops at the first layer that does not fit and says which.
// It also records where every field sits, which is what lets the diff name "ipv4.ttl" for byte 22.
import { formatIpv4, formatIpv6, formatMac } from './addr.js';
import { tcpFlagsFromBits } from './build.js';
import {
  type ArpHeader,
  EtherType,
  type Frame,
  type IcmpHeader,
  IpProto,
  type Ipv4Header,
  type Ipv6Extension,
  type Ipv6Header,
  type LayerName,
  type TcpHeader,
  type TcpOption,
  type UdpHeader,
} from './types.js';

/** How a field's bytes are shown in a diff. */
export type FieldFormat = 'mac' | 'ipv4' | 'ipv6' | 'uint' | 'hex';

/** One header field's place in a frame. */
export interface FieldSpan {
  name: string;
  offset: number;
  length: number;
  format: FieldFormat;
}

/** Parses an Ethernet frame (never throws on content; see `Frame.truncated`). */
export function parseFrame(frame: Uint8Array): Frame {
  return parseWithLayout(frame, undefined);
}

/** Where each header field of `frame` sits, in frame order. */
export function frameLayout(frame: Uint8Array): FieldSpan[] {
  const fields: FieldSpan[] = [];
  parseWithLayout(frame, fields);
  return fields;
}

/** Parses an IP packet without a link layer (the quote in an ICMP error, a BPF test's L3 view). */
export function parseIpPacket(packet: Uint8Array): Omit<Frame, 'eth' | 'vlan' | 'arp'> {
  const version = packet.length > 0 ? (packet[0] as number) >> 4 : 4;
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(version === 6 ? EtherType.IPv6 : EtherType.IPv4, 12);
  const f = parseWithLayout(Buffer.concat([eth, packet]), undefined);
  const { eth: _e, vlan: _v, arp: _a, ...rest } = f;
  const shift = (n: number | undefined): number | undefined => (n === undefined ? undefined : n - 14);
  return {
    ...rest,
    length: packet.length,
    offsets: { l3: shift(f.offsets.l3), l4: shift(f.offsets.l4), payload: f.offsets.payload - 14 },
  };
}

function parseWithLayout(input: Uint8Array, fields: FieldSpan[] | undefined): Frame {
  const b = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const field = (name: string, offset: number, length: number, format: FieldFormat = 'uint'): void => {
    fields?.push({ name, offset, length, format });
  };
  const slice = (from: number, to = b.length): Buffer => Buffer.from(b.subarray(Math.min(from, b.length), to));

  const frame: Frame = {
    length: b.length,
    eth: { dst: '00:00:00:00:00:00', src: '00:00:00:00:00:00', type: 0 },
    payload: Buffer.alloc(0),
    padding: Buffer.alloc(0),
    offsets: { payload: 0 },
  };
  const stop = (layer: LayerName | undefined, at: number, end = b.length): Frame => {
    if (layer) frame.truncated = layer;
    frame.payload = slice(at, end);
    frame.offsets.payload = at;
    return frame;
  };

  if (b.length < 14) {
    if (b.length >= 6) frame.eth.dst = formatMac(b.subarray(0, 6));
    if (b.length >= 12) frame.eth.src = formatMac(b.subarray(6, 12));
    return stop('eth', 0);
  }
  frame.eth = { dst: formatMac(b.subarray(0, 6)), src: formatMac(b.subarray(6, 12)), type: b.readUInt16BE(12) };
  field('eth.dst', 0, 6, 'mac');
  field('eth.src', 6, 6, 'mac');
  field('eth.type', 12, 2, 'hex');
  let off = 14;
  let type = frame.eth.type;
  if (type === EtherType.VLAN || type === EtherType.QinQ) {
    if (b.length < off + 4) return stop('vlan', off);
    const tci = b.readUInt16BE(off);
    frame.vlan = { tpid: type, pcp: tci >> 13, dei: (tci & 0x1000) !== 0, id: tci & 0xfff, type: b.readUInt16BE(off + 2) };
    field('vlan.tci', off, 2, 'hex');
    field('vlan.type', off + 2, 2, 'hex');
    type = frame.vlan.type;
    off += 4;
  }

  if (type === EtherType.ARP) {
    if (b.length < off + 28) return stop('arp', off);
    frame.offsets.l3 = off;
    const arp: ArpHeader = {
      htype: b.readUInt16BE(off),
      ptype: b.readUInt16BE(off + 2),
      op: b.readUInt16BE(off + 6),
      sha: formatMac(b.subarray(off + 8, off + 14)),
      spa: formatIpv4(b.subarray(off + 14, off + 18)),
      tha: formatMac(b.subarray(off + 18, off + 24)),
      tpa: formatIpv4(b.subarray(off + 24, off + 28)),
    };
    frame.arp = arp;
    field('arp.htype+ptype+hlen+plen', off, 6, 'hex');
    field('arp.op', off + 6, 2);
    field('arp.sha', off + 8, 6, 'mac');
    field('arp.spa', off + 14, 4, 'ipv4');
    field('arp.tha', off + 18, 6, 'mac');
    field('arp.tpa', off + 24, 4, 'ipv4');
    return stop(undefined, off + 28);
  }

  let l4proto: number;
  let end: number;
  let firstFragment = true;
  if (type === EtherType.IPv4) {
    if (b.length < off + 20) return stop('ipv4', off);
    frame.offsets.l3 = off;
    const ihl = (b[off] as number) & 0xf;
    const hlen = Math.max(ihl, 5) * 4;
    if (b.length < off + hlen) return stop('ipv4', off);
    const fragWord = b.readUInt16BE(off + 6);
    const ip: Ipv4Header = {
      version: (b[off] as number) >> 4,
      ihl,
      tos: b[off + 1] as number,
      totalLength: b.readUInt16BE(off + 2),
      id: b.readUInt16BE(off + 4),
      rf: (fragWord & 0x8000) !== 0,
      df: (fragWord & 0x4000) !== 0,
      mf: (fragWord & 0x2000) !== 0,
      fragOffset: fragWord & 0x1fff,
      ttl: b[off + 8] as number,
      protocol: b[off + 9] as number,
      checksum: b.readUInt16BE(off + 10),
      src: formatIpv4(b.subarray(off + 12, off + 16)),
      dst: formatIpv4(b.subarray(off + 16, off + 20)),
      options: slice(off + 20, off + hlen),
    };
    frame.ipv4 = ip;
    field('ipv4.version+ihl', off, 1, 'hex');
    field('ipv4.tos', off + 1, 1, 'hex');
    field('ipv4.totalLength', off + 2, 2);
    field('ipv4.id', off + 4, 2);
    field('ipv4.flags+fragOffset', off + 6, 2, 'hex');
    field('ipv4.ttl', off + 8, 1);
    field('ipv4.protocol', off + 9, 1);
    field('ipv4.checksum', off + 10, 2, 'hex');
    field('ipv4.src', off + 12, 4, 'ipv4');
    field('ipv4.dst', off + 16, 4, 'ipv4');
    if (hlen > 20) field('ipv4.options', off + 20, hlen - 20, 'hex');
    end = ip.totalLength >= hlen ? Math.min(off + ip.totalLength, b.length) : b.length;
    l4proto = ip.protocol;
    firstFragment = ip.fragOffset === 0;
    off += hlen;
    if (ihl < 5) return stop(undefined, off, end);
  } else if (type === EtherType.IPv6) {
    if (b.length < off + 40) return stop('ipv6', off);
    frame.offsets.l3 = off;
    const w0 = b.readUInt32BE(off);
    const ip: Ipv6Header = {
      version: w0 >>> 28,
      trafficClass: (w0 >>> 20) & 0xff,
      flowLabel: w0 & 0xfffff,
      payloadLength: b.readUInt16BE(off + 4),
      nextHeader: b[off + 6] as number,
      hopLimit: b[off + 7] as number,
      src: formatIpv6(b.subarray(off + 8, off + 24)),
      dst: formatIpv6(b.subarray(off + 24, off + 40)),
      extensions: [],
    };
    frame.ipv6 = ip;
    field('ipv6.version+tc+flowLabel', off, 4, 'hex');
    field('ipv6.payloadLength', off + 4, 2);
    field('ipv6.nextHeader', off + 6, 1);
    field('ipv6.hopLimit', off + 7, 1);
    field('ipv6.src', off + 8, 16, 'ipv6');
    field('ipv6.dst', off + 24, 16, 'ipv6');
    end = Math.min(off + 40 + ip.payloadLength, b.length);
    off += 40;
    l4proto = ip.nextHeader;
    while (l4proto === IpProto.HopByHop || l4proto === IpProto.Routing || l4proto === IpProto.DestOpts || l4proto === IpProto.Fragment) {
      const i = ip.extensions.length;
      if (l4proto === IpProto.Fragment) {
        if (end < off + 8) return stop('ipv6', off, end);
        const w = b.readUInt16BE(off + 2);
        const ext: Ipv6Extension = {
          type: 44,
          reserved: b[off + 1] as number,
          fragOffset: w >> 3,
          mf: (w & 1) !== 0,
          id: b.readUInt32BE(off + 4),
        };
        ip.extensions.push(ext);
        firstFragment = ext.fragOffset === 0;
        field(`ipv6.ext[${i}]`, off, 8, 'hex');
        l4proto = b[off] as number;
        off += 8;
        continue;
      }
      if (end < off + 2) return stop('ipv6', off, end);
      const len = ((b[off + 1] as number) + 1) * 8;
      if (end < off + len) return stop('ipv6', off, end);
      ip.extensions.push({ type: l4proto as 0 | 43 | 60, data: slice(off + 2, off + len) });
      field(`ipv6.ext[${i}]`, off, len, 'hex');
      l4proto = b[off] as number;
      off += len;
    }
  } else {
    return stop(undefined, off);
  }
  if (end < b.length) {
    frame.padding = slice(end);
    field('padding', end, b.length - end, 'hex');
  }
  if (!firstFragment) return stop(undefined, off, end);

  frame.offsets.l4 = off;
  if (l4proto === IpProto.TCP) {
    if (end < off + 20) return stop('tcp', off, end);
    const doff = (b[off + 12] as number) >> 4;
    const hlen = Math.max(doff, 5) * 4;
    if (end < off + hlen) return stop('tcp', off, end);
    const tcp: TcpHeader = {
      sport: b.readUInt16BE(off),
      dport: b.readUInt16BE(off + 2),
      seq: b.readUInt32BE(off + 4),
      ack: b.readUInt32BE(off + 8),
      dataOffset: doff,
      reserved: (b[off + 12] as number) & 0xf,
      flags: tcpFlagsFromBits(b[off + 13] as number),
      window: b.readUInt16BE(off + 14),
      checksum: b.readUInt16BE(off + 16),
      urgent: b.readUInt16BE(off + 18),
      options: decodeTcpOptions(slice(off + 20, off + hlen)),
    };
    frame.tcp = tcp;
    field('tcp.sport', off, 2);
    field('tcp.dport', off + 2, 2);
    field('tcp.seq', off + 4, 4);
    field('tcp.ack', off + 8, 4);
    field('tcp.dataOffset+reserved', off + 12, 1, 'hex');
    field('tcp.flags', off + 13, 1, 'hex');
    field('tcp.window', off + 14, 2);
    field('tcp.checksum', off + 16, 2, 'hex');
    field('tcp.urgent', off + 18, 2);
    if (hlen > 20) field('tcp.options', off + 20, hlen - 20, 'hex');
    off += hlen;
  } else if (l4proto === IpProto.UDP) {
    if (end < off + 8) return stop('udp', off, end);
    const udp: UdpHeader = {
      sport: b.readUInt16BE(off),
      dport: b.readUInt16BE(off + 2),
      length: b.readUInt16BE(off + 4),
      checksum: b.readUInt16BE(off + 6),
    };
    frame.udp = udp;
    field('udp.sport', off, 2);
    field('udp.dport', off + 2, 2);
    field('udp.length', off + 4, 2);
    field('udp.checksum', off + 6, 2, 'hex');
    off += 8;
  } else if ((l4proto === IpProto.ICMP && frame.ipv4) || (l4proto === IpProto.ICMPv6 && frame.ipv6)) {
    const layer = frame.ipv4 ? 'icmp' : 'icmp6';
    if (end < off + 8) return stop(layer, off, end);
    const t = b[off] as number;
    const icmp: IcmpHeader = { type: t, code: b[off + 1] as number, checksum: b.readUInt16BE(off + 2), rest: b.readUInt32BE(off + 4) };
    const echo = layer === 'icmp' ? t === 0 || t === 8 : t === 128 || t === 129;
    if (echo) {
      icmp.id = b.readUInt16BE(off + 4);
      icmp.seq = b.readUInt16BE(off + 6);
    }
    frame[layer] = icmp;
    field(`${layer}.type`, off, 1);
    field(`${layer}.code`, off + 1, 1);
    field(`${layer}.checksum`, off + 2, 2, 'hex');
    field(`${layer}.rest`, off + 4, 4, 'hex');
    off += 8;
  } else {
    delete frame.offsets.l4;
  }
  return stop(undefined, off, end);
}

/** Structured TCP options, or the raw bytes when they do not parse cleanly (so rebuilding is exact). */
export function decodeTcpOptions(raw: Buffer): TcpOption[] | Buffer {
  const out: TcpOption[] = [];
  let i = 0;
  while (i < raw.length) {
    const kind = raw[i] as number;
    if (kind === 0) {
      out.push({ kind: 'eol' });
      // Padding after End of Option List must be zero, or a rebuild would not reproduce it.
      return raw.subarray(i + 1).every((x) => x === 0) ? out : raw;
    }
    if (kind === 1) {
      out.push({ kind: 'nop' });
      i++;
      continue;
    }
    if (i + 1 >= raw.length) return raw;
    const len = raw[i + 1] as number;
    if (len < 2 || i + len > raw.length) return raw;
    const body = raw.subarray(i + 2, i + len);
    if (kind === 2 && len === 4) out.push({ kind: 'mss', value: body.readUInt16BE(0) });
    else if (kind === 3 && len === 3) out.push({ kind: 'windowScale', shift: body[0] as number });
    else if (kind === 4 && len === 2) out.push({ kind: 'sackPermitted' });
    else if (kind === 5 && (len - 2) % 8 === 0) {
      const blocks: Array<[number, number]> = [];
      for (let j = 0; j < body.length; j += 8) blocks.push([body.readUInt32BE(j), body.readUInt32BE(j + 4)]);
      out.push({ kind: 'sack', blocks });
    } else if (kind === 8 && len === 10) out.push({ kind: 'timestamp', value: body.readUInt32BE(0), echo: body.readUInt32BE(4) });
    else out.push({ kind, data: Buffer.from(body) });
    i += len;
  }
  return out;
}
