import { z } from 'zod';
import { formatEndpoint, parseEndpoint, type IpAddress } from './address.js';

/**
 * `cluster:` (docs/operations.md, "Flow sync between LB nodes"): the LB nodes behind one ECMP route
 * tell each other which backend each flow has, so that a node that takes a flow over (a node
 * withdrawn or lost, a rehash) keeps it on its backend even after backends changed. Only the agent
 * reads it, but turning it on or off is a load-time change (the data plane's flow_sync knob).
 */
export const CLUSTER_DEFAULTS = {
  port: 7946,
  pullTimeoutMs: 5000,
  flushMs: 10,
  maxQueue: 65536,
  maxRecordsPerSec: 200_000,
  ringBytes: 1 << 20,
} as const;

export const ClusterInputSchema = z
  .object({
    /** This node's sync address: "198.18.0.2:7946" (UDP), bound in the node's network namespace. */
    listen: z.string().min(1),
    /** Every node's sync address; this node's own (equal to listen) is skipped, so all nodes can share the list. */
    peers: z.array(z.string().min(1)).min(1, 'at least one peer'),
    /** The shared secret of the HMAC-SHA256 that authenticates every message (the same on every node). */
    key: z.string().min(32, 'at least 32 characters (e.g. the output of: openssl rand -hex 32)').optional(),
    /** A file holding the key (its first line), read at start and at each reload. */
    keyFile: z.string().regex(/^\//, 'an absolute path').optional(),
    /** How long a starting agent waits for its peers' flows before it announces anyway (0: does not wait). */
    pullTimeoutMs: z.number().int().min(0).max(600_000).default(CLUSTER_DEFAULTS.pullTimeoutMs),
    /** Records are batched into datagrams for at most this long. */
    flushMs: z.number().int().min(1).max(1000).default(CLUSTER_DEFAULTS.flushMs),
    /** Records waiting to be sent, per peer; past it new ones are dropped (counted). */
    maxQueue: z.number().int().min(64).max(4_194_304).default(CLUSTER_DEFAULTS.maxQueue),
    /** Records per second sent to each peer, at most (the rest wait in the queue). */
    maxRecordsPerSec: z.number().int().min(100).max(10_000_000).default(CLUSTER_DEFAULTS.maxRecordsPerSec),
    /** The data plane's ring of flow records, bytes (a power of two, at least 4096). */
    ringBytes: z
      .number()
      .int()
      .min(4096)
      .max(1 << 30)
      .refine((n) => (n & (n - 1)) === 0, 'a power of two')
      .default(CLUSTER_DEFAULTS.ringBytes),
  })
  .strict()
  .refine((c) => (c.key ? 1 : 0) + (c.keyFile ? 1 : 0) === 1, { message: 'give exactly one of cluster.key and cluster.keyFile' });

export type ClusterShape = z.output<typeof ClusterInputSchema>;

export interface SyncEndpoint {
  readonly address: IpAddress;
  readonly port: number;
  /** "addr:port" as written back (IPv6 in brackets). */
  readonly text: string;
}

/** The cluster section after resolution: addresses parsed, this node left out of its peers. */
export interface ClusterConfig extends Omit<ClusterShape, 'listen' | 'peers'> {
  readonly listen: SyncEndpoint;
  readonly peers: readonly SyncEndpoint[];
}

/** Resolves `cluster`; each problem goes to `report` (path, message). */
export function resolveCluster(c: ClusterShape, report: (path: string, message: string) => void): ClusterConfig | undefined {
  const endpoint = (text: string, path: string): SyncEndpoint | undefined => {
    try {
      const e = parseEndpoint(text);
      const port = e.port ?? CLUSTER_DEFAULTS.port;
      if (port === 0) throw new Error(`"${text}" needs one port, not "*"`);
      return { address: e.address, port, text: formatEndpoint(e.address, port) };
    } catch (err) {
      report(path, (err as Error).message);
      return undefined;
    }
  };
  const listen = endpoint(c.listen, 'cluster.listen');
  const peers: SyncEndpoint[] = [];
  const seen = new Set<string>();
  c.peers.forEach((p, i) => {
    const e = endpoint(p, `cluster.peers.${i}`);
    if (!e || e.text === listen?.text || seen.has(e.text)) return;
    seen.add(e.text);
    peers.push(e);
  });
  if (listen && peers.length === 0) report('cluster.peers', `no peer besides this node (${listen.text})`);
  if (!listen || peers.length === 0) return undefined;
  return { ...c, listen, peers };
}

/**
 * Stands in for the key wherever the config is written back (the instance's state, `lb config
 * dump`): the secret stays in the file the agent reads.
 */
export const REDACTED_KEY = "redacted: the key is in the agent's config file only";

/** `cluster` as input again (toInput), the key redacted. */
export function clusterInput(c: ClusterConfig): z.input<typeof ClusterInputSchema> {
  const { listen, peers, key: _key, keyFile, ...rest } = c;
  return { listen: listen.text, peers: peers.map((p) => p.text), ...(keyFile ? { keyFile } : { key: REDACTED_KEY }), ...rest };
}
