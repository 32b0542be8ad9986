// The shapes of frames. A `FrameSpec` is what you write (most fields optional, filled with sane
// defaults); a `Frame` is what `parseFrame` returns: the same shape with every field present, so a
// parsed frame can be fed back to `buildFrame` (byte-exact) or spread and edited in a fixture.

/** Bytes given as a Uint8Array, a plain array of octets, or (payloads only) a UTF-8 string. */
export type ByteInput = Uint8Array | readonly number[];

/**
 * A checksum field: `'auto'` (the default) computes the correct value, `'bad'` writes the correct
 * value with its lowest bit flipped (never accidentally right), a number is written as given.
 */
export type ChecksumSpec = 'auto' | 'bad' | number;

export const EtherType = { IPv4: 0x0800, ARP: 0x0806, VLAN: 0x8100, QinQ: 0x88a8, IPv6: 0x86dd } as const;
export const IpProto = { HopByHop: 0, ICMP: 1, TCP: 6, UDP: 17, Routing: 43, Fragment: 44, ICMPv6: 58, NoNext: 59, DestOpts: 60 } as const;

export interface EthernetSpec {
  /** Default `02:00:00:00:00:02`. */
  dst?: string;
  /** Default `02:00:00:00:00:01`. */
  src?: string;
  /** EtherType; default derived from the next layer (0x8100 when a VLAN tag follows). */
  type?: number;
}

/** One 802.1Q tag. */
export interface VlanSpec {
  id: number;
  pcp?: number;
  dei?: boolean;
  /** Default 0x8100. Written as the outer EtherType when `eth.type` is not given. */
  tpid?: number;
  /** Inner EtherType; default derived from the next layer. */
  type?: number;
}

export interface Ipv4Spec {
  src: string;
  dst: string;
  /** DSCP << 2 | ECN. */
  tos?: number;
  id?: number;
  /** Reserved ("evil") bit. */
  rf?: boolean;
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in 8-octet units, as on the wire. */
  fragOffset?: number;
  /** Default 64. */
  ttl?: number;
  /** Default derived from the L4 layer. */
  protocol?: number;
  /** Raw option bytes; padded with zero (End of Option List) to a multiple of 4. */
  options?: ByteInput;
  /** Header length in 32-bit words; default derived from the options. */
  ihl?: number;
  /** Default: header + everything after it. */
  totalLength?: number;
  version?: number;
  checksum?: ChecksumSpec;
}

/** An IPv6 extension header: options-type (hop-by-hop, routing, destination) or fragment. */
export type Ipv6Extension =
  | { type: 0 | 43 | 60; /** Bytes after the two-byte (next header, length) prefix; zero-padded to 6 + 8k. */ data: ByteInput }
  | { type: 44; fragOffset: number; mf: boolean; id: number; reserved?: number };

export interface Ipv6Spec {
  src: string;
  dst: string;
  trafficClass?: number;
  flowLabel?: number;
  /** Default 64. */
  hopLimit?: number;
  /** The header's Next Header field; default derived from the extensions or the L4 layer. */
  nextHeader?: number;
  /** Default: everything after the fixed header. */
  payloadLength?: number;
  extensions?: Ipv6Extension[];
  version?: number;
}

export interface TcpFlags {
  fin: boolean;
  syn: boolean;
  rst: boolean;
  psh: boolean;
  ack: boolean;
  urg: boolean;
  ece: boolean;
  cwr: boolean;
}

/** TCP options; `parseFrame` returns raw bytes instead when the options do not parse cleanly. */
export type TcpOption =
  | { kind: 'eol' }
  | { kind: 'nop' }
  | { kind: 'mss'; value: number }
  | { kind: 'windowScale'; shift: number }
  | { kind: 'sackPermitted' }
  | { kind: 'sack'; blocks: Array<[number, number]> }
  | { kind: 'timestamp'; value: number; echo: number }
  | { kind: number; data: ByteInput };

export interface TcpSpec {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** `'S'`, `'SA'`, `'PA'`... (letters F S R P A U E C), a bit mask, or an object. Default: none set. */
  flags?: string | number | Partial<TcpFlags>;
  /** Default 65535. */
  window?: number;
  urgent?: number;
  /** Options, padded with zero (EOL) to a multiple of 4. */
  options?: TcpOption[] | ByteInput;
  /** Header length in 32-bit words; default derived from the options. */
  dataOffset?: number;
  /** The 3 reserved bits (plus the old NS bit): 0..15. */
  reserved?: number;
  checksum?: ChecksumSpec;
}

export interface UdpSpec {
  sport: number;
  dport: number;
  /** Default: header + payload. */
  length?: number;
  /** 0 means "no checksum" (legal over IPv4 only). */
  checksum?: ChecksumSpec;
}

/** ICMP (v4) or ICMPv6 header. Echo request/reply carry `id`/`seq`; other types use `rest`. */
export interface IcmpSpec {
  type: number;
  code?: number;
  id?: number;
  seq?: number;
  /** The 32 bits after the checksum, when `id`/`seq` are not given. */
  rest?: number;
  checksum?: ChecksumSpec;
}

export interface ArpSpec {
  /** 1 = request, 2 = reply. Default request. */
  op?: 'request' | 'reply' | number;
  /** Sender hardware address; default the Ethernet source. */
  sha?: string;
  spa: string;
  /** Target hardware address; default 00:00:00:00:00:00. */
  tha?: string;
  tpa: string;
}

/**
 * A frame to build. Give at most one L3 layer (ipv4, ipv6, arp) and at most one L4 layer
 * (tcp, udp, icmp for IPv4, icmp6 for IPv6). The payload follows the innermost layer.
 */
export interface FrameSpec {
  eth?: EthernetSpec;
  vlan?: VlanSpec;
  ipv4?: Ipv4Spec;
  ipv6?: Ipv6Spec;
  arp?: ArpSpec;
  tcp?: TcpSpec;
  udp?: UdpSpec;
  icmp?: IcmpSpec;
  icmp6?: IcmpSpec;
  payload?: ByteInput | string;
  /** Bytes after the IP packet that no length field counts (Ethernet minimum-size padding). */
  padding?: ByteInput;
}

/** An IP packet without the link layer (for `buildIpPacket`, e.g. the quote inside an ICMP error). */
export type IpPacketSpec = Omit<FrameSpec, 'eth' | 'vlan' | 'arp'>;

// ---- parsed shapes: every field present --------------------------------------------------------

export type EthernetHeader = Required<EthernetSpec>;
export type VlanHeader = Required<VlanSpec>;
export interface Ipv4Header extends Required<Omit<Ipv4Spec, 'options' | 'checksum'>> {
  options: Buffer;
  checksum: number;
}
export interface Ipv6Header extends Required<Omit<Ipv6Spec, 'extensions'>> {
  extensions: Ipv6Extension[];
}
export interface TcpHeader extends Required<Omit<TcpSpec, 'flags' | 'options' | 'checksum'>> {
  flags: TcpFlags;
  /** Structured when they parse cleanly, raw bytes otherwise. */
  options: TcpOption[] | Buffer;
  checksum: number;
}
export interface UdpHeader extends Required<Omit<UdpSpec, 'checksum'>> {
  checksum: number;
}
export interface IcmpHeader {
  type: number;
  code: number;
  /** Present for echo request/reply only. */
  id?: number;
  seq?: number;
  rest: number;
  checksum: number;
}
export interface ArpHeader {
  htype: number;
  ptype: number;
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

/** Where a parsed layer starts, in bytes from the frame start. */
export interface FrameOffsets {
  l3?: number;
  l4?: number;
  payload: number;
}

export type LayerName = 'eth' | 'vlan' | 'ipv4' | 'ipv6' | 'arp' | 'tcp' | 'udp' | 'icmp' | 'icmp6';

export interface Frame {
  /** Total bytes given to the parser. */
  length: number;
  eth: EthernetHeader;
  vlan?: VlanHeader;
  ipv4?: Ipv4Header;
  ipv6?: Ipv6Header;
  arp?: ArpHeader;
  tcp?: TcpHeader;
  udp?: UdpHeader;
  icmp?: IcmpHeader;
  icmp6?: IcmpHeader;
  /** Bytes after the innermost parsed header, up to the IP length (or the frame end). */
  payload: Buffer;
  /** Bytes after the IP packet's end (Ethernet minimum-size padding). */
  padding: Buffer;
  /** The first layer that was cut short, if any (it may be partly present; later layers are absent). */
  truncated?: LayerName;
  offsets: FrameOffsets;
}
