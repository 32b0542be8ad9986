import { loadTimeChanges } from '../lifecycle/load-time.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject, injectable, optional } from 'inversify';
import { ConfigError } from '../config/errors.js';
import { readConfigFile, toInput } from '../config/load.js';
import type { ConfigInput } from '../config/schema.js';
import type { LbConfig } from '../config/types.js';
import { LAYOUT_VERSION } from '../dataplane/abi.js';
import { NetnsScope } from '../dataplane/netns.js';
import { pinnedLinkProgram } from '../dataplane/xdp.js';
import { LbError } from '../lifecycle/errors.js';
import { LoadBalancer } from '../lifecycle/load-balancer.js';
import { requirePrivileges } from '../lifecycle/privileges.js';
import { programStrategyIds, readState } from '../state/store.js';
import { type InstanceLock, lockInstance } from '../state/lock.js';
import type { AnnounceStatus, NodeHealthInput } from './announce.js';
import { ClusterSync, type ClusterStatus, readKey } from './cluster/sync.js';
import { type BackendHealth, type HealthChange, HealthChecker, healthKey } from './health.js';
import { type Logger, silentLogger } from './logger.js';
import { renderMetrics } from './metrics.js';
import { readDataplane } from '../lifecycle/reading.js';
import { DEFAULT_METRICS_ADDRESS, type Endpoint, fmt, isLoopback, type ListenAddress } from './server.js';
import { AgentParts, realAgentParts } from './parts.js';

export interface AgentOptions {
  /** The config file (YAML or JSON): the source of truth the data plane is reconciled to. */
  file: string;
  /** Network namespace of the interfaces (a /run/netns name or path); health checks run there too. */
  netns?: string | null;
  /** Where /metrics and /healthz listen; default 127.0.0.1:9201; null: no endpoint. */
  metrics?: ListenAddress | null;
  /** On stop, undeploy (detach and remove every pin) instead of leaving the data plane forwarding. */
  detachOnExit?: boolean;
  /** Deploy over another program attached over netlink (lb deploy --force). */
  force?: boolean;
  log?: Logger;
  /** Reload when the file changes (default true); SIGHUP and reload() always work. */
  watch?: boolean;
  /** Stat poll behind the inotify watch, ms (default 1000). */
  pollMs?: number;
  /** How often the applied state is compared with what it should be (drift, links gone), ms; 0: never. Default 30 000. */
  resyncMs?: number;
  /** How often xdp_lb_conntrack_entries is recounted, ms (default 10 000). */
  conntrackCountMs?: number;
  /** Handle SIGHUP (reload), SIGTERM and SIGINT (stop) in this process. Default false (the CLI sets it). */
  signals?: boolean;
}

export type ApplyAction = 'deployed' | 're-deployed' | 'updated' | 'unchanged';

export type ReloadResult = { ok: true; action: ApplyAction; warnings: string[] } | { ok: false; error: Error };

export interface AgentStatus {
  instance: string;
  file: string;
  netns: string | null;
  running: boolean;
  metrics: ListenAddress | undefined;
  lastReload: { ok: boolean; time: number; reason: string; error?: string } | undefined;
  /** Services whose every backend failed its checks: kept in rotation as the file says (fail open). */
  failOpen: string[];
  health: BackendHealth[];
  /** Route announcement (config `announce`); undefined without one. */
  announce?: AnnounceStatus;
  /** Flow sync with the other LB nodes (config `cluster`); undefined without one. */
  cluster?: ClusterStatus;
}

/**
 * `lb serve`: the long-running agent. It reconciles the data plane to a config file (deploy when
 * the instance is not deployed; adopt it when it is, by a re-deploy: an atomic bpf_link update
 * that keeps the pinned maps and conntrack), reloads on SIGHUP and file changes (a bad file is
 * rejected with its errors and the running config stays), runs active health checks and takes
 * failed backends out of rotation (they drain: no new flows, established ones stay), serves
 * Prometheus metrics and /healthz on loopback, and logs in JSON or text. The data plane never
 * depends on it: stopping (or killing) the agent leaves it forwarding unless `detachOnExit`.
 */
@injectable()
export class Agent {
  private opts!: Required<Omit<AgentOptions, 'netns' | 'metrics' | 'log'>> & { netns: string | null; metrics: ListenAddress | null };
  private log: Logger = silentLogger;
  private instanceName = '';
  private current: LbConfig | undefined;
  private fileHash = '';
  private appliedKey = '';
  private inRotation = new Set<string>();
  private failOpen = new Set<string>();
  private health: HealthChecker | undefined;
  private announcer: ReturnType<AgentParts['announcer']> | undefined;
  private cluster: ClusterSync | undefined;
  private server: ReturnType<AgentParts['server']> | undefined;
  private metricsAt: ListenAddress | undefined;
  private watcher: ReturnType<AgentParts['watcher']> | undefined;
  private gauge: ReturnType<AgentParts['gauge']> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** One agent per instance: held from start to stop (state/lock.ts). */
  private agentLock: InstanceLock | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private running = false;
  private startTime = 0;
  private reloads = { ok: 0, error: 0 };
  private last: AgentStatus['lastReload'];
  private lastOkTime: number | undefined;
  private signalHandlers: [NodeJS.Signals, () => void][] = [];
  private stopping: Promise<void> | undefined;
  private resolveStopped: () => void = () => {};
  /** Settles when the agent has stopped (stop(), or SIGTERM/SIGINT with `signals`). */
  readonly stopped: Promise<void> = new Promise((r) => (this.resolveStopped = r));

  /** `parts`: the collaborators that touch the world (agent/parts.ts); fakes in unit tests. */
  constructor(
    @inject(LoadBalancer) private readonly lb: LoadBalancer,
    @inject(AgentParts) @optional() private readonly parts: AgentParts = realAgentParts,
  ) {}

  get instance(): string {
    return this.instanceName;
  }

  /**
   * Checks privileges and the file, binds the endpoints, brings the data plane to the file and
   * starts watching. Rejects (with a ConfigError or LbError) when it cannot: nothing it started
   * keeps running then, and a data plane that was already deployed is left as it was.
   */
  async start(
    options: AgentOptions,
  ): Promise<{ instance: string; action: ApplyAction; warnings: string[]; metrics: ListenAddress | undefined }> {
    if (this.running || this.startTime) throw new LbError('this agent has been started already (one start per Agent)');
    this.log = options.log ?? silentLogger;
    this.opts = {
      file: resolve(options.file),
      netns: options.netns ?? null,
      metrics: options.metrics === undefined ? DEFAULT_METRICS_ADDRESS : options.metrics,
      detachOnExit: options.detachOnExit ?? false,
      force: options.force ?? false,
      watch: options.watch ?? true,
      pollMs: options.pollMs ?? 1000,
      resyncMs: options.resyncMs ?? 30_000,
      conntrackCountMs: options.conntrackCountMs ?? 10_000,
      signals: options.signals ?? false,
    };
    this.startTime = Date.now();
    requirePrivileges('serve');
    const ns = new NetnsScope(this.opts.netns);
    if (ns.path && !existsSync(ns.path)) throw new LbError(`no network namespace ${this.opts.netns} (${ns.path})`, 'ENOENT');

    const { cfg, hash } = await this.readFile();
    this.instanceName = cfg.instance;
    this.log = this.log.child({ instance: cfg.instance });
    // A second agent for the instance would undo the first one's health decisions and reloads.
    this.agentLock = await lockInstance(cfg.instance, { name: 'agent.lock', timeoutMs: 0 });
    try {
      if (this.opts.metrics) {
        if (!isLoopback(this.opts.metrics.host))
          this.log.warn('metrics endpoint listens beyond loopback', { address: fmt(this.opts.metrics) });
        this.server = this.parts.server({ '/metrics': () => this.metricsEndpoint(), '/healthz': () => this.healthzEndpoint() });
        this.metricsAt = await this.server.listen(this.opts.metrics);
      }
      this.health = new HealthChecker(
        this.parts.prober(ns.path, (m) => this.log.warn(m)),
        this.log,
        (changes) => this.onHealthChange(changes),
      );
      if (cfg.cluster) readKey(cfg.cluster); // a key that cannot be read changes nothing
      const initiallyDown = await this.downBeforeUs(cfg);
      this.health.configure(cfg, initiallyDown);
      for (const key of initiallyDown)
        this.log.info('backend stays out of rotation until it passes its checks (it was out when the agent started)', {
          backend: key.split('\u0000')[1],
        });
      const result = await this.enqueue(async () => {
        const r = await this.apply(cfg, 'start', { redeploy: true });
        this.current = cfg;
        return r;
      });
      this.fileHash = hash;
      this.noteReload(true, 'start');
      this.running = true;
      await this.syncCluster(cfg);
      this.announcer = this.parts.announcer(this.log, this.instanceName, () => this.nodeState());
      await this.announcer.configure(cfg);
      if (this.opts.watch) {
        this.watcher = this.parts.watcher(this.opts.file, () => void this.reload('file changed'), { pollMs: this.opts.pollMs });
        this.watcher.start();
      }
      this.gauge = this.parts.gauge(this.instanceName, this.opts.conntrackCountMs, (e) =>
        this.log.debug('conntrack count failed', { error: e }),
      );
      this.gauge.start();
      // Also what keeps a process whose only other handles are unref'd (no metrics) alive.
      this.resyncTimer = setInterval(() => void this.enqueue(() => this.resync()), this.opts.resyncMs || 3_600_000);
      if (this.opts.signals) this.installSignals();
      this.log.info('serving', {
        file: this.opts.file,
        netns: this.opts.netns ?? undefined,
        action: result.action,
        metrics: this.metricsAt ? `http://${fmt(this.metricsAt)}/metrics` : 'off',
        services: cfg.services.length,
        checked: this.health.view().length,
      });
      return { instance: this.instanceName, action: result.action, warnings: result.warnings, metrics: this.metricsAt };
    } catch (e) {
      await this.teardown();
      throw e;
    }
  }

  /**
   * Reads the file again and applies it. Unless `force`, an unchanged file does nothing; `redeploy`
   * loads and swaps the program even when only hot-updatable things changed. Never rejects: a bad
   * file or a refused change is logged and returned, and the running config stays.
   */
  reload(reason = 'reload', opts: { force?: boolean; redeploy?: boolean } = {}): Promise<ReloadResult> {
    return this.enqueue(async (): Promise<ReloadResult> => {
      if (!this.running) return { ok: false, error: new LbError('the agent is not running') };
      try {
        const { cfg, hash } = await this.readFile();
        if (hash === this.fileHash && !opts.force && !opts.redeploy) {
          // Back to the running config after a rejected edit: the file and the data plane agree again.
          if (this.last && !this.last.ok) this.noteReload(true, reason);
          return { ok: true, action: 'unchanged', warnings: [] };
        }
        if (cfg.instance !== this.instanceName) {
          throw new LbError(
            `instance changed from ${this.instanceName} to ${cfg.instance}: an agent serves one instance; restart it to switch`,
            'EINVAL',
          );
        }
        if (cfg.cluster) readKey(cfg.cluster);
        const r = await this.apply(cfg, reason, { redeploy: opts.redeploy ?? false, force: opts.force ?? false });
        this.current = cfg;
        await this.syncCluster(cfg);
        this.fileHash = hash;
        this.health?.configure(cfg);
        await this.announcer?.configure(cfg);
        this.noteReload(true, reason);
        return { ok: true, ...r };
      } catch (e) {
        this.rejected(e as Error, reason);
        return { ok: false, error: e as Error };
      }
    });
  }

  /** Stops checks, endpoints and watches; the data plane keeps forwarding unless detachOnExit. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const wasRunning = this.running;
      this.running = false;
      await this.queue.catch(() => undefined);
      await this.teardown();
      if (wasRunning && this.opts.detachOnExit && readState(this.instanceName)) {
        // Routers first: traffic moves to the other nodes before this one stops forwarding.
        await this.announcer?.withdraw('detach on exit');
        try {
          const r = this.lb.undeploy(this.instanceName);
          this.log.info('detached on exit', { interfaces: r.detached.join(',') });
        } catch (e) {
          this.log.error('detach on exit failed', { error: e as Error });
        }
      } else if (wasRunning) {
        this.log.info('stopped; the data plane keeps forwarding', {
          detach: 'lb undeploy' + (this.instanceName === 'default' ? '' : ` --instance ${this.instanceName}`),
        });
      }
      this.resolveStopped();
    })();
    return this.stopping;
  }

  status(): AgentStatus {
    return {
      instance: this.instanceName,
      file: this.opts?.file ?? '',
      netns: this.opts?.netns ?? null,
      running: this.running,
      metrics: this.metricsAt,
      lastReload: this.last,
      failOpen: [...this.failOpen],
      health: this.health?.view() ?? [],
      ...(this.announcer?.status() ? { announce: this.announcer.status() } : {}),
      ...(this.cluster ? { cluster: this.cluster.status() } : {}),
    };
  }

  /**
   * Withdraws the VIPs (config `announce`) and keeps them withdrawn whatever the health, until
   * undrain() or a restart: a drain before an upgrade or a reboot. SIGUSR1 with `signals`. The
   * data plane keeps forwarding what the routers still send.
   */
  drain(reason = 'drain'): Promise<void> {
    return this.announcer?.drain(reason) ?? Promise.resolve();
  }

  /** Ends a drain: the VIPs are announced again once the node is healthy. SIGUSR2 with `signals`. */
  undrain(reason = 'undrain'): Promise<void> {
    return this.announcer?.undrain(reason) ?? Promise.resolve();
  }

  /** The Prometheus text of /metrics, as a scrape would get it now. */
  metrics(): string {
    const dp = readDataplane(this.instanceName);
    const g = this.gauge;
    return (
      renderMetrics({
        build: {
          version: VERSION,
          strategy: dp?.strategy ?? this.current?.strategy ?? '',
          layout: LAYOUT_VERSION,
          instance: this.instanceName,
          node: process.version,
          kernel: release(),
        },
        reading: dp,
        health: this.health?.view() ?? [],
        inRotation: this.inRotation,
        conntrack: {
          entries: g?.entries,
          halfOpen: g?.halfOpen,
          snatPorts: g?.snatPorts,
          ageSeconds: g?.updatedAt === undefined ? undefined : (Date.now() - g.updatedAt) / 1000,
        },
        agent: { reloads: this.reloads, lastReloadOk: this.last?.ok ?? true, lastReloadTime: this.lastOkTime, startTime: this.startTime },
      }) +
      (this.announcer?.metricsText() ?? '') +
      (this.cluster?.metricsText() ?? '')
    );
  }

  /** Recounts the conntrack table now (tests; the gauge otherwise refreshes on its own). */
  async countConntrack(): Promise<number | undefined> {
    return this.gauge?.refresh();
  }

  // ---------------------------------------------------------------------------------------------

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async readFile(): Promise<{ cfg: LbConfig; hash: string }> {
    let text: Buffer;
    try {
      text = readFileSync(this.opts.file);
    } catch (e) {
      throw new ConfigError([{ path: '', message: `cannot read ${this.opts.file}: ${(e as Error).message}` }], this.opts.file);
    }
    const hash = createHash('sha256').update(text).digest('hex');
    const cfg = await this.lb.checkConfig(readConfigFile(this.opts.file), { netns: this.opts.netns, source: this.opts.file });
    return { cfg, hash };
  }

  /**
   * Makes the data plane say what `cfg` (with failed backends drained) says: a deploy when the
   * instance is not deployed, its links are gone, a load-time setting changed or `redeploy`; a hot
   * update otherwise; nothing when it already says it (unless `force`).
   */
  private async apply(
    cfg: LbConfig,
    reason: string,
    opts: { redeploy?: boolean; force?: boolean; rewrite?: boolean } = {},
  ): Promise<{ action: ApplyAction; warnings: string[] }> {
    const t0 = performance.now();
    const { input, failOpen } = this.effective(cfg);
    const key = await this.canonical(input);
    const state = readState(cfg.instance);
    let action: ApplyAction;
    let warnings: string[] = [];
    const why = !state ? 'not deployed' : opts.redeploy ? reason : this.redeployReason(cfg);
    if (why) {
      const r = await this.lb.deploy(input, { netns: this.opts.netns, force: this.opts.force, source: this.opts.file });
      action = r.redeploy ? 're-deployed' : 'deployed';
      warnings = r.warnings;
      this.log.info(action === 'deployed' ? 'deployed' : 're-deployed (maps and conntrack kept)', {
        reason,
        ...(why !== reason ? { because: why } : {}),
        interfaces: r.interfaces.map((i) => `${i.name}:${i.mode}`).join(','),
        program: r.interfaces[0]?.progId,
        ...(r.upgradedFrom !== undefined ? { upgradedFromLayout: r.upgradedFrom } : {}),
        ms: Math.round(performance.now() - t0),
      });
      for (const l of r.links) this.log.info(`device changed: ${l}`, { reason });
    } else if (key !== this.appliedKey || opts.force) {
      const r = await this.lb.reload(cfg.instance, input, { rewrite: opts.rewrite ?? false });
      action = 'updated';
      warnings = r.warnings;
      this.log.info('updated (hot: tables swapped, conntrack kept)', { reason, ms: Math.round(performance.now() - t0) });
    } else {
      action = 'unchanged';
      this.log.debug('unchanged', { reason });
    }
    for (const w of warnings) this.log.warn(w, { reason });
    this.appliedKey = key;
    // Fail-open is reported with the rotation it produced, once the data plane says so (not while
    // the update is in flight, nor when it failed).
    for (const name of failOpen)
      if (!this.failOpen.has(name))
        this.log.error('every backend of the service fails its health checks: keeping them in rotation (fail open)', { service: name });
    for (const name of this.failOpen) if (!failOpen.has(name)) this.log.info('service has healthy backends again', { service: name });
    this.failOpen = failOpen;
    this.inRotation = new Set(
      (input.services ?? []).flatMap((s, i) =>
        (s.backends as { address: string; state?: string }[])
          .filter((b) => b.state !== 'draining')
          .map((b) => healthKey(cfg.services[i]!.name, b.address)),
      ),
    );
    if (this.cluster && cfg.cluster) {
      // ids and maps may have changed; a failure here leaves the data plane as applied
      try {
        this.cluster.configure(cfg);
      } catch (e) {
        this.log.error('cluster sync could not follow the update', { error: e as Error });
      }
    }
    void this.announcer?.poke();
    return { action, warnings };
  }

  /** The input as the saved state will hold it (defaults and strategy options filled): comparable. */
  private async canonical(input: unknown): Promise<string> {
    return JSON.stringify(toInput(await this.lb.checkConfig(input, { netns: this.opts.netns, checkInterfaces: false })));
  }

  /** Why a hot update cannot do: links gone or detached, a load-time setting changed. */
  private redeployReason(cfg: LbConfig): string | undefined {
    const state = readState(cfg.instance);
    if (!state) return 'not deployed';
    if ((state.netns ?? null) !== new NetnsScope(this.opts.netns).name) return `deployed in netns ${state.netns ?? '(host)'}`;
    const detached = state.interfaces.filter((i) => pinnedLinkProgram(i.linkPin) === null).map((i) => i.name);
    if (detached.length) return `XDP link gone on ${detached.join(', ')}`;
    const applied = this.current;
    if (!applied) return 'first apply';
    const changed = loadTimeChanges(applied, cfg, programStrategyIds(state));
    return changed.length ? `${changed.join(', ')} changed (fixed at load)` : undefined;
  }

  /**
   * The file's config as input, with each backend that failed its checks set to draining. A
   * service whose every active backend failed keeps them (fail open: dropping all of its traffic
   * would be worse than sending it to backends that may still answer some of it).
   */
  private effective(cfg: LbConfig): { input: ConfigInput; failOpen: Set<string> } {
    const input = toInput(cfg);
    const health = this.health;
    const failOpen = new Set<string>();
    input.services = cfg.services.map((svc, i) => {
      const s = input.services[i]!;
      if (!svc.health || !health) return s;
      const backends = s.backends.map((b) => {
        const o = b as Exclude<typeof b, string>;
        return o.state !== 'draining' && !health.isUp(svc.name, o.address) ? { ...o, state: 'draining' as const } : o;
      });
      if (!backends.some((b) => (b as { state?: string }).state !== 'draining')) {
        failOpen.add(svc.name);
        return s;
      }
      return { ...s, backends };
    });
    return { input, failOpen };
  }

  /** Backends that the file says are active but the running data plane has draining (taken out before). */
  private async downBeforeUs(cfg: LbConfig): Promise<Set<string>> {
    const down = new Set<string>();
    if (!readState(cfg.instance)) return down;
    let applied: LbConfig;
    try {
      applied = await this.lb.config(cfg.instance);
    } catch {
      return down;
    }
    for (const svc of cfg.services) {
      if (!svc.health) continue;
      const was = applied.services.find((s) => s.name === svc.name);
      for (const b of svc.backends) {
        if (b.state === 'active' && was?.backends.find((x) => x.key === b.key)?.state === 'draining') down.add(healthKey(svc.name, b.key));
      }
    }
    return down;
  }

  private onHealthChange(changes: HealthChange[]): void {
    for (const c of changes) {
      if (c.up) this.log.info('backend up: back in rotation', { service: c.service, backend: c.backend, reason: c.reason });
      else
        this.log.warn('backend down: out of rotation (established flows stay)', {
          service: c.service,
          backend: c.backend,
          reason: c.reason,
        });
    }
    void this.enqueue(async () => {
      // Also during start, once the first apply is done (a change can come before `running`).
      if (this.stopping || !this.current || !this.appliedKey) return;
      const reason = `health: ${changes.map((c) => `${c.backend} ${c.up ? 'up' : 'down'}`).join(', ')}`;
      try {
        await this.apply(this.current, reason);
      } catch (e) {
        this.log.error('could not apply a health change', { reason, error: e as Error });
      }
    });
  }

  /** The periodic check that the kernel still holds what was applied (undeploy, detach, edits by hand). */
  private async resync(): Promise<void> {
    if (!this.running || !this.current || this.opts.resyncMs === 0) return;
    try {
      const state = readState(this.instanceName);
      const why = this.redeployReason(this.current);
      if (why) {
        this.log.warn('the data plane is not what was applied: deploying again', { because: why });
        await this.apply(this.current, 'resync', { redeploy: true });
        return;
      }
      if (state && JSON.stringify(toInput(await this.lb.config(this.instanceName))) !== this.appliedKey) {
        this.log.warn("the applied config was changed behind the agent (lb backend/service?): restoring the file's", {});
        await this.apply(this.current, 'resync', { force: true });
        return;
      }
      // The kernel's maps can disagree with the applied state (a defect, a hand edit with bpftool):
      // a service that cannot serve although its config says it can is rewritten in full.
      const broken = (readDataplane(this.instanceName)?.services ?? []).filter(
        (s) => s.problem !== undefined && !this.failOpen.has(s.name),
      );
      if (broken.length) {
        for (const b of broken)
          this.log.warn('service cannot serve although the applied config says it can: rewriting the maps', {
            service: b.name,
            problem: b.problem,
          });
        await this.apply(this.current, 'resync', { force: true, rewrite: true });
      }
    } catch (e) {
      this.log.error('resync failed', { error: e as Error });
    }
  }

  private noteReload(ok: boolean, reason: string, error?: Error): void {
    const time = Date.now();
    if (ok) {
      this.reloads.ok++;
      this.lastOkTime = time;
    } else this.reloads.error++;
    this.last = { ok, time, reason, ...(error ? { error: error.message.split('\n')[0] } : {}) };
  }

  private rejected(e: Error, reason: string): void {
    this.noteReload(false, reason, e);
    if (e instanceof ConfigError) {
      this.log.error('config rejected: the running config stays', { reason, file: e.source, problems: e.issues.length });
      for (const line of e.lines()) this.log.error(`  ${line}`, { reason });
    } else {
      this.log.error('reload failed: the running config stays', { reason, error: e });
    }
  }

  private metricsEndpoint(): Endpoint {
    return { status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: this.metrics() };
  }

  private healthzEndpoint(): Endpoint {
    let dp: ReturnType<typeof readDataplane>;
    let error: string | undefined;
    try {
      dp = readDataplane(this.instanceName);
    } catch (e) {
      error = (e as Error).message.split('\n')[0]; // a damaged state file: say it, do not crash the endpoint
    }
    const interfaces = (dp?.interfaces ?? []).map((i) => ({ name: i.name, attached: i.attached }));
    // A service that cannot take a new flow (no slots, no backend in rotation, no service entry)
    // makes the node unavailable: "ok" while every new connection is dropped was the blind spot.
    const notServing = (dp?.services ?? []).filter((s) => s.problem !== undefined).map((s) => ({ service: s.name, problem: s.problem! }));
    const ok = this.running && !!dp && interfaces.length > 0 && interfaces.every((i) => i.attached) && notServing.length === 0;
    const body = {
      status: ok ? 'ok' : 'unavailable',
      instance: this.instanceName,
      deployed: !!dp,
      ...(error ? { error } : {}),
      interfaces,
      notServing,
      lastReload: this.last ? { ...this.last, time: new Date(this.last.time).toISOString() } : null,
      failOpen: [...this.failOpen],
      down: (this.health?.view() ?? []).filter((h) => !h.up).map((h) => ({ service: h.service, backend: h.backend })),
      announce: this.announcer?.status() ?? null,
      cluster: this.cluster?.status() ?? null,
    };
    return { status: ok ? 200 : 503, contentType: 'application/json', body: `${JSON.stringify(body)}\n` };
  }

  private installSignals(): void {
    const on = (sig: NodeJS.Signals, fn: () => void) => {
      process.on(sig, fn);
      this.signalHandlers.push([sig, fn]);
    };
    on('SIGHUP', () => {
      this.log.info('SIGHUP: reloading');
      void this.reload('SIGHUP', { force: true });
    });
    const term = (sig: NodeJS.Signals) => () => {
      this.log.info(`${sig}: stopping`);
      void this.stop();
    };
    on('SIGTERM', term('SIGTERM'));
    on('SIGINT', term('SIGINT'));
    on('SIGUSR1', () => void this.drain('SIGUSR1'));
    on('SIGUSR2', () => void this.undrain('SIGUSR2'));
  }

  /** Starts, stops or keeps cluster flow sync as `cfg` says (docs/operations.md, "Flow sync"). */
  private async syncCluster(cfg: LbConfig): Promise<void> {
    if (this.cluster && !cfg.cluster) {
      this.cluster.stop();
      this.cluster = undefined;
      this.log.info('cluster sync stopped');
    } else if (!this.cluster && cfg.cluster) {
      const c = new ClusterSync(this.instanceName, new NetnsScope(this.opts.netns).path, this.log);
      try {
        await c.start(cfg);
      } catch (e) {
        c.stop(); // a socket that cannot be bound (listen not an address of the namespace), ...
        throw e;
      }
      this.cluster = c;
    }
  }

  /** What the announcement judges the node by (announce.ts nodeHealth). */
  private nodeState(): NodeHealthInput | undefined {
    const state = readState(this.instanceName);
    if (!state || !this.current) return undefined;
    const interfaces = state.interfaces.map((i) => ({ name: i.name, attached: pinnedLinkProgram(i.linkPin) !== null }));
    return { cfg: this.current, deployed: true, interfaces, health: this.health?.view() ?? [], waiting: this.cluster?.waiting() };
  }

  private async teardown(): Promise<void> {
    for (const [sig, fn] of this.signalHandlers) process.off(sig, fn);
    this.signalHandlers = [];
    clearInterval(this.resyncTimer);
    this.watcher?.stop();
    this.gauge?.stop();
    this.health?.stop();
    this.announcer?.stop();
    this.cluster?.stop();
    await this.server?.close();
    this.agentLock?.release();
    this.agentLock = undefined;
  }
}

/** This package's version (src/agent/ or dist/: the nearest package.json above). */
const VERSION = (() => {
  try {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 4; i++, dir = dirname(dir)) {
      const p = join(dir, 'package.json');
      if (!existsSync(p)) continue;
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@xdp-lb/core') return pkg.version ?? 'unknown';
    }
  } catch {
    /* a bundle without its package.json */
  }
  return 'unknown';
})();
