import type { VipPlan } from '../config/vip-plan.js';
import * as abi from '../dataplane/abi.js';
import type { InstanceMaps } from '../dataplane/maps.js';
import type { Desired } from './reconcile.js';
import { svcKey } from './reconcile.js';

/**
 * A full rewrite's last step: removes what the maps hold and `next` does not. The diff against
 * `prev` (the state) cannot see it: a change killed between its map writes and its state (a
 * re-deploy that added a service, a hot update) left entries no state names, and the model test
 * (packages/cli/tests/model.e2e.test.ts) found one that outlived every later command. Read back
 * from the maps themselves, in the reconciler's removal order: service entries, then their tables,
 * then backends, then addresses (slots first). The keys kept are `plan`'s (the reconciler's VIP plan of `next`, config/vip-plan.ts:
 * every address of an expanded prefix is a key of its own). A few thousand lookups: only with `full`.
 */
export async function sweepStale(maps: InstanceMaps, next: Desired, plan: VipPlan): Promise<void> {
  const services = maps.map(abi.MAPS.services);
  const keepKeys = new Set([...plan.exact.values()].map((e) => abi.encodeSvcKey(svcKey(e)).toString('hex')));
  for (const k of services.keys()) if (!keepKeys.has(k.toString('hex'))) services.delete(k);

  const ids = new Set(Object.values(next.allocation.services).map((s) => s.id));
  const tables = maps.map(abi.MAPS.tables);
  for (let id = 0; id < tables.maxEntries; id++) if (!ids.has(id) && tables.lookup(abi.u32(id))) maps.clearTable(id);

  const live = new Set(Object.values(next.allocation.services).flatMap((s) => Object.values(s.backends).map((b) => b.id)));
  const { keys, values } = await maps.map(abi.MAPS.backends).lookupBatch();
  keys.forEach((k, i) => {
    const id = k.readUInt32LE(0);
    if (!live.has(id) && (values[i] as Buffer).some((byte) => byte !== 0)) maps.clearBackend(id);
  });

  await maps.pruneAddrs(new Set([...plan.addrs.values()].map((a) => abi.encodeAddr(a.ip).toString('hex'))));
}
