// The scale-out lab (issue 9): several LB nodes behind a router that spreads the VIP over them
// with ECMP, backends behind the nodes, clients on the router's other side. Shared by core's
// suites (packages/core/integration: scaleout, scaleout-sync) and the CLI's (scaleout-bgp runs
// `lb serve`), hence here.
//
//   client1..K  ── edge (198.18.1.0/24) ── router ── core (198.18.0.0/24) ── lb1..N, http1..M
//   198.18.1.10x          198.18.1.1 / 198.18.0.1      lbN = 198.18.0.(1+N), httpM = 198.18.0.(10+M)
//
// The VIP (198.18.2.10) is on no segment: clients reach it through the router, whose route to it
// has one next hop per LB node that carries it (static `ip route ... nexthop via ...` here, or
// learned from the nodes over BGP by BIRD: the CLI's scaleout-bgp, core's scaleout-sync). The
// router hashes flows onto next hops by their five-tuple (net.ipv4.fib_multipath_hash_policy=1).
// Each LB node runs the XDP data plane in dsr mode: it only rewrites MACs towards a backend on the
// core segment; backends hold the VIP on lo and answer the client through the router directly.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, LabHost, LabProcess, LabSpec, HostSpec } from '@xdp-lb/netlab';

export const VIP = '198.18.2.10';
export const ROUTER_CORE = '198.18.0.1';
export const ROUTER_EDGE = '198.18.1.1';
export const lbAddress = (i: number) => `198.18.0.${1 + i}`;
export const backendAddress = (i: number) => `198.18.0.${10 + i}`;
export const clientAddress = (i: number) => `198.18.1.${100 + i}`;

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
      { bridge: 'core', ipv4: `${ROUTER_CORE}/24` },
      { bridge: 'edge', ipv4: `${ROUTER_EDGE}/24` },
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
      ipv4: `${lbAddress(i)}/24`,
      forwarding: true,
      xdpPassPeer: true,
      routes: [{ to: 'default', via: ROUTER_CORE }],
    });
  }
  for (let i = 1; i <= o.backends; i++) {
    hosts.push({
      name: `http${i}`,
      bridge: 'core',
      ipv4: `${backendAddress(i)}/24`,
      loopback: [VIP],
      sysctls: {
        'net.ipv4.conf.all.arp_ignore': 1,
        'net.ipv4.conf.all.arp_announce': 2,
        'net.ipv4.conf.eth0.arp_ignore': 1,
        'net.ipv4.conf.eth0.arp_announce': 2,
      },
      routes: [{ to: 'default', via: ROUTER_CORE }],
      http: { port: 80 },
      udpEcho: {},
    });
  }
  for (let i = 1; i <= o.clients; i++) {
    hosts.push({ name: `client${i}`, bridge: 'edge', ipv4: `${clientAddress(i)}/24`, routes: [{ to: 'default', via: ROUTER_EDGE }] });
  }
  return { bridges: [{ name: 'core' }, { name: 'edge' }], hosts };
}

/** The LB nodes' config (one per node: same services, same seed; only the instance differs here). */
export function nodeConfig(
  instance: string,
  backends: readonly string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> & { instance: string } {
  return {
    instance,
    strategy: 'hash',
    hashSeed: 7,
    interfaces: ['eth0:native'],
    limits: { conntrackSize: 65536 },
    services: [
      // A prime of a few thousand slots (the default is 65537): the same algorithm, and `lb status`
      // (which reads every slot) stays quick enough to call between every step.
      { name: 'web', vip: `${VIP}:80`, forward: 'dsr', options: { tableSize: 4093 }, backends: [...backends] },
      {
        name: 'echo',
        vip: `${VIP}:7000`,
        protocol: 'udp',
        forward: 'dsr',
        options: { tableSize: 4093 },
        backends: backends.map((b) => `${b}:7000`),
      },
    ],
    ...extra,
  };
}

/** The router's route to the VIP: one next hop per listed node (none: the route is removed). */
export async function routeVip(router: LabHost, nodes: readonly number[]): Promise<void> {
  if (nodes.length === 0) {
    await router.exec(['ip', 'route', 'del', `${VIP}/32`], { check: false });
    return;
  }
  const hops = nodes.length === 1 ? ['via', lbAddress(nodes[0]!)] : nodes.flatMap((n) => ['nexthop', 'via', lbAddress(n)]);
  await router.exec(['ip', 'route', 'replace', `${VIP}/32`, ...hops]);
}

/** The router's next hops to the VIP, as LB node numbers (from `ip -j route`). */
export async function vipNextHops(router: LabHost): Promise<number[]> {
  const r = await router.exec(['ip', '-j', 'route', 'show', `${VIP}/32`]);
  const routes = JSON.parse(r.stdout || '[]') as { gateway?: string; nexthops?: { gateway: string }[] }[];
  const gws = routes.flatMap((x) => (x.nexthops ? x.nexthops.map((h) => h.gateway) : x.gateway ? [x.gateway] : []));
  return gws.map((g) => Number(g.split('.')[3]) - 1).sort();
}

/**
 * One UDP datagram to VIP:7000 from each source port (each a flow of its own), from inside
 * `client`; the reply's text (the backend's name) per port, or `timeout`. Every caller expects
 * every reply: the wait only bounds how long a lost one takes to show, so it is generous (a reply
 * is a matter of milliseconds, but a loaded machine can stall the echo server for a while).
 */
export async function udpFlows(client: LabHost, ports: readonly number[], timeoutMs = 5000): Promise<Record<number, string>> {
  const script = `
    const dgram = require('node:dgram');
    const [vip, ports, timeoutMs] = [process.argv[1], JSON.parse(process.argv[2]), Number(process.argv[3])];
    const one = (port) => new Promise((resolve) => {
      const s = dgram.createSocket('udp4');
      const t = setTimeout(() => { s.close(); resolve('timeout'); }, timeoutMs);
      s.on('message', (m) => { clearTimeout(t); s.close(); resolve(m.toString().trim()); });
      s.on('error', (e) => { clearTimeout(t); s.close(); resolve('error ' + e.code); });
      s.bind(port, () => s.send('flow ' + port, 7000, vip));
    });
    (async () => {
      const out = {};
      for (let i = 0; i < ports.length; i += 16) {
        const batch = ports.slice(i, i + 16);
        const rs = await Promise.all(batch.map(one));
        batch.forEach((p, k) => (out[p] = rs[k]));
      }
      process.stdout.write(JSON.stringify(out));
    })();`;
  const r = await client.exec([process.execPath, '-e', script, VIP, JSON.stringify(ports), String(timeoutMs)], { timeoutMs: 60_000 });
  return JSON.parse(r.stdout) as Record<number, string>;
}

// ---------------------------------------------------------------------------------------------
// BGP: BIRD 2 from deploy/bgp's templates on the router and the LB nodes

const BGP_DIR = fileURLToPath(new URL('../../../deploy/bgp/', import.meta.url));
/** BIRD 2's binary, or undefined where bird2 is not installed (the BGP suites skip, saying so). */
export const BIRD = ['/usr/sbin/bird', '/usr/bin/bird', '/usr/local/sbin/bird'].find((p) => existsSync(p));
export const ROUTER_AS = 65000;
export const LB_AS = 65001;

/** deploy/bgp/<file> with its {{NAME}} placeholders filled; logs to stderr (the lab captures it). */
export function renderBird(file: string, values: Record<string, string>): string {
  let text = readFileSync(join(BGP_DIR, file), 'utf8').replace('log syslog all;', 'log stderr all;');
  for (const [k, v] of Object.entries(values)) text = text.replaceAll(`{{${k}}}`, v);
  const left = /\{\{[A-Z_]+\}\}/.exec(text);
  if (left) throw new Error(`${file}: ${left[0]} not filled`);
  return text;
}

/** BIRD's control socket of `host` in `dir`. */
export const birdSocket = (dir: string, host: string) => join(dir, `bird-${host}.ctl`);

/** The config of `host` ('router' peering with nodes 1..`nodes`, or 'lbN'), rendered from deploy/bgp. */
export function birdConfig(host: string, nodes: number): string {
  if (host === 'router') {
    return renderBird('bird-router.conf', {
      ROUTER_ID: ROUTER_CORE,
      LOCAL_ADDRESS: ROUTER_CORE,
      LOCAL_AS: String(ROUTER_AS),
      VIP_RANGE: '198.18.2.0/24',
      NEIGHBORS: Array.from(
        { length: nodes },
        (_, i) => `protocol bgp lb${i + 1} from lbnode { neighbor ${lbAddress(i + 1)} as ${LB_AS}; }`,
      ).join('\n'),
    });
  }
  const n = Number(host.slice(2));
  return renderBird('bird-lb-node.conf', {
    ROUTER_ID: lbAddress(n),
    LOCAL_ADDRESS: lbAddress(n),
    LOCAL_AS: String(LB_AS),
    ROUTER_ADDRESS: ROUTER_CORE,
    ROUTER_AS: String(ROUTER_AS),
    VIP_ROUTES: `  route ${VIP}/32 blackhole;`,
  });
}

/** Checks (bird -p) and starts BIRD on `host` in the foreground, its files in `dir`. */
export async function startBird(lab: Lab, dir: string, host: string, conf: string): Promise<LabProcess> {
  const file = join(dir, `bird-${host}.conf`);
  writeFileSync(file, conf);
  await lab.host(host).exec([BIRD!, '-p', '-c', file]);
  return lab
    .host(host)
    .spawn([BIRD!, '-f', '-c', file, '-s', birdSocket(dir, host), '-P', join(dir, `bird-${host}.pid`)], { label: `bird ${host}` });
}
