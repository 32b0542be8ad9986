// Lab long-lived connection, started by @xdp-lb/netlab inside a client's network namespace. Opens
// ONE TCP connection (a raw socket, so nothing can silently reconnect) and sends an HTTP/1.1
// keep-alive request every --interval ms, one at a time. Reports JSON lines on stdout:
//   {"event":"connected","localAddress","localPort","remoteAddress","remotePort"}
//   {"event":"response","seq","status","body","ms","at"}
//   {"event":"timeout","seq","afterMs"}      (still waiting; the connection is not given up)
//   {"event":"closed","error"?,"seq"}         (the connection broke: exit code 2)
//   {"event":"stopped","sent","received"}    (SIGTERM, or --count reached: exit code 0)
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string', default: '80' },
    path: { type: 'string', default: '/' },
    interval: { type: 'string', default: '100' },
    timeout: { type: 'string', default: '2000' },
    count: { type: 'string', default: '0' },
    'connect-timeout': { type: 'string', default: '5000' },
  },
});
if (!values.host) {
  console.error('keepalive-client: --host is required');
  process.exit(64);
}
const intervalMs = Number(values.interval);
const timeoutMs = Number(values.timeout);
const count = Number(values.count);
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
process.stdout.on('error', () => {});

let seq = 0;
let received = 0;
let sentAt = 0;
let buf = Buffer.alloc(0);
let timer;
let waiting = false;
let stopping = false;

const hostHeader = values.host.includes(':') ? `[${values.host}]` : values.host;
const request = Buffer.from(
  `GET ${values.path} HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: keep-alive\r\nUser-Agent: netlab-keepalive\r\n\r\n`,
);

const sock = net.connect({ host: values.host, port: Number(values.port) });
sock.setNoDelay(true);
const connectTimer = setTimeout(() => {
  emit({ event: 'closed', error: 'connect timeout', seq });
  process.exit(2);
}, Number(values['connect-timeout']));

sock.on('connect', () => {
  clearTimeout(connectTimer);
  emit({
    event: 'connected',
    localAddress: sock.localAddress,
    localPort: sock.localPort,
    remoteAddress: sock.remoteAddress,
    remotePort: sock.remotePort,
  });
  send();
});

function send() {
  if (stopping) return;
  seq += 1;
  sentAt = performance.now();
  waiting = true;
  sock.write(request);
  const mySeq = seq;
  timer = setTimeout(function late(elapsed = timeoutMs) {
    if (waiting && seq === mySeq) {
      emit({ event: 'timeout', seq: mySeq, afterMs: elapsed });
      timer = setTimeout(() => late(elapsed + timeoutMs), timeoutMs);
    }
  }, timeoutMs);
}

sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = buf.subarray(0, headEnd).toString('latin1');
    const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (buf.length < headEnd + 4 + len) return;
    const body = buf.subarray(headEnd + 4, headEnd + 4 + len).toString('utf8');
    buf = buf.subarray(headEnd + 4 + len);
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(head)?.[1] ?? 0);
    const ms = performance.now() - sentAt;
    clearTimeout(timer);
    waiting = false;
    received += 1;
    emit({ event: 'response', seq, status, body, ms: Math.round(ms * 1000) / 1000, at: Date.now() });
    if (count > 0 && received >= count) return stop();
    timer = setTimeout(send, Math.max(0, intervalMs - ms));
  }
});

function stop() {
  stopping = true;
  clearTimeout(timer);
  emit({ event: 'stopped', sent: seq, received });
  sock.destroy();
  process.exit(0);
}

sock.on('error', (err) => {
  if (stopping) return;
  emit({ event: 'closed', error: err.code ?? err.message, seq });
  process.exit(2);
});
sock.on('close', () => {
  if (stopping) return;
  emit({ event: 'closed', seq });
  process.exit(2);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, stop);
