import { execFile } from 'node:child_process';
import type { AnnounceContext, AnnounceDriver } from './announce.js';

/**
 * Announces through any other speaker (ExaBGP, FRR's vtysh, GoBGP's CLI, a script that adds a
 * route): `up` or `down` is run as an argv (no shell) on each change, with XDP_LB_ANNOUNCE=up|down,
 * XDP_LB_INSTANCE, XDP_LB_PREFIXES (the VIPs as /32 and /128, prefix VIPs as their prefix, space-separated) and XDP_LB_REASON
 * in its environment. Exit 0 is success; anything else is logged and retried at the next tick. It
 * runs on changes only (and at start), so the commands must be idempotent.
 */
export class CommandDriver implements AnnounceDriver {
  readonly kind = 'command';
  readonly reassert = false;

  constructor(
    readonly upArgv: readonly string[],
    readonly downArgv: readonly string[],
    readonly timeoutMs: number,
  ) {}

  describe(): string {
    return `command ${this.upArgv.join(' ')} / ${this.downArgv.join(' ')}`;
  }

  up(ctx: AnnounceContext): Promise<string> {
    return this.run(this.upArgv, 'up', ctx);
  }

  down(ctx: AnnounceContext): Promise<string> {
    return this.run(this.downArgv, 'down', ctx);
  }

  private run(argv: readonly string[], what: 'up' | 'down', ctx: AnnounceContext): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        argv[0]!,
        argv.slice(1),
        {
          timeout: this.timeoutMs,
          killSignal: 'SIGKILL',
          env: {
            ...process.env,
            XDP_LB_ANNOUNCE: what,
            XDP_LB_INSTANCE: ctx.instance,
            XDP_LB_PREFIXES: ctx.prefixes.join(' '),
            XDP_LB_REASON: ctx.reason,
          },
        },
        (err, stdout, stderr) => {
          const out = `${stdout}${stderr}`.trim().split('\n').slice(-3).join('; ');
          if (!err) return resolve(out);
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
          const why = e.killed ? `timed out after ${this.timeoutMs} ms` : typeof e.code === 'number' ? `exit ${e.code}` : e.message;
          reject(new Error(`${argv.join(' ')}: ${why}${out ? `: ${out}` : ''}`));
        },
      );
    });
  }
}
