// A runnable example of the library API (after the build, as root):
//   node packages/core/examples/library.mjs <netns|-> <iface> <vip:port> <backend> [<backend>...]
// e.g. inside a lab from `lb lab up`:
//   node packages/core/examples/library.mjs xlb1234-ab12-lb eth0 198.18.0.10:80 198.18.0.11 198.18.0.12
// It deploys one NAT service with the hash strategy, drains the first backend, prints the status,
// and undeploys.
import { createLoadBalancer, primaryAddress } from '@xdp-lb/core';
import { hash } from '@xdp-lb/strategy-hash';

const [netnsArg, iface, vip, ...backends] = process.argv.slice(2);
if (!iface || !vip || backends.length === 0) {
  console.error('usage: library.mjs <netns|-> <iface> <vip:port> <backend> [<backend>...]');
  process.exit(2);
}
const netns = netnsArg === '-' ? null : netnsArg;
const lb = createLoadBalancer([hash]);
const result = await lb.deploy(
  {
    instance: 'example',
    interfaces: [iface],
    snat: { addresses: [primaryAddress(netns, iface)] },
    services: [{ name: 'web', vip, backends }],
  },
  { netns },
);
console.log('deployed:', result.interfaces.map((i) => `${i.name} ${i.mode}`).join(', '));
await lb.update('example', { kind: 'backend-drain', service: 'web', backend: backends[0] });
const status = lb.status('example');
for (const b of status.services[0].backends) console.log(`${b.key} ${b.state} slots=${b.slots}`);
lb.undeploy('example');
console.log('undeployed');
