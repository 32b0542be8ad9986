import { Announcer, type NodeHealthInput } from './announce.js';
import type { Logger } from './logger.js';
import { type Prober, ProcessProber } from './prober.js';
import { ConntrackGauge } from './reading.js';
import { type Endpoint, MetricsServer } from './server.js';
import { FileWatcher } from './watch.js';

/**
 * The agent's collaborators that touch the world: the health prober (processes in a namespace),
 * the route announcer, the metrics server, the file watcher and the conntrack gauge. The agent's
 * policy (which backends are in rotation, fail-open, a redeploy or a hot update) is its own and
 * is unit-tested with fakes of these (packages/core/tests/agent-policy.test.ts). Bound under the
 * AgentParts token (di/module.ts); these are the real ones.
 */
export interface AgentParts {
  prober(netnsPath: string | null, onError: (message: string) => void): Prober;
  announcer(
    log: Logger,
    instance: string,
    evaluate: () => NodeHealthInput | undefined,
  ): Pick<Announcer, 'configure' | 'poke' | 'withdraw' | 'drain' | 'undrain' | 'status' | 'metricsText' | 'stop'>;
  server(routes: Record<string, () => Endpoint>): Pick<MetricsServer, 'listen' | 'close'>;
  watcher(file: string, onChange: () => void, options: { pollMs?: number }): Pick<FileWatcher, 'start' | 'stop'>;
  gauge(
    instance: string,
    intervalMs: number,
    onError: (e: Error) => void,
  ): Pick<ConntrackGauge, 'start' | 'stop' | 'refresh' | 'entries' | 'halfOpen' | 'snatPorts' | 'updatedAt'>;
}

export const AgentParts = Symbol.for('xdp-lb.AgentParts');

export const realAgentParts: AgentParts = {
  prober: (netnsPath, onError) => new ProcessProber(netnsPath, onError),
  announcer: (log, instance, evaluate) => new Announcer(log, instance, evaluate),
  server: (routes) => new MetricsServer(routes),
  watcher: (file, onChange, options) => new FileWatcher(file, onChange, options),
  gauge: (instance, intervalMs, onError) => new ConntrackGauge(instance, intervalMs, onError),
};
