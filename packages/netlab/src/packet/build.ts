// Frames from plain objects. Build inside out: the L4 checksum needs the L3 addresses, the L3
// lengths need the L4 bytes. Every derived field (EtherTypes, protocol numbers, lengths, checksums)
// can be overridden to produce malformed input on purpose.
import { parseIpv4, parseIpv6, parseMac } from './addr.js';
import { internetChecksum, pseudoHeader, wrongChecksum } from './checksum.js';
import {
  type ArpSpec,
  type ByteInput,
  type ChecksumSpec,
  EtherType,
  type FrameSpec,
  type IcmpSpec,
  IpProto,
  type IpPacketSpec,
  type Ipv6Extension,
  type TcpFlags,
  type TcpOption,
  type TcpSpec,
} from './types.js';

export const DEFAULT_SRC_MAC = '02:00:00:00:00:01';
export const DEFAULT_DST_MAC = '02:00:00:00:00:02';

export interface BuildOptions {
  /**
   * Recompute every derived field even where the spec gives a value: numeric checksums, lengths,
   * header lengths, EtherTypes and protocol numbers (an explicit `'bad'` checksum stays bad). Use it
   * to edit a parsed frame: `buildFrame({ ...parsed, ipv4: { ...parsed.ipv4!, ttl: 63 } }, { recompute: true })`.
   */
  recompute?: boolean;
}

/** Builds a complete Ethernet frame. */
export function buildFrame(input: FrameSpec, options: BuildOptions = {}): Buffer {
  const spec = options.recompute ? withoutDerived(input) : input;
  const l3Count = [spec.ipv4, spec.ipv6, spec.arp].filter(Boolean).length;
  if (l3Count > 1) throw new TypeError('buildFrame: give at most one of ipv4, ipv6, arp');
  if (spec.arp && (spec.tcp || spec.udp || spec.icmp || spec.icmp6)) {
    throw new TypeError('buildFrame: arp cannot carry an L4 layer');
  }
  const src = spec.eth?.src ?? DEFAULT_SRC_MAC;
  let body: Buffer;
  let innerType: number;
  if (spec.arp) {
    body = Buffer.concat([buildArp(spec.arp, src), bytes(spec.payload)]);
    innerType = EtherType.ARP;
  } else if (spec.ipv4 || spec.ipv6) {
    body = buildIpPacket(spec);
    innerType = spec.ipv4 ? EtherType.IPv4 : EtherType.IPv6;
  } else {
    if (spec.tcp || spec.udp || spec.icmp || spec.icmp6) throw new TypeError('buildFrame: an L4 layer needs ipv4 or ipv6');
    body = bytes(spec.payload);
    innerType = spec.vlan?.type ?? spec.eth?.type ?? 0x88b5; // IEEE local experimental EtherType
  }

  const defaultDst = spec.arp && arpOp(spec.arp.op) === 1 ? 'ff:ff:ff:ff:ff:ff' : DEFAULT_DST_MAC;
  const eth = Buffer.alloc(14);
  parseMac(spec.eth?.dst ?? defaultDst).copy(eth, 0);
  parseMac(src).copy(eth, 6);
  let vlan = Buffer.alloc(0);
  if (spec.vlan) {
    const v = spec.vlan;
    vlan = Buffer.alloc(4);
    vlan.writeUInt16BE(((v.pcp ?? 0) << 13) | ((v.dei ? 1 : 0) << 12) | (v.id & 0xfff), 0);
    vlan.writeUInt16BE(v.type ?? innerType, 2);
    eth.writeUInt16BE(spec.eth?.type ?? v.tpid ?? EtherType.VLAN, 12);
  } else {
    eth.writeUInt16BE(spec.eth?.type ?? innerType, 12);
  }
  return Buffer.concat([eth, vlan, body, bytes(spec.padding)]);
}

/** Builds an IP packet (IPv4 or IPv6 header, L4, payload) without the link layer. */
export function buildIpPacket(input: IpPacketSpec, options: BuildOptions = {}): Buffer {
  const spec = options.recompute ? withoutDerived(input) : input;
  const { ipv4, ipv6 } = spec;
  if (!ipv4 === !ipv6) throw new TypeError('buildIpPacket: give exactly one of ipv4, ipv6');
  if (spec.icmp && ipv6) throw new TypeError('buildIpPacket: use icmp6 with ipv6');
  if (spec.icmp6 && ipv4) throw new TypeError('buildIpPacket: use icmp with ipv4');
  if ([spec.tcp, spec.udp, spec.icmp, spec.icmp6].filter(Boolean).length > 1) {
    throw new TypeError('buildIpPacket: give at most one L4 layer');
  }
  const src = ipv4 ? parseIpv4(ipv4.src) : parseIpv6((ipv6 as NonNullable<typeof ipv6>).src);
  const dst = ipv4 ? parseIpv4(ipv4.dst) : parseIpv6((ipv6 as NonNullable<typeof ipv6>).dst);
  const payload = bytes(spec.payload);

  let l4: Buffer;
  let proto: number;
  if (spec.tcp) {
    proto = IpProto.TCP;
    l4 = buildTcp(spec.tcp, payload, src, dst);
  } else if (spec.udp) {
    proto = IpProto.UDP;
    const u = spec.udp;
    l4 = Buffer.concat([Buffer.alloc(8), payload]);
    l4.writeUInt16BE(u.sport, 0);
    l4.writeUInt16BE(u.dport, 2);
    l4.writeUInt16BE(u.length ?? l4.length, 4);
    // RFC 768: a computed zero is sent as all ones, since zero means "no checksum".
    const computed = internetChecksum(pseudoHeader(src, dst, proto, l4.length), l4) || 0xffff;
    l4.writeUInt16BE(resolveChecksum(u.checksum, computed), 6);
  } else if (spec.icmp || spec.icmp6) {
    proto = spec.icmp ? IpProto.ICMP : IpProto.ICMPv6;
    l4 = buildIcmp(
      (spec.icmp ?? spec.icmp6) as IcmpSpec,
      payload,
      spec.icmp6 ? pseudoHeader(src, dst, proto, 8 + payload.length) : undefined,
    );
  } else {
    proto = ipv4 ? (ipv4.protocol ?? 253) : IpProto.NoNext; // 253: RFC 3692 experimentation
    l4 = payload;
  }

  if (ipv4) {
    const options = padTo4(bytes(ipv4.options), 0);
    const h = Buffer.alloc(20 + options.length);
    const ihl = ipv4.ihl ?? h.length / 4;
    h[0] = ((ipv4.version ?? 4) << 4) | (ihl & 0xf);
    h[1] = ipv4.tos ?? 0;
    h.writeUInt16BE(ipv4.totalLength ?? h.length + l4.length, 2);
    h.writeUInt16BE(ipv4.id ?? 0, 4);
    const flags = ((ipv4.rf ? 4 : 0) | (ipv4.df ? 2 : 0) | (ipv4.mf ? 1 : 0)) << 13;
    h.writeUInt16BE(flags | ((ipv4.fragOffset ?? 0) & 0x1fff), 6);
    h[8] = ipv4.ttl ?? 64;
    h[9] = ipv4.protocol ?? proto;
    src.copy(h, 12);
    dst.copy(h, 16);
    options.copy(h, 20);
    h.writeUInt16BE(resolveChecksum(ipv4.checksum, internetChecksum(h)), 10);
    return Buffer.concat([h, l4]);
  }

  const v6 = ipv6 as NonNullable<typeof ipv6>;
  const exts = v6.extensions ?? [];
  const extBytes = exts.map((e, i) => buildIpv6Extension(e, exts[i + 1]?.type ?? proto));
  const rest = Buffer.concat([...extBytes, l4]);
  const h = Buffer.alloc(40);
  h.writeUInt32BE(
    (((v6.version ?? 6) & 0xf) * 0x10000000 + ((v6.trafficClass ?? 0) & 0xff) * 0x100000 + ((v6.flowLabel ?? 0) & 0xfffff)) >>> 0,
    0,
  );
  h.writeUInt16BE(v6.payloadLength ?? rest.length, 4);
  h[6] = v6.nextHeader ?? exts[0]?.type ?? proto;
  h[7] = v6.hopLimit ?? 64;
  src.copy(h, 8);
  dst.copy(h, 24);
  return Buffer.concat([h, rest]);
}

/** A copy of `spec` with the fields `recompute` re-derives removed. */
function withoutDerived<T extends FrameSpec>(spec: T): T {
  const hasL4 = Boolean(spec.tcp || spec.udp || spec.icmp || spec.icmp6);
  const cs = (c: ChecksumSpec | undefined): ChecksumSpec | undefined => (c === 'bad' ? 'bad' : undefined);
  const out: T = { ...spec };
  if (spec.eth) out.eth = { ...spec.eth, type: undefined };
  if (spec.vlan) out.vlan = { ...spec.vlan, type: undefined };
  if (spec.ipv4) {
    out.ipv4 = { ...spec.ipv4, ihl: undefined, totalLength: undefined, checksum: cs(spec.ipv4.checksum) };
    if (hasL4) out.ipv4.protocol = undefined;
  }
  if (spec.ipv6) {
    out.ipv6 = { ...spec.ipv6, payloadLength: undefined };
    if (hasL4 || spec.ipv6.extensions?.length) out.ipv6.nextHeader = undefined;
  }
  if (spec.tcp) out.tcp = { ...spec.tcp, dataOffset: undefined, checksum: cs(spec.tcp.checksum) };
  if (spec.udp) out.udp = { ...spec.udp, length: undefined, checksum: cs(spec.udp.checksum) };
  if (spec.icmp) out.icmp = { ...spec.icmp, checksum: cs(spec.icmp.checksum) };
  if (spec.icmp6) out.icmp6 = { ...spec.icmp6, checksum: cs(spec.icmp6.checksum) };
  return out;
}

function buildTcp(t: TcpSpec, payload: Buffer, src: Buffer, dst: Buffer): Buffer {
  const options =
    Array.isArray(t.options) && t.options.length > 0 && typeof t.options[0] === 'object'
      ? encodeTcpOptions(t.options as TcpOption[])
      : bytes(t.options as ByteInput | undefined);
  const opt = padTo4(options, 0);
  const h = Buffer.alloc(20 + opt.length);
  h.writeUInt16BE(t.sport, 0);
  h.writeUInt16BE(t.dport, 2);
  h.writeUInt32BE((t.seq ?? 0) >>> 0, 4);
  h.writeUInt32BE((t.ack ?? 0) >>> 0, 8);
  h[12] = (((t.dataOffset ?? h.length / 4) & 0xf) << 4) | ((t.reserved ?? 0) & 0xf);
  h[13] = tcpFlagBits(t.flags);
  h.writeUInt16BE(t.window ?? 65535, 14);
  h.writeUInt16BE(t.urgent ?? 0, 18);
  opt.copy(h, 20);
  const seg = Buffer.concat([h, payload]);
  const computed = internetChecksum(pseudoHeader(src, dst, IpProto.TCP, seg.length), seg);
  seg.writeUInt16BE(resolveChecksum(t.checksum, computed), 16);
  return seg;
}

function buildIcmp(i: IcmpSpec, payload: Buffer, pseudo: Buffer | undefined): Buffer {
  const m = Buffer.concat([Buffer.alloc(8), payload]);
  m[0] = i.type;
  m[1] = i.code ?? 0;
  if (i.id !== undefined || i.seq !== undefined) {
    m.writeUInt16BE(i.id ?? 0, 4);
    m.writeUInt16BE(i.seq ?? 0, 6);
  } else {
    m.writeUInt32BE((i.rest ?? 0) >>> 0, 4);
  }
  const computed = pseudo ? internetChecksum(pseudo, m) : internetChecksum(m);
  m.writeUInt16BE(resolveChecksum(i.checksum, computed), 2);
  return m;
}

function buildArp(a: ArpSpec, ethSrc: string): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0); // Ethernet
  b.writeUInt16BE(EtherType.IPv4, 2);
  b[4] = 6;
  b[5] = 4;
  b.writeUInt16BE(arpOp(a.op), 6);
  parseMac(a.sha ?? ethSrc).copy(b, 8);
  parseIpv4(a.spa).copy(b, 14);
  parseMac(a.tha ?? '00:00:00:00:00:00').copy(b, 18);
  parseIpv4(a.tpa).copy(b, 24);
  return b;
}

function buildIpv6Extension(e: Ipv6Extension, next: number): Buffer {
  if (e.type === IpProto.Fragment) {
    const b = Buffer.alloc(8);
    b[0] = next;
    b[1] = e.reserved ?? 0;
    b.writeUInt16BE(((e.fragOffset & 0x1fff) << 3) | (e.mf ? 1 : 0), 2);
    b.writeUInt32BE(e.id >>> 0, 4);
    return b;
  }
  const data = bytes(e.data);
  const len = Math.max(6, Math.ceil((data.length + 2) / 8) * 8 - 2);
  const b = Buffer.alloc(2 + len);
  b[0] = next;
  b[1] = (b.length - 8) / 8;
  data.copy(b, 2);
  return b;
}

/** Encodes TCP options in order, without padding. */
export function encodeTcpOptions(options: readonly TcpOption[]): Buffer {
  const parts = options.map((o): Buffer => {
    switch (o.kind) {
      case 'eol':
        return Buffer.from([0]);
      case 'nop':
        return Buffer.from([1]);
      case 'mss': {
        const b = Buffer.from([2, 4, 0, 0]);
        b.writeUInt16BE(o.value, 2);
        return b;
      }
      case 'windowScale':
        return Buffer.from([3, 3, o.shift]);
      case 'sackPermitted':
        return Buffer.from([4, 2]);
      case 'sack': {
        const b = Buffer.alloc(2 + 8 * o.blocks.length);
        b[0] = 5;
        b[1] = b.length;
        o.blocks.forEach(([l, r], i) => {
          b.writeUInt32BE(l >>> 0, 2 + 8 * i);
          b.writeUInt32BE(r >>> 0, 6 + 8 * i);
        });
        return b;
      }
      case 'timestamp': {
        const b = Buffer.alloc(10);
        b[0] = 8;
        b[1] = 10;
        b.writeUInt32BE(o.value >>> 0, 2);
        b.writeUInt32BE(o.echo >>> 0, 6);
        return b;
      }
      default: {
        const data = bytes(o.data);
        return Buffer.concat([Buffer.from([o.kind, data.length + 2]), data]);
      }
    }
  });
  return Buffer.concat(parts);
}

const FLAG_LETTERS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80 };
const FLAG_NAMES: Array<[keyof TcpFlags, number]> = [
  ['fin', 0x01],
  ['syn', 0x02],
  ['rst', 0x04],
  ['psh', 0x08],
  ['ack', 0x10],
  ['urg', 0x20],
  ['ece', 0x40],
  ['cwr', 0x80],
];

/** The flag byte for `'SA'`-style letters, a mask, or a flags object. */
export function tcpFlagBits(flags: TcpSpec['flags']): number {
  if (flags === undefined) return 0;
  if (typeof flags === 'number') return flags & 0xff;
  if (typeof flags === 'string') {
    let bits = 0;
    for (const ch of flags.toUpperCase()) {
      const bit = FLAG_LETTERS[ch];
      if (bit === undefined) throw new TypeError(`unknown TCP flag letter ${JSON.stringify(ch)} in ${JSON.stringify(flags)}`);
      bits |= bit;
    }
    return bits;
  }
  return FLAG_NAMES.reduce((bits, [name, bit]) => (flags[name] ? bits | bit : bits), 0);
}

/** The flags object for a flag byte. */
export function tcpFlagsFromBits(bits: number): TcpFlags {
  const out = {} as TcpFlags;
  for (const [name, bit] of FLAG_NAMES) out[name] = (bits & bit) !== 0;
  return out;
}

/** `'SA'`-style letters for a flags object or byte (in the order F S R P A U E C). */
export function tcpFlagsString(flags: TcpFlags | number): string {
  const bits = typeof flags === 'number' ? flags : tcpFlagBits(flags);
  return Object.entries(FLAG_LETTERS)
    .filter(([, bit]) => bits & bit)
    .map(([l]) => l)
    .join('');
}

function arpOp(op: ArpSpec['op']): number {
  if (op === undefined || op === 'request') return 1;
  if (op === 'reply') return 2;
  return op;
}

function resolveChecksum(spec: ChecksumSpec | undefined, correct: number): number {
  if (spec === undefined || spec === 'auto') return correct;
  if (spec === 'bad') return wrongChecksum(correct);
  return spec & 0xffff;
}

function padTo4(b: Buffer, fill: number): Buffer {
  const pad = (4 - (b.length % 4)) % 4;
  return pad ? Buffer.concat([b, Buffer.alloc(pad, fill)]) : b;
}

function bytes(input: ByteInput | string | undefined): Buffer {
  if (input === undefined) return Buffer.alloc(0);
  if (typeof input === 'string') return Buffer.from(input, 'utf8');
  return Buffer.from(input as Uint8Array);
}
