#!/usr/bin/env node
// The scale-out lab of deploy/README.md: a router doing ECMP to the VIP over N xdp-lb nodes,
// backends behind them, clients on the router's other side, all in network namespaces.
//
//   client1..K ── edge 198.18.1.0/24 ── router ── core 198.18.0.0/24 ── lb1..N (198.18.0.2..), http1..M (198.18.0.11..)
//
//   node deploy/lab/scaleout.mjs up [--nodes 2] [--backends 2] [--clients 1] [--bgp] [--sync] [--dir /tmp/xdp-lb-scaleout]
//   node deploy/lab/scaleout.mjs down [--dir /tmp/xdp-lb-scaleout]
//
// `up` builds the lab (it stays up after the script exits), writes one lb.yaml per node into the
// directory (lb1.yaml, ...: the same services and seed on every node) and prints the commands
// that run the agents. Without --bgp the router gets a static ECMP route over every node; with
// --bgp it runs BIRD 2 on the router and on each node from deploy/bgp/, and the route is what the
// nodes' agents announce. With --sync each file gets a `cluster` section (the nodes' agents share
// their flows, keyed by a random key in DIR/cluster.key). `down` undeploys the nodes' instances and
// removes the lab.
// Needs root and a built workspace (bash scripts/bootstrap.sh); --bgp needs bird2.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Lab, scaleoutAddresses, scaleoutTopology } from '@xdp-lb/netlab';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const LB = join(ROOT, 'packages/cli/dist/main.js');
export const VIP = scaleoutAddresses.vip;
const { routerCore: ROUTER_CORE, lb: lbAddress, backend: backendAddress } = scaleoutAddresses;

const { positionals, values: o } = parseArgs({
  allowPositionals: true,
  options: {
    nodes: { type: 'string', default: '2' },
    backends: { type: 'string', default: '2' },
    clients: { type: 'string', default: '1' },
    bgp: { type: 'boolean', default: false },
    sync: { type: 'boolean', default: false },
    dir: { type: 'string', default: '/tmp/xdp-lb-scaleout' },
    prefix: { type: 'string', default: 'xlb' },
  },
});
const dir = resolve(o.dir);
const nodes = Number(o.nodes);
const backends = Number(o.backends);

const topology = () => scaleoutTopology({ lbs: nodes, backends, clients: Number(o.clients) });

const yaml = (n) => `# lb${n} of the scale-out lab: the same file on every node but the instance name (one host here).
instance: lb${n}
strategy: hash
hashSeed: 1
interfaces:
  - eth0:native
services:
  - name: web
    vip: ${VIP}:80
    forward: dsr
    backends:
${Array.from({ length: backends }, (_, i) => `      - ${backendAddress(i + 1)}`).join('\n')}
    health:
      type: http
      path: /health
      intervalMs: 500
      timeoutMs: 300
      rise: 2
      fall: 2
${
  o.bgp
    ? `announce:
  bird:
    socket: ${join(dir, `bird-lb${n}.ctl`)}
    protocol: xdp_lb_vips
  drainFile: ${join(dir, `drain-lb${n}`)}
`
    : ''
}${
  o.sync
    ? `cluster:
  listen: ${lbAddress(n)}:7946
  peers: [${Array.from({ length: nodes }, (_, i) => `${lbAddress(i + 1)}:7946`).join(', ')}]
  keyFile: ${join(dir, 'cluster.key')}
`
    : ''
}`;

function render(file, values) {
  let text = readFileSync(join(ROOT, 'deploy/bgp', file), 'utf8');
  for (const [k, v] of Object.entries(values)) text = text.replaceAll(`{{${k}}}`, v);
  return text.replace('log syslog all;', `log "${join(dir, 'bird.log')}" all;`);
}

async function up() {
  if (existsSync(join(dir, 'lab.json'))) throw new Error(`${dir}/lab.json exists: a lab is up (run down first)`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lab = await Lab.up(topology(), { persistent: true, prefix: o.prefix });
  const ns = Object.fromEntries(lab.hosts.map((h) => [h.name, h.netns.name]));
  writeFileSync(join(dir, 'lab.json'), `${JSON.stringify({ id: lab.id, netns: ns, nodes }, null, 2)}\n`);
  if (o.sync) writeFileSync(join(dir, 'cluster.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  for (let n = 1; n <= nodes; n++) writeFileSync(join(dir, `lb${n}.yaml`), yaml(n));
  const router = lab.host('router');
  if (o.bgp) {
    const bird = ['/usr/sbin/bird', '/usr/bin/bird'].find((p) => existsSync(p));
    if (!bird) throw new Error('--bgp needs BIRD 2: apt-get install bird2');
    const start = async (host, conf) => {
      const file = join(dir, `bird-${host}.conf`);
      writeFileSync(file, conf);
      // Without -f BIRD daemonizes; `down` stops it with the lab's namespaces.
      await lab.host(host).exec([bird, '-c', file, '-s', join(dir, `bird-${host}.ctl`), '-P', join(dir, `bird-${host}.pid`)]);
    };
    await start(
      'router',
      render('bird-router.conf', {
        ROUTER_ID: ROUTER_CORE,
        LOCAL_ADDRESS: ROUTER_CORE,
        LOCAL_AS: '65000',
        VIP_RANGE: '198.18.2.0/24',
        NEIGHBORS: Array.from(
          { length: nodes },
          (_, i) => `protocol bgp lb${i + 1} from lbnode { neighbor ${lbAddress(i + 1)} as 65001; }`,
        ).join('\n'),
      }),
    );
    for (let n = 1; n <= nodes; n++) {
      await start(
        `lb${n}`,
        render('bird-lb-node.conf', {
          ROUTER_ID: lbAddress(n),
          LOCAL_ADDRESS: lbAddress(n),
          LOCAL_AS: '65001',
          ROUTER_ADDRESS: ROUTER_CORE,
          ROUTER_AS: '65000',
          VIP_ROUTES: `  route ${VIP}/32 blackhole;`,
        }),
      );
    }
  } else {
    await router.exec([
      'ip',
      'route',
      'replace',
      `${VIP}/32`,
      ...Array.from({ length: nodes }, (_, i) => ['nexthop', 'via', lbAddress(i + 1)]).flat(),
    ]);
  }
  const lb = existsSync(LB) ? `node ${LB}` : 'lb';
  console.log(lab.describe());
  console.log(`
lab ${lab.id} is up; files in ${dir}. Run one agent per node (each in its own terminal, or with &):
${Array.from({ length: nodes }, (_, i) => `  ${lb} serve -f ${join(dir, `lb${i + 1}.yaml`)} --netns ${ns[`lb${i + 1}`]} --metrics 127.0.0.1:${9301 + i}`).join('\n')}
The router's route to the VIP (${o.bgp ? 'learned over BGP once the agents announce' : 'static ECMP'}):
  ip -n ${ns.router} route show ${VIP}
From a client:
  nsenter --net=/run/netns/${ns.client1} curl -s http://${VIP}/
Tear down: stop the agents, then
  node ${join(HERE, 'scaleout.mjs')} down --dir ${dir}`);
}

function down() {
  const file = join(dir, 'lab.json');
  if (!existsSync(file)) throw new Error(`no lab recorded in ${dir}`);
  const { id, nodes: n } = JSON.parse(readFileSync(file, 'utf8'));
  for (let i = 1; i <= n; i++) {
    try {
      execFileSync(process.execPath, [LB, 'undeploy', '--instance', `lb${i}`], { stdio: 'pipe' });
      console.log(`undeployed lb${i}`);
    } catch {
      /* not deployed */
    }
  }
  try {
    Lab.destroyById(id);
    console.log(`removed lab ${id}`);
  } catch (e) {
    console.error(`lab ${id}: ${e.message}`);
  }
  rmSync(dir, { recursive: true, force: true });
}

try {
  if (positionals[0] === 'up') await up();
  else if (positionals[0] === 'down') down();
  else {
    console.error('usage: node deploy/lab/scaleout.mjs up|down [--nodes N] [--backends M] [--clients K] [--bgp] [--sync] [--dir DIR]');
    process.exitCode = 2;
  }
} catch (e) {
  console.error(`scaleout: ${e.message}`);
  process.exitCode = 1;
}
