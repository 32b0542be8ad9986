import { formatEndpoint } from '../config/address.js';
import * as abi from '../dataplane/abi.js';
import { InstanceMaps } from '../dataplane/maps.js';
import { MODE_NAME, pinnedLinkProgram } from '../dataplane/xdp.js';
import { desiredOf } from '../lifecycle/desired.js';
import { servingProblem } from '../lifecycle/serving.js';
import { serviceIdentity } from '../state/allocation.js';
import { instancePaths } from '../state/paths.js';
import { readState } from '../state/store.js';

/** The data plane's counters and attachments at one moment, cheap enough for every scrape. */
export interface DataplaneReading {
  instance: string;
  strategy: string;
  interfaces: { name: string; requestedMode: string; mode: string; attached: boolean; progId: number | null }[];
  services: {
    name: string;
    /** The service's strategy. */
    strategy: string;
    /** Why a new flow cannot reach a backend now (lifecycle/serving.ts); undefined: it can. */
    problem: string | undefined;
    counters: abi.Counters;
    backends: { key: string; state: string; counters: abi.Counters }[];
  }[];
  /** Every lb_reasons slot the loaded data plane has, named from the ABI (`reason_<n>` if newer). */
  reasons: { reason: string; packets: bigint }[];
  conntrackMax: number;
  /** lb_ct_syn's size (limits.halfOpenSize at the first deploy). */
  halfOpenMax: number;
}

/**
 * Reads what `lb status` shows minus the conntrack walk (see ConntrackGauge): per-CPU counters of
 * services, backends and reasons, and whether each pinned link is still attached (from the link
 * itself: no namespace switch). Undefined when the instance is not deployed.
 */
export function readDataplane(instance: string): DataplaneReading | undefined {
  const state = readState(instance);
  if (!state) return undefined;
  const { config, allocation } = desiredOf(state);
  const interfaces = state.interfaces.map((i) => {
    const progId = pinnedLinkProgram(i.linkPin);
    return { name: i.name, requestedMode: i.requestedMode, mode: MODE_NAME[i.mode], attached: progId !== null, progId };
  });
  const maps = InstanceMaps.fromPins(instancePaths(instance).maps);
  try {
    const services = config.services.map((svc) => {
      const a = allocation.services[serviceIdentity(svc)]!;
      return {
        name: svc.name,
        strategy: svc.strategy,
        problem: servingProblem(maps, svc, a),
        counters: maps.serviceCounters(a.id),
        backends: svc.backends.map((b) => ({ key: b.key, state: b.state, counters: maps.backendCounters(a.backends[b.key]!.id) })),
      };
    });
    const rm = maps.map(abi.MAPS.reasons);
    const reasons: DataplaneReading['reasons'] = [];
    for (let i = 0; i < rm.maxEntries; i++) {
      const v = rm.lookup(abi.u32(i)) as Buffer[] | null;
      reasons.push({ reason: abi.REASONS[i] ?? `reason_${i}`, packets: v ? abi.sumU64(v) : 0n });
    }
    return { instance, strategy: state.strategy.id, interfaces, services, reasons, conntrackMax: maps.map(abi.MAPS.ct).maxEntries, halfOpenMax: maps.map(abi.MAPS.ctSyn).maxEntries };
  } finally {
    maps.dispose();
  }
}

/** One backend's SNAT ports by the lease of their reverse entry (ConntrackGauge.snatPorts). */
export interface SnatPortUse {
  established: number;
  halfOpen: number;
  held: number;
}

/**
 * `xdp_lb_conntrack_entries`: counting the entries of an LRU hash means walking its keys, one
 * syscall each (about a second for a full 1M-entry table), so it never happens on the scrape path.
 * The count is refreshed in the background every `intervalMs`, walking in chunks between which
 * the event loop runs. A key deleted under the walk can restart the kernel's iteration, so the
 * value is an estimate, capped at the table size; `updatedAt` says how old it is.
 */
export class ConntrackGauge {
  entries: number | undefined;
  /** lb_ct_syn's entries (half-open TCP flows), counted in the same pass. */
  halfOpen: number | undefined;
  /**
   * lb_snat's reverse entries (one per SNAT port in use or held) by backend (its endpoint text, the
   * config's backend key) and by the lease they carry: an established flow's, a half-open flow's,
   * or held (a TCP tombstone: TIME_WAIT hold, bpf/README.md "Port reuse and TIME_WAIT"). An
   * established lease whose flow is gone still counts until the port is taken over.
   */
  snatPorts: Map<string, SnatPortUse> | undefined;
  updatedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private walking = false;
  private stopped = false;

  constructor(
    private readonly instance: string,
    private readonly intervalMs: number,
    private readonly onError: (e: Error) => void = () => {},
    private readonly chunk = 4096,
  ) {}

  start(): void {
    this.stopped = false;
    const tick = async () => {
      await this.refresh().catch((e: Error) => this.onError(e));
      if (!this.stopped) {
        this.timer = setTimeout(() => void tick(), this.intervalMs);
        this.timer.unref?.();
      }
    };
    void tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Walks `map`'s keys in chunks (the event loop runs between them); the count, capped at its size. */
  private async walk(map: ReturnType<InstanceMaps['map']>, each: (key: Buffer) => void): Promise<number> {
    const max = map.maxEntries;
    let key: Buffer | null = null;
    let n = 0;
    for (;;) {
      let i = 0;
      for (; i < this.chunk; i++) {
        key = map.nextKey(key) as Buffer | null;
        if (!key) break;
        each(key);
        n++;
      }
      if (!key || n >= max || this.stopped) break;
      await new Promise((r) => setImmediate(r));
    }
    return Math.min(n, max);
  }

  /** Walks the tables once now (a walk already running is not doubled). */
  async refresh(): Promise<number | undefined> {
    if (this.walking) return this.entries;
    this.walking = true;
    let maps: InstanceMaps | undefined;
    try {
      if (!readState(this.instance)) {
        this.entries = undefined;
        return undefined;
      }
      maps = InstanceMaps.fromPins(instancePaths(this.instance).maps);
      const entries = await this.walk(maps.map(abi.MAPS.ct), () => {});
      const halfOpen = await this.walk(maps.map(abi.MAPS.ctSyn), () => {});
      const snatPorts = new Map<string, SnatPortUse>();
      const snat = maps.map(abi.MAPS.snat);
      await this.walk(snat, (key) => {
        const v = snat.lookup(key) as Buffer | null;
        if (!v) return;
        const f = abi.decodeFlow(key);
        const be = formatEndpoint(f.src, f.sport);
        const use = snatPorts.get(be) ?? { established: 0, halfOpen: 0, held: 0 };
        const lease = v.readUInt32LE(36);
        if (lease >>> 31) use.held += lease === 0xffffffff ? 0 : 1;
        else if (lease & abi.SNAT_LEASE_HALF) use.halfOpen++;
        else if (lease !== 0) use.established++;
        snatPorts.set(be, use);
      });
      this.entries = entries;
      this.halfOpen = halfOpen;
      this.snatPorts = snatPorts;
      this.updatedAt = Date.now();
      return this.entries;
    } finally {
      maps?.dispose();
      this.walking = false;
    }
  }
}
