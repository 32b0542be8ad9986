import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
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

  /**
   * A sysctl of the namespace (`net.ipv4.conf.eth0.forwarding`; a dot inside an interface name is
   * written `/`, as sysctl(8) takes it). Read through /proc/sys on this thread inside the namespace
   * (/proc/sys/net answers for the opening thread's namespace), not by spawning sysctl: the agent
   * runs this on every hot update, and a blocking spawn under load stalled its health checks for
   * hundreds of milliseconds.
   */
  sysctlRead(key: string): string | undefined {
    try {
      return this.run(() => readFileSync(sysctlPath(key), 'utf8')).trim();
    } catch {
      return undefined; // no such knob (IPv6 disabled on the interface, an unknown key)
    }
  }

  sysctlWrite(key: string, value: string): void {
    try {
      this.run(() => writeFileSync(sysctlPath(key), value));
    } catch (e) {
      throw new Error(`sysctl ${key}=${value}: ${(e as Error).message}`);
    }
  }
}

/** sysctl(8)'s key syntax: `.` separates, `/` stands for a dot inside a name. */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'))}`;
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

/** Every address assigned to an interface of the namespace (`ip -o addr show`), as printed. */
export function localAddresses(netns: string | null): string[] {
  const r = new NetnsScope(netns).exec('ip', ['-o', 'addr', 'show'], { allowFail: true });
  return [...r.stdout.matchAll(/\binet6? ([0-9a-f.:]+)\//g)].map((m) => m[1]!);
}
