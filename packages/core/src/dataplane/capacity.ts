import { join } from 'node:path';
import { BpfMap, BpfObject } from '@xdp-lb/native';
import { MAPS } from './abi.js';

/**
 * How many services and backends the data plane can hold, read from its maps' max_entries
 * (bpf/include/lb_abi.h: the sizes are build-time -D overrides, and userspace never hard-codes
 * them). A service id indexes lb_services, lb_tables and lb_svc_stats; a backend id lb_backends and
 * lb_be_stats: the smallest of each set bounds the ids.
 */
export interface MapCapacity {
  maxServices: number;
  maxBackends: number;
}

const SERVICE_MAPS = [MAPS.services, MAPS.tables, MAPS.svcStats];
const BACKEND_MAPS = [MAPS.backends, MAPS.beStats];

function capacityOf(maxEntries: (name: string) => number): MapCapacity {
  return { maxServices: Math.min(...SERVICE_MAPS.map(maxEntries)), maxBackends: Math.min(...BACKEND_MAPS.map(maxEntries)) };
}

/** From a BPF object file (its ELF only: nothing reaches the kernel), before a deploy loads it. */
export function objectCapacity(objectPath: string): MapCapacity {
  const obj = BpfObject.open(objectPath);
  try {
    return capacityOf((name) => obj.map(name).maxEntries);
  } finally {
    obj.dispose();
  }
}

/** From a running instance's pinned maps (a hot update). */
export function pinnedCapacity(mapsDir: string): MapCapacity {
  return capacityOf((name) => {
    const m = BpfMap.fromPinned(join(mapsDir, name));
    try {
      return m.maxEntries;
    } finally {
      m.dispose();
    }
  });
}
