// Short-connection HTTP load for the end-to-end tests, run with the harness's own Node inside a
// client's network namespace (`host.exec([process.execPath, thisFile, ...])`). Plain JavaScript,
// Node built-ins only, so it runs without a build.
//
// Every request is a NEW TCP connection (agent: false, Connection: close) to GET /info, which the
// lab backends answer with their name, the peer address they saw and the request's headers. Each
// request carries `X-Req: <tag>-<n>`; a response must echo exactly that header, or it counts as a
// misdelivery (a reply that reached the wrong client connection). A connection not established
// within `--connect-timeout` ms (default 3000; `--timeout`, Node's idle timeout, only starts once
// connected) fails with 'connect timeout'; every request ends as ok or an error (sent = ok + errors).
// Prints ONE JSON line:
//   {"tag","sent","ok","errors","misdelivered","byBackend":{name:n},"peers":{addr:n},
//    "locals":{addr:n},"slow","maxMs","errorSamples":[...],"records"?:[[localPort,backend],...],"ms"}
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string', default: '80' },
    count: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '1' },
    tag: { type: 'string', default: 'load' },
    timeout: { type: 'string', default: '3000' },
    'connect-timeout': { type: 'string', default: '3000' },
    records: { type: 'boolean', default: false },
  },
});
if (!values.host) {
  console.error('load-client: --host is required');
  process.exit(64);
}
const total = Number(values.count);
const concurrency = Math.max(1, Math.min(Number(values.concurrency), total || 1));
const timeoutMs = Number(values.timeout);
const connectTimeoutMs = Number(values['connect-timeout']);
const tag = values.tag;

const result = {
  tag,
  sent: 0,
  ok: 0,
  errors: 0,
  misdelivered: 0,
  byBackend: {},
  peers: {},
  locals: {},
  /** Connections that took over 900 ms: a SYN (or more) was retransmitted. */
  slow: 0,
  maxMs: 0,
  errorSamples: [],
  ...(values.records ? { records: [] } : {}),
  ms: 0,
};
const bump = (o, k) => (o[k] = (o[k] ?? 0) + 1);
const fail = (why) => {
  result.errors += 1;
  if (result.errorSamples.length < 10) result.errorSamples.push(why);
};

function one(n) {
  const id = `${tag}-${n}`;
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    let connectTimer;
    const finish = (f) => {
      if (done) return;
      done = true;
      clearTimeout(connectTimer);
      const ms = performance.now() - t0;
      if (ms > 900) result.slow += 1;
      result.maxMs = Math.max(result.maxMs, Math.round(ms));
      f();
      resolve();
    };
    let gotResponse = false;
    const req = http.request(
      { host: values.host, port: Number(values.port), path: '/info', agent: false, headers: { 'X-Req': id, Connection: 'close' } },
      (res) => {
        gotResponse = true;
        const chunks = [];
        // After 'end' this is a no-op; without it, the response was cut short.
        res.on('close', () => finish(() => fail(`${id}: response cut short`)));
        res.on('data', (c) => chunks.push(c));
        res.on('error', (e) => finish(() => fail(`${id}: response: ${e.code ?? e.message}`)));
        res.on('end', () =>
          finish(() => {
            const localPort = req.socket?.localPort;
            let info;
            try {
              info = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              return fail(`${id}: status ${res.statusCode}, body is not JSON`);
            }
            if (res.statusCode !== 200) return fail(`${id}: status ${res.statusCode}`);
            if (info.headers?.['x-req'] !== id) {
              result.misdelivered += 1;
              return fail(`${id}: answered for ${info.headers?.['x-req']}`);
            }
            result.ok += 1;
            bump(result.byBackend, info.name);
            bump(result.peers, info.remoteAddress);
            bump(result.locals, info.localAddress);
            if (result.records) result.records.push([localPort, info.name]);
          }),
        );
      },
    );
    connectTimer = setTimeout(() => req.destroy(new Error('connect timeout')), connectTimeoutMs);
    req.on('socket', (sock) => sock.once('connect', () => clearTimeout(connectTimer)));
    req.setTimeout(timeoutMs, () => {
      req.destroy(new Error('timeout'));
    });
    req.on('error', (e) => finish(() => fail(`${id}: ${e.code ?? e.message}`)));
    req.on('close', () => {
      if (!gotResponse) finish(() => fail(`${id}: closed without a response`));
    });
    req.end();
  });
}

const started = performance.now();
let next = 0;
async function worker() {
  while (next < total) {
    const n = next++;
    result.sent += 1;
    await one(n);
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
result.ms = Math.round(performance.now() - started);
process.stdout.write(`${JSON.stringify(result)}\n`);
