/** Frames of the suite, built with netlab's packet builder (never opaque blobs). */
import { isIPv6 } from 'node:net';
import { prng } from '@xdp-lb/core/strategy';
import { buildFrame, type FrameSpec, type Ipv6Extension, parseFrame, type TcpOption } from '@xdp-lb/netlab';

export const MAC = {
  client: '02:00:00:00:00:01',
  router: '02:00:00:00:00:fe',
  /** The LB's interface (destination of client packets, source of what the LB sends). */
  lb: '02:00:00:00:00:0b',
} as const;

export interface TcpFrame {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** 'S', 'A', 'PA', 'FA', 'R', 'SA'... default 'A'. */
  flags?: string;
  payload?: string | number[];
  smac?: string;
  dmac?: string;
  vlan?: number;
  ipOptions?: number[];
  tcpOptions?: TcpOption[];
  seq?: number;
  /** IPv6 only: extension headers before TCP. */
  ext?: Ipv6Extension[];
  /** IPv4 TTL / IPv6 hop limit (default 64). */
  ttl?: number;
  tos?: number;
}

/** The L3 layer of a frame: IPv4 (id 0x1234, DF) or IPv6 by the source address's family. */
function l3(f: {
  src: string;
  dst: string;
  ipOptions?: number[];
  ext?: Ipv6Extension[];
  ttl?: number;
  tos?: number;
  id?: number;
  df?: boolean;
}): Pick<FrameSpec, 'ipv4' | 'ipv6'> {
  if (isIPv6(f.src))
    return { ipv6: { src: f.src, dst: f.dst, hopLimit: f.ttl ?? 64, trafficClass: f.tos ?? 0, ...(f.ext ? { extensions: f.ext } : {}) } };
  return {
    ipv4: {
      src: f.src,
      dst: f.dst,
      id: f.id ?? 0x1234,
      df: f.df ?? true,
      ttl: f.ttl ?? 64,
      tos: f.tos ?? 0,
      ...(f.ipOptions ? { options: f.ipOptions } : {}),
    },
  };
}

export function tcp(f: TcpFrame): Buffer {
  const spec: FrameSpec = {
    eth: { src: f.smac ?? MAC.client, dst: f.dmac ?? MAC.lb },
    ...l3(f),
    tcp: {
      sport: f.sport,
      dport: f.dport,
      flags: f.flags ?? 'A',
      seq: f.seq ?? 1000,
      ack: 1,
      ...(f.tcpOptions ? { options: f.tcpOptions } : {}),
    },
    payload: f.payload ?? '',
  };
  if (f.vlan !== undefined) spec.vlan = { id: f.vlan };
  return buildFrame(spec);
}

export interface UdpFrame {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload?: string | number[] | Uint8Array;
  smac?: string;
  dmac?: string;
  /** true: checksum 0 ("none"). */
  noChecksum?: boolean;
  ext?: Ipv6Extension[];
}

export function udp(f: UdpFrame): Buffer {
  return buildFrame({
    eth: { src: f.smac ?? MAC.client, dst: f.dmac ?? MAC.lb },
    ...l3({ ...f, id: 0x4321, df: false }),
    udp: { sport: f.sport, dport: f.dport, ...(f.noChecksum ? { checksum: 0 } : {}) },
    payload: f.payload ?? 'ping',
  });
}

/** A copy of `frame` with its Ethernet addresses replaced (what DSR does). */
export function withMacs(frame: Buffer, dst: string, src: string): Buffer {
  const out = Buffer.from(frame);
  Buffer.from(dst.split(':').map((x) => parseInt(x, 16))).copy(out, 0);
  Buffer.from(src.split(':').map((x) => parseInt(x, 16))).copy(out, 6);
  return out;
}

/** `count` distinct client endpoints (address in 10.0.0.0/8, port >= 1024), deterministic. */
export function clients(count: number, seed: number): Array<{ src: string; sport: number }> {
  // The strategy kit's seeded draws (mulberry32) as numbers in [0, 1): the same flows on every run.
  const draw = prng(seed);
  const rnd = () => draw() / 4294967296;
  const seen = new Set<string>();
  const out: Array<{ src: string; sport: number }> = [];
  while (out.length < count) {
    const a = Math.floor(rnd() * 0xffffff);
    const src = `10.${(a >> 16) & 0xff}.${(a >> 8) & 0xff}.${a & 0xff}`;
    const sport = 1024 + Math.floor(rnd() * 64000);
    const key = `${src}:${sport}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ src, sport });
  }
  return out;
}

/** The ICMP error the LB must send back for `input` (a frame from the client) that does not fit the
 * path to its backend (bpf/lib/toobig.h): from the VIP to the client, MACs swapped, VLAN tag kept,
 * fragmentation needed (IPv4) / packet too big (IPv6) with `mtu`, quoting the first 128 bytes of
 * the IP packet. */
export function tooBig(input: Buffer, mtu: number): Buffer {
  const p = parseFrame(input);
  const quote = input.subarray(p.offsets.l3!, p.offsets.l3! + 128);
  const eth = { src: p.eth.dst, dst: p.eth.src };
  const vlan = p.vlan ? { vlan: { id: p.vlan.id } } : {};
  if (p.ipv4)
    return buildFrame({
      eth,
      ...vlan,
      ipv4: { src: p.ipv4.dst, dst: p.ipv4.src, id: 0, df: false, ttl: 64, tos: 0xc0 },
      icmp: { type: 3, code: 4, rest: mtu },
      payload: quote,
    });
  return buildFrame({
    eth,
    ...vlan,
    ipv6: { src: p.ipv6!.dst, dst: p.ipv6!.src, hopLimit: 64 },
    icmp6: { type: 2, code: 0, rest: mtu },
    payload: quote,
  });
}
