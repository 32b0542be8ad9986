// The tutorial's topology as a ready-made spec: clients, one load balancer and web backends on one
// bridge. The addressing plan (all in 198.18.0.0/24, RFC 2544 benchmarking space, never routed):
//
//   198.18.0.1          reserved (a future router/gateway)
//   198.18.0.2          lb
//   198.18.0.10         the VIP
//   198.18.0.11..99     http1..http89   (backend i = .10+i)
//   198.18.0.101..200   client1..client100 (client i = .100+i)
//
// With `ipv6: true` every host also gets 2001:db8:18::<same digits>/64 (lb 2001:db8:18::2, VIP
// 2001:db8:18::10, http1 2001:db8:18::11, client1 2001:db8:18::101).
//
// How clients reach the VIP:
//   - `vipOnLb` (default true): the LB holds the VIP as a /32 (/128) on its eth0, so its kernel
//     answers ARP/ND for it and clients send VIP traffic to the LB's MAC. Works for NAT and DSR.
//   - `clientsRouteVipVia: 'lb'`: clients get a host route "VIP via 198.18.0.2" instead, so the
//     VIP needs no owner on the segment (set `vipOnLb: false` to test exactly that).
//   - `vipOnBackendsLoopback` (DSR): every backend holds the VIP on lo, with arp_ignore=1 and
//     arp_announce=2 so it never answers ARP for it nor uses it as an ARP source, and answers
//     clients directly from the VIP.
import type { HostSpec, LabSpec } from './spec.js';

export interface TutorialOptions {
  /** Number of clients (1..100). Default 1. */
  clients?: number;
  /** Number of backends (1..89). Default 2. */
  backends?: number;
  /** Default `198.18.0.10`. */
  vip?: string;
  /** Add IPv6 addresses (2001:db8:18::/64). Default false. */
  ipv6?: boolean;
  /** Default `2001:db8:18::10` (with `ipv6`). */
  vip6?: string;
  /** The LB owns the VIP on eth0 and answers ARP/ND for it. Default true. */
  vipOnLb?: boolean;
  /** Backends hold the VIP on lo (direct server return), with arp_ignore=1/arp_announce=2. Default false. */
  vipOnBackendsLoopback?: boolean;
  /** `'lb'`: clients route the VIP via the LB's address. Default `'none'`. */
  clientsRouteVipVia?: 'lb' | 'none';
  /** Run the HTTP server on every backend. Default true. */
  http?: boolean;
  /** Default 80. */
  httpPort?: number;
  /** Run the UDP echo server on every backend (port 7000 unless given). Default false. */
  udpEcho?: boolean | { port?: number };
  /** xdp_pass on the bridge-side peer of lb's eth0 (needed for native XDP on lb). Default true. */
  lbXdpPassPeer?: boolean;
  /** Forwarding on lb (bpf_fib_lookup needs it). Default true. */
  lbForwarding?: boolean;
}

export interface TutorialAddresses {
  subnet: string;
  lb: string;
  vip: string;
  backends: string[];
  clients: string[];
  /** IPv6 counterparts, present with `ipv6: true`. */
  subnet6?: string;
  lb6?: string;
  vip6?: string;
  backends6?: string[];
  clients6?: string[];
}

const NET = '198.18.0';
const NET6 = '2001:db8:18:';

function counts(o: TutorialOptions): { clients: number; backends: number } {
  const clients = o.clients ?? 1;
  const backends = o.backends ?? 2;
  if (!Number.isInteger(clients) || clients < 1 || clients > 100) throw new RangeError(`clients must be 1..100, got ${clients}`);
  if (!Number.isInteger(backends) || backends < 1 || backends > 89) throw new RangeError(`backends must be 1..89, got ${backends}`);
  return { clients, backends };
}

/** The addresses `tutorialTopology(options)` assigns. */
export function tutorialAddresses(options: TutorialOptions = {}): TutorialAddresses {
  const { clients, backends } = counts(options);
  const range = (n: number, base: number): number[] => Array.from({ length: n }, (_, i) => base + i + 1);
  const a: TutorialAddresses = {
    subnet: `${NET}.0/24`,
    lb: `${NET}.2`,
    vip: options.vip ?? `${NET}.10`,
    backends: range(backends, 10).map((x) => `${NET}.${x}`),
    clients: range(clients, 100).map((x) => `${NET}.${x}`),
  };
  if (options.ipv6) {
    Object.assign(a, {
      subnet6: `${NET6}:/64`,
      lb6: `${NET6}:2`,
      vip6: options.vip6 ?? `${NET6}:10`,
      backends6: range(backends, 10).map((x) => `${NET6}:${x}`),
      clients6: range(clients, 100).map((x) => `${NET6}:${x}`),
    });
  }
  return a;
}

/** `client1..N`, `lb`, `http1..M` on bridge `br0`; see the addressing plan at the top of this file. */
export function tutorialTopology(options: TutorialOptions = {}): LabSpec {
  const addr = tutorialAddresses(options);
  const v6 = Boolean(options.ipv6);
  const vipOnLb = options.vipOnLb ?? true;
  const hosts: HostSpec[] = [];

  addr.clients.forEach((ip, i) => {
    const routes = [];
    if (options.clientsRouteVipVia === 'lb') {
      routes.push({ to: `${addr.vip}/32`, via: addr.lb });
      if (v6) routes.push({ to: `${addr.vip6}/128`, via: addr.lb6 as string });
    }
    hosts.push({
      name: `client${i + 1}`,
      ipv4: `${ip}/24`,
      ...(v6 ? { ipv6: `${addr.clients6?.[i]}/64` } : {}),
      routes,
    });
  });

  hosts.push({
    name: 'lb',
    ipv4: [`${addr.lb}/24`, ...(vipOnLb ? [`${addr.vip}/32`] : [])],
    ...(v6 ? { ipv6: [`${addr.lb6}/64`, ...(vipOnLb ? [`${addr.vip6}/128`] : [])] } : {}),
    forwarding: options.lbForwarding ?? true,
    xdpPassPeer: options.lbXdpPassPeer ?? true,
  });

  const udpEcho = options.udpEcho === true ? {} : options.udpEcho || undefined;
  addr.backends.forEach((ip, i) => {
    const dsr = options.vipOnBackendsLoopback ?? false;
    hosts.push({
      name: `http${i + 1}`,
      ipv4: `${ip}/24`,
      ...(v6 ? { ipv6: `${addr.backends6?.[i]}/64` } : {}),
      ...(dsr
        ? {
            loopback: [addr.vip, ...(v6 ? [addr.vip6 as string] : [])],
            sysctls: {
              'net.ipv4.conf.all.arp_ignore': 1,
              'net.ipv4.conf.all.arp_announce': 2,
              'net.ipv4.conf.eth0.arp_ignore': 1,
              'net.ipv4.conf.eth0.arp_announce': 2,
            },
          }
        : {}),
      ...((options.http ?? true) ? { http: { port: options.httpPort ?? 80 } } : {}),
      ...(udpEcho ? { udpEcho } : {}),
    });
  });

  return { bridges: [{ name: 'br0' }], hosts };
}
