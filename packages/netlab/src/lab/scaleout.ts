// The scale-out lab's topology (issue 9): several LB nodes behind a router that spreads the VIP
// over them with ECMP, backends behind the nodes, clients on the router's other side. One home for
// the addresses and hosts: the test suites (via @xdp-lb/testkit) and deploy/lab/scaleout.mjs, the
// lab an operator builds by hand, use the same.
//
//   client1..K  ── edge (198.18.1.0/24) ── router ── core (198.18.0.0/24) ── lb1..N, http1..M
//   198.18.1.10x          198.18.1.1 / 198.18.0.1      lbN = 198.18.0.(1+N), httpM = 198.18.0.(10+M)
//
// The VIP (198.18.2.10) is on no segment: clients reach it through the router, whose route to it
// has one next hop per LB node (static, or learned from the nodes over BGP). The router hashes
// flows onto next hops by their five-tuple (net.ipv4.fib_multipath_hash_policy=1). The LB nodes
// run dsr: backends hold the VIP on lo and answer the clients through the router directly.
import type { HostSpec, LabSpec } from './spec.js';

/** The scale-out lab's addresses: the VIP, the router's two sides, node/backend/client number i (from 1). */
export const scaleoutAddresses = {
  vip: '198.18.2.10',
  routerCore: '198.18.0.1',
  routerEdge: '198.18.1.1',
  lb: (i: number) => `198.18.0.${1 + i}`,
  backend: (i: number) => `198.18.0.${10 + i}`,
  client: (i: number) => `198.18.1.${100 + i}`,
} as const;
const A = scaleoutAddresses;

export interface ScaleoutOptions {
  lbs: number;
  backends: number;
  clients: number;
  /** Extra setup of the router (e.g. nothing: routes come later). */
  router?: Partial<HostSpec>;
}

export function scaleoutTopology(o: ScaleoutOptions): LabSpec {
  const hosts: HostSpec[] = [];
  hosts.push({
    name: 'router',
    interfaces: [
      { bridge: 'core', ipv4: `${A.routerCore}/24` },
      { bridge: 'edge', ipv4: `${A.routerEdge}/24` },
    ],
    forwarding: true,
    // ECMP by the five-tuple, as routers in front of L4 load balancers are set up.
    sysctls: { 'net.ipv4.fib_multipath_hash_policy': 1 },
    ...o.router,
  });
  for (let i = 1; i <= o.lbs; i++) {
    hosts.push({
      name: `lb${i}`,
      bridge: 'core',
      ipv4: `${A.lb(i)}/24`,
      forwarding: true,
      xdpPassPeer: true,
      routes: [{ to: 'default', via: A.routerCore }],
    });
  }
  for (let i = 1; i <= o.backends; i++) {
    hosts.push({
      name: `http${i}`,
      bridge: 'core',
      ipv4: `${A.backend(i)}/24`,
      loopback: [A.vip],
      sysctls: {
        'net.ipv4.conf.all.arp_ignore': 1,
        'net.ipv4.conf.all.arp_announce': 2,
        'net.ipv4.conf.eth0.arp_ignore': 1,
        'net.ipv4.conf.eth0.arp_announce': 2,
      },
      routes: [{ to: 'default', via: A.routerCore }],
      http: { port: 80 },
      udpEcho: {},
    });
  }
  for (let i = 1; i <= o.clients; i++) {
    hosts.push({ name: `client${i}`, bridge: 'edge', ipv4: `${A.client(i)}/24`, routes: [{ to: 'default', via: A.routerEdge }] });
  }
  return { bridges: [{ name: 'core' }, { name: 'edge' }], hosts };
}
