// Lab UDP server, started by @xdp-lb/netlab inside a host's network namespace: answers every
// datagram with the host name. It binds one socket per local address rather than one wildcard
// socket, so a reply always leaves from the address the request was sent to: for direct server
// return the request is for the VIP (held on lo), and a reply from the interface address would be
// dropped by the client. Prints {"event":"listening",...} once bound.
import dgram from 'node:dgram';
import { hostname, networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    port: { type: 'string', default: '7000' },
    // Comma-separated; default every address of every interface (link-local IPv6 excepted).
    addresses: { type: 'string' },
  },
});
const name = values.name ?? hostname();
const port = Number(values.port);
process.stdout.on('error', () => {});

const addresses = values.addresses
  ? values.addresses.split(',').filter(Boolean)
  : Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !(a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80')))
      .map((a) => a.address);

const reply = Buffer.from(name);
let pending = addresses.length;
for (const address of addresses) {
  const v6 = address.includes(':');
  const sock = dgram.createSocket(v6 ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
  sock.on('message', (_msg, rinfo) => sock.send(reply, rinfo.port, rinfo.address));
  sock.on('error', (err) => {
    console.error(`udp-echo ${name} ${address}: ${err.message}`);
    process.exit(1);
  });
  sock.bind({ port, address }, () => {
    if (--pending === 0) console.log(JSON.stringify({ event: 'listening', name, port, addresses }));
  });
}
if (addresses.length === 0) {
  console.error('udp-echo: no addresses to bind');
  process.exit(1);
}
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
