import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { LbError } from '../lifecycle/errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Where `lb serve` listens unless told otherwise: loopback only. */
export const DEFAULT_METRICS_ADDRESS: ListenAddress = { host: '127.0.0.1', port: 9201 };

/** "127.0.0.1:9201", "[::1]:9201", "9201" (loopback) or "off"/"none" (null: no endpoint). */
export function parseListenAddress(text: string): ListenAddress | null {
  const t = text.trim();
  if (t === 'off' || t === 'none') return null;
  let host = DEFAULT_METRICS_ADDRESS.host;
  let portText = t;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(t) ?? /^([^:]+):(\d+)$/.exec(t);
  if (m) {
    host = m[1]!;
    portText = m[2]!;
  } else if (!/^\d+$/.test(t)) {
    throw new LbError(`"${text}" is not a listen address (expected e.g. 127.0.0.1:9201, [::1]:9201, 9201 or off)`, 'EINVAL');
  }
  const port = Number(portText);
  if (!isIP(host)) throw new LbError(`"${host}" in "${text}" is not an IP address (listen on an address, not a name)`, 'EINVAL');
  if (!/^\d+$/.test(portText) || port > 65535) throw new LbError(`port "${portText}" in "${text}" must be 0 to 65535`, 'EINVAL');
  return { host, port };
}

export function isLoopback(host: string): boolean {
  return host === '::1' || /^127\./.test(host) || host === '::ffff:127.0.0.1';
}

export interface Endpoint {
  status: number;
  contentType: string;
  body: string;
}

/**
 * The agent's HTTP endpoints (`/metrics`, `/healthz`): GET only, no other paths. Handlers are
 * synchronous and cheap (the conntrack count is read from its background gauge).
 */
export class MetricsServer {
  private server: Server | undefined;

  constructor(private readonly routes: Record<string, () => Endpoint>) {}

  async listen(addr: ListenAddress): Promise<ListenAddress> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const route = this.routes[path];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      if (!route) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: try ${Object.keys(this.routes).join(' or ')}\n`);
        return;
      }
      let ep: Endpoint;
      try {
        ep = route();
      } catch (e) {
        ep = { status: 500, contentType: 'text/plain', body: `${(e as Error).message}\n` };
      }
      res.writeHead(ep.status, {
        'Content-Type': ep.contentType,
        'Content-Length': Buffer.byteLength(ep.body),
        'Cache-Control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : ep.body);
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: Error & { code?: string }) =>
        reject(
          new LbError(
            `metrics endpoint ${fmt(addr)}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message} (choose another with --metrics, or --metrics off)`,
            e.code ?? 'ELISTEN',
          ),
        ),
      );
      server.listen(addr.port, addr.host, () => resolve());
    });
    this.server = server;
    const a = server.address();
    return typeof a === 'object' && a ? { host: a.address, port: a.port } : addr;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

export function fmt(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
