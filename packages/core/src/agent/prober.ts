import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { HealthCheckType } from '../config/defaults.js';

/** One check of one backend. */
export interface ProbeRequest {
  type: HealthCheckType;
  address: string;
  port: number;
  timeoutMs: number;
  /** http only. */
  path?: string;
  expectStatus?: number;
}

export interface ProbeResult {
  ok: boolean;
  /** Time the check took. */
  ms: number;
  /** Why it failed (ECONNREFUSED, timeout, status 503, ...). */
  error?: string;
  /** http: the status received. */
  status?: number;
  /**
   * The checker itself could not run the check (its process died, the namespace is gone): says
   * nothing about the backend, so it never counts towards rise or fall.
   */
  inconclusive?: boolean;
}

export interface Prober {
  probe(req: ProbeRequest): Promise<ProbeResult>;
  close(): void;
}

/**
 * The checker process: plain CommonJS on Node built-ins, passed with `node -e` so that it needs no
 * file on disk (it runs from the sources and from the bundle alike). Reads one JSON request per
 * line on stdin, answers one JSON line per request on stdout, exits when stdin closes (so it dies
 * with the agent, even when the agent is SIGKILLed).
 */
const CHECKER = String.raw`
const net = require('node:net');
const http = require('node:http');
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
process.stdout.on('error', () => process.exit(0));
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('close', () => process.exit(0));
rl.on('line', (line) => {
  let r;
  try { r = JSON.parse(line); } catch { return; }
  const t0 = process.hrtime.bigint();
  let settled = false;
  let timer;
  const done = (ok, extra, cleanup) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    try { cleanup && cleanup(); } catch {}
    out(Object.assign({ id: r.id, ok, ms: Number(process.hrtime.bigint() - t0) / 1e6 }, extra));
  };
  if (r.type === 'tcp') {
    const s = net.connect({ host: r.address, port: r.port });
    timer = setTimeout(() => done(false, { error: 'timeout' }, () => s.destroy()), r.timeoutMs);
    s.once('connect', () => done(true, {}, () => s.destroy()));
    s.once('error', (e) => done(false, { error: e.code || e.message }, () => s.destroy()));
    return;
  }
  const req = http.request({ host: r.address, port: r.port, path: r.path, method: 'GET', agent: false,
    headers: { Host: r.hostHeader, 'User-Agent': 'xdp-lb-health', Connection: 'close' } });
  timer = setTimeout(() => done(false, { error: 'timeout' }, () => req.destroy()), r.timeoutMs);
  req.once('response', (res) => {
    const ok = res.statusCode === r.expectStatus;
    done(ok, ok ? { status: res.statusCode } : { status: res.statusCode, error: 'status ' + res.statusCode }, () => { res.resume(); req.destroy(); });
  });
  req.once('error', (e) => done(false, { error: e.code || e.message }, () => req.destroy()));
  req.end();
});
`;

interface Pending {
  resolve: (r: ProbeResult) => void;
  timer: NodeJS.Timeout;
}

/**
 * Runs checks in a small child process inside the LB's network namespace (`nsenter --net`):
 * a socket belongs to the namespace of the thread that creates it, and Node creates sockets on a
 * later tick, so switching namespaces around a connect() in this process would not work. One
 * child serves every check; it is started on first use and again after it died.
 */
export class ProcessProber implements Prober {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private lastSpawn = 0;

  /** `netnsPath`: /run/netns/NAME, or null for this process's own namespace. */
  constructor(
    private readonly netnsPath: string | null,
    private readonly onError: (message: string) => void = () => {},
  ) {}

  probe(req: ProbeRequest): Promise<ProbeResult> {
    if (this.closed) return Promise.resolve({ ok: false, ms: 0, error: 'checker closed', inconclusive: true });
    const child = this.ensureChild();
    if (!child) return Promise.resolve({ ok: false, ms: 0, error: 'checker restarting', inconclusive: true });
    const id = this.nextId++;
    const hostHeader = req.address.includes(':') ? `[${req.address}]:${req.port}` : `${req.address}:${req.port}`;
    return new Promise((resolve) => {
      // The child enforces the timeout; this guard only catches a checker that stopped answering.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, ms: req.timeoutMs, error: 'checker did not answer', inconclusive: true });
      }, req.timeoutMs + 2000);
      this.pending.set(id, { resolve, timer });
      child.stdin?.write(`${JSON.stringify({ id, ...req, hostHeader })}\n`);
    });
  }

  close(): void {
    this.closed = true;
    this.failAll('checker closed');
    this.child?.stdin?.end();
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }

  private ensureChild(): ChildProcess | undefined {
    if (this.child) return this.child;
    // A checker that keeps dying (the namespace is gone...) is started at most once a second.
    if (Date.now() - this.lastSpawn < 1000) return undefined;
    this.lastSpawn = Date.now();
    const node = [process.execPath, '-e', CHECKER];
    const argv = this.netnsPath ? ['nsenter', `--net=${this.netnsPath}`, '--', ...node] : node;
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    child.stdin?.on('error', () => undefined);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: ProbeResult & { id: number };
      try {
        msg = JSON.parse(line) as ProbeResult & { id: number };
      } catch {
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      const { id: _id, ...result } = msg;
      p.resolve(result);
    });
    child.on('error', (e) => this.onError(`health checker: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.closed) return;
      const why = stderr.trim().split('\n').pop() ?? '';
      this.onError(`health checker exited (${signal ?? `code ${code}`})${why ? `: ${why}` : ''}`);
      this.failAll('checker exited');
    });
    return child;
  }

  private failAll(error: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, ms: 0, error, inconclusive: true });
      this.pending.delete(id);
    }
  }
}
