// What a lab is made of, as plain data: bridges, and hosts with their interfaces. `Lab.up` turns
// a spec into namespaces; `tutorialTopology()` returns one.
import type { HttpServerOptions, UdpEchoOptions } from '../apps/servers.js';

export interface BridgeSpec {
  /** Interface name inside the switch namespace, e.g. `br0`. */
  name: string;
  mtu?: number;
}

/** One veth of a host, plugged into a bridge. */
export interface InterfaceSpec {
  /** Name inside the host; default `eth0`, `eth1`, ... by position. */
  name?: string;
  /** Bridge to plug into; default the first bridge. */
  bridge?: string;
  /** Addresses in CIDR form (`198.18.0.2/24`); the first one is the primary. */
  ipv4?: string | string[];
  /** Addresses in CIDR form (`2001:db8:18::2/64`), added without duplicate address detection. */
  ipv6?: string | string[];
  /** Default: `02:00:` + the four bytes of the primary IPv4 address, else derived from positions. */
  mac?: string;
  mtu?: number;
  /**
   * TX checksum offload on both ends of the veth. Default false: with offload on, the kernel hands
   * XDP packets whose checksums are only partial, and a rewritten packet's checksum is not tested.
   */
  txChecksumOffload?: boolean;
  /**
   * Put the xdp_pass program (native mode) on the bridge-side peer. Needed on the interface where
   * the LB runs native XDP: veth delivers XDP_TX'd or redirected frames only to a peer that runs an
   * XDP program (GRO alone is not enough); xdp-lb's deploy attaches one itself to a bare peer it can
   * reach (core lifecycle/link-prep.ts). Default false.
   */
  xdpPassPeer?: boolean;
}

export interface RouteSpec {
  /** Destination in CIDR form, or `default`. */
  to: string;
  via?: string;
  dev?: string;
  src?: string;
}

export interface HostSpec {
  /** Lower-case letters and digits, e.g. `client1`, `lb`, `http2`. */
  name: string;
  /** The host's interfaces. Default: one `eth0` on the first bridge, from the shorthand fields below. */
  interfaces?: InterfaceSpec[];
  /** Shorthand for `interfaces[0].bridge` (only without `interfaces`). */
  bridge?: string;
  /** Shorthand for `interfaces[0].ipv4` (only without `interfaces`). */
  ipv4?: string | string[];
  /** Shorthand for `interfaces[0].ipv6` (only without `interfaces`). */
  ipv6?: string | string[];
  /** Shorthand for `interfaces[0].mac` (only without `interfaces`). */
  mac?: string;
  /** Shorthand for `interfaces[0].mtu` (only without `interfaces`). */
  mtu?: number;
  /** Default for every interface of this host (see `InterfaceSpec`). */
  txChecksumOffload?: boolean;
  /** Default for every interface of this host (see `InterfaceSpec`). */
  xdpPassPeer?: boolean;
  /**
   * Route between interfaces: net.ipv4.ip_forward, net.ipv6.conf.all.forwarding and, per interface,
   * net.ipv4.conf.<if>.forwarding / net.ipv6.conf.<if>.forwarding (bpf_fib_lookup checks the
   * ingress interface's setting). Default false.
   */
  forwarding?: boolean;
  /** Addresses on `lo` (plain addresses get /32 or /128), e.g. a VIP for direct server return. */
  loopback?: string[];
  routes?: RouteSpec[];
  /** Extra sysctls, e.g. `{ 'net.ipv4.conf.all.arp_ignore': 1 }`. Applied after the defaults. */
  sysctls?: Record<string, string | number | boolean>;
  /** Run the bundled HTTP server (answers `GET /` with the host name). */
  http?: boolean | HttpServerOptions;
  /** Run the bundled UDP echo server (answers with the host name). */
  udpEcho?: boolean | UdpEchoOptions;
  /** Commands run in the host after its network is configured (before the servers start). */
  setup?: string[][];
}

export interface LabSpec {
  /** Default one bridge, `br0`. */
  bridges?: BridgeSpec[];
  hosts: HostSpec[];
}

export interface LabOptions {
  /** Namespace name prefix (default `xlb`). Namespaces are `<prefix><pid>-<4 hex>-<host>`. */
  prefix?: string;
  /** The xdp_pass object; default `$XDP_LB_XDP_PASS_OBJ`, else the workspace's bpf/obj/xdp_pass.bpf.o. */
  xdpPassObject?: string;
  /** Remove leftovers of dead runs with this prefix first (default true). */
  gcStale?: boolean;
  /**
   * Keep the lab after this process exits (for `lb lab up`): no exit hooks, processes not tied to
   * us. Find it again with `Lab.list()` / `Lab.attach(id)`, remove it with `Lab.destroyById(id)`.
   */
  persistent?: boolean;
  /** Progress messages (default none). */
  log?: (message: string) => void;
}
