// The data plane broken by hand, through an instance's pinned maps, the way defects broke it:
// for the suites that check that status, metrics and /healthz tell the truth about it.
import { join } from 'node:path';
import { Abi, instancePaths } from '@xdp-lb/core';
import { BpfMap } from '@xdp-lb/native';

/** Deletes a service's slot table from the pinned outer map (what the id-reuse defect's removal step did). */
export function dropSlotTable(instance: string, svcId: number): void {
  const m = BpfMap.fromPinned(join(instancePaths(instance).maps, Abi.MAPS.tables));
  try {
    m.delete(Abi.u32(svcId));
  } finally {
    m.dispose();
  }
}
