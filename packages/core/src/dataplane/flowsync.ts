import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, RingBuffer, UpdateFlags } from '@xdp-lb/native';
import { FLOWSYNC, MAPS } from './abi.js';
import { readFtBuckets } from './flowtab.js';

/**
 * The two maps cluster flow sync (agent/cluster) works on, opened from an instance's pins: the
 * data plane's ring of flow records (bpf/lib/flowsync.h) and the conntrack table peers' flows go
 * into. Mechanism only: what records and entries mean is the agent's.
 */
export interface FlowSyncRing {
  /** The records there now, oldest first (at most `max`); never blocks. */
  consume(max?: number): Buffer[];
  dispose(): void;
}

export function openFlowSyncRing(mapsDir: string): FlowSyncRing {
  const map = BpfMap.fromPinned(join(mapsDir, FLOWSYNC));
  try {
    return RingBuffer.open(map);
  } finally {
    map.dispose();
  }
}

/** lb_ct (struct lb_flow -> struct lb_ct), for entries written from userspace. */
export class ConntrackTable {
  private readonly map: BpfMap;

  constructor(private readonly mapsDir: string) {
    this.map = BpfMap.fromPinned(join(mapsDir, MAPS.ct));
  }

  /**
   * The flow table's buckets (lb_ft4, read in batches; only read: the data plane alone writes it).
   * None when it is off (1 bucket) or not pinned yet (an instance of an older layout).
   */
  async flowTableBuckets(): Promise<Buffer[]> {
    const pin = join(this.mapsDir, MAPS.ft4);
    if (!existsSync(pin)) return [];
    const ft = BpfMap.fromPinned(pin);
    try {
      return ft.maxEntries > 1 ? await readFtBuckets(ft) : [];
    } finally {
      ft.dispose();
    }
  }

  /** BPF_NOEXIST: false when the flow has an entry already (which stays as it is). */
  insertNew(key: Buffer, value: Buffer): boolean {
    try {
      this.map.update(key, value, UpdateFlags.BPF_NOEXIST);
      return true;
    } catch (e) {
      if ((e as { code?: string }).code === 'EEXIST') return false;
      throw e;
    }
  }

  /** BPF_EXIST: replaces an entry that is there (false if it went meanwhile: nothing written). */
  replace(key: Buffer, value: Buffer): boolean {
    try {
      this.map.update(key, value, UpdateFlags.BPF_EXIST);
      return true;
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return false;
      throw e;
    }
  }

  lookup(key: Buffer): Buffer | null {
    return this.map.lookup(key) as Buffer | null;
  }

  /** Every entry, read in batches. */
  async entries(): Promise<{ keys: Buffer[]; values: Buffer[] }> {
    const { keys, values } = await this.map.lookupBatch();
    return { keys, values: values as Buffer[] };
  }

  dispose(): void {
    this.map.dispose();
  }
}
