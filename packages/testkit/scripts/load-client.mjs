// Short-connection HTTP load for the end-to-end tests, run with the harness's own Node inside a
// client's network namespace (`host.exec([process.execPath, thisFile, ...])`). Plain JavaScript,
// Node built-ins only, so it runs without a build.
//
// Every request is a NEW TCP connection to GET /info carrying `X-Req: <tag>-<n>` (info-request.mjs:
// misdelivery, `--connect-timeout` default 3000 ms, `--timeout`); every request ends as ok or an
// error (sent = ok + errors).
// Prints ONE JSON line:
//   {"tag","sent","ok","errors","misdelivered","byBackend":{name:n},"peers":{addr:n},
//    "locals":{addr:n},"slow","maxMs","errorSamples":[...],"records"?:[[localPort,backend],...],"ms"}
import { parseArgs } from 'node:util';
import { infoRequest } from './info-request.mjs';

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

async function one(n) {
  const id = `${tag}-${n}`;
  const r = await infoRequest({ host: values.host, port: Number(values.port), id, timeoutMs, connectTimeoutMs }).done;
  if (r.ms > 900) result.slow += 1;
  result.maxMs = Math.max(result.maxMs, Math.round(r.ms));
  if (!r.ok) {
    if (r.misdelivered) result.misdelivered += 1;
    return fail(`${id}: ${r.error}`);
  }
  result.ok += 1;
  bump(result.byBackend, r.info.name);
  bump(result.peers, r.info.remoteAddress);
  bump(result.locals, r.info.localAddress);
  if (result.records) result.records.push([r.port, r.info.name]);
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
