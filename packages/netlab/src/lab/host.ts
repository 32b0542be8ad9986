// A lab host: a network namespace with its interfaces and the ways to run things in it. What it
// spawns is owned by its lab and dies with it.
import { type Capture, type CaptureOptions, startCapture } from '../apps/capture.js';
import { type HttpServerOptions, type UdpEchoOptions, startHttpServer, startUdpEcho } from '../apps/servers.js';
import type { ExecOptions, ExecResult } from '../netns/exec.js';
import type { Netns, NetnsLike } from '../netns/netns.js';
import type { LabProcess, SpawnOptions } from '../netns/process.js';
import { parseCidr } from './addressing.js';
import type { ManifestInterface } from './manifest.js';
import type { RouteSpec } from './spec.js';

/** A host interface as built: names on both ends, addresses (without and with prefix), MAC. */
export type LabInterface = ManifestInterface;

/** What a host needs from its lab (kept narrow so host.ts does not depend on lab.ts). */
export interface HostOwner {
  readonly persistent: boolean;
  adopt(proc: LabProcess): void;
}

export class LabHost implements NetnsLike {
  /** Whether the spec asked for forwarding (applied to interfaces added later too). */
  forwarding = false;

  constructor(
    private readonly owner: HostOwner,
    /** The host name from the spec (`client1`, `lb`, `http2`). */
    readonly name: string,
    /** 1-based position in the lab (used for derived names and MACs). */
    readonly index: number,
    readonly netns: Netns,
    /** Interfaces in creation order; the first is the primary. */
    readonly interfaces: LabInterface[] = [],
  ) {}

  private get primary(): LabInterface | undefined {
    return this.interfaces[0];
  }

  /** Primary IPv4 address (no prefix), e.g. `198.18.0.2`. */
  get ipv4(): string | undefined {
    return this.primary?.ipv4;
  }

  /** Primary IPv6 address (no prefix). */
  get ipv6(): string | undefined {
    return this.primary?.ipv6;
  }

  /** MAC of the primary interface. */
  get mac(): string | undefined {
    return this.primary?.mac;
  }

  /** Name of the primary interface inside the host (`eth0`). */
  get ifname(): string | undefined {
    return this.primary?.name;
  }

  /** The interface called `name` (e.g. `eth1`). */
  iface(name: string): LabInterface {
    const i = this.interfaces.find((x) => x.name === name);
    if (!i) throw new Error(`host ${this.name} has no interface ${name} (has: ${this.interfaces.map((x) => x.name).join(', ')})`);
    return i;
  }

  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    return this.netns.exec(argv, options);
  }

  sh(script: string, options?: ExecOptions): Promise<ExecResult> {
    return this.netns.sh(script, options);
  }

  /** Starts a long-running process in the host; the lab kills it on destroy. */
  spawn(argv: readonly string[], options: SpawnOptions = {}): LabProcess {
    const persistent = this.owner.persistent;
    const proc = this.netns.spawn(argv, {
      ...options,
      label: options.label ?? `[${this.name}] ${argv.join(' ')}`,
      dieWithParent: options.dieWithParent ?? !persistent,
      trackForExit: options.trackForExit ?? !persistent,
    });
    if (persistent) proc.unref();
    this.owner.adopt(proc);
    return proc;
  }

  sysctl(values: Record<string, string | number | boolean>): Promise<void> {
    return this.netns.sysctl(values);
  }

  /** Adds an address (CIDR, or plain for /32 and /128) to an interface, `lo` by default. */
  async addAddress(address: string, dev = 'lo'): Promise<void> {
    const c = parseCidr(address);
    await this.exec(['ip', 'addr', 'add', c.cidr, 'dev', dev, ...(c.family === 6 ? ['nodad'] : [])]);
  }

  async addRoute(route: RouteSpec): Promise<void> {
    await this.exec(routeArgv(route));
  }

  startHttpServer(options?: HttpServerOptions): Promise<LabProcess> {
    return startHttpServer(this, options);
  }

  startUdpEcho(options?: UdpEchoOptions): Promise<LabProcess> {
    return startUdpEcho(this, options);
  }

  capture(options?: CaptureOptions): Promise<Capture> {
    return startCapture(this, options);
  }
}

/** `ip route add ...` for a route spec (IPv6 chosen from the addresses). */
export function routeArgv(r: RouteSpec): string[] {
  const v6 = [r.to, r.via, r.src].some((a) => a?.includes(':'));
  const argv = ['ip', ...(v6 ? ['-6'] : []), 'route', 'add', r.to];
  if (r.via) argv.push('via', r.via);
  if (r.dev) argv.push('dev', r.dev);
  if (r.src) argv.push('src', r.src);
  return argv;
}
