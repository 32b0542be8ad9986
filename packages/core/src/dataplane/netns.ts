import { spawnSync } from 'node:child_process';
import { inNetns } from '@xdp-lb/native';

/**
 * The network namespace the load balancer's interfaces live in. `null` is the caller's own.
 * Netlink-level work (ifindex, attach, query) runs on this thread inside the namespace (setns is
 * per thread); commands run through `nsenter --net` so they see the namespace's /proc/sys but the
 * host's /sys/fs/bpf (an `ip netns exec` would give them a private /sys and lose pins).
 */
export class NetnsScope {
  constructor(readonly name: string | null) {}

  get path(): string | null {
    return this.name === null ? null : this.name.startsWith('/') ? this.name : `/run/netns/${this.name}`;
  }

  /** Runs `fn` synchronously inside the namespace. */
  run<T>(fn: () => T): T {
    const p = this.path;
    return p === null ? fn() : inNetns(p, fn);
  }

  /** Runs a command inside the namespace; returns stdout, throws with stderr's first line. */
  exec(cmd: string, args: readonly string[], opts: { allowFail?: boolean } = {}): { ok: boolean; stdout: string; stderr: string } {
    const p = this.path;
    const [file, argv] = p === null ? [cmd, [...args]] : ['nsenter', [`--net=${p}`, '--', cmd, ...args]];
    const r = spawnSync(file, argv, { encoding: 'utf8', timeout: 10_000 });
    const ok = r.status === 0;
    if (!ok && !opts.allowFail) {
      const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0];
      throw new Error(`${cmd} ${args.join(' ')}: ${why}`);
    }
    return { ok, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  sysctlRead(key: string): string | undefined {
    const r = this.exec('sysctl', ['-n', key], { allowFail: true });
    return r.ok ? r.stdout.trim() : undefined;
  }

  sysctlWrite(key: string, value: string): void {
    this.exec('sysctl', ['-qw', `${key}=${value}`]);
  }
}

/** The first IPv4 (else IPv6 global) address of an interface, e.g. the default SNAT source. */
export function primaryAddress(netns: string | null, ifname: string): string | undefined {
  const ns = new NetnsScope(netns);
  for (const fam of ['-4', '-6']) {
    const r = ns.exec('ip', [fam, '-o', 'addr', 'show', 'dev', ifname, 'scope', 'global'], { allowFail: true });
    const m = /inet6? ([0-9a-f.:]+)\//.exec(r.stdout);
    if (m) return m[1];
  }
  return undefined;
}
