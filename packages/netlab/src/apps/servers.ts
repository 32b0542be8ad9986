// The lab's servers: the bundled HTTP backend and UDP echo (lab-scripts/), run with this very Node
// binary inside a host's namespace. Each start resolves only once the server listens.
import { labScript } from '../lab/assets.js';
import type { NetnsLike } from '../netns/netns.js';
import type { LabProcess } from '../netns/process.js';

export const DEFAULT_HTTP_PORT = 80;
export const DEFAULT_UDP_ECHO_PORT = 7000;

export interface HttpServerOptions {
  /** Default 80. */
  port?: number;
  /** What `GET /` answers; default the host's name. */
  name?: string;
  /** Listen address; default `::` (dual stack, falling back to 0.0.0.0). */
  address?: string;
  /** Default 10 s. */
  readyTimeoutMs?: number;
}

export interface UdpEchoOptions {
  /** Default 7000. */
  port?: number;
  /** What each reply says; default the host's name. */
  name?: string;
  /** Addresses to bind; default every address present when it starts (so add VIPs first). */
  addresses?: string[];
  readyTimeoutMs?: number;
}

function defaultName(host: NetnsLike): string {
  return (host as { name?: string }).name ?? host.netns.name;
}

async function startAndWait(host: NetnsLike, argv: string[], label: string, timeoutMs: number): Promise<LabProcess> {
  const proc = host.spawn(argv, { label });
  try {
    await proc.waitForLine(/"event":"listening"/, { timeoutMs });
  } catch (e) {
    await proc.kill('SIGKILL');
    throw e;
  }
  return proc;
}

/** Starts the HTTP backend (GET / -> "<name>\n"; also /info, /big?bytes=N, /delay?ms=N, /health). */
export function startHttpServer(host: NetnsLike, options: HttpServerOptions = {}): Promise<LabProcess> {
  const name = options.name ?? defaultName(host);
  const port = options.port ?? DEFAULT_HTTP_PORT;
  const argv = [process.execPath, labScript('http-server.mjs'), '--name', name, '--port', String(port)];
  if (options.address) argv.push('--address', options.address);
  return startAndWait(host, argv, `${name} http :${port}`, options.readyTimeoutMs ?? 10_000);
}

/** Starts the UDP server that answers every datagram with `<name>` (no newline). */
export function startUdpEcho(host: NetnsLike, options: UdpEchoOptions = {}): Promise<LabProcess> {
  const name = options.name ?? defaultName(host);
  const port = options.port ?? DEFAULT_UDP_ECHO_PORT;
  const argv = [process.execPath, labScript('udp-echo.mjs'), '--name', name, '--port', String(port)];
  if (options.addresses) argv.push('--addresses', options.addresses.join(','));
  return startAndWait(host, argv, `${name} udp-echo :${port}`, options.readyTimeoutMs ?? 10_000);
}
