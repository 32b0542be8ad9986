import type { HealthCheckConfig, LbConfig } from '../config/types.js';
import type { Logger } from './logger.js';
import type { Prober, ProbeResult } from './prober.js';

/** What the checker knows about one backend of one service. */
export interface BackendHealth {
  service: string;
  backend: string;
  /** In rotation as far as health goes (a backend of a service without checks is always up). */
  up: boolean;
  checked: boolean;
  /** Consecutive results of the current streak. */
  successes: number;
  failures: number;
  checks: { ok: number; fail: number; inconclusive: number };
  lastError?: string;
  /** When `up` last changed (ms since the epoch). */
  since: number;
}

export interface HealthChange {
  service: string;
  backend: string;
  up: boolean;
  /** The result that decided it. */
  reason: string;
}

interface Target {
  key: string;
  service: string;
  backend: string;
  address: string;
  port: number;
  check: HealthCheckConfig;
  state: BackendHealth;
  timer?: NodeJS.Timeout;
  /** Bumped when the target is replaced or removed: a probe in flight then reports nowhere. */
  epoch: number;
}

export const healthKey = (service: string, backend: string): string => `${service}\u0000${backend}`;

/**
 * Active health checks: each backend of each service with a `health` section is probed every
 * `intervalMs` (probes of one backend never overlap); `fall` failures in a row take it down,
 * `rise` successes in a row bring it back. Changes are reported through `onChange`, several at
 * once when they happen together; what to do with them (rebuild the tables) is the agent's job.
 */
export class HealthChecker {
  private readonly targets = new Map<string, Target>();
  private stopped = false;
  private pendingChanges: HealthChange[] = [];
  private flushScheduled = false;

  constructor(
    private readonly prober: Prober,
    private readonly log: Logger,
    private readonly onChange: (changes: HealthChange[]) => void,
  ) {}

  /**
   * Checks what `cfg` asks for. Backends that stay (same service, backend and check settings) keep
   * their state and rhythm; new ones start `up` unless listed in `initiallyDown` (an agent that
   * restarts finds the backends its predecessor had taken out, and keeps them out until they rise).
   */
  configure(cfg: LbConfig, initiallyDown: ReadonlySet<string> = new Set()): void {
    const wanted = new Map<string, Omit<Target, 'state' | 'epoch'>>();
    for (const svc of cfg.services) {
      if (!svc.health) continue;
      for (const b of svc.backends) {
        const key = healthKey(svc.name, b.key);
        wanted.set(key, {
          key,
          service: svc.name,
          backend: b.key,
          address: b.address.text,
          port: svc.health.port ?? b.port,
          check: svc.health,
        });
      }
    }
    for (const [key, t] of this.targets) {
      const w = wanted.get(key);
      if (w && w.address === t.address && w.port === t.port && JSON.stringify(w.check) === JSON.stringify(t.check)) continue;
      this.drop(t);
      if (w) {
        // Same backend, new check settings: keep its verdict, restart its rhythm.
        this.add(w, t.state.up, t.state);
      }
    }
    for (const [key, w] of wanted) if (!this.targets.has(key)) this.add(w, !initiallyDown.has(key));
  }

  /** Whether the backend takes new flows as far as health goes (unchecked backends: true). */
  isUp(service: string, backend: string): boolean {
    return this.targets.get(healthKey(service, backend))?.state.up ?? true;
  }

  /** Every checked backend. */
  view(): BackendHealth[] {
    return [...this.targets.values()].map((t) => ({ ...t.state, checks: { ...t.state.checks } }));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.targets.values()) this.drop(t);
    this.prober.close();
  }

  private add(w: Omit<Target, 'state' | 'epoch'>, up: boolean, prev?: BackendHealth): void {
    const state: BackendHealth = prev
      ? { ...prev, successes: 0, failures: 0 }
      : {
          service: w.service,
          backend: w.backend,
          up,
          checked: false,
          successes: 0,
          failures: 0,
          checks: { ok: 0, fail: 0, inconclusive: 0 },
          since: Date.now(),
        };
    const t: Target = { ...w, state, epoch: 0 };
    this.targets.set(w.key, t);
    // Spread the first checks over the interval so that backends are not probed in lockstep.
    this.schedule(t, Math.floor(Math.random() * Math.min(t.check.intervalMs, 1000)));
  }

  private drop(t: Target): void {
    clearTimeout(t.timer);
    t.epoch++;
    this.targets.delete(t.key);
  }

  private schedule(t: Target, delayMs: number): void {
    if (this.stopped) return;
    const epoch = t.epoch;
    t.timer = setTimeout(() => void this.run(t, epoch), delayMs);
    t.timer.unref?.();
  }

  private async run(t: Target, epoch: number): Promise<void> {
    const started = Date.now();
    const c = t.check;
    const result = await this.prober.probe({
      type: c.type,
      address: t.address,
      port: t.port,
      timeoutMs: c.timeoutMs,
      ...(c.type === 'http' ? { path: c.path, expectStatus: c.expectStatus } : {}),
    });
    if (this.stopped || epoch !== t.epoch) return;
    this.record(t, result);
    this.schedule(t, Math.max(0, c.intervalMs - (Date.now() - started)));
  }

  private record(t: Target, r: ProbeResult): void {
    const s = t.state;
    s.checked = true;
    if (r.inconclusive) {
      s.checks.inconclusive++;
      this.log.warn('health check could not run', { service: t.service, backend: t.backend, error: r.error });
      return;
    }
    if (r.ok) {
      s.checks.ok++;
      s.successes++;
      s.failures = 0;
      delete s.lastError;
    } else {
      s.checks.fail++;
      s.failures++;
      s.successes = 0;
      s.lastError = r.error ?? 'failed';
    }
    if (s.up && s.failures >= t.check.fall) this.flip(t, false, `${s.failures} failed checks in a row (last: ${s.lastError})`);
    else if (!s.up && s.successes >= t.check.rise) this.flip(t, true, `${s.successes} good checks in a row`);
  }

  private flip(t: Target, up: boolean, reason: string): void {
    t.state.up = up;
    t.state.since = Date.now();
    this.pendingChanges.push({ service: t.service, backend: t.backend, up, reason });
    // Changes of the same moment go out together (one table rebuild for several backends).
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const changes = this.pendingChanges;
      this.pendingChanges = [];
      if (changes.length && !this.stopped) this.onChange(changes);
    });
  }
}
