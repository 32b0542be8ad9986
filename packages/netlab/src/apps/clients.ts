// Client-side helpers, each run inside a client's namespace: one HTTP request (curl), a long-lived
// keep-alive connection, UDP requests, ping. Addresses and URLs are the lab's, never the host's.
import { labScript } from '../lab/assets.js';
import type { NetnsLike } from '../netns/netns.js';
import type { LabProcess } from '../netns/process.js';
import { DEFAULT_UDP_ECHO_PORT } from './servers.js';

export interface HttpGetOptions {
  /** Whole request, connect included. Default 5 s. */
  timeoutMs?: number;
  /** Default: `timeoutMs`. */
  connectTimeoutMs?: number;
  headers?: Record<string, string>;
  method?: string;
  /** Bind the client to this source port (curl --local-port). */
  localPort?: number;
}

export interface HttpResponse {
  status: number;
  /** The body as UTF-8 text (`"http1\n"` from the lab backends). */
  body: string;
  /** Bytes received in the body. */
  bytes: number;
  /** Response headers, lower-case names, last value wins. */
  headers: Record<string, string>;
  remoteIp: string;
  remotePort: number;
  localIp: string;
  localPort: number;
  timeMs: number;
}

/** A request that got no HTTP response (refused, timed out, reset...). */
export class HttpRequestError extends Error {
  override readonly name = 'HttpRequestError';
  constructor(
    readonly url: string,
    /** curl's exit code (7 refused, 28 timeout, 52 empty reply, 56 reset...). */
    readonly curlExitCode: number,
    message: string,
  ) {
    super(`GET ${url}: ${message} (curl exit ${curlExitCode})`);
  }
}

interface CurlWriteOut {
  http_code: number;
  errormsg: string | null;
  exitcode: number;
  remote_ip: string;
  remote_port: number;
  local_ip: string;
  local_port: number;
  size_download: number;
  time_total: number;
}

const W = '@@NETLAB-W@@';
const H = '@@NETLAB-H@@';

/**
 * One HTTP request from inside `host`'s namespace. Resolves for any HTTP status; rejects with
 * `HttpRequestError` when there is no response at all.
 */
export async function httpGet(host: NetnsLike, url: string, options: HttpGetOptions = {}): Promise<HttpResponse> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const argv = [
    'curl',
    '-sS',
    '--globoff',
    '--noproxy',
    '*',
    '--max-time',
    (timeoutMs / 1000).toFixed(3),
    '--connect-timeout',
    ((options.connectTimeoutMs ?? timeoutMs) / 1000).toFixed(3),
    '-X',
    options.method ?? 'GET',
    '-w',
    `%{stderr}${W}%{json}${H}%{header_json}`,
  ];
  for (const [k, v] of Object.entries(options.headers ?? {})) argv.push('-H', `${k}: ${v}`);
  if (options.localPort !== undefined) argv.push('--local-port', String(options.localPort));
  argv.push(url);
  const r = await host.exec(argv, { check: false, timeoutMs: timeoutMs + 5000 });
  const at = r.stderr.lastIndexOf(W);
  if (at < 0) throw new HttpRequestError(url, r.code ?? -1, r.stderr.trim() || 'curl gave no report');
  const [json, headerJson] = r.stderr.slice(at + W.length).split(H);
  const w = JSON.parse(json ?? '{}') as CurlWriteOut;
  if (w.exitcode !== 0 || w.http_code === 0) {
    throw new HttpRequestError(url, w.exitcode, w.errormsg ?? r.stderr.slice(0, at).trim());
  }
  const headers: Record<string, string> = {};
  try {
    for (const [k, v] of Object.entries(JSON.parse(headerJson ?? '{}') as Record<string, string[]>)) {
      headers[k.toLowerCase()] = v[v.length - 1] ?? '';
    }
  } catch {
    // headers are a convenience; the status and body are what matter
  }
  return {
    status: w.http_code,
    body: r.stdout,
    bytes: w.size_download,
    headers,
    remoteIp: w.remote_ip,
    remotePort: w.remote_port,
    localIp: w.local_ip,
    localPort: w.local_port,
    timeMs: w.time_total * 1000,
  };
}

/** URL for an address and port, bracketing IPv6. */
export function httpUrl(address: string, port = 80, path = '/'): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `http://${host}${port === 80 ? '' : `:${port}`}${path}`;
}

export interface KeepAliveOptions {
  address: string;
  /** Default 80. */
  port?: number;
  /** Default `/`. */
  path?: string;
  /** Time between request starts. Default 100 ms. */
  intervalMs?: number;
  /** A response later than this is reported as a `timeout` event (the connection is kept). Default 2 s. */
  requestTimeoutMs?: number;
  /** Stop after this many responses (default: run until `stop()`). */
  count?: number;
}

export type KeepAliveEvent =
  | { event: 'connected'; localAddress: string; localPort: number; remoteAddress: string; remotePort: number }
  | { event: 'response'; seq: number; status: number; body: string; ms: number; at: number }
  | { event: 'timeout'; seq: number; afterMs: number }
  | { event: 'closed'; seq: number; error?: string }
  | { event: 'stopped'; sent: number; received: number };

export type KeepAliveResponse = Extract<KeepAliveEvent, { event: 'response' }>;

export interface KeepAliveSummary {
  responses: KeepAliveResponse[];
  timeouts: number;
  /** Set when the connection broke before it was stopped. */
  closed?: Extract<KeepAliveEvent, { event: 'closed' }>;
  /** Distinct bodies seen (with the lab backends: which backends answered). */
  bodies: string[];
}

/** One TCP connection held open, sending a request every `intervalMs`. See lab-scripts/keepalive-client.mjs. */
export class KeepAliveClient {
  constructor(readonly process: LabProcess) {}

  events(): KeepAliveEvent[] {
    return this.process
      .lines()
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as KeepAliveEvent);
  }

  responses(): KeepAliveResponse[] {
    return this.events().filter((e): e is KeepAliveResponse => e.event === 'response');
  }

  /** Resolves once `n` responses in total have arrived; rejects if the connection breaks first. */
  async waitForResponses(n: number, timeoutMs = 10_000): Promise<KeepAliveResponse[]> {
    await this.process.waitForLine(
      (l) => {
        if (l.includes('"event":"closed"')) throw new Error(`keep-alive connection closed: ${l}`);
        return l.includes('"event":"response"') && this.responses().length >= n;
      },
      { timeoutMs },
    );
    return this.responses();
  }

  /** Stops the client and summarises what happened over the connection's life. */
  async stop(): Promise<KeepAliveSummary> {
    await this.process.kill('SIGTERM');
    const events = this.events();
    const responses = events.filter((e): e is KeepAliveResponse => e.event === 'response');
    const closed = events.find((e): e is Extract<KeepAliveEvent, { event: 'closed' }> => e.event === 'closed');
    return {
      responses,
      timeouts: events.filter((e) => e.event === 'timeout').length,
      ...(closed ? { closed } : {}),
      bodies: [...new Set(responses.map((r) => r.body))],
    };
  }
}

/** Opens the long-lived connection and resolves once it is connected. */
export async function openKeepAlive(host: NetnsLike, options: KeepAliveOptions): Promise<KeepAliveClient> {
  const argv = [
    process.execPath,
    labScript('keepalive-client.mjs'),
    '--host',
    options.address,
    '--port',
    String(options.port ?? 80),
    '--path',
    options.path ?? '/',
    '--interval',
    String(options.intervalMs ?? 100),
    '--timeout',
    String(options.requestTimeoutMs ?? 2000),
    '--count',
    String(options.count ?? 0),
  ];
  const proc = host.spawn(argv, { label: `keepalive -> ${options.address}:${options.port ?? 80}` });
  try {
    await proc.waitForLine((l) => {
      if (l.includes('"event":"closed"')) throw new Error(`keep-alive connection failed: ${l}`);
      return l.includes('"event":"connected"');
    });
  } catch (e) {
    await proc.kill('SIGKILL');
    throw e;
  }
  return new KeepAliveClient(proc);
}

export interface UdpRequestOptions {
  address: string;
  /** Default 7000 (the lab's UDP echo). */
  port?: number;
  /** Default `ping`. */
  payload?: string;
  /** Per request. Default 2 s. */
  timeoutMs?: number;
  /** Number of requests, each from a new source port unless `sourcePort` is set. Default 1. */
  count?: number;
  sourcePort?: number;
}

export type UdpReply =
  | { seq: number; ok: true; reply: string; from: string; localPort: number; ms: number }
  | { seq: number; ok: false; error: string; localPort: number };

/** Sends UDP requests from inside `host`'s namespace; one result per request (failures included). */
export async function udpRequests(host: NetnsLike, options: UdpRequestOptions): Promise<UdpReply[]> {
  const count = options.count ?? 1;
  const timeoutMs = options.timeoutMs ?? 2000;
  const argv = [
    process.execPath,
    labScript('udp-client.mjs'),
    '--host',
    options.address,
    '--port',
    String(options.port ?? DEFAULT_UDP_ECHO_PORT),
    '--count',
    String(count),
    '--payload',
    options.payload ?? 'ping',
    '--timeout',
    String(timeoutMs),
  ];
  if (options.sourcePort !== undefined) argv.push('--source-port', String(options.sourcePort));
  const r = await host.exec(argv, { timeoutMs: count * timeoutMs + 10_000 });
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as UdpReply);
}

/** One UDP request; resolves with the reply text, rejects on timeout or a reply from another source. */
export async function udpRequest(host: NetnsLike, options: Omit<UdpRequestOptions, 'count'>): Promise<string> {
  const [r] = await udpRequests(host, { ...options, count: 1 });
  const target = `${options.address.includes(':') ? `[${options.address}]` : options.address}:${options.port ?? DEFAULT_UDP_ECHO_PORT}`;
  if (!r || !r.ok) throw new Error(`UDP ${target}: ${r && !r.ok ? r.error : 'no result'}`);
  if (r.from !== target) throw new Error(`UDP ${target}: reply came from ${r.from}`);
  return r.reply;
}

export interface PingOptions {
  /** Default 1. */
  count?: number;
  /** Per reply. Default 2 s. */
  timeoutMs?: number;
  /** Payload size in bytes (ping -s). */
  size?: number;
}

/** Pings `address` from inside `host`; true when every echo was answered. */
export async function ping(host: NetnsLike, address: string, options: PingOptions = {}): Promise<boolean> {
  const count = options.count ?? 1;
  const waitS = Math.max(1, Math.ceil((options.timeoutMs ?? 2000) / 1000));
  const argv = ['ping', '-n', '-q', '-c', String(count), '-W', String(waitS), '-i', '0.2'];
  if (options.size !== undefined) argv.push('-s', String(options.size));
  argv.push(address);
  const r = await host.exec(argv, { check: false, timeoutMs: count * (waitS * 1000 + 500) + 5000 });
  return r.code === 0 && new RegExp(`${count} received`).test(r.stdout);
}
