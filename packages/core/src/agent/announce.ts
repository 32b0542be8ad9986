import { existsSync } from 'node:fs';
import type { AnnounceRequire } from '../config/defaults.js';
import type { AnnounceConfig } from '../config/schema.js';
import type { LbConfig } from '../config/types.js';
import { vipPrefix } from '../config/prefix.js';
import { BirdDriver } from './announce-bird.js';
import { CommandDriver } from './announce-command.js';
import type { BackendHealth } from './health.js';
import type { Logger } from './logger.js';
import { familyLines } from './metrics.js';

/**
 * Health-gated route announcement (issue 9): the agent's hook into an existing BGP speaker. The
 * node announces its VIPs while it is healthy — its data plane deployed and attached on every
 * interface, and a backend that passes its checks (in any service, or in every service with
 * `require: all`) — and not draining (SIGUSR1, `agent.drain()`, or `announce.drainFile` present);
 * it withdraws them otherwise. The routers then do ECMP over the nodes that announce. How to
 * announce is a driver's business: BIRD's control socket or a pair of commands.
 *
 * Stopping the agent leaves the announcement as it is, as it leaves the data plane forwarding
 * (a restarted agent takes both over); a stop that detaches (`detachOnExit`) withdraws first.
 */

/** What a driver is told about a change. */
export interface AnnounceContext {
  instance: string;
  /** The VIPs as prefixes: `198.18.2.10/32`, `2001:db8::10/128`. */
  prefixes: string[];
  reason: string;
}

export interface AnnounceDriver {
  readonly kind: string;
  /** Send the state again on every tick (idempotent and cheap), not only on changes. */
  readonly reassert: boolean;
  describe(): string;
  /** Announce; resolves to a line for the log. */
  up(ctx: AnnounceContext): Promise<string>;
  /** Withdraw. */
  down(ctx: AnnounceContext): Promise<string>;
}

/** What the node's health is judged from. */
export interface NodeHealthInput {
  cfg: LbConfig;
  /** The instance has saved state (it is deployed). */
  deployed: boolean;
  /** Each interface of the deployment and whether its pinned link is still attached. */
  interfaces: readonly { name: string; attached: boolean }[];
  /** The health checker's view (backends of services with checks). */
  health: readonly BackendHealth[];
  /** Something the node waits for before it may be announced (cluster sync's pull at start). */
  waiting?: string | undefined;
}

export interface NodeHealth {
  healthy: boolean;
  reason: string;
}

export interface AnnounceStatus {
  method: string;
  /** The state last put in place (undefined before the first attempt succeeded). */
  announced: boolean | undefined;
  /** What the node should be: healthy and not draining. */
  wanted: boolean;
  healthy: boolean;
  reason: string;
  draining: string | undefined;
  prefixes: string[];
  /** When `announced` last changed (ms since the epoch). */
  since: number | undefined;
  changes: number;
  errors: number;
  lastError: string | undefined;
}

/**
 * Whether this node should carry traffic: deployed, every link attached, and a backend that
 * takes new flows and passed its latest checks in any service (`require: any`) or in every
 * service (`all`). A checked backend counts only once it has been checked (a fresh agent does
 * not announce before its first round of checks). A service without checks counts its active
 * backends. Fail-open services (every backend down) count as having none.
 */
export function nodeHealth(input: NodeHealthInput, require: AnnounceRequire): NodeHealth {
  if (!input.deployed) return { healthy: false, reason: 'not deployed' };
  const detached = input.interfaces.filter((i) => !i.attached).map((i) => i.name);
  if (input.interfaces.length === 0 || detached.length)
    return { healthy: false, reason: `data plane not attached${detached.length ? ` on ${detached.join(', ')}` : ''}` };
  if (input.waiting) return { healthy: false, reason: input.waiting };
  const view = new Map(input.health.map((h) => [`${h.service}\u0000${h.backend}`, h]));
  const sick: string[] = [];
  for (const svc of input.cfg.services) {
    const ok = svc.backends.some((b) => {
      if (b.state !== 'active') return false;
      if (!svc.health) return true;
      const h = view.get(`${svc.name}\u0000${b.key}`);
      return !!h && h.checked && h.up;
    });
    if (!ok) sick.push(svc.name);
  }
  const n = input.cfg.services.length;
  if (require === 'all' && sick.length) return { healthy: false, reason: `no healthy backend in ${sick.join(', ')}` };
  if (require === 'any' && sick.length === n)
    return { healthy: false, reason: n === 1 ? `no healthy backend in ${sick[0]}` : 'no healthy backend in any service' };
  return { healthy: true, reason: sick.length ? `healthy (no healthy backend in ${sick.join(', ')})` : 'healthy' };
}

/** The config's VIPs as prefixes (a host prefix for a single address), sorted and unique. */
export function vipPrefixes(cfg: LbConfig): string[] {
  return [...new Set(cfg.services.map((s) => vipPrefix(s.vip, s.prefix)))].sort();
}

export function announceDriver(a: AnnounceConfig): AnnounceDriver {
  if (a.bird) return new BirdDriver(a.bird.socket, a.bird.protocol);
  if (a.command) return new CommandDriver(a.command.up, a.command.down, a.command.timeoutMs);
  throw new Error('announce: neither bird nor command');
}

/**
 * Runs the announcement of one agent: evaluates the node every `intervalMs` (and at once after a
 * poke: an apply, a health change, a drain), and tells the driver when the wanted state differs
 * from the one in place (every tick for drivers that re-assert). Evaluations never overlap.
 */
export class Announcer {
  private cfg: AnnounceConfig | undefined;
  private driver: AnnounceDriver | undefined;
  private prefixes: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private announced: boolean | undefined;
  private failed = false;
  private last: NodeHealth = { healthy: false, reason: 'not evaluated yet' };
  private drainReason: string | undefined;
  private draining: string | undefined;
  private since: number | undefined;
  private changes = 0;
  private errors = 0;
  private lastError: string | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly log: Logger,
    private readonly instance: string,
    private readonly evaluate: () => NodeHealthInput | undefined,
  ) {}

  get configured(): boolean {
    return this.driver !== undefined;
  }

  /**
   * Takes the config's `announce` section (and VIPs). A new method (or none any more) first
   * withdraws through the old one, so that nothing stays announced without health behind it.
   */
  async configure(cfg: LbConfig): Promise<void> {
    const next = cfg.announce;
    this.prefixes = vipPrefixes(cfg);
    if (JSON.stringify(next) === JSON.stringify(this.cfg)) return this.poke();
    const old = this.driver;
    const methodChanged = old && (!next || announceDriver(next).describe() !== old.describe());
    await this.running;
    if (old && methodChanged && this.announced !== false) {
      await old.down(this.context('announce method changed')).then(
        () => this.log.info('withdrawn through the previous announce method', { via: old.describe() }),
        (e: Error) => this.log.error('could not withdraw through the previous announce method', { via: old.describe(), error: e }),
      );
    }
    this.cfg = next;
    if (!next) {
      this.driver = undefined;
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    if (!old || methodChanged) {
      this.driver = announceDriver(next);
      this.announced = undefined;
      this.log.info('announcing the VIPs while healthy', {
        via: this.driver.describe(),
        require: next.require,
        prefixes: this.prefixes.join(' '),
      });
    }
    clearInterval(this.timer);
    // A timer drops what its callback returns: a failed evaluation is logged, not left unhandled.
    this.timer = setInterval(
      () => void this.poke().catch((e: Error) => this.log.warn('announce evaluation failed', { error: e.message })),
      next.intervalMs,
    );
    this.timer.unref?.();
    return this.poke();
  }

  /** Evaluates now; resolves when done (a call during an evaluation runs another one after it). */
  poke(): Promise<void> {
    if (this.stopped || !this.driver) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.step();
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Withdraws and stays withdrawn, whatever the health, until undrain() (a drain before an upgrade). */
  drain(reason: string): Promise<void> {
    if (!this.driver) {
      this.log.warn('drain asked, but the config has no announce section: nothing to withdraw', { reason });
      return Promise.resolve();
    }
    if (this.drainReason === undefined) this.log.info('draining: withdrawing the VIPs (the data plane keeps forwarding)', { reason });
    this.drainReason = reason;
    return this.poke();
  }

  undrain(reason: string): Promise<void> {
    if (this.drainReason !== undefined) this.log.info('drain ended: announcing again when healthy', { reason });
    this.drainReason = undefined;
    return this.poke();
  }

  /** Withdraws now and stops (before the data plane is detached). */
  async withdraw(reason: string): Promise<void> {
    this.stopTimer();
    await this.running;
    if (!this.driver || this.announced === false) return;
    try {
      const out = await this.driver.down(this.context(reason));
      this.announced = false;
      this.log.info('withdrew the VIPs', { reason, via: this.driver.describe(), out });
    } catch (e) {
      this.log.error('could not withdraw the VIPs', { reason, error: e as Error });
    }
  }

  /** Stops evaluating; the announcement stays as it is (as the data plane keeps forwarding). */
  stop(): void {
    this.stopTimer();
  }

  status(): AnnounceStatus | undefined {
    if (!this.driver) return undefined;
    return {
      method: this.driver.describe(),
      announced: this.announced,
      wanted: this.last.healthy && !this.draining,
      healthy: this.last.healthy,
      reason: this.last.reason,
      draining: this.draining,
      prefixes: [...this.prefixes],
      since: this.since,
      changes: this.changes,
      errors: this.errors,
      lastError: this.lastError,
    };
  }

  /** Prometheus families of the announcement (appended to /metrics). */
  metricsText(): string {
    const s = this.status();
    if (!s) return '';
    const labels = { method: this.driver!.kind };
    // metrics.ts's familyLines: the one writer of the text exposition (escaping, HELP/TYPE lines).
    const fam = (name: string, type: 'counter' | 'gauge', help: string, value: number) => familyLines(name, type, help, [[labels, value]]);
    const lines = [
      fam(
        'xdp_lb_announce_up',
        'gauge',
        'Whether the node announces its VIPs (1) or has withdrawn them (0), as last put in place.',
        s.announced ? 1 : 0,
      ),
      fam(
        'xdp_lb_announce_healthy',
        'gauge',
        'Whether the node is healthy enough to announce (data plane attached, a backend that passes its checks).',
        s.healthy ? 1 : 0,
      ),
      fam(
        'xdp_lb_announce_draining',
        'gauge',
        '1 while the node is drained (SIGUSR1, drain file): withdrawn whatever its health.',
        s.draining ? 1 : 0,
      ),
      fam('xdp_lb_announce_changes_total', 'counter', 'Announcements and withdrawals put in place.', s.changes),
      fam('xdp_lb_announce_errors_total', 'counter', 'Failed attempts to announce or withdraw (retried every interval).', s.errors),
    ].flat();
    return `${lines.join('\n')}\n`;
  }

  // ---------------------------------------------------------------------------------------------

  private stopTimer(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private context(reason: string): AnnounceContext {
    return { instance: this.instance, prefixes: [...this.prefixes], reason };
  }

  private async step(): Promise<void> {
    const cfg = this.cfg;
    const driver = this.driver;
    if (!cfg || !driver) return;
    let input: NodeHealthInput | undefined;
    try {
      input = this.evaluate();
    } catch (e) {
      this.last = { healthy: false, reason: `cannot read the data plane: ${(e as Error).message}` };
    }
    if (input) this.last = nodeHealth(input, cfg.require);
    else if (!this.last.reason.startsWith('cannot read')) this.last = { healthy: false, reason: 'not deployed' };
    this.draining = this.drainReason ?? (cfg.drainFile && existsSync(cfg.drainFile) ? `drain file ${cfg.drainFile}` : undefined);
    const want = this.last.healthy && !this.draining;
    const reason = this.draining ? `draining (${this.draining})` : this.last.reason;
    if (want === this.announced && !this.failed && !driver.reassert) return;
    try {
      const out = await (want ? driver.up(this.context(reason)) : driver.down(this.context(reason)));
      if (want !== this.announced) {
        this.changes++;
        this.since = Date.now();
        const fields = { reason, via: driver.describe(), prefixes: this.prefixes.join(' '), out };
        if (want) this.log.info('announcing the VIPs', fields);
        else if (this.announced === undefined) this.log.info('VIPs not announced', fields);
        else this.log.warn('withdrawing the VIPs', fields);
      } else if (this.failed) {
        this.log.info('announcement in place again', { announced: want, via: driver.describe() });
      }
      this.announced = want;
      this.failed = false;
      this.lastError = undefined;
    } catch (e) {
      this.errors++;
      const msg = (e as Error).message;
      if (!this.failed || msg !== this.lastError)
        this.log.error(`could not ${want ? 'announce' : 'withdraw'} the VIPs (retrying every ${cfg.intervalMs} ms)`, {
          via: driver.describe(),
          error: msg,
        });
      this.failed = true;
      this.lastError = msg;
    }
  }
}
