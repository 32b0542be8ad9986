import { formatEndpoint } from '../config/address.js';
import * as abi from '../dataplane/abi.js';
import { countFtChunked, flowTimeouts } from '../dataplane/flowtab.js';
import { InstanceMaps } from '../dataplane/maps.js';
import { desiredOf } from '../lifecycle/desired.js';
import { instancePaths } from '../state/paths.js';
import { readState } from '../state/store.js';

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
 * value is an estimate, capped at the table size; `updatedAt` says how old it is. The flow table's
 * live slots (lb_ft4, read in chunks the same way) count into `entries` and `halfOpen` too.
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
      const state = readState(this.instance);
      if (!state) {
        this.entries = undefined;
        return undefined;
      }
      maps = InstanceMaps.fromPins(instancePaths(this.instance).maps);
      let entries = await this.walk(maps.map(abi.MAPS.ct), () => {});
      let halfOpen = await this.walk(maps.map(abi.MAPS.ctSyn), () => {});
      const ft4 = maps.map(abi.MAPS.ft4);
      if (ft4.maxEntries > 1) {
        const ft = await countFtChunked(ft4, process.hrtime.bigint(), flowTimeouts(desiredOf(state).config.limits), this.chunk);
        entries += ft.established;
        halfOpen += ft.halfOpen;
      }
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
