// Lab web backend, started by @xdp-lb/netlab inside a host's network namespace with the Node that
// runs the harness. Plain JavaScript with no imports beyond Node, so it runs without a build.
//
//   GET /             -> "<name>\n"             (which backend answered)
//   GET /info         -> JSON: name, the peer and local address/port as this server sees them
//   GET /big?bytes=N  -> N bytes (N <= 1 GiB), for throughput and segmentation tests
//   GET /delay?ms=N   -> "<name>\n" after N ms
//   GET /health       -> "ok\n"
// Every response carries `X-Backend: <name>`; connections are kept alive for long-lived tests.
// Prints one JSON line {"event":"listening",...} once it accepts connections.
import http from 'node:http';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    port: { type: 'string', default: '80' },
    address: { type: 'string', default: '::' },
  },
});
const name = values.name ?? hostname();
const port = Number(values.port);
// Our stdout may be a pipe whose reader went away (a persistent lab outliving its creator).
process.stdout.on('error', () => {});

const CHUNK = Buffer.alloc(64 * 1024, 'x');
// A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; tests want the plain address.
const unmap = (a) => (a?.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a);

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://lab');
  res.setHeader('X-Backend', name);
  const text = (status, body) => {
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  switch (url.pathname) {
    case '/':
      return text(200, `${name}\n`);
    case '/health':
      return text(200, 'ok\n');
    case '/delay': {
      const ms = Math.min(Number(url.searchParams.get('ms') ?? 0) || 0, 600_000);
      setTimeout(() => text(200, `${name}\n`), ms);
      return;
    }
    case '/info': {
      const s = req.socket;
      const body = JSON.stringify({
        name,
        remoteAddress: unmap(s.remoteAddress),
        remotePort: s.remotePort,
        localAddress: unmap(s.localAddress),
        localPort: s.localPort,
        headers: req.headers,
      });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      return res.end(body);
    }
    case '/big': {
      const total = Math.min(Math.max(Number(url.searchParams.get('bytes') ?? 0) || 0, 0), 1 << 30);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': total });
      let left = total;
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, CHUNK.length);
          left -= n;
          if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    default:
      return text(404, 'not found\n');
  }
});
server.keepAliveTimeout = 300_000;
server.headersTimeout = 305_000;
server.requestTimeout = 0;

function listen(address) {
  server.listen({ port, host: address, ipv6Only: false }, () => {
    console.log(JSON.stringify({ event: 'listening', name, port, address }));
  });
}
server.on('error', (err) => {
  // A namespace without IPv6 cannot bind "::": fall back to IPv4 only.
  if (values.address === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) {
    values.address = '0.0.0.0';
    return listen('0.0.0.0');
  }
  console.error(`http-server ${name}: ${err.message}`);
  process.exit(1);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
listen(values.address);
