// Lab UDP client, started by @xdp-lb/netlab inside a client's network namespace. Sends --count
// requests one after another, each from a fresh socket (a new source port, so a new flow) unless
// --source-port pins one, and prints one JSON line per request:
//   {"seq","ok":true,"reply","from","localPort","ms"}  or  {"seq","ok":false,"error","localPort"}
// The socket is not connected, so a reply from an unexpected source is reported (in "from")
// rather than silently dropped. The fresh sockets stay open until the last request is done: the
// kernel picks an unbound socket's port at random in the ephemeral range (28,232 ports) and may
// hand a closed socket's port out again, so 30 requests would repeat a port (the same flow again)
// once in 65 runs; the port of a socket still open is never handed out twice.
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string', default: '7000' },
    count: { type: 'string', default: '1' },
    payload: { type: 'string', default: 'ping' },
    timeout: { type: 'string', default: '2000' },
    'source-port': { type: 'string' },
  },
});
const host = values.host;
if (!host) {
  console.error('udp-client: --host is required');
  process.exit(64);
}
const type = host.includes(':') ? 'udp6' : 'udp4';
const port = Number(values.port);
const timeoutMs = Number(values.timeout);
const fixedPort = values['source-port'] ? Number(values['source-port']) : undefined;
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

function open() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type, reuseAddr: fixedPort !== undefined });
    s.once('error', reject);
    s.bind(fixedPort ?? 0, () => resolve(s));
  });
}

function ask(sock, seq) {
  return new Promise((resolve) => {
    const started = performance.now();
    const timer = setTimeout(() => {
      sock.off('message', onMessage);
      resolve({ seq, ok: false, error: 'timeout', localPort: sock.address().port });
    }, timeoutMs);
    function onMessage(msg, rinfo) {
      clearTimeout(timer);
      sock.off('message', onMessage);
      const from = rinfo.family === 'IPv6' ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}`;
      resolve({
        seq,
        ok: true,
        reply: msg.toString('utf8'),
        from,
        localPort: sock.address().port,
        ms: Math.round((performance.now() - started) * 1000) / 1000,
      });
    }
    sock.on('message', onMessage);
    sock.send(Buffer.from(values.payload), port, host);
  });
}

const shared = fixedPort !== undefined ? await open() : undefined;
const fresh = [];
for (let seq = 1; seq <= Number(values.count); seq++) {
  const sock = shared ?? (await open());
  if (!shared) fresh.push(sock);
  emit(await ask(sock, seq));
}
shared?.close();
for (const s of fresh) s.close();
