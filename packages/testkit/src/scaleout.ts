// The scale-out lab's helpers for the test suites: node configs, routes, clients and BIRD on top
// of netlab's topology (packages/netlab/src/lab/scaleout.ts: the hosts and addresses, shared with
// deploy/lab/scaleout.mjs). Shared by core's suites (packages/core/integration: scaleout,
// scaleout-sync) and the CLI's (scaleout-bgp runs `lb serve`), hence here.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaleoutAddresses, type Lab, type LabHost, type LabProcess } from '@xdp-lb/netlab';

export { scaleoutTopology, type ScaleoutOptions } from '@xdp-lb/netlab';
export const {
  vip: VIP,
  routerCore: ROUTER_CORE,
  routerEdge: ROUTER_EDGE,
  lb: lbAddress,
  backend: backendAddress,
  client: clientAddress,
} = scaleoutAddresses;

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
