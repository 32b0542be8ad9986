// Continuous short-connection HTTP load for the agent suites, run with the harness's Node inside a
// client's network namespace. Plain JavaScript on Node built-ins (runs without a build).
//
// `--concurrency` workers each open a NEW TCP connection per request to GET /info with `X-Req: r<n>`
// (info-request.mjs: misdelivery, `--connect-timeout` default 3000 ms, `--timeout`), until SIGTERM;
// then in-flight requests finish and ONE summary line is printed. A request still under way when
// the summary is written fails with 'unfinished at stop': sent = ok + errors.
// Prints {"event":"started"}, a progress line every 100 ms ({"event":"progress","sent","ok",
// "errors","t","oldest"}, see `oldest` below), and
//   {"event":"summary","sent","ok","errors","misdelivered","byBackend","startedAt","failures":[...],"records"?:[...]}
// where each record is {t0, t1 (ms since start), ok, backend?, error?, port?}.
import { parseArgs } from 'node:util';
import { infoRequest } from './info-request.mjs';

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string', default: '80' },
    concurrency: { type: 'string', default: '4' },
    timeout: { type: 'string', default: '2000' },
    'connect-timeout': { type: 'string', default: '3000' },
    pause: { type: 'string', default: '0' },
    records: { type: 'boolean', default: false },
  },
});
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
process.stdout.on('error', () => {});

const startedAt = Date.now();
const t = () => Date.now() - startedAt;
const timeoutMs = Number(values.timeout);
const connectTimeoutMs = Number(values['connect-timeout']);
const pauseMs = Number(values.pause);
const s = { sent: 0, ok: 0, errors: 0, misdelivered: 0, byBackend: {}, failures: [], records: values.records ? [] : undefined };
let stopping = false;
let n = 0;
/** Requests under way: their records, whether their connection is established, and how to end them. */
const inFlight = new Map();

function one() {
  const id = `r${n++}`;
  const rec = { t0: t(), t1: 0, ok: false };
  s.sent++;
  const state = { connected: false, stop: null };
  inFlight.set(rec, state);
  const req = infoRequest({
    host: values.host,
    port: Number(values.port),
    id,
    timeoutMs,
    connectTimeoutMs,
    onConnect: () => (state.connected = true),
    // Counted synchronously: SIGTERM stops what is under way, then writes the summary at once.
    onEnd: (r) => {
      inFlight.delete(rec);
      Object.assign(rec, r.ok ? { backend: r.info.name } : { error: r.error }, r.port !== undefined ? { port: r.port } : {});
      Object.assign(rec, { ok: r.ok, t1: t() });
      if (r.ok) {
        s.ok++;
        s.byBackend[rec.backend] = (s.byBackend[rec.backend] ?? 0) + 1;
      } else {
        if (r.misdelivered) s.misdelivered++;
        s.errors++;
        if (s.failures.length < 500) s.failures.push(rec);
      }
      s.records?.push(rec);
    },
  });
  state.stop = req.stop;
  return req.done;
}

async function worker() {
  while (!stopping) {
    await one();
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

const workers = Array.from({ length: Math.max(1, Number(values.concurrency)) }, worker);
emit({ event: 'started', startedAt });
/**
 * The start (ms since the load started) of the oldest request under way that may be bound to a
 * backend: connected, or connecting for under 500 ms; null if none. A SYN unanswered for that
 * long was dropped (the LB found no SNAT port for it, or dropped it during an update) and goes out
 * again as a new choice of backend; such a request can wait up to --connect-timeout (Node's
 * request timeout starts only once it is connected), and it holds no backend meanwhile.
 */
const CONNECTING_MS = 500;
const oldest = () => {
  const now = t();
  const starts = [...inFlight].filter(([r, st]) => st.connected || now - r.t0 < CONNECTING_MS).map(([r]) => r.t0);
  return starts.length ? Math.min(...starts) : null;
};
const progress = setInterval(() => emit({ event: 'progress', sent: s.sent, ok: s.ok, errors: s.errors, t: t(), oldest: oldest() }), 100);
process.on('SIGTERM', async () => {
  stopping = true;
  clearInterval(progress);
  // In-flight requests finish (each has its timeouts: connecting, then idle); a stuck one does not
  // hold the summary back, and is counted as failed.
  await Promise.race([Promise.all(workers), new Promise((r) => setTimeout(r, connectTimeoutMs + timeoutMs + 500))]);
  for (const st of [...inFlight.values()]) st.stop('unfinished at stop');
  // A large line: exit only once it is flushed to the pipe.
  process.stdout.write(`${JSON.stringify({ event: 'summary', ...s, startedAt })}\n`, () => process.exit(0));
});
