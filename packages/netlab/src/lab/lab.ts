// A lab: one switch namespace holding the bridges, and hosts (one namespace each) plugged into
// them with veth pairs. Veths are created from inside the switch namespace with their host end
// placed straight into the host's namespace, so nothing ever appears in the root namespace and
// interface names cannot collide with anyone else's.
//
// Teardown order: processes (ours, then anything else found running in our namespaces), then the
// namespaces (deleting a namespace deletes its veths and bridges), then registered pin dirs, then
// the manifest. `destroy()` is idempotent and also runs at exit, on SIGINT/SIGTERM/SIGHUP and on a
// fatal uncaught error (unless the lab is persistent).
import { existsSync } from 'node:fs';
import { startHttpServer, startUdpEcho } from '../apps/servers.js';
import { trackForExit, untrackForExit } from '../netns/cleanup.js';
import { exec } from '../netns/exec.js';
import { DEFAULT_PREFIX, checkHostName, checkIfName, newRunId, peerIfName } from '../netns/names.js';
import { Netns, deleteNetnsSync } from '../netns/netns.js';
import { checkPinDir, removePinDirs } from '../netns/pins.js';
import type { LabProcess } from '../netns/process.js';
import { processStartTime } from '../netns/procfs.js';
import { asList, deriveMac, parseCidr } from './addressing.js';
import { xdpPassObjectPath } from './assets.js';
import { gcStale } from './gc.js';
import { type LabInterface, LabHost, routeArgv } from './host.js';
import { type LabManifest, listManifests, readManifest, removeManifest, writeManifest } from './manifest.js';
import type { BridgeSpec, HostSpec, InterfaceSpec, LabOptions, LabSpec } from './spec.js';

const BRIDGE_NF_OFF = {
  'net.bridge.bridge-nf-call-iptables': 0,
  'net.bridge.bridge-nf-call-ip6tables': 0,
  'net.bridge.bridge-nf-call-arptables': 0,
};

export class Lab {
  private readonly hostMap = new Map<string, LabHost>();
  private readonly procs = new Set<LabProcess>();
  private readonly namespaces: string[] = [];
  private readonly pinDirs: string[] = [];
  private readonly bridgeNames: string[] = [];
  private hostCount = 0;
  private isDestroyed = false;

  private constructor(
    /** The run id, `<prefix><pid>-<4 hex>`; every namespace of the lab starts with it. */
    readonly id: string,
    readonly prefix: string,
    readonly persistent: boolean,
    /** The namespace that holds the bridges (`<id>-sw`). */
    readonly switchNs: Netns,
    private readonly options: LabOptions,
    private readonly created = new Date().toISOString(),
  ) {}

  /** Builds the lab described by `spec`. On any failure, whatever was created is removed again. */
  static async up(spec: LabSpec, options: LabOptions = {}): Promise<Lab> {
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (options.gcStale ?? true) {
      const gc = gcStale(prefix);
      if (gc.runs.length) options.log?.(`removed leftovers of dead runs: ${gc.runs.join(', ')}`);
    }
    const id = newRunId(prefix);
    const lab = new Lab(id, prefix, options.persistent ?? false, new Netns(`${id}-sw`), options);
    if (!lab.persistent) trackForExit(lab);
    try {
      lab.namespaces.push(lab.switchNs.name);
      lab.saveManifest();
      await lab.createNetns(lab.switchNs);
      await lab.switchNs.sysctl({
        // New interfaces in the switch get no IPv6 (no link-local chatter from bridge ports).
        'net.ipv6.conf.default.disable_ipv6': 1,
        'net.ipv6.conf.all.disable_ipv6': 1,
        // A dumb wire: with br_netfilter active (the default here) the bridge validates IPv4
        // headers, silently drops bad checksums and runs iptables on bridged frames, which would
        // hide exactly the malformed packets the tests send.
        ...(existsSync('/proc/sys/net/bridge') ? BRIDGE_NF_OFF : {}),
      });
      for (const b of spec.bridges ?? [{ name: 'br0' }]) await lab.addBridge(b);
      await Promise.all(spec.hosts.map((h) => lab.addHost(h)));
      options.log?.(`lab ${id} is up: ${lab.hosts.map((h) => h.name).join(', ')}`);
      return lab;
    } catch (e) {
      try {
        lab.destroySync();
      } catch (cleanupError) {
        options.log?.(`cleanup after failed lab start also failed: ${(cleanupError as Error).message}`);
      }
      throw e;
    }
  }

  /** Manifests of the labs on this machine (all prefixes unless one is given). */
  static list(prefix?: string): LabManifest[] {
    return listManifests().filter((m) => prefix === undefined || m.prefix === prefix);
  }

  /** A handle on an existing lab (typically a persistent one) from its manifest. */
  static attach(id: string): Lab {
    const m = readManifest(id);
    if (!m)
      throw new Error(
        `no lab ${id} (known: ${
          Lab.list()
            .map((x) => x.id)
            .join(', ') || 'none'
        })`,
      );
    const lab = new Lab(m.id, m.prefix, m.persistent, new Netns(m.switchNetns), {}, m.created);
    lab.namespaces.push(...m.namespaces);
    lab.pinDirs.push(...m.pinDirs);
    lab.bridgeNames.push(...m.bridges);
    m.hosts.forEach((h, i) => lab.hostMap.set(h.name, new LabHost(lab, h.name, i + 1, new Netns(h.netns), h.interfaces)));
    lab.hostCount = m.hosts.length;
    return lab;
  }

  /** Removes a lab (its processes, namespaces, pin dirs) by id. */
  static destroyById(id: string): void {
    Lab.attach(id).destroySync();
  }

  get hosts(): LabHost[] {
    return [...this.hostMap.values()];
  }

  get bridges(): readonly string[] {
    return this.bridgeNames;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /** The host called `name`. */
  host(name: string): LabHost {
    const h = this.hostMap.get(name);
    if (!h) throw new Error(`lab ${this.id} has no host ${name} (hosts: ${[...this.hostMap.keys()].join(', ')})`);
    return h;
  }

  /** Processes started through the lab's hosts that are still running. */
  processes(): LabProcess[] {
    return [...this.procs].filter((p) => p.running);
  }

  /** Takes ownership of a process: it is killed on destroy. */
  adopt(proc: LabProcess): void {
    this.procs.add(proc);
    void proc.exited.then(() => this.procs.delete(proc));
  }

  /** Removes `dir` (below /sys/fs/bpf) on destroy, e.g. an LB instance's pins made inside the lab. */
  registerPinDir(dir: string): void {
    const abs = checkPinDir(dir);
    if (!this.pinDirs.includes(abs)) this.pinDirs.push(abs);
    this.saveManifest();
  }

  /** Adds a bridge to the switch namespace. */
  async addBridge(spec: BridgeSpec): Promise<void> {
    this.assertAlive();
    checkIfName(spec.name);
    if (this.bridgeNames.includes(spec.name)) throw new Error(`bridge ${spec.name} exists already`);
    this.bridgeNames.push(spec.name);
    this.saveManifest();
    // No STP, no forwarding delay: ports forward at once. No multicast snooping: nothing to learn.
    const lines = [`link add ${spec.name} type bridge forward_delay 0 stp_state 0 mcast_snooping 0`];
    if (spec.mtu) lines.push(`link set ${spec.name} mtu ${spec.mtu}`);
    lines.push(`link set ${spec.name} up`);
    await this.switchNs.exec(['ip', '-batch', '-'], { input: lines.join('\n') });
  }

  /** Adds a host: namespace, interfaces, sysctls, addresses, routes, setup commands, servers. */
  async addHost(spec: HostSpec): Promise<LabHost> {
    this.assertAlive();
    checkHostName(spec.name);
    if (this.hostMap.has(spec.name)) throw new Error(`host ${spec.name} is defined twice`);
    const shorthand = spec.bridge ?? spec.ipv4 ?? spec.ipv6 ?? spec.mac ?? spec.mtu;
    if (spec.interfaces && shorthand !== undefined) {
      throw new TypeError(`host ${spec.name}: give either interfaces or the bridge/ipv4/ipv6/mac/mtu shorthands, not both`);
    }
    const netns = new Netns(`${this.id}-${spec.name}`);
    const host = new LabHost(this, spec.name, ++this.hostCount, netns, []);
    host.forwarding = spec.forwarding ?? false;
    this.hostMap.set(spec.name, host);
    this.namespaces.push(netns.name);
    this.saveManifest();
    await this.createNetns(netns);

    const ifaces: InterfaceSpec[] = spec.interfaces ?? [
      { bridge: spec.bridge, ipv4: spec.ipv4, ipv6: spec.ipv6, mac: spec.mac, mtu: spec.mtu },
    ];
    for (const i of ifaces) {
      await this.addInterface(spec.name, {
        ...i,
        txChecksumOffload: i.txChecksumOffload ?? spec.txChecksumOffload,
        xdpPassPeer: i.xdpPassPeer ?? spec.xdpPassPeer,
      });
    }

    // Reverse-path filtering off: a lab routes asymmetrically on purpose (direct server return).
    const sysctls: Record<string, string | number | boolean> = {
      'net.ipv4.conf.all.rp_filter': 0,
      'net.ipv4.conf.default.rp_filter': 0,
    };
    if (host.forwarding) Object.assign(sysctls, { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 });
    Object.assign(sysctls, spec.sysctls);
    await host.sysctl(sysctls);
    const lines: string[] = [];
    for (const a of spec.loopback ?? []) {
      const c = parseCidr(a);
      lines.push(`addr add ${c.cidr} dev lo${c.family === 6 ? ' nodad' : ''}`);
    }
    if (lines.length) await host.exec(['ip', '-batch', '-'], { input: lines.join('\n') });
    for (const r of spec.routes ?? []) await host.exec(routeArgv(r));
    for (const cmd of spec.setup ?? []) await host.exec(cmd);
    if (spec.http) await startHttpServer(host, spec.http === true ? {} : spec.http);
    if (spec.udpEcho) await startUdpEcho(host, spec.udpEcho === true ? {} : spec.udpEcho);
    this.saveManifest();
    return host;
  }

  /**
   * Plugs a new veth into a host (multi-NIC labs): `eth<N>` inside the host, `<host>-eth<N>` on the
   * bridge. Applies the host's forwarding setting to it.
   */
  async addInterface(hostName: string, spec: InterfaceSpec): Promise<LabInterface> {
    this.assertAlive();
    const host = this.host(hostName);
    const hostIndex = host.index;
    const ifIndex = host.interfaces.length;
    const name = spec.name ?? `eth${ifIndex}`;
    checkIfName(name);
    if (host.interfaces.some((i) => i.name === name)) throw new Error(`host ${hostName} already has ${name}`);
    const bridge = spec.bridge ?? this.bridgeNames[0];
    if (!bridge || !this.bridgeNames.includes(bridge)) {
      throw new Error(`host ${hostName}: no bridge ${spec.bridge ?? '(none defined)'} (bridges: ${this.bridgeNames.join(', ') || 'none'})`);
    }
    const v4 = asList(spec.ipv4).map((a) => parseCidr(a, 24));
    const v6 = asList(spec.ipv6).map((a) => parseCidr(a, 64));
    for (const c of v4) if (c.family !== 4) throw new TypeError(`host ${hostName}: ${c.cidr} is not IPv4`);
    for (const c of v6) if (c.family !== 6) throw new TypeError(`host ${hostName}: ${c.cidr} is not IPv6`);
    const iface: LabInterface = {
      name,
      bridge,
      peer: peerIfName(hostName, hostIndex, name),
      mac: spec.mac ?? deriveMac(v4[0]?.address, hostIndex, ifIndex),
      ...(v4[0] ? { ipv4: v4[0].address, ipv4Cidr: v4[0].cidr } : {}),
      ...(v6[0] ? { ipv6: v6[0].address, ipv6Cidr: v6[0].cidr } : {}),
      xdpPassPeer: spec.xdpPassPeer ?? false,
      txChecksumOffload: spec.txChecksumOffload ?? false,
    };
    host.interfaces.push(iface);
    this.saveManifest();

    const mtu = spec.mtu ? [`link set ${iface.peer} mtu ${spec.mtu}`] : [];
    await this.switchNs.exec(['ip', '-batch', '-'], {
      input: [
        `link add ${iface.peer} type veth peer name ${name} netns ${host.netns.name}`,
        `link set ${iface.peer} master ${bridge}`,
        ...mtu,
        `link set ${iface.peer} up`,
      ].join('\n'),
    });

    const sysctls: Record<string, number> = { [`net.ipv4.conf.${name}.rp_filter`]: 0 };
    // No IPv6 asked for: none at all on this interface, so it sends no RS/MLD/DAD frames.
    if (v6.length === 0) sysctls[`net.ipv6.conf.${name}.disable_ipv6`] = 1;
    if (host.forwarding) {
      sysctls[`net.ipv4.conf.${name}.forwarding`] = 1;
      sysctls[`net.ipv6.conf.${name}.forwarding`] = 1;
    }
    await host.sysctl(sysctls);
    const lines = [`link set dev ${name} address ${iface.mac}`];
    if (spec.mtu) lines.push(`link set dev ${name} mtu ${spec.mtu}`);
    for (const c of v4) lines.push(`addr add ${c.cidr} dev ${name}`);
    for (const c of v6) lines.push(`addr add ${c.cidr} dev ${name} nodad`);
    lines.push(`link set dev ${name} up`);
    await host.exec(['ip', '-batch', '-'], { input: lines.join('\n') });

    if (!iface.txChecksumOffload) {
      await Promise.all([host.exec(['ethtool', '-K', name, 'tx', 'off']), this.switchNs.exec(['ethtool', '-K', iface.peer, 'tx', 'off'])]);
    }
    if (iface.xdpPassPeer) {
      const obj = xdpPassObjectPath(this.options.xdpPassObject);
      await this.switchNs.exec(['ip', 'link', 'set', 'dev', iface.peer, 'xdpdrv', 'obj', obj, 'sec', 'xdp']);
    }
    return iface;
  }

  /** A table of hosts, interfaces and addresses (for `lb lab up` and for debugging). */
  describe(): string {
    const rows = [['host', 'netns', 'iface', 'bridge', 'ipv4', 'ipv6', 'mac', 'peer xdp']];
    for (const h of this.hosts) {
      for (const i of h.interfaces) {
        rows.push([h.name, h.netns.name, i.name, i.bridge, i.ipv4Cidr ?? '-', i.ipv6Cidr ?? '-', i.mac, i.xdpPassPeer ? 'xdp_pass' : '-']);
      }
    }
    const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
    const table = rows.map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    );
    return [`lab ${this.id} (switch ${this.switchNs.name}, bridges ${this.bridgeNames.join(', ')})`, ...table].join('\n');
  }

  /** Stops processes (SIGTERM, then SIGKILL after 1 s), then removes everything. Idempotent. */
  async destroy(): Promise<void> {
    if (this.isDestroyed) return;
    await Promise.all(this.processes().map((p) => p.kill('SIGTERM', 1000)));
    this.destroySync();
  }

  /** Removes everything now (SIGKILL). Idempotent; what `destroy()` and the exit hooks call. */
  destroySync(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    untrackForExit(this);
    const errors: unknown[] = [];
    for (const p of this.procs) p.killSync();
    try {
      deleteNetnsSync(this.namespaces);
    } catch (e) {
      errors.push(e);
    }
    try {
      removePinDirs(this.pinDirs);
    } catch (e) {
      errors.push(e);
    }
    if (errors.length === 0) removeManifest(this.id);
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `lab ${this.id}: cleanup failed`);
  }

  private async createNetns(ns: Netns): Promise<void> {
    await exec(['ip', 'netns', 'add', ns.name]);
    await ns.exec(['ip', 'link', 'set', 'lo', 'up']);
  }

  private assertAlive(): void {
    if (this.isDestroyed) throw new Error(`lab ${this.id} has been destroyed`);
  }

  private saveManifest(): void {
    writeManifest({
      id: this.id,
      prefix: this.prefix,
      pid: process.pid,
      pidStart: processStartTime(process.pid),
      persistent: this.persistent,
      created: this.created,
      switchNetns: this.switchNs.name,
      bridges: [...this.bridgeNames],
      namespaces: [...this.namespaces],
      pinDirs: [...this.pinDirs],
      hosts: this.hosts.map((h) => ({ name: h.name, netns: h.netns.name, interfaces: h.interfaces })),
    });
  }
}
