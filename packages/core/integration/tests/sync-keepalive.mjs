// Many keep-alive HTTP connections in one process, for the cluster flow-sync lab
// (scaleout-sync.test.ts): one process for all of them instead of one each (a 2-core machine).
//   node sync-keepalive.mjs --host VIP --conns N [--interval 100] [--timeout 2000]
// Each connection sends GET / every --interval ms and checks the answer (the lab backend's name).
// Commands on stdin, one per line: "open N" opens N more (answers "opened" once each has had an
// answer); "report" prints one JSON line, per connection: its backends (in order), answers, the
// longest wait for one, whether it is closed (and why) and whether an answer is overdue. Exits when
// stdin closes. Every connection keeps its local port, so the test can find its conntrack entry.
import net from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: { host: { type: 'string' }, interval: { type: 'string', default: '100' }, timeout: { type: 'string', default: '2000' } },
});
const interval = Number(o.interval);
const timeoutMs = Number(o.timeout);
const conns = [];
const request = Buffer.from(`GET / HTTP/1.1\r\nHost: lab\r\n\r\n`);

function open() {
  return new Promise((resolve) => {
    const c = { port: 0, backends: [], answers: 0, closed: null, sentAt: 0, waiting: false, maxWaitMs: 0 };
    conns.push(c);
    const sock = net.connect({ host: o.host, port: 80 });
    let buf = Buffer.alloc(0);
    let first = true;
    const send = () => {
      if (c.closed) return;
      c.sentAt = performance.now();
      c.waiting = true;
      sock.write(request);
    };
    sock.setNoDelay(true);
    sock.on('connect', () => {
      c.port = sock.localPort;
      send();
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const body = buf
          .subarray(end + 4, end + 4 + len)
          .toString()
          .trim();
        buf = buf.subarray(end + 4 + len);
        c.waiting = false;
        c.answers += 1;
        c.maxWaitMs = Math.max(c.maxWaitMs, Math.round(performance.now() - c.sentAt));
        if (c.backends.at(-1) !== body) c.backends.push(body);
        if (first) {
          first = false;
          resolve();
        }
        setTimeout(send, interval);
      }
    });
    sock.on('error', (e) => (c.closed ??= e.code ?? e.message));
    sock.on('close', () => {
      c.closed ??= 'closed';
      if (first) {
        first = false;
        resolve();
      }
    });
  });
}

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'open') {
    await Promise.all(Array.from({ length: Number(arg) }, open));
    process.stdout.write(`${JSON.stringify({ event: 'opened', total: conns.length })}\n`);
  } else if (cmd === 'report') {
    const now = performance.now();
    const report = conns.map((c) => ({
      port: c.port,
      backends: c.backends,
      answers: c.answers,
      maxWaitMs: Math.max(c.maxWaitMs, c.waiting ? Math.round(now - c.sentAt) : 0),
      closed: c.closed,
      overdue: c.waiting && now - c.sentAt > timeoutMs,
    }));
    process.stdout.write(`${JSON.stringify({ event: 'report', conns: report })}\n`);
  }
});
rl.on('close', () => process.exit(0));
